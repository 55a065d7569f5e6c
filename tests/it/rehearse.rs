//! The dress rehearsal and the autopilot through the shipped binary: `control-room rehearse
//! --json` against `control-room sim` plays every beat of the built-in story and leaves act
//! 1 (read back with `status` and real kubectl); with the vendor's release broken — the
//! upgrade script's real `kubectl set image` names `currency-converter:does-not-exist`, a
//! tag no registry has, so the rollout can never finish and the header can never say ACT 2
//! — it fails at "ACT 2 shown" and says why; SIGTERM mid-story still resets; a malformed
//! story is refused before anything starts; `--autopilot` in a pty plays to ACT 3 and the
//! alert, then exits 0.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::cli::{SimProcess, sim_said, start_sim};
use crate::support::pty::Tui;
use crate::support::{command, tools};

const PRINCIPAL: &str = "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";

/// How long a whole rehearsal may take here before the test gives up on it (it takes
/// about 20 s against the simulator; the story's own timeouts are longer).
const REHEARSAL: Duration = Duration::from_secs(400);

fn rehearse(home: &Path, config: &Path, extra: &[&str]) -> Output {
    let mut child = command(home)
        .args(["rehearse", "--json", "--config"])
        .arg(config)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rehearse starts");
    let deadline = std::time::Instant::now() + REHEARSAL;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "rehearse did not end within {REHEARSAL:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `status --json` against the simulator: the act state and the tool's image.
fn status(home: &Path, config: &Path) -> serde_json::Value {
    let out = command(home)
        .args(["status", "--json", "--config"])
        .arg(config)
        .output()
        .expect("status runs");
    json(&out)
}

/// Real kubectl against the simulator's vendor cluster.
fn vendor_kubectl(kubectl: &Path, kubeconfig: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new(kubectl)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .args(["--context", "kind-trustusbank-vendor", "--cache-dir"])
        .arg(home.join("kube-cache"))
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn converter_image(kubectl: &Path, kubeconfig: &Path, home: &Path) -> String {
    vendor_kubectl(
        kubectl,
        kubeconfig,
        home,
        &[
            "-n",
            "trustusbank-bank-vendors",
            "get",
            "deployment/currency-converter",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
}

fn policies(kubectl: &Path, kubeconfig: &Path, home: &Path) -> String {
    vendor_kubectl(
        kubectl,
        kubeconfig,
        home,
        &[
            "get",
            "authorizationpolicies.security.istio.io",
            "-A",
            "-o",
            "name",
        ],
    )
}

/// `control-room sim` in its own home, and real kubectl (the act scripts need it).
struct Stage {
    kubectl: PathBuf,
    home: tempfile::TempDir,
    config: PathBuf,
    kubeconfig: PathBuf,
    _sim: SimProcess,
}

impl Stage {
    fn start() -> Option<Stage> {
        let kubectl = tools::require("kubectl")?;
        let home = tempfile::tempdir().expect("tempdir");
        let state = home.path().join("sim");
        let (sim, _) = start_sim(home.path(), &state);
        Some(Stage {
            kubectl,
            config: state.join("control-room.toml"),
            kubeconfig: state.join("kubeconfig"),
            home,
            _sim: sim,
        })
    }
}

#[test]
fn rehearse_json_against_the_sim_passes_every_beat_and_leaves_act_1() {
    let Some(Stage {
        kubectl,
        home,
        config,
        kubeconfig,
        _sim,
    }) = Stage::start()
    else {
        return;
    };

    let out = rehearse(home.path(), &config, &[]);
    let v = json(&out);
    assert!(
        out.status.success(),
        "{v:#}\nstderr: {}\nthe simulator said: {}",
        String::from_utf8_lossy(&out.stderr),
        sim_said(home.path())
    );
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["mode"], "sim", "{v:#}");
    let beats = v["beats"].as_array().expect("beats");
    let story = control_room::story::Story::default_story().expect("default story");
    assert_eq!(beats.len(), story.beats.len(), "every beat reported: {v:#}");
    for (beat, want) in beats.iter().zip(&story.beats) {
        assert_eq!(beat["name"], want.name.as_str());
        assert_eq!(beat["passed"], true, "{beat}");
        assert!(beat["elapsed_ms"].is_u64(), "{beat}");
    }
    let named = |name: &str| {
        beats
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {v:#}"))["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(named("ACT 2 shown").contains("currency-converter:1.0.0-rugpull"));
    assert!(named("trace shows get_profile").contains("get_profile"));
    assert_eq!(named("exfil +1"), "exfil +1 since the prompt (1 in all)");
    assert!(named("IstioAuthZDeny firing with the converter's SPIFFE id").contains(PRINCIPAL));
    assert_eq!(v["reset"]["passed"], true, "{v:#}");
    assert_eq!(v["act"], "clean", "{v:#}");
    assert!(v["failed"].is_null() && v["signal"].is_null(), "{v:#}");

    // Again, against the same world: the attacker's log holds the first run's exfil
    // already, and that is not news to the second.
    let again = rehearse(home.path(), &config, &[]);
    let v = json(&again);
    assert!(again.status.success(), "{v:#}");
    let exfil = v["beats"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == "exfil +1"))
        .and_then(|b| b["detail"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        exfil.starts_with("exfil +1 since the prompt ("),
        "one new exfil, whatever the log held: {v:#}"
    );

    // The world really is back at act 1, as `status` and kubectl read it.
    let s = status(home.path(), &config);
    assert_eq!(s["act"]["state"], "clean", "{s:#}");
    assert_eq!(
        converter_image(&kubectl, &kubeconfig, home.path()),
        "currency-converter:1.0.0"
    );
    assert_eq!(policies(&kubectl, &kubeconfig, home.path()).trim(), "");
}

#[test]
fn with_the_vendors_release_broken_the_rehearsal_fails_at_act_2_and_says_why() {
    let Some(Stage {
        kubectl,
        home,
        config: sim_config,
        kubeconfig,
        _sim,
    }) = Stage::start()
    else {
        return;
    };
    // The upgrade script ships $RUGPULL_IMAGE with `kubectl set image` and waits on
    // `kubectl rollout status`: a tag no registry has leaves the new pod in
    // ImagePullBackOff and the old one serving, so the header stays at "rolling out…".
    let config = home.path().join("broken.toml");
    let sim_config = std::fs::read_to_string(&sim_config).expect("config");
    std::fs::write(
        &config,
        format!(
            "{sim_config}\n[acts]\nenv = {{ RUGPULL_IMAGE = \"currency-converter:does-not-exist\", ROLLOUT_TIMEOUT = \"8s\" }}\n"
        ),
    )
    .expect("broken config");

    let out = rehearse(home.path(), &config, &[]);
    let v = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{v:#}\nstderr: {stderr}\nthe simulator said: {}",
        sim_said(home.path())
    );
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["failed"]["name"],
        "ACT 2 shown",
        "{v:#}\nthe simulator said: {}",
        sim_said(home.path())
    );
    let why = v["failed"]["detail"].as_str().unwrap_or_default();
    for part in [
        "upgrade-banking-app.sh ended exit 1",
        "rolling out",
        "currency-converter rollout stuck",
        "ImagePullBackOff",
        "currency-converter:does-not-exist",
    ] {
        assert!(why.contains(part), "{part:?} missing from: {why}");
    }
    assert!(
        stderr.contains("failed at \"ACT 2 shown\"") && stderr.contains("ImagePullBackOff"),
        "{stderr}"
    );
    let beats = v["beats"].as_array().expect("beats");
    let last = beats.last().expect("some beats");
    assert_eq!(
        last["name"], "ACT 2 shown",
        "the story stops at the failed beat"
    );
    assert!(
        beats[..beats.len() - 1].iter().all(|b| b["passed"] == true),
        "{v:#}"
    );
    // Reset after the failure: the clean image back, read by real kubectl.
    assert_eq!(v["reset"]["passed"], true, "{v:#}");
    assert_eq!(
        converter_image(&kubectl, &kubeconfig, home.path()),
        "currency-converter:1.0.0"
    );
    assert_eq!(status(home.path(), &config)["act"]["state"], "clean");
}

#[test]
fn sigterm_mid_story_still_resets_to_act_1() {
    let Some(Stage {
        kubectl,
        home,
        config,
        kubeconfig,
        _sim,
    }) = Stage::start()
    else {
        return;
    };
    let mut child = command(home.path())
        .args(["rehearse", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rehearse starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Once act 2 is on, the world is away from act 1: stop there.
    let mut seen = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "no \"ACT 2 shown\" line; printed:\n{seen}\nthe simulator said: {}",
                    sim_said(home.path())
                )
            });
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("✓ ACT 2 shown") {
            break;
        }
    }
    // SAFETY: kill only sends a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    let status_code = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rehearse did not end after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        seen.push_str(&line);
        seen.push('\n');
    }
    assert_eq!(status_code.code(), Some(128 + libc::SIGTERM), "{seen}");
    assert!(seen.contains("✓ reset"), "the reset ran: {seen}");
    assert!(seen.contains("left at ACT 1 · clean"), "{seen}");
    assert_eq!(
        converter_image(&kubectl, &kubeconfig, home.path()),
        "currency-converter:1.0.0"
    );
}

#[test]
fn a_malformed_story_is_refused_with_its_line_and_field() {
    let home = tempfile::tempdir().expect("tempdir");
    let story = home.path().join("story.toml");
    std::fs::write(
        &story,
        "[[beat]]\nname = \"ACT 1 shown\"\nact = 1\n\n[[beat]]\nname = \"press u\"\npress = \"act_upgrade\"\nact = 2\n",
    )
    .expect("story");
    let out = command(home.path())
        .args(["rehearse", "--sim", "--story"])
        .arg(&story)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "story error in {} at line 5, column 1: beat 2 (press u): does more than one thing (act, press)",
            story.display()
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing was rehearsed");

    std::fs::write(&story, "[[beat]]\nname = \"x\"\nact = 1\nsleep = 5\n").expect("story");
    let out = command(home.path())
        .args(["--sim", "--autopilot"])
        .arg(&story)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("at line 4") && stderr.contains("sleep"),
        "{stderr}"
    );
}

/// The raw output up to the moment the program left the alternate screen: the last frame a
/// viewer saw, drawn again on a fresh terminal.
fn last_frame(raw: &[u8], (cols, rows): (u16, u16)) -> String {
    const LEAVE: &[u8] = b"\x1b[?1049l";
    let end = raw
        .windows(LEAVE.len())
        .rposition(|w| w == LEAVE)
        .unwrap_or(raw.len());
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(rows).expect("rows"),
        std::num::NonZeroU16::new(cols).expect("cols"),
        0,
    );
    parser.process(&raw[..end]);
    parser.screen().contents()
}

#[test]
fn autopilot_plays_the_story_in_the_tui_and_exits_0() {
    if tools::require("kubectl").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let size = (120, 36);
    let mut tui = Tui::start(home.path(), &["--sim", "--autopilot"], &[], size);
    // The acts' confirmations are on screen before they are answered.
    tui.until(Duration::from_secs(120), "act 2's confirmation", |s| {
        s.contains("Run act 2")
    });
    let code = tui.wait(Duration::from_secs(300));
    let frame = last_frame(&tui.raw(), size);
    assert_eq!(code, 0, "last frame:\n{frame}");
    assert!(frame.contains("ACT 3"), "{frame}");
    assert!(frame.contains("IstioAuthZDeny"), "{frame}");
    assert!(!tui.alternate_screen(), "the terminal is restored");
}

#[test]
fn a_failing_autopilot_restores_the_terminal_and_names_the_beat() {
    let home = tempfile::tempdir().expect("tempdir");
    let story = home.path().join("story.toml");
    std::fs::write(
        &story,
        "[[beat]]\nname = \"ACT 1 shown\"\nact = 1\n\n[[beat]]\nname = \"an alert nobody raises\"\nalert = \"NoSuchAlert\"\ntimeout = 2\n",
    )
    .expect("story");
    let story = story.display().to_string();
    let mut tui = Tui::start(
        home.path(),
        &["--sim", "--autopilot", &story],
        &[],
        (100, 30),
    );
    let code = tui.wait(Duration::from_secs(120));
    let screen = tui.screen();
    assert_eq!(code, 1, "{screen}");
    assert!(!tui.alternate_screen(), "the terminal is restored");
    assert!(
        screen.contains("autopilot failed at \"an alert nobody raises\" (story line 5)")
            && screen.contains("NoSuchAlert is not firing"),
        "{screen}"
    );
}

#[test]
fn act_2s_timeout_stops_the_stuck_upgrade_with_ctrl_c_and_still_resets() {
    let Some(Stage {
        kubectl,
        home,
        config: sim_config,
        kubeconfig,
        _sim,
    }) = Stage::start()
    else {
        return;
    };
    // This time the script keeps waiting on its rollout (180 s): the beat's own timeout,
    // shortened in a copy of the built-in story, is what ends the wait.
    let config = home.path().join("broken.toml");
    let sim_config = std::fs::read_to_string(&sim_config).expect("config");
    std::fs::write(
        &config,
        format!(
            "{sim_config}\n[acts]\nenv = {{ RUGPULL_IMAGE = \"currency-converter:does-not-exist\" }}\n"
        ),
    )
    .expect("broken config");
    let default = control_room::story::DEFAULT_STORY_TOML;
    let original = "name = \"ACT 2 shown\"\nact = 2\ntimeout = 90\n";
    assert!(
        default.contains(original),
        "the built-in story's ACT 2 beat"
    );
    let story = home.path().join("story.toml");
    std::fs::write(
        &story,
        default.replace(original, "name = \"ACT 2 shown\"\nact = 2\ntimeout = 15\n"),
    )
    .expect("story");
    let story = story.display().to_string();

    let out = rehearse(home.path(), &config, &["--story", &story]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(
        v["failed"]["name"],
        "ACT 2 shown",
        "{v:#}\nthe simulator said: {}",
        sim_said(home.path())
    );
    let why = v["failed"]["detail"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("timed out after 15 s — waiting for ACT 2: the header shows rolling out…")
            && why.contains("currency-converter rollout stuck: currency-converter-")
            && why.contains("ImagePullBackOff"),
        "{why}"
    );
    assert_eq!(v["reset"]["passed"], true, "{v:#}");
    assert_eq!(
        converter_image(&kubectl, &kubeconfig, home.path()),
        "currency-converter:1.0.0"
    );
}
