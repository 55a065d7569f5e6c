//! One cluster's object store: current objects, the resourceVersion counter, and the bounded
//! watch history that watchers replay from.
//!
//! Everything sits behind one `std::sync::Mutex` that is only ever held for in-memory work (never
//! across an `.await`). Writers never wait for watchers: a watcher keeps its own cursor into the
//! [`History`] and is woken through a `tokio::sync::watch` channel; one that falls behind the
//! window gets `410 Expired` when it next looks, exactly like a real API server.

pub(crate) mod crds;
pub(crate) mod history;
pub(crate) mod ids;
pub(crate) mod intake;
pub(crate) mod owners;
pub(crate) mod resources;
pub(crate) mod selector;
pub(crate) mod stored;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::watch;

use history::{Event, EventType, Expired, History};
use ids::IdGen;
use intake::Incoming;
use resources::ResourceDef;
use stored::{KindInfo, Stored};

/// How many watch events a cluster remembers by default.
pub const DEFAULT_HISTORY_WINDOW: usize = 20_000;

/// Why a store write was refused. Each maps onto the Status a real API server would send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { resource: String, name: String },
    #[error("{0}")]
    Invalid(String),
    /// DeleteOptions preconditions (uid or resourceVersion) did not hold.
    #[error("Precondition failed: {0}")]
    PreconditionFailed(String),
}

impl StoreError {
    /// HTTP status code a real server uses for this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::PreconditionFailed(_) => 409,
            Self::Invalid(_) => 422,
        }
    }

    /// The Status `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::PreconditionFailed(_) => "Conflict",
            Self::Invalid(_) => "Invalid",
        }
    }
}

/// Index of a kind's table inside one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KindId(usize);

/// DeleteOptions `preconditions`: what the object must still be for a delete to go ahead.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl Preconditions {
    pub(crate) fn check(&self, current: &Value, rv: u64) -> Result<(), StoreError> {
        if let Some(uid) = &self.uid {
            let actual = current
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("");
            if uid != actual {
                return Err(StoreError::PreconditionFailed(format!(
                    "UID in precondition: {uid}, UID in object meta: {actual}"
                )));
            }
        }
        if let Some(want) = &self.resource_version
            && *want != rv.to_string()
        {
            return Err(StoreError::PreconditionFailed(format!(
                "ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"
            )));
        }
        Ok(())
    }
}

/// A cheap, cloneable handle to one cluster's objects.
#[derive(Clone)]
pub struct ClusterStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStore")
            .field("cluster", &self.inner.cluster)
            .field("resource_version", &self.resource_version())
            .finish()
    }
}

struct Inner {
    cluster: String,
    state: Mutex<State>,
    /// Latest committed resourceVersion; watchers wait on it to learn there is news.
    latest: watch::Sender<u64>,
    /// Open watch streams, so tests can check that closed connections are cleaned up.
    watches: AtomicUsize,
}

type Objects = BTreeMap<Box<str>, BTreeMap<Box<str>, Arc<Stored>>>;

struct KindTable {
    info: Arc<KindInfo>,
    /// namespace ("" for cluster-scoped) → name → object: iteration order is the order a real
    /// server lists in (etcd key order).
    objects: Objects,
}

struct State {
    rv: u64,
    kinds: Vec<KindTable>,
    kind_index: HashMap<String, usize>,
    history: History,
    ids: IdGen,
}

impl State {
    fn kind_id(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.kind_index.get(&kind_key(api_version, kind)).copied()
    }

    fn ensure_kind(&mut self, api_version: &str, kind: &str, namespaced: bool) -> usize {
        let key = kind_key(api_version, kind);
        if let Some(id) = self.kind_index.get(&key) {
            return *id;
        }
        let resource = resources::lookup_kind(api_version, kind)
            .map(|d| d.plural.to_string())
            .unwrap_or_else(|| format!("{}s", kind.to_lowercase()));
        self.kinds.push(KindTable {
            info: Arc::new(KindInfo::new(api_version, kind, &resource, namespaced)),
            objects: BTreeMap::new(),
        });
        let id = self.kinds.len() - 1;
        self.kind_index.insert(key, id);
        id
    }

    fn current(&self, kid: usize, ns: &str, name: &str) -> Option<&Arc<Stored>> {
        self.kinds[kid].objects.get(ns)?.get(name)
    }

    fn commit(
        &mut self,
        kid: usize,
        ty: EventType,
        object: Arc<Stored>,
        prev: Option<Arc<Stored>>,
    ) {
        self.rv = object.rv;
        let table = &mut self.kinds[kid].objects;
        if ty == EventType::Deleted {
            if let Some(names) = table.get_mut(object.namespace.as_ref()) {
                names.remove(object.name.as_ref());
                if names.is_empty() {
                    table.remove(object.namespace.as_ref());
                }
            }
        } else {
            table
                .entry(object.namespace.clone())
                .or_default()
                .insert(object.name.clone(), object.clone());
        }
        self.history.push(Event {
            rv: object.rv,
            kind: KindId(kid),
            ty,
            object,
            prev,
        });
    }
}

fn kind_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}\n{kind}")
}

/// RFC 3339 with second precision, the way the API server writes timestamps.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl ClusterStore {
    /// An empty store for `cluster` remembering the last `history_window` watch events.
    pub fn new(cluster: &str, history_window: usize) -> Self {
        let (latest, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                cluster: cluster.to_string(),
                state: Mutex::new(State {
                    rv: 0,
                    kinds: Vec::new(),
                    kind_index: HashMap::new(),
                    history: History::new(history_window),
                    ids: IdGen::from_label(cluster),
                }),
                latest,
                watches: AtomicUsize::new(0),
            }),
        }
    }

    /// The cluster this store belongs to (`trustusbank-edge`).
    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later
        // readers would trip on, so keep serving rather than poisoning every request.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn announce(&self, rv: u64) {
        self.inner
            .latest
            .send_modify(|latest| *latest = (*latest).max(rv));
    }

    /// The latest resourceVersion handed out.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Store a new object: assigns `resourceVersion`, and `uid`, `creationTimestamp` and
    /// `generation` (when there is a `spec`) unless given. `metadata.generateName` is honoured.
    pub fn create(&self, obj: Value) -> Result<Value, StoreError> {
        self.create_stored(obj).map(|s| s.to_value())
    }

    pub(crate) fn create_stored(&self, obj: Value) -> Result<Arc<Stored>, StoreError> {
        self.create_with(obj, true)
    }

    /// `create_stored`, or with `commit == false` a dry run: every check and default, nothing
    /// stored, no resourceVersion spent (a real server's `dryRun=All`).
    pub(crate) fn create_with(&self, obj: Value, commit: bool) -> Result<Arc<Stored>, StoreError> {
        let mut incoming = Incoming::parse(obj)?;
        let ns = incoming.namespace()?;
        let now = timestamp(chrono::Utc::now());
        let stored = {
            let mut st = self.lock();
            let kid = st.ensure_kind(&incoming.api_version, &incoming.kind, incoming.namespaced);
            let info = st.kinds[kid].info.clone();
            let meta = incoming.meta();
            let name = match meta.get("name").and_then(Value::as_str) {
                Some(name) if !name.is_empty() => name.to_string(),
                _ => match meta.get("generateName").and_then(Value::as_str) {
                    Some(prefix) if !prefix.is_empty() => {
                        format!("{prefix}{}", st.ids.suffix(5))
                    }
                    _ => return Err(StoreError::Invalid("metadata.name: Required value".into())),
                },
            };
            if st.current(kid, &ns, &name).is_some() {
                return Err(StoreError::AlreadyExists {
                    resource: info.resource.clone(),
                    name,
                });
            }
            let rv = st.rv + 1;
            meta.insert("name".into(), Value::from(name.as_str()));
            if commit {
                meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
            } else {
                meta.remove("resourceVersion");
            }
            if !meta.get("uid").is_some_and(Value::is_string) {
                meta.insert("uid".into(), Value::from(st.ids.uid()));
            }
            if !meta.get("creationTimestamp").is_some_and(Value::is_string) {
                meta.insert("creationTimestamp".into(), Value::from(now));
            }
            let has_generation = meta.get("generation").is_some_and(Value::is_u64);
            if incoming.map.contains_key("spec") && !has_generation {
                incoming.meta().insert("generation".into(), Value::from(1));
            }
            let stored = Arc::new(Stored::from_value(info, rv, &ns, &name, incoming.map));
            if !commit {
                return Ok(stored);
            }
            st.commit(kid, EventType::Added, stored.clone(), None);
            stored
        };
        self.announce(stored.rv);
        Ok(stored)
    }

    /// Replace an existing object. A non-empty `metadata.resourceVersion` must match the stored
    /// one (optimistic concurrency, as on a real server); `uid` and `creationTimestamp` are kept;
    /// `metadata.generation` goes up when `spec` changed. An update that changes nothing is not
    /// a write: no new resourceVersion, no watch event.
    pub fn update(&self, obj: Value) -> Result<Value, StoreError> {
        self.update_stored(obj).map(|s| s.to_value())
    }

    pub(crate) fn update_stored(&self, obj: Value) -> Result<Arc<Stored>, StoreError> {
        self.update_with(obj, true)
    }

    /// `update_stored`, or with `commit == false` a dry run that checks everything and stores
    /// nothing.
    pub(crate) fn update_with(&self, obj: Value, commit: bool) -> Result<Arc<Stored>, StoreError> {
        let mut incoming = Incoming::parse(obj)?;
        let ns = incoming.namespace()?;
        let name = incoming
            .meta()
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .ok_or_else(|| StoreError::Invalid("metadata.name: Required value".into()))?;
        let stored = {
            let mut st = self.lock();
            let kid = st.ensure_kind(&incoming.api_version, &incoming.kind, incoming.namespaced);
            let info = st.kinds[kid].info.clone();
            let Some(old) = st.current(kid, &ns, &name).cloned() else {
                return Err(StoreError::NotFound {
                    resource: info.resource.clone(),
                    name,
                });
            };
            let old_rv = old.rv.to_string();
            let meta = incoming.meta();
            if let Some(given) = meta.get("resourceVersion").and_then(Value::as_str)
                && !given.is_empty()
                && given != old_rv
            {
                return Err(StoreError::Conflict {
                    resource: info.resource.clone(),
                    name,
                });
            }
            let old_value: Value = serde_json::from_str(&old.body).unwrap_or(Value::Null);
            let old_meta = old_value.get("metadata");
            for kept in ["uid", "creationTimestamp"] {
                if let Some(v) = old_meta.and_then(|m| m.get(kept)) {
                    meta.insert(kept.into(), v.clone());
                }
            }
            meta.insert("resourceVersion".into(), Value::from(old_rv));
            let old_generation = old_meta
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_u64);
            let spec_changed = old_value.get("spec") != incoming.map.get("spec");
            let generation = match (old_generation, spec_changed) {
                (Some(g), true) => Some(g + 1),
                (Some(g), false) => Some(g),
                (None, _) if incoming.map.contains_key("spec") => Some(1),
                (None, _) => None,
            };
            if let Some(g) = generation {
                incoming.meta().insert("generation".into(), Value::from(g));
            }
            incoming.map.remove("apiVersion");
            incoming.map.remove("kind");
            if old_value.as_object() == Some(&incoming.map) {
                return Ok(old);
            }
            if !commit {
                return Ok(Arc::new(Stored::from_value(
                    info,
                    old.rv,
                    &ns,
                    &name,
                    incoming.map,
                )));
            }
            let rv = st.rv + 1;
            incoming
                .meta()
                .insert("resourceVersion".into(), Value::from(rv.to_string()));
            let stored = Arc::new(Stored::from_value(info, rv, &ns, &name, incoming.map));
            st.commit(kid, EventType::Modified, stored.clone(), Some(old));
            stored
        };
        self.announce(stored.rv);
        Ok(stored)
    }

    /// Remove an object; returns its last state, carrying the deletion's resourceVersion (which
    /// is also what the DELETED watch event carries).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, StoreError> {
        let not_found = || StoreError::NotFound {
            resource: resources::lookup_kind(api_version, kind)
                .map(|d| d.plural.to_string())
                .unwrap_or_else(|| format!("{}s", kind.to_lowercase())),
            name: name.to_string(),
        };
        let (kid, ns) = {
            let st = self.lock();
            let kid = st.kind_id(api_version, kind).ok_or_else(not_found)?;
            (
                kid,
                scoped_namespace(&st.kinds[kid].info, namespace).to_string(),
            )
        };
        self.delete_stored(KindId(kid), &ns, name, &Preconditions::default(), true)
            .map(|s| s.to_value())
    }

    /// Remove an object if `pre` holds; with `commit == false` only check and return what
    /// would have been removed.
    pub(crate) fn delete_stored(
        &self,
        kind: KindId,
        namespace: &str,
        name: &str,
        pre: &Preconditions,
        commit: bool,
    ) -> Result<Arc<Stored>, StoreError> {
        let stored = {
            let mut st = self.lock();
            let kid = kind.0;
            let info = st.kinds[kid].info.clone();
            let old =
                st.current(kid, namespace, name)
                    .cloned()
                    .ok_or_else(|| StoreError::NotFound {
                        resource: info.resource.clone(),
                        name: name.to_string(),
                    })?;
            let mut last: Value = serde_json::from_str(&old.body).unwrap_or(Value::Null);
            pre.check(&last, old.rv)?;
            if !commit {
                return Ok(old);
            }
            let rv = st.rv + 1;
            if let Some(meta) = last.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
            }
            let Value::Object(map) = last else {
                return Err(StoreError::Invalid(
                    "stored object is not a JSON object".into(),
                ));
            };
            let stored = Arc::new(Stored::from_value(info, rv, &old.namespace, name, map));
            st.commit(kid, EventType::Deleted, stored.clone(), Some(old));
            stored
        };
        self.announce(stored.rv);
        Ok(stored)
    }

    /// One object, with `apiVersion` and `kind`.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let found = {
            let st = self.lock();
            let kid = st.kind_id(api_version, kind)?;
            let ns = scoped_namespace(&st.kinds[kid].info, namespace);
            st.current(kid, ns, name).cloned()
        };
        found.map(|s| s.to_value())
    }

    /// Whether the object exists (cheap: nothing is copied).
    pub fn exists(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let st = self.lock();
        st.kind_id(api_version, kind).is_some_and(|kid| {
            let ns = scoped_namespace(&st.kinds[kid].info, namespace);
            st.current(kid, ns, name).is_some()
        })
    }

    /// All objects of a kind (in one namespace, or everywhere with `None`), with the
    /// resourceVersion they were read at.
    pub fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> (Vec<Value>, u64) {
        let (objects, rv) = {
            let st = self.lock();
            match st.kind_id(api_version, kind) {
                Some(kid) => (collect(&st.kinds[kid].objects, namespace, None), st.rv),
                None => (Vec::new(), st.rv),
            }
        };
        (objects.iter().map(|s| s.to_value()).collect(), rv)
    }

    /// Call `f` with the stored compact JSON of every object of a kind (in one namespace or
    /// everywhere), without building `Value`s: for scans over thousands of pods that need a
    /// field or two. The lock is released before `f` runs.
    pub fn for_each_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        mut f: impl FnMut(&str),
    ) {
        let objects = {
            let st = self.lock();
            match st.kind_id(api_version, kind) {
                Some(kid) => collect(&st.kinds[kid].objects, namespace, None),
                None => Vec::new(),
            }
        };
        for object in &objects {
            f(&object.body);
        }
    }

    /// How many objects of a kind exist (cheap; no copies).
    pub fn count(&self, api_version: &str, kind: &str) -> usize {
        let st = self.lock();
        st.kind_id(api_version, kind)
            .map(|kid| st.kinds[kid].objects.values().map(BTreeMap::len).sum())
            .unwrap_or(0)
    }

    /// Forget the whole watch history, as etcd compaction does: any watch or continue token
    /// older than now gets `410 Expired`. Lets tests (and demos) force a relist.
    pub fn compact_history(&self) {
        let mut st = self.lock();
        let rv = st.rv;
        st.history.compact(rv);
    }

    /// How many watch streams are currently open against this store.
    pub fn active_watches(&self) -> usize {
        self.inner.watches.load(Ordering::SeqCst)
    }

    pub(crate) fn watch_opened(&self) {
        self.inner.watches.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn watch_closed(&self) {
        self.inner.watches.fetch_sub(1, Ordering::SeqCst);
    }

    // ---- crate-internal views used by the HTTP layer ----

    /// The table for a served resource, created empty if nothing of that kind exists yet (so a
    /// watch can start before the first object does).
    pub(crate) fn kind_for(&self, def: &ResourceDef) -> (KindId, Arc<KindInfo>) {
        let mut st = self.lock();
        let kid = st.ensure_kind(&def.api_version(), def.kind, def.namespaced);
        (KindId(kid), st.kinds[kid].info.clone())
    }

    /// Every kind table that exists (for namespace cleanup).
    pub(crate) fn kinds(&self) -> Vec<(KindId, Arc<KindInfo>)> {
        let st = self.lock();
        st.kinds
            .iter()
            .enumerate()
            .map(|(i, t)| (KindId(i), t.info.clone()))
            .collect()
    }

    pub(crate) fn get_stored(
        &self,
        kind: KindId,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<Stored>> {
        self.lock().current(kind.0, namespace, name).cloned()
    }

    /// Current objects of a kind in key order, optionally within one namespace and strictly
    /// after a (namespace, name) key, plus the resourceVersion of the snapshot. Only `Arc`s are
    /// copied under the lock; filtering happens outside it.
    pub(crate) fn snapshot(
        &self,
        kind: KindId,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> (Vec<Arc<Stored>>, u64) {
        let st = self.lock();
        (collect(&st.kinds[kind.0].objects, namespace, after), st.rv)
    }

    /// Up to `max` history events with `rv > after`, oldest first.
    pub(crate) fn events_after(&self, after: u64, max: usize) -> Result<Vec<Arc<Event>>, Expired> {
        let st = self.lock();
        st.history.after(after, max, st.rv)
    }

    /// Whether a watch or continue token from `rv` can still be served.
    pub(crate) fn check_not_expired(&self, rv: u64) -> Result<(), Expired> {
        let st = self.lock();
        st.history.check(rv, st.rv)
    }

    /// Wakes whenever a write commits.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.latest.subscribe()
    }
}

fn scoped_namespace<'a>(info: &KindInfo, namespace: Option<&'a str>) -> &'a str {
    if info.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    }
}

fn collect(
    objects: &Objects,
    namespace: Option<&str>,
    after: Option<(&str, &str)>,
) -> Vec<Arc<Stored>> {
    let mut out = Vec::new();
    match namespace {
        Some(ns) => {
            if let Some(names) = objects.get(ns) {
                let start = match after {
                    Some((after_ns, after_name)) if after_ns == ns => Bound::Excluded(after_name),
                    Some((after_ns, _)) if after_ns > ns => return out,
                    _ => Bound::Unbounded,
                };
                out.extend(
                    names
                        .range::<str, _>((start, Bound::Unbounded))
                        .map(|(_, s)| s.clone()),
                );
            }
        }
        None => {
            let ns_start = match after {
                Some((after_ns, _)) => Bound::Included(after_ns),
                None => Bound::Unbounded,
            };
            for (ns, names) in objects.range::<str, _>((ns_start, Bound::Unbounded)) {
                let start = match after {
                    Some((after_ns, after_name)) if after_ns == ns.as_ref() => {
                        Bound::Excluded(after_name)
                    }
                    _ => Bound::Unbounded,
                };
                out.extend(
                    names
                        .range::<str, _>((start, Bound::Unbounded))
                        .map(|(_, s)| s.clone()),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": "a"}})
    }

    #[test]
    fn writes_bump_one_counter_and_record_history() {
        let store = ClusterStore::new("test", 100);
        let created = store.create(pod("ns", "a")).unwrap();
        assert_eq!(created["metadata"]["resourceVersion"], "1");
        assert_eq!(created["metadata"]["generation"], 1);
        assert!(created["metadata"]["uid"].is_string());
        assert_eq!(
            store.create(pod("ns", "a")).unwrap_err().reason(),
            "AlreadyExists"
        );
        let mut changed = created.clone();
        changed["spec"]["nodeName"] = json!("b");
        let updated = store.update(changed).unwrap();
        assert_eq!(updated["metadata"]["resourceVersion"], "2");
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
        // Stale resourceVersion → conflict; identical content → no write.
        assert_eq!(store.update(created).unwrap_err().reason(), "Conflict");
        assert_eq!(store.update(updated.clone()).unwrap(), updated);
        assert_eq!(store.resource_version(), 2);
        let deleted = store.delete("v1", "Pod", Some("ns"), "a").unwrap();
        assert_eq!(deleted["metadata"]["resourceVersion"], "3");
        assert!(store.get("v1", "Pod", Some("ns"), "a").is_none());
        let events = store.events_after(0, 10).unwrap();
        let types: Vec<EventType> = events.iter().map(|e| e.ty).collect();
        assert_eq!(
            types,
            vec![EventType::Added, EventType::Modified, EventType::Deleted]
        );
        assert_eq!(store.events_after(2, 10).unwrap().len(), 1);
    }

    #[test]
    fn history_window_expires_old_versions() {
        let store = ClusterStore::new("test", 2);
        for i in 0..5 {
            store.create(pod("ns", &format!("p{i}"))).unwrap();
        }
        assert_eq!(store.events_after(1, 10).unwrap_err().oldest, 3);
        assert_eq!(store.events_after(3, 10).unwrap().len(), 2);
        store.compact_history();
        assert!(store.events_after(4, 10).is_err());
        assert!(store.events_after(5, 10).unwrap().is_empty());
        assert_eq!(store.events_after(6, 10).unwrap_err().newest, 5);
    }

    #[test]
    fn snapshot_resumes_after_a_key() {
        let store = ClusterStore::new("test", 100);
        for (ns, name) in [("a", "1"), ("a", "2"), ("b", "1"), ("c", "9")] {
            store.create(pod(ns, name)).unwrap();
        }
        let (kind, _) = store.kind_for(resources::lookup_kind("v1", "Pod").unwrap());
        let names = |v: Vec<Arc<Stored>>| -> Vec<String> {
            v.iter()
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect()
        };
        assert_eq!(
            names(store.snapshot(kind, None, Some(("a", "1"))).0),
            ["a/2", "b/1", "c/9"]
        );
        assert_eq!(
            names(store.snapshot(kind, None, Some(("a", "2"))).0),
            ["b/1", "c/9"]
        );
        assert_eq!(
            names(store.snapshot(kind, Some("a"), Some(("a", "1"))).0),
            ["a/2"]
        );
        assert_eq!(names(store.snapshot(kind, Some("b"), None).0), ["b/1"]);
    }
}
