//! The exfil counter's source: follows the log of every Ready pod of the mock-attacker
//! Deployment and reports every line that matches the configured pattern, with the record
//! printed after it.
//!
//! The count must be exact. Each pod has its own cursor ([`cursor`](crate::sources::logs::cursor), shared with the
//! log view): a stream that breaks, a pod that stops being followed and comes back, and a
//! container that restarted while no stream was open (its old log read with
//! `previous=true`) all resume from it, never repeating a line and never skipping one.
//! Lines are read as bytes, capped and decoded lossily ([`lines`](crate::sources::logs::lines)): no line can stop
//! the count, and an odd one is reported as a note.
//! A new pod (rollout, scale-up) is read from its beginning — its log is new — while what
//! the old pods showed stays counted. Cursors of pods that went away are dropped after
//! [`CURSOR_KEEP`]; at most [`MAX_PODS`] pods are read at once.
//!
//! The follower lists the pods every [`RETRY`] and runs one session ([`session`]) per pod
//! being read; a session's stream ends when its container does or the connection breaks,
//! and the pod is read again from its cursor if it is still Ready.

mod record;
mod session;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::utils::Backoff as _;
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::msg::{ExfilMsg, Msg};
use crate::sources::cluster::summarize;
use crate::sources::kubeconfig::describe_error;
use crate::sources::logs::lines::printable;
use session::{Ended, News, PodInfo, PodState, Reader};

/// Where the attacker's log is.
#[derive(Clone)]
pub struct ExfilTarget {
    pub client: Client,
    pub namespace: String,
    pub deployment: String,
    pub pattern: String,
    /// Keep following (the TUI); `false` reads what is there, sends `CaughtUp` and stops
    /// (`control-room status`), by the same rules.
    pub follow: bool,
}

/// How often the pods are listed.
pub const RETRY: Duration = Duration::from_secs(2);
/// A pod no longer listed keeps its cursor this long (an API hiccup must not replay it).
pub const CURSOR_KEEP: Duration = Duration::from_secs(10 * 60);
/// Pods read at once; more Ready pods than this are reported, the newest read.
pub const MAX_PODS: usize = 16;
/// Cursors kept at most (listed pods first, then the most recently seen).
const MAX_CURSORS: usize = 64;

/// The key of the listing's own trouble among the per-pod ones.
const LISTING: &str = "";

pub async fn run(target: ExfilTarget, tx: mpsc::Sender<Msg>) {
    let (news_tx, news) = mpsc::channel(64);
    let reader = Reader {
        pods: Api::namespaced(target.client.clone(), &target.namespace),
        pattern: target.pattern.clone(),
        follow: target.follow,
        tx: tx.clone(),
        news: news_tx,
    };
    let mut follower = Follower {
        target,
        reader: Arc::new(reader),
        tx,
        news,
        sessions: JoinSet::new(),
        reading: HashMap::new(),
        states: HashMap::new(),
        tasks: HashMap::new(),
        broken: Vec::new(),
        troubles: BTreeMap::new(),
        shown: None,
    };
    follower.run().await;
}

struct Follower {
    target: ExfilTarget,
    reader: Arc<Reader>,
    tx: mpsc::Sender<Msg>,
    news: mpsc::Receiver<News>,
    sessions: JoinSet<(String, PodState, Ended)>,
    /// uid → name of the pods being read now.
    reading: HashMap<String, String>,
    /// uid → the state of pods not being read now.
    states: HashMap<String, PodState>,
    /// Session task → pod uid.
    tasks: HashMap<tokio::task::Id, String>,
    /// Pods whose reader panicked (bounded: one per pod ever followed, at most a few).
    broken: Vec<String>,
    /// What is wrong, by pod uid ([`LISTING`] for the listing).
    troubles: BTreeMap<String, String>,
    /// What was last sent (pods followed, trouble), so nothing is sent twice.
    shown: Option<(Vec<String>, Option<String>)>,
}

impl Follower {
    async fn run(&mut self) {
        let mut next_list = Instant::now();
        loop {
            let now = Instant::now();
            let resume_due = self
                .states
                .values()
                .any(|s| s.resume_at.is_some_and(|t| t <= now));
            if now >= next_list || resume_due {
                next_list = now + RETRY;
                self.reconcile().await;
                if !self.publish().await {
                    return;
                }
                if !self.target.follow {
                    self.finish_once().await;
                    return;
                }
            }
            let wake = self
                .states
                .values()
                .filter_map(|s| s.resume_at)
                .fold(next_list, Instant::min);
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                Some(joined) = self.sessions.join_next_with_id() => {
                    let (uid, state, ended) = match joined {
                        Ok((_, done)) => done,
                        Err(e) => {
                            self.broke(e);
                            continue;
                        }
                    };
                    if ended == Ended::Closed {
                        return;
                    }
                    self.ended(uid, state, ended);
                    if !self.publish().await {
                        return;
                    }
                }
                Some(news) = self.news.recv() => {
                    self.heard(news);
                    if !self.publish().await {
                        return;
                    }
                }
            }
        }
    }

    /// A one-shot read: every session to its end, then `CaughtUp`.
    async fn finish_once(&mut self) {
        loop {
            tokio::select! {
                joined = self.sessions.join_next() => match joined {
                    None => break,
                    Some(Ok((_, _, Ended::Closed))) => return,
                    Some(_) => {}
                },
                Some(news) = self.news.recv() => self.heard(news),
            }
        }
        while let Ok(news) = self.news.try_recv() {
            self.heard(news);
        }
        if self.publish().await {
            let _ = self.tx.send(Msg::Exfil(ExfilMsg::CaughtUp)).await;
        }
    }

    /// A session panicked: its cursor is lost, so the pod is not read again (it would be
    /// counted twice); the screen says so.
    fn broke(&mut self, e: tokio::task::JoinError) {
        let Some(uid) = self.tasks.remove(&e.id()) else {
            return;
        };
        tracing::error!(error = %e, "the exfil reader of a pod stopped");
        if let Some(name) = self.reading.remove(&uid) {
            let why = format!("stopped reading {name}: {e}");
            self.troubles
                .insert(uid.clone(), printable(&why).into_owned());
        }
        self.broken.push(uid);
    }

    /// A session ended: keep its state, to read on from its cursor.
    fn ended(&mut self, uid: String, mut state: PodState, ended: Ended) {
        self.reading.remove(&uid);
        self.tasks.retain(|_, u| *u != uid);
        if ended == (Ended::Done { progress: true }) {
            state.backoff.reset();
        }
        // A stream that ends at once again and again is not hammered.
        let wait = state.backoff.next().unwrap_or(RETRY);
        state.resume_at = Some(Instant::now() + wait);
        self.states.insert(uid, state);
    }

    fn heard(&mut self, news: News) {
        match news {
            News::Opened(uid) => {
                self.troubles.remove(&uid);
            }
            News::Trouble(uid, why) => {
                self.troubles.insert(uid, why);
            }
        }
    }

    /// Lists the pods and starts reading every Ready one that is not being read.
    async fn reconcile(&mut self) {
        let now = Instant::now();
        let pods = match list_pods(&self.target).await {
            Ok(pods) => pods,
            Err(why) => {
                self.troubles
                    .insert(LISTING.into(), printable(&why).into_owned());
                // Nothing is resumed before the next listing can say what is Ready.
                for state in self.states.values_mut() {
                    state.resume_at = state.resume_at.map(|t| t.max(now + RETRY));
                }
                return;
            }
        };
        self.troubles.remove(LISTING);
        let ready_uids: Vec<&str> = pods
            .iter()
            .filter(|p| p.ready)
            .map(|p| p.uid.as_str())
            .collect();
        for (uid, state) in &mut self.states {
            // Only a pod still Ready is read again; the others are left, cursor kept.
            if !ready_uids.contains(&uid.as_str()) {
                state.resume_at = None;
            }
        }
        for pod in &pods {
            if let Some(state) = self.states.get_mut(&pod.uid) {
                state.seen = now;
            }
        }
        let listed: Vec<&str> = pods.iter().map(|p| p.uid.as_str()).collect();
        self.troubles
            .retain(|uid, _| listed.contains(&uid.as_str()) || self.reading.contains_key(uid));
        let ready: Vec<&PodInfo> = pods.iter().filter(|p| p.ready).collect();
        if ready.is_empty() && self.reading.is_empty() {
            let why = format!(
                "no running pod of {}/{}",
                self.target.namespace, self.target.deployment
            );
            self.troubles
                .insert(LISTING.into(), printable(&why).into_owned());
        } else if ready.len() > MAX_PODS {
            let why = format!("reading {MAX_PODS} of {} Ready pods", ready.len());
            self.troubles.insert(LISTING.into(), why);
        }
        for pod in ready.into_iter().take(MAX_PODS) {
            if self.reading.contains_key(&pod.uid) || self.broken.contains(&pod.uid) {
                continue;
            }
            let mut state = self
                .states
                .remove(&pod.uid)
                .unwrap_or_else(|| PodState::new(pod.name.clone(), now));
            if state.resume_at.is_some_and(|t| t > now) {
                self.states.insert(pod.uid.clone(), state);
                continue;
            }
            state.resume_at = None;
            state.seen = now;
            self.reading.insert(pod.uid.clone(), pod.name.clone());
            let reader = self.reader.clone();
            let pod = pod.clone();
            let uid = pod.uid.clone();
            let task = self.sessions.spawn(async move {
                let uid = pod.uid.clone();
                let (state, ended) = reader.session(pod, state).await;
                (uid, state, ended)
            });
            self.tasks.insert(task.id(), uid);
        }
        self.forget(&listed, now);
    }

    /// Drops the cursors of pods long gone, and the oldest past [`MAX_CURSORS`].
    fn forget(&mut self, listed: &[&str], now: Instant) {
        self.broken.retain(|uid| listed.contains(&uid.as_str()));
        self.states.retain(|uid, s| {
            listed.contains(&uid.as_str()) || now.duration_since(s.seen) < CURSOR_KEEP
        });
        if self.states.len() > MAX_CURSORS {
            let mut by_age: Vec<(Instant, String)> = self
                .states
                .iter()
                .map(|(uid, s)| (s.seen, uid.clone()))
                .collect();
            by_age.sort();
            let extra = self.states.len() - MAX_CURSORS;
            for (_, uid) in by_age.into_iter().take(extra) {
                self.states.remove(&uid);
            }
        }
    }

    /// Tells the model which pods are read and what is wrong, when that changed. False: the
    /// app is gone.
    async fn publish(&mut self) -> bool {
        // Pods read now, and those about to be read again after their stream ended.
        let waiting = self
            .states
            .values()
            .filter(|s| s.resume_at.is_some())
            .map(|s| s.name.clone());
        let mut pods: Vec<String> = self.reading.values().cloned().chain(waiting).collect();
        pods.sort();
        let trouble = (!self.troubles.is_empty()).then(|| {
            self.troubles
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        });
        let now = (pods, trouble);
        if self.shown.as_ref() == Some(&now) {
            return true;
        }
        self.shown = Some(now.clone());
        let (pods, trouble) = now;
        // `Following` clears the trouble shown; what is still wrong is said again after it.
        if self
            .tx
            .send(Msg::Exfil(ExfilMsg::Following { pods }))
            .await
            .is_err()
        {
            return false;
        }
        match trouble {
            Some(why) => self
                .tx
                .send(Msg::Exfil(ExfilMsg::Trouble(why)))
                .await
                .is_ok(),
            None => true,
        }
    }
}

/// Every pod of the Deployment, newest first (Ready or not: a pod that is not Ready keeps
/// its cursor while it is listed).
async fn list_pods(target: &ExfilTarget) -> Result<Vec<PodInfo>, String> {
    let deployments: Api<Deployment> = Api::namespaced(target.client.clone(), &target.namespace);
    let deployment = deployments
        .get(&target.deployment)
        .await
        .map_err(|e| describe_error(&e))?;
    let labels = deployment
        .spec
        .and_then(|s| s.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    if labels.is_empty() {
        return Err(format!(
            "deployment {}/{} selects its pods by no label",
            target.namespace, target.deployment
        ));
    }
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), &target.namespace);
    let list = pods
        .list(&ListParams::default().labels(&labels))
        .await
        .map_err(|e| describe_error(&e))?;
    let mut found: Vec<_> = list
        .items
        .iter()
        .filter_map(|p| {
            let name = p.metadata.name.clone()?;
            let uid = p.metadata.uid.clone()?;
            let container = p.spec.as_ref()?.containers.first()?.name.clone();
            let restarts = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.name == container))
                .map_or(0, |c| c.restart_count);
            let ready = p.metadata.deletion_timestamp.is_none() && summarize::pod(p).is_ready();
            let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            Some((
                created,
                PodInfo {
                    name,
                    uid,
                    container: Some(container),
                    restarts,
                    ready,
                },
            ))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    Ok(found.into_iter().map(|(_, p)| p).collect())
}
