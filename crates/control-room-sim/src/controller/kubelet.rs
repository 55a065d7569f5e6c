//! The kubelets. A pod bound to a worker shows ContainerCreating while its images pull, then
//! runs and turns Ready, with the events a real cluster records; a pod marked for deletion is
//! stopped (Terminating) and removed a step later. What goes wrong on a real node goes wrong
//! here too, each in its own module: an image no registry has ([`super::pulls`]), a program
//! that exits ([`super::crashes`]), a readiness probe that fails ([`super::probes`]).
//!
//! Only pods that have never started are driven from the start: ones written with container
//! statuses (the built world, tests setting exact states) are left as written, unless a
//! rehearsal annotation is put on them later. A container restart (a crash and the kubelet
//! starting it again) is [`super::containers::restart_container`], for tests to write.

use crate::store::resources;
use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::backoff::{self, Backoff};
use super::containers::{self, EXIT_AFTER};
use super::events::{self};
use super::fields::{set, str_at, terminating};
use super::{Controller, PodStep, RETRY, Timer, crashes, probes, pulls, scheduler};
use crate::store::history::{Event, EventType};
use crate::store::ids::{IdGen, fnv1a};
use crate::store::owners;
use crate::store::{Preconditions, StoreError, timestamp};

/// The marker of a terminating object in its stored JSON.
const DELETION_MARK: &str = "\"deletionTimestamp\"";
/// The marker of a rehearsal annotation in a stored pod.
const SIM_MARK: &str = "sim.control-room.dev/";

/// Scheduler and kubelet state for one cluster.
#[derive(Debug)]
pub struct Kubelet {
    /// Pod IPs in use, read from the store the first time one is handed out.
    used_ips: Option<HashSet<String>>,
    pub(super) next_worker: usize,
    /// Image pull and crash back-offs, per pod and container.
    pub(super) backoff: Backoff,
    /// Pods whose readiness probe is being run, by uid.
    pub(super) probing: HashSet<String>,
    /// Consecutive failed readiness probes, by (pod uid, container).
    pub(super) probe_failures: HashMap<(String, String), u32>,
    /// Pods no node fits: uid → (namespace, name), tried again when a node changes.
    pub(super) unschedulable: HashMap<String, (String, String)>,
    /// When each exited container finished, exactly (its status has whole seconds only).
    pub(super) exits: HashMap<(String, String), chrono::DateTime<chrono::Utc>>,
}

impl Kubelet {
    pub fn new(backoff_base: std::time::Duration) -> Self {
        Self {
            used_ips: None,
            next_worker: 0,
            backoff: Backoff::new(backoff_base),
            probing: HashSet::new(),
            probe_failures: HashMap::new(),
            unschedulable: HashMap::new(),
            exits: HashMap::new(),
        }
    }

    /// How long after a change the kubelet's next sync of the pod comes (its PLEG relist
    /// and pod worker), a fifth of the back-off base: two seconds on a real node.
    pub fn sync_delay(&self) -> std::time::Duration {
        self.backoff.base() / 5
    }

    /// A real kubelet duration (10 s, a probe's period …) scaled like the back-off base.
    pub fn scaled(&self, real: std::time::Duration) -> std::time::Duration {
        real.mul_f64(self.backoff.base().as_secs_f64() / 10.0)
    }

    fn forget(&mut self, uid: &str) {
        self.backoff.forget(uid);
        self.probing.remove(uid);
        self.probe_failures.retain(|(pod, _), _| pod != uid);
        self.unschedulable.remove(uid);
        self.exits.retain(|(pod, _), _| pod != uid);
    }
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
            // Cheap tests first: pod updates are the bulk of all writes (churn).
            let now = event.object.body.contains(DELETION_MARK);
            let before = event
                .prev
                .as_ref()
                .is_some_and(|p| p.body.contains(DELETION_MARK));
            if now && !before {
                let pod = event.object.to_value();
                ctl.enqueue_owner(&namespace, &pod);
                begin_shutdown(ctl, &pod);
                return;
            }
            let marked = event.object.body.contains(SIM_MARK)
                || event
                    .prev
                    .as_ref()
                    .is_some_and(|p| p.body.contains(SIM_MARK));
            if marked {
                let pod = event.object.to_value();
                let prev = event.prev.as_ref().map(|p| p.to_value());
                rehearsal_changed(ctl, &pod, prev.as_ref());
            }
        }
        EventType::Deleted => {
            let pod = event.object.to_value();
            if let Some(uid) = owners::uid_of(&pod) {
                ctl.kubelet.forget(uid);
            }
            ctl.enqueue_owner(&namespace, &pod);
        }
    }
}

/// A user put on (or took off) a rehearsal annotation: the kubelet starts probing, or the
/// running program learns when it will exit, as if it had always been told.
fn rehearsal_changed(ctl: &mut Controller, pod: &Value, prev: Option<&Value>) {
    let annotations = |p: Option<&Value>| {
        p.and_then(|p| p.pointer("/metadata/annotations"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with(SIM_MARK))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    if annotations(Some(pod)) == annotations(prev) || terminating(pod) {
        return;
    }
    probes::ensure(ctl, pod);
    let exit_before = prev.and_then(|p| containers::annotation(p, EXIT_AFTER));
    if containers::annotation(pod, EXIT_AFTER) != exit_before {
        for i in 0..containers::specs(pod).len() {
            crashes::arm(ctl, pod, i, false);
        }
    }
}

fn never_started(pod: &Value) -> bool {
    pod.pointer("/status/containerStatuses").is_none()
        && matches!(str_at(pod, "/status/phase"), "" | "Pending")
}

/// Run `step` for `pod` after `delay`.
pub fn schedule(ctl: &mut Controller, pod: &Value, step: PodStep, delay: std::time::Duration) {
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
    for (container, _) in containers::specs(pod) {
        // Only a container that runs has anything to stop (a pod whose containers were
        // written without statuses is taken to run them).
        if containers::status(pod, &container).is_some_and(|s| !containers::is_running(s)) {
            continue;
        }
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
        PodStep::Schedule => scheduler::bind(ctl, pod),
        PodStep::CreateContainers => create_containers(ctl, pod),
        PodStep::Start => start(ctl, pod),
        PodStep::Pull(i) => pulls::sync(ctl, pod, i),
        PodStep::Exit(i, run) => crashes::exit(ctl, pod, i, run),
        PodStep::Restart(i) => crashes::sync(ctl, pod, i),
        PodStep::Probe => probes::run(ctl, pod),
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

pub fn condition(ty: &str, ok: bool, at: &str) -> Value {
    let mut c = json!({"type": ty, "status": if ok { "True" } else { "False" },
                       "lastProbeTime": null, "lastTransitionTime": at});
    if !ok && matches!(ty, "Ready" | "ContainersReady") {
        c["reason"] = json!("ContainersNotReady");
    }
    c
}

pub fn node_ip(ctl: &Controller, node: &str) -> String {
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
    let list = containers::specs(&pod);
    let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
    let unready = format!("containers with unready status: [{}]", names.join(" "));
    let statuses: Vec<Value> = list
        .iter()
        .map(|(name, image)| containers::waiting(name, image, "ContainerCreating", None))
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

/// The pulls are done: containers whose image the registries have are created and started
/// (Running, Ready unless the readiness probe fails); the others wait in `ErrImagePull`.
fn start(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    let pod_ip = if host_network {
        node_ip(ctl, &node)
    } else {
        allocate_ip(ctl, &node)
    };
    let now = timestamp(chrono::Utc::now());
    let list = containers::specs(&pod);
    let ready = !containers::probe_fails(&pod);
    let mut pulled = Vec::new();
    let mut failed = Vec::new();
    let statuses: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(i, (name, image))| {
            if ctl.images.knows(image) {
                pulled.push(i);
                let id = format!("containerd://{}", ctl.ids.hex(64));
                containers::running(name, image, id, image_id(image), &now, ready)
            } else {
                failed.push(i);
                let error = ctl.images.pull_error(image);
                containers::waiting(name, image, "ErrImagePull", Some(&error))
            }
        })
        .collect();
    set(
        &mut pod,
        &["status", "containerStatuses"],
        Value::Array(statuses),
    );
    set(&mut pod, &["status", "podIP"], json!(pod_ip));
    set(&mut pod, &["status", "podIPs"], json!([{"ip": pod_ip}]));
    containers::set_condition(&mut pod, "PodReadyToStartContainers", true, &now);
    containers::settle(&mut pod, &now);
    let stored = ctl.store.update_stored(pod)?;
    let pod = stored.to_value();
    let kubelet = events::kubelet(&node);
    let pull = ctl.step.as_secs_f64();
    for &i in &pulled {
        let Some((container, image)) = list.get(i) else {
            continue;
        };
        let path = format!("spec.containers{{{container}}}");
        let size = 20_000_000 + fnv1a(image.as_bytes()) % 80_000_000;
        let message = format!(
            "Successfully pulled image \"{image}\" in {pull:.3}s ({pull:.3}s including waiting). Image size: {size} bytes."
        );
        events::record(ctl, &pod, Some(&path), "Pulled", &message, &kubelet);
        started_events(ctl, &pod, container, &kubelet);
        crashes::arm(ctl, &pod, i, true);
    }
    for &i in &failed {
        pulls::failed(ctl, &pod, i);
    }
    probes::ensure(ctl, &pod);
    let namespace = str_at(&pod, "/metadata/namespace").to_string();
    ctl.enqueue_owner(&namespace, &pod);
    Ok(())
}

/// `Created` and `Started`, as the kubelet records a container it has just started.
pub fn started_events(
    ctl: &mut Controller,
    pod: &Value,
    container: &str,
    kubelet: &events::Reporter<'_>,
) {
    let path = format!("spec.containers{{{container}}}");
    let created = format!("Created container: {container}");
    events::record(ctl, pod, Some(&path), "Created", &created, kubelet);
    let started = format!("Started container {container}");
    events::record(ctl, pod, Some(&path), "Started", &started, kubelet);
}

/// The pod's name as the kubelet writes it in messages: `name_namespace(uid)`.
pub fn pod_label(pod: &Value) -> String {
    format!(
        "{}_{}({})",
        str_at(pod, "/metadata/name"),
        str_at(pod, "/metadata/namespace"),
        str_at(pod, "/metadata/uid")
    )
}

/// The key of a container's back-off.
pub fn backoff_key(pod: &Value, container: &str, pulls: bool) -> backoff::Key {
    backoff::Key {
        pod_uid: str_at(pod, "/metadata/uid").to_string(),
        container: container.to_string(),
        pulls,
    }
}

/// Same digest for the same image, like the world's pods.
pub fn image_id(image: &str) -> String {
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

    #[test]
    fn kubelet_durations_scale_with_the_backoff() {
        let k = Kubelet::new(std::time::Duration::from_secs(1));
        assert_eq!(k.sync_delay(), std::time::Duration::from_millis(200));
        assert_eq!(
            k.scaled(std::time::Duration::from_secs(10)),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(
            pod_label(&json!({"metadata": {"name": "p", "namespace": "n", "uid": "u"}})),
            "p_n(u)"
        );
    }
}
