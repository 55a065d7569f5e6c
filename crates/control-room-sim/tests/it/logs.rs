//! Pod logs from the simulator (`GET …/pods/{name}/log`), through kube-rs (`logs`,
//! `log_stream`) and real kubectl: banners, tail/since/timestamps, errors shaped like the real
//! server's, the mock-attacker's exfil blocks arriving on a follow, and reconnecting with
//! `sinceTime` without gaps or duplicates.

use std::path::PathBuf;
use std::time::Duration;

use control_room_sim::ExfilEvent;
use futures::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{client, pod_of, start};

const WAIT: Duration = Duration::from_secs(10);

fn exfil(source: &str) -> ExfilEvent {
    ExfilEvent {
        at: chrono::Utc::now(),
        source: source.into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": "Alex Carter", "iban": "GB00TRUS12345678"}),
    }
}

/// `(timestamp, text)` of a `timestamps=true` line.
fn split(line: &str) -> (chrono::DateTime<chrono::Utc>, &str) {
    let (ts, text) = line.split_once(' ').expect("timestamped line");
    assert_eq!(ts.len(), "2026-05-11T16:16:28.123456789Z".len(), "{ts}");
    let at = chrono::DateTime::parse_from_rfc3339(ts)
        .expect("RFC3339Nano")
        .to_utc();
    (at, text)
}

fn api_error(result: kube::Result<String>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("expected a Status error, got {other:?}"),
    }
}

#[tokio::test]
async fn logs_tail_since_timestamps_and_errors() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");

    let all = pods
        .logs(&attacker, &LogParams::default())
        .await
        .expect("logs");
    assert!(all.contains("mock-attacker listening on :8080"), "{all}");
    assert!(!all.contains("EXFIL"), "{all}");

    let stamped = pods
        .logs(
            &attacker,
            &LogParams {
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("logs");
    let lines: Vec<_> = stamped.lines().map(split).collect();
    assert_eq!(lines.len(), all.lines().count());
    assert!(
        lines.windows(2).all(|w| w[0].0 < w[1].0),
        "strictly increasing"
    );
    assert_eq!(
        lines.iter().map(|l| l.1).collect::<Vec<_>>(),
        all.lines().collect::<Vec<_>>()
    );

    let tail = pods
        .logs(
            &attacker,
            &LogParams {
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(
        tail.lines().collect::<Vec<_>>(),
        vec![all.lines().last().unwrap()]
    );

    // Infra pods have a banner and their own lines; sinceSeconds cuts old ones.
    let edge = client(&sim, "edge").await;
    let (istio_pods, _) = sim
        .store("edge")
        .unwrap()
        .list("v1", "Pod", Some("istio-system"));
    if let Some(p) = istio_pods.first() {
        let name = p["metadata"]["name"].as_str().unwrap();
        let api: Api<Pod> = Api::namespaced(edge.clone(), "istio-system");
        let mut lp = LogParams {
            timestamps: true,
            ..LogParams::default()
        };
        if p["spec"]["containers"].as_array().unwrap().len() > 1 {
            lp.container = p["spec"]["containers"][0]["name"]
                .as_str()
                .map(str::to_string);
        }
        let text = api.logs(name, &lp).await.expect("istio logs");
        assert!(text.contains("starting container"), "{text}");
        let recent = api
            .logs(
                name,
                &LogParams {
                    since_seconds: Some(5),
                    ..lp.clone()
                },
            )
            .await
            .expect("since");
        let cutoff = chrono::Utc::now() - chrono::TimeDelta::seconds(7);
        assert!(
            recent.lines().map(split).all(|(at, _)| at >= cutoff),
            "{recent}"
        );
        let limited = api
            .logs(
                name,
                &LogParams {
                    limit_bytes: Some(10),
                    ..lp
                },
            )
            .await
            .expect("limitBytes");
        assert_eq!(limited.len(), 10);
    }

    // sinceTime is inclusive and works to the nanosecond for raw HTTP clients.
    let (t2, _) = lines[1];
    let raw = format!(
        "/api/v1/namespaces/external-attacker/pods/{attacker}/log?timestamps=true&sinceTime={}",
        t2.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    );
    let req = axum::http::Request::get(raw).body(Vec::new()).unwrap();
    let after = vendor.request_text(req).await.expect("raw since");
    assert_eq!(after.lines().count(), lines.len() - 1, "{after}");

    // Errors.
    let (code, _) = api_error(pods.logs("no-such-pod", &LogParams::default()).await);
    assert_eq!(code, 404);
    let (code, message) = api_error(
        pods.logs(
            &attacker,
            &LogParams {
                container: Some("nope".into()),
                ..LogParams::default()
            },
        )
        .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (
            400,
            &*format!("container nope is not valid for pod {attacker}")
        )
    );
    let (code, message) = api_error(
        pods.logs(
            &attacker,
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await,
    );
    assert_eq!(code, 400);
    assert_eq!(
        message,
        format!("previous terminated container \"mock-attacker\" in pod \"{attacker}\" not found")
    );

    let two: Pod = serde_json::from_value(json!({
        "metadata": {"name": "two", "namespace": "external-attacker"},
        "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &two)
        .await
        .expect("create two");
    let (code, message) = api_error(pods.logs("two", &LogParams::default()).await);
    assert_eq!(
        (code, message.as_str()),
        (
            400,
            "a container name must be specified for pod two, choose one of: [a b]"
        )
    );
    let b = pods
        .logs(
            "two",
            &LogParams {
                container: Some("b".into()),
                ..LogParams::default()
            },
        )
        .await
        .expect("container b");
    assert!(b.contains("starting container b"), "{b}");
    sim.shutdown().await;
}

#[tokio::test]
async fn follow_sees_exfil_and_reconnects_without_gaps() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let follow = LogParams {
        follow: true,
        timestamps: true,
        ..LogParams::default()
    };

    let mut seen: Vec<String> = Vec::new();
    {
        let mut stream = pods
            .log_stream(&attacker, &follow)
            .await
            .expect("stream")
            .lines();
        let first = tokio::time::timeout(WAIT, stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(first.contains("starting container"), "{first}");
        seen.push(first);
        // Drain the banner.
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(300), stream.try_next())
                .await
                .map(|r| r.unwrap())
        {
            seen.push(line);
        }
        let recorded = tokio::time::Instant::now();
        sim.exfil().record(exfil("10.30.1.7"));
        let line = tokio::time::timeout(Duration::from_secs(2), stream.try_next())
            .await
            .expect("exfil within 2 s")
            .unwrap()
            .unwrap();
        assert!(recorded.elapsed() < Duration::from_secs(2));
        let (_, text) = split(&line);
        assert!(text.starts_with("🚨 EXFIL RECEIVED at "), "{text}");
        assert!(text.ends_with(" UTC from 10.30.1.7"), "{text}");
        seen.push(line);
        // Read part of the JSON block, then drop the connection mid-block.
        for _ in 0..2 {
            seen.push(
                tokio::time::timeout(WAIT, stream.try_next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(
            split(&seen[seen.len() - 1]).1,
            "  \"stolen_at_tool\": \"acme-fx/currency-converter\","
        );
    }
    // While disconnected, another event arrives.
    sim.exfil().record(exfil("10.30.1.8"));

    // Reconnect: kube-rs sends sinceTime in whole seconds; ask from the floor of the last
    // timestamp (sinceTime is inclusive) and drop what was already seen.
    let last = split(seen.last().unwrap()).0;
    let lp = LogParams {
        since_time: Some(Timestamp::from_second(last.timestamp()).unwrap()),
        ..follow.clone()
    };
    let mut stream = pods
        .log_stream(&attacker, &lp)
        .await
        .expect("reconnect")
        .lines();
    let mut resumed = Vec::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(500), stream.try_next())
        .await
        .map(|r| r.unwrap())
    {
        if split(&line).0 > last {
            resumed.push(line);
        }
    }
    drop(stream);
    seen.extend(resumed);

    // The whole log, fetched once, equals what was read across the two connections.
    let whole = pods
        .logs(
            &attacker,
            &LogParams {
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("logs");
    assert_eq!(
        whole.lines().collect::<Vec<_>>(),
        seen,
        "no gaps, no duplicates"
    );
    assert_eq!(whole.matches("EXFIL RECEIVED").count(), 2);
    assert!(whole.contains("from 10.30.1.8"));
    assert!(whole.contains("  \"stolen_data\": {"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_new_attacker_pod_starts_with_an_empty_log() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let old = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    sim.exfil().record(exfil("10.30.1.7"));
    let text = pods.logs(&old, &LogParams::default()).await.expect("logs");
    assert_eq!(text.matches("EXFIL RECEIVED").count(), 1, "{text}");
    // creationTimestamp has whole seconds: let the event fall in an earlier second.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mut follow_old = pods
        .log_stream(
            &old,
            &LogParams {
                follow: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("follow old")
        .lines();

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
        .expect("roll");
    let deadline = tokio::time::Instant::now() + WAIT;
    let new = loop {
        assert!(tokio::time::Instant::now() < deadline, "rollout in time");
        let name = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
        if name != old {
            break name;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The follow on the old pod ends once the old pod is gone.
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(_line) = follow_old.try_next().await.unwrap() {}
    })
    .await;
    assert!(ended.is_ok(), "follow of a deleted pod ends");

    let text = pods
        .logs(&new, &LogParams::default())
        .await
        .expect("new logs");
    assert!(text.contains("mock-attacker listening on :8080"), "{text}");
    assert!(text.contains("starting container mock-attacker"), "{text}");
    assert!(!text.contains("EXFIL"), "{text}");
    sim.exfil().record(exfil("10.30.1.9"));
    let text = pods
        .logs(&new, &LogParams::default())
        .await
        .expect("new logs");
    assert_eq!(text.matches("EXFIL RECEIVED").count(), 1, "{text}");
    sim.shutdown().await;
}

fn kubectl_on_path() -> Option<PathBuf> {
    crate::tools::require("kubectl")
}

#[tokio::test]
async fn kubectl_logs_prints_the_banner() {
    let Some(kubectl) = kubectl_on_path() else {
        return;
    };
    let (dir, sim) = start().await;
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    for target in ["deploy/mock-attacker", attacker.as_str()] {
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(sim.kubeconfig_path())
                .arg("--cache-dir")
                .arg(dir.path().join("cache"))
                .args([
                    "--context",
                    "kind-trustusbank-vendor",
                    "logs",
                    "-n",
                    "external-attacker",
                    target,
                ])
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("kubectl in time")
        .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "kubectl logs {target}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("mock-attacker listening on :8080"),
            "{stdout}"
        );
    }
    sim.shutdown().await;
}
