//! The real app, headless on a TestBackend, against the in-process simulator: panes fill,
//! one lost cluster greys only its own pane, and it recovers by itself.

use std::time::Duration;

use control_room::config::{Role, Theme};
use control_room::model::Reachability;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;

use crate::support::{self, Harness, all_synced, style_at};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panes_fill_survive_a_lost_cluster_and_recover() {
    let (dir, sim) = support::start_with(control_room_sim::DEFAULT_ROLLOUT_STEP).await;
    let mut h = Harness::on_sim(sim, &support::config_in(dir.path())).await;

    let screen = h
        .until(
            Duration::from_secs(20),
            "all three panes populated",
            |m, _| all_synced(m),
        )
        .await;
    for name in ["edge", "bank", "vendor"] {
        assert!(
            screen.contains(name),
            "pane title {name} missing:\n{screen}"
        );
    }
    assert!(
        screen.contains("currency-conv"),
        "vendor pod missing:\n{screen}"
    );
    assert!(screen.contains("chatbot"), "edge pod missing:\n{screen}");
    assert!(screen.contains("SIMULATED"));
    for c in &h.app.model.clusters {
        assert!(
            c.pods_total() > 5,
            "{} has only {} pods",
            c.name,
            c.pods_total()
        );
        assert_eq!(c.pods_ready, c.pods_total(), "{} not all ready", c.name);
    }

    // Bank's API server dies: only bank's pane says so.
    h.sim().stop_cluster("bank").await.expect("stop bank");
    let screen = h
        .until(Duration::from_secs(15), "bank unreachable", |m, _| {
            matches!(m.clusters[1].reach, Reachability::Unreachable { .. })
        })
        .await;
    assert!(
        screen.contains("unreachable since"),
        "no unreachable notice:\n{screen}"
    );
    assert!(screen.contains("retrying"));
    let greyed = Theme::builtin("default")
        .expect("theme")
        .style(Role::Unreachable);
    assert_eq!(
        style_at(h.buffer(), "support-bot").fg,
        greyed.fg,
        "the lost cluster's pods are greyed"
    );
    assert_eq!(h.app.model.clusters[0].reach, Reachability::Reachable);
    assert_eq!(h.app.model.clusters[2].reach, Reachability::Reachable);

    // The others still follow changes meanwhile.
    let edge = h.sim().store("edge").expect("edge store");
    let before = h.app.model.clusters[0].pods_total();
    edge.create(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "late-arrival", "namespace": "trustusbank-bank-frontend", "labels": {"app": "late"}},
        "spec": {"containers": [{"name": "c", "image": "late:2.0.0"}]},
        "status": {"phase": "Pending"}
    }))
    .expect("create pod");
    h.until(Duration::from_secs(10), "edge sees the new pod", |m, _| {
        m.clusters[0].pods_total() == before + 1
            && m.clusters[0]
                .pods
                .contains_key(&("trustusbank-bank-frontend".into(), "late-arrival".into()))
    })
    .await;

    // Bank comes back: its pane recovers by itself.
    h.sim().restart_cluster("bank").await.expect("restart bank");
    let screen = h
        .until(Duration::from_secs(20), "bank recovered", |m, _| {
            all_synced(m)
        })
        .await;
    assert!(
        !screen.contains("unreachable since"),
        "still unreachable:\n{screen}"
    );
    // …and its watchers are live again, not just its probe.
    let bank = h.sim().store("bank").expect("bank store");
    bank.create(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "after-restart", "namespace": "trustusbank-bank-agents", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        "status": {"phase": "Pending"}
    }))
    .expect("create pod");
    h.until(Duration::from_secs(20), "bank watchers resumed", |m, _| {
        m.clusters[1]
            .pods
            .contains_key(&("trustusbank-bank-agents".into(), "after-restart".into()))
    })
    .await;
    h.shutdown().await;
}

/// `L` lists the forwards the app opened; `y` copies a link (OSC 52 in the terminal),
/// `o` opens it, `Esc` goes back — through the app's one effect runner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_pane_copies_and_opens() {
    let (dir, sim) = support::start().await;
    let mut h = Harness::on_sim(sim, &support::config_in(dir.path())).await;
    h.key('L').await;
    let screen = h
        .until(
            Duration::from_secs(15),
            "the links with local URLs",
            |m, _| m.show_links && m.forwards.first().is_some_and(|f| f.local.is_some()),
        )
        .await;
    let first = h.app.model.forwards[0].clone();
    let url = first.url().expect("a local URL");
    assert!(screen.contains(&first.name), "{screen}");
    h.key('y').await;
    h.key('o').await;
    h.until(Duration::from_secs(5), "copy and open", |m, _| {
        m.notice
            .as_ref()
            .is_some_and(|(n, _)| n.starts_with("opening"))
    })
    .await;
    assert_eq!(
        *h.clipboard.lock().expect("clipboard"),
        std::slice::from_ref(&url)
    );
    assert_eq!(*h.browser.lock().expect("browser"), [url]);
    h.press(KeyCode::Esc, KeyModifiers::NONE).await;
    h.until(Duration::from_secs(5), "the links pane closed", |m, _| {
        !m.show_links
    })
    .await;
    h.shutdown().await;
}
