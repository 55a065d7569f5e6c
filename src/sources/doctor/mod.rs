//! The preflight doctor: every multi-cluster pitfall of the walkthrough (§1, §4–§6, M11 and
//! the pre-flight) checked against the clusters as they are, through kube-rs (the
//! [`ClientPool`]) and the forwards' HTTP endpoints. Each check, on each cluster it is about,
//! runs on its own with its own timeout and reports a [`CheckResult`] as a `Msg`; a cluster
//! that does not answer leaves its own checks `unknown` and delays nobody else. Fixes are
//! commands printed for a person to run, never run here.

mod fix;
mod mesh;
mod platform;
mod read;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::config::Kubeconfig;
use tokio::sync::{mpsc, watch};

use crate::config::{ClusterConfig, DemoConfig};
use crate::msg::Msg;
use crate::msg::doctor::{CheckResult, DoctorMsg, Evidence, Verdict};
use crate::sources::clients::ClientPool;

pub use read::ReadError;

/// One check on one cluster may take this long; after it, its result is `unknown`.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(4);

/// How long a check waits for a forward to listen before it calls the endpoint absent.
const FORWARD_WAIT: Duration = Duration::from_secs(2);

/// Where an HTTP check reaches its service: a fixed URL, or a forward once it listens.
#[derive(Debug, Clone)]
pub enum HttpEndpoint {
    None(String),
    Url(String),
    Forward {
        name: String,
        url: watch::Receiver<Option<String>>,
    },
}

impl HttpEndpoint {
    /// The base URL, waiting a little for a forward that is still opening.
    async fn base(&self) -> Result<String, String> {
        match self {
            HttpEndpoint::None(why) => Err(why.clone()),
            HttpEndpoint::Url(u) => Ok(u.trim_end_matches('/').to_string()),
            HttpEndpoint::Forward { name, url } => {
                let mut rx = url.clone();
                let got = tokio::time::timeout(FORWARD_WAIT, rx.wait_for(Option::is_some)).await;
                match got {
                    Ok(Ok(v)) => Ok(v
                        .clone()
                        .unwrap_or_default()
                        .trim_end_matches('/')
                        .to_string()),
                    _ => Err(format!("the {name} forward is not listening")),
                }
            }
        }
    }

    fn shown(&self) -> String {
        match self {
            HttpEndpoint::None(_) => "none".into(),
            HttpEndpoint::Url(u) => u.clone(),
            HttpEndpoint::Forward { name, .. } => format!("forward {name}"),
        }
    }
}

/// Everything the doctor reads with: built once by the composition root.
#[derive(Clone)]
pub struct DoctorSetup {
    pub clusters: Vec<ClusterConfig>,
    pub kubeconfig: Kubeconfig,
    pub pool: ClientPool,
    pub prometheus: HttpEndpoint,
    pub chatbot: HttpEndpoint,
    /// The cluster the chatbot's forward reaches (config name).
    pub chatbot_cluster: String,
    pub agentregistry: HttpEndpoint,
    pub demo: DemoConfig,
    /// `<namespace>/<agent>` behind the chatbot's proxy route.
    pub chat_agent: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for DoctorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoctorSetup")
            .field("clusters", &self.clusters)
            .field("prometheus", &self.prometheus.shown())
            .field("chatbot", &self.chatbot.shown())
            .finish_non_exhaustive()
    }
}

/// A configured cluster as the checks see it.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub index: usize,
    /// Config name (`edge`).
    pub name: String,
    pub context: String,
    /// The cluster's name in the mesh (`trustusbank-edge`): the context without kind's
    /// `kind-` prefix, as `kind create cluster --name` makes them.
    pub mesh: String,
}

impl Cluster {
    fn of(index: usize, c: &ClusterConfig) -> Cluster {
        Cluster {
            index,
            name: c.name.clone(),
            context: c.context.clone(),
            mesh: c
                .context
                .strip_prefix("kind-")
                .unwrap_or(&c.context)
                .to_string(),
        }
    }

    /// `Kind ns/name (cluster)` for the evidence.
    pub fn object(&self, kind: &str, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) => format!("{kind} {ns}/{name} ({})", self.name),
            None => format!("{kind} {name} ({})", self.name),
        }
    }
}

/// What a check concluded. What is wrong is listed before what is fine, so the first
/// line of evidence of a failing check is its reason.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub evidence: Vec<Evidence>,
    /// How many of `evidence`, from the front, say what is wrong.
    wrong_count: usize,
    pub fix: Vec<String>,
    pub failed: bool,
    pub warned: bool,
}

impl Outcome {
    pub fn saw(
        &mut self,
        object: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.evidence.push(ev(object, field, value));
    }

    fn flag(
        &mut self,
        object: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.evidence
            .insert(self.wrong_count, ev(object, field, value));
        self.wrong_count += 1;
    }

    /// Evidence of something wrong, with the commands that fix it.
    pub fn wrong(
        &mut self,
        object: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
        fix: impl IntoIterator<Item = String>,
    ) {
        self.failed = true;
        self.flag(object, field, value);
        for f in fix {
            if !self.fix.contains(&f) {
                self.fix.push(f);
            }
        }
    }

    /// Like [`Outcome::wrong`], but only a warning.
    pub fn odd(
        &mut self,
        object: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
        fix: impl IntoIterator<Item = String>,
    ) {
        self.warned = true;
        self.flag(object, field, value);
        for f in fix {
            if !self.fix.contains(&f) {
                self.fix.push(f);
            }
        }
    }

    fn verdict(&self) -> Verdict {
        if self.failed {
            Verdict::Fail
        } else if self.warned {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }
}

pub(crate) fn ev(
    object: impl Into<String>,
    field: impl Into<String>,
    value: impl Into<String>,
) -> Evidence {
    Evidence {
        object: object.into(),
        field: field.into(),
        value: value.into(),
    }
}

type CheckFuture = Pin<Box<dyn Future<Output = Result<Outcome, ReadError>> + Send>>;

/// One check on one cluster, not yet run.
pub(crate) struct Job {
    pub id: &'static str,
    pub title: &'static str,
    pub cluster: String,
    pub clusters: Vec<String>,
    /// What a timeout means: `unknown`, except for the check whose question is "does it answer".
    pub on_timeout: Verdict,
    pub run: CheckFuture,
}

impl Job {
    pub fn new(
        id: &'static str,
        title: &'static str,
        cluster: &Cluster,
        also: &[&Cluster],
        run: impl Future<Output = Result<Outcome, ReadError>> + Send + 'static,
    ) -> Job {
        let mut clusters = vec![cluster.name.clone()];
        for c in also {
            if !clusters.contains(&c.name) {
                clusters.push(c.name.clone());
            }
        }
        Job {
            id,
            title,
            cluster: cluster.name.clone(),
            clusters,
            on_timeout: Verdict::Unknown,
            run: Box::pin(run),
        }
    }

    async fn finish(self, timeout: Duration) -> CheckResult {
        let Job {
            id,
            title,
            cluster,
            clusters,
            on_timeout,
            run,
        } = self;
        let (result, evidence, fix) = match tokio::time::timeout(timeout, run).await {
            Ok(Ok(outcome)) => (outcome.verdict(), outcome.evidence, outcome.fix),
            Ok(Err(e)) => (
                Verdict::Unknown,
                vec![ev(e.object(), "read", e.to_string())],
                Vec::new(),
            ),
            Err(_) => (
                on_timeout,
                vec![ev(
                    format!("cluster {cluster}"),
                    "answer",
                    format!("no answer within {}s", timeout.as_secs()),
                )],
                Vec::new(),
            ),
        };
        CheckResult {
            id,
            title,
            result,
            cluster,
            clusters,
            evidence,
            fix,
        }
    }
}

/// The cluster named `name` in the config, for checks that read one place (the management
/// cluster, the observability stack).
pub(crate) fn named<'a>(clusters: &'a [Cluster], name: &str) -> Option<&'a Cluster> {
    clusters.iter().find(|c| c.name == name)
}

/// Every check of the doctor, as jobs.
fn jobs(setup: &DoctorSetup) -> Vec<Job> {
    let clusters: Vec<Cluster> = setup
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| Cluster::of(i, c))
        .collect();
    let mut jobs = Vec::new();
    mesh::jobs(setup, &clusters, &mut jobs);
    platform::jobs(setup, &clusters, &mut jobs);
    jobs
}

/// Run every check once, each result sent as `Msg::Doctor` as soon as it is known, then
/// `Finished`. Returns when all are in (each within its timeout).
pub async fn run(setup: DoctorSetup, run: u64, tx: mpsc::Sender<Msg>) {
    let timeout = setup.timeout;
    let mut pending: FuturesUnordered<_> = jobs(&setup)
        .into_iter()
        .map(|j| j.finish(timeout))
        .collect();
    while let Some(result) = pending.next().await {
        if tx
            .send(Msg::Doctor(DoctorMsg::Checked(run, result)))
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = tx.send(Msg::Doctor(DoctorMsg::Finished(run))).await;
}
