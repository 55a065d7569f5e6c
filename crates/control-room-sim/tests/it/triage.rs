//! Triage rehearsed through the kubectl a user types: an image that does not exist, a
//! program that crash-loops, a pod no node fits, a readiness probe that fails — each shows
//! what a real cluster shows (`kubectl get`, `describe`, `logs`, `rollout status`), and heals
//! when the cause is taken away. Back-offs are shortened through `SimTuning`. Skipped
//! (visibly) only without kubectl.

use std::time::Duration;

use serde_json::{Value, json};

use control_room_sim::{EXIT_AFTER, EXIT_CODE, READY, SimOptions, SimTuning};

use crate::support::{Kubectl, fast_tuning, row};

const VENDOR: &str = "kind-trustusbank-vendor";
const VENDOR_NS: &str = "trustusbank-bank-vendors";
const ATTACKER_NS: &str = "external-attacker";
const MISSING: &str = "currency-converter:does-not-exist";

/// Back-offs of 200 ms doubling to 6 s: every stage shows within a test's patience.
fn triage_tuning() -> SimTuning {
    SimTuning {
        kubelet_backoff: Duration::from_millis(200),
        ..fast_tuning()
    }
}

async fn start() -> Option<Kubectl> {
    Kubectl::start_with(SimOptions::default(), triage_tuning()).await
}

/// The STATUS column of each listed pod, by name.
async fn statuses(k: &Kubectl, ns: &str, selector: &str) -> Vec<(String, Vec<String>)> {
    let out = k
        .ok(
            VENDOR,
            &["get", "pods", "-n", ns, "-l", selector, "--no-headers"],
        )
        .await;
    out.lines()
        .map(|l| {
            let cells: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            (cells.first().cloned().unwrap_or_default(), cells)
        })
        .collect()
}

fn pods(k: &Kubectl, ns: &str, app: &str) -> Vec<Value> {
    k.store("vendor")
        .list("v1", "Pod", Some(ns))
        .0
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

/// Events about one object, straight from the store.
fn events_of(k: &Kubectl, ns: &str, uid: &str) -> Vec<Value> {
    k.store("vendor")
        .list("v1", "Event", Some(ns))
        .0
        .into_iter()
        .filter(|e| e["involvedObject"]["uid"] == uid)
        .collect()
}

fn count_of(events: &[Value], reason: &str, message: &str) -> i64 {
    events
        .iter()
        .filter(|e| e["reason"] == reason && e["message"] == message)
        .map(|e| e["count"].as_i64().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_missing_image_backs_off_sticks_the_rollout_and_heals_when_restored() {
    let Some(k) = start().await else {
        return;
    };
    let image = format!("currency-converter={MISSING}");
    let set = ["-n", VENDOR_NS, "set", "image", "deploy/currency-converter"];
    k.ok(VENDOR, &[&set[..], &[image.as_str()]].concat()).await;

    // kubectl get shows the pull failing, then backing off.
    let mut seen = Vec::new();
    k.until("ImagePullBackOff in kubectl get", async || {
        for (_, cells) in statuses(&k, VENDOR_NS, "app=currency-converter").await {
            if let Some(status) = cells.get(2)
                && !seen.contains(status)
            {
                seen.push(status.clone());
            }
        }
        seen.iter().any(|s| s == "ImagePullBackOff")
    })
    .await;
    let broken = pods(&k, VENDOR_NS, "currency-converter")
        .into_iter()
        .find(|p| p["spec"]["containers"][0]["image"] == MISSING)
        .expect("the new pod");
    let name = broken["metadata"]["name"].as_str().unwrap().to_string();
    let uid = broken["metadata"]["uid"].as_str().unwrap().to_string();
    let listed = statuses(&k, VENDOR_NS, "app=currency-converter").await;
    let line = &listed.iter().find(|(n, _)| *n == name).expect("listed").1;
    assert_eq!(line[1], "0/1", "never Ready: {line:?}");

    // The kubelet's events, as it writes them, counting up.
    let pulled = format!(
        "Failed to pull image \"{MISSING}\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/{MISSING}\": failed to resolve reference \"docker.io/library/{MISSING}\": docker.io/library/{MISSING}: not found"
    );
    let backoff = format!("Back-off pulling image \"{MISSING}\"");
    k.until("the back-off repeating", async || {
        let events = events_of(&k, VENDOR_NS, &uid);
        count_of(&events, "Failed", &pulled) >= 2 && count_of(&events, "BackOff", &backoff) >= 2
    })
    .await;
    let events = events_of(&k, VENDOR_NS, &uid);
    assert!(
        count_of(&events, "Failed", "Error: ErrImagePull") >= 2,
        "{events:?}"
    );
    assert!(
        count_of(&events, "Failed", "Error: ImagePullBackOff") >= 2,
        "{events:?}"
    );
    let types: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["reason"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert!(types.contains(&("Failed", "Warning")), "{types:?}");
    assert!(types.contains(&("BackOff", "Normal")), "{types:?}");

    let described = k
        .ok(VENDOR, &["-n", VENDOR_NS, "describe", "pod", &name])
        .await;
    assert!(described.contains("State:          Waiting"), "{described}");
    assert!(
        described.contains("Reason:       ImagePullBackOff")
            || described.contains("Reason:       ErrImagePull"),
        "{described}"
    );
    assert!(described.contains("Ready:          False"), "{described}");
    for message in [
        pulled.as_str(),
        "Error: ErrImagePull",
        &backoff,
        "Error: ImagePullBackOff",
    ] {
        assert!(
            described.contains(message),
            "{message} missing:\n{described}"
        );
    }
    assert!(described.contains(" (x"), "counted events:\n{described}");

    // The kubelet will not serve logs of a container that never started.
    let logs = k.run(VENDOR, &["-n", VENDOR_NS, "logs", &name]).await;
    assert!(!logs.status.success());
    let stderr = String::from_utf8_lossy(&logs.stderr);
    assert!(
        stderr.contains(&format!(
            "container \"currency-converter\" in pod \"{name}\" is waiting to start"
        )),
        "{stderr}"
    );

    // The rollout is stuck: rollout status keeps waiting, Progressing stays True.
    let status = k
        .run(
            VENDOR,
            &[
                "-n",
                VENDOR_NS,
                "rollout",
                "status",
                "deploy/currency-converter",
                "--timeout=1s",
            ],
        )
        .await;
    assert!(!status.status.success(), "{status:?}");
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.contains("1 old replicas are pending termination"),
        "{out}"
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("timed out waiting for the condition"),
        "{stderr}"
    );
    let deploy: Value = serde_json::from_str(
        &k.ok(
            VENDOR,
            &[
                "-n",
                VENDOR_NS,
                "get",
                "deploy",
                "currency-converter",
                "-o",
                "json",
            ],
        )
        .await,
    )
    .unwrap();
    let progressing = deploy["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()
        .clone();
    assert_eq!(progressing["status"], "True", "{progressing}");
    assert_eq!(
        deploy["status"]["availableReplicas"], 1,
        "the old pod still serves"
    );

    // Restoring the image heals it: the rollout completes, the broken pod goes, its events stop.
    k.ok(
        VENDOR,
        &[&set[..], &["currency-converter=currency-converter:1.0.0"]].concat(),
    )
    .await;
    k.ok(
        VENDOR,
        &[
            "-n",
            VENDOR_NS,
            "rollout",
            "status",
            "deploy/currency-converter",
            "--timeout=60s",
        ],
    )
    .await;
    k.until("the broken pod gone", async || {
        pods(&k, VENDOR_NS, "currency-converter")
            .iter()
            .all(|p| p["metadata"]["uid"] != uid.as_str())
    })
    .await;
    let total = |k: &Kubectl| -> i64 {
        events_of(k, VENDOR_NS, &uid)
            .iter()
            .map(|e| e["count"].as_i64().unwrap_or(0))
            .sum()
    };
    let settled = total(&k);
    // Several back-off periods pass without a pull.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(total(&k), settled, "events stop once the pod is gone");
    let listed = statuses(&k, VENDOR_NS, "app=currency-converter").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].1[1..3], ["1/1", "Running"], "{listed:?}");
}

#[tokio::test]
async fn a_rollout_past_its_progress_deadline_fails_rollout_status() {
    let Some(k) = start().await else {
        return;
    };
    let patch = r#"{"spec":{"progressDeadlineSeconds":2}}"#;
    k.ok(
        VENDOR,
        &[
            "-n",
            VENDOR_NS,
            "patch",
            "deploy",
            "currency-converter",
            "-p",
            patch,
        ],
    )
    .await;
    let image = format!("currency-converter={MISSING}");
    k.ok(
        VENDOR,
        &[
            "-n",
            VENDOR_NS,
            "set",
            "image",
            "deploy/currency-converter",
            &image,
        ],
    )
    .await;
    let status = k
        .run(
            VENDOR,
            &[
                "-n",
                VENDOR_NS,
                "rollout",
                "status",
                "deploy/currency-converter",
            ],
        )
        .await;
    assert!(!status.status.success(), "{status:?}");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("deployment \"currency-converter\" exceeded its progress deadline"),
        "{stderr}"
    );
    let d = k
        .store("vendor")
        .get(
            "apps/v1",
            "Deployment",
            Some(VENDOR_NS),
            "currency-converter",
        )
        .unwrap();
    let progressing = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()
        .clone();
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    let message = progressing["message"].as_str().unwrap();
    assert!(
        message.starts_with("ReplicaSet \"currency-converter-")
            && message.ends_with("\" has timed out progressing."),
        "{message}"
    );
}

const CRASHER: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher, namespace: external-attacker}
spec:
  replicas: 1
  selector: {matchLabels: {app: crasher}}
  template:
    metadata:
      labels: {app: crasher}
      annotations: {EXIT_AFTER: "0.5", EXIT_CODE: "3"}
    spec:
      containers: [{name: app, image: "mock-attacker:1.0.0"}]
"#;

#[tokio::test]
async fn the_exit_annotation_crash_loops_with_growing_backoff_and_previous_logs() {
    let Some(k) = start().await else {
        return;
    };
    let manifest = CRASHER
        .replace("EXIT_AFTER", EXIT_AFTER)
        .replace("EXIT_CODE", EXIT_CODE);
    let path = k.dir.path().join("crasher.yaml");
    std::fs::write(&path, manifest).unwrap();
    k.ok(VENDOR, &["apply", "-f", path.to_str().unwrap()]).await;

    // The back-off grows: each CrashLoopBackOff message names a longer wait.
    let mut waits: Vec<String> = Vec::new();
    k.until("three back-offs", async || {
        for pod in pods(&k, ATTACKER_NS, "crasher") {
            let message = pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if let Some(wait) = message
                .strip_prefix("back-off ")
                .and_then(|m| m.split(' ').next())
                && !waits.iter().any(|w| w == wait)
            {
                waits.push(wait.to_string());
            }
        }
        waits.len() >= 3
    })
    .await;
    // 200 ms, 400 ms, 800 ms … each seen in turn (a short one may pass between two looks).
    let doubling = ["200ms", "400ms", "800ms", "1.6s", "3.2s", "6s"];
    let steps: Vec<usize> = waits
        .iter()
        .map(|w| {
            doubling
                .iter()
                .position(|d| d == w)
                .expect("a kubelet back-off")
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{waits:?}");

    let pod = pods(&k, ATTACKER_NS, "crasher").remove(0);
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    let message = pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if !message.is_empty() {
        assert!(
            message.ends_with(&format!(
                "restarting failed container=app pod={name}_{ATTACKER_NS}({uid})"
            )),
            "{message}"
        );
    }
    k.until("CrashLoopBackOff in kubectl get", async || {
        let listed = statuses(&k, ATTACKER_NS, "app=crasher").await;
        listed
            .iter()
            .any(|(_, c)| c.get(2).is_some_and(|s| s == "CrashLoopBackOff"))
    })
    .await;
    let listed = statuses(&k, ATTACKER_NS, "app=crasher").await;
    let cells = &listed[0].1;
    let restarts: u64 = cells[3].parse().expect("restarts");
    assert!(restarts >= 3, "{cells:?}");
    assert!(
        cells[4].starts_with('(') && cells[5] == "ago)",
        "RESTARTS reads 'N (Xs ago)': {cells:?}"
    );

    let described = k
        .ok(VENDOR, &["-n", ATTACKER_NS, "describe", "pod", &name])
        .await;
    for part in [
        "Last State:     Terminated",
        "Reason:       Error",
        "Exit Code:    3",
        "Warning  BackOff",
        &format!("Back-off restarting failed container app in pod {name}_{ATTACKER_NS}({uid})"),
        "Container image \"mock-attacker:1.0.0\" already present on machine",
    ] {
        assert!(described.contains(part), "{part} missing:\n{described}");
    }

    // The run that exited is there for --previous, with its last words.
    let previous = k
        .ok(VENDOR, &["-n", ATTACKER_NS, "logs", "--previous", &name])
        .await;
    assert!(previous.contains("starting container app"), "{previous}");
    assert!(
        previous.trim_end().ends_with("exiting with status 3"),
        "{previous}"
    );
    let pod = k
        .store("vendor")
        .get("v1", "Pod", Some(ATTACKER_NS), &name)
        .unwrap();
    let last = &pod["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 3, "{pod}");
    assert_eq!(last["reason"], "Error", "{pod}");
    assert!(
        last["startedAt"].is_string() && last["finishedAt"].is_string(),
        "{pod}"
    );
    assert!(pod["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(3));
}

#[tokio::test]
async fn a_node_selector_no_node_matches_leaves_the_pod_pending_until_one_does() {
    let Some(k) = start().await else {
        return;
    };
    let store = k.store("vendor");
    store
        .create(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "picky", "namespace": ATTACKER_NS, "labels": {"app": "picky"}},
            "spec": {"nodeSelector": {"disktype": "ssd"},
                     "containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]},
            "status": {"phase": "Pending"}}))
        .unwrap();
    let expected = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    k.until("FailedScheduling", async || {
        store
            .list("v1", "Event", Some(ATTACKER_NS))
            .0
            .iter()
            .any(|e| e["reason"] == "FailedScheduling" && e["involvedObject"]["name"] == "picky")
    })
    .await;
    let listed = statuses(&k, ATTACKER_NS, "app=picky").await;
    assert_eq!(listed[0].1[1..3], ["0/1", "Pending"], "{listed:?}");
    let described = k
        .ok(VENDOR, &["-n", ATTACKER_NS, "describe", "pod", "picky"])
        .await;
    assert!(
        described.contains("Warning  FailedScheduling") && described.contains(expected),
        "{described}"
    );
    assert!(
        described.contains("Node-Selectors:  disktype=ssd"),
        "{described}"
    );
    let pod = store.get("v1", "Pod", Some(ATTACKER_NS), "picky").unwrap();
    let scheduled = &pod["status"]["conditions"][0];
    assert_eq!(scheduled["type"], "PodScheduled");
    assert_eq!(scheduled["status"], "False");
    assert_eq!(scheduled["reason"], "Unschedulable");
    assert_eq!(scheduled["message"], expected);

    // A node that fits turns up: the pod is scheduled there and runs.
    k.ok(
        VENDOR,
        &[
            "label",
            "node",
            "trustusbank-vendor-worker2",
            "disktype=ssd",
        ],
    )
    .await;
    k.until("picky running", async || {
        let listed = statuses(&k, ATTACKER_NS, "app=picky").await;
        listed
            .first()
            .is_some_and(|(_, c)| c.get(2).is_some_and(|s| s == "Running"))
    })
    .await;
    let wide = k
        .ok(
            VENDOR,
            &["get", "pod", "picky", "-n", ATTACKER_NS, "-o", "wide"],
        )
        .await;
    assert!(
        row(&wide, "picky").is_some_and(|l| l.contains(" trustusbank-vendor-worker2 ")),
        "{wide}"
    );
}

#[tokio::test]
async fn a_failing_readiness_probe_keeps_the_pod_unready_until_it_passes() {
    let Some(k) = start().await else {
        return;
    };
    let store = k.store("vendor");
    store
        .create(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "sulky", "namespace": ATTACKER_NS, "labels": {"app": "sulky"},
                         "annotations": {READY: "false"}},
            "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0",
                                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]},
            "status": {"phase": "Pending"}}))
        .unwrap();
    let unhealthy = "Readiness probe failed: HTTP probe failed with statuscode: 503";
    k.until("Unhealthy counting up", async || {
        let pod = store.get("v1", "Pod", Some(ATTACKER_NS), "sulky").unwrap();
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
        count_of(&events_of(&k, ATTACKER_NS, &uid), "Unhealthy", unhealthy) >= 3
    })
    .await;
    let listed = statuses(&k, ATTACKER_NS, "app=sulky").await;
    assert_eq!(listed[0].1[1..4], ["0/1", "Running", "0"], "{listed:?}");
    let described = k
        .ok(VENDOR, &["-n", ATTACKER_NS, "describe", "pod", "sulky"])
        .await;
    assert!(described.contains("Warning  Unhealthy"), "{described}");
    assert!(described.contains(unhealthy), "{described}");
    assert!(described.contains(" (x"), "{described}");
    assert!(
        described.contains("ContainersReady             False"),
        "{described}"
    );

    // The probe passes once the annotation is gone.
    k.ok(
        VENDOR,
        &[
            "-n",
            ATTACKER_NS,
            "annotate",
            "pod",
            "sulky",
            &format!("{READY}-"),
        ],
    )
    .await;
    k.until("sulky ready", async || {
        let listed = statuses(&k, ATTACKER_NS, "app=sulky").await;
        listed
            .first()
            .is_some_and(|(_, c)| c.get(1).is_some_and(|s| s == "1/1"))
    })
    .await;
}
