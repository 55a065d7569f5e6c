//! The engine driven by an injected clock over what the simulated mesh records: the demo's
//! two alerts going pending, firing and away; and the HTTP API as a client sees it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../../tests/it/tools.rs"]
mod tools;

use super::rules::Health;
use super::*;
use crate::services::Scope;
use crate::services::telemetry::{ConnectionAttempt, ConnectionKey, MeshTelemetry};

const CONVERTER: &str = "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + TimeDelta::milliseconds(250)
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn key(namespace: &str, workload: &str, destination_namespace: &str) -> ConnectionKey {
    ConnectionKey {
        cluster: "trustusbank-vendor".into(),
        source_principal: format!("spiffe://cluster.local/ns/{namespace}/sa/{workload}"),
        source_workload: workload.into(),
        source_workload_namespace: namespace.into(),
        destination_service_name: "mock-attacker".into(),
        destination_service_namespace: destination_namespace.into(),
        destination_principal: format!(
            "spiffe://cluster.local/ns/{destination_namespace}/sa/default"
        ),
    }
}

/// The converter in the bank's vendor namespace trying mock-attacker.
fn converter() -> ConnectionKey {
    key(
        "trustusbank-bank-vendors",
        "currency-converter",
        "external-attacker",
    )
}

fn attempt(mesh: &MeshTelemetry, key: &ConnectionKey, denied: bool) {
    mesh.record(ConnectionAttempt {
        key: key.clone(),
        at: t0(),
        source_ip: "10.30.1.7".into(),
        source_port: mesh.ephemeral_port(),
        source_node: "vendor-worker-1".into(),
        bytes: 64,
        denied: denied.then(|| "connection rejected by policy".to_string()),
    });
}

/// Scrape `mesh` into `engine` every second from `from` to `to` seconds (inclusive).
fn run(engine: &Engine, mesh: &MeshTelemetry, from: i64, to: i64) {
    for s in from..=to {
        engine.scrape_and_evaluate_at(at(s), mesh.samples(Scope::All));
    }
}

fn names(alerts: &[Alert]) -> Vec<(String, AlertState)> {
    alerts
        .iter()
        .map(|a| (a.labels.get("alertname").to_string(), a.state))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn the_demo_rules_load() {
    let groups = Engine::new().rule_groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "trustusbank-mesh-security");
    assert_eq!(groups[0].file, RULES_FILE);
    let rules: Vec<_> = groups[0]
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.hold_ms))
        .collect();
    assert_eq!(
        rules,
        [("IstioAuthZDeny", 5000), ("BankToAttackerAttempt", 5000)]
    );
    assert_eq!(Engine::new().scrape_status().rules_error, None);
}

#[test]
fn a_deny_goes_pending_fires_after_for_and_resolves_five_minutes_later() {
    let engine = Engine::new();
    let mesh = MeshTelemetry::default();
    // Nothing recorded, then one deny that stays at 1: Prometheus cannot see a series'
    // first increment, so no alert.
    run(&engine, &mesh, 0, 9);
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 10, 59);
    assert_eq!(names(&engine.alerts()), []);
    for group in engine.rule_groups() {
        for rule in &group.rules {
            assert_eq!(
                (rule.state(), rule.health),
                (AlertState::Inactive, Health::Ok)
            );
        }
    }

    // The second deny (and its attempt) at 60 s.
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 60, 60);
    let alerts = engine.alerts();
    assert_eq!(
        names(&alerts),
        [
            ("IstioAuthZDeny".to_string(), AlertState::Pending),
            ("BankToAttackerAttempt".to_string(), AlertState::Pending),
        ]
    );
    let deny = &alerts[0];
    assert_eq!(deny.active_at, at(60));
    let labels: Vec<(&str, &str)> = deny.labels.iter().collect();
    assert_eq!(
        labels,
        [
            ("alertname", "IstioAuthZDeny"),
            ("cluster", "trustusbank-vendor"),
            ("destination_service_name", "mock-attacker"),
            ("destination_service_namespace", "external-attacker"),
            ("dora_article", "10"),
            ("namespace", "trustusbank-observability"),
            ("severity", "critical"),
            ("source_principal", CONVERTER),
            ("source_workload", "currency-converter"),
            ("source_workload_namespace", "trustusbank-bank-vendors"),
        ]
    );
    // 51 samples from 10 s to 60 s, 1 → 2: the zero point is 50 s before the first sample,
    // beyond 1.1 intervals, so extrapolated by half an interval: 1 × (50 + 0.5) / 50, per
    // second of the 5-minute window.
    assert!(close(deny.value, 50.5 / 50.0 / 300.0), "{}", deny.value);
    assert_eq!(
        deny.annotations.get("description"),
        format!(
            "ztunnel on cluster trustusbank-vendor rejected an HBONE handshake.\n\
             offending pod: currency-converter\noffending SPIFFE: {CONVERTER}\n"
        )
    );
    assert_eq!(
        deny.annotations.get("summary"),
        "Istio AuthZ denied a connection — possible attack in progress"
    );
    // The opened and the failed series are summed into one alert.
    assert_eq!(alerts[1].labels.get("severity"), "warning");

    run(&engine, &mesh, 61, 64);
    assert!(
        engine
            .alerts()
            .iter()
            .all(|a| a.state == AlertState::Pending)
    );
    run(&engine, &mesh, 65, 65);
    let alerts = engine.alerts();
    assert!(alerts.iter().all(|a| a.state == AlertState::Firing));
    assert!(
        alerts.iter().all(|a| a.active_at == at(60)),
        "activeAt stays"
    );

    // The window still holds the sample before the increase at 359 s, not at 360 s.
    run(&engine, &mesh, 66, 359);
    assert_eq!(engine.alerts().len(), 2);
    run(&engine, &mesh, 360, 360);
    assert_eq!(names(&engine.alerts()), []);
    for group in engine.rule_groups() {
        for rule in &group.rules {
            assert_eq!(rule.state(), AlertState::Inactive, "{}", rule.name);
            assert_eq!(rule.active_alerts().count(), 0);
        }
    }

    // A new increase makes a new alert, active from then.
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 361, 361);
    let alerts = engine.alerts();
    assert_eq!(alerts.len(), 2);
    assert!(
        alerts
            .iter()
            .all(|a| a.state == AlertState::Pending && a.active_at == at(361))
    );
}

#[test]
fn allowed_connections_to_the_attacker_raise_only_bank_to_attacker_attempt() {
    let engine = Engine::new();
    let mesh = MeshTelemetry::default();
    let bank = key(
        "trustusbank-bank-agents",
        "support-bot",
        "external-attacker",
    );
    let outsider = key("acme-fx", "currency-converter", "external-attacker");
    let elsewhere = key(
        "trustusbank-bank-agents",
        "support-bot",
        "trustusbank-bank-mcp",
    );
    for k in [&bank, &outsider, &elsewhere] {
        attempt(&mesh, k, false);
    }
    run(&engine, &mesh, 0, 30);
    assert_eq!(names(&engine.alerts()), []);
    for k in [&bank, &outsider, &elsewhere] {
        attempt(&mesh, k, false);
    }
    run(&engine, &mesh, 31, 40);
    let alerts = engine.alerts();
    assert_eq!(
        names(&alerts),
        [("BankToAttackerAttempt".to_string(), AlertState::Firing)]
    );
    assert_eq!(
        alerts[0].labels.get("source_workload_namespace"),
        "trustusbank-bank-agents"
    );
    assert_eq!(alerts[0].labels.get("dora_article"), "17");
    assert!(
        alerts[0]
            .annotations
            .get("description")
            .starts_with("support-bot (trustusbank-bank-agents) on cluster trustusbank-vendor\n")
    );
}

#[test]
fn for_zero_fires_at_once_and_errors_are_reported_as_rule_health() {
    let yaml = "groups:\n- name: g\n  rules:\n  - alert: Now\n    expr: sum(x_total) > 0\n    \
                labels:\n      value: '{{ $value }}'\n  - alert: Clash\n    \
                expr: '{__name__=~\"x_total|y_total\"} * 1'\n";
    let engine = Engine::with_rules(yaml, "test.yaml").unwrap();
    let sample = |name: &'static str, value: f64| MetricSample {
        name,
        labels: vec![("a", "b".to_string())],
        value,
    };
    engine.scrape_and_evaluate_at(at(0), vec![sample("x_total", 3.0), sample("y_total", 1.0)]);
    let alerts = engine.alerts();
    assert_eq!(names(&alerts), [("Now".to_string(), AlertState::Firing)]);
    assert_eq!(
        alerts[0].labels.get("value"),
        "3",
        "rule labels are templates too"
    );
    let groups = engine.rule_groups();
    let clash = &groups[0].rules[1];
    assert_eq!(clash.health, Health::Err);
    assert_eq!(
        clash.last_error.as_deref(),
        Some("vector cannot contain metrics with the same labelset")
    );
    assert!(Engine::with_rules("groups: 3", "bad.yaml").is_err());
}

#[test]
fn memory_stays_bounded() {
    let engine = Engine::with_rules("groups: []", "none.yaml").unwrap();
    let mesh = MeshTelemetry::default();
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 0, 2000);
    let status = engine.scrape_status();
    assert_eq!(status.series, 3);
    assert_eq!(status.last_scrape, Some(at(2000)));
    let Ok(Value::Matrix(m)) = engine.query("istio_tcp_connections_failed_total[1h]", at(2000))
    else {
        panic!("not a matrix")
    };
    assert_eq!(m[0].points.len(), 901, "15 minutes of 1 s samples");
}

// --- HTTP ---

/// One HTTP/1.1 exchange with `router` over an in-memory connection: status, content type
/// and body.
async fn http(
    router: axum::Router,
    method: &str,
    target: &str,
    form: Option<&str>,
) -> (u16, String, String) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    crate::services::serve_connection(router, server);
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: localhost:9090\r\nConnection: close\r\n");
    let body = form.unwrap_or("");
    if form.is_some() {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    client.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(StdDuration::from_secs(5), client.read_to_end(&mut response))
        .await
        .expect("the response ends")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// An engine where the converter's deny alerts fire (at 65 s), and its API at `now`.
fn firing(now: i64) -> (Engine, axum::Router) {
    let engine = Engine::new();
    let mesh = MeshTelemetry::default();
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 0, 59);
    attempt(&mesh, &converter(), true);
    run(&engine, &mesh, 60, now);
    let router = api::routes(engine.clone(), Arc::new(move || at(now)));
    (engine, router)
}

fn json(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn alerts_and_rules_envelopes() {
    let (_, router) = firing(65);
    let (status, content_type, body) = http(router.clone(), "GET", "/api/v1/alerts", None).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert!(
        body.starts_with("{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{"),
        "{body}"
    );
    let doc = json(&body);
    let alerts = doc["data"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    let deny = &alerts[0];
    assert_eq!(deny["labels"]["alertname"], "IstioAuthZDeny");
    assert_eq!(deny["labels"]["source_principal"], CONVERTER);
    assert_eq!(deny["state"], "firing");
    assert_eq!(deny["activeAt"], "2025-01-01T00:01:00.25Z");
    // Evaluated at 65 s: 66 samples, 1 → 2, 1 × (65 + 0.5) / 65 / 300.
    assert_eq!(deny["value"], gofmt::float_e(65.5 / 65.0 / 300.0).as_str());
    assert_eq!(deny["value"], "3.3589743589743587e-03");
    assert!(
        deny["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("offending SPIFFE")
    );
    let keys: Vec<&str> = body.split("\"activeAt\"").collect();
    assert!(
        keys[0].contains("\"state\":\"firing\",") && keys[1].starts_with(":\"2025"),
        "field order"
    );

    let (status, _, body) = http(router.clone(), "GET", "/api/v1/rules", None).await;
    assert_eq!(status, 200);
    let doc = json(&body);
    assert_eq!(doc["status"], "success");
    let group = &doc["data"]["groups"][0];
    assert_eq!(group["name"], "trustusbank-mesh-security");
    assert_eq!(group["file"], RULES_FILE);
    assert_eq!(group["limit"], 0);
    assert_eq!(group["lastEvaluation"], "2025-01-01T00:01:05.25Z");
    assert!(body.contains("\"interval\":1,\"limit\":0,"), "{body}");
    let rule = &group["rules"][0];
    assert_eq!(rule["name"], "IstioAuthZDeny");
    assert_eq!(rule["state"], "firing");
    assert_eq!(rule["type"], "alerting");
    assert_eq!(rule["health"], "ok");
    assert_eq!(rule["labels"]["severity"], "critical");
    assert_eq!(rule["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(rule["alerts"][0]["state"], "firing");
    assert!(rule.get("lastError").is_none());
    assert!(
        body.contains("\"duration\":5,\"keepFiringFor\":0,"),
        "Go writes whole floats without a fraction: {body}"
    );
    assert!(
        rule["query"]
            .as_str()
            .unwrap()
            .starts_with("sum by (cluster, source_workload, source_workload_namespace, ")
    );
    assert_eq!(group["rules"].as_array().unwrap().len(), 2);

    let (_, _, body) = http(router.clone(), "GET", "/api/v1/rules?type=record", None).await;
    assert_eq!(
        json(&body)["data"]["groups"][0]["rules"],
        Json::Array(vec![])
    );
    let (_, _, body) = http(router.clone(), "GET", "/api/v1/rules?type=ALERT", None).await;
    assert_eq!(
        json(&body)["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, _, body) = http(router, "GET", "/api/v1/rules?type=bogus", None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"type\\\": not supported value \\\"bogus\\\"\"}"
    );
}

#[tokio::test]
async fn instant_queries() {
    let (_, router) = firing(65);
    let q = "sum%20by%20(source_workload)(istio_tcp_connections_failed_total)";
    let (status, _, body) = http(
        router.clone(),
        "GET",
        &format!("/api/v1/query?query={q}&time=1735689660.25"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":\
         {\"source_workload\":\"currency-converter\"},\"value\":[1735689660.250,\"2\"]}]}}"
    );
    // POST form, evaluated now (65 s) by default.
    let (status, _, body) = http(
        router.clone(),
        "POST",
        "/api/v1/query",
        Some("query=istio_tcp_connections_failed_total+%3E+1"),
    )
    .await;
    assert_eq!(status, 200);
    let doc = json(&body);
    assert_eq!(doc["data"]["resultType"], "vector");
    let result = &doc["data"]["result"][0];
    assert_eq!(
        result["metric"]["__name__"],
        "istio_tcp_connections_failed_total"
    );
    assert_eq!(result["metric"]["response_flags"], "CONNECT");
    assert_eq!(result["value"][0].as_f64(), Some(1735689665.25));
    assert_eq!(result["value"][1], "2");

    let (_, _, body) = http(
        router.clone(),
        "GET",
        "/api/v1/query?query=1%2B1&time=100",
        None,
    )
    .await;
    assert_eq!(
        body,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[100,\"2\"]}}"
    );

    let (_, _, body) = http(
        router.clone(),
        "GET",
        "/api/v1/query?query=istio_tcp_connections_failed_total%5B2s%5D",
        None,
    )
    .await;
    let doc = json(&body);
    assert_eq!(doc["data"]["resultType"], "matrix");
    assert_eq!(
        doc["data"]["result"][0]["values"].as_array().unwrap().len(),
        3
    );

    for (target, code, error_type, message) in [
        (
            "/api/v1/query?query=sum(",
            400,
            "bad_data",
            "invalid parameter \"query\": 1:5: parse error: unexpected end of input",
        ),
        (
            "/api/v1/query",
            400,
            "bad_data",
            "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        ),
        (
            "/api/v1/query?query=abs(x)",
            400,
            "bad_data",
            "is not supported by the control-room simulator",
        ),
        (
            "/api/v1/query?query=up&time=tomorrow",
            400,
            "bad_data",
            "invalid parameter \"time\": cannot parse \"tomorrow\" to a valid timestamp",
        ),
        (
            "/api/v1/query?query=%7B__name__%3D~%22istio_tcp_.*%22%7D%20*%201",
            422,
            "execution",
            "vector cannot contain metrics with the same labelset",
        ),
    ] {
        let (status, content_type, body) = http(router.clone(), "GET", target, None).await;
        assert_eq!(
            (status, content_type.as_str()),
            (code, "application/json"),
            "{target}: {body}"
        );
        let doc = json(&body);
        assert_eq!(doc["status"], "error", "{target}");
        assert_eq!(doc["errorType"], error_type, "{target}");
        assert!(
            doc["error"].as_str().unwrap().starts_with(message)
                || doc["error"].as_str().unwrap().contains(message),
            "{target}: {body}"
        );
        assert!(doc.get("data").is_none());
    }
}

#[tokio::test]
async fn range_queries() {
    let (_, router) = firing(120);
    let q =
        "sum(rate(istio_tcp_connections_failed_total%7Bresponse_flags%3D%22CONNECT%22%7D%5B1m%5D))";
    let start = at(60).timestamp_millis() as f64 / 1000.0;
    let (status, _, body) = http(
        router.clone(),
        "GET",
        &format!(
            "/api/v1/query_range?query={q}&start={start}&end={}&step=15s",
            start + 60.0
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1735689660.250,\""), "{body}");
    let doc = json(&body);
    let values = doc["data"]["result"][0]["values"].as_array().unwrap();
    let times: Vec<f64> = values.iter().map(|v| v[0].as_f64().unwrap()).collect();
    assert_eq!(
        times,
        [
            start,
            start + 15.0,
            start + 30.0,
            start + 45.0,
            start + 60.0
        ]
    );
    // The increase at 60 s leaves the 1-minute window at 120 s.
    let rates: Vec<f64> = values
        .iter()
        .map(|v| v[1].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(rates[..4].iter().all(|r| *r > 0.0), "{rates:?}");
    assert_eq!(rates[4], 0.0);

    let (status, _, _) = http(
        router.clone(),
        "POST",
        "/api/v1/query_range",
        Some("query=1&start=0&end=11000&step=1"),
    )
    .await;
    assert_eq!(status, 200, "exactly 11,000 steps are allowed");
    for (target, message) in [
        (
            "/api/v1/query_range?query=1&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/api/v1/query_range?query=1&start=10&end=5&step=1",
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range?query=1&start=0&end=5&step=0",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "/api/v1/query_range?query=1&start=0&end=5&step=-1s",
            "invalid parameter \"step\": cannot parse \"-1s\" to a valid duration",
        ),
        (
            "/api/v1/query_range?query=1&end=5&step=1",
            "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
        ),
        (
            "/api/v1/query_range?query=x%5B5m%5D&start=0&end=5&step=1",
            "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
        ),
    ] {
        let (status, _, body) = http(router.clone(), "GET", target, None).await;
        assert_eq!(status, 400, "{target}");
        let doc = json(&body);
        assert_eq!(
            (doc["status"].as_str(), doc["errorType"].as_str()),
            (Some("error"), Some("bad_data"))
        );
        assert_eq!(doc["error"], message, "{target}");
    }
}

#[tokio::test]
async fn health_page_and_unknown_paths() {
    let (_, router) = firing(65);
    let (status, _, body) = http(router.clone(), "GET", "/-/ready", None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "Prometheus Server is Ready.\n")
    );
    let (status, _, body) = http(router.clone(), "GET", "/-/healthy", None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "Prometheus Server is Healthy.\n")
    );
    let (status, _, body) = http(router.clone(), "GET", "/api/v1/nope", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        "{\"status\":\"error\",\"errorType\":\"not_found\",\"error\":\"unknown API endpoint /api/v1/nope\"}"
    );
    for path in ["/alerts", "/"] {
        let (status, content_type, body) = http(router.clone(), "GET", path, None).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            body.contains("control-room's simulator, not the real Prometheus"),
            "{body}"
        );
        assert!(
            body.contains("IstioAuthZDeny: <span class=\"state\">firing</span>"),
            "{body}"
        );
        assert!(body.contains("BankToAttackerAttempt: <span class=\"state\">firing</span>"));
        assert!(body.contains("source_principal=&quot;spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter&quot;"));
        assert!(body.contains("Istio AuthZ denied a connection"));
    }
}

#[tokio::test]
async fn the_services_scrape_in_the_background_until_dropped() {
    // The world: the ztunnels' counters reach Prometheus through the collectors.
    let stores = crate::world::CLUSTERS
        .iter()
        .map(|c| {
            let store = crate::store::ClusterStore::new(c.name, 100);
            crate::world::populate(c, &store, Utc::now(), Default::default()).unwrap();
            store
        })
        .collect();
    let services = crate::services::Services::new(stores);
    attempt(services.mesh_telemetry(), &converter(), true);
    let scraper = spawn_scrape_loop(&services);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(services.prometheus.scrape_status().series, 3);
    let (status, _, body) = http(
        router(services.clone()),
        "GET",
        "/api/v1/query?query=istio_tcp_connections_failed_total",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["data"]["result"][0]["value"][1], "1");
    drop(services);
    tokio::time::timeout(StdDuration::from_secs(3), scraper)
        .await
        .expect("the loop ends once the services are gone")
        .unwrap();
}

// --- Against the real thing ---

/// One second of scrapes: synthetic counters with constant, steady, stepped, resetting,
/// late, ending and intermittent series, and the mesh's own counters as the converter and a
/// bank workload try the attacker.
fn differential_scrapes(last: i64) -> Vec<Vec<MetricSample>> {
    let mesh = MeshTelemetry::default();
    let bank = key(
        "trustusbank-bank-agents",
        "support-bot",
        "external-attacker",
    );
    let mut scrapes = Vec::new();
    for t in 0..=last {
        match t {
            0 | 100 => attempt(&mesh, &bank, false),
            20 | 60 | 200 => attempt(&mesh, &converter(), true),
            _ => {}
        }
        let counter = |a: &str, b: &str, value: f64| MetricSample {
            name: "c_total",
            labels: vec![("a", a.to_string()), ("b", b.to_string())],
            value,
        };
        let mut scrape = mesh.samples(Scope::All);
        scrape.push(counter("const", "1", 5.0));
        scrape.push(counter("steady", "1", t as f64));
        scrape.push(counter("step", "2", 1.0 + (t / 200) as f64));
        scrape.push(counter("reset", "2", ((t % 50) * 3) as f64));
        if t >= 250 {
            scrape.push(counter(
                "late",
                "1",
                [1.0, 2.0, 5.0][((t - 250) / 10).min(2) as usize],
            ));
        }
        if t <= 150 {
            scrape.push(counter("early", "2", t as f64 * 0.5));
        }
        if t % 7 == 0 {
            scrape.push(counter("sparse", "1", (t / 7) as f64));
        }
        // Irregular gaps, so the edges of a window fall on either side of 1.1 intervals.
        if t % 10 < 2 || t % 13 == 0 {
            scrape.push(counter("jitter", "2", (t * 3 % 100) as f64));
        }
        scrape.push(MetricSample {
            name: "g_total",
            labels: vec![("kind", "g".to_string())],
            value: (t * t % 1000) as f64 / 8.0,
        });
        scrapes.push(scrape);
    }
    scrapes
}

fn series_desc(labels: &Labels) -> String {
    let name = labels.get("__name__");
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(n, _)| *n != "__name__")
        .map(|(n, v)| format!("{n}={}", gofmt::quote(v)))
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

fn yaml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[test]
fn promql_and_alerts_agree_with_promtool_2_42() {
    // CI (`.ci/run` installs Debian's prometheus 2.42) must never skip this.
    let Some(promtool) = tools::require_with_override("CONTROL_ROOM_PROMTOOL", "promtool") else {
        return;
    };
    let Ok(version) = std::process::Command::new(&promtool)
        .arg("--version")
        .output()
    else {
        tools::skip(&format!(
            "a promtool that runs ({} does not)",
            promtool.display()
        ));
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).to_string()
        + &String::from_utf8_lossy(&version.stderr);
    if !version.contains("version 2.42.") {
        tools::skip(&format!(
            "promtool 2.42, the version compared against (found {})",
            version.lines().next().unwrap_or("?")
        ));
        return;
    }
    const LAST: i64 = 620;
    let epoch = |t: i64| DateTime::from_timestamp(t, 0).unwrap();
    let mut eval_times: Vec<i64> = vec![
        0, 1, 2, 20, 21, 30, 59, 60, 61, 62, 64, 65, 66, 100, 101, 105, 120, 150, 151, 152, 155,
        199, 200, 201, 205, 250, 251, 255, 260, 261, 300, 301, 330, 359, 360, 399, 400, 420, 499,
        500, 559, 560, 561, 599, 600, 620,
    ];
    eval_times.extend((3..LAST).step_by(11));
    eval_times.sort();
    eval_times.dedup();
    // Queries also between scrapes (milliseconds).
    let between = (0..LAST * 1000).step_by(7_919);
    let query_times_ms: Vec<i64> = eval_times.iter().map(|t| t * 1000).chain(between).collect();
    let queries = [
        "c_total",
        "c_total offset 1m",
        "{__name__=~\"c_.*\", a!~\"s.+\"}",
        "rate(c_total[5m])",
        "rate(c_total[1m])",
        "increase(c_total[2m])",
        "irate(c_total[30s])",
        "rate(c_total[10s] offset 30s)",
        "rate(g_total[1m30s])",
        // Float sums depend on the order of the series, which promtool loads from a Go map:
        // sums of at most two terms and averages of halves are exact in any order.
        "sum by (b) (rate(c_total{a=~\"steady|late\"}[5m]))",
        "sum(rate({__name__=~\"c_total|g_total\", a=~\"s.*|\"}[5m])) by (a)",
        "count without (a) (c_total)",
        "avg by (b) (c_total{a=~\"const|steady|step\"})",
        "avg(rate(c_total{a=\"steady\"}[1m]))",
        "max by (b) (c_total)",
        "min(increase(c_total[5m]))",
        "sum by (a) (rate(c_total[5m])) > 0",
        "rate(c_total[5m]) > bool 0.001",
        "increase(c_total[1m]) * 60 - 1",
        "-c_total % 7",
        "2 ^ c_total{a=\"step\"}",
        "(1 + c_total) / 4",
        "0.5 < c_total",
        "sum(istio_tcp_connections_opened_total)",
        "sum by (source_workload, response_flags) (increase({__name__=~\"istio_tcp_connections_(opened|failed)_total\"}[5m]))",
    ];
    let rule_exprs: Vec<String> = Engine::new()
        .rule_groups()
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| r.expr.to_string()))
        .collect();

    let engine = Engine::new();
    let scrapes = differential_scrapes(LAST);
    let mut series: std::collections::BTreeMap<String, Vec<Option<f64>>> = Default::default();
    let mut firing = Vec::new();
    for (t, scrape) in scrapes.iter().enumerate() {
        for sample in scrape {
            let labels = Labels::new(
                sample
                    .labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .chain([("__name__".to_string(), sample.name.to_string())]),
            );
            series
                .entry(series_desc(&labels))
                .or_insert_with(|| vec![None; scrapes.len()])[t] = Some(sample.value);
        }
        let t = t as i64;
        engine.scrape_and_evaluate_at(epoch(t), scrape.clone());
        if eval_times.contains(&t) {
            firing.push((t, engine.alerts()));
        }
    }

    let mut yaml = format!(
        "rule_files:\n  - {}\nevaluation_interval: 1s\ntests:\n  - interval: 1s\n    input_series:\n",
        yaml_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../demo-scripts/prometheus/alert-rules.yaml"
        ))
    );
    for (desc, values) in &series {
        let mut seen = false;
        let text: Vec<String> = values
            .iter()
            .map(|v| match v {
                Some(v) => {
                    seen = true;
                    format!("{v:?}")
                }
                None if seen => {
                    seen = false;
                    "stale".to_string()
                }
                None => "_".to_string(),
            })
            .collect();
        yaml.push_str(&format!(
            "      - series: {}\n        values: '{}'\n",
            yaml_string(desc),
            text.join(" ")
        ));
    }
    yaml.push_str("    promql_expr_test:\n");
    let mut checked = 0;
    for query in queries.iter().map(|q| q.to_string()).chain(rule_exprs) {
        for &ms in &query_times_ms {
            let when = DateTime::from_timestamp_millis(ms).unwrap();
            let samples = match engine.query(&query, when) {
                Ok(Value::Vector(samples)) => samples,
                other => panic!("{query} at {ms} ms: {other:?}"),
            };
            yaml.push_str(&format!(
                "      - expr: {}\n        eval_time: {ms}ms\n        exp_samples:{}\n",
                yaml_string(&query),
                if samples.is_empty() { " []" } else { "" }
            ));
            for sample in samples {
                assert!(sample.value.is_finite(), "{query} at {ms} ms");
                yaml.push_str(&format!(
                    "          - labels: {}\n            value: {:?}\n",
                    yaml_string(&series_desc(&sample.labels)),
                    sample.value
                ));
                checked += 1;
            }
        }
    }
    yaml.push_str("    alert_rule_test:\n");
    let mut fired = 0;
    for (t, alerts) in &firing {
        for name in ["IstioAuthZDeny", "BankToAttackerAttempt"] {
            let mine: Vec<&Alert> = alerts
                .iter()
                .filter(|a| a.labels.get("alertname") == name && a.state == AlertState::Firing)
                .collect();
            yaml.push_str(&format!(
                "      - eval_time: {t}s\n        alertname: {name}\n        exp_alerts:{}\n",
                if mine.is_empty() { " []" } else { "" }
            ));
            for alert in mine {
                fired += 1;
                let map = |labels: &Labels, skip: &str| {
                    labels
                        .iter()
                        .filter(|(n, _)| *n != skip)
                        .map(|(n, v)| format!("              {n}: {}\n", yaml_string(v)))
                        .collect::<String>()
                };
                yaml.push_str(&format!(
                    "          - exp_labels:\n{}            exp_annotations:\n{}",
                    map(&alert.labels, "alertname"),
                    map(&alert.annotations, "")
                ));
            }
        }
    }
    assert!(
        checked > 1000 && fired > 20,
        "the comparison covers little: {checked} samples, {fired} alerts"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("differential-test.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let out = std::process::Command::new(&promtool)
        .args(["test", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Prometheus 2.42 disagrees with the simulator:\n{}",
        report
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(60)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
