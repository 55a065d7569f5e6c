//! `control-room act NAME`: one act headless, through `update` and the same runner as the
//! keys; the script's output is printed line by line off the model's act run, and the exit
//! status is the script's (124 on timeout); a signal cancels the act's whole process group
//! and exits with 128 + its number.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::world::World;
use crate::app::{Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::ActKind;
use crate::msg::Msg;
use crate::text::inert;

/// Beyond the act's own timeout (which kills its process group), how long to wait for its
/// last message.
const GRACE: Duration = Duration::from_secs(10);

pub async fn run(world: World, config: &Config, kind: ActKind) -> anyhow::Result<ExitCode> {
    if config.ui.read_only {
        world.close().await;
        eprintln!(
            "control-room: read-only ([ui] read_only in the config): act {} ({}) not run",
            kind.number(),
            kind.key()
        );
        return Ok(ExitCode::from(2));
    }
    let parts = Parts {
        acts: true,
        signals: true,
        ..Parts::none()
    };
    let (mut app, runtime) = Runtime::start(world, config, parts, RuntimeOptions::default()).await;
    app.apply_now(Msg::RunAct(kind));
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(config.acts.timeout_secs) + GRACE;
    let mut printed = 0usize;
    let mut announced = false;
    loop {
        // One message at a time: the model keeps only a tail, the terminal gets every line.
        let pumped = app.pump_up_to(Some(deadline), 1).await;
        let Some(run) = app.model.act_run.as_ref().filter(|r| r.kind == kind) else {
            if pumped.closed || tokio::time::Instant::now() >= deadline {
                break;
            }
            continue;
        };
        if !announced {
            announced = true;
            eprintln!(
                "control-room: act {} ({}): {}",
                kind.number(),
                kind.key(),
                inert(&run.program)
            );
            if let Some(path) = &run.log_path {
                eprintln!("control-room: output also in {}", inert(path));
            }
        }
        let seen = run.dropped + run.lines.len();
        let fresh = seen.saturating_sub(printed).min(run.lines.len());
        // What the script printed is the clusters' text as often as its own (kubectl output).
        for line in run.lines.iter().skip(run.lines.len() - fresh) {
            if line.stderr {
                eprintln!("{}", inert(&line.text));
            } else {
                println!("{}", inert(&line.text));
            }
        }
        printed = seen;
        if let Some((outcome, elapsed)) = &run.outcome {
            eprintln!(
                "control-room: act {} {} after {:.1}s",
                kind.key(),
                inert(&outcome.describe()),
                elapsed.as_secs_f64()
            );
            break;
        }
        if pumped.closed || tokio::time::Instant::now() >= deadline {
            break;
        }
    }
    let outcome = app
        .model
        .act_run
        .as_ref()
        .and_then(|r| r.outcome.clone())
        .map(|(o, _)| o)
        .context("the act runner ended without an outcome")?;
    runtime.shutdown().await;
    let code = match app.model.exit_signal {
        Some(n) => 128 + n,
        None => outcome.exit_code(),
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
