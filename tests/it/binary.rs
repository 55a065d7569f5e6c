//! The shipped `control-room` binary in a pseudo-terminal, driven by keys and read back
//! through a VT parser: the wiring `main` does, the exit paths (q while an act runs, each
//! signal, a panic in a task), the terminal left as it was found, and no act process left.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::support::mode;
use crate::support::pty::{Tui, processes_with};

const SIZE: (u16, u16) = (160, 48);
const START: Duration = Duration::from_secs(30);

/// A `sleep` nobody else runs, so the test can look for it by its command line.
fn unique_sleep() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}.{}{}",
        300 + N.fetch_add(1, Ordering::SeqCst),
        std::process::id() % 10_000,
        7
    )
}

/// A config whose reset act is `sleep SECONDS`, run without asking.
fn sleeping_act(home: &Path, seconds: &str) -> String {
    let path = home.join("sleepy.toml");
    std::fs::write(
        &path,
        format!("[acts]\nconfirm = false\n[acts.reset]\ncommand = [\"sleep\", \"{seconds}\"]\n"),
    )
    .expect("config");
    path.display().to_string()
}

/// Started on the simulator, with the sleeping act running.
fn with_act_running(home: &Path, env: &[(&str, &str)]) -> (Tui, String) {
    let seconds = unique_sleep();
    let config = sleeping_act(home, &seconds);
    let mut tui = Tui::start(home, &["--sim", "--config", &config], env, SIZE);
    tui.until(START, "the panes", |s| s.contains("ACT 1 · clean"));
    tui.keys("r");
    tui.until(Duration::from_secs(10), "the act running", |s| {
        s.contains("sleep") && s.contains("act 1")
    });
    assert_eq!(processes_with(&seconds).len(), 1, "the act's sleep runs");
    (tui, seconds)
}

fn assert_left_clean(tui: &Tui, seconds: &str) {
    assert!(
        !tui.alternate_screen(),
        "the terminal left the alternate screen"
    );
    let raw = tui.raw();
    let tail = &raw[raw.len().saturating_sub(4096)..];
    assert!(
        tail.windows(8).any(|w| w == b"\x1b[?1049l"),
        "the alternate screen was left explicitly"
    );
    let left = processes_with(seconds);
    assert!(left.is_empty(), "the act's process group is gone: {left:?}");
}

#[test]
fn each_signal_stops_the_act_restores_the_terminal_and_exits_128_plus_n() {
    for (signal, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
    ] {
        let home = tempfile::tempdir().expect("home");
        let tmp = home.path().join("tmp");
        std::fs::create_dir(&tmp).expect("tmp");
        let tmp_text = tmp.display().to_string();
        let (mut tui, seconds) = with_act_running(home.path(), &[("TMPDIR", &tmp_text)]);
        let made: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
        assert_eq!(
            made.len(),
            1,
            "the simulator made its private directory in TMPDIR"
        );
        tui.signal(signal);
        let code = tui.wait(Duration::from_secs(15));
        assert_eq!(code, 128 + signal as u32, "{name}");
        assert_left_clean(&tui, &seconds);
        let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
        assert!(
            left.is_empty(),
            "{name}: the simulator's directory is gone: {left:?}"
        );
    }
}

#[test]
fn quit_while_an_act_runs_asks_then_stops_it() {
    let home = tempfile::tempdir().expect("home");
    let (mut tui, seconds) = with_act_running(home.path(), &[]);
    tui.keys("q");
    tui.until(Duration::from_secs(5), "the quit question", |s| {
        s.contains("Stop it and quit?")
    });
    tui.keys("n");
    assert_eq!(processes_with(&seconds).len(), 1, "n keeps the act running");
    tui.keys("q");
    tui.until(Duration::from_secs(5), "the quit question again", |s| {
        s.contains("Stop it and quit?")
    });
    tui.keys("y");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
    assert_left_clean(&tui, &seconds);
}

#[test]
fn a_panic_in_a_task_restores_the_terminal_and_stops_the_act() {
    let home = tempfile::tempdir().expect("home");
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let tmp_text = tmp.display().to_string();
    let (mut tui, seconds) = with_act_running(
        home.path(),
        &[("CONTROL_ROOM_TEST_PANIC", "3000"), ("TMPDIR", &tmp_text)],
    );
    let code = tui.wait(Duration::from_secs(20));
    assert_eq!(code, 101, "a panic exits non-zero");
    assert_left_clean(&tui, &seconds);
    let text = String::from_utf8_lossy(&tui.raw()).into_owned();
    let after = text.rsplit("\u{1b}[?1049l").next().unwrap_or("");
    assert!(
        after.contains("control-room panicked") && after.contains("on purpose"),
        "the panic is told after the restore: {after:?}"
    );
    let log = std::fs::read_to_string(home.path().join("state/control-room/control-room.log"))
        .expect("log file");
    assert!(log.contains("control-room panicked"), "and in the log");
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert!(
        left.is_empty(),
        "the simulator's directory is gone: {left:?}"
    );
}

/// The log, the act logs and the simulator's directory: nobody else can read or swap them.
#[test]
fn what_the_tui_writes_is_private() {
    let home = tempfile::tempdir().expect("home");
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let tmp_text = tmp.display().to_string();
    let (mut tui, seconds) = with_act_running(home.path(), &[("TMPDIR", &tmp_text)]);
    let state = home.path().join("state/control-room");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("control-room.log")), 0o600);
    assert_eq!(mode(&state.join("acts")), 0o700);
    let act_logs: Vec<_> = std::fs::read_dir(state.join("acts"))
        .expect("act logs")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(act_logs.len(), 1);
    assert_eq!(mode(&act_logs[0].path()), 0o600);
    let sim_dir = std::fs::read_dir(&tmp)
        .expect("tmp")
        .filter_map(Result::ok)
        .next()
        .expect("the simulator's directory")
        .path();
    assert_eq!(mode(&sim_dir), 0o700);
    assert_eq!(mode(&sim_dir.join("kubeconfig")), 0o600);
    tui.keys("\x03"); // Ctrl+C cancels the act first
    tui.until(Duration::from_secs(10), "the act cancelled", |s| {
        s.contains("cancelled")
    });
    assert!(processes_with(&seconds).is_empty());
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
    assert_left_clean(&tui, &seconds);
}

/// `L` lists the links; `y` puts one on the clipboard with OSC 52 (bytes a person never
/// sees, the terminal acts on); `o` hands it to `$BROWSER`.
#[test]
fn links_copy_through_osc52_and_open_through_browser() {
    use base64::Engine as _;
    let home = tempfile::tempdir().expect("home");
    let opened = home.path().join("opened");
    let stub = home.path().join("browser-stub");
    std::fs::write(
        &stub,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> {}\n", opened.display()),
    )
    .expect("stub");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let browser = format!("{} %s", stub.display());
    let mut tui = Tui::start(home.path(), &["--sim"], &[("BROWSER", &browser)], SIZE);
    tui.until(START, "the panes", |s| s.contains("ACT 1 · clean"));
    tui.keys("L");
    let screen = tui.until(Duration::from_secs(15), "the chatbot link", |s| {
        s.contains("chatbot") && s.contains("http://127.0.0.1:")
    });
    let url = screen
        .lines()
        .find(|l| l.contains("chatbot"))
        .and_then(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
        })
        .expect("the chatbot's URL")
        .to_string();
    tui.keys("y");
    tui.until(Duration::from_secs(5), "copied", |s| s.contains("copied"));
    let osc = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(&url)
    );
    let raw = tui.raw();
    assert!(
        raw.windows(osc.len()).any(|w| w == osc.as_bytes()),
        "OSC 52 with {url} reached the terminal"
    );
    tui.keys("o");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&opened).is_ok_and(|t| t.contains(&url)) {
        assert!(std::time::Instant::now() < deadline, "$BROWSER got {url}");
        std::thread::sleep(Duration::from_millis(50));
    }
    tui.keys("\x1b");
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
    // The stub has exited and was reaped: nothing of it is left running.
    assert!(processes_with(&stub.display().to_string()).is_empty());
}

/// `--theme` and `NO_COLOR` change what reaches the terminal.
#[test]
fn theme_and_no_color_change_the_output() {
    let screens: Vec<(String, usize, Vec<u8>)> = [
        (vec!["--sim"], vec![]),
        (vec!["--sim", "--theme", "light"], vec![]),
        (vec!["--sim"], vec![("NO_COLOR", "1")]),
    ]
    .into_iter()
    .map(|(args, env)| {
        let home = tempfile::tempdir().expect("home");
        let mut tui = Tui::start(home.path(), &args, &env, SIZE);
        let screen = tui.until(START, "the panes", |s| s.contains("ACT 1 · clean"));
        let coloured = tui.coloured_cells();
        let raw = tui.raw();
        tui.keys("q");
        assert_eq!(tui.wait(Duration::from_secs(15)), 0);
        (screen, coloured, raw)
    })
    .collect();
    let [
        (_, default, default_raw),
        (_, _, light_raw),
        (no_color_screen, none, _),
    ] = screens.as_slice()
    else {
        unreachable!("three runs");
    };
    assert!(
        *default > 100,
        "the default theme colours the screen ({default} cells)"
    );
    assert_ne!(default_raw, light_raw, "--theme light draws other colours");
    assert_eq!(*none, 0, "NO_COLOR: not one coloured cell");
    assert!(no_color_screen.contains("SIMULATED"), "{no_color_screen}");
}

/// A config that is not simulator-written, on real contexts, shows LIVE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_badge_for_a_live_config() {
    let (dir, sim) = crate::support::start().await;
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        format!(
            "kubeconfig = {:?}\n",
            sim.kubeconfig_path().display().to_string()
        ),
    )
    .expect("config");
    let home = tempfile::tempdir().expect("home");
    let config_text = config.display().to_string();
    let screen = tokio::task::spawn_blocking(move || {
        let mut tui = Tui::start(home.path(), &["--config", &config_text], &[], SIZE);
        let screen = tui.until(START, "the panes", |s| s.contains("ready"));
        tui.keys("q");
        assert_eq!(tui.wait(Duration::from_secs(15)), 0);
        screen
    })
    .await
    .expect("the TUI ran");
    let header = screen.lines().next().unwrap_or("");
    assert!(
        header.contains("LIVE") && !header.contains("SIMULATED"),
        "{header}"
    );
    sim.shutdown().await;
}

/// The presenter's whole story through the keys of the shipped binary: the three acts with
/// their confirmations, the customer prompt in the chat box, `m` masking the stolen record.
#[test]
fn the_story_through_the_keys() {
    // The act scripts drive kubectl; `.ci/run` installs it.
    if crate::support::tools::require("kubectl").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let mut tui = Tui::start(home.path(), &["--sim"], &[], SIZE);
    tui.until(START, "act 1", |s| s.contains("ACT 1 · clean"));
    let act = Duration::from_secs(120);

    tui.keys("u");
    tui.until(Duration::from_secs(5), "the question", |s| {
        s.contains("Run act 2: upgrade the banking app?")
    });
    tui.keys("y");
    tui.until(act, "act 2 and its script done", |s| {
        s.contains("ACT 2 · compromised")
            && s.contains("act 2 · upgrade")
            && s.contains("exit 0 after")
    });

    tui.keys("i");
    tui.keys("\x10"); // Ctrl+P: the customer prompt
    tui.keys("\r");
    let screen = tui.until(
        Duration::from_secs(30),
        "the reply and the stolen record",
        |s| s.contains("£4,287.55 ≈ $5,445.19") && s.contains("1987-03-14"),
    );
    assert!(
        screen.contains("get_profile"),
        "the trace shows the hop:\n{screen}"
    );
    tui.keys("\x1b");
    tui.keys("m");
    let screen = tui.until(Duration::from_secs(5), "the record masked", |s| {
        !s.contains("1987-03-14") && s.contains("•••••")
    });
    assert!(screen.contains("\"dob\": \"1•••••\""), "{screen}");

    tui.keys("p");
    tui.until(Duration::from_secs(5), "the question", |s| {
        s.contains("Run act 3")
    });
    tui.keys("\r");
    tui.until(act, "act 3 and its script done", |s| {
        s.contains("ACT 3 · defended")
            && s.contains("act 3 · policies-on")
            && s.contains("exit 0 after")
    });
    tui.keys("r");
    tui.keys("y");
    tui.until(act, "act 1 again and its script done", |s| {
        s.contains("ACT 1 · clean") && s.contains("act 1 · reset") && s.contains("exit 0 after")
    });
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
    assert!(!tui.alternate_screen());
}

/// `control-room chat` as scripts use it: the reply on stdout, `--json`, and exit 1 when
/// the agent cannot be reached.
#[test]
fn chat_from_the_command_line_and_its_exit_codes() {
    let home = tempfile::tempdir().expect("home");
    let run = |args: &[&str]| {
        crate::support::command(home.path())
            .args(args)
            .output()
            .expect("chat runs")
    };
    let prompt = control_room::model::chat::CANONICAL_PROMPT;
    let out = run(&["chat", "--sim", prompt]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reply.matches("£4,287.55 ≈ $5,445.19").count(), 1, "{reply}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("→ [support-bot → account-mcp] get_balance")
    );

    let out = run(&["chat", "--sim", "--json", prompt]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["agent"], "support-bot");
    assert!(v["error"].is_null(), "{v}");
    assert!(v["latency_ms"].as_u64().is_some(), "{v}");
    let names: Vec<&str> = v["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .filter(|t| t["type"] == "call")
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["get_balance", "list_recent", "convert_currency"],
        "act 1: {v}"
    );

    // A forward to a pod that is not there: a clear error, exit 1.
    let config = home.path().join("broken.toml");
    std::fs::write(
        &config,
        "[chat]\nforward = \"nowhere\"\n\n[[forward]]\nname = \"nowhere\"\ncluster = \"edge\"\nnamespace = \"no-such-ns\"\nservice = \"no-such-svc\"\nport = 80\n",
    )
    .expect("config");
    let out = run(&[
        "chat",
        "--sim",
        "--json",
        "--config",
        &config.display().to_string(),
        prompt,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
}

/// The doctor in the shipped binary: the header's badge says `doctor ✓` on its own, `D`
/// opens the checks, Enter one's evidence, `y` copies (OSC 52) — here nothing to fix, so
/// the footer says so and nothing is copied — and Esc twice is back on the panes.
#[test]
fn the_doctor_in_the_shipped_binary() {
    let home = tempfile::tempdir().expect("home");
    let mut tui = Tui::start(home.path(), &["--sim"], &[], SIZE);
    tui.until(START, "the panes", |s| s.contains("ACT 1 · clean"));
    tui.until(Duration::from_secs(20), "the badge", |s| {
        s.lines().next().is_some_and(|l| l.contains("doctor ✓"))
    });
    tui.keys("D");
    let screen = tui.until(Duration::from_secs(20), "the doctor view", |s| {
        s.contains("remote-secrets") && s.contains("checked ")
    });
    assert!(screen.contains("✓ contexts"), "{screen}");
    tui.keys("\r");
    tui.until(Duration::from_secs(5), "the evidence", |s| {
        s.contains("EVIDENCE") && s.contains("nothing to run")
    });
    tui.keys("y");
    tui.until(Duration::from_secs(5), "nothing to fix", |s| {
        s.contains("nothing to fix")
    });
    assert!(
        !String::from_utf8_lossy(&tui.raw()).contains("\x1b]52;"),
        "nothing copied"
    );
    tui.keys("\x1b");
    tui.keys("\x1b");
    tui.until(Duration::from_secs(5), "the panes again", |s| {
        s.contains("NAME")
    });
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
}
