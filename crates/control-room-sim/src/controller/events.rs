//! `v1` Events the controllers leave behind, shaped like the ones `kubectl describe` and
//! `kubectl get events` show from a real cluster.

use serde_json::{Value, json};

use super::Controller;
use crate::store::timestamp;

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
    let mut involved = json!({
        "apiVersion": field("/apiVersion"),
        "kind": field("/kind"),
        "name": object_name,
        "namespace": namespace,
        "uid": field("/metadata/uid"),
        "resourceVersion": field("/metadata/resourceVersion"),
    });
    if let Some(path) = field_path {
        involved["fieldPath"] = json!(path);
    }
    let mut source = json!({"component": by.component});
    if let Some(host) = by.host {
        source["host"] = json!(host);
    }
    let now = timestamp(chrono::Utc::now());
    let name = format!("{object_name}.{}", ctl.ids.hex(16));
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
        "eventTime": null,
        "reportingComponent": by.component,
        "reportingInstance": by.host.unwrap_or(""),
    });
    if let Err(err) = ctl.store.create(event) {
        tracing::debug!(%err, reason, "event not recorded");
    }
}
