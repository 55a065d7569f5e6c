//! The same failures as `triage`, as a program sees them through kube-rs: container states,
//! conditions and restart counts in the typed objects, the kubelet's events found with the
//! field selectors a real server supports, and the log endpoint's refusals and `previous`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};
use serde_json::json;

use control_room_sim::{EXIT_AFTER, READY, SimHandle, SimOptions, SimTuning};

use crate::support::{client, fast_tuning};

const NS: &str = "external-attacker";

async fn start() -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        kubelet_backoff: Duration::from_millis(200),
        ..fast_tuning()
    };
    let sim = control_room_sim::start_with(opts, tuning)
        .await
        .expect("sim starts");
    (dir, sim)
}

/// Poll `pod` until `check` holds (30 s at most).
async fn until_pod(pods: &Api<Pod>, name: &str, what: &str, check: impl Fn(&Pod) -> bool) -> Pod {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(pod) = pods.get(name).await
            && check(&pod)
        {
            return pod;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn waiting_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

fn condition(pod: &Pod, ty: &str) -> Option<(String, Option<String>, Option<String>)> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ty)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// The pod's events, found the way `kubectl describe` finds them.
async fn events(events: &Api<Event>, pod: &Pod) -> Vec<Event> {
    let selector = format!(
        "involvedObject.name={},involvedObject.namespace={NS},involvedObject.uid={}",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or("")
    );
    events
        .list(&ListParams::default().fields(&selector))
        .await
        .expect("events by field selector")
        .items
}

fn count(events: &[Event], reason: &str) -> i32 {
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.count.unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn an_unknown_image_in_a_bare_pod_backs_off_until_the_image_is_fixed() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), NS);
    let event_api: Api<Event> = Api::namespaced(vendor.clone(), NS);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.O"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let pod = until_pod(&pods, "typo", "ImagePullBackOff", |p| {
        waiting_reason(p).as_deref() == Some("ImagePullBackOff")
    })
    .await;
    let status = pod.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let waiting = status.container_statuses.as_ref().unwrap()[0]
        .state
        .as_ref()
        .unwrap()
        .waiting
        .clone()
        .unwrap();
    assert_eq!(
        waiting.message.as_deref(),
        Some("Back-off pulling image \"mock-attacker:1.0.O\"")
    );
    assert_eq!(
        condition(&pod, "Ready").map(|c| c.0).as_deref(),
        Some("False")
    );
    match pods.logs("typo", &LogParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert!(
                status.message.contains("is waiting to start"),
                "{}",
                status.message
            );
        }
        other => panic!("logs of a container that never started: {other:?}"),
    }
    let found = events(&event_api, &pod).await;
    assert!(count(&found, "Failed") >= 2, "{found:?}");
    assert!(count(&found, "BackOff") >= 1, "{found:?}");

    // `kubectl set image pod/typo app=…` mends a bare pod: its next pull finds the image.
    let patch = json!({"spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}});
    pods.patch("typo", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("set image");
    let pod = until_pod(&pods, "typo", "Running and Ready", |p| {
        condition(p, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await;
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));
}

#[tokio::test]
async fn a_crash_loop_counts_restarts_and_keeps_the_last_run() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let deploys: Api<Deployment> = Api::namespaced(vendor.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), NS);
    let deploy: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "crasher"},
        "spec": {"selector": {"matchLabels": {"app": "crasher"}},
                 "template": {"metadata": {"labels": {"app": "crasher"},
                                           "annotations": {EXIT_AFTER: "0.3"}},
                              "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}}}
    }))
    .unwrap();
    deploys
        .create(&PostParams::default(), &deploy)
        .await
        .expect("create");
    let name = loop {
        let list = pods
            .list(&ListParams::default().labels("app=crasher"))
            .await
            .expect("list");
        if let Some(name) = list.items.first().and_then(|p| p.metadata.name.clone()) {
            break name;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pod = until_pod(&pods, &name, "CrashLoopBackOff after restarts", |p| {
        let restarts = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |c| c[0].restart_count);
        restarts >= 2 && waiting_reason(p).as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    let status = &pod
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let last = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("the last run");
    assert_eq!(last.exit_code, 1);
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert!(last.started_at.is_some() && last.finished_at.is_some());
    assert!(!status.ready);
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Running")
    );
    let previous = pods
        .logs(
            &name,
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("previous");
    assert!(
        previous.trim_end().ends_with("exiting with status 1"),
        "{previous}"
    );
    // The Deployment never becomes available.
    let d = deploys.get("crasher").await.expect("deployment");
    assert_eq!(d.status.unwrap().available_replicas, None);
}

#[tokio::test]
async fn unschedulable_and_unready_pods_say_why() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), NS);
    let event_api: Api<Event> = Api::namespaced(vendor.clone(), NS);
    for body in [
        json!({"metadata": {"name": "picky"},
               "spec": {"nodeSelector": {"gpu": "a100"},
                        "containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}}),
        json!({"metadata": {"name": "sulky", "annotations": {READY: "false"}},
               "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}}),
    ] {
        let pod: Pod = serde_json::from_value(body).unwrap();
        pods.create(&PostParams::default(), &pod)
            .await
            .expect("create");
    }
    let picky = until_pod(&pods, "picky", "Unschedulable", |p| {
        condition(p, "PodScheduled").is_some_and(|c| c.1.as_deref() == Some("Unschedulable"))
    })
    .await;
    let (status, _, message) = condition(&picky, "PodScheduled").unwrap();
    assert_eq!(status, "False");
    assert!(
        message
            .unwrap_or_default()
            .starts_with("0/3 nodes are available: 1 node(s) had untolerated taint"),
        "{picky:?}"
    );
    assert!(picky.spec.unwrap().node_name.is_none());
    let warnings = event_api
        .list(&ListParams::default().fields("reason=FailedScheduling,type=Warning"))
        .await
        .expect("events by reason and type");
    assert_eq!(warnings.items.len(), 1, "{warnings:?}");

    let sulky = until_pod(&pods, "sulky", "Unhealthy twice", |p| {
        condition(p, "Ready").is_some_and(|c| c.0 == "False")
            && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(&events(&event_api, &sulky).await, "Unhealthy") < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Unhealthy counts up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = events(&event_api, &sulky).await;
    let unhealthy = found
        .iter()
        .find(|e| e.reason.as_deref() == Some("Unhealthy"))
        .unwrap();
    assert_eq!(unhealthy.type_.as_deref(), Some("Warning"));
    assert_eq!(
        unhealthy.message.as_deref(),
        Some("Readiness probe failed: HTTP probe failed with statuscode: 503")
    );
}
