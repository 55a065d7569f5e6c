//! The TUI: the runtime on a real terminal. Draws, loops until quit, then leaves nothing
//! behind — the terminal restored, the running act's process group stopped, the simulator
//! (if it started one) gone.

use std::time::Duration;

use anyhow::Context as _;

use super::runtime::{Parts, Runtime, RuntimeOptions};
use super::world::World;
use crate::config::{Config, Theme};

/// How long a running act gets to stop (SIGTERM, then SIGKILL to its group) on quit.
const ACT_WIND_DOWN: Duration = Duration::from_secs(4);

pub async fn run(
    world: World,
    config: &Config,
    theme: &Theme,
    options: RuntimeOptions,
) -> anyhow::Result<()> {
    let (mut app, mut runtime) = Runtime::start(world, config, Parts::tui(), options).await;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    runtime.spawn_terminal_input();
    let result = super::event_loop(&mut terminal, &mut app, theme, config.ui.max_fps).await;
    ratatui::restore();
    app.wind_down(ACT_WIND_DOWN).await;
    runtime.shutdown().await;
    result
}
