//! The scheduler and the kubelets. A new pod is bound to a worker, shows ContainerCreating
//! while its image pulls, then runs and turns Ready, with the events a real cluster records;
//! a pod marked for deletion is stopped (Terminating) and removed a step later.
//!
//! Only pods that have never started are driven: ones written with container statuses (the
//! built world, tests setting exact states) are left exactly as written. A container restart
//! (a crash and the kubelet starting it again) is [`restart_container`], for tests to write.

use crate::store::resources;
use std::collections::HashSet;

use serde_json::{Value, json};

use super::events::{self, SCHEDULER};
use super::fields::{set, str_at, terminating};
use super::{Controller, PodStep, RETRY, Timer};
use crate::store::history::{Event, EventType};
use crate::store::ids::{IdGen, fnv1a};
use crate::store::owners;
use crate::store::{Preconditions, StoreError, timestamp};

/// The marker of a terminating object in its stored JSON.
const DELETION_MARK: &str = "\"deletionTimestamp\"";

/// Scheduler and kubelet state for one cluster.
#[derive(Debug, Default)]
pub struct Kubelet {
    /// Pod IPs in use, read from the store the first time one is handed out.
    used_ips: Option<HashSet<String>>,
    next_worker: usize,
}

/// React to a pod event from the store's history.
pub fn observe(ctl: &mut Controller, event: &Event) {
    let namespace = event.object.namespace.to_string();
    match event.ty {
        EventType::Added => {
            let pod = event.object.to_value();
            ctl.enqueue_owner(&namespace, &pod);
            if terminating(&pod) {
                begin_shutdown(ctl, &pod);
            } else if never_started(&pod) {
                let step = if str_at(&pod, "/spec/nodeName").is_empty() {
                    PodStep::Schedule
                } else {
                    PodStep::CreateContainers
                };
                schedule(ctl, &pod, step, ctl.step / 4);
            }
        }
        EventType::Modified => {
            // Cheap test first: pod updates are the bulk of all writes (churn).
            let now = event.object.body.contains(DELETION_MARK);
            let before = event
                .prev
                .as_ref()
                .is_some_and(|p| p.body.contains(DELETION_MARK));
            if now && !before {
                let pod = event.object.to_value();
                ctl.enqueue_owner(&namespace, &pod);
                begin_shutdown(ctl, &pod);
            }
        }
        EventType::Deleted => {
            let pod = event.object.to_value();
            ctl.enqueue_owner(&namespace, &pod);
        }
    }
}

fn never_started(pod: &Value) -> bool {
    pod.pointer("/status/containerStatuses").is_none()
        && matches!(str_at(pod, "/status/phase"), "" | "Pending")
}

fn schedule(ctl: &mut Controller, pod: &Value, step: PodStep, delay: std::time::Duration) {
    let (namespace, name) = super::ns_name(pod);
    let uid = owners::uid_of(pod).unwrap_or("").to_string();
    ctl.after(
        delay,
        Timer::Pod {
            namespace,
            name,
            uid,
            step,
        },
    );
}

/// Mark a pod for deletion the way the API server does for a graceful delete; its kubelet then
/// stops it. A pod never bound to a node has nothing to stop and goes at once.
pub fn terminate(ctl: &mut Controller, mut pod: Value) {
    if terminating(&pod) {
        return;
    }
    if str_at(&pod, "/spec/nodeName").is_empty() {
        remove(ctl, &pod);
        return;
    }
    let grace = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
    if let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("deletionTimestamp".into(), json!(timestamp(at)));
        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
    }
    if let Err(err) = ctl.store.update_stored(pod) {
        tracing::debug!(%err, "pod termination deferred");
    }
}

/// The kubelet noticed `deletionTimestamp`: stop the containers, remove the pod a step later.
fn begin_shutdown(ctl: &mut Controller, pod: &Value) {
    let node = str_at(pod, "/spec/nodeName").to_string();
    if node.is_empty() {
        remove(ctl, pod);
        return;
    }
    for (container, _) in containers(pod) {
        let path = format!("spec.containers{{{container}}}");
        let message = format!("Stopping container {container}");
        events::record(
            ctl,
            pod,
            Some(&path),
            "Killing",
            &message,
            &events::kubelet(&node),
        );
    }
    schedule(ctl, pod, PodStep::Remove, ctl.step);
}

fn remove(ctl: &mut Controller, pod: &Value) {
    let Some(def) = resources::lookup_kind("v1", "Pod") else {
        return;
    };
    let (kind, _) = ctl.store.kind_for(def);
    let (namespace, name) = super::ns_name(pod);
    let pre = Preconditions {
        uid: owners::uid_of(pod).map(str::to_string),
        resource_version: None,
    };
    let _ = ctl.store.delete_stored(kind, &namespace, &name, &pre, true);
}

/// Move a pod on to its next phase, if it is still the pod the timer was set for.
pub fn advance(ctl: &mut Controller, namespace: &str, name: &str, uid: &str, step: PodStep) {
    let Some(pod) = ctl.store.get("v1", "Pod", Some(namespace), name) else {
        return;
    };
    if owners::uid_of(&pod) != Some(uid) {
        return;
    }
    let result = match step {
        PodStep::Remove => {
            remove(ctl, &pod);
            Ok(())
        }
        _ if terminating(&pod) => Ok(()),
        PodStep::Schedule => bind(ctl, pod),
        PodStep::CreateContainers => create_containers(ctl, pod),
        PodStep::Start => start(ctl, pod),
    };
    if let Err(StoreError::Conflict { .. }) = result {
        ctl.after(
            RETRY,
            Timer::Pod {
                namespace: namespace.to_string(),
                name: name.to_string(),
                uid: uid.to_string(),
                step,
            },
        );
    }
}

/// (name, image) of each container.
fn containers(pod: &Value) -> Vec<(String, String)> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| {
                    (
                        str_at(c, "/name").to_string(),
                        str_at(c, "/image").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn condition(ty: &str, ok: bool, at: &str) -> Value {
    let mut c = json!({"type": ty, "status": if ok { "True" } else { "False" },
                       "lastProbeTime": null, "lastTransitionTime": at});
    if !ok && matches!(ty, "Ready" | "ContainersReady") {
        c["reason"] = json!("ContainersNotReady");
    }
    c
}

/// The scheduler: bind to the next worker, round robin.
fn bind(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    let nodes = ctl.cluster.node_names();
    // Index 0 is the tainted control plane.
    let workers = nodes.len().saturating_sub(1).max(1);
    let index = (1 + ctl.kubelet.next_worker % workers).min(nodes.len().saturating_sub(1));
    ctl.kubelet.next_worker += 1;
    let node = nodes.get(index).cloned().unwrap_or_default();
    let now = timestamp(chrono::Utc::now());
    set(&mut pod, &["spec", "nodeName"], json!(node));
    set(
        &mut pod,
        &["status", "conditions"],
        json!([condition("PodScheduled", true, &now)]),
    );
    let stored = ctl.store.update_stored(pod)?;
    let pod = stored.to_value();
    let (namespace, name) = super::ns_name(&pod);
    let message = format!("Successfully assigned {namespace}/{name} to {node}");
    events::record(ctl, &pod, None, "Scheduled", &message, &SCHEDULER);
    schedule(ctl, &pod, PodStep::CreateContainers, ctl.step / 4);
    Ok(())
}

fn node_ip(ctl: &Controller, node: &str) -> String {
    let index = ctl
        .cluster
        .node_names()
        .iter()
        .position(|n| n == node)
        .unwrap_or(1);
    format!(
        "172.22.0.{}",
        usize::from(ctl.cluster.first_node_ip) + index
    )
}

/// The kubelet has the pod: sandbox and image pull under way.
fn create_containers(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let host_ip = node_ip(ctl, &node);
    let now = timestamp(chrono::Utc::now());
    let list = containers(&pod);
    let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
    let unready = format!("containers with unready status: [{}]", names.join(" "));
    let statuses: Vec<Value> = list
        .iter()
        .map(|(name, image)| {
            json!({"image": image, "imageID": "", "name": name, "ready": false,
                   "restartCount": 0, "started": false,
                   "state": {"waiting": {"reason": "ContainerCreating"}}})
        })
        .collect();
    let scheduled_at = pod
        .pointer("/status/conditions/0/lastTransitionTime")
        .cloned()
        .unwrap_or_else(|| json!(now));
    let mut ready = condition("Ready", false, &now);
    ready["message"] = json!(unready);
    let mut containers_ready = condition("ContainersReady", false, &now);
    containers_ready["message"] = json!(unready);
    let mut scheduled = condition("PodScheduled", true, &now);
    scheduled["lastTransitionTime"] = scheduled_at;
    let status = json!({
        "phase": "Pending",
        "conditions": [
            condition("PodReadyToStartContainers", false, &now),
            condition("Initialized", true, &now),
            ready,
            containers_ready,
            scheduled,
        ],
        "containerStatuses": statuses,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "qosClass": "BestEffort",
        "startTime": now,
    });
    set(&mut pod, &["status"], status);
    let stored = ctl.store.update_stored(pod)?;
    let pod = stored.to_value();
    for (container, image) in &list {
        let path = format!("spec.containers{{{container}}}");
        let message = format!("Pulling image \"{image}\"");
        events::record(
            ctl,
            &pod,
            Some(&path),
            "Pulling",
            &message,
            &events::kubelet(&node),
        );
    }
    schedule(ctl, &pod, PodStep::Start, ctl.step);
    Ok(())
}

/// Image pulled, containers created and started: Running and Ready.
fn start(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    let pod_ip = if host_network {
        node_ip(ctl, &node)
    } else {
        allocate_ip(ctl, &node)
    };
    let now = timestamp(chrono::Utc::now());
    let list = containers(&pod);
    let statuses: Vec<Value> = list
        .iter()
        .map(|(name, image)| {
            json!({"containerID": format!("containerd://{}", ctl.ids.hex(64)),
                   "image": image, "imageID": image_id(image), "name": name, "ready": true,
                   "restartCount": 0, "started": true,
                   "state": {"running": {"startedAt": now}}})
        })
        .collect();
    let status = pod
        .get_mut("status")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| StoreError::Invalid("pod without status".into()))?;
    let keep_time = |c: &Value| c.get("lastTransitionTime").cloned();
    let scheduled_at = status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "PodScheduled")
                .and_then(keep_time)
        });
    let initialized_at = status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "Initialized")
                .and_then(keep_time)
        });
    let mut conditions = vec![
        condition("PodReadyToStartContainers", true, &now),
        condition("Initialized", true, &now),
        condition("Ready", true, &now),
        condition("ContainersReady", true, &now),
        condition("PodScheduled", true, &now),
    ];
    if let Some(at) = initialized_at {
        conditions[1]["lastTransitionTime"] = at;
    }
    if let Some(at) = scheduled_at {
        conditions[4]["lastTransitionTime"] = at;
    }
    status.insert("phase".into(), json!("Running"));
    status.insert("conditions".into(), Value::Array(conditions));
    status.insert("containerStatuses".into(), Value::Array(statuses));
    status.insert("podIP".into(), json!(pod_ip));
    status.insert("podIPs".into(), json!([{"ip": pod_ip}]));
    let stored = ctl.store.update_stored(pod)?;
    let pod = stored.to_value();
    let kubelet = events::kubelet(&node);
    let pull = ctl.step.as_secs_f64();
    for (container, image) in &list {
        let path = format!("spec.containers{{{container}}}");
        let size = 20_000_000 + fnv1a(image.as_bytes()) % 80_000_000;
        let pulled = format!(
            "Successfully pulled image \"{image}\" in {pull:.3}s ({pull:.3}s including waiting). Image size: {size} bytes."
        );
        events::record(ctl, &pod, Some(&path), "Pulled", &pulled, &kubelet);
        let created = format!("Created container: {container}");
        events::record(ctl, &pod, Some(&path), "Created", &created, &kubelet);
        let started = format!("Started container {container}");
        events::record(ctl, &pod, Some(&path), "Started", &started, &kubelet);
    }
    let namespace = str_at(&pod, "/metadata/namespace").to_string();
    ctl.enqueue_owner(&namespace, &pod);
    Ok(())
}

/// What the kubelet writes when `container` exited and was started again, as after a crash:
/// `restartCount` goes up, `lastState.terminated` describes the container that ran until
/// now, `state.running` the new one, with a new container ID. The pod log then serves the new
/// container, and `previous=true` the old one. Statuses carry whole seconds, so the restart
/// is at the start of this second (at least a second after the old container started).
/// Returns false, changing nothing, when the pod has no status for `container`.
pub fn restart_container(
    pod: &mut Value,
    container: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let created = pod
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc());
    let Some(status) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
        .and_then(|list| list.iter_mut().find(|s| s["name"] == container))
    else {
        return false;
    };
    let restarts = status["restartCount"].as_u64().unwrap_or(0);
    let started = status
        .pointer("/state/running/startedAt")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc())
        .or(created)
        .unwrap_or(now);
    let floor = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let after = created.map_or(started, |c| c.max(started)) + chrono::TimeDelta::seconds(1);
    let restart = timestamp(floor.max(after));
    let old_id = status["containerID"].clone();
    let new_id = format!(
        "containerd://{}",
        IdGen::new(fnv1a(format!("{old_id}/{restarts}").as_bytes())).hex(64)
    );
    status["lastState"] = json!({"terminated": {
        "containerID": old_id,
        "exitCode": 1,
        "reason": "Error",
        "startedAt": timestamp(started),
        "finishedAt": restart,
    }});
    status["state"] = json!({"running": {"startedAt": restart}});
    status["restartCount"] = json!(restarts + 1);
    status["containerID"] = json!(new_id);
    true
}

/// Same digest for the same image, like the world's pods.
fn image_id(image: &str) -> String {
    let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
    format!(
        "{repo}@sha256:{}",
        IdGen::new(fnv1a(image.as_bytes())).hex(64)
    )
}

/// The next free address in the node's pod range, allocated the way the world's were:
/// 10.<cluster>.<node>.2 upwards, then further /24s of the cluster's /16.
fn allocate_ip(ctl: &mut Controller, node: &str) -> String {
    let index = ctl
        .cluster
        .node_names()
        .iter()
        .position(|n| n == node)
        .unwrap_or(1) as u32;
    let octet = ctl.cluster.pod_octet;
    let store = ctl.store.clone();
    let used = ctl.kubelet.used_ips.get_or_insert_with(|| {
        let (pods, _) = store.list("v1", "Pod", None);
        pods.iter()
            .filter_map(|p| p.pointer("/status/podIP").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    });
    for n in 0..250 * 80 {
        let third = (index + 3 * (n / 250)) % 256;
        let ip = format!("10.{octet}.{third}.{}", n % 250 + 2);
        if used.insert(ip.clone()) {
            return ip;
        }
    }
    format!("10.{octet}.{index}.254")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_pods_are_driven_and_built_ones_left_alone() {
        assert!(never_started(&json!({"status": {"phase": "Pending"}})));
        assert!(never_started(&json!({})));
        assert!(!never_started(&json!({"status": {"phase": "Running"}})));
        assert!(!never_started(
            &json!({"status": {"phase": "Pending", "containerStatuses": []}})
        ));
    }
}
