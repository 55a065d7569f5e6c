//! kube-rs writing to the simulator: every `Patch` flavour, create/replace/delete, and the
//! deployment controller's rollout as a kube-rs watcher sees it.

use std::collections::BTreeMap;
use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Client, Config, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;

const VENDOR_NS: &str = "trustusbank-bank-vendors";
const VENDOR: &str = "kind-trustusbank-vendor";

async fn start() -> (tempfile::TempDir, SimHandle, Client) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(80),
        ..SimTuning::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig_path()).expect("kubeconfig parses");
    let options = KubeConfigOptions {
        context: Some(VENDOR.to_string()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("config");
    let client = Client::try_from(config).expect("client");
    (dir, sim, client)
}

fn ap_api(client: Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("security.istio.io", "v1", "AuthorizationPolicy");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "authorizationpolicies");
    Api::namespaced_with(client, ns, &resource)
}

fn ap(name: &str, action: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": VENDOR_NS},
        "spec": {"action": action}
    }))
    .expect("DynamicObject")
}

fn api_code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API error, got {other}"),
    }
}

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn every_patch_flavour_through_kube_rs() {
    let (_dir, _sim, client) = start().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), VENDOR_NS);
    let pp = PatchParams::default();

    // Strategic: what `kubectl set image` sends.
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "currency-converter"}],
        "containers": [{"name": "currency-converter", "image": "currency-converter:1.0.0-rugpull"}]}}}});
    let d = deploys
        .patch("currency-converter", &pp, &Patch::Strategic(&patch))
        .await
        .expect("strategic patch");
    assert_eq!(image(&d), "currency-converter:1.0.0-rugpull");
    let container = &d
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert_eq!(
        container.ports.as_ref().unwrap()[0].container_port,
        8080,
        "merged, not replaced"
    );
    assert_eq!(d.metadata.generation, Some(2));

    // Merge.
    let d = deploys
        .patch(
            "currency-converter",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"owner": "vendor"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(d.labels().get("owner").map(String::as_str), Some("vendor"));
    assert_eq!(
        d.metadata.generation,
        Some(2),
        "metadata only: same generation"
    );

    // JSON patch, with a failing test.
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/annotations/demo", "value": "act-2"}
    ]))
    .unwrap();
    let d = deploys
        .patch("currency-converter", &pp, &Patch::Json::<()>(ops))
        .await
        .expect("json patch");
    assert_eq!(
        d.annotations().get("demo").map(String::as_str),
        Some("act-2")
    );
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 7}]))
            .unwrap();
    let err = deploys
        .patch("currency-converter", &pp, &Patch::Json::<()>(failing))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 422);

    // Server-side apply: creates, then merges.
    let aps = ap_api(client.clone(), VENDOR_NS);
    let ssa = PatchParams::apply("control-room-test").force();
    let created = aps
        .patch(
            "default-deny",
            &ssa,
            &Patch::Apply(&ap("default-deny", "DENY")),
        )
        .await
        .expect("apply creates");
    assert_eq!(created.data["spec"]["action"], "DENY");
    let updated = aps
        .patch(
            "default-deny",
            &ssa,
            &Patch::Apply(&ap("default-deny", "ALLOW")),
        )
        .await
        .expect("apply updates");
    assert_eq!(updated.data["spec"]["action"], "ALLOW");
    assert_eq!(updated.metadata.uid, created.metadata.uid);
    // Merge and JSON patches work on the custom resource; strategic is refused with 415.
    let merged = aps
        .patch(
            "default-deny",
            &pp,
            &Patch::Merge(json!({"spec": {"action": "DENY"}})),
        )
        .await
        .expect("merge on a CR");
    assert_eq!(merged.data["spec"]["action"], "DENY");
    let err = aps
        .patch(
            "default-deny",
            &pp,
            &Patch::Strategic(json!({"spec": {"action": "ALLOW"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 415);
    let err = aps
        .patch("missing", &pp, &Patch::Merge(json!({})))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 404);
}

#[tokio::test]
async fn create_replace_delete_through_kube_rs() {
    let (_dir, sim, client) = start().await;
    let aps = ap_api(client.clone(), VENDOR_NS);
    let created = aps
        .create(&PostParams::default(), &ap("allow-gw-to-vendor", "ALLOW"))
        .await
        .expect("create");
    let err = aps
        .create(&PostParams::default(), &ap("allow-gw-to-vendor", "ALLOW"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 409);
    let mut changed = created.clone();
    changed.data["spec"]["action"] = json!("DENY");
    let replaced = aps
        .replace("allow-gw-to-vendor", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_eq!(replaced.data["spec"]["action"], "DENY");
    let err = aps
        .replace("allow-gw-to-vendor", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), 409, "stale resourceVersion");
    let listed = aps.list(&Default::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);

    // A custom resource's delete answers with a Status, a pod's with the pod.
    let deleted = aps
        .delete("allow-gw-to-vendor", &DeleteParams::background())
        .await
        .expect("delete");
    assert!(deleted.is_right(), "{deleted:?}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), VENDOR_NS);
    let name = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.labels().get("app").map(String::as_str) == Some("waypoint"))
        .unwrap()
        .name_any();
    let deleted = pods
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete pod");
    let pod = deleted.left().expect("the pod itself");
    assert!(pod.metadata.deletion_timestamp.is_some());
    let store = sim.store("vendor").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.get("v1", "Pod", Some(VENDOR_NS), &name).is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "terminating pod never went"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let collection = aps
        .delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .expect("deletecollection");
    assert!(collection.is_left());
}

/// What the watcher saw happen to one pod, in order.
fn phase_of(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    let status = pod.status.as_ref();
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.clone());
    if let Some(reason) = waiting {
        return reason;
    }
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    if ready {
        format!("{phase}/Ready")
    } else {
        phase
    }
}

#[tokio::test]
async fn a_watcher_sees_the_rollout_step_by_step() {
    let (_dir, sim, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), VENDOR_NS);
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), VENDOR_NS);
    let old = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.labels().get("app").map(String::as_str) == Some("currency-converter"))
        .unwrap()
        .name_any();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = watcher::Config::default().labels("app=currency-converter");
    tokio::spawn(async move {
        let mut stream = watcher(pods, config).boxed();
        while let Some(item) = stream.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                break;
            }
        }
    });
    // Wait for the initial list before changing anything.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(event, Ok(Event::InitDone)) {
            break;
        }
    }

    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "currency-converter", "image": "currency-converter:1.0.0-rugpull"}]}}}});
    deploys
        .patch(
            "currency-converter",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("set image");

    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let done = |seen: &BTreeMap<String, Vec<String>>| {
        seen.get(&old)
            .is_some_and(|s| s.last().map(String::as_str) == Some("DELETED"))
            && seen
                .iter()
                .any(|(n, s)| *n != old && s.last().map(String::as_str) == Some("Running/Ready"))
    };
    while !done(&seen) {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("rollout events in time")
            .expect("watcher running")
            .expect("watcher healthy");
        match event {
            Event::Apply(pod) => {
                let phases = seen.entry(pod.name_any()).or_default();
                let phase = phase_of(&pod);
                if phases.last() != Some(&phase) {
                    phases.push(phase);
                }
                if pod.name_any() != old {
                    let spec_image = pod.spec.as_ref().unwrap().containers[0].image.clone();
                    assert_eq!(
                        spec_image.as_deref(),
                        Some("currency-converter:1.0.0-rugpull")
                    );
                    assert!(pod.labels().contains_key("pod-template-hash"));
                }
            }
            Event::Delete(pod) => seen
                .entry(pod.name_any())
                .or_default()
                .push("DELETED".into()),
            _ => {}
        }
    }
    let new_pods: Vec<(&String, &Vec<String>)> = seen.iter().filter(|(n, _)| **n != old).collect();
    assert_eq!(new_pods.len(), 1, "{seen:?}");
    assert_eq!(
        new_pods[0].1,
        &["Pending", "ContainerCreating", "Running/Ready"],
        "{seen:?}"
    );
    assert_eq!(seen[&old], ["Terminating", "DELETED"], "{seen:?}");
    // The old pod only went once the new one was ready (maxUnavailable 0).

    // The new pod runs the new image on a node, with an address from the cluster's range.
    let running = Api::<Pod>::namespaced(client.clone(), VENDOR_NS)
        .get(new_pods[0].0)
        .await
        .unwrap();
    let status = running.status.unwrap();
    assert!(status.pod_ip.unwrap().starts_with("10.30."));
    assert_eq!(
        status.container_statuses.unwrap()[0].image,
        "currency-converter:1.0.0-rugpull"
    );
    assert!(
        running
            .spec
            .unwrap()
            .node_name
            .unwrap()
            .starts_with("trustusbank-vendor-worker")
    );

    // The Deployment converges: new revision, all counts on the new ReplicaSet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = deploys.get("currency-converter").await.unwrap();
        let s = d.status.clone().unwrap_or_default();
        let done = s.observed_generation == d.metadata.generation
            && s.updated_replicas == Some(1)
            && s.replicas == Some(1)
            && s.available_replicas == Some(1)
            && s.unavailable_replicas.is_none()
            && s.conditions.as_ref().is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "Progressing"
                        && c.reason.as_deref() == Some("NewReplicaSetAvailable")
                })
            });
        if done {
            assert_eq!(
                d.annotations()
                    .get("deployment.kubernetes.io/revision")
                    .map(String::as_str),
                Some("2")
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deployment never converged: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Events tell the same story.
    let (events, _) = sim
        .store("vendor")
        .unwrap()
        .list("v1", "Event", Some(VENDOR_NS));
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    for reason in [
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "Killing",
        "SuccessfulDelete",
    ] {
        assert!(
            reasons.contains(&reason),
            "no {reason} event in {reasons:?}"
        );
    }
}
