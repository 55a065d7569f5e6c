//! The app's vocabulary, at the bottom of the house: every `Msg` that can change the model,
//! every `Effect` the model asks the outside world for, and the plain records they carry
//! (pod and alert summaries, act outcomes …). `sources`, `actions`, `model`, `ui` and `app`
//! import it; it imports nothing of the app.

pub mod act;
pub mod alerts;
pub mod chat;
pub mod cluster;
pub mod doctor;
pub mod exfil;
pub mod forward;
pub mod inspect;
pub mod logs;

use chrono::{DateTime, FixedOffset};
use crossterm::event::KeyEvent;

pub use act::{ActKind, ActLine, ActMsg, ActOutcome};
pub use alerts::AlertsMsg;
pub use chat::ChatEvent;
pub use cluster::{ClusterMsg, ResourceMsg};
pub use doctor::DoctorMsg;
pub use exfil::ExfilMsg;
pub use forward::ForwardMsg;
pub use inspect::{InspectMsg, InspectTarget};
pub use logs::{LogMsg, LogRequest};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// Pod-list rows the focused pane showed in the last frame: what PgUp/PgDn move by.
    /// Sent by the event loop after a draw that changed it, so `update` needs no layout.
    PageRows(usize),
    /// The clock moved on (sent once a second).
    Tick(DateTime<FixedOffset>),
    /// News from one cluster's sources; the index is the pane order.
    Cluster(usize, ClusterMsg),
    /// News from the act script that is running.
    Act(ActMsg),
    /// News from one port-forward; the index is the config order.
    Forward(usize, ForwardMsg),
    /// Something the presenter should read in the footer.
    Notice(String),
    /// Send this prompt to the agent, as Enter in the chat box does (headless `chat`).
    Prompt(String),
    /// Run this act now, without asking (headless `act`; the keys ask first).
    RunAct(ActKind),
    /// Run the preflight doctor now (headless `doctor`; `D` on screen).
    RunDoctor,
    /// Ctrl+C's meaning from elsewhere: cancel the running act, else quit.
    Interrupt,
    /// SIGINT, SIGTERM or SIGHUP arrived: cancel the running act and quit; the program
    /// exits with 128 + this number.
    Signal(i32),
    /// News from the chat exchange under way.
    Chat(ChatEvent),
    /// News from the attacker's log.
    Exfil(ExfilMsg),
    /// News from Prometheus, Alertmanager or the ztunnel scrape.
    Alerts(AlertsMsg),
    /// News about the object the detail or events view looks at.
    Inspect(InspectMsg),
    /// Results of the preflight doctor's run.
    Doctor(DoctorMsg),
    /// News from the log reader (the log view's, or `control-room logs`').
    Logs(LogMsg),
    /// Read these logs, as `l` does but without the view (headless `logs`).
    ReadLogs(LogRequest),
    /// `--record`: writing the recording failed (why); it has stopped, the TUI goes on.
    RecordingFailed(String),
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
    /// Start reading this object for the detail/events view (replacing any other).
    Inspect {
        id: u64,
        target: InspectTarget,
    },
    /// The detail/events view closed: stop reading.
    StopInspect,
    /// Run every doctor check once (this run number); results come back as `Msg::Doctor`.
    RunDoctor(u64),
    /// Start reading these logs (replacing any other log reader).
    FollowLogs {
        id: u64,
        request: LogRequest,
    },
    /// The log view closed: stop reading.
    StopLogs,
    /// Write the log view's buffer to a private file under the state dir.
    SaveLog {
        id: u64,
    },
    /// Delete this pod (the user confirmed, naming the cluster and the pod).
    DeletePod {
        cluster: usize,
        namespace: String,
        name: String,
    },
}
