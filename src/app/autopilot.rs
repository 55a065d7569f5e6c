//! `--autopilot`: the story played in the TUI. The [`Player`] reads the model after every
//! batch (an [`App`] observer) and its keys go into the app's channel, as the terminal's
//! do, so the screen shows what a presenter's keys would show: the act's confirmation (held
//! on screen for the story's `confirm_pause`, then answered), the act log, the chat box.
//! The player's pauses and timeouts are kept by a timer that wakes the loop with a tick.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::App;
use crate::config::Config;
use crate::msg::Msg;
use crate::sources::clock;
use crate::story::Story;
use crate::story::player::{BeatReport, Mode, Outcome, Player};
use crate::text::inert;

/// What the autopilot saw, for the exit status once the TUI is gone.
#[derive(Clone, Default)]
pub struct Autopilot {
    shared: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    outcome: Option<Outcome>,
    current: Option<String>,
    beats: Vec<BeatReport>,
}

impl Autopilot {
    /// Starts playing `story` on `app`; keys and wake-up ticks go to `tx`.
    pub fn attach(app: &mut App, tx: mpsc::Sender<Msg>, story: Story, config: &Config) -> Self {
        let chat_forward = config
            .chat
            .url
            .is_none()
            .then(|| config.chat.forward.clone());
        let mut player = Player::new(story, Mode::Autopilot, chat_forward, Instant::now());
        let pilot = Autopilot::default();
        let shared = pilot.shared.clone();
        // One task forwards the keys, in order, however full the channel is.
        let (keys_tx, mut keys_rx) = mpsc::unbounded_channel::<Msg>();
        let forward = tx.clone();
        tokio::spawn(async move {
            while let Some(msg) = keys_rx.recv().await {
                if forward.send(msg).await.is_err() {
                    return;
                }
            }
        });
        let mut scheduled: Option<Instant> = None;
        app.observe(Box::new(move |model| {
            let now = Instant::now();
            let poll = player.poll(model, now);
            for msg in poll.input {
                let _ = keys_tx.send(msg);
            }
            if let Some(wake) = poll.wake
                && scheduled.is_none_or(|s| s <= now || wake < s)
            {
                scheduled = Some(wake);
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep_until(wake).await;
                    let _ = tx.send(Msg::Tick(clock::now())).await;
                });
            }
            let mut seen = shared.lock().unwrap_or_else(PoisonError::into_inner);
            for r in poll.reports {
                tracing::info!(beat = %r.name, passed = r.passed, elapsed_ms = r.elapsed.as_millis() as u64, detail = %r.detail, "autopilot");
                seen.beats.push(r);
            }
            seen.current = player.current().map(str::to_string);
            if seen.outcome.is_none() {
                seen.outcome = player.outcome();
            }
        }));
        pilot
    }

    /// After the TUI is gone: 0 when every beat passed; else says which beat failed (or
    /// where the autopilot was stopped) on stderr and returns 1.
    pub fn finish(&self) -> u8 {
        let seen = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let passed = seen.beats.iter().filter(|b| b.passed).count();
        match &seen.outcome {
            Some(o) if o.passed() => {
                eprintln!("control-room: autopilot: every beat passed ({passed})");
                0
            }
            Some(Outcome {
                failed: Some(f), ..
            }) => {
                eprintln!(
                    "control-room: autopilot failed at \"{}\" (story line {}): {}",
                    inert(&f.name),
                    f.line,
                    inert(&f.detail)
                );
                1
            }
            _ => {
                eprintln!(
                    "control-room: autopilot stopped before the end of the story ({passed} beats passed{})",
                    seen.current
                        .as_ref()
                        .map(|c| format!(", at \"{}\"", inert(c)))
                        .unwrap_or_default()
                );
                1
            }
        }
    }
}
