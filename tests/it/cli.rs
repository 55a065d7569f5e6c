//! The command line as scripts use it: `sim` headless, `status --json`, `--help`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{command, mode};

pub(crate) struct SimProcess {
    child: Child,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where [`start_sim`] keeps what the simulator says on stderr: `HOME/sim-stderr.txt`.
pub(crate) fn sim_said(home: &Path) -> String {
    std::fs::read_to_string(home.join("sim-stderr.txt")).unwrap_or_default()
}

fn sim_stderr(home: &Path) -> Stdio {
    match std::fs::File::create(home.join("sim-stderr.txt")) {
        Ok(file) => Stdio::from(file),
        Err(_) => Stdio::null(),
    }
}

/// Starts `control-room sim` and waits until it has printed where its files are (its
/// stderr goes to [`sim_said`]).
pub(crate) fn start_sim(home: &Path, state: &Path) -> (SimProcess, String) {
    let mut child = command(home)
        .args(["sim", "--state-dir"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(sim_stderr(home))
        .spawn()
        .expect("sim starts");
    let stdout = child.stdout.take().expect("stdout");
    // Owned at once, so a failing wait below still kills and reaps it.
    let sim = SimProcess { child };
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads to the end even once nobody listens: a pipe closed while the simulator is still
    // announcing itself would end it (a write to it fails), under load minutes into a test.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut printed = String::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            printed.push_str(&line);
            printed.push('\n');
        }
        if state.join("control-room.toml").exists() && printed.contains("control-room.toml") {
            return (sim, printed);
        }
    }
    panic!("sim did not announce its files; printed:\n{printed}");
}

#[test]
fn help_names_the_log_file_and_subcommands() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = command(home.path()).arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("control-room.log"), "{text}");
    assert!(
        text.contains(&home.path().join("state").display().to_string()),
        "{text}"
    );
    for word in [
        "sim",
        "status",
        "--config",
        "--kubeconfig",
        "--theme",
        "--live",
    ] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[test]
fn status_json_in_process_sim() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = command(home.path())
        .args(["status", "--json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["mode"], "sim", "no contexts → simulator: {v}");
    assert_eq!(v["act"]["state"], "clean", "{v}");
    assert_eq!(v["act"]["tool_image"], "currency-converter:1.0.0", "{v}");
    assert_eq!(v["exfil"]["total"], 0, "{v}");
    assert_eq!(v["exfil"]["since_act"], 0, "{v}");
    let clusters = v["clusters"].as_array().expect("clusters");
    let names: Vec<_> = clusters
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["edge", "bank", "vendor"]);
    for c in clusters {
        assert_eq!(c["reachable"], true, "{c}");
        assert!(c["pods_total"].as_u64().unwrap_or(0) > 5, "{c}");
        assert_eq!(c["pods_ready"], c["pods_total"], "{c}");
        assert!(
            c["context"]
                .as_str()
                .unwrap_or("")
                .starts_with("kind-trustusbank-")
        );
    }
}

#[test]
fn status_against_headless_sim_then_unreachable() {
    let home = tempfile::tempdir().expect("tempdir");
    let state = home.path().join("sim");
    let (sim, printed) = start_sim(home.path(), &state);
    assert!(
        printed.contains(&state.join("kubeconfig").display().to_string()),
        "{printed}"
    );
    let config = state.join("control-room.toml");

    let out = command(home.path())
        .args(["status", "--json", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["mode"], "sim",
        "a sim-written config is labelled sim: {v}"
    );
    assert!(
        v["clusters"]
            .as_array()
            .is_some_and(|c| c.len() == 3 && c.iter().all(|c| c["reachable"] == true))
    );

    drop(sim);
    let out = command(home.path())
        .args(["status", "--json", "--live", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "unreachable clusters → exit 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for c in v["clusters"].as_array().expect("clusters") {
        assert_eq!(c["reachable"], false, "{c}");
        assert!(c["error"].as_str().is_some_and(|e| !e.is_empty()), "{c}");
    }

    let text = command(home.path())
        .args(["status", "--live", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains("CLUSTER") && table.contains("vendor") && table.contains(" no "),
        "{table}"
    );
}

#[test]
fn bad_config_is_reported_with_position() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("bad.toml");
    std::fs::write(&config, "simulated = \"yes\"\n").expect("write");
    let out = command(home.path())
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 1"), "{err}");
}

/// What `control-room sim` writes beside the simulator's kubeconfig.
#[tokio::test]
async fn the_sim_config_points_control_room_at_the_simulated_world() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let sim = control_room_sim::start(control_room_sim::SimOptions {
        state_dir: state.clone(),
        ..control_room_sim::SimOptions::default()
    })
    .await
    .expect("sim starts");
    let path = control_room::cli::sim::write_config(&sim).expect("writes");
    assert_eq!(
        path,
        std::path::absolute(state.join("control-room.toml")).unwrap()
    );
    let toml = std::fs::read_to_string(&path).unwrap();
    let expected = format!(
        "# Written by `control-room sim`: points control-room at this simulated world.\n\
         kubeconfig = \"{}\"\n\
         simulated = true\n\
         \n[[cluster]]\nname = \"edge\"\ncontext = \"kind-trustusbank-edge\"\n\
         \n[[cluster]]\nname = \"bank\"\ncontext = \"kind-trustusbank-bank\"\n\
         \n[[cluster]]\nname = \"vendor\"\ncontext = \"kind-trustusbank-vendor\"\n",
        sim.kubeconfig_path().display()
    );
    assert_eq!(toml, expected);
    let config = control_room::config::Config::load(Some(&path)).expect("loads back");
    assert!(config.simulated);
    assert_eq!(config.kubeconfig.as_deref(), Some(sim.kubeconfig_path()));
    sim.shutdown().await;
}

/// `control-room sim` without `--state-dir`: a fresh private directory under
/// `$XDG_RUNTIME_DIR`, 0600 files, gone after SIGTERM (exit 143).
#[test]
fn the_headless_sim_keeps_its_files_private_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().expect("tempdir");
    let runtime = home.path().join("run");
    std::fs::create_dir(&runtime).expect("runtime dir");
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut child = command(home.path())
        .arg("sim")
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let dir = loop {
        let line = lines
            .next()
            .expect("the sim prints where it is")
            .expect("utf-8");
        if let Some(rest) = line.trim().strip_prefix("directory:") {
            break PathBuf::from(rest.split(" (").next().unwrap_or("").trim());
        }
    };
    assert!(
        dir.starts_with(&runtime),
        "{} under XDG_RUNTIME_DIR",
        dir.display()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("control-room.toml").exists() {
        assert!(Instant::now() < deadline, "the config is written");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("kubeconfig")), 0o600);
    assert_eq!(mode(&dir.join("control-room.toml")), 0o600);
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert!(!dir.exists(), "{} is gone", dir.display());
}

/// An existing `--state-dir` anyone may write to is refused, and nothing is written into it.
#[test]
fn a_shared_state_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().expect("tempdir");
    let shared = home.path().join("shared");
    std::fs::create_dir(&shared).expect("dir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = command(home.path())
        .args(["sim", "--state-dir"])
        .arg(&shared)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing --state-dir") && err.contains("writable by group or others"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&shared).expect("dir").count(), 0);
}

/// `--metrics-addr` off loopback needs `--metrics-public`.
#[test]
fn public_metrics_need_saying_so() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = command(home.path())
        .args(["sim", "--metrics-addr", "0.0.0.0:0"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--metrics-public"), "{err}");
}

/// Sends `signal` to a headless command once `ready` shows up on its stdout; its exit code.
fn signalled(mut cmd: Command, ready: &str, signal: i32) -> Option<i32> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    for out in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while !seen.contains(ready) {
        assert!(
            Instant::now() < deadline,
            "never printed {ready:?}:\n{seen}"
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push_str(&line);
            seen.push('\n');
        }
    }
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    child.wait().expect("exits").code()
}

/// `act` and `forward` wind down on a signal too: the act's whole group goes, the exit
/// status is 128 + n.
#[test]
fn headless_commands_end_on_a_signal_with_128_plus_n() {
    let home = tempfile::tempdir().expect("tempdir");
    let seconds = format!("301.{}9", std::process::id() % 10_000);
    let config = home.path().join("sleepy.toml");
    std::fs::write(
        &config,
        format!(
            "[acts.reset]\ncommand = [\"sh\", \"-c\", \"echo started; exec sleep {seconds}\"]\n"
        ),
    )
    .expect("config");
    let mut act = command(home.path());
    act.args(["act", "reset", "--sim", "--config"]).arg(&config);
    assert_eq!(signalled(act, "started", libc::SIGTERM), Some(143));
    let left = crate::support::pty::processes_with(&seconds);
    assert!(left.is_empty(), "the act's sleep is gone: {left:?}");

    let mut forward = command(home.path());
    forward.args(["forward", "--sim"]);
    assert_eq!(
        signalled(forward, "Ctrl+C stops every forward", libc::SIGHUP),
        Some(129)
    );
}

/// A kubeconfig that skips TLS verification is said so, per cluster, in `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_marks_a_cluster_whose_tls_is_not_verified() {
    let (dir, sim) = crate::support::start().await;
    let text = std::fs::read_to_string(sim.kubeconfig_path()).expect("kubeconfig");
    let vendor = sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "vendor")
        .expect("vendor");
    let marked = text.replacen(
        &format!("    server: {}\n", vendor.server),
        &format!(
            "    server: {}\n    insecure-skip-tls-verify: true\n",
            vendor.server
        ),
        1,
    );
    assert_ne!(marked, text);
    let kubeconfig = dir.path().join("insecure-kubeconfig");
    std::fs::write(&kubeconfig, marked).expect("write");
    let home = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        command(&home)
            .args(["status", "--json", "--live", "--kubeconfig"])
            .arg(&kubeconfig)
            .output()
    })
    .await
    .expect("joined")
    .expect("status runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let marks: Vec<(String, bool)> = v["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["insecure_skip_tls_verify"] == true,
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("edge".into(), false),
            ("bank".into(), false),
            ("vendor".into(), true)
        ],
        "{v}"
    );
    sim.shutdown().await;
}
