//! The alert panel's state: what Prometheus (and optionally Alertmanager) said last, how
//! fresh that is, the deny-rate history for the sparkline, and — when no Prometheus answers —
//! ztunnel's own deny counters read straight from its pods.
//!
//! Every answer replaces the previous one (the poller sends one at a time, newest last); a
//! failed poll keeps the last good data and marks it stale.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, Utc};

pub use crate::msg::alerts::{AlertRow, AlertState, AlertsMsg, DenyCounter, Origin};

/// A new firing alert flashes this long.
pub const FLASH_SECS: i64 = 4;

/// One source's health: when it last answered, and what went wrong since.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    /// Where it is read, for the title (`forward prometheus`, a URL); `None` = not configured.
    pub describe: Option<String>,
    pub last_ok: Option<DateTime<Utc>>,
    /// The newest failure; cleared by the next success.
    pub error: Option<(DateTime<Utc>, String)>,
}

impl Feed {
    pub fn configured(&self) -> bool {
        self.describe.is_some()
    }

    /// What the panel shows of this feed, its times aside (the clock's tick redraws those).
    fn shows_as(&self, other: &Feed) -> bool {
        self.describe == other.describe
            && self.last_ok.is_some() == other.last_ok.is_some()
            && self.error.as_ref().map(|(_, why)| why) == other.error.as_ref().map(|(_, why)| why)
    }

    /// Answering now: the newest poll succeeded.
    pub fn healthy(&self) -> bool {
        self.last_ok.is_some() && self.error.is_none()
    }

    fn ok(&mut self, at: DateTime<Utc>) {
        self.last_ok = Some(at);
        self.error = None;
    }

    fn failed(&mut self, at: DateTime<Utc>, why: String) {
        self.error = Some((at, why));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertsModel {
    pub prometheus: Feed,
    pub alertmanager: Feed,
    /// Active alerts, newest first. Kept (and shown stale) when a poll fails.
    pub alerts: Vec<AlertRow>,
    /// Deny rate per step, oldest first, for the sparkline.
    pub deny_rate: Vec<f64>,
    /// The ztunnel direct scrape: only runs while Prometheus is absent or failing.
    pub ztunnel: Feed,
    pub deny_counters: Vec<DenyCounter>,
    /// Seconds between polls; data older than two polls plus a timeout is stale.
    pub poll_secs: u64,
    pub timeout_secs: u64,
    /// Rounds of reading every source completed.
    pub rounds: usize,
    /// Alerts seen firing, and since when each flashes.
    firing_seen: HashSet<String>,
    flashes: Vec<(String, DateTime<FixedOffset>)>,
}

impl Default for AlertsModel {
    fn default() -> Self {
        AlertsModel {
            prometheus: Feed::default(),
            alertmanager: Feed::default(),
            alerts: Vec::new(),
            deny_rate: Vec::new(),
            ztunnel: Feed::default(),
            deny_counters: Vec::new(),
            poll_secs: 2,
            timeout_secs: 5,
            rounds: 0,
            firing_seen: HashSet::new(),
            flashes: Vec::new(),
        }
    }
}

impl AlertsModel {
    /// Applies one answer; false when the screen shows the same as before but for how long
    /// ago the last answer came (ages are redrawn by the clock's tick, a second at most
    /// later): an idle screen then draws once a second, not at every poll.
    pub fn apply(&mut self, msg: AlertsMsg, now: DateTime<FixedOffset>) -> bool {
        let before = self.clone();
        self.take(msg, now);
        !self.shows_as(&before, now)
    }

    fn shows_as(&self, other: &AlertsModel, now: DateTime<FixedOffset>) -> bool {
        self.alerts == other.alerts
            && self.deny_rate == other.deny_rate
            && self.deny_counters == other.deny_counters
            && self.flashes == other.flashes
            && self.prometheus.shows_as(&other.prometheus)
            && self.alertmanager.shows_as(&other.alertmanager)
            && self.ztunnel.shows_as(&other.ztunnel)
            && self.poll_secs == other.poll_secs
            && self.timeout_secs == other.timeout_secs
            && (self.rounds > 0) == (other.rounds > 0)
            && self.stale(now) == other.stale(now)
    }

    fn take(&mut self, msg: AlertsMsg, now: DateTime<FixedOffset>) {
        match msg {
            AlertsMsg::Sources {
                prometheus,
                alertmanager,
                poll_secs,
                timeout_secs,
            } => {
                self.prometheus.describe = prometheus;
                self.alertmanager.describe = alertmanager;
                self.poll_secs = poll_secs;
                self.timeout_secs = timeout_secs;
            }
            AlertsMsg::Prometheus { at, result } => match result {
                Ok(rows) => {
                    self.prometheus.ok(at);
                    self.replace(Origin::Prometheus, rows, now);
                }
                Err(why) => self.prometheus.failed(at, why),
            },
            AlertsMsg::Alertmanager { at, result } => match result {
                Ok(rows) => {
                    self.alertmanager.ok(at);
                    self.replace(Origin::Alertmanager, rows, now);
                }
                Err(why) => self.alertmanager.failed(at, why),
            },
            // The alerts feed reports reachability; a failed range query keeps the old line
            // rather than flattening it (the poller logs why).
            AlertsMsg::DenyRate { result, .. } => {
                if let Ok(points) = result {
                    self.deny_rate = points;
                }
            }
            AlertsMsg::Ztunnel { at, result } => match result {
                Ok(counters) => {
                    self.ztunnel.ok(at);
                    self.deny_counters = counters;
                }
                Err(why) => self.ztunnel.failed(at, why),
            },
            AlertsMsg::Polled => self.rounds += 1,
        }
    }

    /// Swap in one origin's alerts; an alert both sources report is shown once (the
    /// Prometheus copy, which knows `pending`).
    fn replace(&mut self, origin: Origin, rows: Vec<AlertRow>, now: DateTime<FixedOffset>) {
        self.alerts.retain(|a| a.origin != origin);
        self.alerts.extend(rows.into_iter().map(|mut row| {
            row.origin = origin;
            row
        }));
        let from_prometheus: HashSet<String> = self
            .alerts
            .iter()
            .filter(|a| a.origin == Origin::Prometheus)
            .map(AlertRow::identity)
            .collect();
        self.alerts
            .retain(|a| a.origin == Origin::Prometheus || !from_prometheus.contains(&a.identity()));
        // Newest first; alerts with no start time last, then by name for a stable screen.
        self.alerts.sort_by(|a, b| {
            b.active_at
                .cmp(&a.active_at)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.identity().cmp(&b.identity()))
        });
        self.alerts
            .dedup_by(|later, earlier| later.identity() == earlier.identity());
        // A newly firing alert flashes; one that stops firing may flash again later.
        let firing: HashSet<String> = self
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(AlertRow::identity)
            .collect();
        for id in firing.difference(&self.firing_seen) {
            self.flashes.push((id.clone(), now));
        }
        self.firing_seen = firing;
        self.flashes
            .retain(|(_, since)| (now - *since).num_seconds() < FLASH_SECS);
    }

    /// Whether this alert is in its first seconds of firing.
    pub fn flashing(&self, alert: &AlertRow, now: DateTime<FixedOffset>) -> bool {
        let id = alert.identity();
        self.flashes
            .iter()
            .any(|(f, since)| *f == id && (now - *since).num_seconds() < FLASH_SECS)
    }

    pub fn firing(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .count()
    }

    pub fn pending(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.state == AlertState::Pending)
            .count()
    }

    /// Data older than two polls and a timeout no longer describes now.
    pub fn stale_after_secs(&self) -> i64 {
        (2 * self.poll_secs + self.timeout_secs) as i64
    }

    /// The Prometheus data on screen may be out of date (it failed since, or it is old).
    pub fn stale(&self, now: DateTime<FixedOffset>) -> bool {
        match self.prometheus.last_ok {
            None => false,
            Some(at) => {
                self.prometheus.error.is_some()
                    || (now.with_timezone(&Utc) - at).num_seconds() > self.stale_after_secs()
            }
        }
    }

    /// The direct ztunnel scrape is what the panel shows: no Prometheus, or it is failing.
    pub fn showing_fallback(&self) -> bool {
        !self.prometheus.healthy()
            && (self.ztunnel.last_ok.is_some() || self.ztunnel.error.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now(s: i64) -> DateTime<FixedOffset> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .unwrap()
            .fixed_offset()
    }

    fn alert(name: &str, state: AlertState, at: i64) -> AlertRow {
        use std::collections::BTreeMap;
        AlertRow {
            name: name.into(),
            state,
            labels: BTreeMap::from([
                ("alertname".to_string(), name.to_string()),
                ("severity".to_string(), "critical".to_string()),
            ]),
            summary: String::new(),
            active_at: Some(now(at).with_timezone(&Utc)),
            origin: Origin::Prometheus,
        }
    }

    fn prom(at: i64, rows: Vec<AlertRow>) -> AlertsMsg {
        AlertsMsg::Prometheus {
            at: now(at).with_timezone(&Utc),
            result: Ok(rows),
        }
    }

    #[test]
    fn newest_first_and_a_new_firing_alert_flashes_once() {
        let mut m = AlertsModel::default();
        m.apply(
            prom(
                10,
                vec![
                    alert("A", AlertState::Pending, 5),
                    alert("B", AlertState::Firing, 8),
                ],
            ),
            now(10),
        );
        assert_eq!(
            m.alerts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["B", "A"]
        );
        let b = m.alerts[0].clone();
        assert!(m.flashing(&b, now(11)));
        assert!(
            !m.flashing(&m.alerts[1].clone(), now(11)),
            "pending does not flash"
        );
        assert!(!m.flashing(&b, now(10 + FLASH_SECS)));
        // Still firing on the next poll: no new flash.
        m.apply(
            prom(
                12,
                vec![
                    alert("A", AlertState::Firing, 5),
                    alert("B", AlertState::Firing, 8),
                ],
            ),
            now(20),
        );
        assert!(!m.flashing(&b, now(20)));
        let a = m.alerts.iter().find(|a| a.name == "A").unwrap().clone();
        assert!(m.flashing(&a, now(20)), "A just went pending → firing");
        assert_eq!((m.firing(), m.pending()), (2, 0));
    }

    /// An idle screen draws at the tick, not at every poll: a poll that repeats what is on
    /// screen says so; one that brings anything new (an alert, a failure) does not.
    #[test]
    fn a_poll_that_repeats_the_screen_says_so() {
        let mut m = AlertsModel::default();
        assert!(m.apply(prom(10, vec![]), now(10)), "the first answer");
        assert!(
            !m.apply(prom(12, vec![]), now(12)),
            "the same, two seconds later"
        );
        assert_eq!(
            m.prometheus.last_ok,
            Some(now(12).with_timezone(&Utc)),
            "the time is kept even so"
        );
        assert!(m.apply(prom(14, vec![alert("A", AlertState::Pending, 13)]), now(14)));
        let failed = |at: i64| AlertsMsg::Prometheus {
            at: now(at).with_timezone(&Utc),
            result: Err("connection refused".into()),
        };
        assert!(m.apply(failed(16), now(16)), "a failure shows");
        assert!(!m.apply(failed(18), now(18)), "the same failure again");
        assert!(
            m.apply(prom(40, vec![alert("A", AlertState::Pending, 13)]), now(40)),
            "stale data made fresh again"
        );
    }

    #[test]
    fn a_failed_poll_keeps_the_last_good_alerts_and_marks_them_stale() {
        let mut m = AlertsModel::default();
        m.apply(prom(10, vec![alert("A", AlertState::Firing, 5)]), now(10));
        assert!(!m.stale(now(11)));
        m.apply(
            AlertsMsg::Prometheus {
                at: now(12).with_timezone(&Utc),
                result: Err("HTML page instead of JSON (HTTP 502)".into()),
            },
            now(12),
        );
        assert_eq!(m.alerts.len(), 1, "last good data kept");
        assert!(m.stale(now(12)));
        assert!(!m.prometheus.healthy());
        // Old data is stale even without an error.
        let mut fresh = AlertsModel::default();
        fresh.apply(prom(10, vec![]), now(10));
        assert!(!fresh.stale(now(10 + fresh.stale_after_secs())));
        assert!(fresh.stale(now(11 + fresh.stale_after_secs())));
        // Recovery clears the error.
        m.apply(prom(14, vec![]), now(14));
        assert!(m.prometheus.healthy() && m.alerts.is_empty());
    }

    #[test]
    fn alertmanager_copies_of_prometheus_alerts_show_once() {
        let mut m = AlertsModel::default();
        m.apply(prom(10, vec![alert("A", AlertState::Firing, 5)]), now(10));
        let mut from_am = alert("A", AlertState::Firing, 5);
        from_am.origin = Origin::Alertmanager;
        let mut only_am = alert("C", AlertState::Other("suppressed".into()), 7);
        only_am.origin = Origin::Alertmanager;
        m.apply(
            AlertsMsg::Alertmanager {
                at: now(11).with_timezone(&Utc),
                result: Ok(vec![from_am, only_am]),
            },
            now(11),
        );
        assert_eq!(
            m.alerts
                .iter()
                .map(|a| (a.name.as_str(), a.origin))
                .collect::<Vec<_>>(),
            [("C", Origin::Alertmanager), ("A", Origin::Prometheus)]
        );
    }
}
