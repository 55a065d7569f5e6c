//! Pod logs, for the log view (`l`) and `control-room logs`: what to read, and what the
//! reader says about it. Every message carries the request's id, so news from a reader the
//! model no longer wants (the view closed, another pod or container was chosen) is dropped.

use chrono::{DateTime, Utc};

/// Which pod: one by name, or a Deployment's newest Ready pod (the source looks it up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodRef {
    Pod(String),
    NewestReadyOf(String),
}

/// One pod's log (the index is the pane order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLogTarget {
    pub cluster: usize,
    pub namespace: String,
    pub pod: PodRef,
    /// `None`: the only container; with several, the reader asks (the view's picker).
    pub container: Option<String>,
    /// The container's previous run (`kubectl logs --previous`), read once.
    pub previous: bool,
}

/// How much to read, and whether to keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogWindow {
    pub follow: bool,
    /// The last N lines first (`tailLines`); `None`: all of it.
    pub tail: Option<i64>,
    /// Only lines of the last N seconds (`sinceSeconds`).
    pub since_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRequest {
    /// One pod: the log view, and `control-room logs CLUSTER/NAMESPACE/POD`.
    Pod {
        target: PodLogTarget,
        window: LogWindow,
    },
    /// `control-room logs -l SELECTOR`: every matching pod of every cluster, each container
    /// its own stream; while following, pods that come are read and pods that go end.
    Selector {
        selector: String,
        namespace: Option<String>,
        container: Option<String>,
        previous: bool,
        window: LogWindow,
    },
}

impl LogRequest {
    pub fn window(&self) -> LogWindow {
        match self {
            LogRequest::Pod { window, .. } | LogRequest::Selector { window, .. } => *window,
        }
    }
}

/// One container of one pod: what a stream reads, and how its lines are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub cluster: usize,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The pod has several containers, so a line's prefix names this one.
    pub several: bool,
}

/// A container as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerName {
    pub name: String,
    pub init: bool,
}

/// One line as read: lossily decoded, made inert (no control character left), at most the
/// reader's cap long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: u32,
    /// The kubelet's stamp; `None` when the line came without one.
    pub at: Option<DateTime<Utc>>,
    pub text: String,
    /// Bytes past the cap, read and thrown away.
    pub cut: usize,
    /// The line was not valid UTF-8 (shown with `�`).
    pub not_utf8: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogNews {
    /// The pod being read (a Deployment's newest Ready pod, once looked up) and its
    /// containers; `chosen` is `None` when there are several and none was asked for, and
    /// `default` is the one the pod's `kubectl.kubernetes.io/default-container` names.
    Pod {
        name: String,
        containers: Vec<ContainerName>,
        chosen: Option<String>,
        default: Option<String>,
    },
    /// A stream began (one container of one pod).
    Stream {
        stream: u32,
        info: StreamInfo,
    },
    /// Lines of one stream, in order.
    Lines {
        stream: u32,
        lines: Vec<LogLine>,
    },
    /// The stream answers (again): its trouble and notes are over.
    Connected {
        stream: u32,
    },
    /// Reading failed; it is tried again, from the last timestamp read.
    Trouble {
        stream: u32,
        why: String,
    },
    /// Not trouble, but worth saying: the container exited and waits to restart …
    Note {
        stream: u32,
        text: String,
    },
    /// The stream is over: a read without follow reached the end, or the pod is gone.
    Ended {
        stream: u32,
        why: String,
    },
    /// The pod went away and a rollout put this one in its place (the newest Ready pod of
    /// the same Deployment).
    Replaced {
        by: String,
    },
    /// The pod (or the Deployment, or the container) is not there, or the server refused
    /// the read: nothing will come.
    Refused(String),
    /// A cluster's pods could not be listed or watched (selector reads); retried while
    /// following.
    ClusterTrouble {
        cluster: usize,
        why: String,
    },
    /// Every stream of a read without follow has ended (selector reads).
    Done,
    /// `s` wrote the buffer to this file.
    Saved {
        path: String,
        lines: usize,
    },
    SaveFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogMsg {
    pub id: u64,
    pub news: LogNews,
}
