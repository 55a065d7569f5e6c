//! The control plane inside each simulated cluster: a Deployment controller (rolling updates,
//! scaling, revisions, progress deadlines), a ReplicaSet controller (pods to match
//! `spec.replicas`), a scheduler (nodes that fit, `FailedScheduling` when none does), the
//! kubelets (pods go Pending → ContainerCreating → Running; images that do not exist, programs
//! that exit and probes that fail go wrong as on a real node; deleted pods terminate), and a
//! garbage collector (owners take their dependents along; a namespace takes its contents).
//!
//! One tokio task per cluster. It follows the store's history the way a watch does, woken by
//! the same notification, so it reacts to every write: over HTTP, from tests poking the store,
//! or its own. Work is level-triggered, as in the real controllers: an event only names what
//! to look at, and a sync compares the current state with the wanted one and writes the
//! difference, so replaying or merging events is harmless. Delays (an image pulling, a pod
//! shutting down) are timers on the same task, never polling.

mod backoff;
mod containers;
mod crashes;
mod deployment;
pub(crate) mod endpointslice;
mod events;
mod gc;
pub(crate) mod images;
mod kubelet;
mod operator;
mod probes;
mod pulls;
mod replicaset;
mod scheduler;

pub use containers::{EXIT_AFTER, EXIT_CODE, READY, restart_container};

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::crds;
use crate::store::history::{Event, EventType};
use crate::store::ids::IdGen;
use crate::store::owners;
use crate::store::{ClusterStore, StoreError};
use crate::world::ClusterSpec;

/// History events read per store lock.
const EVENT_BATCH: usize = 1000;
/// How soon a sync that lost a race with another writer is tried again.
const RETRY: Duration = Duration::from_millis(20);

/// How a cluster's control plane is paced, and what its registries hold.
#[derive(Debug, Clone)]
pub struct Config {
    /// Paces every visible phase: a pod shows ContainerCreating for about one step, and
    /// terminates in one.
    pub step: Duration,
    /// The kubelet's first back-off (10 s on a real node); its other periods scale with it.
    pub kubelet_backoff: Duration,
    /// The images that can be pulled, shared by every cluster.
    pub images: Arc<images::Registry>,
}

/// Run the controllers of one cluster until the task is aborted.
pub fn spawn(store: ClusterStore, cluster: &'static ClusterSpec, config: Config) -> JoinHandle<()> {
    let controller = Controller::new(store, cluster, config);
    tokio::spawn(controller.run())
}

/// Something to reconcile, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Deployment(String, String),
    ReplicaSet(String, String),
    /// A Service whose EndpointSlice to bring in line.
    Endpoints(String, String),
    /// The Gloo Operator's look at the cluster's ServiceMeshController.
    Mesh,
}

/// The phases a pod goes through after it is created (see `kubelet`), and the kubelet's
/// later looks at one of its containers (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PodStep {
    Schedule,
    CreateContainers,
    Start,
    Remove,
    /// A container waiting on its image: back off, or pull again.
    Pull(usize),
    /// A container's program exits, if it is still the same run (a hash of its ID).
    Exit(usize, u64),
    /// An exited container: restart it, or keep backing off.
    Restart(usize),
    /// The readiness probe of every running container.
    Probe,
}

#[derive(Debug, Clone)]
enum Timer {
    Pod {
        namespace: String,
        name: String,
        uid: String,
        step: PodStep,
    },
    Sync(Key),
}

struct Controller {
    store: ClusterStore,
    cluster: &'static ClusterSpec,
    step: Duration,
    images: Arc<images::Registry>,
    /// Every history event up to here has been looked at.
    cursor: u64,
    queue: VecDeque<Key>,
    queued: HashSet<Key>,
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    ids: IdGen,
    kubelet: kubelet::Kubelet,
    recorder: events::Recorder,
    /// Syncs asked for later (a rollout's progress deadline), so each is set once.
    requeues: HashMap<Key, Instant>,
}

impl Controller {
    fn new(store: ClusterStore, cluster: &'static ClusterSpec, config: Config) -> Self {
        Self {
            cursor: store.resource_version(),
            ids: IdGen::from_label(&format!("{}/controllers", cluster.name)),
            store,
            cluster,
            step: config.step,
            images: config.images,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            kubelet: kubelet::Kubelet::new(config.kubelet_backoff),
            recorder: events::Recorder::default(),
            requeues: HashMap::new(),
        }
    }

    async fn run(mut self) {
        let mut news = self.store.subscribe();
        loop {
            // Seen before reading, so a write landing meanwhile still wakes the wait below.
            news.borrow_and_update();
            self.read_history();
            self.fire_due_timers();
            self.drain_queue();
            let next_timer = self.timers.keys().next().map(|(at, _)| *at);
            tokio::select! {
                changed = news.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = sleep_until(next_timer) => {}
            }
        }
    }

    fn read_history(&mut self) {
        loop {
            match self.store.events_after(self.cursor, EVENT_BATCH) {
                Err(_) => {
                    // Fell out of the history window (a flood of writes): look at everything
                    // that could need work instead of the events that were missed.
                    self.cursor = self.store.resource_version();
                    self.resync();
                    return;
                }
                Ok(events) => {
                    let more = events.len() == EVENT_BATCH;
                    for event in &events {
                        self.cursor = event.rv;
                        self.observe(event);
                    }
                    if !more {
                        return;
                    }
                }
            }
        }
    }

    fn resync(&mut self) {
        tracing::debug!(cluster = self.cluster.name, "controllers resyncing");
        for (api_version, kind) in [("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet")] {
            let (objects, _) = self.store.list(api_version, kind, None);
            for obj in objects {
                let (ns, name) = ns_name(&obj);
                let key = if kind == "Deployment" {
                    Key::Deployment(ns, name)
                } else {
                    Key::ReplicaSet(ns, name)
                };
                self.enqueue(key);
            }
        }
    }

    fn observe(&mut self, event: &Event) {
        let info = &event.object.kind;
        let ns = event.object.namespace.to_string();
        let name = event.object.name.to_string();
        match (info.api_version.as_str(), info.kind.as_str(), event.ty) {
            ("apps/v1", "Deployment", EventType::Deleted) => {
                let value = event.object.to_value();
                if let Some(uid) = owners::uid_of(&value) {
                    gc::collect_dependents(self, &ns, uid);
                }
            }
            ("apps/v1", "Deployment", _) => self.enqueue(Key::Deployment(ns, name)),
            ("apps/v1", "ReplicaSet", ty) => {
                let value = event.object.to_value();
                if let Some(owner) = owners::controller_of(&value)
                    && owner.kind == "Deployment"
                {
                    self.enqueue(Key::Deployment(ns.clone(), owner.name));
                }
                if ty == EventType::Deleted {
                    if let Some(uid) = owners::uid_of(&value) {
                        gc::collect_dependents(self, &ns, uid);
                    }
                } else {
                    self.enqueue(Key::ReplicaSet(ns, name));
                }
            }
            ("v1", "Pod", _) => {
                kubelet::observe(self, event);
                endpointslice::observe_pod(self, event);
            }
            ("v1", "Service", _) => self.enqueue(Key::Endpoints(ns, name)),
            (endpointslice::API_VERSION, endpointslice::KIND, _) => {
                endpointslice::observe_slice(self, event);
            }
            (operator::API_VERSION, operator::KIND, _) => self.enqueue(Key::Mesh),
            ("v1", "ConfigMap", _) if operator::is_mesh_config(&ns, &name) => {
                self.enqueue(Key::Mesh);
            }
            (crds::CRD_API_VERSION, crds::CRD_KIND, EventType::Deleted) => {
                gc::collect_custom_resources(self, &name);
            }
            ("v1", "Node", EventType::Added | EventType::Modified) => {
                scheduler::node_changed(self);
            }
            ("v1", "Namespace", EventType::Deleted) => gc::collect_namespace(self, &name),
            _ => {}
        }
    }

    fn enqueue(&mut self, key: Key) {
        if self.queued.insert(key.clone()) {
            self.queue.push_back(key);
        }
    }

    /// Put the owning ReplicaSet of a pod on the queue.
    fn enqueue_owner(&mut self, namespace: &str, obj: &Value) {
        if let Some(owner) = owners::controller_of(obj)
            && owner.kind == "ReplicaSet"
        {
            self.enqueue(Key::ReplicaSet(namespace.to_string(), owner.name));
        }
    }

    fn drain_queue(&mut self) {
        while let Some(key) = self.queue.pop_front() {
            self.queued.remove(&key);
            let result = match &key {
                Key::Deployment(ns, name) => deployment::sync(self, ns, name),
                Key::ReplicaSet(ns, name) => replicaset::sync(self, ns, name),
                Key::Endpoints(ns, name) => endpointslice::sync(self, ns, name),
                Key::Mesh => operator::sync(self),
            };
            match result {
                Ok(()) => {}
                // Someone wrote in between: look again shortly, from fresh state.
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                    self.after(RETRY, Timer::Sync(key));
                }
                Err(err) => tracing::debug!(?key, %err, "controller sync failed"),
            }
        }
    }

    /// Sync `key` again after `delay`, unless a sync is already due no later than that.
    fn requeue_at(&mut self, key: Key, delay: Duration) {
        let now = Instant::now();
        let due = now + delay;
        if self
            .requeues
            .get(&key)
            .is_some_and(|pending| *pending >= now && *pending <= due)
        {
            return;
        }
        self.requeues.insert(key.clone(), due);
        self.after(delay, Timer::Sync(key));
    }

    fn after(&mut self, delay: Duration, timer: Timer) {
        self.timer_seq += 1;
        self.timers
            .insert((Instant::now() + delay, self.timer_seq), timer);
    }

    fn fire_due_timers(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Timer::Sync(key) => self.enqueue(key),
                Timer::Pod {
                    namespace,
                    name,
                    uid,
                    step,
                } => kubelet::advance(self, &namespace, &name, &uid, step),
            }
        }
    }
}

fn ns_name(obj: &Value) -> (String, String) {
    let field = |k: &str| {
        obj.pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (field("namespace"), field("name"))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Shared JSON accessors for the controllers.
mod fields {
    use serde_json::Value;

    pub fn int(obj: &Value, pointer: &str) -> i64 {
        obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
    }

    pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
        obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    /// `spec.replicas` (default 1), kept to int32 as the API types keep it, so no sum or
    /// percentage over it can overflow.
    pub fn replicas(obj: &Value) -> i64 {
        obj.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .clamp(0, i64::from(i32::MAX))
    }

    /// A timestamp field (RFC 3339), as the API types read it.
    pub fn time_at(obj: &Value, pointer: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = obj.pointer(pointer)?.as_str()?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }

    pub fn terminating(obj: &Value) -> bool {
        obj.pointer("/metadata/deletionTimestamp").is_some()
    }

    /// Write `value` at `path`, turning whatever is in the way into objects. Plain
    /// `value["a"]["b"] = …` panics on a non-object, and these objects come from clients.
    pub fn set(obj: &mut Value, path: &[&str], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            *obj = value;
            return;
        };
        let mut at = obj;
        for key in parents {
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            at = match at {
                Value::Object(map) => map.entry(*key).or_insert(Value::Null),
                _ => return,
            };
        }
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        if let Value::Object(map) = at {
            map.insert((*last).to_string(), value);
        }
    }

    /// `Ready` condition true.
    pub fn pod_ready(pod: &Value) -> bool {
        pod.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            })
    }

    /// Counted by its ReplicaSet: not terminating, not finished.
    pub fn pod_active(pod: &Value) -> bool {
        !terminating(pod) && !matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
    }
}
