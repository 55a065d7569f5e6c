//! Serving the log generator's log (see [`crate::services::loggen`]): the request's window
//! (`sinceTime`, `tailLines`) is worked out from line numbers, and the lines in it are
//! formatted chunk by chunk as the client reads them, so a whole gigabyte streams in bounded
//! memory and `--tail 5` formats five lines. A follow then sends what the clock has made due,
//! batched a few milliseconds at a time, until the pod is gone or the client leaves.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use crate::api::logs::{Params, stamp, text_response};
use crate::api::router::ServerCtx;
use crate::services::loggen::Log;
use crate::store::ClusterStore;

/// Bytes formatted per chunk of the body.
const CHUNK: usize = 64 * 1024;
/// A follow waits at least this long between batches (at high rates: many lines each).
const MIN_WAIT: Duration = Duration::from_millis(5);
/// …and at most this long, to notice a pod that is gone.
const MAX_WAIT: Duration = Duration::from_secs(1);

struct Stream {
    log: Log,
    /// The next line to send, and the end of what is due.
    next: u64,
    end: u64,
    timestamps: bool,
    budget: usize,
    follow: Option<Follow>,
}

/// What a follow watches besides the clock.
struct Follow {
    store: ClusterStore,
    namespace: String,
    name: String,
    uid: Option<Value>,
    stop: watch::Receiver<bool>,
}

impl Follow {
    fn pod_is_there(&self) -> bool {
        !*self.stop.borrow()
            && self
                .store
                .get("v1", "Pod", Some(&self.namespace), &self.name)
                .is_some_and(|p| p.pointer("/metadata/uid").cloned() == self.uid)
    }
}

pub fn serve(
    ctx: &ServerCtx,
    pod: &Value,
    params: Params,
    log: Log,
    now: DateTime<Utc>,
) -> Response {
    let end = log.count_at(now);
    let mut next = params.since.map_or(0, |since| log.first_from(since));
    if let Some(tail) = params.tail {
        next = next.max(end.saturating_sub(u64::try_from(tail).unwrap_or(u64::MAX)));
    }
    let text = |p: &str| {
        pod.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let follow = (params.follow && !params.previous).then(|| Follow {
        store: ctx.store.clone(),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name"),
        uid: pod.pointer("/metadata/uid").cloned(),
        stop: ctx.stop.clone(),
    });
    let stream = Stream {
        log,
        next,
        end,
        timestamps: params.timestamps,
        budget: params.limit_bytes.unwrap_or(usize::MAX),
        follow,
    };
    let body = futures::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), s))
    });
    text_response(Body::from_stream(body))
}

impl Stream {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.budget == 0 {
                return None;
            }
            if self.next < self.end {
                return Some(self.render());
            }
            let follow = self.follow.as_ref()?;
            if !follow.pod_is_there() {
                return None;
            }
            let due = self.log.time_of(self.end);
            let wait = (due - Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(MIN_WAIT, MAX_WAIT);
            tokio::time::sleep(wait).await;
            self.end = self.log.count_at(Utc::now());
        }
    }

    /// Lines from `next` on, up to a chunk's worth or the end of what is due.
    fn render(&mut self) -> Bytes {
        let mut out = Vec::with_capacity(CHUNK + 512);
        while self.next < self.end && out.len() < CHUNK && self.budget > 0 {
            let start = out.len();
            if self.timestamps {
                out.extend_from_slice(stamp(self.log.time_of(self.next)).as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(self.log.line(self.next).as_bytes());
            out.push(b'\n');
            // The kubelet's limit counts bytes, and may cut a line short.
            let kept = (out.len() - start).min(self.budget);
            out.truncate(start + kept);
            self.budget -= kept;
            self.next += 1;
        }
        Bytes::from(out)
    }
}
