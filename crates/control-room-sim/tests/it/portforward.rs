//! Port-forward against the simulator, through kube-rs 5 (`Api::<Pod>::portforward`): the
//! programs behind the walkthrough's tabs answer real HTTP/1.1 over the forwarded stream,
//! refused ports read like the kubelet's, many forwards run at once and big bodies arrive
//! intact. (control-room's own forwarder following a rollout is tested in the app's suite.)

use std::time::Duration;

use control_room_sim::ExfilEvent;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::support::{client, pod_of, start};

const WAIT: Duration = Duration::from_secs(10);

/// One HTTP/1.1 exchange (`Connection: close`) over a forwarded stream: status and body.
async fn exchange<S>(mut stream: S, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.flush().await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("response read");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let rest = &raw[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
    {
        assert_eq!(len.trim().parse::<usize>().unwrap(), body.len(), "{head}");
    }
    (status, body)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&rest[..line_end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Forward `port` of the pod and make one request on it.
async fn request(
    pods: &Api<Pod>,
    pod: &str,
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut forwarder = pods.portforward(pod, &[port]).await.expect("port-forward");
    let stream = forwarder.take_stream(port).expect("stream");
    let answer = exchange(stream, method, path, body).await;
    tokio::time::timeout(WAIT, forwarder.join())
        .await
        .expect("the forward ends once the exchange is over")
        .ok();
    answer
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// cluster, namespace, app, port, method, path, expected status, body fragment.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

#[tokio::test]
async fn every_tab_answers_over_a_port_forward() {
    let (_dir, sim) = start().await;
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("edge",   "trustusbank-bank-frontend", "chatbot",       80,   "GET",  "/",                  200, "TrustUsBank customer chat (simulated)"),
        ("edge",   "trustusbank-bank-frontend", "chatbot",       80,   "GET",  "/healthz",           200, "ok"),
        ("edge",   "trustusbank-bank-frontend", "chatbot",       80,   "POST", "/api/a2a/trustusbank-bank-agents/support-bot/", 200,
            r#""code":-32700"#),
        ("vendor", "external-attacker",         "mock-attacker", 8080, "GET",  "/",                  200, "<span id=\"exfil-count\">0</span>"),
        ("vendor", "external-attacker",         "mock-attacker", 8080, "GET",  "/api/exfil",         200, r#""count":0"#),
        ("bank",   "trustusbank-observability", "prometheus",    9090, "GET",  "/-/ready",           200, "Prometheus Server is Ready."),
        ("bank",   "trustusbank-observability", "prometheus",    9090, "GET",  "/-/healthy",         200, "Prometheus Server is Healthy."),
        ("bank",   "trustusbank-observability", "prometheus",    9090, "GET",  "/alerts",            200, "Simulated Prometheus"),
        ("bank",   "trustusbank-observability", "prometheus",    9090, "GET",  "/api/v1/query?query=up", 200, r#""resultType":"vector""#),
        ("bank",   "trustusbank-observability", "prometheus",    9090, "GET",  "/api/v1/alerts",     200, r#"{"status":"success","data":{"alerts":[]}}"#),
        ("vendor", "istio-system",              "ztunnel",       15020, "GET", "/stats/prometheus",  200, "# TYPE istio_tcp_connections_failed_total counter"),
        ("vendor", "istio-system",              "ztunnel",       15020, "GET", "/healthz/ready",     200, "ready"),
        ("bank",   "trustusbank-platform",      "agentregistry", 8080, "GET",  "/api/v1/servers",    200, r#""name":"currency-converter""#),
        ("bank",   "trustusbank-platform",      "agentregistry", 8080, "GET",  "/",                  200, r#""count":4"#),
        ("bank",   "trustusbank-observability", "grafana",       3000, "GET",  "/d/dora-evidence",   200, "not the real Grafana"),
        ("bank",   "trustusbank-observability", "mailhog",       8025, "GET",  "/",                  200, "not the real MailHog"),
        ("bank",   "trustusbank-platform",      "kagent-ui",     8080, "GET",  "/",                  200, "not the real kagent UI"),
        ("bank",   "gloo-mesh",                 "gloo-mesh-ui",  8090, "GET",  "/",                  200, "not the real Solo"),
    ];
    for (cluster, namespace, app, port, method, path, status, fragment) in cases {
        let pods: Api<Pod> = Api::namespaced(client(&sim, cluster).await, namespace);
        let pod = pod_of(&sim, cluster, namespace, app);
        let (code, body) = request(&pods, &pod, *port, method, path, b"").await;
        let body = text(&body);
        assert_eq!(code, *status, "{app} {path}: {body}");
        assert!(body.contains(fragment), "{app} {path}: {body}");
    }

    // The catalogue: the four MCP servers with their images, the vendor one read live.
    let pods: Api<Pod> = Api::namespaced(client(&sim, "bank").await, "trustusbank-platform");
    let pod = pod_of(&sim, "bank", "trustusbank-platform", "agentregistry");
    let (_, body) = request(&pods, &pod, 8080, "GET", "/api/v1/servers", b"").await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "account-mcp",
            "transaction-mcp",
            "ticket-mcp",
            "currency-converter"
        ]
    );
    let cc = &doc["servers"][3];
    assert_eq!(cc["cluster"], "trustusbank-vendor");
    assert_eq!(cc["namespace"], "trustusbank-bank-vendors");
    assert_eq!(cc["tools"], json!(["convert_currency"]));
    assert_eq!(cc["image"], "currency-converter:1.0.0");
    assert_eq!(cc["runningImages"], json!(["currency-converter:1.0.0"]));

    // What the ledger records, the attacker's pages and the honest pages show.
    sim.exfil().record(ExfilEvent {
        at: chrono::Utc::now(),
        source: "10.30.1.7".into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": "Alex Carter"}),
    });
    let pods: Api<Pod> = Api::namespaced(client(&sim, "vendor").await, "external-attacker");
    let pod = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let (_, body) = request(&pods, &pod, 8080, "GET", "/api/exfil", b"").await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["count"], 1);
    assert_eq!(doc["events"][0]["stolenData"]["name"], "Alex Carter");
    let pods: Api<Pod> = Api::namespaced(client(&sim, "bank").await, "trustusbank-observability");
    let pod = pod_of(&sim, "bank", "trustusbank-observability", "grafana");
    let (_, body) = request(&pods, &pod, 3000, "GET", "/", b"").await;
    assert!(text(&body).contains("<span id=\"exfil-count\">1</span>"));
    sim.shutdown().await;
}

#[tokio::test]
async fn several_ports_in_one_forward_and_a_refused_one() {
    let (_dir, sim) = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&sim, "bank").await, "trustusbank-observability");
    let pod = pod_of(&sim, "bank", "trustusbank-observability", "grafana");
    let mut forwarder = pods.portforward(&pod, &[3000, 9999]).await.unwrap();
    let refused = forwarder.take_error(9999).unwrap();
    let message = tokio::time::timeout(WAIT, refused)
        .await
        .expect("error in time")
        .expect("an error message");
    assert!(
        message.starts_with("error forwarding port 9999 to pod "),
        "{message}"
    );
    assert!(
        message.contains("failed to connect to localhost:9999 inside namespace"),
        "{message}"
    );
    assert!(message.contains("connect: connection refused"), "{message}");
    // The other port of the same forward still works.
    let stream = forwarder.take_stream(3000).unwrap();
    let (code, body) = exchange(stream, "GET", "/api/health", b"").await;
    assert_eq!(code, 200);
    assert!(text(&body).contains(r#""database":"ok""#));
    drop(forwarder.take_stream(9999));
    tokio::time::timeout(WAIT, forwarder.join())
        .await
        .expect("forward ends")
        .ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_listening_missing_pods_and_finished_pods() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "trustusbank-bank-vendors");

    // The currency-converter runs, but no simulated program listens in it (yet).
    let pod = pod_of(
        &sim,
        "vendor",
        "trustusbank-bank-vendors",
        "currency-converter",
    );
    let mut forwarder = pods.portforward(&pod, &[8080]).await.unwrap();
    let error = forwarder.take_error(8080).unwrap();
    let message = tokio::time::timeout(WAIT, error).await.unwrap().unwrap();
    assert!(
        message.starts_with("error forwarding port 8080 to pod "),
        "{message}"
    );
    assert!(message.contains("connection refused"), "{message}");
    let mut stream = forwarder.take_stream(8080).unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
        .await
        .expect("the refused stream ends")
        .ok();
    assert!(rest.is_empty());

    // No such pod: the API server's 404, before any upgrade.
    match pods.portforward("no-such-pod", &[8080]).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
            assert!(status.message.contains("pods \"no-such-pod\" not found"));
        }
        Err(other) => panic!("expected a 404 Status, got {other}"),
        Ok(_) => panic!("expected a 404 Status, got a forward"),
    }

    // A pod that ran to completion.
    let store = sim.store("vendor").unwrap();
    store
        .create(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "done-job", "namespace": "trustusbank-bank-vendors"},
            "spec": {"nodeName": "trustusbank-vendor-worker",
                     "containers": [{"name": "job", "image": "busybox:1.36"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{
                "name": "job", "ready": false, "restartCount": 0, "image": "busybox:1.36",
                "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
        }))
        .unwrap();
    match pods.portforward("done-job", &[8080]).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert!(status.message.contains("not running"), "{}", status.message);
        }
        Err(other) => panic!("expected a 400 Status, got {other}"),
        Ok(_) => panic!("expected a 400 Status, got a forward"),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_forwards_at_once_and_big_bodies() {
    let (_dir, sim) = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&sim, "vendor").await, "external-attacker");
    let pod = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50usize {
        let (pods, pod) = (pods.clone(), pod.clone());
        tasks.spawn(async move {
            let n = 1000 + i * 997;
            let path = format!("/_sim/download?bytes={n}");
            let (code, body) = request(&pods, &pod, 8080, "GET", &path, b"").await;
            (i, n, code, body)
        });
    }
    let mut finished = 0;
    while let Some(result) = tasks.join_next().await {
        let (i, n, code, body) = result.expect("task");
        assert_eq!(code, 200, "forward {i}");
        assert_eq!(body.len(), n, "forward {i}");
        assert!(
            body.iter()
                .enumerate()
                .all(|(k, b)| *b == b"0123456789abcdefghijklmnopqrstuvwxyz\n"[k % 37]),
            "forward {i} bytes"
        );
        finished += 1;
    }
    assert_eq!(finished, 50);

    // 5 MB down, and 5 MB up and back.
    let big = 5 * 1024 * 1024;
    let (code, body) = request(
        &pods,
        &pod,
        8080,
        "GET",
        &format!("/_sim/download?bytes={big}"),
        b"",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body.len(), big);
    assert!(
        body.iter()
            .enumerate()
            .all(|(k, b)| *b == b"0123456789abcdefghijklmnopqrstuvwxyz\n"[k % 37])
    );
    let upload: Vec<u8> = (0..big).map(|i| (i * 7 % 251) as u8).collect();
    let (code, body) = request(&pods, &pod, 8080, "POST", "/_sim/echo", &upload).await;
    assert_eq!(code, 200);
    assert!(body == upload, "echoed body differs ({} bytes)", body.len());

    // Every forward above was closed by its client: none is left open on the server.
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.open_port_forwards() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} forwards still open",
            sim.open_port_forwards()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_client_that_hangs_up_ends_the_forward() {
    let (_dir, sim) = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&sim, "edge").await, "trustusbank-bank-frontend");
    let pod = pod_of(&sim, "edge", "trustusbank-bank-frontend", "chatbot");
    let mut forwarder = pods.portforward(&pod, &[80]).await.unwrap();
    let mut stream = forwarder.take_stream(80).unwrap();
    // A keep-alive request: the program would hold the connection open.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(text(&buf[..n]).starts_with("HTTP/1.1 200 OK"));
    assert_eq!(sim.open_port_forwards(), 1);
    drop(stream);
    tokio::time::timeout(WAIT, forwarder.join())
        .await
        .expect("forward ends when the client hangs up")
        .ok();
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.open_port_forwards() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "forward left open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.shutdown().await;
}
