//! The log view on a very large log, measured through the app's own event loop:
//! - open → first screen: from `l` on the log-generator pod (a 1 GiB log, generated as it is
//!   read by `control-room sim --big-log-mb 1024`) to the first frame that shows its lines
//!   (target ≤ 200 ms);
//! - RSS of the TUI: before `l`, and after following the pod for a while at 5,000 lines/s with
//!   the 50,000-line ring full (target: grows by ≤ 50 MB);
//! - keypress → frame while following at 5,000 lines/s: `t` (timestamps on/off) sent on the
//!   app's own input channel, timed to the first frame that shows the change (target
//!   p99 ≤ 30 ms).
//!
//! The simulator is the shipped binary in a process of its own (`control-room sim
//! --big-log-mb 1024 --log-lines-per-sec 5000`), so this process is the TUI alone: the real
//! runtime with every source (`Parts::tui()`), the real `event_loop` at 30 fps, drawing 200×50
//! frames on a backend that notes when each frame is flushed and what it shows (a
//! `TestBackend`: the cost of writing escape sequences to a terminal is not in these figures).
//!
//! `cargo bench --bench logs`

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control_room::app::world::{Choice, World};
use control_room::app::{self, Browser, Clipboard, Parts, Runtime, RuntimeOptions};
use control_room::config::{Config, Theme};
use control_room::model::rows::RowKey;
use control_room::msg::Msg;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

const BIN: &str = env!("CARGO_BIN_EXE_control-room");
const SIZE: (u16, u16) = (200, 50);
const BIG_LOG_MB: &str = "1024";
const RATE: &str = "5000";
/// Opens measured (the first builds the cluster's client; all are reported).
const OPENS: usize = 7;
/// Keys timed while following.
const KEYS: usize = 300;

/// What one flushed frame showed.
#[derive(Debug, Clone, Copy)]
struct Frame {
    at: Instant,
    /// The log view is open on the log generator.
    view: bool,
    /// Rows that show an access-log line.
    log_rows: usize,
    /// The first log row starts with a timestamp (`12:04:05.123 `).
    stamped: bool,
}

/// A `TestBackend` that records every flushed frame.
struct Timed {
    inner: TestBackend,
    frames: Arc<Mutex<Vec<Frame>>>,
}

impl Timed {
    fn row(&self, y: u16) -> String {
        let buffer = self.inner.buffer();
        (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect()
    }
}

impl Backend for Timed {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()?;
        let at = Instant::now();
        let view = self.row(1).contains("logs log-generator");
        let height = self.inner.buffer().area.height;
        let log_rows = (2..height)
            .filter(|y| self.row(*y).contains(" HTTP/1.1\" "))
            .count();
        let first: Vec<char> = self.row(2).chars().skip(1).take(13).collect();
        let stamped = first.len() == 13
            && first[2] == ':'
            && first[5] == ':'
            && first[8] == '.'
            && first[12] == ' ';
        self.frames.lock().unwrap().push(Frame {
            at,
            view,
            log_rows,
            stamped,
        });
        Ok(())
    }
}

struct Sim {
    child: Child,
    dir: PathBuf,
}

impl Sim {
    fn start() -> Sim {
        let dir = std::env::temp_dir().join(format!("crbench-logs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let child = Command::new(BIN)
            .args(["sim", "--state-dir"])
            .arg(&dir)
            .args(["--big-log-mb", BIG_LOG_MB, "--log-lines-per-sec", RATE])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim starts");
        let start = Instant::now();
        while !dir.join("control-room.toml").exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        Sim { child, dir }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `VmRSS` and `VmHWM` (peak) of this process, in MB.
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn key(c: KeyCode) -> Msg {
    let modifiers = match c {
        KeyCode::Char(ch) if ch.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    Msg::Key(KeyEvent::new(c, modifiers))
}

/// Waits (polling the recorded frames) for the first frame after `since` that `done`
/// accepts; its time.
fn frame_after(
    frames: &Mutex<Vec<Frame>>,
    since: Instant,
    within: Duration,
    done: impl Fn(&Frame) -> bool,
) -> Option<Instant> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(f) = frames
            .lock()
            .unwrap()
            .iter()
            .find(|f| f.at >= since && done(f))
        {
            return Some(f.at);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sim = Sim::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config::load(Some(&sim.dir.join("control-room.toml"))).expect("config");
    let saved = tempfile::tempdir().expect("tempdir");
    let (mut app, runtime) = rt.block_on(async {
        let world = World::open(&config, None, Choice::Auto)
            .await
            .expect("world");
        let options = RuntimeOptions {
            log_path: "bench".into(),
            clipboard: Some(Clipboard::Captured(Arc::default())),
            browser: Some(Browser::Captured(Arc::default())),
            saved_logs: Some(saved.path().to_path_buf()),
            ..RuntimeOptions::default()
        };
        Runtime::start(world, &config, Parts::tui(), options).await
    });
    rt.block_on(async {
        app.apply_now(Msg::Resize(SIZE.0, SIZE.1));
        let synced = app
            .pump_until(Duration::from_secs(30), |m| {
                m.clusters.iter().all(|c| c.pods_synced)
            })
            .await;
        assert!(synced, "the clusters did not list their pods");
        // The log generator's row, selected with the keys a person would press.
        for k in std::iter::once(KeyCode::Char('/'))
            .chain("log-generator".chars().map(KeyCode::Char))
            .chain([KeyCode::Enter, KeyCode::Char('2')])
        {
            app.apply_now(key(k));
        }
        let on_pod = |app: &app::App| {
            app.model.clusters[1].cursor_row().is_some_and(
                |(k, _)| matches!(k, RowKey::Pod((_, n)) if n.starts_with("log-generator")),
            )
        };
        for _ in 0..5 {
            if on_pod(&app) {
                break;
            }
            app.apply_now(key(KeyCode::Char('j')));
        }
        assert!(on_pod(&app), "the log generator's row is selected");
        // Settle: the first minutes of a TUI's life allocate what it keeps.
        app.pump_until(Duration::from_secs(3), |_| false).await;
    });
    let (rss_before, hwm_before) = memory_mb();

    let frames = Arc::new(Mutex::new(Vec::new()));
    let backend = Timed {
        inner: TestBackend::new(SIZE.0, SIZE.1),
        frames: frames.clone(),
    };
    let tx = runtime.sender();
    let event_loop = rt.spawn(async move {
        let mut terminal = Terminal::new(backend).expect("terminal");
        let theme = Theme::builtin("default").expect("theme");
        app::event_loop(&mut terminal, &mut app, &theme, 30)
            .await
            .expect("event loop");
        app
    });
    let send = |msg: Msg| tx.blocking_send(msg).expect("send");

    println!(
        "== open → first screen: l on load-logs/log-generator ({BIG_LOG_MB} MiB log, {RATE} lines/s), {}x{}",
        SIZE.0, SIZE.1
    );
    let mut opens = Vec::new();
    for run in 0..OPENS {
        let t0 = Instant::now();
        send(key(KeyCode::Char('l')));
        let shown = frame_after(&frames, t0, Duration::from_secs(10), |f| {
            f.view && f.log_rows >= 40
        });
        match shown {
            Some(at) => opens.push((at - t0).as_secs_f64() * 1e3),
            None => println!("  run {run}: no first screen within 10 s"),
        }
        std::thread::sleep(Duration::from_millis(1500));
        let t1 = Instant::now();
        send(key(KeyCode::Esc));
        frame_after(&frames, t1, Duration::from_secs(5), |f| !f.view);
        std::thread::sleep(Duration::from_millis(500));
    }
    println!(
        "  each run (ms): {}",
        opens
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sorted = opens.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "open → first screen          median {:>7.1} ms  max {:>7.1} ms  (target ≤ 200 ms)",
        percentile(&sorted, 0.5),
        sorted.last().copied().unwrap_or(f64::NAN)
    );

    println!("== following at {RATE} lines/s: keypress (t) → frame that shows it");
    let t0 = Instant::now();
    send(key(KeyCode::Char('l')));
    frame_after(&frames, t0, Duration::from_secs(10), |f| {
        f.view && f.log_rows >= 40
    })
    .expect("the view opens");
    // Fill the ring (50,000 lines at 5,000/s) before timing keys.
    std::thread::sleep(Duration::from_secs(12));
    let mut stamped = false;
    let mut latencies = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..KEYS {
        // 30–130 ms apart, at no fixed phase with the frame clock.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(30 + seed % 100));
        stamped = !stamped;
        let t = Instant::now();
        send(key(KeyCode::Char('t')));
        let want = stamped;
        match frame_after(&frames, t, Duration::from_secs(2), |f| {
            f.view && f.stamped == want
        }) {
            Some(at) => latencies.push((at - t).as_secs_f64() * 1e3),
            None => println!("  a key was not shown within 2 s"),
        }
    }
    latencies.sort_by(f64::total_cmp);
    let drawn = frames.lock().unwrap().len();
    println!(
        "keypress → frame ({} keys)    median {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  (target p99 ≤ 30 ms)",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let (rss_after, hwm_after) = memory_mb();
    println!("== memory of the TUI (this process; the simulator runs in its own)");
    println!(
        "RSS before l {rss_before:>7.1} MB  after {:>5.0} s following {rss_after:>7.1} MB  grew {:>6.1} MB  (target ≤ 50 MB)",
        t0.elapsed().as_secs_f64(),
        rss_after - rss_before
    );
    println!(
        "peak RSS (VmHWM) before l {hwm_before:>7.1} MB  at the end {hwm_after:>7.1} MB  grew {:>6.1} MB",
        hwm_after - hwm_before
    );
    println!("frames drawn in all: {drawn}");

    send(key(KeyCode::Esc));
    send(key(KeyCode::Char('q')));
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), event_loop).await;
        runtime.shutdown().await;
    });
    drop(sim);
}
