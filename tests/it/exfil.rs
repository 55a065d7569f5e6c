//! The exfil counter is exact: across a log stream that is cut and resumed, and across a
//! restart of the mock-attacker pod, no line is counted twice and none is lost.

use std::time::Duration;

use control_room_sim::{ExfilEvent, SimHandle};
use serde_json::json;

use crate::support::{self, Harness};

fn steal(sim: &SimHandle, n: u32) {
    sim.exfil().record(ExfilEvent {
        at: chrono::Utc::now(),
        source: "10.30.1.7".into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": format!("Customer {n}"), "email": "x@example.com"}),
    });
}

/// Until the counter shows `want`, then a moment more to be sure nothing extra arrives.
async fn exactly(h: &mut Harness, want: usize, what: &str) {
    h.until(Duration::from_secs(20), what, |m, _| {
        m.exfil.total() >= want
    })
    .await;
    h.settle(Duration::from_millis(1500)).await;
    assert_eq!(
        h.app.model.exfil.total(),
        want,
        "{what}: no line counted twice; trouble {:?}",
        h.app.model.exfil.trouble
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_across_a_cut_stream_and_a_pod_restart() {
    let (work, sim) = support::start().await;
    let mut h = Harness::on_sim(sim, &support::config_in(work.path())).await;
    steal(h.sim(), 1);
    steal(h.sim(), 2);
    exactly(&mut h, 2, "two events").await;
    // The record follows its event line.
    h.until(
        Duration::from_secs(5),
        "the record after the event",
        |m, _| m.exfil.last_record.join("\n").contains("Customer 2"),
    )
    .await;

    // The API server drops every connection: the stream resumes where it left off.
    h.sim().stop_cluster("vendor").await.expect("stop");
    h.settle(Duration::from_millis(300)).await;
    h.sim().restart_cluster("vendor").await.expect("restart");
    steal(h.sim(), 3);
    exactly(
        &mut h,
        3,
        "after the reconnect a resumed stream repeats nothing",
    )
    .await;

    // The mock-attacker restarts (a rollout): the new pod's log is new, the old count stays.
    let vendor = h.sim().store("vendor").expect("vendor");
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
    let first_pod = h.app.model.exfil.following.clone();
    h.until(
        Duration::from_secs(20),
        "the counter on the new pod",
        |m, _| m.exfil.following != first_pod,
    )
    .await;
    steal(h.sim(), 4);
    exactly(&mut h, 4, "exact across the restart").await;
    h.shutdown().await;
}
