//! The three acts end to end: the real app headless with the in-process simulator, the
//! real demo scripts and the real kubectl. The act indicator must follow what the
//! clusters report: rolling out, then compromised; defended; clean again.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use control_room::actions::ActEnvironment;
use control_room::app::{App, Msg};
use control_room::config::{DemoConfig, Theme};
use control_room::model::{ActKind, ActOutcome, ActState, Model, Reachability, WorldMode};
use control_room::sources;
use control_room::ui;
use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Harness {
    app: App,
    terminal: Terminal<TestBackend>,
    theme: Theme,
    tx: mpsc::Sender<Msg>,
    _sources: Vec<tokio::task::JoinSet<()>>,
    /// Every act state the screen showed, in order, without repeats.
    states: Vec<ActState>,
}

fn demo_scripts() -> HashMap<ActKind, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-scripts");
    [
        (ActKind::Reset, "reset-demo.sh"),
        (ActKind::Upgrade, "upgrade-banking-app.sh"),
        (ActKind::PoliciesOn, "policies-on.sh"),
    ]
    .into_iter()
    .map(|(k, s)| (k, vec![dir.join(s).display().to_string()]))
    .collect()
}

impl Harness {
    async fn start(
        sim: &SimHandle,
        work: &Path,
        commands: HashMap<ActKind, Vec<String>>,
    ) -> Harness {
        let (kubeconfig, path) =
            sources::kubeconfig::load(Some(sim.kubeconfig_path())).expect("kubeconfig");
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
        let mut env = vec![
            ("KUBECONFIG".to_string(), path),
            // kubectl caches discovery per user; each test gets its own.
            (
                "KUBECACHEDIR".to_string(),
                work.join("kube-cache").display().to_string(),
            ),
            ("ROLLOUT_TIMEOUT".to_string(), "60s".to_string()),
        ];
        for (name, ctx) in &clusters {
            env.push((format!("{}_CONTEXT", name.to_uppercase()), ctx.clone()));
        }
        let acts = ActEnvironment {
            commands,
            env,
            timeout: Duration::from_secs(90),
            log_dir: work.join("acts"),
        };
        let mut model = Model::new(WorldMode::Simulated, clusters, sources::clock::now());
        model.set_demo(DemoConfig::default());
        Harness {
            app: App::new(model, rx).with_acts(acts, tx.clone()),
            terminal: Terminal::new(TestBackend::new(160, 48)).expect("terminal"),
            theme: Theme::builtin("default").expect("theme"),
            tx,
            _sources: sources,
            states: Vec::new(),
        }
    }

    async fn key(&mut self, c: char) {
        self.tx
            .send(Msg::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )))
            .await
            .expect("send key");
    }

    /// Pumps, redraws and records act states until `done`, or panics with the screen.
    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model, &str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            // The clock source is not running here; keep the model's time moving.
            self.app.model.now = sources::clock::now();
            self.app.model.size = (160, 48);
            self.terminal
                .draw(|f| ui::draw(f, &self.app.model, &self.theme))
                .expect("draw");
            let screen = ui::buffer_text(self.terminal.backend().buffer());
            let state = self.app.model.act.reading.state;
            if self.states.last() != Some(&state) {
                self.states.push(state);
            }
            if done(&self.app.model, &screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                let log = self
                    .app
                    .model
                    .act_run
                    .as_ref()
                    .map(|r| format!("{:#?}", r.lines))
                    .unwrap_or_default();
                panic!(
                    "timed out waiting for {what}; states {:?}; act lines {log}\nscreen:\n{screen}",
                    self.states
                );
            }
            self.app
                .pump(Some(
                    (Instant::now() + Duration::from_millis(50)).min(deadline),
                ))
                .await;
        }
    }

    /// Presses the act key, confirms, and waits for the script to finish successfully.
    async fn run_act(&mut self, key: char, kind: ActKind) -> String {
        self.key(key).await;
        self.until(Duration::from_secs(5), "the confirmation", |m, s| {
            m.confirming == Some(kind) && s.contains("yes")
        })
        .await;
        self.key('y').await;
        let screen = self
            .until(Duration::from_secs(90), "the act to finish", |m, _| {
                m.act_run
                    .as_ref()
                    .is_some_and(|r| r.kind == kind && r.outcome.is_some())
            })
            .await;
        let run = self.app.model.act_run.as_ref().expect("run");
        let outcome = run.outcome.as_ref().map(|(o, _)| o.clone());
        assert_eq!(
            outcome,
            Some(ActOutcome::Exited(0)),
            "act {} failed: {:#?}\n{screen}",
            kind.key(),
            run.lines
        );
        screen
    }
}

fn all_synced(m: &Model) -> bool {
    m.clusters
        .iter()
        .all(|c| c.pods_synced && c.reach == Reachability::Reachable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_keys_play_the_three_acts_and_the_screen_follows_the_clusters() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: no kubectl on PATH (.ci/run installs it)");
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(150),
        ..SimTuning::default()
    };
    let sim = sim::start_with(
        SimOptions {
            state_dir: work.path().join("sim"),
            ..SimOptions::default()
        },
        tuning,
    )
    .await
    .expect("sim");
    let mut h = Harness::start(&sim, work.path(), demo_scripts()).await;
    h.until(Duration::from_secs(20), "panes populated", |m, _| {
        all_synced(m) && m.act.reading.state == ActState::Clean
    })
    .await;

    // Act 2: the rugpull rollout shows as such, then as compromised.
    let screen = h.run_act('u', ActKind::Upgrade).await;
    assert!(
        screen.contains("act 2 ready"),
        "script output not in the act log:\n{screen}"
    );
    let screen = h
        .until(Duration::from_secs(20), "ACT 2", |m, _| {
            m.act.reading.state == ActState::Compromised
        })
        .await;
    assert!(screen.contains("ACT 2 · compromised"), "{screen}");
    assert!(
        h.states.contains(&ActState::RollingOut),
        "never showed the rollout: {:?}",
        h.states
    );
    assert!(
        screen.contains("rugpull"),
        "vendor pane should show the new tag:\n{screen}"
    );

    // Act 3: policies appear in the vendor pane.
    h.run_act('p', ActKind::PoliciesOn).await;
    let screen = h
        .until(Duration::from_secs(20), "ACT 3", |m, _| {
            m.act.reading.state == ActState::Defended
        })
        .await;
    assert!(screen.contains("ACT 3 · defended"), "{screen}");
    assert!(screen.contains("AuthorizationPolicies (3)"), "{screen}");
    assert!(screen.contains("default-deny"), "{screen}");

    // Act 1: back to clean.
    h.run_act('r', ActKind::Reset).await;
    let screen = h
        .until(Duration::from_secs(20), "ACT 1", |m, _| {
            m.act.reading.state == ActState::Clean
        })
        .await;
    assert!(screen.contains("ACT 1 · clean"), "{screen}");
    assert!(
        !screen.contains("AuthorizationPolicies ("),
        "policies still listed:\n{screen}"
    );
    let image = h.app.model.act.reading.tool_image.clone();
    assert_eq!(image.as_deref(), Some("currency-converter:1.0.0"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_act_output_keeps_the_screen_responsive_and_bounded() {
    let work = tempfile::tempdir().expect("tempdir");
    let sim = sim::start(SimOptions {
        state_dir: work.path().join("sim"),
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let mut commands = HashMap::new();
    commands.insert(
        ActKind::Upgrade,
        vec!["seq".to_string(), "1".to_string(), "100000".to_string()],
    );
    let mut h = Harness::start(&sim, work.path(), commands).await;
    h.app.model.confirm_acts = false;
    h.key('u').await;
    h.until(Duration::from_secs(20), "the flood to start", |m, _| {
        m.act_run.as_ref().is_some_and(|r| !r.lines.is_empty())
    })
    .await;
    // Keys still get through while the output pours in.
    h.key('3').await;
    h.until(
        Duration::from_secs(3),
        "the focus key during the flood",
        |m, _| m.focus == 2,
    )
    .await;
    let screen = h
        .until(Duration::from_secs(60), "the flood to end", |m, _| {
            m.act_run.as_ref().is_some_and(|r| r.outcome.is_some())
        })
        .await;
    let run = h.app.model.act_run.as_ref().expect("run");
    assert_eq!(run.lines.len(), control_room::model::act::ACT_LOG_LINES);
    assert_eq!(run.lines.len() + run.dropped, 100_000);
    assert!(screen.contains("100000"), "last line on screen:\n{screen}");
    assert!(screen.contains("earlier lines"), "{screen}");
    let log = std::fs::read_to_string(run.log_path.as_ref().expect("log")).expect("log file");
    assert_eq!(log.lines().filter(|l| !l.starts_with('#')).count(), 100_000);
    sim.shutdown().await;
}
