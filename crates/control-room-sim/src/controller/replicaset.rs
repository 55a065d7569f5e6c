//! The ReplicaSet controller: as many live pods as `spec.replicas`, stamped from the template,
//! and a status that counts them. Surplus pods are chosen the way the real controller chooses:
//! unscheduled before scheduled, pending before running, unready before ready, newest first.

use crate::store::resources;
use std::cmp::Reverse;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::events::{self, REPLICASETS};
use super::fields::{pod_active, pod_ready, replicas, str_at, terminating};
use super::{Controller, Key, Timer, kubelet};
use crate::store::StoreError;
use crate::store::owners;

/// Pods created per sync at most, like the real controller's `burstReplicas`: a huge
/// `spec.replicas` fills up over many syncs instead of freezing the cluster's controllers.
const BURST: usize = 500;

pub fn sync(ctl: &mut Controller, namespace: &str, name: &str) -> Result<(), StoreError> {
    let Some(rs) = ctl
        .store
        .get("apps/v1", "ReplicaSet", Some(namespace), name)
    else {
        return Ok(());
    };
    // Whatever happened to the pods, the Deployment owning this set wants to know.
    if let Some(owner) = owners::controller_of(&rs)
        && owner.kind == "Deployment"
    {
        ctl.enqueue(Key::Deployment(namespace.to_string(), owner.name));
    }
    if terminating(&rs) {
        return Ok(());
    }
    let desired = usize::try_from(replicas(&rs)).unwrap_or(0);
    let mut active: Vec<Value> = owned_pods(ctl, namespace, &rs)
        .into_iter()
        .filter(pod_active)
        .collect();
    if active.len() < desired {
        let missing = desired - active.len();
        for _ in 0..missing.min(BURST) {
            active.push(create_pod(ctl, &rs)?);
        }
        if missing > BURST {
            ctl.after(
                Duration::from_millis(100),
                Timer::Sync(Key::ReplicaSet(namespace.to_string(), name.to_string())),
            );
        }
    } else if active.len() > desired {
        active.sort_by_key(deletion_rank);
        let surplus = active.len() - desired;
        for pod in active.drain(..surplus) {
            let message = format!("Deleted pod: {}", str_at(&pod, "/metadata/name"));
            events::record(ctl, &rs, None, "SuccessfulDelete", &message, &REPLICASETS);
            kubelet::terminate(ctl, pod);
        }
    }
    write_status(ctl, rs, &active)
}

/// Pods in `namespace` whose controller is `rs` (terminating ones included).
pub fn owned_pods(ctl: &Controller, namespace: &str, rs: &Value) -> Vec<Value> {
    let Some(uid) = owners::uid_of(rs) else {
        return Vec::new();
    };
    let selector: Vec<(String, String)> = rs
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let Some(def) = resources::lookup_kind("v1", "Pod") else {
        return Vec::new();
    };
    let (kind, _) = ctl.store.kind_for(def);
    let (pods, _) = ctl.store.snapshot(kind, Some(namespace), None);
    pods.iter()
        // Labels are indexed: only pods the selector matches get parsed.
        .filter(|p| selector.iter().all(|(k, v)| p.label(k) == Some(v.as_str())))
        .map(|p| p.to_value())
        .filter(|p| owners::controller_of(p).is_some_and(|o| o.uid == uid))
        .collect()
}

/// Smaller is deleted first.
fn deletion_rank(pod: &Value) -> (bool, u8, bool, Reverse<String>) {
    let scheduled = !str_at(pod, "/spec/nodeName").is_empty();
    let phase = match str_at(pod, "/status/phase") {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    let created = str_at(pod, "/metadata/creationTimestamp").to_string();
    (scheduled, phase, pod_ready(pod), Reverse(created))
}

fn create_pod(ctl: &mut Controller, rs: &Value) -> Result<Value, StoreError> {
    let (namespace, rs_name) = super::ns_name(rs);
    let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut last = None;
    for _ in 0..3 {
        let name = format!("{rs_name}-{}", ctl.ids.suffix(5));
        let mut meta = Map::new();
        meta.insert("name".into(), json!(name));
        meta.insert("generateName".into(), json!(format!("{rs_name}-")));
        meta.insert("namespace".into(), json!(namespace));
        for key in ["labels", "annotations"] {
            if let Some(v) = template.pointer(&format!("/metadata/{key}")) {
                meta.insert(key.into(), v.clone());
            }
        }
        meta.insert(
            "ownerReferences".into(),
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                    "uid": owners::uid_of(rs).unwrap_or(""),
                    "controller": true, "blockOwnerDeletion": true}]),
        );
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": template.get("spec").cloned().unwrap_or(json!({})),
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        });
        match ctl.store.create(pod) {
            Ok(created) => {
                let message = format!("Created pod: {name}");
                events::record(ctl, rs, None, "SuccessfulCreate", &message, &REPLICASETS);
                return Ok(created);
            }
            // A generated name that is taken: draw another.
            Err(err @ StoreError::AlreadyExists { .. }) => last = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Invalid("no free pod name".into())))
}

fn write_status(ctl: &mut Controller, mut rs: Value, active: &[Value]) -> Result<(), StoreError> {
    let replicas = active.len();
    let ready = active.iter().filter(|p| pod_ready(p)).count();
    let generation = rs
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    // Zero counts are left out, as the API types' `omitempty` does; `replicas` always shows.
    // Available means ready here: `minReadySeconds` is not modelled.
    let mut status = Map::new();
    if ready > 0 {
        status.insert("availableReplicas".into(), json!(ready));
        status.insert("readyReplicas".into(), json!(ready));
    }
    if replicas > 0 {
        status.insert("fullyLabeledReplicas".into(), json!(replicas));
    }
    if generation > 0 {
        status.insert("observedGeneration".into(), json!(generation));
    }
    status.insert("replicas".into(), json!(replicas));
    if let Some(conditions) = rs.pointer("/status/conditions") {
        status.insert("conditions".into(), conditions.clone());
    }
    let status = Value::Object(status);
    if rs.get("status") == Some(&status) {
        return Ok(());
    }
    super::fields::set(&mut rs, &["status"], status);
    ctl.store.update_stored(rs).map(|_| ())
}
