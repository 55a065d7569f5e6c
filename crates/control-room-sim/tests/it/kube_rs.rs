//! kube-rs 5 against the simulator, through the kubeconfig it writes: lists, the runtime
//! watcher (initial list, changes, relist after 410, resume after a server-side timeout) and a
//! cluster that dies and comes back.
//!
//! These run on the default current-thread test runtime on purpose: server and client share
//! one thread, so "write, then compact before the server's watch loop runs" is deterministic.

use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const VENDOR_NS: &str = "trustusbank-bank-vendors";
const WAIT: Duration = Duration::from_secs(5);

async fn start(tuning: SimTuning) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    (dir, sim)
}

async fn client(sim: &SimHandle, context: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig_path()).expect("kubeconfig parses");
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("config from kubeconfig");
    Client::try_from(config).expect("client")
}

fn currency_pod(sim: &SimHandle) -> Value {
    let (pods, _) = sim
        .store("vendor")
        .unwrap()
        .list("v1", "Pod", Some(VENDOR_NS));
    pods.into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "currency-converter")
        .expect("currency-converter pod")
}

/// Drive a watcher in the background and hand its items over a channel.
fn spawn_watcher(
    api: Api<Pod>,
    config: watcher::Config,
) -> mpsc::UnboundedReceiver<Result<Event<Pod>, String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher(api, config).boxed();
        while let Some(item) = stream.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                break;
            }
        }
    });
    rx
}

async fn recv(
    rx: &mut mpsc::UnboundedReceiver<Result<Event<Pod>, String>>,
) -> Result<Event<Pod>, String> {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("watcher event in time")
        .expect("watcher still running")
}

fn label(event: &Result<Event<Pod>, String>) -> String {
    match event {
        Ok(Event::Init) => "Init".into(),
        Ok(Event::InitApply(p)) => format!("InitApply {}", p.name_any()),
        Ok(Event::InitDone) => "InitDone".into(),
        Ok(Event::Apply(p)) => format!("Apply {}", p.name_any()),
        Ok(Event::Delete(p)) => format!("Delete {}", p.name_any()),
        Err(e) => format!("Err {e}"),
    }
}

/// Expect Init, `n` InitApply, InitDone.
async fn expect_initial_list(
    rx: &mut mpsc::UnboundedReceiver<Result<Event<Pod>, String>>,
    n: usize,
) {
    assert_eq!(label(&recv(rx).await), "Init");
    for _ in 0..n {
        let event = recv(rx).await;
        assert!(
            matches!(event, Ok(Event::InitApply(_))),
            "{}",
            label(&event)
        );
    }
    assert_eq!(label(&recv(rx).await), "InitDone");
}

/// Nothing more arrives for a while.
async fn expect_quiet(
    rx: &mut mpsc::UnboundedReceiver<Result<Event<Pod>, String>>,
    for_: Duration,
) {
    if let Ok(Some(event)) = tokio::time::timeout(for_, rx.recv()).await {
        panic!("unexpected watcher event: {}", label(&event));
    }
}

#[tokio::test]
async fn lists_and_gets_through_kube_rs() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-vendor").await;
    let store = sim.store("vendor").unwrap();

    let all: Api<Pod> = Api::all(client.clone());
    let pods = all.list(&ListParams::default()).await.expect("list pods");
    assert_eq!(pods.items.len(), store.count("v1", "Pod"));
    assert!(
        pods.metadata
            .resource_version
            .is_some_and(|rv| !rv.is_empty())
    );

    // Paging: kube-rs follows `continue` itself when asked page by page.
    let mut seen = 0;
    let mut params = ListParams::default().limit(4);
    loop {
        let page = all.list(&params).await.expect("page");
        seen += page.items.len();
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(seen, pods.items.len());

    let vendors: Api<Pod> = Api::namespaced(client.clone(), VENDOR_NS);
    let selected = vendors
        .list(&ListParams::default().labels("app=currency-converter"))
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    let pod = &selected.items[0];
    assert_eq!(
        pod.spec.as_ref().unwrap().containers[0].image.as_deref(),
        Some("currency-converter:1.0.0")
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), VENDOR_NS);
    let deploy = deployments.get("currency-converter").await.unwrap();
    assert_eq!(deploy.status.unwrap().ready_replicas, Some(1));

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let attacker = namespaces.get("external-attacker").await.unwrap();
    assert!(!attacker.labels().contains_key("istio.io/dataplane-mode"));

    match vendors.get("nope").await {
        Err(kube::Error::Api(status)) => {
            assert!(status.is_not_found());
            assert_eq!(status.code, 404);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn watcher_sees_initial_list_then_changes() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-vendor").await;
    let store = sim.store("vendor").unwrap();
    let n = store.list("v1", "Pod", Some(VENDOR_NS)).0.len();

    let mut rx = spawn_watcher(
        Api::namespaced(client, VENDOR_NS),
        watcher::Config::default(),
    );
    expect_initial_list(&mut rx, n).await;

    let mut pod = currency_pod(&sim);
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    let updated = store.update(pod).unwrap();
    match recv(&mut rx).await {
        Ok(Event::Apply(p)) => {
            assert_eq!(p.name_any(), name);
            assert_eq!(
                p.resource_version(),
                updated["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string)
            );
            let statuses = p.status.unwrap().container_statuses.unwrap();
            assert!(!statuses[0].ready);
        }
        other => panic!("expected Apply, got {}", label(&other)),
    }

    store.delete("v1", "Pod", Some(VENDOR_NS), &name).unwrap();
    assert_eq!(label(&recv(&mut rx).await), format!("Delete {name}"));
}

#[tokio::test]
async fn watcher_with_streaming_lists() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-bank").await;
    let store = sim.store("bank").unwrap();
    let n = store
        .list("v1", "Pod", Some("trustusbank-bank-mcp"))
        .0
        .len();
    let config = watcher::Config::default().streaming_lists();
    let mut rx = spawn_watcher(Api::namespaced(client, "trustusbank-bank-mcp"), config);
    expect_initial_list(&mut rx, n).await;
    let (pods, _) = store.list("v1", "Pod", Some("trustusbank-bank-mcp"));
    let mut pod = pods[0].clone();
    pod["metadata"]["labels"]["touched"] = json!("true");
    store.update(pod).unwrap();
    assert!(label(&recv(&mut rx).await).starts_with("Apply "));
}

#[tokio::test]
async fn watcher_relists_after_expired_and_settles() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-vendor").await;
    let store = sim.store("vendor").unwrap();
    let n = store.list("v1", "Pod", Some(VENDOR_NS)).0.len();

    let mut rx = spawn_watcher(
        Api::namespaced(client, VENDOR_NS),
        watcher::Config::default(),
    );
    expect_initial_list(&mut rx, n).await;
    // Let the watch request land.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A write the watch has not yet delivered, then compaction: without yielding in between,
    // the server's watch loop next finds its cursor before the window → in-stream 410.
    let mut pod = currency_pod(&sim);
    pod["metadata"]["labels"]["compacted"] = json!("yes");
    store.update(pod).unwrap();
    store.compact_history();

    let error = recv(&mut rx).await;
    assert!(
        label(&error).starts_with("Err"),
        "expected the 410 first, got {}",
        label(&error)
    );
    assert!(label(&error).contains("xpired"), "{}", label(&error));
    // A fresh relist, which includes the write.
    assert_eq!(label(&recv(&mut rx).await), "Init");
    let mut saw_label = false;
    for _ in 0..n {
        match recv(&mut rx).await {
            Ok(Event::InitApply(p)) => saw_label |= p.labels().contains_key("compacted"),
            other => panic!("expected InitApply, got {}", label(&other)),
        }
    }
    assert!(saw_label, "relist shows the state after the write");
    assert_eq!(label(&recv(&mut rx).await), "InitDone");
    // No error loop: the watcher stays quiet until something changes, then delivers it.
    expect_quiet(&mut rx, Duration::from_millis(500)).await;
    let mut pod = currency_pod(&sim);
    pod["metadata"]["labels"]["after"] = json!("relist");
    store.update(pod).unwrap();
    assert!(label(&recv(&mut rx).await).starts_with("Apply currency-converter"));
}

#[tokio::test]
async fn watcher_resumes_after_server_side_timeout() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-vendor").await;
    let store = sim.store("vendor").unwrap();
    let n = store.list("v1", "Pod", Some(VENDOR_NS)).0.len();

    // timeoutSeconds=1: the server ends each watch after a second; kube-rs re-watches from its
    // last version without relisting.
    let config = watcher::Config::default().timeout(1);
    let mut rx = spawn_watcher(Api::namespaced(client, VENDOR_NS), config);
    expect_initial_list(&mut rx, n).await;
    expect_quiet(&mut rx, Duration::from_millis(2500)).await;

    let mut pod = currency_pod(&sim);
    pod["metadata"]["labels"]["after"] = json!("timeout");
    store.update(pod).unwrap();
    assert!(label(&recv(&mut rx).await).starts_with("Apply currency-converter"));

    // Once more, across another timeout.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut pod = currency_pod(&sim);
    pod["metadata"]["labels"]["after"] = json!("second-timeout");
    store.update(pod).unwrap();
    let event = recv(&mut rx).await;
    match &event {
        Ok(Event::Apply(p)) => assert_eq!(
            p.labels().get("after").map(String::as_str),
            Some("second-timeout")
        ),
        other => panic!("expected Apply, got {}", label(other)),
    }
}

#[tokio::test]
async fn stopped_cluster_fails_requests_until_restarted() {
    let (_dir, sim) = start(SimTuning::default()).await;
    let client = client(&sim, "kind-trustusbank-vendor").await;
    let api: Api<Pod> = Api::namespaced(client.clone(), VENDOR_NS);
    let before = api
        .list(&ListParams::default())
        .await
        .expect("list before stop");
    let url_before = sim.clusters()[2].server.clone();

    // An open watch dies with the server.
    let mut watch = api
        .watch(
            &WatchParams::default(),
            &before.metadata.resource_version.clone().unwrap(),
        )
        .await
        .expect("watch opens")
        .boxed();
    sim.stop_cluster("vendor").await.unwrap();
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match watch.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(WatchEvent::Bookmark(_))) => {}
                Some(Ok(other)) => panic!("unexpected event after stop: {other:?}"),
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "watch did not end when the cluster stopped");
    assert_eq!(sim.store("vendor").unwrap().active_watches(), 0);

    assert!(
        api.list(&ListParams::default()).await.is_err(),
        "requests fail while stopped"
    );
    let other: Api<Pod> = Api::all(self::client(&sim, "kind-trustusbank-bank").await);
    assert!(
        other.list(&ListParams::default()).await.is_ok(),
        "other clusters unaffected"
    );

    // The store lives on: a change made while the server is down shows after the restart.
    let mut pod = currency_pod(&sim);
    pod["metadata"]["labels"]["while"] = json!("down");
    sim.store("vendor").unwrap().update(pod).unwrap();

    sim.restart_cluster("vendor").await.unwrap();
    assert_eq!(
        sim.clusters()[2].server,
        url_before,
        "same URL after restart"
    );
    let after = api
        .list(&ListParams::default())
        .await
        .expect("list after restart");
    assert_eq!(after.items.len(), before.items.len());
    assert!(
        after
            .items
            .iter()
            .any(|p| p.labels().get("while").map(String::as_str) == Some("down"))
    );
    // Idempotent.
    sim.restart_cluster("vendor").await.unwrap();
    sim.stop_cluster("vendor").await.unwrap();
    sim.stop_cluster("vendor").await.unwrap();
    assert!(sim.stop_cluster("nowhere").await.is_err());
    sim.shutdown().await;
}
