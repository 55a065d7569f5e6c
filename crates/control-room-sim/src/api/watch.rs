//! One watch connection: a chunked stream of `{"type":…,"object":…}` lines driven by the
//! store's history, with bookmarks, timeouts, selectors and the in-stream 410.
//!
//! The stream owns its cursor into the history; nothing is spawned, so when the client goes
//! away and hyper drops the body, the watcher is gone with it. A watch that asked for Tables
//! (`kubectl get -w`) gets each object as a one-row Table, column definitions on the first.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::query::WatchStart;
use crate::api::responses;
use crate::api::table::{self, TableOptions};
use crate::store::history::{Event, EventType};
use crate::store::selector::{FieldSelector, LabelSelector};
use crate::store::stored::{KindInfo, Stored};
use crate::store::{ClusterStore, KindId};

/// Objects per chunk while sending the initial ADDED events.
const INITIAL_BATCH: usize = 500;
/// History events examined per store lock.
const EVENT_BATCH: usize = 1000;

/// What one watch request asked for.
pub struct WatchRequest {
    pub kind: KindId,
    pub info: Arc<KindInfo>,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub start: WatchStart,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
    /// Objects as one-row Tables rather than themselves.
    pub table: Option<TableOptions>,
}

/// The response body for a watch. `stop` flips to true when the cluster is stopped: the body
/// then fails, which aborts the connection the way a dying API server would.
pub fn watch_body(
    store: ClusterStore,
    req: WatchRequest,
    bookmark_interval: Duration,
    stop: watch::Receiver<bool>,
) -> Body {
    let watcher = Watcher::new(store, req, bookmark_interval, stop);
    let stream = futures::stream::unfold(watcher, |mut w| async move {
        w.next_chunk().await.map(|chunk| (chunk, w))
    });
    Body::from_stream(stream)
}

struct Watcher {
    store: ClusterStore,
    req: WatchRequest,
    /// Every event with `rv <= cursor` has been considered.
    cursor: u64,
    initial: VecDeque<Arc<Stored>>,
    end_bookmark_pending: bool,
    news: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    deadline: Option<Instant>,
    bookmark_interval: Duration,
    next_bookmark: Instant,
    done: bool,
    /// A Table watch has sent its column definitions (only the first event carries them).
    headers_sent: bool,
    _live: LiveWatch,
}

/// Counts open watches in the store for as long as it lives.
struct LiveWatch(ClusterStore);

impl Drop for LiveWatch {
    fn drop(&mut self) {
        self.0.watch_closed();
    }
}

impl Watcher {
    fn new(
        store: ClusterStore,
        req: WatchRequest,
        bookmark_interval: Duration,
        stop: watch::Receiver<bool>,
    ) -> Self {
        store.watch_opened();
        let live = LiveWatch(store.clone());
        let news = store.subscribe();
        let (initial, cursor, end_bookmark_pending) = match req.start {
            WatchStart::Initial { end_bookmark } => {
                let (objects, rv) = store.snapshot(req.kind, req.namespace.as_deref(), None);
                (objects.into(), rv, end_bookmark)
            }
            WatchStart::After(rv) => (VecDeque::new(), rv, false),
        };
        let now = Instant::now();
        Self {
            deadline: req.timeout.map(|t| now + t),
            store,
            req,
            cursor,
            initial,
            end_bookmark_pending,
            news,
            stop,
            bookmark_interval,
            next_bookmark: now + bookmark_interval,
            done: false,
            headers_sent: false,
            _live: live,
        }
    }

    async fn next_chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        if self.done {
            return None;
        }
        if *self.stop.borrow() {
            return self.abort();
        }
        while !self.initial.is_empty() {
            let mut out = String::new();
            let take = self.initial.len().min(INITIAL_BATCH);
            let batch: Vec<Arc<Stored>> = self.initial.drain(..take).collect();
            for obj in batch {
                if self.matches(&obj) {
                    self.push_line(&mut out, "ADDED", &obj);
                }
            }
            if !out.is_empty() {
                return Some(Ok(Bytes::from(out)));
            }
        }
        if self.end_bookmark_pending {
            self.end_bookmark_pending = false;
            return Some(Ok(self.bookmark(true)));
        }
        loop {
            // Mark the news seen *before* reading history, so a write landing in between
            // still wakes the wait below.
            self.news.borrow_and_update();
            match self.store.events_after(self.cursor, EVENT_BATCH) {
                Err(expired) => {
                    self.done = true;
                    let line = format!(
                        "{{\"type\":\"ERROR\",\"object\":{}}}\n",
                        responses::expired_json(expired)
                    );
                    return Some(Ok(Bytes::from(line)));
                }
                Ok(events) => {
                    let more = events.len() == EVENT_BATCH;
                    let mut out = String::new();
                    for event in &events {
                        self.cursor = event.rv;
                        if let Some(ty) = self.classify(event) {
                            self.push_line(&mut out, ty, &event.object);
                        }
                    }
                    if !out.is_empty() {
                        return Some(Ok(Bytes::from(out)));
                    }
                    if more {
                        continue;
                    }
                }
            }
            tokio::select! {
                biased;
                _ = stopped(&mut self.stop) => return self.abort(),
                _ = sleep_until(self.deadline) => {
                    // Timeout: a clean end of the chunked body, with a last bookmark so the
                    // client resumes from the newest version it could.
                    self.done = true;
                    return self.req.bookmarks.then(|| Ok(self.bookmark(false)));
                }
                _ = tokio::time::sleep_until(self.next_bookmark), if self.req.bookmarks => {
                    self.next_bookmark = Instant::now() + self.bookmark_interval;
                    return Some(Ok(self.bookmark(false)));
                }
                _ = self.news.changed() => {}
            }
        }
    }

    fn abort(&mut self) -> Option<Result<Bytes, io::Error>> {
        self.done = true;
        tracing::debug!(
            cluster = self.store.cluster(),
            "watch aborted: cluster stopped"
        );
        Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "simulated API server stopped",
        )))
    }

    fn matches(&self, obj: &Stored) -> bool {
        self.req
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == obj.namespace.as_ref())
            && self.req.labels.matches(obj)
            && self.req.fields.matches(obj)
    }

    /// The event type this watcher sees, if any. With selectors, an object that starts or
    /// stops matching is reported as ADDED or DELETED, as a real server does.
    fn classify(&self, event: &Event) -> Option<&'static str> {
        if event.kind != self.req.kind {
            return None;
        }
        let now = self.matches(&event.object);
        match event.ty {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => now.then_some("DELETED"),
            EventType::Modified => {
                if self.req.labels.is_empty() && self.req.fields.is_empty() {
                    return now.then_some("MODIFIED");
                }
                let before = event.prev.as_deref().is_some_and(|p| self.matches(p));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }

    fn bookmark(&self, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": self.cursor.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        if let Some(opts) = self.req.table {
            let object = table::bookmark_json(opts, &metadata);
            return Bytes::from(format!("{{\"type\":\"BOOKMARK\",\"object\":{object}}}\n"));
        }
        let line = json!({
            "type": "BOOKMARK",
            "object": {
                "kind": self.req.info.kind,
                "apiVersion": self.req.info.api_version,
                "metadata": metadata,
            }
        });
        Bytes::from(line.to_string() + "\n")
    }

    fn push_line(&mut self, out: &mut String, ty: &str, obj: &Arc<Stored>) {
        out.push_str("{\"type\":\"");
        out.push_str(ty);
        out.push_str("\",\"object\":");
        match self.req.table {
            Some(opts) => {
                let metadata = json!({"resourceVersion": obj.rv.to_string()});
                let headers = !self.headers_sent;
                self.headers_sent = true;
                let now = chrono::Utc::now();
                let info = &self.req.info;
                out.push_str(&table::table_json(
                    info,
                    &[obj],
                    &metadata,
                    opts,
                    headers,
                    now,
                ));
            }
            None => out.push_str(&obj.typed_json()),
        }
        out.push_str("}\n");
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A dropped sender means the server run is gone: treat it as stopped too.
    let _ = stop.wait_for(|s| *s).await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
