//! Images the registries do not have. The container waits in `ErrImagePull`, then in
//! `ImagePullBackOff` while the kubelet backs off (10 s, 20 s, 40 s … up to 300 s), pulls
//! again when the wait is over, and fails again; every step leaves the kubelet's events
//! (`Pulling`, `Failed` with the runtime's error, `Failed: Error: ErrImagePull`, `BackOff`,
//! `Failed: Error: ImagePullBackOff`), counted up as they repeat. The pod is never Ready,
//! so the rollout that made it is stuck until someone changes the image back.
//!
//! Each pull is for the image the pod's spec names *now*: a bare pod mended with
//! `kubectl set image pod/…` starts once its next pull finds the image.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use super::containers;
use super::events;
use super::fields::{set, str_at};
use super::kubelet::{backoff_key, image_id, schedule, started_events};
use super::{Controller, PodStep, crashes, probes};
use crate::store::{StoreError, timestamp};

/// A pull of container `i` failed (its status already says `ErrImagePull`): the events, and
/// the kubelet's next look once the back-off is set.
pub fn failed(ctl: &mut Controller, pod: &Value, i: usize) {
    let Some((name, image)) = containers::specs(pod).into_iter().nth(i) else {
        return;
    };
    let node = str_at(pod, "/spec/nodeName").to_string();
    let by = events::kubelet(&node);
    let path = format!("spec.containers{{{name}}}");
    let error = ctl.images.pull_error(&image);
    let message = format!("Failed to pull image \"{image}\": {error}");
    events::warn(ctl, pod, Some(&path), "Failed", &message, &by);
    events::warn(ctl, pod, Some(&path), "Failed", "Error: ErrImagePull", &by);
    let key = backoff_key(pod, &name, true);
    ctl.kubelet.backoff.next(&key, Utc::now());
    let delay = ctl.kubelet.sync_delay();
    schedule(ctl, pod, PodStep::Pull(i), delay);
}

/// The kubelet syncs container `i`, which waits on its image: still backing off (say so
/// again), or time to pull.
pub fn sync(ctl: &mut Controller, mut pod: Value, i: usize) -> Result<(), StoreError> {
    let Some((name, image)) = containers::specs(&pod).into_iter().nth(i) else {
        return Ok(());
    };
    let reason = containers::status(&pod, &name)
        .map(|s| str_at(s, "/state/waiting/reason").to_string())
        .unwrap_or_default();
    if !matches!(reason.as_str(), "ErrImagePull" | "ImagePullBackOff") {
        return Ok(());
    }
    let key = backoff_key(&pod, &name, true);
    let now = Utc::now();
    let stamp = timestamp(now);
    let node = str_at(&pod, "/spec/nodeName").to_string();
    let path = format!("spec.containers{{{name}}}");
    if let Some(left) = ctl.kubelet.backoff.remaining(&key, now) {
        let message = format!("Back-off pulling image \"{image}\"");
        if reason != "ImagePullBackOff" {
            if let Some(status) = containers::status_mut(&mut pod, &name) {
                let waiting =
                    containers::waiting(&name, &image, "ImagePullBackOff", Some(&message));
                set(status, &["state"], waiting["state"].clone());
            }
            containers::settle(&mut pod, &stamp);
            pod = ctl.store.update_stored(pod)?.to_value();
        }
        let by = events::kubelet(&node);
        events::record(ctl, &pod, Some(&path), "BackOff", &message, &by);
        events::warn(
            ctl,
            &pod,
            Some(&path),
            "Failed",
            "Error: ImagePullBackOff",
            &by,
        );
        // Looked at again on the kubelet's resync, or when the wait is over.
        let resync = ctl.kubelet.scaled(Duration::from_secs(10));
        schedule(ctl, &pod, PodStep::Pull(i), left.min(resync));
        return Ok(());
    }
    let by = events::kubelet(&node);
    let pulling = format!("Pulling image \"{image}\"");
    events::record(ctl, &pod, Some(&path), "Pulling", &pulling, &by);
    if !ctl.images.knows(&image) {
        let error = ctl.images.pull_error(&image);
        if let Some(status) = containers::status_mut(&mut pod, &name) {
            let waiting = containers::waiting(&name, &image, "ErrImagePull", Some(&error));
            set(status, &["state"], waiting["state"].clone());
        }
        containers::settle(&mut pod, &stamp);
        let pod = ctl.store.update_stored(pod)?.to_value();
        failed(ctl, &pod, i);
        return Ok(());
    }
    // The image is there now: the container is created and started.
    let ready = !containers::probe_fails(&pod);
    let id = format!("containerd://{}", ctl.ids.hex(64));
    if let Some(status) = containers::status_mut(&mut pod, &name) {
        *status = containers::running(&name, &image, id, image_id(&image), &stamp, ready);
    }
    containers::settle(&mut pod, &stamp);
    let pod = ctl.store.update_stored(pod)?.to_value();
    let pull = ctl.step.as_secs_f64();
    let pulled = format!(
        "Successfully pulled image \"{image}\" in {pull:.3}s ({pull:.3}s including waiting). Image size: {} bytes.",
        20_000_000 + crate::store::ids::fnv1a(image.as_bytes()) % 80_000_000
    );
    events::record(ctl, &pod, Some(&path), "Pulled", &pulled, &by);
    started_events(ctl, &pod, &name, &by);
    crashes::arm(ctl, &pod, i, true);
    probes::ensure(ctl, &pod);
    let namespace = str_at(&pod, "/metadata/namespace").to_string();
    ctl.enqueue_owner(&namespace, &pod);
    Ok(())
}
