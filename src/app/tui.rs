//! The TUI: the runtime on a real terminal. Draws, loops until quit, then leaves nothing
//! behind — the terminal restored, the running act's process group stopped, the simulator
//! (if it started one) gone.

use std::time::Duration;

use anyhow::Context as _;

use super::runtime::{Parts, Runtime, RuntimeOptions, configured_model};
use super::world::World;
use crate::config::{Config, Theme};
use crate::model::WorldMode;

/// How long a running act gets to stop (SIGTERM, then SIGKILL to its group) on quit.
const ACT_WIND_DOWN: Duration = Duration::from_secs(4);

/// Runs the TUI until quit; the exit status is 128 + n when signal n ended it.
///
/// The screen comes first: the terminal is taken and a frame drawn from the config alone
/// (the clusters `provisional` names, each still connecting) before `open` starts the
/// simulator or anything touches the network — a presenter sees the tool at once.
pub async fn run(
    provisional: (WorldMode, Vec<(String, String)>),
    open: impl Future<Output = anyhow::Result<World>>,
    config: &Config,
    theme: &Theme,
    mut options: RuntimeOptions,
) -> anyhow::Result<std::process::ExitCode> {
    // A file that cannot be recorded to is refused before the screen is taken.
    let recording = match &options.record {
        Some(path) => Some(crate::record::Recording::create(path, terminal_size())?),
        None => None,
    };
    ratatui::try_init().context("cannot set up the terminal")?;
    crate::exit::terminal_taken();
    // The terminal's writer is teed when recording (else the bytes only pass through).
    let tee = crate::record::Tee::new(std::io::stdout(), recording.as_ref());
    let mut terminal = match ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(tee)) {
        Ok(t) => t,
        Err(e) => {
            leave_terminal();
            return Err(e).context("cannot set up the terminal");
        }
    };
    let (mode, clusters) = provisional;
    let mut first = configured_model(mode, clusters, config, &options);
    if let Ok(size) = terminal.size() {
        first.size = (size.width, size.height);
    }
    // A frame that cannot be drawn here will not be drawn later either: the loop says why.
    let _ = terminal.draw(|f| crate::ui::draw(f, &first, theme));
    let world = match open.await {
        Ok(world) => world,
        Err(e) => {
            leave_terminal();
            return Err(e);
        }
    };
    let story = options.autopilot.take();
    let (mut app, mut runtime) = Runtime::start(world, config, Parts::tui(), options).await;
    runtime.spawn_terminal_input();
    // `--autopilot`: keys come from the story too, through the same channel.
    let autopilot =
        story.map(|s| super::autopilot::Autopilot::attach(&mut app, runtime.sender(), s, config));
    inject_panic_for_tests();
    if let Some(recording) = &recording {
        app.observe_frames(Box::new(recording.recorder()));
    }
    let result = super::event_loop(&mut terminal, &mut app, theme, config.ui.max_fps).await;
    if let Some(recording) = &recording {
        recording.finish();
    }
    leave_terminal();
    app.wind_down(ACT_WIND_DOWN).await;
    runtime.shutdown().await;
    result?;
    let otherwise = match autopilot.map(|a| a.finish()) {
        Some(code @ 1..) => std::process::ExitCode::from(code),
        _ => std::process::ExitCode::SUCCESS,
    };
    Ok(crate::cli::exit_code(&app.model, otherwise))
}

/// The terminal's size for the recording's header (80×24 when it cannot be read).
fn terminal_size() -> (u16, u16) {
    crossterm::terminal::size().unwrap_or((80, 24))
}

fn leave_terminal() {
    ratatui::restore();
    crate::exit::terminal_restored();
}

/// `CONTROL_ROOM_TEST_PANIC=MS`: a task panics MS milliseconds after the screen is up. The
/// exit-path tests use it to check that a panic in a task — the kind the runtime would
/// otherwise swallow — still restores the terminal and stops the act's process group.
fn inject_panic_for_tests() {
    let Some(ms) = std::env::var("CONTROL_ROOM_TEST_PANIC")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    tracing::warn!(ms, "CONTROL_ROOM_TEST_PANIC is set: a task will panic");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        panic!("CONTROL_ROOM_TEST_PANIC: a task panicked on purpose after {ms} ms");
    });
}
