//! `--record FILE.cast` on the shipped binary in a pty: the story driven by its keys, then
//! the file read back — a valid asciicast v2 header, events in time order, a marker for
//! each act and beat, and its output played through a VT parser at the header's size ends
//! on the screen the presenter saw. The real `asciinema` 2.4 accepts it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::pty::Tui;
use crate::support::tools;

const SIZE: (u16, u16) = (120, 36);
const RESIZED: (u16, u16) = (130, 40);
const START: Duration = Duration::from_secs(30);
const ACT: Duration = Duration::from_secs(120);

/// The customer prompt from the chat box: `i`, Ctrl+P, Enter, then out of the box.
fn send_prompt(tui: &mut Tui) {
    tui.keys("i");
    tui.keys("\x10");
    tui.keys("\r");
}

/// An act through its key and confirmation, until the header shows it and its script ended.
fn run_act(tui: &mut Tui, key: &str, question: &str, confirm: &str, header: &str) {
    tui.keys(key);
    tui.until(Duration::from_secs(5), question, |s| s.contains(question));
    tui.keys(confirm);
    tui.until(ACT, header, |s| {
        s.contains(header) && s.contains("exit 0 after")
    });
}

pub(crate) struct Cast {
    pub header: Value,
    pub events: Vec<(f64, String, String)>,
}

pub(crate) fn read_cast(path: &Path) -> Cast {
    let text = std::fs::read_to_string(path).expect("the recording is UTF-8 text");
    let mut lines = text.lines();
    let header: Value =
        serde_json::from_str(lines.next().expect("a header line")).expect("the header is JSON");
    let events = lines
        .enumerate()
        .map(|(i, line)| {
            let event: (f64, String, String) = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("event {i} is [time, code, data]: {e}: {line}"));
            event
        })
        .collect();
    Cast { header, events }
}

impl Cast {
    pub fn markers(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|e| e.1 == "m")
            .map(|e| e.2.as_str())
            .collect()
    }

    /// The `o` events played through a VT parser at the header's size (following `r`).
    pub fn final_screen(&self) -> String {
        let size = |v: &Value| u16::try_from(v.as_u64().expect("a size")).expect("fits");
        let (mut cols, mut rows) = (size(&self.header["width"]), size(&self.header["height"]));
        let nz = |n: u16| std::num::NonZeroU16::new(n.max(1)).expect("non-zero");
        let mut parser = vt100::Parser::new(nz(rows), nz(cols), 0);
        for (_, code, data) in &self.events {
            match code.as_str() {
                "o" => parser.process(data.as_bytes()),
                "r" => {
                    let (w, h) = data.split_once('x').expect("WxH");
                    (cols, rows) = (w.parse().expect("W"), h.parse().expect("H"));
                    parser.screen_mut().set_size(nz(rows), nz(cols));
                }
                _ => {}
            }
        }
        parser.screen().contents()
    }

    /// Checks what every recording must be: v2, sized, timed in order, known codes.
    pub fn assert_valid(&self, size: (u16, u16)) {
        let h = &self.header;
        assert_eq!(h["version"], 2, "{h}");
        assert_eq!(
            (h["width"].as_u64(), h["height"].as_u64()),
            (Some(u64::from(size.0)), Some(u64::from(size.1))),
            "{h}"
        );
        assert!(
            h["timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000),
            "{h}"
        );
        assert_eq!(h["title"], "control-room");
        assert_eq!(h["env"]["TERM"], "xterm-256color", "{h}");
        assert!(h["env"]["SHELL"].is_string(), "{h}");
        assert!(!self.events.is_empty());
        let mut last = 0.0;
        for (t, code, _) in &self.events {
            assert!(*t >= last, "time goes back: {t} after {last}");
            last = *t;
            assert!(
                ["o", "r", "m"].contains(&code.as_str()),
                "event code {code}"
            );
        }
    }
}

/// `asciinema cat FILE` (2.4, from its venv) exits 0, and what it replays ends on a screen
/// (at `size`) that shows `expect`.
pub(crate) fn asciinema_accepts(path: &Path, size: (u16, u16), expect: &str) {
    let Some(asciinema) = tools::require_env("CONTROL_ROOM_ASCIINEMA", "asciinema 2.4 (PyPI)")
    else {
        return;
    };
    let out = std::process::Command::new(asciinema)
        .arg("cat")
        .arg(path)
        .output()
        .expect("asciinema runs");
    assert!(
        out.status.success(),
        "asciinema cat: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
    let mut parser = vt100::Parser::new(nz(size.1), nz(size.0), 0);
    parser.process(&out.stdout);
    let screen = parser.screen().contents();
    assert!(
        screen.contains(expect),
        "asciinema's replay ends on:\n{screen}"
    );
}

#[test]
fn the_story_recorded_plays_back_to_the_defended_screen() {
    // The act scripts drive kubectl; `.ci/run` installs it.
    if tools::require("kubectl").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let cast = home.path().join("demo.cast");
    let cast_arg = cast.display().to_string();
    let mut tui = Tui::start(
        home.path(),
        &["--sim", "--record", &cast_arg],
        &[("SHELL", "/bin/sh")],
        SIZE,
    );
    tui.until(START, "act 1", |s| s.contains("ACT 1 · clean"));
    // The window changes size once: the recording follows (an `r` event), at the new size.
    tui.resize(RESIZED);
    tui.until(
        Duration::from_secs(10),
        "the screen redrawn at the new size",
        |s| {
            // The clock, right-aligned, now ends past the old width.
            s.lines().next().is_some_and(|l| {
                l.contains("ACT 1 · clean") && l.trim_end().chars().count() > usize::from(SIZE.0)
            })
        },
    );

    run_act(&mut tui, "u", "Run act 2", "y", "ACT 2 · compromised");
    send_prompt(&mut tui);
    tui.until(Duration::from_secs(30), "the reply and the exfil", |s| {
        s.contains("£4,287.55") && s.contains("1 this act")
    });
    tui.keys("\x1b");

    run_act(&mut tui, "p", "Run act 3", "\r", "ACT 3 · defended");
    // The same prompt, until the denies it causes fire the alert (the first deny of a
    // series is invisible to a rate, so it takes more than one).
    let mut fired = false;
    for _ in 0..6 {
        send_prompt(&mut tui);
        tui.keys("\x1b");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            let s = tui.screen();
            // Both alerts firing (the panel's title counts them).
            if s.contains("IstioAuthZDeny") && s.contains("2 firing") {
                fired = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if fired {
            break;
        }
    }
    assert!(fired, "IstioAuthZDeny fired; screen:\n{}", tui.screen());
    tui.until(
        Duration::from_secs(15),
        "IstioAuthZDeny firing on screen",
        |s| s.contains("IstioAuthZDeny"),
    );
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);

    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&cast)
        .expect("the recording")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the recording is private");
    let recorded = read_cast(&cast);
    recorded.assert_valid(SIZE);
    let markers = recorded.markers();
    let position = |label: &str| {
        markers
            .iter()
            .position(|m| m.starts_with(label))
            .unwrap_or_else(|| panic!("a marker {label:?} in {markers:?}"))
    };
    let act1 = position("ACT 1 · clean");
    let act2 = position("ACT 2 · compromised");
    let act3 = position("ACT 3 · defended");
    assert!(act1 < act2 && act2 < act3, "{markers:?}");
    let prompt = position("prompt sent");
    let reply = position("reply complete");
    let exfil = position("exfil +1");
    assert!(
        act2 < prompt && prompt < reply && reply < act3,
        "{markers:?}"
    );
    assert!(act2 < exfil && exfil < act3, "{markers:?}");
    assert!(
        position("alert firing: IstioAuthZDeny") > act3,
        "{markers:?}"
    );

    let resizes: Vec<&str> = recorded
        .events
        .iter()
        .filter(|e| e.1 == "r")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(resizes, ["130x40"]);
    let screen = recorded.final_screen();
    assert!(screen.contains("ACT 3 · defended"), "{screen}");
    assert!(screen.contains("IstioAuthZDeny"), "{screen}");
    asciinema_accepts(&cast, RESIZED, "ACT 3 · defended");
}

/// A path the recording cannot be written to is refused before the screen is taken; a
/// symlink is never followed.
#[test]
fn an_unwritable_recording_is_refused_at_start() {
    let home = tempfile::tempdir().expect("home");
    let victim = home.path().join("victim");
    std::fs::write(&victim, "keep").expect("victim");
    let link = home.path().join("link.cast");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    for path in [link.clone(), home.path().join("no-such-dir/demo.cast")] {
        let out = crate::support::command(home.path())
            .args(["--sim", "--record"])
            .arg(&path)
            .output()
            .expect("control-room runs");
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot record to"), "{err}");
        assert!(
            !out.stdout.windows(8).any(|w| w == b"\x1b[?1049h"),
            "the screen was not taken"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep");
}

/// The unattended screencast: `--autopilot --record` plays the story, exits 0, and the
/// file holds the acts' markers and ends on the defended screen with the deny alert.
#[test]
fn an_autopilot_run_records_the_whole_story() {
    if tools::require("kubectl").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let cast = home.path().join("x.cast");
    let cast_arg = cast.display().to_string();
    let mut tui = Tui::start(
        home.path(),
        &["--sim", "--autopilot", "--record", &cast_arg],
        &[("SHELL", "/bin/sh")],
        SIZE,
    );
    assert_eq!(tui.wait(Duration::from_secs(300)), 0, "{}", tui.screen());
    let recorded = read_cast(&cast);
    recorded.assert_valid(SIZE);
    let markers = recorded.markers();
    let at = |label: &str| {
        markers
            .iter()
            .position(|m| *m == label)
            .unwrap_or_else(|| panic!("a marker {label:?} in {markers:?}"))
    };
    assert!(
        at("ACT 1 · clean") < at("ACT 2 · compromised")
            && at("ACT 2 · compromised") < at("ACT 3 · defended"),
        "{markers:?}"
    );
    assert!(
        markers.contains(&"alert firing: IstioAuthZDeny"),
        "{markers:?}"
    );
    let screen = recorded.final_screen();
    assert!(screen.contains("ACT 3 · defended"), "{screen}");
    assert!(screen.contains("IstioAuthZDeny"), "{screen}");
    asciinema_accepts(&cast, SIZE, "IstioAuthZDeny");
}
