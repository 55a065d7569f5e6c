//! Readiness probes that fail. A pod annotated `sim.control-room.dev/ready: "false"` runs,
//! but its containers answer their readiness probe with HTTP 503: each probe period (the
//! container's `readinessProbe.periodSeconds`, 10 s by default) the kubelet records an
//! `Unhealthy` warning, counted up, and after `failureThreshold` failures in a row (3) a
//! ready container turns unready. A container starting under the annotation is never ready.
//! Taking the annotation off lets the next probe pass, and the containers turn Ready.

use std::time::Duration;

use serde_json::{Value, json};

use super::containers;
use super::events;
use super::fields::{set, str_at};
use super::kubelet::schedule;
use super::{Controller, PodStep};
use crate::store::{StoreError, timestamp};

const FAILED: &str = "Readiness probe failed: HTTP probe failed with statuscode: 503";

/// A field of the first container's readiness probe.
fn probe_field(pod: &Value, field: &str, default: u64) -> u64 {
    pod.pointer(&format!("/spec/containers/0/readinessProbe/{field}"))
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn period(ctl: &Controller, pod: &Value) -> Duration {
    let seconds = probe_field(pod, "periodSeconds", 10).min(3600);
    ctl.kubelet.scaled(Duration::from_secs(seconds))
}

/// Start probing `pod` when the annotation says its probe fails and nobody probes it yet.
pub fn ensure(ctl: &mut Controller, pod: &Value) {
    let uid = str_at(pod, "/metadata/uid").to_string();
    if !containers::probe_fails(pod) || ctl.kubelet.probing.contains(&uid) {
        return;
    }
    ctl.kubelet.probing.insert(uid);
    let delay = period(ctl, pod);
    schedule(ctl, pod, PodStep::Probe, delay);
}

/// One probe of every running container of the pod.
pub fn run(ctl: &mut Controller, mut pod: Value) -> Result<(), StoreError> {
    let uid = str_at(&pod, "/metadata/uid").to_string();
    let fails = containers::probe_fails(&pod);
    let threshold = u32::try_from(probe_field(&pod, "failureThreshold", 3)).unwrap_or(3);
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let mut changed = false;
    let mut failed = Vec::new();
    for (name, _) in containers::specs(&pod) {
        let Some(status) = containers::status_mut(&mut pod, &name) else {
            continue;
        };
        if !containers::is_running(status) {
            continue;
        }
        let ready = status["ready"] == true;
        let failures = ctl
            .kubelet
            .probe_failures
            .entry((uid.clone(), name.clone()))
            .or_default();
        if fails {
            *failures = failures.saturating_add(1);
            failed.push(name.clone());
            if ready && *failures >= threshold {
                set(status, &["ready"], json!(false));
                changed = true;
            }
        } else {
            *failures = 0;
            if !ready {
                set(status, &["ready"], json!(true));
                changed = true;
            }
        }
    }
    let pod = if changed {
        containers::settle(&mut pod, &timestamp(chrono::Utc::now()));
        let stored = ctl.store.update_stored(pod)?.to_value();
        let namespace = str_at(&stored, "/metadata/namespace").to_string();
        ctl.enqueue_owner(&namespace, &stored);
        stored
    } else {
        pod
    };
    let by = events::kubelet(&node);
    for name in failed {
        let path = format!("spec.containers{{{name}}}");
        events::warn(ctl, &pod, Some(&path), "Unhealthy", FAILED, &by);
    }
    if fails {
        let delay = period(ctl, &pod);
        schedule(ctl, &pod, PodStep::Probe, delay);
    } else {
        ctl.kubelet.probing.remove(&uid);
    }
    Ok(())
}
