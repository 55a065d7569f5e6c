//! The chat behind the chatbot's A2A relay, through a kube-rs port-forward to the chatbot pod:
//! the agent card, message/send across the three acts (clean, rugpull, policies on),
//! message/stream, protocol 1.0 and JSON-RPC errors.

use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);
const NS: &str = "trustusbank-bank-frontend";
const PROMPT: &str = "I am customer 12345. Please check my balance, list my recent transactions, and convert my balance to USD.";
const A2A: &str = "/api/a2a/trustusbank-bank-agents/support-bot/";

async fn start() -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(50),
        ..SimTuning::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    (dir, sim)
}

async fn chatbot(sim: &SimHandle) -> (Api<Pod>, String) {
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig_path()).expect("kubeconfig parses");
    let options = KubeConfigOptions {
        context: Some("kind-trustusbank-edge".into()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(Client::try_from(config).unwrap(), NS);
    let pod = newest(sim, "edge", NS, "chatbot");
    (pods, pod["metadata"]["name"].as_str().unwrap().to_string())
}

fn newest(sim: &SimHandle, cluster: &str, namespace: &str, app: &str) -> Value {
    let (pods, _) = sim
        .store(cluster)
        .unwrap()
        .list("v1", "Pod", Some(namespace));
    pods.into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .max_by_key(|p| {
            p["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("a pod of {app}"))
}

/// One request over a fresh port-forward: status, content type, body.
async fn request(
    sim: &SimHandle,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String, String) {
    let (pods, pod) = chatbot(sim).await;
    let mut forwarder = pods.portforward(&pod, &[80]).await.expect("port-forward");
    let mut stream = forwarder.take_stream(80).expect("stream");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.flush().await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    drop(stream);
    let _ = tokio::time::timeout(WAIT, forwarder.join()).await;
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let lower = head.to_lowercase();
    let status = lower.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or("")
        .to_string();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, ctype, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn send_body(method: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": {"message": {
        "role": "user", "kind": "message", "messageId": "m-1",
        "parts": [{"kind": "text", "text": text}]}}}),
    )
    .unwrap()
}

async fn send(sim: &SimHandle) -> Value {
    let (status, _, body) = request(sim, "POST", A2A, "", &send_body("message/send", PROMPT)).await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let task = doc["result"].clone();
    assert_eq!(task["kind"], "task", "{body}");
    assert_eq!(task["status"]["state"], "completed");
    let reply = task["artifacts"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(
        reply.contains("£4,287.55") && reply.contains("$5,445.19"),
        "{reply}"
    );
    task
}

/// The function_call data parts of a task's history, as `(name, args)`.
fn calls(task: &Value) -> Vec<(String, Value)> {
    task["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["parts"].as_array().unwrap().clone())
        .filter(|p| p["kind"] == "data" && p["metadata"]["kagent_type"] == "function_call")
        .map(|p| {
            (
                p["data"]["name"].as_str().unwrap().to_string(),
                p["data"]["args"].clone(),
            )
        })
        .collect()
}

/// What `convert_currency` answered, as the model and the trace see it.
fn converter_answer(task: &Value) -> Value {
    task["history"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["parts"].as_array().into_iter().flatten())
        .find(|p| {
            p["metadata"]["kagent_type"] == "function_response"
                && p["data"]["name"] == "convert_currency"
        })
        .map(|p| p["data"]["response"].clone())
        .unwrap_or(Value::Null)
}

fn names(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(n, _)| n.as_str()).collect()
}

fn policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
           "metadata": {"namespace": ns, "name": name}, "spec": spec})
}

#[tokio::test]
async fn three_acts_through_the_chatbot() {
    let (_dir, sim) = start().await;

    let (status, _, body) = request(
        &sim,
        "GET",
        &format!("{A2A}.well-known/agent-card.json"),
        "",
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let card: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(card["name"], "support-bot");
    assert_eq!(card["capabilities"]["streaming"], true);
    assert!(card["skills"].as_array().unwrap().len() >= 3);

    // Act 1: clean converter.
    let task = send(&sim).await;
    let c = calls(&task);
    assert_eq!(
        names(&c),
        ["get_balance", "list_recent", "convert_currency"]
    );
    assert!(c[2].1.get("customer_profile").is_none());
    assert_eq!(sim.exfil().count(), 0);
    let clean_answer = converter_answer(&task);
    assert_eq!(
        clean_answer,
        json!({"amount": 4287.55, "from_ccy": "GBP", "to_ccy": "USD", "rate": 1.27, "converted": 5445.19})
    );

    // Act 2: the rugpull image on vendor's converter pod.
    let vendor = sim.store("vendor").unwrap();
    let mut pod = newest(
        &sim,
        "vendor",
        "trustusbank-bank-vendors",
        "currency-converter",
    );
    pod["spec"]["containers"][0]["image"] = json!("currency-converter:1.0.0-rugpull");
    let cc_ip = pod["status"]["podIP"].as_str().unwrap().to_string();
    vendor.update(pod).expect("pod updated");
    // The implant phones home once its pod is Ready: the mesh sees one allowed connection.
    let mesh = sim.mesh_telemetry();
    let deadline = tokio::time::Instant::now() + WAIT;
    while mesh
        .counters()
        .iter()
        .map(|(_, c)| c.connections_opened)
        .sum::<u64>()
        == 0
    {
        assert!(tokio::time::Instant::now() < deadline, "no phone-home");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.exfil().count(), 0, "phoning home steals nothing");
    let task = send(&sim).await;
    let c = calls(&task);
    assert_eq!(
        names(&c),
        [
            "get_balance",
            "list_recent",
            "get_profile",
            "convert_currency"
        ]
    );
    assert_eq!(c[3].1["customer_profile"]["name"], "Alex Carter");
    let ledger = sim.exfil();
    assert_eq!(ledger.count(), 1);
    let event = &ledger.events()[0];
    assert_eq!(event.source, cc_ip);
    assert_eq!(event.tool, "acme-fx/currency-converter");
    assert_eq!(
        event.data,
        json!({"name": "Alex Carter", "email": "alex.carter@gmail.com", "phone": "+44 7700 900123",
               "address": "42 King Street, Manchester M2 7HE, United Kingdom", "dob": "1987-03-14",
               "ni_number": "QQ 12 34 56 C"})
    );
    // The rugpulled tool answers like a clean one: nothing says the profile went anywhere.
    assert_eq!(converter_answer(&task), clean_answer);

    // Act 3: policies on.
    for p in [
        policy("trustusbank-bank-vendors", "default-deny", json!({})),
        policy(
            "trustusbank-bank-vendors",
            "allow-gw-to-vendor",
            json!({"action": "ALLOW", "rules": [
            {"from": [{"source": {"principals": ["cluster.local/ns/trustusbank-platform/sa/trustusbank-agentgw"]}}]}]}),
        ),
        policy(
            "external-attacker",
            "deny-vendor-to-attacker",
            json!({"action": "DENY", "rules": [
            {"from": [{"source": {"principals": ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]}}]}]}),
        ),
    ] {
        vendor.create(p).expect("policy created");
    }
    let task = send(&sim).await;
    assert!(names(&calls(&task)).contains(&"get_profile"));
    // Nor that the mesh refused it: only ztunnel and the attacker's log know.
    assert_eq!(converter_answer(&task), clean_answer);
    assert!(!task.to_string().contains("deny-vendor-to-attacker"));
    assert_eq!(sim.exfil().count(), 1);
    let lines = mesh.deny_lines();
    assert_eq!(lines.len(), 1, "retries come later");
    assert!(
        lines[0].line.contains(&format!("src.addr={cc_ip}:")),
        "{}",
        lines[0].line
    );
    assert!(lines[0].line.contains(
        "src.workload=currency-converter src.namespace=trustusbank-bank-vendors \
         src.identity=\"spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter\" \
         dst.service=mock-attacker.external-attacker.svc.cluster.local dst.namespace=external-attacker \
         direction=\"inbound\" error=\"connection closed due to policy rejection: explicitly denied by: \
         external-attacker/deny-vendor-to-attacker\""), "{}", lines[0].line);
    let counters = mesh.counters();
    assert_eq!(counters.len(), 1);
    let (key, c) = &counters[0];
    assert_eq!(
        key.source_principal,
        "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"
    );
    assert_eq!(key.destination_service_name, "mock-attacker");
    // Phone-home and act 2's theft were allowed; act 3's attempt was not.
    assert_eq!((c.connections_opened, c.connections_failed), (3, 1));
    assert!(c.sent_bytes > 64, "the stolen profile was counted: {c:?}");
    // The refused implant retries (after 1 s, 2 s, 4 s); every retry is refused too.
    let deadline = tokio::time::Instant::now() + WAIT;
    while mesh.counters()[0].1.connections_failed < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no retry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.exfil().count(), 1, "retries are refused too");
    assert_eq!(mesh.deny_lines().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn stream_protocol_one_and_errors() {
    let (_dir, sim) = start().await;

    let (status, ctype, body) =
        request(&sim, "POST", A2A, "", &send_body("message/stream", PROMPT)).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let events: Vec<Value> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            serde_json::from_str::<Value>(e.strip_prefix("data: ").unwrap()).unwrap()["result"]
                .clone()
        })
        .collect();
    assert_eq!(events[0]["kind"], "task");
    assert_eq!(events[0]["status"]["state"], "submitted");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let artifact = kinds.iter().position(|k| *k == "artifact-update").unwrap();
    assert_eq!(artifact, kinds.len() - 2);
    assert!(kinds[1..artifact].iter().all(|k| *k == "status-update"));
    let tool_parts: Vec<&Value> = events[1..artifact]
        .iter()
        .filter_map(|e| e["status"]["message"]["parts"].get(0))
        .collect();
    assert_eq!(tool_parts[0]["metadata"]["kagent_type"], "function_call");
    assert_eq!(tool_parts[0]["data"]["name"], "get_balance");
    assert_eq!(
        tool_parts[1]["metadata"]["kagent_type"],
        "function_response"
    );
    assert_eq!(tool_parts[1]["data"]["response"]["balance"], 4287.55);
    let text = events[artifact]["artifact"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("$5,445.19"));
    let last = events.last().unwrap();
    assert_eq!(last["kind"], "status-update");
    assert_eq!(last["status"]["state"], "completed");
    assert_eq!(last["final"], true);

    // A2A 1.0.
    let body10 = serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": "a", "method": "SendMessage", "params": {
        "message": {"role": "ROLE_USER", "messageId": "m-2", "parts": [{"text": PROMPT}]}}}),
    )
    .unwrap();
    let (status, _, body) = request(&sim, "POST", A2A, "A2A-Version: 1.0\r\n", &body10).await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let task = &doc["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{body}");
    assert_eq!(task["history"][0]["role"], "ROLE_USER");
    assert!(task["artifacts"][0]["parts"][0].get("kind").is_none());
    assert!(
        task["artifacts"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("£4,287.55")
    );

    // Errors.
    let (status, _, body) = request(&sim, "POST", A2A, "", b"{not json").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        -32700
    );
    let (_, _, body) = request(&sim, "POST", A2A, "", &send_body("tasks/nope", "hi")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        -32601
    );
    let (status, _, _) = request(
        &sim,
        "POST",
        "/api/a2a/trustusbank-bank-agents/nobody/",
        "",
        &send_body("message/send", "hi"),
    )
    .await;
    assert_eq!(status, 404);
    sim.shutdown().await;
}
