//! The recording's markers, derived from what changed in the model between two frames —
//! never from the keys — so they are the same whoever drives the demo (a presenter, the
//! autopilot): each act transition (labelled as the header shows it), a prompt sent, a reply
//! complete, an exfil rise, an alert that starts firing.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::model::alerts::AlertState;
use crate::model::chat::Speaker;
use crate::model::{ActState, Model};
use crate::text::inert;

/// What the last frame showed, as far as markers go.
#[derive(Debug, Clone)]
pub struct Marks {
    act: ActState,
    /// Prompts sent: exchanges finished plus the one under way.
    prompts: usize,
    exchanges: usize,
    /// Exfil events logged since the recording began (older ones are history, not a rise).
    exfil: usize,
    since: DateTime<Utc>,
    firing: HashSet<String>,
}

impl Marks {
    /// Nothing seen yet; exfil events before `since` do not count as a rise.
    pub fn new(since: DateTime<Utc>) -> Marks {
        Marks {
            // The header's state before any cluster has answered: not a transition.
            act: ActState::Unknown,
            prompts: 0,
            exchanges: 0,
            exfil: 0,
            since,
            firing: HashSet::new(),
        }
    }

    /// The markers for what changed since the last call, in story order.
    pub fn changes(&mut self, model: &Model) -> Vec<String> {
        let mut out = Vec::new();
        let act = model.act.reading.state;
        if act != self.act {
            self.act = act;
            out.push(act.label().to_string());
        }
        let chat = &model.chat;
        let prompts = chat.exchanges + usize::from(chat.pending);
        for _ in self.prompts..prompts {
            out.push("prompt sent".to_string());
        }
        self.prompts = self.prompts.max(prompts);
        if chat.exchanges > self.exchanges {
            let failed = chat
                .transcript
                .last()
                .is_some_and(|e| e.speaker == Speaker::Error);
            for _ in self.exchanges..chat.exchanges {
                out.push(
                    if failed {
                        "reply failed"
                    } else {
                        "reply complete"
                    }
                    .to_string(),
                );
            }
            self.exchanges = chat.exchanges;
        }
        let since = self.since;
        let exfil = model.exfil.events.iter().filter(|t| **t >= since).count();
        if exfil > self.exfil {
            out.push(format!(
                "exfil +{} (total {})",
                exfil - self.exfil,
                model.exfil.total()
            ));
        }
        self.exfil = exfil;
        let mut firing = HashSet::new();
        for alert in &model.alerts.alerts {
            if alert.state != AlertState::Firing {
                continue;
            }
            let id = alert.identity();
            if !self.firing.contains(&id) {
                out.push(format!("alert firing: {}", inert(&alert.name)));
            }
            firing.insert(id);
        }
        // Polls that fail keep the last alerts, so an alert only leaves this set when
        // Prometheus says it stopped; firing again later is a new marker.
        self.firing = firing;
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::WorldMode;
    use crate::model::alerts::{AlertRow, AlertsMsg};
    use crate::model::chat::ChatEntry;
    use crate::sources::clock;

    fn model() -> Model {
        Model::new(WorldMode::Simulated, Vec::new(), clock::now())
    }

    fn alert(name: &str, state: AlertState) -> AlertRow {
        AlertRow {
            name: name.into(),
            state,
            labels: BTreeMap::from([("alertname".to_string(), name.to_string())]),
            summary: String::new(),
            active_at: None,
            origin: crate::model::alerts::Origin::Prometheus,
        }
    }

    fn alerts(m: &mut Model, rows: Vec<AlertRow>) {
        m.alerts.apply(
            AlertsMsg::Prometheus {
                at: Utc::now(),
                result: Ok(rows),
            },
            m.now,
        );
    }

    #[test]
    fn each_change_is_marked_once_in_story_order() {
        let start = Utc::now();
        let mut marks = Marks::new(start);
        let mut m = model();
        assert!(
            marks.changes(&m).is_empty(),
            "act unknown at start is no transition"
        );

        m.act.reading.state = ActState::Clean;
        assert_eq!(marks.changes(&m), ["ACT 1 · clean"]);
        assert!(marks.changes(&m).is_empty());

        m.chat.pending = true;
        assert_eq!(marks.changes(&m), ["prompt sent"]);
        m.chat.pending = false;
        m.chat.exchanges = 1;
        assert_eq!(marks.changes(&m), ["reply complete"]);

        // A prompt and its reply between two frames still give both markers.
        m.act.reading.state = ActState::Compromised;
        m.chat.exchanges = 2;
        m.exfil.events.push(start - chrono::Duration::seconds(60));
        m.exfil.events.push(start + chrono::Duration::seconds(1));
        assert_eq!(
            marks.changes(&m),
            [
                "ACT 2 · compromised",
                "prompt sent",
                "reply complete",
                "exfil +1 (total 2)"
            ]
        );

        m.act.reading.state = ActState::Defended;
        alerts(
            &mut m,
            vec![
                alert("IstioAuthZDeny", AlertState::Pending),
                alert("BankToAttackerAttempt", AlertState::Firing),
            ],
        );
        assert_eq!(
            marks.changes(&m),
            ["ACT 3 · defended", "alert firing: BankToAttackerAttempt"]
        );
        alerts(
            &mut m,
            vec![
                alert("IstioAuthZDeny", AlertState::Firing),
                alert("BankToAttackerAttempt", AlertState::Firing),
            ],
        );
        assert_eq!(marks.changes(&m), ["alert firing: IstioAuthZDeny"]);
        assert!(marks.changes(&m).is_empty());
    }

    #[test]
    fn a_failed_exchange_and_wire_text_in_labels() {
        let mut marks = Marks::new(Utc::now());
        let mut m = model();
        m.chat.exchanges = 1;
        m.chat.push_entry(ChatEntry {
            speaker: Speaker::Error,
            text: "no agent".into(),
            at: m.now,
            latency_ms: None,
        });
        assert_eq!(marks.changes(&m), ["prompt sent", "reply failed"]);
        alerts(&mut m, vec![alert("Evil\x1b[2J", AlertState::Firing)]);
        let labels = marks.changes(&m);
        assert_eq!(labels.len(), 1);
        assert!(!labels[0].contains('\x1b'), "{labels:?}");
    }
}
