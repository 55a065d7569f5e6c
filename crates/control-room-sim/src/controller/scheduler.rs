//! The scheduler: a new pod goes to a node that fits it, round robin. A node fits unless it
//! is cordoned, has a taint the pod does not tolerate (kind's control plane), or lacks the
//! labels the pod's `nodeSelector` or required node affinity asks for. When none fits, the
//! pod stays `Pending` with `PodScheduled=False` (`Unschedulable`) and a `FailedScheduling`
//! event worded like the real scheduler's, and is tried again when a node changes (and every
//! five minutes, as the scheduler flushes its unschedulable queue).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::events::{self, SCHEDULER};
use super::fields::{set, str_at};
use super::kubelet::{condition, schedule};
use super::{Controller, PodStep};
use crate::store::StoreError;
use crate::store::owners;
use crate::store::timestamp;

const UNSCHEDULABLE: &str = "node(s) were unschedulable";
const NO_MATCH: &str = "node(s) didn't match Pod's node affinity/selector";

/// Bind the pod to the next node that fits, or say why none does.
pub fn bind(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    if !str_at(&pod, "/spec/nodeName").is_empty() {
        return Ok(());
    }
    let (nodes, _) = ctl.store.list("v1", "Node", None);
    let verdicts: Vec<(String, Option<String>)> = nodes
        .iter()
        .map(|n| (str_at(n, "/metadata/name").to_string(), unfit(&pod, n)))
        .collect();
    let feasible: Vec<&String> = verdicts
        .iter()
        .filter(|(_, why)| why.is_none())
        .map(|(name, _)| name)
        .collect();
    let now = timestamp(chrono::Utc::now());
    let uid = owners::uid_of(&pod).unwrap_or("").to_string();
    let Some(node) = feasible
        .get(ctl.kubelet.next_worker % feasible.len().max(1))
        .map(|n| (*n).clone())
    else {
        return unschedulable(ctl, pod, &verdicts, &now);
    };
    ctl.kubelet.next_worker += 1;
    ctl.kubelet.unschedulable.remove(&uid);
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

/// No node fits: the pod says so, and waits for a node to change.
fn unschedulable(
    ctl: &mut Controller,
    mut pod: Value,
    verdicts: &[(String, Option<String>)],
    now: &str,
) -> Result<(), StoreError> {
    let message = fit_error(verdicts);
    let since = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "PodScheduled"))
        .filter(|c| c["status"] == "False")
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let mut scheduled = condition("PodScheduled", false, now);
    scheduled["lastTransitionTime"] = since;
    scheduled["reason"] = json!("Unschedulable");
    scheduled["message"] = json!(message);
    set(&mut pod, &["status", "phase"], json!("Pending"));
    set(&mut pod, &["status", "conditions"], json!([scheduled]));
    let stored = ctl.store.update_stored(pod)?;
    let pod = stored.to_value();
    events::warn(ctl, &pod, None, "FailedScheduling", &message, &SCHEDULER);
    let (namespace, name) = super::ns_name(&pod);
    let uid = owners::uid_of(&pod).unwrap_or("").to_string();
    ctl.kubelet.unschedulable.insert(uid, (namespace, name));
    let flush = ctl.kubelet.scaled(std::time::Duration::from_secs(300));
    schedule(ctl, &pod, PodStep::Schedule, flush);
    Ok(())
}

/// A node was added or changed: every pod waiting for one is tried again.
pub fn node_changed(ctl: &mut Controller) {
    let waiting: Vec<(String, (String, String))> = ctl
        .kubelet
        .unschedulable
        .iter()
        .map(|(uid, at)| (uid.clone(), at.clone()))
        .collect();
    for (uid, (namespace, name)) in waiting {
        ctl.after(
            std::time::Duration::ZERO,
            super::Timer::Pod {
                namespace,
                name,
                uid,
                step: PodStep::Schedule,
            },
        );
    }
}

/// The scheduler's `FitError`: how many nodes failed for which reason, reasons sorted, then
/// what preemption found (nothing helps against these reasons).
pub fn fit_error(verdicts: &[(String, Option<String>)]) -> String {
    let total = verdicts.len();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for why in verdicts.iter().filter_map(|(_, why)| why.as_deref()) {
        *counts.entry(why).or_default() += 1;
    }
    let mut reasons: Vec<String> = counts.iter().map(|(why, n)| format!("{n} {why}")).collect();
    reasons.sort();
    let mut message = format!("0/{total} nodes are available:");
    if !reasons.is_empty() {
        message.push_str(&format!(" {}.", reasons.join(", ")));
    }
    message.push_str(&format!(
        " preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    ));
    message
}

/// Why `node` cannot take `pod`, in the order the scheduler's filters run; None if it can.
fn unfit(pod: &Value, node: &Value) -> Option<String> {
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let unschedulable = node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true);
    let cordon = json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"});
    if unschedulable && !tolerated(tolerations, &cordon) {
        return Some(UNSCHEDULABLE.into());
    }
    let taints = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if let Some(taint) = taints.iter().find(|t| {
        matches!(str_at(t, "/effect"), "NoSchedule" | "NoExecute") && !tolerated(tolerations, t)
    }) {
        return Some(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            str_at(taint, "/key"),
            str_at(taint, "/value")
        ));
    }
    let labels = node.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let selector_ok = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| label(k) == v.as_str()));
    let terms = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array);
    let affinity_ok = terms.is_none_or(|terms| {
        terms.iter().any(|term| {
            let exprs = |k: &str| {
                term.get(k)
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
            };
            let name = str_at(node, "/metadata/name");
            let has_any = !exprs("matchExpressions").is_empty() || !exprs("matchFields").is_empty();
            has_any
                && exprs("matchExpressions")
                    .iter()
                    .all(|e| matches_expr(e, label(str_at(e, "/key"))))
                && exprs("matchFields")
                    .iter()
                    .all(|e| str_at(e, "/key") == "metadata.name" && matches_expr(e, Some(name)))
        })
    });
    (!(selector_ok && affinity_ok)).then(|| NO_MATCH.into())
}

/// A node selector requirement against the node's value for its key.
fn matches_expr(expr: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match str_at(expr, "/operator") {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => value.is_none_or(|v| !values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((value.and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// Whether one of `tolerations` tolerates `taint`.
fn tolerated(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let effect = str_at(t, "/effect");
        if !effect.is_empty() && effect != str_at(taint, "/effect") {
            return false;
        }
        let key = str_at(t, "/key");
        match str_at(t, "/operator") {
            "Exists" => key.is_empty() || key == str_at(taint, "/key"),
            "" | "Equal" => {
                key == str_at(taint, "/key") && str_at(t, "/value") == str_at(taint, "/value")
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, labels: Value, taints: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}})
    }

    fn cluster() -> Vec<Value> {
        vec![
            node(
                "cp",
                json!({"kubernetes.io/hostname": "cp"}),
                json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
            ),
            node(
                "w1",
                json!({"kubernetes.io/hostname": "w1", "disk": "ssd"}),
                json!([]),
            ),
            node("w2", json!({"kubernetes.io/hostname": "w2"}), json!([])),
        ]
    }

    fn verdicts(pod: &Value) -> Vec<(String, Option<String>)> {
        cluster()
            .iter()
            .map(|n| (str_at(n, "/metadata/name").to_string(), unfit(pod, n)))
            .collect()
    }

    #[test]
    fn nodes_fit_by_taints_selectors_and_affinity() {
        let plain = json!({"spec": {}});
        let fits: Vec<bool> = verdicts(&plain).iter().map(|(_, w)| w.is_none()).collect();
        assert_eq!(fits, [false, true, true]);
        let everywhere = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        assert!(verdicts(&everywhere).iter().all(|(_, w)| w.is_none()));
        let ssd = json!({"spec": {"nodeSelector": {"disk": "ssd"}}});
        let fits: Vec<bool> = verdicts(&ssd).iter().map(|(_, w)| w.is_none()).collect();
        assert_eq!(fits, [false, true, false]);
        let affinity = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["w2"]}]}]}}}}});
        let fits: Vec<bool> = verdicts(&affinity)
            .iter()
            .map(|(_, w)| w.is_none())
            .collect();
        assert_eq!(fits, [false, false, true]);
    }

    #[test]
    fn the_fit_error_reads_like_the_scheduler() {
        let gpu = json!({"spec": {"nodeSelector": {"gpu": "true"}}});
        assert_eq!(
            fit_error(&verdicts(&gpu)),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        let tolerant = json!({"spec": {"nodeSelector": {"gpu": "true"}, "tolerations": [{"operator": "Exists"}]}});
        assert_eq!(
            fit_error(&verdicts(&tolerant)),
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        assert_eq!(
            fit_error(&[]),
            "0/0 nodes are available: preemption: 0/0 nodes are available: 0 Preemption is not helpful for scheduling."
        );
    }
}
