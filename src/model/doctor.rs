//! The preflight doctor as the screen and `control-room doctor` see it: the latest result of
//! every check, the run under way, and when to run again. Results of an older run than the
//! one asked for last are ignored, so a slow run never overwrites a newer one.

use chrono::{DateTime, FixedOffset};

use crate::msg::doctor::{CheckResult, DoctorMsg, Verdict};

/// The badge re-runs the doctor this often.
pub const EVERY_SECS: i64 = 60;

#[derive(Debug, Clone, Default)]
pub struct DoctorModel {
    /// The doctor can run here (its effect runner knows the clusters).
    pub enabled: bool,
    /// The run asked for last.
    pub run: u64,
    /// That run's results so far, in check order; the previous run's while it has none yet.
    pub results: Vec<CheckResult>,
    /// Results of the run under way (shown as they arrive once the first is in).
    pending: Vec<CheckResult>,
    pub running: bool,
    /// When the last run was asked for / finished.
    pub started: Option<DateTime<FixedOffset>>,
    pub finished: Option<DateTime<FixedOffset>>,
    /// The selected line of the doctor view, and whether its detail is open.
    pub selected: usize,
    pub detail: bool,
    /// First line shown of the detail (a long fix scrolls).
    pub detail_scroll: usize,
    /// Set when the view opens, cleared by the first movement key: until then the selection
    /// follows the first check that did not pass, so it is on screen without scrolling.
    pub select_first_problem: bool,
    /// The cluster order the results are sorted by.
    pub cluster_order: Vec<String>,
}

impl DoctorModel {
    /// A new run: its number, for the effect.
    pub fn start(&mut self, now: DateTime<FixedOffset>) -> u64 {
        self.run += 1;
        self.running = true;
        self.pending.clear();
        self.started = Some(now);
        self.run
    }

    pub fn apply(&mut self, msg: DoctorMsg, now: DateTime<FixedOffset>) {
        match msg {
            DoctorMsg::Checked(run, result) if run == self.run => {
                self.pending.push(result);
                self.sort_pending();
                self.results = self.pending.clone();
            }
            DoctorMsg::Finished(run) if run == self.run => {
                self.running = false;
                self.finished = Some(now);
                self.results = std::mem::take(&mut self.pending);
            }
            _ => return,
        }
        if self.select_first_problem {
            self.selected = self
                .results
                .iter()
                .position(|r| r.result != Verdict::Pass)
                .unwrap_or(0);
        }
        self.selected = self.selected.min(self.results.len().saturating_sub(1));
    }

    fn sort_pending(&mut self) {
        let order = self.cluster_order.clone();
        let ids = crate::msg::doctor::ORDER;
        self.pending.sort_by_key(|r| {
            (
                ids.iter().position(|i| *i == r.id).unwrap_or(usize::MAX),
                order
                    .iter()
                    .position(|c| *c == r.cluster)
                    .unwrap_or(usize::MAX),
            )
        });
    }

    /// Whether the badge's minute is up.
    pub fn due(&self, now: DateTime<FixedOffset>) -> bool {
        self.enabled
            && !self.running
            && self
                .started
                .is_none_or(|s| (now - s).num_seconds() >= EVERY_SECS)
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.result == verdict).count()
    }

    /// Whether every check of a finished run is in.
    pub fn done(&self) -> bool {
        !self.running && self.finished.is_some()
    }

    pub fn selected_result(&self) -> Option<&CheckResult> {
        self.results.get(self.selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(secs: i64) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-12-01T14:00:00+00:00").expect("time")
            + Duration::seconds(secs)
    }

    fn result(id: &'static str, cluster: &str, verdict: Verdict) -> CheckResult {
        CheckResult {
            id,
            title: "t",
            result: verdict,
            cluster: cluster.into(),
            clusters: vec![cluster.into()],
            evidence: Vec::new(),
            fix: Vec::new(),
        }
    }

    #[test]
    fn a_newer_run_wins_and_results_keep_the_walkthrough_order() {
        let mut d = DoctorModel {
            enabled: true,
            cluster_order: vec!["edge".into(), "bank".into()],
            ..DoctorModel::default()
        };
        assert!(d.due(at(0)), "never run: due");
        let first = d.start(at(0));
        assert!(!d.due(at(30)), "running: not due");
        let second = d.start(at(1));
        // The first run's late news is ignored.
        d.apply(
            DoctorMsg::Checked(first, result("license", "edge", Verdict::Fail)),
            at(2),
        );
        d.apply(DoctorMsg::Finished(first), at(2));
        assert!(d.results.is_empty() && d.running);
        d.apply(
            DoctorMsg::Checked(second, result("license", "bank", Verdict::Pass)),
            at(3),
        );
        d.apply(
            DoctorMsg::Checked(second, result("contexts", "bank", Verdict::Pass)),
            at(3),
        );
        d.apply(
            DoctorMsg::Checked(second, result("contexts", "edge", Verdict::Fail)),
            at(3),
        );
        let order: Vec<(&str, &str)> = d
            .results
            .iter()
            .map(|r| (r.id, r.cluster.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("contexts", "edge"),
                ("contexts", "bank"),
                ("license", "bank")
            ]
        );
        assert!(!d.done());
        d.apply(DoctorMsg::Finished(second), at(4));
        assert!(d.done());
        assert_eq!(d.count(Verdict::Fail), 1);
        assert!(!d.due(at(60)), "a minute after it started, not yet");
        assert!(d.due(at(61)));
    }

    #[test]
    fn a_disabled_doctor_is_never_due() {
        let d = DoctorModel::default();
        assert!(!d.due(at(1000)));
    }
}
