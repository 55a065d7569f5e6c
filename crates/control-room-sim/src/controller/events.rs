//! `v1` Events the controllers leave behind, shaped like the ones `kubectl describe` and
//! `kubectl get events` show from a real cluster.
//!
//! Recording goes through client-go's correlation: the same event about the same object
//! (same reason, message, type, reporter and field path) is not written again but counted,
//! `count` up and `lastTimestamp` moved, which is how a back-off's `BackOff` or a failing
//! probe's `Unhealthy` reads `x12 over 3m` in `kubectl describe`. Event names are the object's
//! name and the hex of the first time in nanoseconds, as the kubelet names them.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Controller;
use super::fields::set;
use crate::store::ids::fnv1a;
use crate::store::timestamp;

/// How many distinct events are remembered for counting, like client-go's LRU cache.
const REMEMBERED: usize = 4096;

/// Who reports an event: `source.component` and, for the kubelet, its node.
pub struct Reporter<'a> {
    pub component: &'a str,
    pub host: Option<&'a str>,
}

pub const SCHEDULER: Reporter<'static> = Reporter {
    component: "default-scheduler",
    host: None,
};
pub const DEPLOYMENTS: Reporter<'static> = Reporter {
    component: "deployment-controller",
    host: None,
};
pub const REPLICASETS: Reporter<'static> = Reporter {
    component: "replicaset-controller",
    host: None,
};

pub fn kubelet(node: &str) -> Reporter<'_> {
    Reporter {
        component: "kubelet",
        host: Some(node),
    }
}

/// One cluster's event recorder state.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Correlation key → the name of the event that counts it.
    seen: HashMap<u64, String>,
    /// The last name's nanoseconds, so two events in one clock tick still differ.
    last_nanos: i64,
}

/// Record a Normal event about `obj` (a full object with apiVersion and kind).
/// `field_path` points into it (`spec.containers{app}`).
pub fn record(
    ctl: &mut Controller,
    obj: &Value,
    field_path: Option<&str>,
    reason: &str,
    message: &str,
    by: &Reporter<'_>,
) {
    emit(ctl, "Normal", obj, field_path, reason, message, by);
}

/// Record a Warning event (a failed pull, a back-off, a failing probe, no fitting node).
pub fn warn(
    ctl: &mut Controller,
    obj: &Value,
    field_path: Option<&str>,
    reason: &str,
    message: &str,
    by: &Reporter<'_>,
) {
    emit(ctl, "Warning", obj, field_path, reason, message, by);
}

fn emit(
    ctl: &mut Controller,
    ty: &str,
    obj: &Value,
    field_path: Option<&str>,
    reason: &str,
    message: &str,
    by: &Reporter<'_>,
) {
    let field = |p: &str| obj.pointer(p).cloned().unwrap_or(Value::Null);
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let object_name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let now = chrono::Utc::now();
    let key = fnv1a(
        [
            ty,
            &namespace,
            object_name,
            uid,
            field_path.unwrap_or(""),
            reason,
            message,
            by.component,
            by.host.unwrap_or(""),
        ]
        .join("\u{0}")
        .as_bytes(),
    );
    if let Some(name) = ctl.recorder.seen.get(&key).cloned()
        && count_again(ctl, &namespace, &name, now)
    {
        return;
    }
    let mut involved = json!({
        "apiVersion": field("/apiVersion"),
        "kind": field("/kind"),
        "name": object_name,
        "namespace": namespace,
        "uid": uid,
        "resourceVersion": field("/metadata/resourceVersion"),
    });
    if let Some(path) = field_path {
        involved["fieldPath"] = json!(path);
    }
    let mut source = json!({"component": by.component});
    if let Some(host) = by.host {
        source["host"] = json!(host);
    }
    let nanos = now
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .max(ctl.recorder.last_nanos + 1);
    ctl.recorder.last_nanos = nanos;
    let name = format!("{object_name}.{nanos:x}");
    let at = timestamp(now);
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
        "type": ty,
        "eventTime": null,
        "reportingComponent": by.component,
        "reportingInstance": by.host.unwrap_or(""),
    });
    match ctl.store.create(event) {
        Ok(_) => {
            if ctl.recorder.seen.len() >= REMEMBERED {
                ctl.recorder.seen.clear();
            }
            ctl.recorder.seen.insert(key, name);
        }
        Err(err) => tracing::debug!(%err, reason, "event not recorded"),
    }
}

/// Count one more occurrence of a recorded event; false when it is gone (then a new one is
/// written, as client-go does when its patch finds nothing).
fn count_again(
    ctl: &mut Controller,
    namespace: &str,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(mut event) = ctl.store.get("v1", "Event", Some(namespace), name) else {
        return false;
    };
    let count = event.get("count").and_then(Value::as_i64).unwrap_or(1);
    set(&mut event, &["count"], json!(count.saturating_add(1)));
    set(&mut event, &["lastTimestamp"], json!(timestamp(now)));
    if let Err(err) = ctl.store.update_stored(event) {
        tracing::debug!(%err, name, "event count not updated");
    }
    true
}
