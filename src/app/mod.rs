//! The app: one channel of `Msg`s in, `update` applies them, an [`EffectRunner`] carries out
//! what `update` asks for, and the screen is redrawn only when something changed and at
//! most `max_fps` times a second ([`event_loop`], generic over the backend). [`runtime`] is
//! the one composition root that builds all of it from `(World, Config)`, for the TUI
//! ([`tui`]), the headless commands (`crate::cli`) and the tests alike.

pub mod alerting;
pub mod autopilot;
pub mod effects;
pub mod forwards;
pub mod runtime;
pub mod tui;
mod update;
pub mod world;

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use effects::{Browser, ChatSetup, Clipboard, EffectRunner, LiveEffects, RecordingEffects};
pub use runtime::{Parts, Runtime, RuntimeOptions};
pub use update::update;

use crate::config::Theme;
use crate::model::Model;
use crate::msg::{Effect, Msg};

/// Messages applied before a redraw is considered, so a burst (a relist of 10,000 pods, a
/// churning cluster) costs one frame, not thousands.
const MAX_BATCH: usize = 4096;

/// Follow-up messages an effect may produce, applied at once; bounds a runner that keeps
/// answering with more.
const MAX_FOLLOW_UPS: usize = 16;

pub struct App {
    pub model: Model,
    rx: mpsc::Receiver<Msg>,
    effects: Box<dyn EffectRunner>,
    quit: bool,
    /// Shown the model after every batch ([`App::observe`]).
    observer: Option<Observer>,
    /// Told about every frame ([`App::observe_frames`]).
    frame_observer: Option<Box<dyn FrameObserver>>,
}

/// Told about every frame the app draws (the `--record` recorder): before it, and after it
/// with the messages its observations produce (applied at once).
pub trait FrameObserver: Send {
    fn before_frame(&mut self, model: &Model);
    fn after_frame(&mut self, model: &Model) -> Vec<Msg>;
}

/// Reads the model after every batch of messages: the autopilot, which presses keys by
/// sending them back through the channel like the terminal does.
pub type Observer = Box<dyn FnMut(&Model) + Send>;

/// What one `pump` did.
#[derive(Debug, Default)]
pub struct Pumped {
    pub applied: usize,
    pub effects: Vec<Effect>,
    /// Every sender is gone: nothing will ever change again.
    pub closed: bool,
    /// Keys among the messages applied: a person waits on their frame.
    pub keys: usize,
    /// Messages that changed what the screen shows (all but those `update` marked
    /// [`Model::unchanged`]): without one there is nothing new to draw.
    pub changed: usize,
}

impl App {
    pub fn new(model: Model, rx: mpsc::Receiver<Msg>, effects: Box<dyn EffectRunner>) -> App {
        App {
            model,
            rx,
            effects,
            quit: false,
            observer: None,
            frame_observer: None,
        }
    }

    /// From now on `observer` sees the model after every batch that changed something.
    pub fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    /// Tell `observer` about every frame from now on.
    pub fn observe_frames(&mut self, observer: Box<dyn FrameObserver>) {
        self.frame_observer = Some(observer);
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Waits for a first message (until `deadline`, or for ever when `None`), then applies
    /// it and everything already queued, up to a batch.
    pub async fn pump(&mut self, deadline: Option<Instant>) -> Pumped {
        self.pump_up_to(deadline, MAX_BATCH).await
    }

    /// [`App::pump`] applying at most `limit` messages: a headless command that prints
    /// every line as it arrives takes them one at a time.
    pub async fn pump_up_to(&mut self, deadline: Option<Instant>, limit: usize) -> Pumped {
        let mut out = Pumped::default();
        let first = match deadline {
            Some(d) => match tokio::time::timeout_at(d, self.rx.recv()).await {
                Ok(m) => m,
                Err(_) => return out,
            },
            None => self.rx.recv().await,
        };
        let Some(first) = first else {
            out.closed = true;
            return out;
        };
        self.apply(first, &mut out);
        while out.applied < limit.max(1) {
            match self.rx.try_recv() {
                Ok(m) => self.apply(m, &mut out),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    out.closed = true;
                    break;
                }
            }
        }
        if let Some(observer) = self.observer.as_mut() {
            observer(&self.model);
        }
        out
    }

    /// Pumps until `done` holds or `within` passes; true when it held.
    pub async fn pump_until(&mut self, within: Duration, done: impl Fn(&Model) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while !done(&self.model) {
            if Instant::now() >= deadline {
                return false;
            }
            if self.pump(Some(deadline)).await.closed {
                return done(&self.model);
            }
        }
        true
    }

    /// Applies one message as if it had come from a source.
    pub fn apply_now(&mut self, msg: Msg) -> Vec<Effect> {
        let mut out = Pumped::default();
        self.apply(msg, &mut out);
        out.effects
    }

    fn apply(&mut self, msg: Msg, out: &mut Pumped) {
        out.applied += 1;
        out.keys += usize::from(matches!(msg, Msg::Key(_)));
        let mut queue = vec![msg];
        let mut follow_ups = 0;
        while let Some(msg) = queue.pop() {
            let effects = update(&mut self.model, msg);
            out.changed += usize::from(!self.model.unchanged);
            for effect in effects {
                if effect == Effect::Quit {
                    self.quit = true;
                }
                let mut more = self.effects.run(&effect, &self.model);
                if follow_ups + more.len() > MAX_FOLLOW_UPS {
                    tracing::warn!(?effect, "too many follow-up messages; dropping the rest");
                    more.truncate(MAX_FOLLOW_UPS - follow_ups);
                }
                follow_ups += more.len();
                queue.extend(more.into_iter().rev());
                out.effects.push(effect);
            }
        }
    }

    /// Draws one frame, then tells the model how many pod rows a page showed.
    pub fn draw<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        theme: &Theme,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        if let Some(observer) = self.frame_observer.as_mut() {
            observer.before_frame(&self.model);
        }
        terminal.draw(|f| crate::ui::draw(f, &self.model, theme))?;
        if let Some(mut observer) = self.frame_observer.take() {
            for msg in observer.after_frame(&self.model) {
                self.apply_now(msg);
            }
            self.frame_observer = Some(observer);
        }
        let rows = crate::ui::layout::page_rows(&self.model);
        if rows != self.model.page_rows {
            self.apply_now(Msg::PageRows(rows));
        }
        Ok(())
    }

    /// On the way out: cancel a running act and wait (at most `within`) until its process
    /// group is gone, so no script outlives the screen that started it.
    pub async fn wind_down(&mut self, within: Duration) {
        if !self.model.act_running() {
            return;
        }
        self.apply_now(Msg::Interrupt);
        let _ = self.pump_until(within, |m| !m.act_running()).await;
    }
}

/// Runs until quit: redraws on change, never faster than `max_fps`, never when idle.
pub async fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
    max_fps: u32,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let frame = Duration::from_secs(1) / max_fps.max(1);
    if let Ok(size) = terminal.size() {
        app.apply_now(Msg::Resize(size.width, size.height));
    }
    app.draw(terminal, theme)?;
    let mut last_draw = Instant::now();
    loop {
        let pumped = app.pump(None).await;
        if app.should_quit() || pumped.closed {
            return Ok(());
        }
        // Keep applying what arrives until the frame budget allows the next draw — except
        // after a key: a person waits on that frame, so it goes out at once (a log
        // streaming thousands of lines a second must not hold a keypress for a frame).
        let next_frame = last_draw + frame;
        let mut key = pumped.keys > 0;
        let mut changed = pumped.changed > 0;
        while !key && Instant::now() < next_frame {
            let more = app.pump(Some(next_frame)).await;
            if app.should_quit() {
                return Ok(());
            }
            key = more.keys > 0;
            changed |= more.changed > 0;
            if more.applied == 0 || more.closed {
                break;
            }
        }
        // A poll that brought nothing new costs no frame: an idle screen draws at the
        // clock's tick only.
        if key || changed {
            app.draw(terminal, theme)?;
            last_draw = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorldMode;
    use crate::msg::{ActKind, ChatEvent};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn app() -> (App, mpsc::Sender<Msg>, RecordingEffects) {
        let (tx, rx) = mpsc::channel(64);
        let clusters = vec![("vendor".into(), "kind-trustusbank-vendor".into())];
        let model = Model::new(WorldMode::Simulated, clusters, crate::sources::clock::now());
        let recorder = RecordingEffects::default();
        (
            App::new(model, rx, Box::new(recorder.clone())),
            tx,
            recorder,
        )
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[tokio::test]
    async fn every_effect_goes_through_the_runner() {
        let (mut app, tx, recorder) = app();
        for msg in [key('u'), key('y'), key('L'), key('y')] {
            tx.send(msg).await.expect("send");
        }
        app.pump(None).await;
        assert_eq!(recorder.effects(), [Effect::RunAct(ActKind::Upgrade)]);
        assert!(app.model.show_links, "the links pane is open");
        app.apply_now(Msg::Prompt("hi".into()));
        assert_eq!(
            recorder.effects().last(),
            Some(&Effect::SendPrompt("hi".into()))
        );
        app.apply_now(key('q'));
        assert!(!app.should_quit(), "q closes the links pane first");
        app.apply_now(key('q'));
        assert!(app.should_quit());
        assert_eq!(recorder.effects().last(), Some(&Effect::Quit));
    }

    /// A poll that repeats the screen is applied but counted as no change (no frame for it).
    #[tokio::test]
    async fn a_repeated_poll_is_not_a_change() {
        let (mut app, tx, _) = app();
        let poll = || {
            Msg::Alerts(crate::msg::alerts::AlertsMsg::Prometheus {
                at: chrono::Utc::now(),
                result: Ok(Vec::new()),
            })
        };
        tx.send(poll()).await.expect("send");
        assert_eq!(app.pump(None).await.changed, 1, "the first answer shows");
        tx.send(poll()).await.expect("send");
        let again = app.pump(None).await;
        assert_eq!((again.applied, again.changed), (1, 0));
        tx.send(key('?')).await.expect("send");
        assert_eq!(app.pump(None).await.changed, 1, "a key always draws");
    }

    /// A runner's answer (a refusal) reaches the model through `update`, at once.
    #[tokio::test]
    async fn follow_up_messages_are_applied() {
        struct Refuses;
        impl EffectRunner for Refuses {
            fn run(&mut self, effect: &Effect, _: &Model) -> Vec<Msg> {
                match effect {
                    Effect::SendPrompt(_) => vec![Msg::Chat(ChatEvent::Error("no agent".into()))],
                    _ => Vec::new(),
                }
            }
        }
        let (_, rx) = mpsc::channel(1);
        let clusters = Vec::new();
        let model = Model::new(WorldMode::Simulated, clusters, crate::sources::clock::now());
        let mut app = App::new(model, rx, Box::new(Refuses));
        app.apply_now(Msg::Prompt("hi".into()));
        assert!(!app.model.chat.pending);
        assert_eq!(
            app.model.chat.transcript.last().map(|e| e.text.as_str()),
            Some("no agent")
        );
    }
}
