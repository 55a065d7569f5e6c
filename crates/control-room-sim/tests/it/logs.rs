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
        "spec": {"containers": [{"name": "a", "image": "mock-attacker:1.0.0"}, {"name": "b", "image": "mock-attacker:1.0.0"}]}
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

/// `kubectl logs` with the simulator's kubeconfig and a cache of its own.
async fn kubectl_logs(
    kubectl: &std::path::Path,
    dir: &std::path::Path,
    sim: &control_room_sim::SimHandle,
    args: &[&str],
) -> std::process::Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(sim.kubeconfig_path())
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .args([
                "--context",
                "kind-trustusbank-vendor",
                "logs",
                "-n",
                "external-attacker",
            ])
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl in time")
    .expect("kubectl runs")
}

#[tokio::test]
async fn kubectl_logs_previous_reads_the_restarted_container() {
    let Some(kubectl) = kubectl_on_path() else {
        return;
    };
    let (dir, sim) = start().await;
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let output = kubectl_logs(&kubectl, dir.path(), &sim, &["--previous", &attacker]).await;
    assert!(!output.status.success(), "no previous container yet");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "previous terminated container \"mock-attacker\" in pod \"{attacker}\" not found"
        )),
        "{stderr}"
    );

    sim.exfil().record(exfil("10.30.1.7"));
    let recorded = chrono::Utc::now();
    while chrono::Utc::now().timestamp() == recorded.timestamp() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = sim.store("vendor").unwrap();
    let mut pod = store
        .get("v1", "Pod", Some("external-attacker"), &attacker)
        .unwrap();
    assert!(control_room_sim::restart_container(
        &mut pod,
        "mock-attacker",
        chrono::Utc::now()
    ));
    store.update(pod).expect("restart");
    let output = kubectl_logs(&kubectl, dir.path(), &sim, &["--previous", &attacker]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("EXFIL RECEIVED"), "{stdout}");
    let output = kubectl_logs(&kubectl, dir.path(), &sim, &[&attacker]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("starting container mock-attacker"),
        "{stdout}"
    );
    assert!(!stdout.contains("EXFIL RECEIVED"), "{stdout}");
    sim.shutdown().await;
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

/// The whole `timestamps=true` log of `pod`, as bytes (it need not be UTF-8).
async fn raw_log(pods: &Api<Pod>, pod: &str, lp: &LogParams) -> Vec<u8> {
    use futures::AsyncReadExt as _;
    let mut stream = pods.log_stream(pod, lp).await.expect("log");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read log");
    out
}

/// `(stamp, bytes)` per line of a raw timestamped log.
fn raw_lines(log: &[u8]) -> Vec<(String, Vec<u8>)> {
    log.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let space = l.iter().position(|b| *b == b' ').expect("stamped");
            let stamp = String::from_utf8(l[..space].to_vec()).expect("ASCII stamp");
            (stamp, l[space + 1..].to_vec())
        })
        .collect()
}

fn stamped() -> LogParams {
    LogParams {
        timestamps: true,
        ..LogParams::default()
    }
}

/// Until the Deployment's pods with `app=mock-attacker` number `n`, all Ready.
async fn ready_attackers(sim: &control_room_sim::SimHandle, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (pods, _) = sim
            .store("vendor")
            .unwrap()
            .list("v1", "Pod", Some("external-attacker"));
        let ready: Vec<String> = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "mock-attacker")
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| p["status"]["containerStatuses"][0]["ready"] == true)
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        if ready.len() == n {
            return ready;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} Ready attacker pods in time, have {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_burst_shares_one_stamp_and_odd_bytes_are_served_as_written() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let before = raw_lines(&raw_log(&pods, &attacker, &stamped()).await).len();

    sim.exfil()
        .record_burst((0..50).map(|i| exfil(&format!("10.30.1.{i}"))).collect());
    assert_eq!(sim.exfil().count(), 50);
    let at = chrono::Utc::now();
    let mut odd = b"garbage \xff\xfe from the wire\n".to_vec();
    odd.extend(std::iter::repeat_n(b'x', 1 << 20));
    odd.push(b'\n');
    sim.exfil().print(at, odd);

    let log = raw_log(&pods, &attacker, &stamped()).await;
    let lines = raw_lines(&log);
    let burst: Vec<_> = lines[before..lines.len() - 2].to_vec();
    let alarms = burst
        .iter()
        .filter(|(_, l)| l.starts_with("🚨 EXFIL RECEIVED".as_bytes()))
        .count();
    assert_eq!(alarms, 50);
    assert!(
        burst.iter().all(|(s, _)| *s == burst[0].0),
        "one stamp for the whole burst"
    );
    assert!(burst.len() > 50 * 3, "each event with its record");
    // Printed bytes come back byte for byte, the megabyte as one line.
    let (s1, garbage) = &lines[lines.len() - 2];
    let (s2, long) = &lines[lines.len() - 1];
    assert_eq!(garbage.as_slice(), b"garbage \xff\xfe from the wire");
    assert_eq!(long.len(), 1 << 20);
    assert_eq!(s1, s2, "one write, one stamp");
    assert!(*s1 > burst[0].0, "after the burst");
    // The burst is still exactly 50 when read again from its second (sinceTime is inclusive).
    let (t, _) = split(&format!("{} x", burst[0].0));
    let again = raw_log(
        &pods,
        &attacker,
        &LogParams {
            since_time: Some(Timestamp::from_second(t.timestamp()).unwrap()),
            ..stamped()
        },
    )
    .await;
    let again = raw_lines(&again);
    assert_eq!(
        again.iter().filter(|(s, _)| *s == burst[0].0).count(),
        burst.len()
    );

    // limitBytes counts bytes: the cut may fall inside a character, as the kubelet's does.
    let alarm_at = log
        .windows("🚨".len())
        .position(|w| w == "🚨".as_bytes())
        .expect("an alarm");
    let cut = raw_log(
        &pods,
        &attacker,
        &LogParams {
            limit_bytes: Some(i64::try_from(alarm_at + 1).unwrap()),
            ..stamped()
        },
    )
    .await;
    assert_eq!(cut, log[..alarm_at + 1]);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_event_lands_in_one_replica_of_a_scaled_attacker() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let deploys: Api<Deployment> = Api::namespaced(vendor.clone(), "external-attacker");
    deploys
        .patch_scale(
            "mock-attacker",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scale");
    let replicas = ready_attackers(&sim, 2).await;
    for i in 0..6 {
        sim.exfil().record(exfil(&format!("10.30.1.{i}")));
    }
    let mut per_pod = Vec::new();
    for pod in &replicas {
        let text = pods.logs(pod, &LogParams::default()).await.expect("logs");
        per_pod.push(text.matches("EXFIL RECEIVED").count());
    }
    assert_eq!(
        per_pod,
        vec![3, 3],
        "the Service spreads them: {replicas:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_restarted_container_keeps_its_old_log_as_previous() {
    let (_dir, sim) = start().await;
    let vendor = client(&sim, "vendor").await;
    let pods: Api<Pod> = Api::namespaced(vendor.clone(), "external-attacker");
    let attacker = pod_of(&sim, "vendor", "external-attacker", "mock-attacker");
    let follow = pods
        .log_stream(
            &attacker,
            &LogParams {
                follow: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("follow")
        .lines();
    sim.exfil().record(exfil("10.30.1.7"));
    // Statuses carry whole seconds: restart in a later second than the old container's line.
    let recorded = chrono::Utc::now();
    while chrono::Utc::now().timestamp() == recorded.timestamp() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = sim.store("vendor").unwrap();
    let mut pod = store
        .get("v1", "Pod", Some("external-attacker"), &attacker)
        .unwrap();
    assert!(control_room_sim::restart_container(
        &mut pod,
        "mock-attacker",
        chrono::Utc::now()
    ));
    store.update(pod).expect("restart");

    // The follow of the old container ends, after its lines.
    let old: Vec<String> = tokio::time::timeout(WAIT, follow.try_collect())
        .await
        .expect("the follow ends with its container")
        .expect("lines");
    assert!(old.iter().any(|l| l.contains("from 10.30.1.7")), "{old:?}");

    sim.exfil().record(exfil("10.30.1.8"));
    let previous = pods
        .logs(
            &attacker,
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("previous");
    let current = pods
        .logs(&attacker, &LogParams::default())
        .await
        .expect("current");
    assert_eq!(previous.matches("EXFIL RECEIVED").count(), 1, "{previous}");
    assert!(previous.contains("from 10.30.1.7"), "{previous}");
    assert!(previous.contains("received SIGTERM"), "{previous}");
    assert_eq!(current.matches("EXFIL RECEIVED").count(), 1, "{current}");
    assert!(current.contains("from 10.30.1.8"), "{current}");
    assert!(
        current.contains("starting container mock-attacker"),
        "{current}"
    );

    let pod: Pod = pods.get(&attacker).await.expect("pod");
    let status = &pod.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(status.restart_count, 1);
    let last = status
        .last_state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap();
    assert_eq!(
        last.finished_at.as_ref().map(|t| t.0),
        status
            .state
            .as_ref()
            .unwrap()
            .running
            .as_ref()
            .unwrap()
            .started_at
            .as_ref()
            .map(|t| t.0)
    );
    sim.shutdown().await;
}
