//! Programs that exit. A pod annotated `sim.control-room.dev/exit-after-seconds: "N"` runs
//! containers that exit N seconds after each start, with `sim.control-room.dev/exit-code`
//! (default 1). The kubelet restarts an exited container at once the first time, then backs
//! off (10 s, 20 s, 40 s … 300 s) with the container waiting in `CrashLoopBackOff`, its last
//! run in `lastState.terminated` — which is what `kubectl logs --previous` serves — and a
//! `BackOff` warning that counts up. `restartPolicy: Never` (or `OnFailure` after a clean
//! exit) leaves the pod `Failed` (or `Succeeded`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::backoff::go_duration;
use super::containers::{self, exit_after, exit_code};
use super::events;
use super::fields::{set, str_at};
use super::kubelet::{backoff_key, pod_label, schedule, started_events};
use super::{Controller, PodStep, probes};
use crate::store::ids::fnv1a;
use crate::store::{StoreError, timestamp};

fn run_of(status: &Value) -> u64 {
    fnv1a(str_at(status, "/containerID").as_bytes())
}

/// When container `i` of `pod` runs and the pod says its program exits, set the exit for
/// this run: N seconds after it started, or at once when that is past.
pub fn arm(ctl: &mut Controller, pod: &Value, i: usize, just_started: bool) {
    let Some(after) = exit_after(pod) else {
        return;
    };
    let Some((name, _)) = containers::specs(pod).into_iter().nth(i) else {
        return;
    };
    let Some(status) = containers::status(pod, &name).filter(|s| containers::is_running(s)) else {
        return;
    };
    let delay = if just_started {
        after
    } else {
        let started =
            super::fields::time_at(status, "/state/running/startedAt").unwrap_or_else(Utc::now);
        let due = started + chrono::TimeDelta::from_std(after).unwrap_or_default();
        (due - Utc::now()).to_std().unwrap_or_default()
    };
    schedule(ctl, pod, PodStep::Exit(i, run_of(status)), delay);
}

/// The program in container `i` exits, if that container still runs the same run and the
/// pod still says it should.
pub fn exit(ctl: &mut Controller, mut pod: Value, i: usize, run: u64) -> Result<(), StoreError> {
    if exit_after(&pod).is_none() {
        return Ok(());
    }
    let code = exit_code(&pod);
    let Some((name, _)) = containers::specs(&pod).into_iter().nth(i) else {
        return Ok(());
    };
    let now = Utc::now();
    let stamp = timestamp(now);
    let Some(status) = containers::status_mut(&mut pod, &name) else {
        return Ok(());
    };
    if !containers::is_running(status) || run_of(status) != run {
        return Ok(());
    }
    let started = str_at(status, "/state/running/startedAt").to_string();
    containers::exit(status, code, &started, &stamp);
    containers::settle(&mut pod, &stamp);
    let pod = ctl.store.update_stored(pod)?.to_value();
    let uid = str_at(&pod, "/metadata/uid").to_string();
    ctl.kubelet.exits.insert((uid, name), now);
    let delay = ctl.kubelet.sync_delay();
    schedule(ctl, &pod, PodStep::Restart(i), delay);
    let namespace = str_at(&pod, "/metadata/namespace").to_string();
    ctl.enqueue_owner(&namespace, &pod);
    Ok(())
}

/// When container `i` finished: the kubelet's own record (exact), else its status (whole
/// seconds).
fn finished_at(ctl: &Controller, pod: &Value, name: &str, status: &Value) -> Option<DateTime<Utc>> {
    let uid = str_at(pod, "/metadata/uid").to_string();
    ctl.kubelet
        .exits
        .get(&(uid, name.to_string()))
        .copied()
        .or_else(|| super::fields::time_at(status, "/state/terminated/finishedAt"))
        .or_else(|| super::fields::time_at(status, "/lastState/terminated/finishedAt"))
}

/// The kubelet syncs exited container `i`: restart it, keep backing off, or (by the pod's
/// restart policy) leave it down.
pub fn sync(ctl: &mut Controller, mut pod: Value, i: usize) -> Result<(), StoreError> {
    let Some((name, image)) = containers::specs(&pod).into_iter().nth(i) else {
        return Ok(());
    };
    let Some(status) = containers::status(&pod, &name) else {
        return Ok(());
    };
    let exited = status.pointer("/state/terminated").is_some();
    let backing_off = str_at(status, "/state/waiting/reason") == "CrashLoopBackOff";
    if !exited && !backing_off {
        return Ok(());
    }
    let code = status
        .pointer("/state/terminated/exitCode")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let now = Utc::now();
    let stamp = timestamp(now);
    let policy = str_at(&pod, "/spec/restartPolicy").to_string();
    if exited && (policy == "Never" || (policy == "OnFailure" && code == 0)) {
        containers::settle(&mut pod, &stamp);
        let all_done = containers::specs(&pod).iter().all(|(n, _)| {
            containers::status(&pod, n).is_some_and(|s| s.pointer("/state/terminated").is_some())
        });
        if all_done {
            let phase = if code == 0 { "Succeeded" } else { "Failed" };
            set(&mut pod, &["status", "phase"], json!(phase));
        }
        ctl.store.update_stored(pod)?;
        return Ok(());
    }
    let key = backoff_key(&pod, &name, false);
    let finished = finished_at(ctl, &pod, &name, status).unwrap_or(now);
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let by = events::kubelet(&node);
    let path = format!("spec.containers{{{name}}}");
    if ctl.kubelet.backoff.in_backoff_since(&key, finished, now) {
        let wait = ctl.kubelet.backoff.current(&key).unwrap_or_default();
        let label = pod_label(&pod);
        if exited {
            let message = format!(
                "back-off {} restarting failed container={name} pod={label}",
                go_duration(wait)
            );
            if let Some(status) = containers::status_mut(&mut pod, &name) {
                containers::back_off(status, &message);
            }
            containers::settle(&mut pod, &stamp);
            pod = ctl.store.update_stored(pod)?.to_value();
        }
        let message = format!("Back-off restarting failed container {name} in pod {label}");
        events::warn(ctl, &pod, Some(&path), "BackOff", &message, &by);
        let due = finished + chrono::TimeDelta::from_std(wait).unwrap_or_default();
        let left = (due - now).to_std().unwrap_or_default();
        let resync = ctl.kubelet.scaled(Duration::from_secs(10));
        schedule(ctl, &pod, PodStep::Restart(i), left.min(resync));
        return Ok(());
    }
    ctl.kubelet.backoff.next(&key, finished);
    let ready = !containers::probe_fails(&pod);
    if let Some(status) = containers::status_mut(&mut pod, &name) {
        containers::start_again(status, &stamp);
        set(status, &["ready"], json!(ready));
    }
    containers::settle(&mut pod, &stamp);
    let pod = ctl.store.update_stored(pod)?.to_value();
    let present = format!("Container image \"{image}\" already present on machine");
    events::record(ctl, &pod, Some(&path), "Pulled", &present, &by);
    started_events(ctl, &pod, &name, &by);
    arm(ctl, &pod, i, true);
    probes::ensure(ctl, &pod);
    let namespace = str_at(&pod, "/metadata/namespace").to_string();
    ctl.enqueue_owner(&namespace, &pod);
    Ok(())
}
