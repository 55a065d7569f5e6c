//! What the app's integration tests share: a simulator with test-speed rollouts, kube
//! clients built the way the app builds its own, and the [`Harness`] — the real app, built
//! through the runtime (the same constructor `main` uses), drawn on a `TestBackend`.

#[path = "../../../crates/control-room-sim/tests/it/tools.rs"]
pub mod tools;

pub mod pty;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use control_room::app::world::World;
use control_room::app::{App, Browser, Clipboard, Parts, Runtime, RuntimeOptions};
use control_room::config::{Config, Theme};
use control_room::model::Model;
use control_room::msg::Msg;
use control_room::sources::clock;
use control_room::ui;
use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kube::Client;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The size most app tests draw at: a presenter's laptop screen.
pub const SIZE: (u16, u16) = (160, 48);

/// A simulator in its own temp dir, with rollouts fast enough for tests.
pub async fn start() -> (tempfile::TempDir, SimHandle) {
    start_with(Duration::from_millis(80)).await
}

/// A simulator whose rollout steps last `rollout_step`.
pub async fn start_with(rollout_step: Duration) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().join("sim"),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step,
        ..SimTuning::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    (dir, sim)
}

/// A kube-rs client for one simulated cluster (`edge`, `bank`, `vendor`), built the way
/// the app builds its own.
pub async fn client(sim: &SimHandle, cluster: &str) -> Client {
    let (kubeconfig, _) = control_room::sources::kubeconfig::load(Some(sim.kubeconfig_path()))
        .expect("kubeconfig parses");
    control_room::sources::kubeconfig::client(&kubeconfig, &format!("kind-trustusbank-{cluster}"))
        .await
        .expect("client")
}

/// The newest not-terminating pod with `app=<app>` in `namespace`.
pub fn pod_of(sim: &SimHandle, cluster: &str, namespace: &str, app: &str) -> String {
    let (pods, _) = sim
        .store(cluster)
        .expect("cluster exists")
        .list("v1", "Pod", Some(namespace));
    let mut pods: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    pods.sort_by_key(|p| {
        p["metadata"]["creationTimestamp"]
            .as_str()
            .map(str::to_string)
    });
    let pod = pods.last().unwrap_or_else(|| panic!("a pod of {app}"));
    pod["metadata"]["name"]
        .as_str()
        .expect("pods have names")
        .to_string()
}

/// The defaults, with everything an act writes kept inside `work`: the run logs, and
/// kubectl's discovery cache (each test its own).
pub fn config_in(work: &Path) -> Config {
    let mut config = Config::defaults();
    config.acts.log_dir = Some(work.join("acts"));
    config.acts.env.insert(
        "KUBECACHEDIR".into(),
        work.join("kube-cache").display().to_string(),
    );
    config
        .acts
        .env
        .insert("ROLLOUT_TIMEOUT".into(), "60s".into());
    config
}

/// The real app on a `TestBackend`: built by [`Runtime::start`], drawn by the app's own
/// draw step, fed by its own sources; keys go in through the same channel the terminal's do.
pub struct Harness {
    pub app: App,
    pub runtime: Runtime,
    terminal: Terminal<TestBackend>,
    theme: Theme,
    tx: mpsc::Sender<Msg>,
    /// What `y` copied and `o` opened.
    pub clipboard: Arc<Mutex<Vec<String>>>,
    pub browser: Arc<Mutex<Vec<String>>>,
    /// Where `s` in the log view saves (never the tester's own state dir).
    pub saved_logs: tempfile::TempDir,
    size: (u16, u16),
}

impl Harness {
    /// The whole TUI (every source) on `sim`, at [`SIZE`].
    pub async fn on_sim(sim: SimHandle, config: &Config) -> Harness {
        let world = World::from_sim(sim).expect("world from the sim");
        Harness::start(world, config, Parts::tui(), SIZE).await
    }

    pub async fn start(world: World, config: &Config, parts: Parts, size: (u16, u16)) -> Harness {
        let clipboard = Arc::new(Mutex::new(Vec::new()));
        let browser = Arc::new(Mutex::new(Vec::new()));
        let saved_logs = tempfile::tempdir().expect("tempdir");
        let options = RuntimeOptions {
            log_path: "/tmp/control-room-test.log".into(),
            clipboard: Some(Clipboard::Captured(clipboard.clone())),
            browser: Some(Browser::Captured(browser.clone())),
            saved_logs: Some(saved_logs.path().join("logs")),
            ..RuntimeOptions::default()
        };
        let (mut app, runtime) = Runtime::start(world, config, parts, options).await;
        app.apply_now(Msg::Resize(size.0, size.1));
        Harness {
            app,
            tx: runtime.sender(),
            runtime,
            terminal: Terminal::new(TestBackend::new(size.0, size.1)).expect("terminal"),
            theme: Theme::builtin("default").expect("theme"),
            clipboard,
            browser,
            saved_logs,
            size,
        }
    }

    /// The simulator behind the world, when the world is simulated.
    pub fn sim(&self) -> &SimHandle {
        self.runtime
            .world()
            .and_then(|w| w.sim.as_ref())
            .expect("a simulated world")
    }

    /// A key, as the terminal would send it.
    pub async fn press(&self, code: KeyCode, modifiers: KeyModifiers) {
        self.tx
            .send(Msg::Key(KeyEvent::new(code, modifiers)))
            .await
            .expect("key");
    }

    /// A character key; upper case arrives with Shift held, as terminals send it.
    pub async fn key(&self, c: char) {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        self.press(KeyCode::Char(c), modifiers).await;
    }

    pub async fn ctrl(&self, c: char) {
        self.press(KeyCode::Char(c), KeyModifiers::CONTROL).await;
    }

    /// Draws the current model with the app's own draw step and returns the screen text.
    pub fn draw(&mut self) -> String {
        self.app
            .draw(&mut self.terminal, &self.theme)
            .expect("draw");
        ui::buffer_text(self.terminal.backend().buffer())
    }

    /// The last frame's buffer (styles included).
    pub fn buffer(&self) -> &ratatui::buffer::Buffer {
        self.terminal.backend().buffer()
    }

    /// Pumps messages and redraws until `done` holds for the model and screen, or panics
    /// with the last screen after `within`.
    pub async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model, &str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            // Time moves as the clock source would move it, between its ticks too.
            self.app.apply_now(Msg::Tick(clock::now()));
            let screen = self.draw();
            if done(&self.app.model, &screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {within:?} waiting for {what} ({}x{}); screen:\n{screen}",
                    self.size.0, self.size.1
                );
            }
            self.app
                .pump(Some(
                    (Instant::now() + Duration::from_millis(50)).min(deadline),
                ))
                .await;
        }
    }

    /// Keeps applying what arrives for `quiet`: to be sure nothing more comes.
    pub async fn settle(&mut self, quiet: Duration) {
        let deadline = Instant::now() + quiet;
        while Instant::now() < deadline {
            self.app.pump(Some(deadline)).await;
        }
    }

    pub async fn shutdown(self) {
        self.runtime.shutdown().await;
    }
}

/// The shipped binary with a person's fresh session: its own home, config and state, no
/// kubeconfig.
pub fn command(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(pty::BIN);
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("KUBECONFIG", home.join("no-such-kubeconfig"))
        .stdin(std::process::Stdio::null());
    cmd
}

/// A file's or directory's permission bits (not following a symlink).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o777
}

/// The style of the first cell of the first place `needle` is drawn.
pub fn style_at(buffer: &ratatui::buffer::Buffer, needle: &str) -> ratatui::style::Style {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        let cells: Vec<(u16, String)> = (area.left()..area.right())
            .map(|x| (x, buffer[(x, y)].symbol().to_string()))
            .collect();
        let line: String = cells.iter().map(|(_, s)| s.as_str()).collect();
        if let Some(byte) = line.find(needle) {
            // Map the byte offset back to the cell that starts there.
            let mut offset = 0;
            for (x, symbol) in &cells {
                if offset == byte {
                    return buffer[(*x, y)].style();
                }
                offset += symbol.len();
            }
        }
    }
    panic!("{needle:?} is not on screen:\n{}", ui::buffer_text(buffer));
}

/// Every cluster listed its pods and answers.
pub fn all_synced(m: &Model) -> bool {
    m.clusters
        .iter()
        .all(|c| c.pods_synced && c.reach == control_room::model::Reachability::Reachable)
}
