//! `control-room rehearse`: the dress rehearsal. Plays every beat of the story headless
//! against the current world — the TUI's own sources, keys pressed through `update` (act
//! keys answered y as a presenter would, the prompt typed into the chat box) — prints each
//! beat with pass/fail and its time, then resets to act 1: after the last beat, after a
//! failed one, and after Ctrl+C/SIGTERM. Exits 0 when every beat passed, 1 naming the beat
//! that failed and why, 128 + n when signal n cut it short.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::app::runtime::{ForwardSet, Reading};
use crate::app::world::World;
use crate::app::{Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::story::Story;
use crate::story::player::{BeatReport, Mode, Player};
use crate::text::inert;

/// How long a running act gets to stop on the way out, should the reset not have run.
const WIND_DOWN: Duration = Duration::from_secs(4);

/// Everything the story reads: the clusters (the act), the chatbot forward, the alert
/// sources and their forwards, the exfil follower, the act runner and the signals.
pub fn parts(config: &Config) -> Parts {
    let alerts = &config.alerts;
    let forwards = std::iter::once(alerts.forward.clone())
        .chain(alerts.alertmanager_forward.clone())
        .chain(
            config
                .chat
                .url
                .is_none()
                .then(|| config.chat.forward.clone()),
        )
        .filter(|n| !n.is_empty())
        .collect();
    Parts {
        clusters: true,
        clock: true,
        forwards: ForwardSet::Only(forwards),
        probe_every: None,
        alerts: Reading::Follow,
        exfil: Reading::Follow,
        acts: true,
        chat: true,
        signals: true,
        any_local_port: false,
        // The rehearsal plays the story; the doctor is its own command, run before it.
        doctor: false,
    }
}

pub async fn run(
    world: World,
    config: &Config,
    story: Story,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if config.ui.read_only {
        world.close().await;
        eprintln!(
            "control-room: read-only ([ui] read_only in the config): a rehearsal presses the act keys, so it does not run"
        );
        return Ok(ExitCode::from(2));
    }
    let mode = world.mode.as_str();
    let (mut app, runtime) =
        Runtime::start(world, config, parts(config), RuntimeOptions::default()).await;
    let chat_forward = config
        .chat
        .url
        .is_none()
        .then(|| config.chat.forward.clone());
    let title = story.title.clone();
    let count = story.beats.len();
    let width = story
        .beats
        .iter()
        .map(|b| b.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(10, 56);
    if !json {
        println!(
            "rehearsing {} — {count} beats against the {} world",
            inert(if title.is_empty() {
                "the story"
            } else {
                &title
            }),
            if mode == "sim" { "simulated" } else { "live" }
        );
    }
    let started = Instant::now();
    let mut player = Player::new(story, Mode::Rehearse, chat_forward, started);
    let mut beats: Vec<BeatReport> = Vec::new();
    let outcome = loop {
        let poll = player.poll(&app.model, Instant::now());
        for r in poll.reports {
            if !json {
                println!("{}", line(&r, width));
            }
            beats.push(r);
        }
        let pressed = !poll.input.is_empty();
        for msg in poll.input {
            app.apply_now(msg);
        }
        if let Some(outcome) = player.outcome() {
            break outcome;
        }
        if pressed {
            // The keys' news (a confirmation, a started act) is in the model already.
            continue;
        }
        if app.pump(poll.wake).await.closed {
            // Nothing will ever change again: let the player time out on what it has.
            let poll = player.poll(&app.model, Instant::now() + Duration::from_secs(3600));
            beats.extend(poll.reports);
            break player.outcome().unwrap_or(crate::story::player::Outcome {
                failed: beats.iter().find(|b| !b.passed).cloned(),
                reset: None,
                signal: app.model.exit_signal,
            });
        }
    };
    let elapsed = started.elapsed();
    let act = app.model.act.reading.state;
    app.wind_down(WIND_DOWN).await;
    runtime.shutdown().await;

    // The reset is its own line, not one of the story's beats.
    let story_beats: Vec<&BeatReport> = beats.iter().filter(|b| b.line > 0).collect();
    if json {
        let v = json!({
            "story": title,
            "mode": mode,
            "passed": outcome.passed(),
            "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "beats": story_beats,
            "reset": outcome.reset,
            "failed": outcome.failed,
            "signal": outcome.signal,
            "act": act.as_str(),
        });
        println!("{}", crate::text::json_pretty(&v)?);
    } else {
        let passed = story_beats.iter().filter(|b| b.passed).count();
        println!(
            "{passed}/{count} beats passed in {:.1} s; left at {}",
            elapsed.as_secs_f64(),
            act.label()
        );
    }
    if let Some(failed) = &outcome.failed {
        eprintln!(
            "control-room rehearse: failed at \"{}\" (story line {}): {}",
            inert(&failed.name),
            failed.line,
            inert(&failed.detail)
        );
    }
    if let Some(reset) = outcome.reset.as_ref().filter(|r| !r.passed) {
        eprintln!(
            "control-room rehearse: the reset to act 1 failed: {}",
            inert(&reset.detail)
        );
    }
    let code = match outcome.signal {
        Some(n) => u8::try_from(128 + n).unwrap_or(1),
        None if outcome.passed() => 0,
        None => 1,
    };
    Ok(ExitCode::from(code))
}

/// `  ✓ ACT 1 shown                  0.4 s  ACT 1 · clean · currency-converter:1.0.0`
fn line(r: &BeatReport, width: usize) -> String {
    let mark = if r.passed { "✓" } else { "✗" };
    let name: String = r.name.chars().take(width).collect();
    let pad = width.saturating_sub(name.chars().count());
    inert(&format!(
        "  {mark} {name}{:pad$}  {:>6.1} s  {}",
        "",
        r.elapsed.as_secs_f64(),
        r.detail
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_aligned_and_inert() {
        let r = BeatReport {
            name: "ACT 2 shown".into(),
            line: 3,
            passed: false,
            elapsed: Duration::from_millis(90_040),
            detail: "timed out \u{1b}[31m".into(),
        };
        let l = line(&r, 14);
        assert!(l.starts_with("  ✗ ACT 2 shown     "), "{l:?}");
        assert!(l.contains("  90.0 s  timed out"), "{l:?}");
        assert!(!l.contains('\u{1b}'), "{l:?}");
    }

    #[test]
    fn parts_read_what_the_story_reads() {
        let config = Config::defaults();
        let p = parts(&config);
        assert!(p.clusters && p.acts && p.chat && p.signals);
        assert_eq!(p.exfil, Reading::Follow);
        let ForwardSet::Only(names) = p.forwards else {
            panic!("only some forwards")
        };
        assert!(names.contains(&"chatbot".to_string()), "{names:?}");
        assert!(names.contains(&config.alerts.forward), "{names:?}");
    }
}
