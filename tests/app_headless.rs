//! The real app, headless on a TestBackend, against the in-process simulator: panes fill,
//! one lost cluster greys only its own pane, and it recovers by itself.

use std::time::Duration;

use control_room::app::{App, Msg};
use control_room::config::Theme;
use control_room::model::{Model, Reachability, WorldMode};
use control_room::sources;
use control_room::ui;
use control_room_sim::{self as sim, SimHandle, SimOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Harness {
    app: App,
    terminal: Terminal<TestBackend>,
    theme: Theme,
    _sources: Vec<tokio::task::JoinSet<()>>,
    _tx: mpsc::Sender<Msg>,
}

impl Harness {
    async fn start(sim: &SimHandle) -> Harness {
        let (kubeconfig, _) =
            sources::kubeconfig::load(Some(sim.kubeconfig_path())).expect("sim kubeconfig loads");
        let (tx, rx) = mpsc::channel(8192);
        let clusters: Vec<_> = sim
            .clusters()
            .into_iter()
            .map(|c| (c.name, c.context))
            .collect();
        let sources = clusters
            .iter()
            .enumerate()
            .map(|(i, (_, ctx))| {
                sources::cluster::spawn(i, kubeconfig.clone(), ctx.clone(), tx.clone())
            })
            .collect();
        let model = Model::new(WorldMode::Simulated, clusters, sources::clock::now());
        Harness {
            app: App::new(model, rx),
            terminal: Terminal::new(TestBackend::new(160, 48)).expect("terminal"),
            theme: Theme::builtin("default").expect("theme"),
            _sources: sources,
            _tx: tx,
        }
    }

    /// Pumps messages and redraws until `done` holds for the model and screen, or panics
    /// with the last screen after `within`.
    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model, &str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            self.app.model.size = (160, 48);
            self.terminal
                .draw(|f| ui::draw(f, &self.app.model, &self.theme))
                .expect("draw");
            let screen = ui::buffer_text(self.terminal.backend().buffer());
            if done(&self.app.model, &screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            self.app
                .pump(Some(
                    (Instant::now() + Duration::from_millis(100)).min(deadline),
                ))
                .await;
        }
    }
}

fn all_synced(m: &Model) -> bool {
    m.clusters
        .iter()
        .all(|c| c.pods_synced && c.reach == Reachability::Reachable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panes_fill_survive_a_lost_cluster_and_recover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim::start(SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    })
    .await
    .expect("sim starts");
    let mut h = Harness::start(&sim).await;

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
    sim.stop_cluster("bank").await.expect("stop bank");
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
    assert_eq!(h.app.model.clusters[0].reach, Reachability::Reachable);
    assert_eq!(h.app.model.clusters[2].reach, Reachability::Reachable);

    // The others still follow changes meanwhile.
    let edge = sim.store("edge").expect("edge store");
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
    sim.restart_cluster("bank").await.expect("restart bank");
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
    let bank = sim.store("bank").expect("bank store");
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
    sim.shutdown().await;
}
