//! The port-forward manager against the simulator: each forward stands alone, follows a
//! rollout to the new pod, and the headless `forward` command prints a usable link table.

use std::time::Duration;

use control_room::app::forwards;
use control_room::app::world::{Choice, World};
use control_room::config::{Config, ForwardConfig};
use control_room::model::forward::ForwardState;
use control_room::msg::ForwardMsg;
use control_room::msg::Msg;
use control_room::sources::forward::{self as forwarder, ForwardTarget};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{client, pod_of, start};

const WAIT: Duration = Duration::from_secs(10);

fn forward(name: &str, local_port: Option<u16>) -> ForwardConfig {
    ForwardConfig {
        name: name.into(),
        cluster: "vendor".into(),
        namespace: "external-attacker".into(),
        service: Some("mock-attacker".into()),
        pod: None,
        port: 8080,
        local_port,
        url_path: None,
        url: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_local_port_fails_that_forward_only() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_port = busy.local_addr().expect("addr").port();
    let mut config = Config::defaults();
    config.forwards = vec![
        forward("blocked", Some(busy_port)),
        forward("free", None),
        ForwardConfig {
            cluster: "nowhere".into(),
            ..forward("lost", None)
        },
    ];
    config.forwards_from_user = true;
    let world = World::open(&config, None, Choice::Sim)
        .await
        .expect("world");
    let (tx, mut rx) = mpsc::channel(64);
    let (mut rows, _tasks) = forwards::start(&world, &config, &tx, None).await;
    assert_eq!(
        rows[2].state,
        ForwardState::Failed,
        "unknown cluster fails at once"
    );
    assert!(
        rows[2]
            .last_error
            .as_ref()
            .is_some_and(|(_, e)| e.contains("nowhere"))
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rows[0].state == ForwardState::Starting || rows[1].state == ForwardState::Starting {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Msg::Forward(i, m))) => rows[i].apply(m, control_room::sources::clock::now()),
            Ok(_) => {}
            Err(_) => panic!("forwards never settled: {rows:#?}"),
        }
    }
    assert_eq!(rows[0].state, ForwardState::Failed);
    let error = rows[0]
        .last_error
        .as_ref()
        .map(|(_, e)| e.clone())
        .unwrap_or_default();
    assert!(
        error.contains(&busy_port.to_string()) && error.contains("in use"),
        "{error}"
    );
    assert_eq!(rows[1].state, ForwardState::Listening);
    assert!(
        rows[1]
            .url()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );
    drop(busy);
    world.close().await;
}

#[test]
fn forward_messages_fold_into_the_row() {
    let mut row = control_room::model::forward::ForwardRow::from_config(&forward("x", None));
    let now = control_room::sources::clock::now();
    row.apply(
        ForwardMsg::Listening("127.0.0.1:4000".parse().expect("addr")),
        now,
    );
    row.apply(ForwardMsg::Opened { pod: "p-1".into() }, now);
    row.apply(ForwardMsg::Opened { pod: "p-2".into() }, now);
    assert_eq!(
        (row.active, row.connections, row.pod.as_deref()),
        (2, 2, Some("p-2"))
    );
    row.apply(ForwardMsg::Closed { up: 10, down: 2000 }, now);
    row.apply(
        ForwardMsg::Failed {
            opened: true,
            error: "reset".into(),
        },
        now,
    );
    row.apply(
        ForwardMsg::Failed {
            opened: false,
            error: "no Ready pod".into(),
        },
        now,
    );
    assert_eq!((row.active, row.bytes_up, row.bytes_down), (0, 10, 2000));
    assert_eq!(row.url().as_deref(), Some("http://127.0.0.1:4000"));
}

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET, as curl would send it; returns the status line and body.
fn http_get(url: &str) -> Result<(String, String), String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".to_string()));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

/// `control-room forward` against a `control-room sim` process: the printed URLs answer.
#[test]
fn forward_command_prints_links_that_answer() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let bin = env!("CARGO_BIN_EXE_control-room");
    let home = tempfile::tempdir().expect("tempdir");
    let state = home.path().join("sim");
    let _sim = Child(
        Command::new(bin)
            .args(["sim", "--state-dir"])
            .arg(&state)
            .env("XDG_STATE_HOME", home.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim starts"),
    );
    let config = state.join("control-room.toml");
    let started = std::time::Instant::now();
    while !config.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut forward = Child(
        Command::new(bin)
            .args(["forward", "--config"])
            .arg(&config)
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("forward starts"),
    );
    let stdout = forward.0.stdout.take().expect("stdout");
    let mut urls = Vec::new();
    // Kept open to the end: the command's later lines must have somewhere to go.
    let mut rest = BufReader::new(stdout);
    for line in (&mut rest).lines().map_while(Result::ok) {
        if line.starts_with("(Ctrl+C") {
            break;
        }
        if let Some(url) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
        {
            urls.push((
                line.split_whitespace().next().unwrap_or("").to_string(),
                url.to_string(),
            ));
        }
    }
    assert_eq!(urls.len(), 8, "one link per default forward: {urls:?}");
    for (name, url) in &urls {
        let (status, body) = http_get(url).unwrap_or_else(|e| panic!("{name} at {url}: {e}"));
        assert!(status.starts_with("HTTP/1.1 "), "{name}: {status}");
        assert!(!body.is_empty(), "{name} answered with an empty body");
    }
    let (status, body) = http_get(
        &urls
            .iter()
            .find(|(n, _)| n == "mock-attacker")
            .expect("mock-attacker")
            .1,
    )
    .expect("mock-attacker answers");
    assert!(status.contains(" 200"), "{status}");
    assert!(body.to_lowercase().contains("exfil"), "{body}");
}

/// POSTs `body` to `/_sim/echo` over a fresh connection through the forward; returns the
/// response body.
async fn echo(addr: std::net::SocketAddr, body: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /_sim/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    s.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end")
        + 4;
    response.split_off(split)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_connections_through_one_forward_get_their_own_bytes() {
    let mut config = Config::defaults();
    config.forwards = vec![forward("mock-attacker", None)];
    config.forwards_from_user = true;
    let world = World::open(&config, None, Choice::Sim)
        .await
        .expect("world");
    let (tx, mut rx) = mpsc::channel(1024);
    let (_rows, _tasks) = forwards::start(&world, &config, &tx, None).await;
    let addr = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Msg::Forward(_, ForwardMsg::Listening(a)))) => break a,
            Ok(Some(_)) => {}
            other => panic!("no listening forward: {other:?}"),
        }
    };
    let drain = tokio::spawn(async move {
        let mut opened = 0;
        while let Some(m) = rx.recv().await {
            if let Msg::Forward(_, ForwardMsg::Opened { .. }) = m {
                opened += 1;
            }
        }
        opened
    });
    let requests = (0..50u32).map(|i| {
        // Distinct, sizeable bodies: any mix-up between connections shows.
        let body: Vec<u8> = (0..64 * 1024u32)
            .map(|j| ((i * 31 + j) % 251) as u8)
            .collect();
        tokio::spawn(async move {
            let got = tokio::time::timeout(Duration::from_secs(30), echo(addr, &body))
                .await
                .expect("in time");
            (got == body, i)
        })
    });
    for r in futures::future::join_all(requests).await {
        let (same, i) = r.expect("task");
        assert!(same, "connection {i} got someone else's bytes");
    }
    drop(_tasks);
    drop(tx);
    world.close().await;
    let opened = drain.await.expect("drain");
    assert_eq!(
        opened, 50,
        "every connection went through its own port-forward"
    );
}

async fn next_forward_msg(rx: &mut mpsc::Receiver<Msg>) -> ForwardMsg {
    loop {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(Msg::Forward(0, msg))) => {
                if !matches!(msg, ForwardMsg::Probe(_)) {
                    return msg;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("forward ended"),
            Err(_) => panic!("no forward message in time"),
        }
    }
}

/// GET through the local forward on a fresh connection; the pod it went to and the answer.
async fn get_via(rx: &mut mpsc::Receiver<Msg>, url: &str) -> (String, u16, Value) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(WAIT)
        .build()
        .unwrap();
    let response = http.get(url).send().await.expect("GET through the forward");
    let status = response.status().as_u16();
    let doc: Value = response.json().await.expect("JSON body");
    drop(http);
    let pod = loop {
        if let ForwardMsg::Opened { pod } = next_forward_msg(rx).await {
            break pod;
        }
    };
    (pod, status, doc)
}

#[tokio::test]
async fn control_rooms_forwarder_follows_a_rollout() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let (tx, mut rx) = mpsc::channel(64);
    let target = ForwardTarget {
        client: vendor.clone(),
        config: ForwardConfig {
            name: "mock-attacker".into(),
            cluster: "vendor".into(),
            namespace: "external-attacker".into(),
            service: Some("mock-attacker".into()),
            pod: None,
            port: 8080,
            local_port: None,
            url_path: None,
            url: None,
        },
        local_port: None,
        probe_every: None,
    };
    let task = tokio::spawn(forwarder::run(target, tx, |m| Msg::Forward(0, m)));
    let addr = match next_forward_msg(&mut rx).await {
        ForwardMsg::Listening(addr) => addr,
        other => panic!("expected Listening, got {other:?}"),
    };
    let url = format!("http://{addr}/api/exfil");

    let old = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let (pod, status, doc) = get_via(&mut rx, &url).await;
    assert_eq!(pod, old);
    assert_eq!(status, 200);
    assert_eq!(doc, json!({"count": 0, "events": []}));

    // Roll the Deployment to a new image through the API.
    let deploys: Api<Deployment> = Api::namespaced(vendor.clone(), "external-attacker");
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "mock-attacker", "image": "mock-attacker:1.0.1"}]}}}});
    deploys
        .patch(
            "mock-attacker",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("set image");
    let store = sim.store("vendor").unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let new = loop {
        assert!(tokio::time::Instant::now() < deadline, "rollout in time");
        let (pods, _) = store.list("v1", "Pod", Some("external-attacker"));
        let ours: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "mock-attacker")
            .collect();
        let old_gone = ours.iter().all(|p| p["metadata"]["name"] != old.as_str());
        let ready_new = ours.iter().find(|p| {
            p["spec"]["containers"][0]["image"] == "mock-attacker:1.0.1"
                && p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        });
        if let (true, Some(p)) = (old_gone, ready_new) {
            break p["metadata"]["name"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(new, old);

    let (pod, status, doc) = get_via(&mut rx, &url).await;
    assert_eq!(pod, new, "the next connection goes to the new pod");
    assert_eq!(status, 200);
    assert_eq!(doc["count"], 0);

    // The old pod is gone: forwarding to it is a 404.
    let pods: Api<Pod> = Api::namespaced(vendor, "external-attacker");
    match pods.portforward(&old, &[8080]).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404),
        Err(other) => panic!("expected a 404 Status, got {other}"),
        Ok(_) => panic!("expected a 404 Status, got a forward"),
    }
    task.abort();
    sim.shutdown().await;
}
