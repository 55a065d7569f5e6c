//! `control-room notes`, the presenter's second terminal: the shipped binary in a pty
//! against `control-room sim` follows the act the clusters are in — act 1's notes, then act
//! 2's soon after `control-room act upgrade` — with no link to any TUI; and the notes screen
//! from a fixed model at a laptop's and a projector's size.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use control_room::config::{Notes, Theme};
use control_room::model::alerts::{AlertRow, AlertState, AlertsMsg, Origin};
use control_room::model::{ActState, Model, WorldMode};
use control_room::ui;
use control_room::ui::notes::NotesScreen;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::cli::start_sim;
use crate::support::command;
use crate::support::pty::Tui;

#[test]
fn the_notes_follow_the_act_on_the_clusters() {
    // The act script drives kubectl; `.ci/run` installs it.
    if crate::support::tools::require("kubectl").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let state = home.path().join("sim");
    let (_sim, _) = start_sim(home.path(), &state);
    let config = state.join("control-room.toml").display().to_string();
    let mut notes = Tui::start(home.path(), &["notes", "--config", &config], &[], (80, 24));
    let screen = notes.until(Duration::from_secs(30), "act 1's notes", |s| {
        s.contains("A C T   1   ·   C L E A N") && s.contains("Set the scene")
    });
    assert!(screen.contains("exfil 0"), "{screen}");
    assert!(screen.contains("SIMULATED"), "{screen}");

    let act = command(home.path())
        .args(["act", "upgrade", "--config", &config])
        .env("KUBECACHEDIR", home.path().join("kube-cache"))
        .output()
        .expect("control-room act runs");
    assert!(
        act.status.success(),
        "act upgrade: {}",
        String::from_utf8_lossy(&act.stderr)
    );
    let done = Instant::now();
    let screen = notes.until(Duration::from_secs(2), "act 2's notes within 2 s", |s| {
        s.contains("C O M P R O M I S E D") && s.contains("rugpull at the same tag")
    });
    assert!(done.elapsed() <= Duration::from_secs(2));
    assert!(
        !screen.contains("Set the scene"),
        "act 1's notes are gone:\n{screen}"
    );

    notes.keys("q");
    assert_eq!(notes.wait(Duration::from_secs(10)), 0);
    assert!(!notes.alternate_screen(), "the terminal is restored");
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-01T14:05:09+00:00").expect("time")
}

/// Act 2, 2 min 13 s in (over its 2-minute budget), one exfil this act, the deny alert
/// pending: every beat before act 3's key is done.
fn act2() -> Model {
    let mut m = Model::new(WorldMode::Simulated, Vec::new(), now());
    m.act.reading.state = ActState::Compromised;
    m.act.reading.tool_image = Some("acme-fx/currency-converter:1.0.0-rugpull".into());
    m.act.reading.detail = None;
    m.act.since = now() - chrono::Duration::seconds(133);
    m.exfil.events = vec![(now() - chrono::Duration::seconds(90)).with_timezone(&Utc)];
    m.alerts.apply(
        AlertsMsg::Prometheus {
            at: now().with_timezone(&Utc),
            result: Ok(vec![AlertRow {
                name: "IstioAuthZDeny".into(),
                state: AlertState::Pending,
                labels: Default::default(),
                summary: String::new(),
                active_at: None,
                origin: Origin::Prometheus,
            }]),
        },
        now(),
    );
    m
}

fn draw(model: &Model, size: (u16, u16)) -> Terminal<TestBackend> {
    draw_scrolled(model, size, 0).0
}

/// The notes screen scrolled by `scroll` lines, and the scroll it honoured.
fn draw_scrolled(model: &Model, (w, h): (u16, u16), scroll: u16) -> (Terminal<TestBackend>, u16) {
    let notes = Notes::defaults().expect("the embedded notes");
    let theme = Theme::builtin("default").expect("theme");
    let screen = NotesScreen {
        notes: &notes,
        shown: ActState::Compromised,
        watching_since: now() - chrono::Duration::seconds(600),
        scroll,
    };
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let mut honoured = 0;
    terminal
        .draw(|f| honoured = ui::notes::draw(f, model, &screen, &theme))
        .expect("draw");
    (terminal, honoured)
}

/// On a terminal too short for act 2's notes (80×18: a laptop's split window) the box says
/// there is more, and scrolling reaches the last note (and no further).
#[test]
fn the_notes_scroll_to_their_last_line_on_a_small_screen() {
    let model = act2();
    let notes = Notes::defaults().expect("the embedded notes");
    let last = notes
        .act(ActState::Compromised)
        .and_then(|a| a.notes.last())
        .expect("act 2 has notes")
        .clone();
    let tail: String = last.split_whitespace().last().expect("a word").to_string();
    let (top, _) = draw_scrolled(&model, (80, 18), 0);
    let top = control_room::ui::buffer_text(top.backend().buffer());
    assert!(top.contains("↓ more"), "{top}");
    let (bottom, honoured) = draw_scrolled(&model, (80, 18), u16::MAX);
    let bottom = control_room::ui::buffer_text(bottom.backend().buffer());
    assert!(
        honoured > 0 && honoured < 100,
        "stopped at the end: {honoured}"
    );
    assert!(
        bottom.contains(&tail),
        "the last note's last word {tail:?}:\n{bottom}"
    );
    assert!(bottom.contains("↑ more"), "{bottom}");
    let (back, again) = draw_scrolled(&model, (80, 18), honoured);
    assert_eq!(again, honoured);
    assert_eq!(
        control_room::ui::buffer_text(back.backend().buffer()),
        bottom
    );
}

fn render(model: &Model, size: (u16, u16)) -> String {
    ui::buffer_text(draw(model, size).backend().buffer())
}

/// The act's clock (row 4, after the header and the banner) in the role its budget says.
#[test]
fn the_act_clock_turns_warn_then_danger() {
    use control_room::config::Role;
    let theme = Theme::builtin("default").expect("theme");
    let mut model = act2();
    for (secs, role) in [(100, Role::Ok), (133, Role::Warn), (181, Role::Danger)] {
        model.act.since = now() - chrono::Duration::seconds(secs);
        let terminal = draw(&model, (80, 24));
        let cell = &terminal.backend().buffer()[(1, 4)];
        assert_eq!(cell.symbol(), "⏱");
        assert_eq!(
            cell.fg,
            theme.style(role).fg.expect("a colour"),
            "{secs} s: {role:?}"
        );
    }
}

#[test]
fn the_notes_screen_at_a_laptop_and_a_projector_size() {
    let model = act2();
    for size in [(80, 24), (120, 36)] {
        let screen = render(&model, size);
        assert!(screen.contains("2:13 / 2:00 +0:13"), "{screen}");
        assert!(screen.contains("exfil 1 (1 this act)"), "{screen}");
        insta::assert_snapshot!(format!("notes_act2_{}x{}", size.0, size.1), screen);
    }
}
