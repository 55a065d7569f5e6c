//! Container states as the kubelet writes them, and the pod status they add up to.
//!
//! A container is running, has exited (`state.terminated`), or waits (to be pulled, or in a
//! crash back-off with its last run kept in `lastState.terminated`). [`settle`] derives the
//! pod's phase and its `ContainersReady`/`Ready` conditions from them, the way the kubelet's
//! status manager does, so every behaviour only has to change the containers.
//!
//! The annotations a user sets on a pod template to rehearse failures are named here.

use serde_json::{Value, json};

use super::fields::{set, str_at};
use crate::store::ids::{IdGen, fnv1a};
use crate::store::timestamp;

/// The pod's containers exit this many seconds (a decimal) after each start.
pub const EXIT_AFTER: &str = "sim.control-room.dev/exit-after-seconds";
/// …with this exit code (default 1; 0 reads `Completed`, anything else `Error`).
pub const EXIT_CODE: &str = "sim.control-room.dev/exit-code";
/// `"false"`: the containers run but their readiness probe fails (HTTP 503).
pub const READY: &str = "sim.control-room.dev/ready";

/// A pod annotation's value.
pub fn annotation<'a>(pod: &'a Value, key: &str) -> Option<&'a str> {
    pod.pointer("/metadata/annotations")?
        .get(key)?
        .as_str()
        .map(str::trim)
}

/// How long the containers run before they exit, from [`EXIT_AFTER`].
pub fn exit_after(pod: &Value) -> Option<std::time::Duration> {
    let secs: f64 = annotation(pod, EXIT_AFTER)?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs.min(1e9)))
}

pub fn exit_code(pod: &Value) -> i64 {
    annotation(pod, EXIT_CODE)
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// Whether [`READY`] says the readiness probe fails.
pub fn probe_fails(pod: &Value) -> bool {
    annotation(pod, READY).is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// (name, image) of each container.
pub fn specs(pod: &Value) -> Vec<(String, String)> {
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

pub fn status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    pod.pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|s| s["name"] == container)
}

pub fn status_mut<'a>(pod: &'a mut Value, container: &str) -> Option<&'a mut Value> {
    pod.pointer_mut("/status/containerStatuses")?
        .as_array_mut()?
        .iter_mut()
        .find(|s| s["name"] == container)
}

pub fn is_running(status: &Value) -> bool {
    status.pointer("/state/running").is_some()
}

/// A container that has just started.
pub fn running(
    name: &str,
    image: &str,
    id: String,
    image_id: String,
    at: &str,
    ready: bool,
) -> Value {
    json!({"containerID": id, "image": image, "imageID": image_id, "name": name, "ready": ready,
           "restartCount": 0, "started": true, "state": {"running": {"startedAt": at}}})
}

/// A container that has not started yet (`ContainerCreating`, `ErrImagePull` …).
pub fn waiting(name: &str, image: &str, reason: &str, message: Option<&str>) -> Value {
    let mut state = json!({"reason": reason});
    if let Some(message) = message {
        state["message"] = json!(message);
    }
    json!({"image": image, "imageID": "", "name": name, "ready": false, "restartCount": 0,
           "started": false, "state": {"waiting": state}})
}

/// The program exited: its run moves to `state.terminated`.
pub fn exit(status: &mut Value, exit_code: i64, started_at: &str, finished_at: &str) {
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    let id = status.get("containerID").cloned().unwrap_or(Value::Null);
    set(
        status,
        &["state"],
        json!({"terminated": {"containerID": id, "exitCode": exit_code, "reason": reason,
                              "startedAt": started_at, "finishedAt": finished_at}}),
    );
    set(status, &["ready"], json!(false));
    set(status, &["started"], json!(false));
}

/// An exited container the kubelet will not restart yet: waiting in `CrashLoopBackOff`,
/// its last run kept as `lastState`.
pub fn back_off(status: &mut Value, message: &str) {
    if let Some(terminated) = status.pointer("/state/terminated").cloned() {
        set(status, &["lastState"], json!({"terminated": terminated}));
    }
    set(
        status,
        &["state"],
        json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}}),
    );
}

/// Started again at `at`: a new container ID, the restart counted, the run that ended kept
/// as `lastState` (when it is still in `state`).
pub fn start_again(status: &mut Value, at: &str) {
    if let Some(terminated) = status.pointer("/state/terminated").cloned() {
        set(status, &["lastState"], json!({"terminated": terminated}));
    }
    let restarts = status["restartCount"].as_u64().unwrap_or(0);
    let old_id = status.get("containerID").cloned().unwrap_or(Value::Null);
    let new_id = format!(
        "containerd://{}",
        IdGen::new(fnv1a(format!("{old_id}/{restarts}").as_bytes())).hex(64)
    );
    set(status, &["state"], json!({"running": {"startedAt": at}}));
    set(status, &["restartCount"], json!(restarts + 1));
    set(status, &["containerID"], json!(new_id));
    set(status, &["started"], json!(true));
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
    let Some(status) = status_mut(pod, container) else {
        return false;
    };
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
    // A restart is an exit and a start in the same breath; readiness is left as it was.
    let (ready, was_started) = (status["ready"].clone(), status["started"].clone());
    exit(status, 1, &timestamp(started), &restart);
    start_again(status, &restart);
    set(status, &["ready"], ready);
    set(status, &["started"], was_started);
    true
}

/// The pod's phase and its `ContainersReady`/`Ready` conditions, from its containers: a pod
/// with a container that never started is `Pending`, one whose containers have all started
/// `Running`; it is ready when every container is. A condition's transition time moves only
/// when its status does.
pub fn settle(pod: &mut Value, now: &str) {
    let names: Vec<String> = specs(pod).into_iter().map(|(n, _)| n).collect();
    let mut unready = Vec::new();
    let (mut waiting, mut running, mut unknown) = (0, 0, 0);
    for name in &names {
        let Some(s) = status(pod, name) else {
            unknown += 1;
            unready.push(name.as_str());
            continue;
        };
        if s["ready"] != true {
            unready.push(name.as_str());
        }
        if is_running(s) {
            running += 1;
        } else if s.pointer("/state/waiting").is_some()
            && s.pointer("/lastState/terminated").is_none()
        {
            waiting += 1;
        }
    }
    let phase = if waiting > 0 {
        Some("Pending")
    } else if unknown == 0 && (running > 0 || !names.is_empty()) {
        // Running, or every container between restarts (restartPolicy Always).
        Some("Running")
    } else {
        None
    };
    if let Some(phase) = phase {
        set(pod, &["status", "phase"], json!(phase));
    }
    let message = format!("containers with unready status: [{}]", unready.join(" "));
    let ready = unready.is_empty();
    let Some(conditions) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in conditions.iter_mut() {
        if !matches!(c["type"].as_str(), Some("Ready" | "ContainersReady")) {
            continue;
        }
        let status = if ready { "True" } else { "False" };
        if c["status"] != status {
            set(c, &["lastTransitionTime"], json!(now));
        }
        set(c, &["status"], json!(status));
        if let Some(map) = c.as_object_mut() {
            if ready {
                map.remove("reason");
                map.remove("message");
            } else {
                map.insert("reason".into(), json!("ContainersNotReady"));
                map.insert("message".into(), json!(message));
            }
        }
    }
}

/// Set a pod condition's status (`PodReadyToStartContainers` …), its time moving with it.
pub fn set_condition(pod: &mut Value, ty: &str, ok: bool, now: &str) {
    let status = if ok { "True" } else { "False" };
    if let Some(c) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
        .and_then(|list| list.iter_mut().find(|c| c["type"] == ty))
    {
        if c["status"] != status {
            set(c, &["lastTransitionTime"], json!(now));
        }
        set(c, &["status"], json!(status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-05-11T16:00:00Z",
                         "annotations": {EXIT_AFTER: "2.5", READY: "False"}},
            "spec": {"containers": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "j:1"}]},
            "status": {"phase": "Pending", "conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": "t0"},
                {"type": "ContainersReady", "status": "False", "lastTransitionTime": "t0"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "t0"}],
                "containerStatuses": [
                    running("a", "i:1", "containerd://1".into(), String::new(), "2026-05-11T16:00:05Z", true),
                    waiting("b", "j:1", "ErrImagePull", Some("nope"))]}})
    }

    #[test]
    fn annotations_read() {
        let p = pod();
        assert_eq!(exit_after(&p), Some(std::time::Duration::from_millis(2500)));
        assert_eq!(exit_code(&p), 1);
        assert!(probe_fails(&p));
        assert_eq!(
            exit_after(&json!({"metadata": {"annotations": {EXIT_AFTER: "-1"}}})),
            None
        );
        assert_eq!(
            exit_after(&json!({"metadata": {"annotations": {EXIT_AFTER: "NaN"}}})),
            None
        );
    }

    #[test]
    fn phase_and_readiness_follow_the_containers() {
        let mut p = pod();
        settle(&mut p, "t1");
        assert_eq!(p["status"]["phase"], "Pending");
        assert_eq!(
            p["status"]["conditions"][0]["message"],
            "containers with unready status: [b]"
        );
        assert_eq!(p["status"]["conditions"][0]["lastTransitionTime"], "t0");
        *status_mut(&mut p, "b").unwrap() = running(
            "b",
            "j:1",
            "containerd://2".into(),
            String::new(),
            "x",
            true,
        );
        settle(&mut p, "t2");
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["conditions"][1]["status"], "True");
        assert_eq!(p["status"]["conditions"][1]["lastTransitionTime"], "t2");
        assert!(p["status"]["conditions"][1].get("reason").is_none());

        // A crash: exited, then backing off with the run kept; the pod stays Running.
        let a = status_mut(&mut p, "a").unwrap();
        exit(a, 3, "2026-05-11T16:00:05Z", "2026-05-11T16:00:07Z");
        assert_eq!(a["state"]["terminated"]["reason"], "Error");
        back_off(a, "back-off 10s restarting failed container=a pod=p_ns(u)");
        assert_eq!(a["lastState"]["terminated"]["exitCode"], 3);
        settle(&mut p, "t3");
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["conditions"][0]["status"], "False");
        let a = status_mut(&mut p, "a").unwrap();
        start_again(a, "2026-05-11T16:00:17Z");
        assert_eq!(a["restartCount"], 1);
        assert_eq!(a["state"]["running"]["startedAt"], "2026-05-11T16:00:17Z");
        assert_ne!(a["containerID"], "containerd://1");
        assert_eq!(
            a["lastState"]["terminated"]["finishedAt"],
            "2026-05-11T16:00:07Z"
        );
        // Junk never panics.
        settle(&mut json!("x"), "t");
        settle(
            &mut json!({"spec": {"containers": [1]}, "status": {"conditions": [2]}}),
            "t",
        );
    }
}
