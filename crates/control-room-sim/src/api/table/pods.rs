//! The pod row of `kubectl get pods`: READY, STATUS and RESTARTS computed the way the API
//! server's printer (`printPod`, 1.33) computes them from the pod's status, so a crash loop
//! reads `CrashLoopBackOff` and `3 (42s ago)`, a pull failure `ImagePullBackOff`, a pod
//! being deleted `Terminating`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{since, text, time_at};
use super::{Column, Row};

pub const COLUMNS: &[Column] = &[
    Column::name(),
    Column::new(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column::new(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
    ),
    Column::new(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    Column::age(),
    Column::wide(
        "IP",
        "string",
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    ),
    Column::wide(
        "Node",
        "string",
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    ),
    Column::wide(
        "Nominated Node",
        "string",
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    ),
    Column::wide(
        "Readiness Gates",
        "string",
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
    ),
];

fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn restart_count(status: &Value) -> i64 {
    status
        .get("restartCount")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn last_finished(status: &Value) -> Option<DateTime<Utc>> {
    time_at(status, "/lastState/terminated/finishedAt")
}

fn condition_true(pod: &Value, ty: &str) -> bool {
    list(pod, "/status/conditions")
        .iter()
        .any(|c| c["type"] == ty && c["status"] == "True")
}

/// A sidecar: an init container that keeps running (`restartPolicy: Always`).
fn restartable_init(pod: &Value, name: &str) -> bool {
    list(pod, "/spec/initContainers")
        .iter()
        .any(|c| c["name"] == name && c["restartPolicy"] == "Always")
}

fn terminated_reason(state: &Value, prefix: &str) -> String {
    let reason = text(state, "/reason");
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = state.get("signal").and_then(Value::as_i64).unwrap_or(0);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        let code = state.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        format!("{prefix}ExitCode:{code}")
    }
}

pub fn row(pod: &Value, now: DateTime<Utc>) -> Row {
    let phase = text(pod, "/status/phase");
    let mut reason = phase.to_string();
    let status_reason = text(pod, "/status/reason");
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    if list(pod, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = list(pod, "/spec/initContainers");
    let total = list(pod, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| c["restartPolicy"] == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_sidecar_restart: Option<DateTime<Utc>> = None;

    let mut initializing = false;
    let init_statuses = list(pod, "/status/initContainerStatuses");
    for (i, c) in init_statuses.iter().enumerate() {
        let name = text(c, "/name");
        let sidecar = restartable_init(pod, name);
        restarts += restart_count(c);
        last_restart = last_restart.max(last_finished(c));
        if sidecar {
            sidecar_restarts += restart_count(c);
            last_sidecar_restart = last_sidecar_restart.max(last_finished(c));
        }
        let terminated = c.pointer("/state/terminated");
        let waiting = c.pointer("/state/waiting");
        let started = c.get("started").and_then(Value::as_bool) == Some(true);
        if terminated.is_some_and(|t| t.get("exitCode").and_then(Value::as_i64) == Some(0)) {
            continue;
        }
        if sidecar && started {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = terminated_reason(t, "Init:");
        } else if let Some(w) = waiting
            .map(|w| text(w, "/reason"))
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{w}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // Last to first: the first container's state is the one that shows.
        for c in list(pod, "/status/containerStatuses").iter().rev() {
            restarts += restart_count(c);
            last_restart = last_restart.max(last_finished(c));
            let waiting = text(c, "/state/waiting/reason");
            let terminated = c.pointer("/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".into();
    }

    let restarts_cell = match last_restart {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(at), now)),
        _ => restarts.to_string(),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let ip = text(pod, "/status/podIPs/0/ip");
    let gates = list(pod, "/spec/readinessGates");
    let gates_cell = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let met = gates
            .iter()
            .filter(|g| {
                list(pod, "/status/conditions")
                    .iter()
                    .find(|c| c["type"] == g["conditionType"])
                    .is_some_and(|c| c["status"] == "True")
            })
            .count();
        format!("{met}/{}", gates.len())
    };
    let conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
                                    "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed",
                                 "message": "The pod failed."}]),
        ),
        _ => None,
    };
    Row {
        cells: vec![
            json!(text(pod, "/metadata/name")),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_cell),
            json!(since(time_at(pod, "/metadata/creationTimestamp"), now)),
            json!(or_none(ip)),
            json!(or_none(text(pod, "/spec/nodeName"))),
            json!(or_none(text(pod, "/status/nominatedNodeName"))),
            json!(gates_cell),
        ],
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-11T17:00:00Z".parse().unwrap()
    }

    fn cells(pod: Value) -> Vec<String> {
        row(&pod, now())
            .cells
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn running_pending_and_failing_pods() {
        let running = json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-05-11T16:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}],
                       "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0,
                                              "state": {"running": {}}}]}});
        assert_eq!(
            cells(running),
            [
                "p", "1/1", "Running", "0", "60m", "10.0.0.5", "n1", "<none>", "<none>"
            ]
        );
        let pending = json!({"metadata": {"name": "q"}, "spec": {"containers": [{"name": "c"}]},
                             "status": {"phase": "Pending"}});
        assert_eq!(
            cells(pending),
            [
                "q",
                "0/1",
                "Pending",
                "0",
                "<unknown>",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]
        );
        let crash = json!({
            "metadata": {"name": "r", "creationTimestamp": "2026-05-11T16:58:00Z"},
            "spec": {"containers": [{"name": "c"}, {"name": "d"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 3,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                              "finishedAt": "2026-05-11T16:59:18Z"}}},
                {"name": "d", "ready": true, "restartCount": 1, "state": {"running": {}},
                 "lastState": {"terminated": {"finishedAt": "2026-05-11T16:58:30Z"}}}]}});
        let c = cells(crash);
        assert_eq!(c[1..4], ["1/2", "CrashLoopBackOff", "4 (42s ago)"]);
        let pull = json!({"metadata": {"name": "s"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(cells(pull)[2], "ImagePullBackOff");
        let exited = json!({"metadata": {"name": "t"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "c", "state": {"terminated": {"exitCode": 2}}}]}});
        assert_eq!(cells(exited)[2], "ExitCode:2");
        let going = json!({"metadata": {"name": "u", "deletionTimestamp": "2026-05-11T17:00:30Z"},
            "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        assert_eq!(cells(going)[2], "Terminating");
    }

    #[test]
    fn init_containers_and_completion() {
        let init = json!({"metadata": {"name": "i"},
            "spec": {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0}}},
                {"name": "b", "state": {"running": {}}}]}});
        assert_eq!(cells(init)[2], "Init:1/2");
        let done = json!({"metadata": {"name": "j"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        let r = row(&done, now());
        assert_eq!(r.cells[2], "Completed");
        assert_eq!(r.conditions.unwrap()[0]["reason"], "Succeeded");
        // Junk never panics.
        row(&json!("not a pod"), now());
        row(
            &json!({"status": {"containerStatuses": [1, "x", null]}}),
            now(),
        );
    }
}
