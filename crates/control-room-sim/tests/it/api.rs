//! The simulated API server over plain HTTP: discovery, list, get, watch, and the world it
//! serves. Each test starts its own simulator on free ports with its own state directory.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const VENDOR_NS: &str = "trustusbank-bank-vendors";

async fn start(opts: SimOptions, tuning: SimTuning) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().join("state"),
        ..opts
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    (dir, sim)
}

async fn default_sim() -> (tempfile::TempDir, SimHandle) {
    start(SimOptions::default(), SimTuning::default()).await
}

fn server(sim: &SimHandle, cluster: &str) -> String {
    sim.clusters()
        .into_iter()
        .find(|c| c.name == cluster)
        .map(|c| c.server)
        .expect("cluster exists")
}

async fn get(url: &str) -> (u16, Option<String>, Value) {
    let resp = reqwest::get(url).await.expect("request");
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.json::<Value>().await.expect("json body");
    (code, content_type, body)
}

async fn get_ok(url: &str) -> Value {
    let (code, content_type, body) = get(url).await;
    assert_eq!(code, 200, "{url}: {body}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "{url}");
    body
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().expect("name").to_string())
        .collect()
}

/// Reads a watch response line by line.
struct WatchLines {
    stream: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: Vec<u8>,
}

enum Next {
    Line(Value),
    End,
    Timeout,
}

impl WatchLines {
    async fn open(url: &str) -> Self {
        let resp = reqwest::get(url).await.expect("watch request");
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        Self {
            stream: resp.bytes_stream().boxed(),
            buf: Vec::new(),
        }
    }

    async fn next(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Next::Line(serde_json::from_slice(&line).expect("watch line is JSON"));
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => return Next::End,
                Ok(Some(Ok(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Some(Err(err))) => panic!("watch stream failed: {err}"),
            }
        }
    }

    /// The next event matching `pred`, skipping others.
    async fn find(&mut self, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Next::Line(event) if pred(&event) => return event,
                Next::Line(_) => {}
                Next::End => panic!("watch ended before the expected event"),
                Next::Timeout => panic!("no matching watch event within {within:?}"),
            }
        }
    }
}

fn pod_name_in(sim: &SimHandle, cluster: &str, namespace: &str, app: &str) -> Value {
    let store = sim.store(cluster).expect("store");
    let (pods, _) = store.list("v1", "Pod", Some(namespace));
    pods.into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == app)
        .expect("pod exists")
}

#[tokio::test]
async fn version_and_discovery() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "vendor");

    let version = get_ok(&format!("{base}/version")).await;
    let info: k8s_openapi::apimachinery::pkg::version::Info =
        serde_json::from_value(version).expect("version::Info");
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
    assert!(info.git_version.starts_with("v1.33."));

    let api = get_ok(&format!("{base}/api")).await;
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));
    assert!(api["serverAddressByClientCIDRs"][0]["serverAddress"].is_string());

    let apis = get_ok(&format!("{base}/apis")).await;
    assert_eq!(apis["kind"], "APIGroupList");
    let groups: BTreeSet<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in ["apps", "gateway.networking.k8s.io", "security.istio.io"] {
        assert!(groups.contains(g), "{g} missing from {groups:?}");
    }
    assert_eq!(apis["groups"][0]["preferredVersion"]["version"], "v1");

    let short = |list: &Value, name: &str| -> (Vec<String>, bool, String) {
        let r = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in discovery"));
        let shorts = r["shortNames"]
            .as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        (
            shorts,
            r["namespaced"].as_bool().unwrap(),
            r["kind"].as_str().unwrap().to_string(),
        )
    };
    let core = get_ok(&format!("{base}/api/v1")).await;
    assert_eq!(core["kind"], "APIResourceList");
    assert_eq!(core["groupVersion"], "v1");
    assert_eq!(
        short(&core, "pods"),
        (vec!["po".into()], true, "Pod".into())
    );
    assert_eq!(short(&core, "services").0, vec!["svc"]);
    assert_eq!(
        short(&core, "namespaces"),
        (vec!["ns".into()], false, "Namespace".into())
    );
    assert_eq!(
        short(&core, "nodes"),
        (vec!["no".into()], false, "Node".into())
    );
    assert_eq!(short(&core, "events").0, vec!["ev"]);
    assert_eq!(short(&core, "serviceaccounts").0, vec!["sa"]);
    // Subresources are not served, so not advertised.
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["name"].as_str().unwrap().contains('/'))
    );

    let apps = get_ok(&format!("{base}/apis/apps/v1")).await;
    assert_eq!(short(&apps, "deployments").0, vec!["deploy"]);
    assert_eq!(short(&apps, "replicasets").0, vec!["rs"]);
    assert_eq!(short(&apps, "daemonsets").0, vec!["ds"]);

    let istio = get_ok(&format!("{base}/apis/security.istio.io/v1")).await;
    assert_eq!(istio["groupVersion"], "security.istio.io/v1");
    assert_eq!(
        short(&istio, "authorizationpolicies"),
        (vec!["ap".into()], true, "AuthorizationPolicy".into())
    );
    let gw = get_ok(&format!("{base}/apis/gateway.networking.k8s.io/v1")).await;
    assert_eq!(short(&gw, "gateways").0, vec!["gtw"]);

    let (code, _, status) = get(&format!("{base}/apis/nope.example.com/v1")).await;
    assert_eq!((code, status["kind"].as_str()), (404, Some("Status")));
}

#[tokio::test]
async fn list_pods_everywhere_and_in_one_namespace() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "bank");
    let store = sim.store("bank").unwrap();

    let all = get_ok(&format!("{base}/api/v1/pods?limit=500")).await;
    assert_eq!(all["kind"], "PodList");
    assert_eq!(all["apiVersion"], "v1");
    let rv = all["metadata"]["resourceVersion"].as_str().unwrap();
    assert!(!rv.is_empty() && rv.parse::<u64>().unwrap() > 0);
    assert_eq!(names(&all).len(), store.count("v1", "Pod"));
    assert!(all.pointer("/metadata/continue").is_none());

    let agents = get_ok(&format!(
        "{base}/api/v1/namespaces/trustusbank-bank-agents/pods"
    ))
    .await;
    let apps: BTreeSet<&str> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["labels"]["app"].as_str().unwrap())
        .collect();
    assert_eq!(
        apps,
        BTreeSet::from(["fraud-bot", "support-bot", "triage-bot", "waypoint"])
    );
    for item in agents["items"].as_array().unwrap() {
        assert_eq!(item["metadata"]["namespace"], "trustusbank-bank-agents");
    }

    // kube-rs style query with an empty first pair; other kinds and groups.
    let deploys = get_ok(&format!(
        "{base}/apis/apps/v1/namespaces/trustusbank-observability/deployments?&limit=500"
    ))
    .await;
    assert_eq!(deploys["kind"], "DeploymentList");
    assert_eq!(deploys["apiVersion"], "apps/v1");
    assert!(names(&deploys).contains(&"grafana".to_string()));
    let nodes = get_ok(&format!("{base}/api/v1/nodes")).await;
    assert_eq!(names(&nodes).len(), 3);
    let policies = get_ok(&format!(
        "{base}/apis/security.istio.io/v1/authorizationpolicies"
    ))
    .await;
    assert_eq!(policies["kind"], "AuthorizationPolicyList");
    assert_eq!(policies["items"], json!([]));
    // A namespace that does not exist lists empty, as on a real server.
    let none = get_ok(&format!("{base}/api/v1/namespaces/nope/pods")).await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn label_and_field_selectors() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "edge");
    let pods = |q: &'static str| {
        let url = format!("{base}/api/v1/pods?{q}");
        async move { get_ok(&url).await }
    };
    assert_eq!(names(&pods("labelSelector=app%3Dztunnel").await).len(), 3);
    assert_eq!(
        names(&pods("labelSelector=app%3D%3Dztunnel").await).len(),
        3
    );
    assert_eq!(
        names(&pods("labelSelector=app%20in%20(ztunnel%2Cistio-cni-node)").await).len(),
        6
    );
    let not_ztunnel = names(&pods("labelSelector=app!%3Dztunnel").await);
    assert!(!not_ztunnel.is_empty() && not_ztunnel.iter().all(|n| !n.starts_with("ztunnel")));
    let hashed = names(&pods("labelSelector=pod-template-hash").await);
    assert!(hashed.iter().any(|n| n.starts_with("chatbot-")));
    assert!(hashed.iter().all(|n| !n.starts_with("ztunnel")));
    let unhashed = names(&pods("labelSelector=!pod-template-hash").await);
    assert!(unhashed.iter().any(|n| n.starts_with("ztunnel")));
    assert_eq!(
        names(&pods("labelSelector=app%20notin%20(ztunnel)").await).len(),
        not_ztunnel.len()
    );

    let chatbot = pod_name_in(&sim, "edge", "trustusbank-bank-frontend", "chatbot");
    let name = chatbot["metadata"]["name"].as_str().unwrap().to_string();
    let url = format!("{base}/api/v1/pods?fieldSelector=metadata.name%3D{name}");
    assert_eq!(names(&get_ok(&url).await), vec![name.clone()]);
    let url = format!(
        "{base}/api/v1/pods?fieldSelector=metadata.namespace%3D%3Dtrustusbank-bank-frontend%2Cmetadata.name%3D{name}"
    );
    assert_eq!(names(&get_ok(&url).await), vec![name.clone()]);
    let rest = names(&pods("fieldSelector=metadata.namespace!%3Dkube-system").await);
    assert!(rest.iter().all(|n| !n.starts_with("coredns")));

    for bad in [
        "fieldSelector=spec.bogus%3D1",
        "fieldSelector=nonsense",
        "labelSelector=app%20in%20ztunnel",
        "labelSelector=%3D%3D%3D",
        "limit=lots",
        "watch=perhaps",
        "labelSelector=%zz",
    ] {
        let (code, _, status) = get(&format!("{base}/api/v1/pods?{bad}")).await;
        assert_eq!(code, 400, "{bad}: {status}");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "BadRequest");
        assert_eq!(status["code"], 400);
    }
}

#[tokio::test]
async fn limit_and_continue_cover_every_item_once() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "bank");
    let full = names(&get_ok(&format!("{base}/api/v1/pods")).await);

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let url = match &token {
            Some(t) => format!("{base}/api/v1/pods?&limit=7&continue={t}"),
            None => format!("{base}/api/v1/pods?&limit=7"),
        };
        let page = get_ok(&url).await;
        pages += 1;
        let rv = page["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            first_rv.get_or_insert(rv.clone()),
            &rv,
            "every page reports the first page's version"
        );
        let items = names(&page);
        assert!(items.len() <= 7);
        seen.extend(items);
        match page["metadata"]["continue"].as_str() {
            Some(t) => {
                assert!(page["metadata"]["remainingItemCount"].as_u64().unwrap() > 0);
                token = Some(t.to_string());
            }
            None => break,
        }
        // Writes between pages must not break paging.
        if pages == 2 {
            let store = sim.store("bank").unwrap();
            let mut pod = pod_name_in(&sim, "bank", "trustusbank-bank-mcp", "account-mcp");
            pod["metadata"]["labels"]["touched"] = json!("yes");
            store.update(pod).unwrap();
        }
    }
    assert_eq!(pages, full.len().div_ceil(7));
    assert_eq!(
        seen, full,
        "pages concatenate to the full list, in order, once each"
    );

    let (code, _, status) = get(&format!("{base}/api/v1/pods?limit=7&continue=not-a-token")).await;
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
}

#[tokio::test]
async fn get_one_object_and_not_found_status() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "vendor");
    let pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    let name = pod["metadata"]["name"].as_str().unwrap();

    let got = get_ok(&format!("{base}/api/v1/namespaces/{VENDOR_NS}/pods/{name}")).await;
    assert_eq!(got["kind"], "Pod");
    assert_eq!(got["apiVersion"], "v1");
    assert_eq!(got["metadata"]["name"], name);
    let typed: Pod = serde_json::from_value(got).unwrap();
    assert_eq!(typed.metadata.namespace.as_deref(), Some(VENDOR_NS));

    let ns = get_ok(&format!("{base}/api/v1/namespaces/{VENDOR_NS}")).await;
    assert_eq!(ns["kind"], "Namespace");
    let node = get_ok(&format!("{base}/api/v1/nodes/trustusbank-vendor-worker")).await;
    assert_eq!(node["kind"], "Node");
    let gw = get_ok(&format!(
        "{base}/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways/istio-eastwest"
    ))
    .await;
    assert_eq!(gw["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(gw["spec"]["gatewayClassName"], "istio-eastwest");

    let (code, content_type, status) =
        get(&format!("{base}/api/v1/namespaces/{VENDOR_NS}/pods/x")).await;
    assert_eq!(code, 404);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "pods \"x\" not found", "reason": "NotFound",
               "details": {"name": "x", "kind": "pods"}, "code": 404})
    );
    // Logs are served (tests/sim_logs.rs); a missing pod's log is the pod's 404.
    let (code, _, status) = get(&format!("{base}/api/v1/namespaces/{VENDOR_NS}/pods/x/log")).await;
    assert_eq!((code, status["reason"].as_str()), (404, Some("NotFound")));
    let logs = reqwest::get(format!(
        "{base}/api/v1/namespaces/{VENDOR_NS}/pods/{name}/log"
    ))
    .await
    .expect("logs");
    assert_eq!(logs.status().as_u16(), 200);
    let (code, _, _) = get(&format!("{base}/swagger-2.0.0.pb-v1")).await;
    assert_eq!(code, 404);
    let (code, _, _) = get(&format!("{base}/api/v1/pods/{name}")).await;
    assert_eq!(code, 404, "namespaced resource without a namespace");

    // Writes are served (tests/sim_writes*.rs), but not every method everywhere.
    let client = reqwest::Client::new();
    for (method, path) in [
        (
            reqwest::Method::POST,
            format!("{base}/api/v1/namespaces/{VENDOR_NS}/pods/{name}"),
        ),
        (reqwest::Method::PUT, format!("{base}/version")),
        (reqwest::Method::DELETE, format!("{base}/apis")),
    ] {
        let resp = client
            .request(method.clone(), path)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 405, "{method}");
        let status: Value = resp.json().await.unwrap();
        assert_eq!(status["reason"], "MethodNotAllowed");
    }
    // The object is untouched.
    assert!(
        sim.store("vendor")
            .unwrap()
            .get("v1", "Pod", Some(VENDOR_NS), name)
            .is_some()
    );
}

#[tokio::test]
async fn watch_from_a_version_sees_store_writes() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "vendor");
    let store = sim.store("vendor").unwrap();
    let list = get_ok(&format!("{base}/api/v1/namespaces/{VENDOR_NS}/pods")).await;
    let rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/namespaces/{VENDOR_NS}/pods?watch=true&resourceVersion={rv}"
    ))
    .await;
    // Nothing happened since the list: no replay.
    assert!(matches!(
        watch.next(Duration::from_millis(200)).await,
        Next::Timeout
    ));

    // A write elsewhere is not this watch's business.
    let mut other = pod_name_in(&sim, "vendor", "external-attacker", "mock-attacker");
    other["metadata"]["labels"]["seen"] = json!("no");
    store.update(other).unwrap();

    let mut pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    pod["status"]["containerStatuses"][0]["restartCount"] = json!(7);
    let updated = store.update(pod).unwrap();
    let new_rv = updated["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(new_rv.parse::<u64>().unwrap() > rv);

    let event = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["kind"], "Pod");
    assert_eq!(event["object"]["apiVersion"], "v1");
    assert_eq!(event["object"]["metadata"]["name"], name.as_str());
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        new_rv.as_str()
    );
    assert_eq!(
        event["object"]["status"]["containerStatuses"][0]["restartCount"],
        7
    );

    let deleted = store.delete("v1", "Pod", Some(VENDOR_NS), &name).unwrap();
    let event = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(event["type"], "DELETED");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        deleted["metadata"]["resourceVersion"]
    );

    // Its ReplicaSet replaces the deleted pod: that shows up here too.
    let replacement = watch
        .find(Duration::from_secs(5), |e| e["type"] == "ADDED")
        .await;
    let replacement = replacement["object"]["metadata"]["name"].as_str().unwrap();
    assert!(
        replacement.starts_with("currency-converter-") && replacement != name,
        "{replacement}"
    );

    let mut fresh = updated.clone();
    fresh["metadata"] = json!({"name": "currency-converter-new", "namespace": VENDOR_NS});
    store.create(fresh).unwrap();
    let event = watch
        .find(Duration::from_secs(5), |e| {
            e["object"]["metadata"]["name"] == "currency-converter-new"
        })
        .await;
    assert_eq!(event["type"], "ADDED");
}

#[tokio::test]
async fn watch_with_selector_reports_objects_leaving_as_deleted() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "vendor");
    let store = sim.store("vendor").unwrap();
    let rv = store.resource_version();
    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/pods?watch=1&resourceVersion={rv}&labelSelector=app%3Dcurrency-converter"
    ))
    .await;
    let mut pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    pod["metadata"]["labels"]["app"] = json!("quarantined");
    let moved = store.update(pod).unwrap();
    let event = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(event["type"], "DELETED");
    let mut back = moved;
    back["metadata"]["labels"]["app"] = json!("currency-converter");
    store.update(back).unwrap();
    let event = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(event["type"], "ADDED");
}

#[tokio::test]
async fn watch_without_version_starts_with_current_objects() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "bank");
    let expected = sim
        .store("bank")
        .unwrap()
        .list("v1", "Pod", Some("trustusbank-bank-mcp"))
        .0
        .len();

    for query in ["watch=true", "watch=true&resourceVersion=0"] {
        let mut watch = WatchLines::open(&format!(
            "{base}/api/v1/namespaces/trustusbank-bank-mcp/pods?{query}"
        ))
        .await;
        for _ in 0..expected {
            let event = watch.find(Duration::from_secs(5), |_| true).await;
            assert_eq!(event["type"], "ADDED");
            assert_eq!(
                event["object"]["metadata"]["namespace"],
                "trustusbank-bank-mcp"
            );
        }
        assert!(matches!(
            watch.next(Duration::from_millis(200)).await,
            Next::Timeout
        ));
    }

    // Streaming list: ADDED for everything, then the initial-events-end bookmark.
    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/namespaces/trustusbank-bank-mcp/pods?&watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=290"
    ))
    .await;
    for _ in 0..expected {
        assert_eq!(
            watch.find(Duration::from_secs(5), |_| true).await["type"],
            "ADDED"
        );
    }
    let bookmark = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "Pod");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn watch_bookmarks_carry_kind_and_version() {
    let tuning = SimTuning {
        bookmark_interval: Duration::from_millis(200),
        ..SimTuning::default()
    };
    let (_dir, sim) = start(SimOptions::default(), tuning).await;
    let base = server(&sim, "edge");
    let rv = sim.store("edge").unwrap().resource_version();
    let mut watch = WatchLines::open(&format!(
        "{base}/apis/apps/v1/deployments?&watch=true&allowWatchBookmarks=true&resourceVersion={rv}"
    ))
    .await;
    let bookmark = watch.find(Duration::from_secs(3), |_| true).await;
    assert_eq!(
        bookmark,
        json!({"type": "BOOKMARK", "object": {"kind": "Deployment", "apiVersion": "apps/v1",
               "metadata": {"resourceVersion": rv.to_string()}}})
    );
    // And they keep coming.
    let again = watch.find(Duration::from_secs(3), |_| true).await;
    assert_eq!(again["type"], "BOOKMARK");
}

#[tokio::test]
async fn watch_from_too_old_version_gets_in_stream_expired() {
    let tuning = SimTuning {
        history_window: 50,
        ..SimTuning::default()
    };
    let (_dir, sim) = start(SimOptions::default(), tuning).await;
    let base = server(&sim, "vendor");
    let mut watch =
        WatchLines::open(&format!("{base}/api/v1/pods?watch=true&resourceVersion=5")).await;
    let event = watch.find(Duration::from_secs(3), |_| true).await;
    assert_eq!(event["type"], "ERROR");
    let status = &event["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 5 (")
    );
    assert!(matches!(
        watch.next(Duration::from_secs(3)).await,
        Next::End
    ));

    // A version from the future (a client remembering an earlier run) is refused the same way,
    // so the client relists instead of waiting for it.
    let ahead = sim.store("vendor").unwrap().resource_version() + 1000;
    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/pods?watch=true&resourceVersion={ahead}"
    ))
    .await;
    let event = watch.find(Duration::from_secs(3), |_| true).await;
    assert_eq!(
        (event["type"].as_str(), event["object"]["code"].as_u64()),
        (Some("ERROR"), Some(410))
    );
    assert!(
        event["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too large resource version")
    );

    // Forced compaction expires even recent versions.
    let store = sim.store("vendor").unwrap();
    let rv = store.resource_version();
    let mut pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    pod["metadata"]["labels"]["x"] = json!("y");
    store.update(pod).unwrap();
    store.compact_history();
    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/pods?watch=true&resourceVersion={rv}"
    ))
    .await;
    assert_eq!(
        watch.find(Duration::from_secs(3), |_| true).await["object"]["code"],
        410
    );
}

#[tokio::test]
async fn watch_timeout_closes_the_stream_cleanly() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "edge");
    let rv = sim.store("edge").unwrap().resource_version();
    let started = Instant::now();
    let resp = reqwest::get(format!(
        "{base}/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1"
    ))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // A clean end of the chunked body: reading to the end succeeds.
    let body = tokio::time::timeout(Duration::from_secs(5), resp.bytes())
        .await
        .expect("closed in time")
        .expect("clean end of body");
    assert!(body.is_empty());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // With bookmarks on, the last thing before the close is a bookmark.
    let resp = reqwest::get(format!(
        "{base}/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1&allowWatchBookmarks=true"
    ))
    .await
    .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(5), resp.bytes())
        .await
        .unwrap()
        .unwrap();
    let last: Value = serde_json::from_slice(body.trim_ascii()).unwrap();
    assert_eq!(last["type"], "BOOKMARK");
}

#[tokio::test]
async fn closed_watches_are_cleaned_up() {
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "edge");
    let store = sim.store("edge").unwrap();
    let rv = store.resource_version();
    let mut watches = Vec::new();
    for _ in 0..3 {
        watches.push(
            WatchLines::open(&format!(
                "{base}/api/v1/pods?watch=true&resourceVersion={rv}"
            ))
            .await,
        );
    }
    assert_eq!(store.active_watches(), 3);
    drop(watches);
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.active_watches() > 0 {
        assert!(
            Instant::now() < deadline,
            "watchers leaked: {}",
            store.active_watches()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn check_all<T: DeserializeOwned>(sim: &SimHandle, api_version: &str, kind: &str) -> usize {
    let mut total = 0;
    for cluster in sim.clusters() {
        let (objects, _) = sim
            .store(&cluster.name)
            .unwrap()
            .list(api_version, kind, None);
        for obj in objects {
            if let Err(err) = serde_json::from_value::<T>(obj.clone()) {
                panic!(
                    "{} {kind} does not deserialize: {err}\n{obj:#}",
                    cluster.name
                );
            }
            total += 1;
        }
    }
    total
}

#[tokio::test]
async fn every_builtin_object_deserializes_into_its_k8s_openapi_type() {
    let (_dir, sim) = default_sim().await;
    assert!(check_all::<Pod>(&sim, "v1", "Pod") > 90);
    assert_eq!(check_all::<Node>(&sim, "v1", "Node"), 9);
    assert!(check_all::<Namespace>(&sim, "v1", "Namespace") >= 20);
    assert!(check_all::<Service>(&sim, "v1", "Service") > 30);
    assert!(check_all::<ServiceAccount>(&sim, "v1", "ServiceAccount") > 40);
    // Two remote secrets and the Solo license per cluster.
    assert_eq!(check_all::<Secret>(&sim, "v1", "Secret"), 9);
    assert!(check_all::<ConfigMap>(&sim, "v1", "ConfigMap") >= 6);
    assert!(check_all::<EndpointSlice>(&sim, "discovery.k8s.io/v1", "EndpointSlice") > 30);
    // Twelve custom kinds on bank; kagent's and prometheus-operator's only there.
    assert_eq!(
        check_all::<CustomResourceDefinition>(
            &sim,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition"
        ),
        12 + 8 + 8
    );
    assert!(check_all::<Event>(&sim, "v1", "Event") > 0);
    assert!(check_all::<Deployment>(&sim, "apps/v1", "Deployment") > 40);
    assert!(check_all::<ReplicaSet>(&sim, "apps/v1", "ReplicaSet") > 40);
    assert!(check_all::<DaemonSet>(&sim, "apps/v1", "DaemonSet") >= 9);

    // Lists over HTTP (items without kind/apiVersion) deserialize too.
    let base = server(&sim, "bank");
    let list = get_ok(&format!("{base}/api/v1/pods")).await;
    let typed: k8s_openapi::List<Pod> = serde_json::from_value(list).unwrap();
    assert!(typed.items.len() > 50);
    let list = get_ok(&format!("{base}/apis/apps/v1/daemonsets")).await;
    let typed: k8s_openapi::List<DaemonSet> = serde_json::from_value(list).unwrap();
    assert!(typed.items.len() >= 5);
}

#[tokio::test]
async fn the_world_matches_the_walkthrough() {
    let (_dir, sim) = default_sim().await;
    let vendor = sim.store("vendor").unwrap();

    // The rug-pull target.
    let deploy = vendor
        .get(
            "apps/v1",
            "Deployment",
            Some(VENDOR_NS),
            "currency-converter",
        )
        .expect("currency-converter deployment");
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(deploy["status"]["readyReplicas"], 1);
    assert_eq!(
        deploy["status"]["observedGeneration"],
        deploy["metadata"]["generation"]
    );
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "currency-converter");
    assert_eq!(container["image"], "currency-converter:1.0.0");

    // Pod → ReplicaSet → Deployment, with matching uids.
    let pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    let pod_owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            pod_owner["kind"].as_str(),
            pod_owner["controller"].as_bool()
        ),
        (Some("ReplicaSet"), Some(true))
    );
    let rs = vendor
        .get(
            "apps/v1",
            "ReplicaSet",
            Some(VENDOR_NS),
            pod_owner["name"].as_str().unwrap(),
        )
        .expect("owning replicaset");
    assert_eq!(rs["metadata"]["uid"], pod_owner["uid"]);
    let rs_owner = &rs["metadata"]["ownerReferences"][0];
    assert_eq!(rs_owner["kind"], "Deployment");
    assert_eq!(rs_owner["uid"], deploy["metadata"]["uid"]);
    let rs_name = rs["metadata"]["name"].as_str().unwrap();
    assert_eq!(rs_name.len(), "currency-converter-".len() + 10);
    assert_eq!(
        pod["metadata"]["name"].as_str().unwrap().len(),
        rs_name.len() + 6
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "currency-converter");
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    assert!(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].is_string());

    // Namespaces and the mesh.
    for (cluster, ns, ambient, networked) in [
        ("edge", "trustusbank-bank-frontend", true, true),
        ("bank", "trustusbank-bank-agents", true, true),
        ("bank", "trustusbank-bank-mcp", true, true),
        ("bank", "trustusbank-platform", false, true),
        ("bank", "trustusbank-observability", false, true),
        ("vendor", "trustusbank-bank-vendors", true, true),
        ("vendor", "external-attacker", false, false),
    ] {
        let store = sim.store(cluster).unwrap();
        let obj = store
            .get("v1", "Namespace", None, ns)
            .unwrap_or_else(|| panic!("{cluster}/{ns}"));
        let labels = &obj["metadata"]["labels"];
        assert_eq!(
            labels["istio.io/dataplane-mode"] == "ambient",
            ambient,
            "{cluster}/{ns}"
        );
        let network = format!("trustusbank-{cluster}");
        assert_eq!(
            labels["topology.istio.io/network"] == network.as_str(),
            networked,
            "{cluster}/{ns}"
        );
        assert_eq!(
            labels.get("topology.istio.io/network").is_some(),
            networked,
            "{cluster}/{ns}"
        );
    }

    for (cluster, octet) in [("edge", "10.10."), ("bank", "10.20."), ("vendor", "10.30.")] {
        let store = sim.store(cluster).unwrap();
        for ns in [
            "default",
            "kube-system",
            "istio-system",
            "istio-eastwest",
            "gloo-mesh",
        ] {
            assert!(
                store.get("v1", "Namespace", None, ns).is_some(),
                "{cluster}/{ns}"
            );
        }
        // ztunnel: one per node.
        let (pods, _) = store.list("v1", "Pod", Some("istio-system"));
        let ztunnels: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "ztunnel")
            .collect();
        assert_eq!(ztunnels.len(), 3, "{cluster}");
        let nodes: HashSet<&str> = ztunnels
            .iter()
            .map(|p| p["spec"]["nodeName"].as_str().unwrap())
            .collect();
        assert_eq!(nodes.len(), 3, "{cluster}");
        assert!(
            ztunnels
                .iter()
                .all(|p| p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet")
        );

        // Pod IPs come from the cluster's CIDR, except host-network pods on the node's IP.
        let (all, _) = store.list("v1", "Pod", None);
        for p in &all {
            let ip = p["status"]["podIP"].as_str().unwrap();
            let host_network = p["spec"]["hostNetwork"] == true;
            assert!(
                ip.starts_with(if host_network { "172.22.0." } else { octet }),
                "{cluster} {ip}"
            );
        }
        let unique: HashSet<&str> = all
            .iter()
            .filter(|p| p["spec"]["hostNetwork"] != true)
            .map(|p| p["status"]["podIP"].as_str().unwrap())
            .collect();
        assert_eq!(
            unique.len(),
            all.iter()
                .filter(|p| p["spec"]["hostNetwork"] != true)
                .count()
        );

        // Nodes.
        let cp = store
            .get(
                "v1",
                "Node",
                None,
                &format!("trustusbank-{cluster}-control-plane"),
            )
            .unwrap();
        assert_eq!(
            cp["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
            ""
        );
        for worker in ["worker", "worker2"] {
            let node = store
                .get(
                    "v1",
                    "Node",
                    None,
                    &format!("trustusbank-{cluster}-{worker}"),
                )
                .unwrap();
            let addr = &node["status"]["addresses"][0];
            assert_eq!(addr["type"], "InternalIP");
            assert!(addr["address"].as_str().unwrap().starts_with("172.22.0."));
        }

        // Remote secrets for both peers.
        for peer in ["edge", "bank", "vendor"]
            .into_iter()
            .filter(|p| *p != cluster)
        {
            let name = format!("istio-remote-secret-trustusbank-{peer}");
            let secret = store
                .get("v1", "Secret", Some("istio-system"), &name)
                .unwrap_or_else(|| panic!("{cluster}: {name}"));
            assert_eq!(secret["metadata"]["labels"]["istio/multiCluster"], "true");
            assert_eq!(
                secret["metadata"]["annotations"]["networking.istio.io/cluster"],
                format!("trustusbank-{peer}")
            );
            assert_eq!(secret["type"], "Opaque");
        }

        // East-west gateway and its NodePort service.
        let gw = store
            .get(
                "gateway.networking.k8s.io/v1",
                "Gateway",
                Some("istio-eastwest"),
                "istio-eastwest",
            )
            .unwrap();
        assert_eq!(
            gw["metadata"]["labels"]["topology.istio.io/network"],
            format!("trustusbank-{cluster}")
        );
        assert_eq!(gw["spec"]["listeners"][0]["port"], 15008);
        assert_eq!(gw["spec"]["listeners"][0]["protocol"], "HBONE");
        let svc = store
            .get("v1", "Service", Some("istio-eastwest"), "istio-eastwest")
            .unwrap();
        assert_eq!(svc["spec"]["type"], "NodePort");
        assert_eq!(svc["spec"]["ports"][0]["nodePort"], 30015);
        assert_eq!(svc["spec"]["ports"][1]["nodePort"], 30016);
        assert_eq!(
            store.count("security.istio.io/v1", "AuthorizationPolicy"),
            0
        );
    }

    let edge = sim.store("edge").unwrap();
    let chatbot = edge
        .get(
            "v1",
            "Service",
            Some("trustusbank-bank-frontend"),
            "chatbot",
        )
        .unwrap();
    assert_eq!(chatbot["spec"]["ports"][0]["port"], 80);
    assert_eq!(chatbot["spec"]["selector"]["app"], "chatbot");
    let bank = sim.store("bank").unwrap();
    for (ns, name) in [
        ("trustusbank-bank-agents", "waypoint"),
        ("trustusbank-bank-mcp", "waypoint"),
    ] {
        let gw = bank
            .get("gateway.networking.k8s.io/v1", "Gateway", Some(ns), name)
            .unwrap();
        assert_eq!(gw["spec"]["gatewayClassName"], "istio-waypoint");
    }
    assert_eq!(
        bank.get(
            "v1",
            "Service",
            Some("trustusbank-observability"),
            "grafana"
        )
        .unwrap()["spec"]["ports"][0]["port"],
        3000
    );
    let (coredns, _) = bank.list("v1", "Pod", Some("kube-system"));
    assert_eq!(
        coredns
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "coredns")
            .count(),
        2
    );
    assert!(
        vendor
            .get("v1", "Pod", Some("external-attacker"), "x")
            .is_none()
    );
    let (events, _) = vendor.list("v1", "Event", Some(VENDOR_NS));
    assert!(events.iter().any(
        |e| e["reason"] == "Started" && e["involvedObject"]["name"] == pod["metadata"]["name"]
    ));
}

#[tokio::test]
async fn the_kubeconfig_points_at_the_servers() {
    let (dir, sim) = default_sim().await;
    let state = dir.path().join("state");
    assert_eq!(
        sim.kubeconfig_path(),
        std::path::absolute(state.join("kubeconfig")).unwrap()
    );
    let kubeconfig = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    for c in sim.clusters() {
        assert!(kubeconfig.contains(&format!("server: {}", c.server)));
        assert!(kubeconfig.contains(&format!("- name: {}", c.context)));
    }
    assert!(kubeconfig.contains("current-context: kind-trustusbank-edge"));
    let names: Vec<String> = sim.clusters().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["edge", "bank", "vendor"]);
}

#[tokio::test]
async fn pods_per_cluster_adds_load_namespaces() {
    let opts = SimOptions {
        pods_per_cluster: Some(2000),
        ..SimOptions::default()
    };
    let started = Instant::now();
    let (_dir, sim) = start(opts, SimTuning::default()).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "slow start: {:?}",
        started.elapsed()
    );
    for c in sim.clusters() {
        let store = sim.store(&c.name).unwrap();
        let pods = store.count("v1", "Pod");
        assert!((2000..2010).contains(&pods), "{}: {pods}", c.name);
        assert!(store.get("v1", "Namespace", None, "load-0001").is_some());
    }
    // Still served quickly, all of it.
    let base = server(&sim, "bank");
    let started = Instant::now();
    let list = get_ok(&format!("{base}/api/v1/pods")).await;
    assert!(names(&list).len() >= 2000);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn churn_produces_modified_events() {
    let opts = SimOptions {
        churn_per_sec: 40.0,
        ..SimOptions::default()
    };
    let (_dir, sim) = start(opts, SimTuning::default()).await;
    let base = server(&sim, "bank");
    let rv = sim.store("bank").unwrap().resource_version();
    let mut watch = WatchLines::open(&format!(
        "{base}/api/v1/pods?watch=true&resourceVersion={rv}"
    ))
    .await;
    let event = watch.find(Duration::from_secs(5), |_| true).await;
    assert_eq!(event["type"], "MODIFIED");
    let event_rv: u64 = event["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(event_rv > rv);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_watcher_gets_expired_and_never_holds_up_writers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let tuning = SimTuning {
        history_window: 100,
        ..SimTuning::default()
    };
    let (_dir, sim) = start(SimOptions::default(), tuning).await;
    let base = server(&sim, "vendor");
    let addr = base.trim_start_matches("http://").to_string();
    let store = sim.store("vendor").unwrap();
    let rv = store.resource_version();

    // A client that asks for a watch and then does not read: a tiny receive buffer, so the
    // server's writes back up almost at once.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut conn = socket.connect(addr.parse().unwrap()).await.unwrap();
    let request = format!(
        "GET /api/v1/pods?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.active_watches() == 0 {
        assert!(Instant::now() < deadline, "watch never opened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Far more than socket buffers hold, and far more than the history window.
    let mut pod = pod_name_in(&sim, "vendor", VENDOR_NS, "currency-converter");
    pod["metadata"]["annotations"] = json!({"padding": "x".repeat(5000)});
    let started = Instant::now();
    for i in 0..3000 {
        pod["metadata"]["labels"]["n"] = json!(i.to_string());
        pod = store.update(pod).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "writers were held up"
    );

    // Reading now: whatever was buffered, then the in-stream 410, then the end.
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut body))
        .await
        .expect("server closed the lagging watch")
        .expect("read");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.starts_with("HTTP/1.1 200 OK"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        text.contains(r#""reason":"Expired""#),
        "no 410 in the stream"
    );
    let delivered = text.matches(r#""type":"MODIFIED""#).count();
    assert!(
        delivered < 3000,
        "a lagging watcher cannot have seen everything"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.active_watches() > 0 {
        assert!(Instant::now() < deadline, "expired watch not cleaned up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The DNS-rebinding guard: a request for another host name (what a page that rebinds its
/// name to 127.0.0.1 sends) is refused; loopback names are served.
#[tokio::test]
async fn only_loopback_hosts_are_served() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (_dir, sim) = default_sim().await;
    let base = server(&sim, "edge");
    let addr = base.trim_start_matches("http://").to_string();
    let ask = |host: String| {
        let addr = addr.clone();
        async move {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let request =
                format!("GET /version HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            conn.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let port = addr.rsplit(':').next().unwrap().to_string();
    for host in [
        addr.clone(),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let response = ask(host.clone()).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{host}: {response}");
    }
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1.nip.io".to_string(),
    ] {
        let response = ask(host.clone()).await;
        assert!(response.starts_with("HTTP/1.1 403"), "{host}: {response}");
        assert!(response.contains("loopback"), "{response}");
        assert!(!response.contains("gitVersion"), "nothing served to {host}");
    }
    sim.shutdown().await;
}
