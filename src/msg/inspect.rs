//! What the detail (`Enter`/`d`) and events (`e`) views show, as their source reads it from
//! the cluster and keeps it live: the object in the spirit of `kubectl describe`, and its
//! events. Every message carries the request's id, so news for an object no longer on screen
//! is dropped.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::cluster::{EventSummary, ResourceMsg};

/// What a view looks at: one object of one cluster (the index is the pane order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectTarget {
    Pod {
        cluster: usize,
        namespace: String,
        name: String,
    },
    Deployment {
        cluster: usize,
        namespace: String,
        name: String,
    },
    /// A namespace: its events.
    Namespace { cluster: usize, namespace: String },
}

impl InspectTarget {
    pub fn cluster(&self) -> usize {
        match self {
            InspectTarget::Pod { cluster, .. }
            | InspectTarget::Deployment { cluster, .. }
            | InspectTarget::Namespace { cluster, .. } => *cluster,
        }
    }

    pub fn namespace(&self) -> &str {
        match self {
            InspectTarget::Pod { namespace, .. }
            | InspectTarget::Deployment { namespace, .. }
            | InspectTarget::Namespace { namespace, .. } => namespace,
        }
    }

    /// `pod/name`, `deployment/name`, `namespace/name`: as the views' titles name it.
    pub fn describe(&self) -> String {
        match self {
            InspectTarget::Pod { name, .. } => format!("pod/{name}"),
            InspectTarget::Deployment { name, .. } => format!("deployment/{name}"),
            InspectTarget::Namespace { namespace, .. } => format!("namespace/{namespace}"),
        }
    }
}

/// One container as `kubectl describe pod` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDetail {
    pub name: String,
    pub image: String,
    /// `Running`, `Waiting`, `Terminated`.
    pub state: String,
    /// The state's reason (`CrashLoopBackOff`, `Error` …), if any.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Running since / terminated at.
    pub since: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub ready: bool,
    pub restarts: u32,
    /// The previous run's end: reason, exit code, when.
    pub last_termination: Option<(String, i32, Option<DateTime<Utc>>)>,
    pub init: bool,
}

/// A condition: type, status, reason, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDetail {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: Option<String>,
    pub ip: Option<String>,
    /// As `kubectl describe` prints `Status:` (phase, or `Terminating`).
    pub status: String,
    pub qos: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The owner chain, nearest first: `ReplicaSet/x`, `Deployment/y`.
    pub owners: Vec<String>,
    pub containers: Vec<ContainerDetail>,
    pub conditions: Vec<Condition>,
    pub created: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
}

/// One ReplicaSet of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetDetail {
    pub name: String,
    pub revision: Option<String>,
    pub desired: i32,
    pub ready: i32,
    pub images: Vec<String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentDetail {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub desired: i32,
    pub updated: i32,
    pub total: i32,
    pub ready: i32,
    pub available: i32,
    pub unavailable: i32,
    /// `RollingUpdate` or `Recreate`.
    pub strategy: String,
    /// For a rolling update, as `kubectl describe` says it: `25% max unavailable, 25% max surge`.
    pub rolling: Option<String>,
    pub selector: String,
    pub images: Vec<String>,
    pub conditions: Vec<Condition>,
    pub replica_sets: Vec<ReplicaSetDetail>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InspectNews {
    Pod(Box<PodDetail>),
    Deployment(Box<DeploymentDetail>),
    /// The object's events (a namespace's, for a namespace).
    Events(ResourceMsg<EventSummary>),
    /// The object is gone (deleted, or replaced by a rollout).
    Gone,
    /// Reading it failed; the last good data stays, with this said.
    Trouble(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InspectMsg {
    pub id: u64,
    pub news: InspectNews,
}
