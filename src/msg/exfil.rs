//! News from the attacker's log: which pods are followed, each exfil event, the stolen record.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum ExfilMsg {
    /// Reading these pods' logs now (names, sorted); what was wrong is over.
    Following {
        pods: Vec<String>,
    },
    /// A matching line: one exfil event.
    Event {
        pod: String,
        at: DateTime<Utc>,
        line: String,
    },
    /// The record lines printed right after the event line.
    Record {
        lines: Vec<String>,
    },
    Trouble(String),
    /// Lines were read but not as written (not UTF-8, cut at the cap …): counted all the same.
    Note(String),
    /// A one-shot read (`control-room status`) reached the end of the log it could read.
    CaughtUp,
}
