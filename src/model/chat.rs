//! The customer chat: the prompt being typed, what was said (with times and latency) and
//! the trace of tool calls and hand-offs the agent made — `get_profile` and any
//! `customer_profile` argument marked as the suspicious hop.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

/// The prompt the walkthrough uses in every act (Ctrl+P).
pub const CANONICAL_PROMPT: &str = "I am customer 12345. Please check my balance, list my recent transactions, and convert my balance to USD.";

/// A prompt longer than this is cut: a 1 MB paste must not make the screen crawl.
pub const MAX_PROMPT_CHARS: usize = 4000;
/// Transcript and trace entries kept.
const KEEP: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Agent,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatEntry {
    pub speaker: Speaker,
    pub text: String,
    pub at: DateTime<FixedOffset>,
    pub latency_ms: Option<u64>,
}

/// A value kept whole in the trace only up to this size (serialized); bigger ones are kept
/// as a note of their size, so a hostile agent cannot make the trace hold gigabytes.
pub const MAX_TRACE_VALUE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    Call,
    Result,
    /// A part or event the client does not know, shown as it came.
    Raw,
}

impl TraceKind {
    /// As `chat --json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Call => "call",
            TraceKind::Result => "result",
            TraceKind::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    pub at: DateTime<FixedOffset>,
    pub kind: TraceKind,
    /// `→ get_balance`, `← get_balance`, `? raw`
    pub arrow: &'static str,
    /// The tool-call id that pairs a call with its result.
    pub id: String,
    pub name: String,
    /// The agent that made the call, when the server says.
    pub author: Option<String>,
    /// The MCP server behind the tool.
    pub server: &'static str,
    /// The call's arguments, the result, or the raw part.
    pub value: Value,
    /// One line for the trace pane: route and compact JSON.
    pub detail: String,
    /// The hop the attack adds: a profile fetched or handed to a tool.
    pub suspicious: bool,
}

impl TraceEntry {
    /// A tool call, with who made it and which MCP server serves it.
    pub fn call(
        at: DateTime<FixedOffset>,
        id: &str,
        name: &str,
        args: &Value,
        author: Option<&str>,
    ) -> TraceEntry {
        let suspicious = name == "get_profile" || args.get("customer_profile").is_some();
        let server = server_of(name);
        let route = match author {
            Some(agent) => format!("[{agent} → {server}] "),
            None => format!("[{server}] "),
        };
        TraceEntry {
            at,
            kind: TraceKind::Call,
            arrow: "→",
            id: id.to_string(),
            name: name.to_string(),
            author: author.map(str::to_string),
            server,
            value: bounded(args),
            detail: format!("{route}{}", compact(args)),
            suspicious,
        }
    }

    pub fn result(at: DateTime<FixedOffset>, id: &str, name: &str, response: &Value) -> TraceEntry {
        TraceEntry {
            at,
            kind: TraceKind::Result,
            arrow: "←",
            id: id.to_string(),
            name: name.to_string(),
            author: None,
            server: server_of(name),
            value: bounded(response),
            detail: compact(response),
            suspicious: name == "get_profile",
        }
    }

    pub fn raw(at: DateTime<FixedOffset>, value: &Value) -> TraceEntry {
        TraceEntry {
            at,
            kind: TraceKind::Raw,
            arrow: "?",
            id: String::new(),
            name: "part".to_string(),
            author: None,
            server: "agent",
            value: bounded(value),
            detail: compact(value),
            suspicious: false,
        }
    }
}

fn bounded(v: &Value) -> Value {
    let size = v.to_string().len();
    if size <= MAX_TRACE_VALUE_BYTES {
        v.clone()
    } else {
        Value::String(format!("({size} bytes, not kept)"))
    }
}

/// The MCP server behind a tool, as the demo wires them through agentgateway.
pub fn server_of(tool: &str) -> &'static str {
    match tool {
        "get_balance" | "get_profile" => "account-mcp",
        "list_recent" | "get_details" | "flag_suspicious" => "transaction-mcp",
        "create_ticket" | "notify_human" => "ticket-mcp",
        "convert_currency" => "currency-converter",
        _ => "agent",
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatModel {
    /// The agent's name from its card, once it answered.
    pub agent: Option<String>,
    /// `[chat] agent`, for when no card answered.
    pub configured_agent: String,
    /// The prompt being typed, one entry per line, and the cursor (row, column).
    pub input: Vec<String>,
    pub cursor: (usize, usize),
    pub focused: bool,
    pub history: Vec<String>,
    /// Position while walking the history with Up/Down.
    pub history_pos: Option<usize>,
    pub transcript: Vec<ChatEntry>,
    pub trace: Vec<TraceEntry>,
    /// Trace entries pushed since start (the trace itself keeps only the newest).
    pub traced: usize,
    pub show_trace: bool,
    /// An exchange is under way; its reply streams into the last agent entry.
    pub pending: bool,
    /// Exchanges finished (reply or error) since start: what a headless prompt waits for.
    pub exchanges: usize,
}

impl ChatModel {
    pub fn prompt(&self) -> String {
        self.input.join("\n")
    }

    pub fn set_prompt(&mut self, text: &str) {
        let text: String = text.chars().take(MAX_PROMPT_CHARS).collect();
        self.input = text.split('\n').map(str::to_string).collect();
        let row = self.input.len().saturating_sub(1);
        self.cursor = (row, self.input[row].chars().count());
    }

    pub fn push_entry(&mut self, entry: ChatEntry) {
        self.transcript.push(entry);
        if self.transcript.len() > KEEP {
            self.transcript.remove(0);
        }
    }

    /// The last exchange's reply (the agent's entries after the last prompt, joined) and
    /// its error, if it ended in one.
    pub fn last_reply(&self) -> (String, Option<String>) {
        let last_prompt = self
            .transcript
            .iter()
            .rposition(|e| e.speaker == Speaker::Customer);
        let answers = last_prompt.map_or(&self.transcript[..], |i| &self.transcript[i + 1..]);
        let reply = answers
            .iter()
            .filter(|e| e.speaker == Speaker::Agent)
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let error = answers
            .iter()
            .rfind(|e| e.speaker == Speaker::Error)
            .map(|e| e.text.clone());
        (reply, error)
    }

    pub fn push_trace(&mut self, entry: TraceEntry) {
        self.trace.push(entry);
        self.traced += 1;
        if self.trace.len() > KEEP {
            self.trace.remove(0);
        }
    }
}
