//! The exfil counter is exact: across a log stream that is cut and resumed, and across a
//! restart of the mock-attacker pod, no line is counted twice and none is lost.

use std::time::Duration;

use control_room::app::{Msg, update};
use control_room::model::{Model, WorldMode};
use control_room::sources;
use control_room_sim::{self as sim, ExfilEvent, SimHandle, SimOptions, SimTuning};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

fn steal(sim: &SimHandle, n: u32) {
    sim.exfil().record(ExfilEvent {
        at: chrono::Utc::now(),
        source: "10.30.1.7".into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": format!("Customer {n}"), "email": "x@example.com"}),
    });
}

async fn until(model: &mut Model, rx: &mut mpsc::Receiver<Msg>, want: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while model.exfil.total() != want {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                update(model, msg);
            }
            _ => panic!(
                "{what}: counter at {} not {want}; trouble {:?}",
                model.exfil.total(),
                model.exfil.trouble
            ),
        }
    }
}

/// Drains for a moment to be sure nothing extra arrives.
async fn settle(model: &mut Model, rx: &mut mpsc::Receiver<Msg>) {
    let quiet = Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(msg)) = tokio::time::timeout_at(quiet, rx.recv()).await {
        update(model, msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_across_a_cut_stream_and_a_pod_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(80),
        ..SimTuning::default()
    };
    let sim = sim::start_with(
        SimOptions {
            state_dir: dir.path().to_path_buf(),
            ..SimOptions::default()
        },
        tuning,
    )
    .await
    .expect("sim");
    let (kc, _) = sources::kubeconfig::load(Some(sim.kubeconfig_path())).expect("kubeconfig");
    let client = sources::kubeconfig::client(&kc, "kind-trustusbank-vendor")
        .await
        .expect("client");
    let (tx, mut rx) = mpsc::channel(1024);
    let follower = tokio::spawn(sources::exfil::run(
        sources::exfil::ExfilTarget {
            client,
            namespace: "external-attacker".into(),
            deployment: "mock-attacker".into(),
            pattern: "EXFIL RECEIVED".into(),
        },
        tx,
    ));
    let mut model = Model::new(WorldMode::Simulated, Vec::new(), sources::clock::now());

    steal(&sim, 1);
    steal(&sim, 2);
    until(&mut model, &mut rx, 2, "two events").await;
    // The record follows its event line.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !model.exfil.last_record.join("\n").contains("Customer 2") {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                update(&mut model, msg);
            }
            _ => panic!("no record after the event: {:?}", model.exfil.last_record),
        }
    }

    // The API server drops every connection: the stream resumes where it left off.
    sim.stop_cluster("vendor").await.expect("stop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    sim.restart_cluster("vendor").await.expect("restart");
    steal(&sim, 3);
    until(&mut model, &mut rx, 3, "after the reconnect").await;
    settle(&mut model, &mut rx).await;
    assert_eq!(
        model.exfil.total(),
        3,
        "a resumed stream must not repeat lines"
    );

    // The mock-attacker restarts (a rollout): the new pod's log is new, the old count stays.
    let vendor = sim.store("vendor").expect("vendor");
    let mut deployment = vendor
        .get(
            "apps/v1",
            "Deployment",
            Some("external-attacker"),
            "mock-attacker",
        )
        .expect("deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("mock-attacker:1.0.1");
    vendor.update(deployment).expect("roll out");
    let deadline = Instant::now() + Duration::from_secs(20);
    let first_pod = model.exfil.following.clone();
    while model.exfil.following == first_pod {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                update(&mut model, msg);
            }
            _ => panic!("the counter never moved to the new pod"),
        }
    }
    steal(&sim, 4);
    until(&mut model, &mut rx, 4, "on the new pod").await;
    settle(&mut model, &mut rx).await;
    assert_eq!(model.exfil.total(), 4, "exact across the restart");
    follower.abort();
    sim.shutdown().await;
}
