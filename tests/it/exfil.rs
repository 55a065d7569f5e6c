//! The exfil counter is exact: across a log stream that is cut and resumed, a burst of lines
//! with one timestamp, lines that are not UTF-8 or a megabyte long, two replicas, a container
//! restart while no stream was open, a pod that left and came back, and a rollout — no line
//! counted twice, none lost. `status` reads the same way, within a bound.

use std::time::Duration;

use control_room::app::Parts;
use control_room::app::runtime::Reading;
use control_room::app::world::{Choice, World};
use control_room_sim::{ExfilEvent, SimHandle};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::{self, Harness};

const NS: &str = "external-attacker";

fn event(n: u32) -> ExfilEvent {
    ExfilEvent {
        at: chrono::Utc::now(),
        source: "10.30.1.7".into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": format!("Customer {n}"), "email": "x@example.com"}),
    }
}

fn steal(sim: &SimHandle, n: u32) {
    sim.exfil().record(event(n));
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

/// The app on a fresh simulator, reading the attacker's log.
async fn app() -> (tempfile::TempDir, Harness) {
    let (work, sim) = support::start().await;
    let mut h = Harness::on_sim(sim, &support::config_in(work.path())).await;
    h.until(
        Duration::from_secs(20),
        "the attacker's log followed",
        |m, _| m.exfil.following.len() == 1,
    )
    .await;
    (work, h)
}

/// The API server drops every connection and comes back after `meanwhile` ran.
async fn cut_stream(h: &mut Harness, meanwhile: impl FnOnce(&SimHandle)) {
    h.sim().stop_cluster("vendor").await.expect("stop");
    h.until(Duration::from_secs(20), "the cut noticed", |m, _| {
        m.exfil.trouble.is_some()
    })
    .await;
    meanwhile(h.sim());
    h.sim().restart_cluster("vendor").await.expect("restart");
}

fn attacker_pod(h: &Harness, name: &str) -> Value {
    h.sim()
        .store("vendor")
        .expect("vendor")
        .get("v1", "Pod", Some(NS), name)
        .expect("the attacker pod")
}

/// As a failing readiness probe leaves a pod: running, not Ready.
fn set_ready(h: &Harness, name: &str, ready: bool) {
    let mut pod = attacker_pod(h, name);
    let status = if ready { "True" } else { "False" };
    for c in pod["status"]["conditions"]
        .as_array_mut()
        .expect("conditions")
    {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!(status);
        }
    }
    for c in pod["status"]["containerStatuses"]
        .as_array_mut()
        .expect("statuses")
    {
        c["ready"] = json!(ready);
    }
    h.sim()
        .store("vendor")
        .expect("vendor")
        .update(pod)
        .expect("readiness");
}

/// Waits until the wall clock is in a later second than `t` (statuses have whole seconds).
async fn next_second(t: chrono::DateTime<chrono::Utc>) {
    while chrono::Utc::now().timestamp() <= t.timestamp() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_across_a_cut_stream_and_a_pod_restart() {
    let (_work, mut h) = app().await;
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
    cut_stream(&mut h, |_| {}).await;
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
        .get("apps/v1", "Deployment", Some(NS), "mock-attacker")
        .expect("deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("mock-attacker:1.0.1");
    vendor.update(deployment).expect("roll out");
    let first_pod = h.app.model.exfil.following.clone();
    h.until(
        Duration::from_secs(20),
        "the counter on the new pod alone",
        |m, _| m.exfil.following.len() == 1 && m.exfil.following != first_pod,
    )
    .await;
    steal(h.sim(), 4);
    exactly(&mut h, 4, "exact across the restart").await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_with_one_timestamp_counts_every_line_across_a_cut() {
    let (_work, mut h) = app().await;
    let first: Vec<ExfilEvent> = (0..50).map(event).collect();
    let at = first[0].at;
    h.sim().exfil().record_burst(first);
    exactly(&mut h, 50, "a burst of 50 with one stamp").await;

    // Another burst in the same second, written while the stream is down: the resumed read
    // replays the first one from that second and skips exactly it.
    cut_stream(&mut h, |sim| {
        let second: Vec<ExfilEvent> = (50..100)
            .map(|n| ExfilEvent {
                at: at + chrono::TimeDelta::microseconds(1),
                ..event(n)
            })
            .collect();
        sim.exfil().record_burst(second);
    })
    .await;
    exactly(&mut h, 100, "both bursts, once each").await;
    h.sim()
        .exfil()
        .record_burst((100..150).map(event).collect());
    exactly(&mut h, 150, "a burst in a live stream").await;
    assert_eq!(h.sim().exfil().count(), 150);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_bytes_neither_stop_the_count_nor_reach_the_screen() {
    let (_work, mut h) = app().await;
    steal(h.sim(), 1);
    exactly(&mut h, 1, "one event").await;

    // Not UTF-8, with a terminal escape in it, on an event line of its own.
    let at = chrono::Utc::now();
    h.sim().exfil().print(
        at,
        b"garbage \xff\xfe\n\xf0\x9f\x9a\xa8 EXFIL RECEIVED at now from \xc3\x28\x1b[2J\x07evil\n"
            .to_vec(),
    );
    exactly(&mut h, 2, "the odd event line").await;
    let model = &h.app.model.exfil;
    assert_eq!(
        model.last_source.as_deref(),
        Some("\u{fffd}(␛[2J␇evil"),
        "decoded lossily, its controls made visible"
    );
    let note = model.note.clone().unwrap_or_default();
    assert!(
        note.contains("2 lines not UTF-8"),
        "the odd lines are noted: {note:?}"
    );
    steal(h.sim(), 2);
    exactly(&mut h, 3, "the event after the odd lines").await;

    // A megabyte on one line: cut at the cap, the record stays small, the next one counts.
    h.sim().exfil().record(ExfilEvent {
        data: json!({"blob": "x".repeat(1 << 20)}),
        ..event(3)
    });
    steal(h.sim(), 4);
    exactly(&mut h, 5, "past a 1 MiB line").await;
    let screen = h
        .until(
            Duration::from_secs(5),
            "the note about the cut line",
            |m, _| {
                m.exfil
                    .note
                    .as_deref()
                    .is_some_and(|n| n.contains("cut at 64 KiB"))
            },
        )
        .await;
    let model = &h.app.model.exfil;
    assert!(model.last_record.join("\n").contains("Customer 4"));
    let texts = model
        .last_record
        .iter()
        .chain(model.last_source.iter())
        .chain(model.note.iter())
        .chain(model.trouble.iter());
    for text in texts {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\t'),
            "no control character from the log: {text:?}"
        );
    }
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(screen.contains("note: "), "the note is on screen: {screen}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_each_logging_add_up() {
    let (_work, mut h) = app().await;
    let vendor = support::client(h.sim(), "vendor").await;
    let deployments: Api<Deployment> = Api::namespaced(vendor, NS);
    deployments
        .patch_scale(
            "mock-attacker",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scale to 2");
    let screen = h
        .until(Duration::from_secs(20), "both replicas followed", |m, _| {
            m.exfil.following.len() == 2
        })
        .await;
    assert!(screen.contains("following 2 pods"), "{screen}");
    for n in 0..6 {
        steal(h.sim(), n);
    }
    exactly(&mut h, 6, "three in each replica").await;
    assert_eq!(h.sim().exfil().count(), 6);

    // `status` reads every replica once, within its bound, and ends with CaughtUp.
    let config = support::config_in(_work.path());
    let world = World::open(&config, Some(h.sim().kubeconfig_path()), Choice::Live)
        .await
        .expect("a world on the same simulator");
    let parts = Parts {
        exfil: Reading::Once,
        ..Parts::none()
    };
    let mut once = Harness::start(world, &config, parts, support::SIZE).await;
    once.until(Duration::from_secs(20), "the one-shot read", |m, _| {
        m.exfil.caught_up
    })
    .await;
    once.settle(Duration::from_millis(500)).await;
    let model = &once.app.model.exfil;
    assert_eq!(model.total(), 6, "trouble {:?}", model.trouble);
    assert_eq!(model.following.len(), 2);
    assert_eq!(model.trouble, None);
    once.shutdown().await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_no_stream_is_open_is_read_from_the_previous_container() {
    let (_work, mut h) = app().await;
    steal(h.sim(), 1);
    exactly(&mut h, 1, "one event").await;
    let pod = h.app.model.exfil.following[0].clone();

    h.sim().stop_cluster("vendor").await.expect("stop");
    // The old container logs three more, then crashes and is started again.
    for n in 2..5 {
        steal(h.sim(), n);
    }
    next_second(chrono::Utc::now()).await;
    let mut restarted = attacker_pod(&h, &pod);
    assert!(control_room_sim::restart_container(
        &mut restarted,
        "mock-attacker",
        chrono::Utc::now()
    ));
    h.sim()
        .store("vendor")
        .expect("vendor")
        .update(restarted)
        .expect("restart");
    h.sim().restart_cluster("vendor").await.expect("restart");
    // Not read yet: the new container's log has none of them.
    steal(h.sim(), 5);
    steal(h.sim(), 6);
    exactly(
        &mut h,
        6,
        "the old container's three via previous, the new one's two",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_left_and_came_back_is_not_replayed() {
    let (_work, mut h) = app().await;
    for n in 0..3 {
        steal(h.sim(), n);
    }
    exactly(&mut h, 3, "three events").await;
    let pod = h.app.model.exfil.following[0].clone();

    // Not Ready, and its stream cut: it is left.
    set_ready(&h, &pod, false);
    cut_stream(&mut h, |_| {}).await;
    h.until(Duration::from_secs(20), "the pod left", |m, _| {
        m.exfil.following.is_empty()
    })
    .await;
    // It logs on while nobody reads it.
    steal(h.sim(), 3);
    steal(h.sim(), 4);
    h.settle(Duration::from_millis(500)).await;
    assert_eq!(
        h.app.model.exfil.total(),
        3,
        "a pod that is not Ready is not read"
    );

    set_ready(&h, &pod, true);
    h.until(Duration::from_secs(20), "the pod followed again", |m, _| {
        m.exfil.following == [pod.clone()]
    })
    .await;
    exactly(&mut h, 5, "resumed from its cursor: only the two new ones").await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_read_is_bounded_and_says_when_the_bound_cut_it() {
    let (work, sim) = support::start().await;
    steal(&sim, 1);
    // 17 lines of a MiB each: past the one-shot bound of 16 MiB; the event after them is
    // beyond what status reads.
    let at = chrono::Utc::now();
    for _ in 0..17 {
        let mut line = vec![b'x'; 1 << 20];
        line.push(b'\n');
        sim.exfil().print(at, line);
    }
    steal(&sim, 2);
    let config = support::config_in(work.path());
    let world = World::from_sim(sim).expect("world");
    let parts = Parts {
        exfil: Reading::Once,
        ..Parts::none()
    };
    let mut once = Harness::start(world, &config, parts, support::SIZE).await;
    once.until(Duration::from_secs(30), "the one-shot read", |m, _| {
        m.exfil.caught_up
    })
    .await;
    once.settle(Duration::from_millis(300)).await;
    let model = &once.app.model.exfil;
    assert_eq!(model.total(), 1, "only what the first 16 MiB hold");
    let trouble = model.trouble.clone().unwrap_or_default();
    assert!(
        trouble.contains("read only the first 16 MiB") && trouble.contains("may be short"),
        "the cut is said: {trouble:?}"
    );
    once.shutdown().await;
}
