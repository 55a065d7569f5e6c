//! `control-room notes`: presenter notes in a second terminal. It follows the act as the
//! clusters report it — the same watchers and derivation as the control room's header,
//! built through the same runtime with only the sources the notes read (cluster watchers,
//! exfil log, alerts, the clock) — so it needs no link to the running TUI. Keys are read
//! here, not by `update`: the notes view can never start an act. q, Esc or Ctrl+C quit.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::Instant;

use crate::app::world::World;
use crate::app::{App, Parts, Runtime, RuntimeOptions};
use crate::config::{Config, Notes, Theme};
use crate::model::ActState;
use crate::model::notes::shown_act;
use crate::msg::Msg;
use crate::ui::notes::NotesScreen;

/// The notes change at human speed: ten frames a second is plenty.
const FRAME: Duration = Duration::from_millis(100);

pub async fn run(
    world: World,
    config: &Config,
    theme: &Theme,
    notes: &Notes,
) -> anyhow::Result<ExitCode> {
    let (mut app, runtime) = Runtime::start(
        world,
        config,
        Parts::notes(config),
        RuntimeOptions::default(),
    )
    .await;
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            runtime.shutdown().await;
            return Err(e).context("cannot set up the terminal");
        }
    };
    crate::exit::terminal_taken();
    let result = follow(&mut terminal, &mut app, notes, theme, EventStream::new()).await;
    ratatui::restore();
    crate::exit::terminal_restored();
    runtime.shutdown().await;
    result?;
    Ok(super::exit_code(&app.model, ExitCode::SUCCESS))
}

fn quits(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)))
}

/// Where j/k, the arrows, PgUp/PgDn/Space and g/Home take the notes' scroll (the drawing
/// stops it at their last line); `None` for any other key.
fn scrolled(scroll: u16, key: &KeyEvent) -> Option<u16> {
    const PAGE: u16 = 5;
    Some(match key.code {
        KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
        KeyCode::Char(' ') | KeyCode::PageDown => scroll.saturating_add(PAGE),
        KeyCode::PageUp => scroll.saturating_sub(PAGE),
        KeyCode::Char('g') | KeyCode::Home => 0,
        _ => return None,
    })
}

/// Draws the notes whenever the model changed (at most every [`FRAME`]) until a quit key,
/// a signal, or the end of the sources.
async fn follow<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    notes: &Notes,
    theme: &Theme,
    mut keys: EventStream,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let watching_since = app.model.now;
    let mut shown = ActState::Unknown;
    let mut dirty = true;
    let mut last = Instant::now() - FRAME;
    let mut scroll: u16 = 0;
    loop {
        if dirty && last.elapsed() >= FRAME {
            let now_shown = shown_act(app.model.act.reading.state, shown);
            if now_shown != shown {
                // A new act's notes start at their top.
                scroll = 0;
            }
            shown = now_shown;
            let screen = NotesScreen {
                notes,
                shown,
                watching_since,
                scroll,
            };
            terminal.draw(|f| scroll = crate::ui::notes::draw(f, &app.model, &screen, theme))?;
            last = Instant::now();
            dirty = false;
        }
        let deadline = dirty.then_some(last + FRAME);
        tokio::select! {
            pumped = app.pump(deadline) => {
                if app.should_quit() || pumped.closed {
                    return Ok(());
                }
                // A poll that repeats what is shown costs no frame.
                dirty |= pumped.changed > 0;
            }
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) if quits(&key) => return Ok(()),
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    if let Some(to) = scrolled(scroll, &key) {
                        scroll = to;
                        dirty = true;
                    }
                }
                Some(Ok(Event::Resize(w, h))) => {
                    app.apply_now(Msg::Resize(w, h));
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading the terminal's keys"),
                None => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::runtime::{ForwardSet, Reading};

    /// The notes read the alerts through their own forwards on ports the system picks (the
    /// control room beside them holds the configured ones), and can neither act nor chat.
    #[test]
    fn the_notes_follow_without_acting_or_taking_the_control_rooms_ports() {
        let parts = Parts::notes(&Config::defaults());
        assert!(parts.any_local_port);
        assert!(matches!(&parts.forwards, ForwardSet::Only(names) if !names.is_empty()));
        assert!(parts.clusters && parts.clock && parts.signals);
        assert_eq!(
            (parts.alerts, parts.exfil),
            (Reading::Follow, Reading::Follow)
        );
        assert!(!parts.acts && !parts.chat);
    }

    #[test]
    fn j_k_pages_and_g_scroll_and_other_keys_do_not() {
        let k = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(scrolled(0, &k(KeyCode::Char('j'))), Some(1));
        assert_eq!(
            scrolled(0, &k(KeyCode::Char('k'))),
            Some(0),
            "not above the top"
        );
        assert_eq!(scrolled(3, &k(KeyCode::Up)), Some(2));
        assert_eq!(scrolled(3, &k(KeyCode::PageDown)), Some(8));
        assert_eq!(scrolled(3, &k(KeyCode::PageUp)), Some(0));
        assert_eq!(scrolled(9, &k(KeyCode::Char('g'))), Some(0));
        assert_eq!(scrolled(u16::MAX, &k(KeyCode::Char('j'))), Some(u16::MAX));
        for c in ['u', 'p', 'r', 'i'] {
            assert_eq!(scrolled(2, &k(KeyCode::Char(c))), None, "{c}");
        }
    }

    #[test]
    fn q_esc_and_ctrl_c_quit_nothing_else_does() {
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(quits(&key(KeyCode::Char('q'), KeyModifiers::NONE)));
        assert!(quits(&key(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(quits(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        for c in ['u', 'p', 'r', 'c'] {
            assert!(!quits(&key(KeyCode::Char(c), KeyModifiers::NONE)), "{c}");
        }
    }
}
