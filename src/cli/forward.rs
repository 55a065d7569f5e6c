//! `control-room forward`: the port-forward helper script's replacement. Keeps every
//! configured forward open, prints the link table once they have settled, then one line per
//! change — all read off the model's link rows, the same rows the `L` pane shows.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use crate::app::runtime::ForwardSet;
use crate::app::world::World;
use crate::app::{Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::forward::{ForwardRow, ForwardState};
use crate::text::inert;

/// How long to wait for every forward to listen or say why not before the table.
const SETTLE: Duration = Duration::from_secs(3);

pub async fn run(world: World, config: &Config) -> anyhow::Result<ExitCode> {
    let parts = Parts {
        forwards: ForwardSet::All,
        signals: true,
        ..Parts::none()
    };
    let (mut app, runtime) = Runtime::start(world, config, parts, RuntimeOptions::default()).await;
    let settled = |rows: &[ForwardRow]| rows.iter().all(|r| r.state != ForwardState::Starting);
    app.pump_until(SETTLE, |m| settled(&m.forwards)).await;
    print!("{}", inert(&table(&app.model.forwards)));
    println!("(Ctrl+C stops every forward)");
    let mut seen = app.model.forwards.clone();
    while !app.should_quit() {
        // One message at a time, so every change gets its line.
        if app.pump_up_to(None, 1).await.closed {
            break;
        }
        for (before, now) in seen.iter().zip(&app.model.forwards) {
            for line in changes(before, now) {
                // A closed stdout (`| head`) must not take the forwards down with it.
                let _ = writeln!(
                    std::io::stdout(),
                    "{} {}: {}",
                    chrono::Local::now().format("%H:%M:%S"),
                    inert(&now.name),
                    inert(&line)
                );
            }
        }
        seen = app.model.forwards.clone();
    }
    runtime.shutdown().await;
    Ok(super::exit_code(&app.model, ExitCode::SUCCESS))
}

/// NAME, URL, CLUSTER, TARGET — and under a row that failed, why.
pub fn table(rows: &[ForwardRow]) -> String {
    let mut out = format!("{:<15} {:<42} {:<8} TARGET\n", "NAME", "URL", "CLUSTER");
    for r in rows {
        let url = r.url().unwrap_or_else(|| "—".to_string());
        out.push_str(&format!(
            "{:<15} {:<42} {:<8} {}\n",
            r.name, url, r.cluster, r.target
        ));
        if let Some((_, e)) = &r.last_error {
            out.push_str(&format!("{:<15} ✖ {e}\n", ""));
        }
    }
    out
}

/// What a person watching the forwards wants to read about one row's change.
fn changes(before: &ForwardRow, now: &ForwardRow) -> Vec<String> {
    let mut out = Vec::new();
    if now.local != before.local
        && let Some(addr) = now.local
    {
        out.push(format!("listening on {addr}"));
    }
    if now.last_error != before.last_error
        && let Some((_, e)) = &now.last_error
    {
        out.push(format!("✖ {e}"));
    }
    if now.pod != before.pod
        && let Some(pod) = &now.pod
    {
        out.push(format!("now to pod {pod}"));
    }
    out
}
