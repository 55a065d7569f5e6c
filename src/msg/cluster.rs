//! News from one cluster's sources, and the slim summaries it carries: pods, deployments,
//! events and AuthorizationPolicies, mapped from API objects by the cluster source as soon as
//! they arrive (`sources::cluster`) so that memory stays flat at tens of thousands of pods.
//! The summaries' own rules (ready, rolling out, the image tag) live with them.

use chrono::{DateTime, FixedOffset, Utc};

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
    DaemonSets(ResourceMsg<DaemonSetSummary>),
    Events(ResourceMsg<EventSummary>),
    Policies(ResourceMsg<PolicySummary>),
}

/// A change to one watched resource kind, already mapped to its summary.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceMsg<T> {
    /// A complete fresh list (initial list or relist after a lost watch).
    Reset(Vec<T>),
    Applied(T),
    Deleted(PodKey),
}

/// Namespaces whose workloads are the demo's own: their pods show the image tag.
const DEMO_NAMESPACE_PREFIXES: &[&str] = &["trustusbank-", "external-attacker"];

pub type PodKey = (String, String);

/// The demo's own namespaces come first in a pane and show image tags.
pub fn is_demo_namespace(namespace: &str) -> bool {
    DEMO_NAMESPACE_PREFIXES
        .iter()
        .any(|p| namespace.starts_with(p))
}

/// What kubectl's STATUS column would say, grouped so the theme can colour it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodPhase {
    Running,
    /// Waiting for scheduling or images: Pending, ContainerCreating, PodInitializing.
    Starting(String),
    /// Something is wrong: CrashLoopBackOff, ImagePullBackOff, Error, Failed, …
    Failing(String),
    Terminating,
    /// Finished: Completed, Succeeded.
    Done(String),
    Unknown(String),
}

impl PodPhase {
    pub fn label(&self) -> &str {
        match self {
            PodPhase::Running => "Running",
            PodPhase::Terminating => "Terminating",
            PodPhase::Starting(s)
            | PodPhase::Failing(s)
            | PodPhase::Done(s)
            | PodPhase::Unknown(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    pub namespace: String,
    pub name: String,
    pub ready: u16,
    pub containers: u16,
    pub phase: PodPhase,
    pub restarts: u32,
    pub created: Option<DateTime<Utc>>,
    /// The first container's image.
    pub image: Option<String>,
    pub node: Option<String>,
    /// Why the pod is where it is, when something says: a container's waiting or terminated
    /// message, or the scheduler's (`0/3 nodes are available: …`).
    pub message: Option<String>,
    /// When a container last ended and was restarted (its `lastState.terminated.finishedAt`).
    pub last_restart: Option<DateTime<Utc>>,
    /// When the pod last became ready or unready (its Ready condition's `lastTransitionTime`).
    pub ready_since: Option<DateTime<Utc>>,
}

impl PodSummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }

    /// The image tag, for the demo's own workloads.
    pub fn tag(&self) -> Option<String> {
        if !is_demo_namespace(&self.namespace) {
            return None;
        }
        self.image.as_deref().map(image_tag)
    }

    /// Ready as the header counts it: running with every container ready.
    pub fn is_ready(&self) -> bool {
        self.phase == PodPhase::Running && self.containers > 0 && self.ready == self.containers
    }

    /// Neither ready nor done: what unfolds a folded namespace.
    pub fn is_troubled(&self) -> bool {
        !self.is_ready() && !matches!(self.phase, PodPhase::Done(_))
    }
}

/// The tag part of an image reference (`repo/name:tag@digest` → `tag`), or `latest`.
pub fn image_tag(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last_segment.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => "latest".to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
    /// Pods of every revision (`status.replicas`): above `updated` while old pods remain.
    pub status_replicas: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    /// The first container's image (what the panes show).
    pub image: Option<String>,
    /// Every container's image, in order (what `I` compares).
    pub images: Vec<String>,
    pub generation: i64,
    pub observed_generation: i64,
    /// Since when the controller says it is not Available (its Available condition is False).
    pub unavailable_since: Option<DateTime<Utc>>,
}

impl DeploymentSummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }

    /// As `kubectl rollout status` judges it: not yet observed, not all updated, old pods
    /// still around, or new ones not yet available.
    pub fn rolling_out(&self) -> bool {
        self.observed_generation < self.generation
            || self.updated < self.replicas
            || self.status_replicas > self.updated
            || self.available < self.updated
    }
}

/// A DaemonSet: what `I` compares and the problems view counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSetSummary {
    pub namespace: String,
    pub name: String,
    /// Every container's image, in order.
    pub images: Vec<String>,
    /// Nodes that should run it (`desiredNumberScheduled`).
    pub desired: i32,
    pub ready: i32,
}

impl DaemonSetSummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub namespace: String,
    pub name: String,
    pub warning: bool,
    pub reason: String,
    /// `kind/name` of the object the event is about.
    pub object: String,
    pub message: String,
    pub count: i32,
    pub last_seen: Option<DateTime<Utc>>,
}

impl EventSummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySummary {
    pub namespace: String,
    pub name: String,
    /// `ALLOW`, `DENY`, `AUDIT`, `CUSTOM`, or `DENY ALL` for an empty spec.
    pub action: String,
    /// Source principals and namespaces the rules name, for one line of context.
    pub sources: Vec<String>,
    pub created: Option<DateTime<Utc>>,
}

impl PolicySummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }
}
