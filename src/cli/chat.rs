//! `control-room chat "PROMPT"`: one exchange with the agent, through the chatbot forward
//! (or at `[chat] url`).
//! The prompt goes through `update` exactly as Enter in the chat box sends it, and what is
//! printed is read off the model's transcript and trace — the chat box's own text.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;

use crate::app::world::World;
use crate::app::{App, Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::Model;
use crate::model::chat::{Speaker, TraceEntry, TraceKind};
use crate::msg::Msg;
use crate::text::inert;

/// How long the chatbot's forward may take to start listening.
const FORWARD_WAIT: Duration = Duration::from_secs(10);

/// What the exchange left in the model, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub agent: String,
    pub reply: String,
    pub trace: Vec<TraceEntry>,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

impl Exchange {
    /// The last exchange in the transcript: the agent's entry after the last prompt.
    pub fn of(model: &Model, trace_from: usize) -> Exchange {
        let chat = &model.chat;
        let last_prompt = chat
            .transcript
            .iter()
            .rposition(|e| e.speaker == Speaker::Customer);
        let answers = last_prompt.map_or(&chat.transcript[..], |i| &chat.transcript[i + 1..]);
        let (reply, error) = chat.last_reply();
        Exchange {
            agent: chat
                .agent
                .clone()
                .unwrap_or_else(|| chat.configured_agent.clone()),
            reply,
            trace: chat.trace.get(trace_from..).unwrap_or_default().to_vec(),
            latency_ms: answers.iter().rev().find_map(|e| e.latency_ms),
            error,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let trace: Vec<serde_json::Value> = self
            .trace
            .iter()
            .map(|t| match t.kind {
                TraceKind::Call => json!({
                    "type": "call", "id": t.id, "name": t.name, "args": t.value,
                    "agent": t.author, "server": t.server,
                }),
                TraceKind::Result => {
                    json!({"type": "result", "id": t.id, "name": t.name, "response": t.value})
                }
                TraceKind::Raw => json!({"type": "raw", "value": t.value}),
            })
            .collect();
        json!({
            "agent": self.agent,
            "reply": self.reply,
            "trace": trace,
            "latency_ms": self.latency_ms,
            "error": self.error,
        })
    }
}

/// One trace line for stderr, as the trace pane shows it: `→ [support-bot → account-mcp] get_balance {…}`.
fn trace_line(t: &TraceEntry) -> String {
    match t.kind {
        TraceKind::Call => {
            let by = t
                .author
                .as_deref()
                .map(|a| format!("{a} → "))
                .unwrap_or_default();
            format!("→ [{by}{}] {} {}", t.server, t.name, t.value)
        }
        TraceKind::Result => format!("← {} {}", t.name, t.value),
        TraceKind::Raw => format!("? {}", t.value),
    }
}

pub async fn run(
    world: World,
    config: &Config,
    prompt: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        config.chat.url.is_some()
            || config
                .forwards
                .iter()
                .any(|f| f.name == config.chat.forward),
        "no [[forward]] named {:?} (chat.forward)",
        config.chat.forward
    );
    let (mut app, runtime) = Runtime::start(
        world,
        config,
        Parts::chat(config),
        RuntimeOptions::default(),
    )
    .await;
    let result = exchange(&mut app, config, prompt, json).await;
    runtime.shutdown().await;
    if app.model.exit_signal.is_some() {
        return Ok(super::exit_code(&app.model, ExitCode::FAILURE));
    }
    let exchange = result?;
    if json {
        println!("{}", crate::text::json_pretty(&exchange.to_json())?);
    } else {
        println!("{}", inert(&exchange.reply));
        if let Some(e) = &exchange.error {
            eprintln!("control-room: chat failed: {}", inert(e));
        }
    }
    let otherwise = if exchange.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    Ok(super::exit_code(&app.model, otherwise))
}

/// Waits for the forward (unless `[chat] url` names the chatbot), sends the prompt through
/// `update`, pumps until the exchange is over; trace lines go to stderr as they arrive
/// unless `quiet`.
async fn exchange(
    app: &mut App,
    config: &Config,
    prompt: &str,
    quiet: bool,
) -> anyhow::Result<Exchange> {
    let base = match &config.chat.url {
        Some(url) => url.clone(),
        None => forward_base(app, config).await?,
    };
    if !quiet {
        let agent = &config.chat.agent;
        eprintln!("control-room: {} via {}", inert(agent), inert(&base));
    }
    let trace_from = app.model.chat.trace.len();
    let exchanges = app.model.chat.exchanges;
    app.apply_now(Msg::Prompt(prompt.to_string()));
    // The A2A client enforces the chat timeout; this only bounds a client that never ends.
    let limit = Duration::from_secs(config.chat.timeout_secs.saturating_mul(2).max(10));
    let deadline = tokio::time::Instant::now() + limit;
    let mut printed = trace_from;
    while app.model.chat.exchanges == exchanges && !app.model.quitting {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let pumped = app.pump(Some(deadline)).await;
        if !quiet {
            for t in app.model.chat.trace.get(printed..).unwrap_or_default() {
                eprintln!("{}", inert(&trace_line(t)));
            }
        }
        printed = app.model.chat.trace.len();
        if pumped.closed {
            break;
        }
    }
    let mut out = Exchange::of(&app.model, trace_from);
    if app.model.chat.exchanges == exchanges && out.error.is_none() {
        out.error = Some(format!("no answer within {}s", limit.as_secs()));
    }
    Ok(out)
}

/// The chatbot forward's local URL, once it listens.
async fn forward_base(app: &mut App, config: &Config) -> anyhow::Result<String> {
    let forward = config.chat.forward.clone();
    let listening = |m: &Model| {
        m.forwards
            .iter()
            .find(|f| f.name == forward)
            .is_some_and(|f| f.base_url().is_some() || f.last_error.is_some())
    };
    app.pump_until(FORWARD_WAIT, |m| m.quitting || listening(m))
        .await;
    if app.model.quitting {
        anyhow::bail!("interrupted");
    }
    let row = app
        .model
        .forwards
        .iter()
        .find(|f| f.name == forward)
        .context("the chatbot forward is not configured")?;
    let Some(base) = row.base_url() else {
        let why = row
            .last_error
            .as_ref()
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| format!("no answer within {}s", FORWARD_WAIT.as_secs()));
        anyhow::bail!("the {forward} forward is not listening: {why}");
    };
    Ok(base)
}
