//! The real `control-room` binary in tmux, measured from outside as a presenter's
//! terminal would see it:
//! - start → first frame, start → all three panes populated (targets ≤ 300 ms / ≤ 1 s);
//! - against `control-room sim --pods-per-cluster 10000`: RSS of the TUI process (≤ 150 MB)
//!   and the time until all 30,000 pods are shown, next to the time a plain paginated
//!   LIST of the same pods takes;
//! - CPU over 30 s idle (≤ 0.2 %) and over 10 s under `--churn 300`;
//! - in a pseudo-terminal read by a VT parser (no tmux in between): start → first frame
//!   (target ≤ 30 ms) and keypress → the frame that shows it under `--churn 300`
//!   (p50/p99; target p99 ≤ 30 ms).
//!
//! `cargo bench --bench tui` (needs tmux). Figures are medians of a few runs.

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_control-room");

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        // A fresh server per run: reusing a socket races the previous server's shutdown.
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("crbench-{}-{run}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "60",
                &format!("exec {cmd}"),
            ])
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-F", "#{pane_pid}"])
            .output()
            .expect("list-panes");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }

    fn wait_for(&self, within: Duration, done: impl Fn(&str) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < within {
            if done(&self.capture()) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// "● 10000/10000 ready" for every pane, and nothing still connecting.
fn ready_counts(screen: &str) -> Vec<(usize, usize)> {
    screen
        .split('●')
        .skip(1)
        .filter_map(|rest| {
            let token = rest.split_whitespace().next()?;
            let (a, b) = token.split_once('/')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

fn populated(screen: &str, min_pods: usize) -> bool {
    let counts = ready_counts(screen);
    counts.len() >= 3
        && counts.iter().all(|(_, total)| *total >= min_pods)
        && !screen.contains("connecting")
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// utime + stime of a process in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Sim {
    child: Child,
    dir: PathBuf,
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        let dir = std::env::temp_dir().join(format!(
            "crbench-sim-{}-{}",
            std::process::id(),
            extra.join("")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let child = Command::new(BIN)
            .arg("sim")
            .arg("--state-dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim starts");
        let config = dir.join("control-room.toml");
        let start = Instant::now();
        while !config.exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        Sim { child, dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("control-room.toml")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tui_cmd(config: Option<&Path>) -> String {
    match config {
        Some(c) => format!("{BIN} --config {}", c.display()),
        None => format!("{BIN} --sim"),
    }
}

/// Time to list every pod of every cluster with plain paginated LISTs in parallel, as the
/// watchers' initial list does: the floor the TUI cannot beat.
fn list_time(sim: &Sim) -> f64 {
    let kubeconfig = std::fs::read_to_string(sim.dir.join("kubeconfig")).unwrap_or_default();
    let servers: Vec<String> = kubeconfig
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("server: ")
                .map(|s| s.trim().trim_matches('"').to_string())
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let start = Instant::now();
        let lists = servers.iter().map(|server| {
            let client = client.clone();
            async move {
                let mut cont = String::new();
                loop {
                    let url = format!("{server}/api/v1/pods?limit=500&continue={cont}");
                    let Ok(resp) = client.get(&url).send().await else {
                        return;
                    };
                    let Ok(v) = resp.json::<serde_json::Value>().await else {
                        return;
                    };
                    match v["metadata"]["continue"].as_str() {
                        Some(c) if !c.is_empty() => cont = c.to_string(),
                        _ => return,
                    }
                }
            }
        });
        futures::future::join_all(lists).await;
        start.elapsed().as_secs_f64()
    })
}

/// The binary in a pseudo-terminal of its own, its output fed to a VT parser as it arrives;
/// every chunk read is announced with the instant it was read.
struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    chunks: mpsc::Receiver<Instant>,
    started: Instant,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    fn start(args: &[&str], home: &Path) -> Pty {
        let (cols, rows) = (160, 48);
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.env("HOME", home);
        cmd.env("XDG_STATE_HOME", home.join("state"));
        cmd.env("KUBECONFIG", home.join("no-such-kubeconfig"));
        cmd.env("TERM", "xterm-256color");
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let (tx, chunks) = mpsc::channel();
        let started = Instant::now();
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let fed = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let at = Instant::now();
                fed.lock().unwrap().process(&buf[..n]);
                if tx.send(at).is_err() {
                    break;
                }
            }
        });
        Pty {
            child,
            writer,
            parser,
            chunks,
            started,
            _master: pair.master,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The instant of the first chunk after which the screen satisfies `done`.
    fn until(&self, within: Duration, done: impl Fn(&str) -> bool) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let at = self.chunks.recv_timeout(left).ok()?;
            if done(&self.screen()) {
                return Some(at);
            }
        }
    }

    fn key(&mut self, bytes: &[u8]) -> Instant {
        // Whatever arrived before the key is not its frame.
        while self.chunks.try_recv().is_ok() {}
        self.writer.write_all(bytes).expect("key");
        self.writer.flush().expect("flush");
        Instant::now()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The header of the first frame: the tool's name and the world's badge.
fn first_frame(screen: &str) -> bool {
    screen.contains("control-room") && (screen.contains("SIMULATED") || screen.contains("LIVE"))
}

fn pty_start_up(home: &Path, sim: &Sim) {
    println!("== start → first frame, in a pty (20 runs each, medians)");
    let config = sim.config();
    let config = config.to_str().expect("utf-8 path");
    for (what, args) in [
        ("in-process simulator (--sim)", vec!["--sim"]),
        ("live config (a headless sim)", vec!["--config", config]),
    ] {
        let mut firsts = Vec::new();
        for _ in 0..20 {
            let p = Pty::start(&args, home);
            if let Some(at) = p.until(Duration::from_secs(10), first_frame) {
                firsts.push((at - p.started).as_secs_f64() * 1e3);
            }
        }
        if firsts.is_empty() {
            println!("{what}: no first frame within 10 s");
            continue;
        }
        println!(
            "{what:<32} median {:>6.1} ms  max {:>6.1} ms  (target ≤ 30 ms)",
            percentile(firsts.clone(), 0.5),
            percentile(firsts, 1.0)
        );
    }
}

fn pty_key_latency(home: &Path) {
    println!("== keypress → frame under control-room sim --churn 300 (pty, 300 keys)");
    let sim = Sim::start(&["--churn", "300"]);
    let config = sim.config();
    let mut p = Pty::start(&["--config", config.to_str().expect("utf-8 path")], home);
    if p.until(Duration::from_secs(30), |s| populated(s, 5))
        .is_none()
    {
        println!("the panes did not populate within 30 s");
        return;
    }
    // `?` opens the keys overlay, Esc closes it: each is a frame a person waits on.
    let mut lat = Vec::new();
    for i in 0..300 {
        let (key, shown): (&[u8], bool) = if i % 2 == 0 {
            (b"?", true)
        } else {
            (b"\x1b", false)
        };
        let sent = p.key(key);
        let at = p.until(Duration::from_secs(5), |s| s.contains(" keys ") == shown);
        match at {
            Some(at) => lat.push(at.saturating_duration_since(sent).as_secs_f64() * 1e3),
            None => {
                println!("key {i}: no frame within 5 s");
                return;
            }
        }
    }
    println!(
        "keypress → frame  p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  (target p99 ≤ 30 ms)",
        percentile(lat.clone(), 0.5),
        percentile(lat.clone(), 0.99),
        percentile(lat, 1.0)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--pty") {
        let home = tempfile::tempdir().expect("home");
        let sim = Sim::start(&[]);
        pty_start_up(home.path(), &sim);
        drop(sim);
        pty_key_latency(home.path());
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    {
        let home = tempfile::tempdir().expect("home");
        let sim = Sim::start(&[]);
        pty_start_up(home.path(), &sim);
        drop(sim);
        pty_key_latency(home.path());
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tmux not found: skipping the tmux part of the TUI benchmark");
        return;
    }

    println!("== start-up, in-process simulator (5 runs, medians)");
    let mut first = Vec::new();
    let mut full = Vec::new();
    for _ in 0..5 {
        let t = Tmux::start(&tui_cmd(None));
        let start = Instant::now();
        let f = t.wait_for(Duration::from_secs(10), |s| {
            s.contains("control-room") && s.contains("SIMULATED")
        });
        let a = t.wait_for(Duration::from_secs(20), |s| populated(s, 5));
        if let (Some(_), Some(_)) = (f, a) {
            first.push(f.map(|d| d.as_secs_f64()).unwrap_or(f64::NAN));
            full.push(start.elapsed().as_secs_f64());
        }
    }
    if !first.is_empty() {
        println!(
            "start → first frame          median {:>7.0} ms  (target ≤ 300 ms)",
            median(first) * 1e3
        );
        println!(
            "start → all panes populated  median {:>7.0} ms  (target ≤ 1000 ms)",
            median(full) * 1e3
        );
    }

    println!("== idle CPU (plain simulated world, 30 s after populated)");
    {
        let sim = Sim::start(&[]);
        let t = Tmux::start(&tui_cmd(Some(&sim.config())));
        t.wait_for(Duration::from_secs(20), |s| populated(s, 5));
        std::thread::sleep(Duration::from_secs(1));
        let pid = t.pid();
        // 30 s: the kernel counts CPU in 10 ms ticks, and an idle TUI spends a few.
        let c0 = cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(30));
        let c1 = cpu_seconds(pid);
        println!(
            "TUI CPU over 30 s idle       {:>7.2} %  (target ≤ 0.2 %)",
            (c1 - c0) / 30.0 * 100.0
        );
    }

    println!("== churn: control-room sim --churn 300");
    {
        let sim = Sim::start(&["--churn", "300"]);
        let t = Tmux::start(&tui_cmd(Some(&sim.config())));
        t.wait_for(Duration::from_secs(20), |s| populated(s, 5));
        let pid = t.pid();
        let c0 = cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(10));
        let c1 = cpu_seconds(pid);
        println!(
            "TUI CPU over 10 s, 300 upd/s {:>7.2} %  of one core",
            (c1 - c0) / 10.0 * 100.0
        );
    }

    println!("== scale: control-room sim --pods-per-cluster 10000");
    {
        let sim = Sim::start(&["--pods-per-cluster", "10000"]);
        let lists: Vec<f64> = (0..3).map(|_| list_time(&sim)).collect();
        let list = median(lists);
        println!(
            "paginated LIST of 3 x 10,000 pods (parallel) median {:>7.0} ms",
            list * 1e3
        );
        let mut shown = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..3 {
            let t = Tmux::start(&tui_cmd(Some(&sim.config())));
            if let Some(d) = t.wait_for(Duration::from_secs(60), |s| populated(s, 10_000)) {
                shown.push(d.as_secs_f64());
                std::thread::sleep(Duration::from_secs(2));
                rss.push(rss_mb(t.pid()));
            }
        }
        if !shown.is_empty() {
            let s = median(shown);
            println!(
                "start → all 30,000 pods shown     median {:>7.0} ms",
                s * 1e3
            );
            println!(
                "  of which beyond the bare LIST time      {:>7.0} ms  (target ≤ 1000 ms)",
                (s - list) * 1e3
            );
            println!(
                "RSS of the TUI with 30,000 pods   median {:>7.1} MB  (target ≤ 150 MB)",
                median(rss)
            );
        } else {
            println!("the TUI did not show 30,000 pods within 60 s");
        }
    }
}
