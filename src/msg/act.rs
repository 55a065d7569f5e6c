//! The acts: which one, what its script printed, how it ended — the act runner's messages.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActKind {
    Reset,
    Upgrade,
    PoliciesOn,
}

impl ActKind {
    pub const ALL: [ActKind; 3] = [ActKind::Reset, ActKind::Upgrade, ActKind::PoliciesOn];

    /// The name used on the command line and in the config (`[acts.policies-on]`).
    pub fn key(self) -> &'static str {
        match self {
            ActKind::Reset => "reset",
            ActKind::Upgrade => "upgrade",
            ActKind::PoliciesOn => "policies-on",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            ActKind::Reset => 1,
            ActKind::Upgrade => 2,
            ActKind::PoliciesOn => 3,
        }
    }

    pub fn from_key(key: &str) -> Option<ActKind> {
        ActKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// News from the act script that is running (the runner's only output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActMsg {
    /// The script started (or failed to); `log_path` holds its full output.
    Started {
        kind: ActKind,
        program: String,
        log_path: Option<String>,
    },
    Line(ActLine),
    Finished {
        outcome: ActOutcome,
        elapsed: std::time::Duration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActLine {
    pub stderr: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActOutcome {
    Exited(i32),
    /// Ended by a signal that we did not send.
    Signalled(i32),
    Cancelled,
    TimedOut,
    FailedToStart(String),
}

impl ActOutcome {
    pub fn success(&self) -> bool {
        *self == ActOutcome::Exited(0)
    }

    /// Exit status the headless `act` command passes on.
    pub fn exit_code(&self) -> i32 {
        match self {
            ActOutcome::Exited(c) => *c,
            ActOutcome::Signalled(s) => 128 + s,
            ActOutcome::Cancelled => 130,
            ActOutcome::TimedOut => 124,
            ActOutcome::FailedToStart(_) => 127,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ActOutcome::Exited(c) => format!("exit {c}"),
            ActOutcome::Signalled(s) => format!("killed by signal {s}"),
            ActOutcome::Cancelled => "cancelled".to_string(),
            ActOutcome::TimedOut => "timed out".to_string(),
            ActOutcome::FailedToStart(e) => format!("could not start: {e}"),
        }
    }
}
