//! Writes over plain HTTP against the simulator: create, replace, every PATCH flavour, delete
//! and deletecollection, dry runs, the `/scale` subresource, OpenAPI, and the Status objects a
//! real API server answers errors with. Each test starts its own simulator on free ports.

use std::time::{Duration, Instant};

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use serde_json::{Value, json};

const VENDOR_NS: &str = "trustusbank-bank-vendors";
const AP_BASE: &str =
    "/apis/security.istio.io/v1/namespaces/trustusbank-bank-vendors/authorizationpolicies";
const DEPLOY_BASE: &str = "/apis/apps/v1/namespaces/trustusbank-bank-vendors/deployments";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";

struct Sim {
    _dir: tempfile::TempDir,
    sim: SimHandle,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Sim {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().join("state"),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(60),
        ..SimTuning::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    let base = sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "vendor")
        .expect("vendor")
        .server;
    Sim {
        _dir: dir,
        sim,
        base,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.expect("request");
        let code = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({"raw": text}));
        (code, value)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(
            "POST",
            path,
            Some("application/json"),
            Some(body.to_string()),
        )
        .await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(
            "PUT",
            path,
            Some("application/json"),
            Some(body.to_string()),
        )
        .await
    }

    async fn patch(&self, path: &str, content_type: &str, body: Value) -> (u16, Value) {
        self.send("PATCH", path, Some(content_type), Some(body.to_string()))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None, None).await
    }

    async fn delete(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        let ct = body.as_ref().map(|_| "application/json");
        self.send("DELETE", path, ct, body.map(|b| b.to_string()))
            .await
    }

    fn store(&self) -> control_room_sim::ClusterStore {
        self.sim.store("vendor").expect("vendor store")
    }

    /// Poll the store until `check` holds.
    async fn until(&self, what: &str, check: impl Fn(&control_room_sim::ClusterStore) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let store = self.store();
        while !check(&store) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn ap(name: &str, action: &str) -> Value {
    json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
           "metadata": {"name": name, "namespace": VENDOR_NS, "labels": {"team": "sec"}},
           "spec": {"action": action}})
}

fn assert_status(body: &Value, code: u16, reason: &str) {
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["apiVersion"], "v1", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
}

/// A paused two-container Deployment: the controller leaves its pods alone, so patches can be
/// checked on the object by itself.
fn paused_deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": VENDOR_NS, "finalizers": ["a.example/x", "b.example/y", "c.example/z"]},
           "spec": {"paused": true, "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [
                                     {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
                                      "ports": [{"containerPort": 8080, "protocol": "TCP"}]},
                                     {"name": "sidecar", "image": "side:1"}]}}}})
}

#[tokio::test]
async fn create_get_and_create_errors() {
    let s = start().await;
    let annotation = "{\"apiVersion\":\"security.istio.io/v1\",\"kind\":\"AuthorizationPolicy\"}\n";
    let mut body = ap("default-deny", "DENY");
    body["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": annotation});
    body["metadata"]["uid"] = json!("client-chosen");
    body["status"] = json!({"ignored": true});
    let (code, created) = s.post(AP_BASE, body.clone()).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["kind"], "AuthorizationPolicy");
    assert_eq!(created["metadata"]["generation"], 1);
    assert_ne!(created["metadata"]["uid"], "client-chosen");
    assert!(created["metadata"]["creationTimestamp"].is_string());
    assert!(
        created.get("status").is_none(),
        "status is the server's: {created}"
    );
    assert_eq!(
        created["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        annotation
    );
    let (code, got) = s.get(&format!("{AP_BASE}/default-deny")).await;
    assert_eq!(code, 200);
    assert_eq!(got, created);

    let (code, status) = s.post(AP_BASE, body.clone()).await;
    assert_eq!(code, 409);
    assert_status(&status, 409, "AlreadyExists");
    assert_eq!(
        status["message"],
        "authorizationpolicies.security.istio.io \"default-deny\" already exists"
    );
    assert_eq!(
        status["details"],
        json!({"name": "default-deny", "group": "security.istio.io", "kind": "authorizationpolicies"})
    );

    // Body and path must agree.
    let mut wrong_kind = ap("x", "DENY");
    wrong_kind["kind"] = json!("Gateway");
    let (code, status) = s.post(AP_BASE, wrong_kind).await;
    assert_status(&status, 422, "Invalid");
    assert_eq!(code, 422);
    let mut wrong_version = ap("x", "DENY");
    wrong_version["apiVersion"] = json!("security.istio.io/v1beta1");
    assert_eq!(s.post(AP_BASE, wrong_version).await.0, 422);
    let mut wrong_ns = ap("x", "DENY");
    wrong_ns["metadata"]["namespace"] = json!("external-attacker");
    let (code, status) = s.post(AP_BASE, wrong_ns).await;
    assert_eq!(code, 422, "{status}");
    let mut nameless = ap("x", "DENY");
    nameless["metadata"].as_object_mut().unwrap().remove("name");
    let (code, status) = s.post(AP_BASE, nameless.clone()).await;
    assert_eq!(code, 422);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("metadata.name: Required value"),
        "{status}"
    );
    nameless["metadata"]["generateName"] = json!("generated-");
    let (code, generated) = s.post(AP_BASE, nameless).await;
    assert_eq!(code, 201);
    let name = generated["metadata"]["name"].as_str().unwrap();
    assert!(
        name.starts_with("generated-") && name.len() > "generated-".len(),
        "{name}"
    );

    // Missing fields default from the path.
    let (code, bare) = s
        .post(AP_BASE, json!({"metadata": {"name": "bare"}, "spec": {}}))
        .await;
    assert_eq!(code, 201, "{bare}");
    assert_eq!(bare["metadata"]["namespace"], VENDOR_NS);

    let (code, status) = s
        .send(
            "POST",
            AP_BASE,
            Some("application/json"),
            Some("{not json".into()),
        )
        .await;
    assert_eq!(code, 400);
    assert_status(&status, 400, "BadRequest");
    let (code, status) = s
        .send(
            "POST",
            AP_BASE,
            Some("application/vnd.kubernetes.protobuf"),
            Some("x".into()),
        )
        .await;
    assert_eq!(code, 415, "{status}");
    let missing_ns = "/apis/security.istio.io/v1/namespaces/nope/authorizationpolicies";
    let (code, status) = s.post(missing_ns, json!({"metadata": {"name": "x"}})).await;
    assert_eq!(code, 404);
    assert_eq!(status["message"], "namespaces \"nope\" not found");

    // YAML bodies are read too.
    let yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: from-yaml\nspec:\n  action: ALLOW\n";
    let (code, created) = s
        .send("POST", AP_BASE, Some("application/yaml"), Some(yaml.into()))
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["action"], "ALLOW");

    // Named paths take no POST.
    let (code, status) = s.post(&format!("{AP_BASE}/default-deny"), json!({})).await;
    assert_eq!(code, 405);
    assert_status(&status, 405, "MethodNotAllowed");
}

#[tokio::test]
async fn replace_checks_versions_and_keeps_status() {
    let s = start().await;
    let (_, created) = s.post(AP_BASE, ap("p", "DENY")).await;
    let path = format!("{AP_BASE}/p");
    let mut changed = created.clone();
    changed["spec"]["action"] = json!("ALLOW");
    let (code, replaced) = s.put(&path, changed.clone()).await;
    assert_eq!(code, 200, "{replaced}");
    assert_eq!(replaced["spec"]["action"], "ALLOW");
    assert_eq!(replaced["metadata"]["generation"], 2);
    assert_eq!(replaced["metadata"]["uid"], created["metadata"]["uid"]);
    let old_rv: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let new_rv: u64 = replaced["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new_rv > old_rv);

    // Stale version: 409 Conflict, nothing written.
    let (code, status) = s.put(&path, changed.clone()).await;
    assert_eq!(code, 409);
    assert_status(&status, 409, "Conflict");
    assert!(status["message"].as_str().unwrap().starts_with(
        "Operation cannot be fulfilled on authorizationpolicies.security.istio.io \"p\": the object has been modified"
    ));
    // Labels only: no new generation.
    let mut relabelled = replaced.clone();
    relabelled["metadata"]["labels"]["x"] = json!("y");
    let (code, relabelled) = s.put(&path, relabelled).await;
    assert_eq!(code, 200);
    assert_eq!(relabelled["metadata"]["generation"], 2);

    let (code, status) = s
        .put(&format!("{AP_BASE}/missing"), ap("missing", "DENY"))
        .await;
    assert_eq!(code, 404);
    assert_eq!(
        status["message"],
        "authorizationpolicies.security.istio.io \"missing\" not found"
    );
    let (code, _) = s.put(&path, ap("other-name", "DENY")).await;
    assert_eq!(code, 400);

    // A Deployment's status belongs to its controller, not to PUT.
    let (_, deploy) = s.get(&format!("{DEPLOY_BASE}/currency-converter")).await;
    let mut bogus = deploy.clone();
    bogus["status"] = json!({"replicas": 99});
    bogus["metadata"]["labels"]["touched"] = json!("yes");
    let (code, written) = s
        .put(&format!("{DEPLOY_BASE}/currency-converter"), bogus)
        .await;
    assert_eq!(code, 200, "{written}");
    assert_eq!(written["status"], deploy["status"]);
    assert_eq!(written["metadata"]["labels"]["touched"], "yes");
    assert_eq!(
        written["metadata"]["generation"],
        deploy["metadata"]["generation"]
    );
}

#[tokio::test]
async fn merge_and_json_patches_and_their_errors() {
    let s = start().await;
    s.post(AP_BASE, ap("p", "DENY")).await;
    let path = format!("{AP_BASE}/p");

    let (code, merged) = s
        .patch(&path, MERGE, json!({"metadata": {"labels": {"team": null, "tier": "1"}}, "spec": {"rules": [{"from": []}]}}))
        .await;
    assert_eq!(code, 200, "{merged}");
    assert_eq!(merged["metadata"]["labels"], json!({"tier": "1"}));
    assert_eq!(merged["spec"]["action"], "DENY");
    assert_eq!(merged["metadata"]["generation"], 2);

    let ops = json!([
        {"op": "test", "path": "/spec/action", "value": "DENY"},
        {"op": "replace", "path": "/spec/action", "value": "ALLOW"},
        {"op": "add", "path": "/metadata/annotations", "value": {"a": "1"}},
        {"op": "copy", "from": "/metadata/annotations/a", "path": "/metadata/annotations/b"},
        {"op": "move", "from": "/metadata/annotations/a", "path": "/metadata/annotations/c"},
        {"op": "remove", "path": "/spec/rules"},
    ]);
    let (code, patched) = s.patch(&path, JSON_PATCH, ops).await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["spec"], json!({"action": "ALLOW"}));
    assert_eq!(
        patched["metadata"]["annotations"],
        json!({"b": "1", "c": "1"})
    );

    let rv_before = s.store().resource_version();
    let (code, status) = s
        .patch(
            &path,
            JSON_PATCH,
            json!([{"op": "test", "path": "/spec/action", "value": "DENY"}]),
        )
        .await;
    assert_eq!(code, 422);
    assert_status(&status, 422, "Invalid");
    let (code, _) = s
        .patch(
            &path,
            JSON_PATCH,
            json!([{"op": "remove", "path": "/spec/nope"}]),
        )
        .await;
    assert_eq!(code, 422);
    let (code, _) = s.patch(&path, JSON_PATCH, json!({"op": "add"})).await;
    assert_eq!(code, 400);
    assert_eq!(
        s.store().resource_version(),
        rv_before,
        "failed patches write nothing"
    );

    // Identity is not patchable.
    let (code, _) = s.patch(&path, MERGE, json!({"kind": "Gateway"})).await;
    assert_eq!(code, 422);
    // A version in the patch is a precondition.
    let (code, status) = s
        .patch(&path, MERGE, json!({"metadata": {"resourceVersion": "1"}}))
        .await;
    assert_eq!(code, 409);
    assert_status(&status, 409, "Conflict");

    let (code, status) = s
        .patch(&format!("{AP_BASE}/missing"), MERGE, json!({}))
        .await;
    assert_eq!(code, 404);
    assert_status(&status, 404, "NotFound");

    // Custom resources refuse strategic merge, word for word like a real server.
    let (code, status) = s
        .patch(&path, STRATEGIC, json!({"spec": {"action": "DENY"}}))
        .await;
    assert_eq!(code, 415);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
               "reason": "UnsupportedMediaType", "code": 415})
    );
    let (code, status) = s.patch(&path, "application/json", json!({})).await;
    assert_eq!(code, 415);
    assert_status(&status, 415, "UnsupportedMediaType");
    let (code, status) = s
        .patch(
            &format!("{DEPLOY_BASE}/currency-converter"),
            "text/plain",
            json!({}),
        )
        .await;
    assert_eq!(code, 415);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("application/strategic-merge-patch+json")
    );
}

#[tokio::test]
async fn strategic_merge_patch_directives() {
    let s = start().await;
    let (code, created) = s.post(DEPLOY_BASE, paused_deployment("smp")).await;
    assert_eq!(code, 201, "{created}");
    let path = format!("{DEPLOY_BASE}/smp");
    let containers = |d: &Value| -> Vec<String> {
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap(),
                    c["image"].as_str().unwrap()
                )
            })
            .collect()
    };

    // What `kubectl set image` sends: merge by name, order kept.
    let (code, d) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"image": "app:2", "name": "app"}]}}}}),
        )
        .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(containers(&d), ["app=app:2", "sidecar=side:1"]);
    let app = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        app["env"],
        json!([{"name": "A", "value": "1"}]),
        "untouched fields stay"
    );
    assert_eq!(d["metadata"]["generation"], 2);

    // $setElementOrder reorders; nested env merges by name; ports by containerPort.
    let (_, d) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "containers": [{"name": "app", "env": [{"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 8080, "name": "http"}]}]}}}}),
        )
        .await;
    assert_eq!(containers(&d), ["sidecar=side:1", "app=app:2"]);
    let app = &d["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(app["env"].as_array().unwrap().len(), 2);
    assert_eq!(
        app["ports"],
        json!([{"containerPort": 8080, "name": "http", "protocol": "TCP"}])
    );

    // $patch: delete on a container.
    let (_, d) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}]}}}}),
        )
        .await;
    assert_eq!(containers(&d), ["app=app:2"]);

    // $deleteFromPrimitiveList on a merged primitive list.
    let (_, d) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b.example/y"]}}),
        )
        .await;
    assert_eq!(
        d["metadata"]["finalizers"],
        json!(["a.example/x", "c.example/z"])
    );

    // $retainKeys: switching strategy drops the rolling settings.
    let (code, d) = s
        .patch(&path, STRATEGIC, json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}))
        .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));

    // $patch: replace on a map.
    let (_, d) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "smp"}}}}),
        )
        .await;
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"app": "smp"}})
    );

    // Broken directives are refused without writing.
    let (code, status) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    let (code, _) = s
        .patch(
            &path,
            STRATEGIC,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "other": 1}}}),
        )
        .await;
    assert_eq!(code, 400);
    let (code, _) = s
        .patch(&path, STRATEGIC, json!(["not", "an", "object"]))
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn server_side_apply_creates_then_merges() {
    let s = start().await;
    let path = format!("{AP_BASE}/applied");
    let yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: applied\n  namespace: trustusbank-bank-vendors\nspec:\n  action: DENY\n";
    let apply = |body: String, query: &'static str| {
        let path = format!("{path}{query}");
        let s = &s;
        async move { s.send("PATCH", &path, Some(APPLY), Some(body)).await }
    };
    let (code, status) = apply(yaml.to_string(), "").await;
    assert_eq!(code, 422, "fieldManager is required: {status}");
    let (code, created) = apply(yaml.to_string(), "?fieldManager=kubectl&force=false").await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["action"], "DENY");
    // JSON body (what kubectl sends), adding a field.
    let body = json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                      "metadata": {"name": "applied", "namespace": VENDOR_NS, "labels": {"by": "ssa"}},
                      "spec": {"action": "ALLOW"}});
    let (code, merged) = apply(body.to_string(), "?fieldManager=kubectl&force=true").await;
    assert_eq!(code, 200, "{merged}");
    assert_eq!(merged["spec"]["action"], "ALLOW");
    assert_eq!(merged["metadata"]["labels"]["by"], "ssa");
    assert_eq!(merged["metadata"]["uid"], created["metadata"]["uid"]);
    let (code, _) = apply("metadata: [".to_string(), "?fieldManager=kubectl").await;
    assert_eq!(code, 400);
    let (code, _) = apply(
        json!({"metadata": {"name": "someone-else"}}).to_string(),
        "?fieldManager=kubectl",
    )
    .await;
    assert_eq!(code, 400, "name must match the URL");
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let s = start().await;
    s.post(AP_BASE, ap("kept", "DENY")).await;
    let rv = s.store().resource_version();
    let (code, created) = s
        .post(&format!("{AP_BASE}?dryRun=All"), ap("phantom", "DENY"))
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["name"], "phantom");
    assert_eq!(s.get(&format!("{AP_BASE}/phantom")).await.0, 404);
    let (code, patched) = s
        .patch(
            &format!("{AP_BASE}/kept?dryRun=All&fieldManager=x"),
            MERGE,
            json!({"spec": {"action": "ALLOW"}}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(patched["spec"]["action"], "ALLOW");
    let (code, deleted) = s.delete(&format!("{AP_BASE}/kept?dryRun=All"), None).await;
    assert_eq!(code, 200, "{deleted}");
    let (code, _) = s
        .delete(&format!("{AP_BASE}/kept"), Some(json!({"dryRun": ["All"]})))
        .await;
    assert_eq!(code, 200);
    let (_, kept) = s.get(&format!("{AP_BASE}/kept")).await;
    assert_eq!(kept["spec"]["action"], "DENY");
    assert_eq!(
        s.store().resource_version(),
        rv,
        "a dry run spends no resourceVersion"
    );
    let (code, status) = s
        .post(&format!("{AP_BASE}?dryRun=Some"), ap("x", "DENY"))
        .await;
    assert_eq!(code, 400, "{status}");
}

#[tokio::test]
async fn delete_one_and_delete_collection() {
    let s = start().await;
    let (_, created) = s.post(AP_BASE, ap("gone", "DENY")).await;
    let (code, status) = s
        .delete(&format!("{AP_BASE}/gone"), Some(json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})))
        .await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": "gone", "group": "security.istio.io", "kind": "authorizationpolicies",
                           "uid": created["metadata"]["uid"]}})
    );
    let (code, status) = s.delete(&format!("{AP_BASE}/gone"), None).await;
    assert_eq!(code, 404);
    assert_status(&status, 404, "NotFound");

    // Preconditions.
    s.post(AP_BASE, ap("guarded", "DENY")).await;
    let (code, status) = s
        .delete(
            &format!("{AP_BASE}/guarded"),
            Some(json!({"preconditions": {"uid": "someone-else"}})),
        )
        .await;
    assert_eq!(code, 409);
    assert_status(&status, 409, "Conflict");

    // deletecollection honours the label selector and answers with what it deleted.
    for (name, team) in [("a", "sec"), ("b", "sec"), ("c", "ops")] {
        let mut body = ap(name, "DENY");
        body["metadata"]["labels"]["team"] = json!(team);
        s.post(AP_BASE, body).await;
    }
    let (code, list) = s
        .delete(&format!("{AP_BASE}?labelSelector=team%3Dsec"), None)
        .await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["kind"], "AuthorizationPolicyList");
    let mut names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b", "guarded"]);
    let (_, left) = s.get(AP_BASE).await;
    let left: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["c"]);
    let (code, list) = s
        .delete("/apis/security.istio.io/v1/namespaces/trustusbank-bank-vendors/authorizationpolicies?fieldSelector=metadata.name%3Dc", None)
        .await;
    assert_eq!((code, list["items"].as_array().unwrap().len()), (200, 1));
}

#[tokio::test]
async fn pods_terminate_gracefully_and_their_replicaset_replaces_them() {
    let s = start().await;
    let store = s.store();
    let (pods, _) = store.list("v1", "Pod", Some(VENDOR_NS));
    let old = pods
        .iter()
        .find(|p| p["metadata"]["labels"]["app"] == "currency-converter")
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, pod) = s
        .delete(&format!("/api/v1/namespaces/{VENDOR_NS}/pods/{old}"), None)
        .await;
    assert_eq!(code, 200, "{pod}");
    assert_eq!(pod["kind"], "Pod", "pods answer with the object");
    assert!(pod["metadata"]["deletionTimestamp"].is_string(), "{pod}");
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    // Gone after a grace step, and a replacement runs.
    s.until("old pod removed and replacement running", |store| {
        let (pods, _) = store.list("v1", "Pod", Some(VENDOR_NS));
        let current: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "currency-converter")
            .collect();
        current.len() == 1
            && current[0]["metadata"]["name"] != old.as_str()
            && current[0]["status"]["phase"] == "Running"
    })
    .await;

    // Grace period 0: at once.
    let (pods, _) = store.list("v1", "Pod", Some(VENDOR_NS));
    let waypoint = pods
        .iter()
        .find(|p| p["metadata"]["labels"]["app"] == "waypoint")
        .unwrap();
    let name = waypoint["metadata"]["name"].as_str().unwrap();
    let (code, _) = s
        .delete(
            &format!("/api/v1/namespaces/{VENDOR_NS}/pods/{name}?gracePeriodSeconds=0"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert!(store.get("v1", "Pod", Some(VENDOR_NS), name).is_none());
}

#[tokio::test]
async fn deleting_owners_collects_dependents() {
    let s = start().await;
    let store = s.store();
    let rs_of = |store: &control_room_sim::ClusterStore, app: &str| {
        store
            .list("apps/v1", "ReplicaSet", Some(VENDOR_NS))
            .0
            .into_iter()
            .filter(|r| r["metadata"]["labels"]["app"] == app)
            .count()
    };
    let pods_of = |store: &control_room_sim::ClusterStore, app: &str| {
        store
            .list("v1", "Pod", Some(VENDOR_NS))
            .0
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == app)
            .count()
    };
    assert_eq!(rs_of(&store, "currency-converter"), 1);
    let (code, status) = s
        .delete(&format!("{DEPLOY_BASE}/currency-converter"), None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(status["status"], "Success", "{status}");
    s.until("replica sets and pods collected", |st| {
        rs_of(st, "currency-converter") == 0 && pods_of(st, "currency-converter") == 0
    })
    .await;

    // Orphan: the ReplicaSet stays, without its owner.
    let (code, _) = s
        .delete(
            &format!("{DEPLOY_BASE}/waypoint"),
            Some(json!({"propagationPolicy": "Orphan"})),
        )
        .await;
    assert_eq!(code, 200);
    // A barrier instead of a sleep: the controller handles deletions in order, so once a
    // later deletion's dependents are collected, the orphaned one has been handled too.
    let istiod_sets = |st: &control_room_sim::ClusterStore| {
        st.list("apps/v1", "ReplicaSet", Some("istio-system"))
            .0
            .into_iter()
            .filter(|r| r["metadata"]["labels"]["app"] == "istiod")
            .count()
    };
    assert_eq!(istiod_sets(&store), 1);
    let (code, _) = s
        .delete(
            "/apis/apps/v1/namespaces/istio-system/deployments/istiod",
            None,
        )
        .await;
    assert_eq!(code, 200);
    s.until("the barrier's replica set collected", |st| {
        istiod_sets(st) == 0
    })
    .await;
    let (sets, _) = store.list("apps/v1", "ReplicaSet", Some(VENDOR_NS));
    let waypoint = sets
        .iter()
        .find(|r| r["metadata"]["labels"]["app"] == "waypoint")
        .expect("orphan kept");
    assert_eq!(waypoint["metadata"]["ownerReferences"], json!([]));
    assert_eq!(pods_of(&store, "waypoint"), 1);

    // A namespace takes its contents along.
    let (code, ns) = s.delete("/api/v1/namespaces/external-attacker", None).await;
    assert_eq!(code, 200);
    assert_eq!(ns["kind"], "Namespace");
    s.until("namespace emptied", |st| {
        st.list("v1", "Pod", Some("external-attacker")).0.is_empty()
            && st
                .list("apps/v1", "Deployment", Some("external-attacker"))
                .0
                .is_empty()
            && st
                .list("v1", "Service", Some("external-attacker"))
                .0
                .is_empty()
    })
    .await;
}

#[tokio::test]
async fn scale_subresource_and_scaling() {
    let s = start().await;
    let path = format!("{DEPLOY_BASE}/currency-converter/scale");
    let (code, scale) = s.get(&path).await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"]["replicas"], 1);
    assert_eq!(scale["status"]["selector"], "app=currency-converter");
    let (code, scale) = s
        .patch(&path, MERGE, json!({"spec": {"replicas": 3}}))
        .await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["spec"]["replicas"], 3);
    s.until("three running currency-converter pods", |st| {
        st.list("v1", "Pod", Some(VENDOR_NS))
            .0
            .iter()
            .filter(|p| {
                p["metadata"]["labels"]["app"] == "currency-converter"
                    && p["status"]["phase"] == "Running"
            })
            .count()
            == 3
    })
    .await;
    s.until("deployment status caught up", |st| {
        let d = st
            .get(
                "apps/v1",
                "Deployment",
                Some(VENDOR_NS),
                "currency-converter",
            )
            .unwrap();
        d["status"]["availableReplicas"] == 3
            && d["status"]["readyReplicas"] == 3
            && d["status"]["replicas"] == 3
    })
    .await;
    let (code, _) = s
        .patch(&path, MERGE, json!({"spec": {"replicas": -1}}))
        .await;
    assert_eq!(code, 422);
    let deploy = format!("{DEPLOY_BASE}/currency-converter");
    let (code, status) = s
        .patch(&deploy, MERGE, json!({"spec": {"replicas": -1}}))
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["details"]["causes"][0]["field"], "spec.replicas");
    let (code, status) = s
        .put(
            &path,
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                           "metadata": {"name": "currency-converter", "resourceVersion": "1"},
                           "spec": {"replicas": 1}}),
        )
        .await;
    assert_eq!(code, 409, "{status}");
    let (code, _) = s
        .get(&format!("/api/v1/namespaces/{VENDOR_NS}/pods/x/scale"))
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn openapi_and_discovery_for_writers() {
    let s = start().await;
    let (code, root) = s.get("/openapi/v3").await;
    assert_eq!(code, 200);
    for gv in [
        "api/v1",
        "apis/apps/v1",
        "apis/security.istio.io/v1",
        "apis/gateway.networking.k8s.io/v1",
    ] {
        let url = root["paths"][gv]["serverRelativeURL"]
            .as_str()
            .unwrap_or_else(|| panic!("{gv}: {root}"));
        let (code, doc) = s.get(url).await;
        assert_eq!(code, 200, "{url}");
        let patches: Vec<&Value> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|p| p.get("patch"))
            .collect();
        assert!(!patches.is_empty(), "{gv}");
        for patch in patches {
            assert!(patch["x-kubernetes-group-version-kind"]["kind"].is_string());
            assert!(
                patch["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
            );
        }
    }
    assert_eq!(s.get("/openapi/v3/apis/nope/v1").await.0, 404);

    let resp = s
        .http
        .get(format!("{}/openapi/v2", s.base))
        .header(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    );
    let bytes = resp.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("fieldValidation"));

    let (_, apps) = s.get("/apis/apps/v1").await;
    let resources = apps["resources"].as_array().unwrap();
    let deployments = resources
        .iter()
        .find(|r| r["name"] == "deployments")
        .unwrap();
    let verbs: Vec<&str> = deployments["verbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        verbs,
        [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]
    );
    let scale = resources
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .expect("deployments/scale");
    assert_eq!(
        (scale["group"].as_str(), scale["kind"].as_str()),
        (Some("autoscaling"), Some("Scale"))
    );
    let (_, istio) = s.get("/apis/security.istio.io/v1").await;
    assert!(
        istio["resources"][0]["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "patch")
    );
}

#[tokio::test]
async fn status_subresource_writes_only_status() {
    let s = start().await;
    s.post(AP_BASE, ap("st", "DENY")).await;
    let path = format!("{AP_BASE}/st/status");
    let (code, patched) = s
        .patch(
            &path,
            MERGE,
            json!({"spec": {"action": "ALLOW"}, "status": {"validationMessages": []}}),
        )
        .await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["spec"]["action"], "DENY");
    assert_eq!(patched["status"], json!({"validationMessages": []}));
    let (_, got) = s.get(&path).await;
    assert_eq!(got["status"], json!({"validationMessages": []}));
}
