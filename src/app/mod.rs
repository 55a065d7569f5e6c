//! The event loop: one channel of `Msg`s in, `update` applies them, the screen is redrawn
//! only when something changed and at most `max_fps` times a second.

pub mod alerting;
pub mod forwards;
mod msg;
pub mod status;
mod update;
pub mod world;

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use msg::{ActMsg, ClusterMsg, Effect, Msg};
pub use update::update;

use crate::actions::{ActEnvironment, RunningAct, spawn_act};
use crate::config::Theme;
use crate::model::Model;
use crate::sources::a2a::{A2aClient, ChatEvent};

/// Messages applied before a redraw is considered, so a burst (a relist of 10,000 pods, a
/// churning cluster) costs one frame, not thousands.
const MAX_BATCH: usize = 4096;

pub struct App {
    pub model: Model,
    rx: mpsc::Receiver<Msg>,
    quit: bool,
    /// How to run acts, and where their messages go; `None` when acts are not available.
    acts: Option<(ActEnvironment, mpsc::Sender<Msg>)>,
    running_act: Option<RunningAct>,
    chat: Option<(ChatSetup, mpsc::Sender<Msg>)>,
}

/// How prompts reach the agent: through the named forward's local URL.
#[derive(Debug, Clone)]
pub struct ChatSetup {
    pub forward: String,
    pub agent: String,
    pub protocol: crate::sources::a2a::Protocol,
    pub timeout: Duration,
}

/// What one `pump` did.
#[derive(Debug, Default)]
pub struct Pumped {
    pub applied: usize,
    pub effects: Vec<Effect>,
    /// Every sender is gone: nothing will ever change again.
    pub closed: bool,
}

impl App {
    pub fn new(model: Model, rx: mpsc::Receiver<Msg>) -> App {
        App {
            model,
            rx,
            quit: false,
            acts: None,
            running_act: None,
            chat: None,
        }
    }

    /// Lets the act keys run scripts; their output comes back through `tx`.
    pub fn with_acts(mut self, env: ActEnvironment, tx: mpsc::Sender<Msg>) -> App {
        self.acts = Some((env, tx));
        self
    }

    /// Lets Enter in the chat box send prompts; replies come back through `tx`.
    pub fn with_chat(mut self, setup: ChatSetup, tx: mpsc::Sender<Msg>) -> App {
        self.chat = Some((setup, tx));
        self
    }

    fn send_prompt(&mut self, prompt: String) {
        let Some((setup, tx)) = self.chat.clone() else {
            update(
                &mut self.model,
                Msg::Chat(ChatEvent::Error("chat is not available here".into())),
            );
            return;
        };
        let base = self
            .model
            .forwards
            .iter()
            .find(|f| f.name == setup.forward)
            .and_then(|f| f.base_url());
        let Some(base) = base else {
            let why = format!("the {} forward is not listening (see L)", setup.forward);
            update(&mut self.model, Msg::Chat(ChatEvent::Error(why)));
            return;
        };
        tokio::spawn(async move {
            let client = match A2aClient::new(&base, &setup.agent, setup.protocol, setup.timeout) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Msg::Chat(ChatEvent::Error(e))).await;
                    return;
                }
            };
            let streaming = match client.card().await {
                Ok((name, streaming)) => {
                    let _ = tx
                        .send(Msg::Chat(ChatEvent::Agent { name, streaming }))
                        .await;
                    streaming
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no agent card; sending without streaming");
                    false
                }
            };
            let (events_tx, mut events) = mpsc::channel(256);
            let forward = tokio::spawn({
                let tx = tx.clone();
                async move {
                    while let Some(e) = events.recv().await {
                        if tx.send(Msg::Chat(e)).await.is_err() {
                            return;
                        }
                    }
                }
            });
            let _ = client
                .send(&prompt, streaming, setup.timeout, &events_tx)
                .await;
            drop(events_tx);
            let _ = forward.await;
        });
    }

    /// Stops a running act, if any (used on quit so no script outlives the screen).
    pub fn cancel_act(&mut self) {
        if let Some(run) = self.running_act.as_mut() {
            run.cancel();
        }
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Waits for a first message (until `deadline`, or for ever when `None`), then applies
    /// it and everything already queued, up to a batch.
    pub async fn pump(&mut self, deadline: Option<Instant>) -> Pumped {
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
        while out.applied < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(m) => self.apply(m, &mut out),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    out.closed = true;
                    break;
                }
            }
        }
        out
    }

    fn apply(&mut self, msg: Msg, out: &mut Pumped) {
        out.applied += 1;
        for effect in update(&mut self.model, msg) {
            match effect {
                Effect::Quit => self.quit = true,
                Effect::RunAct(kind) => match &self.acts {
                    Some((env, tx)) => {
                        self.running_act = Some(spawn_act(env.clone(), kind, tx.clone()))
                    }
                    None => tracing::warn!(act = kind.key(), "acts are not available here"),
                },
                Effect::CancelAct => self.cancel_act(),
                Effect::SendPrompt(ref prompt) => self.send_prompt(prompt.clone()),
                Effect::OpenUrl(ref url) => {
                    if let Err(e) = open_in_browser(url) {
                        update(
                            &mut self.model,
                            Msg::Notice(format!("could not open {url}: {e}")),
                        );
                    }
                }
                // Needs the terminal: done by `run`.
                Effect::CopyToClipboard(_) => {}
            }
            out.effects.push(effect);
        }
    }
}

/// `$BROWSER`, else the desktop's opener. Detached: the browser outlives nothing of ours.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    let program = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".to_string()
            } else {
                "xdg-open".to_string()
            }
        });
    std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
}

/// OSC 52: the terminal (also over ssh and in tmux with set-clipboard) puts it on the clipboard.
fn copy_to_clipboard(text: &str) -> std::io::Result<()> {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout().lock();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

/// The effects only the real terminal can carry out.
fn terminal_effects(effects: &[Effect]) {
    for effect in effects {
        if let Effect::CopyToClipboard(text) = effect
            && let Err(e) = copy_to_clipboard(text)
        {
            tracing::warn!(error = %e, "clipboard copy failed");
        }
    }
}

/// Runs until quit: redraws on change, never faster than `max_fps`, never when idle.
pub async fn run<B: Backend>(
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
        app.model.size = (size.width, size.height);
    }
    terminal.draw(|f| crate::ui::draw(f, &app.model, theme))?;
    let mut last_draw = Instant::now();
    loop {
        let pumped = app.pump(None).await;
        terminal_effects(&pumped.effects);
        if app.should_quit() || pumped.closed {
            return Ok(());
        }
        // Keep applying what arrives until the frame budget allows the next draw.
        let next_frame = last_draw + frame;
        while Instant::now() < next_frame {
            let more = app.pump(Some(next_frame)).await;
            terminal_effects(&more.effects);
            if app.should_quit() {
                return Ok(());
            }
            if more.applied == 0 || more.closed {
                break;
            }
        }
        terminal.draw(|f| crate::ui::draw(f, &app.model, theme))?;
        last_draw = Instant::now();
    }
}
