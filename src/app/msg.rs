//! Everything that can change the model arrives as a `Msg`; everything the model asks
//! the outside world to do leaves as an `Effect`.

use chrono::{DateTime, FixedOffset};
use crossterm::event::KeyEvent;

use crate::model::{
    ActKind, ActLine, ActOutcome, DeploymentSummary, EventSummary, PodSummary, PolicySummary,
    ResourceMsg,
};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock moved on (sent once a second).
    Tick(DateTime<FixedOffset>),
    /// News from one cluster's sources; the index is the pane order.
    Cluster(usize, ClusterMsg),
    /// News from the act script that is running.
    Act(ActMsg),
    /// News from one port-forward; the index is the config order.
    Forward(usize, crate::sources::forward::ForwardMsg),
    /// Something the presenter should read in the footer.
    Notice(String),
    /// News from the chat exchange under way.
    Chat(crate::sources::a2a::ChatEvent),
    /// News from the attacker's log.
    Exfil(crate::sources::exfil::ExfilMsg),
    /// News from Prometheus, Alertmanager or the ztunnel scrape.
    Alerts(crate::model::alerts::AlertsMsg),
}

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub enum ClusterMsg {
    /// The API server answered.
    Reachable,
    /// The API server did not answer; `at` is when this was noticed.
    Unreachable {
        at: DateTime<FixedOffset>,
        error: String,
    },
    /// A watcher failed while the server still answers (RBAC, bad data …).
    WatchError(String),
    Pods(ResourceMsg<PodSummary>),
    Deployments(ResourceMsg<DeploymentSummary>),
    Events(ResourceMsg<EventSummary>),
    Policies(ResourceMsg<PolicySummary>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    RunAct(ActKind),
    CancelAct,
    /// Send this prompt to the agent.
    SendPrompt(String),
    /// Open this URL in the browser.
    OpenUrl(String),
    /// Put this text on the clipboard (OSC 52 through the terminal).
    CopyToClipboard(String),
}
