//! News from the attacker's log: which pod is followed, each exfil event, the stolen record.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum ExfilMsg {
    /// Reading this pod's log now.
    Following {
        pod: String,
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
    /// A one-shot read (`control-room status`) reached the end of the log it could read.
    CaughtUp,
}
