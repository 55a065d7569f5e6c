//! A2A (Agent2Agent) JSON-RPC client for the chatbot's proxy route: fetches the agent card,
//! sends a prompt with `message/stream` (SSE) when the agent streams, else `message/send`,
//! and turns what comes back — text, tool calls and results (kagent data parts), status —
//! into `ChatEvent`s as they arrive. Protocol 0.3 by default, 1.0 on request. Every answer
//! is untrusted: bounded in size and time, malformed pieces become errors or raw events,
//! never panics.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use crate::msg::chat::ChatEvent;

/// Replies larger than this are cut off with an error: no agent answer needs more.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V03,
    V10,
}

#[derive(Debug, Clone)]
pub struct A2aClient {
    http: reqwest::Client,
    /// `…/api/a2a/<ns>/<agent>/`
    endpoint: String,
    protocol: Protocol,
}

impl A2aClient {
    pub fn new(
        base_url: &str,
        agent: &str,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<A2aClient, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(timeout)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| e.to_string())?;
        let endpoint = format!(
            "{}/api/a2a/{}/",
            base_url.trim_end_matches('/'),
            agent.trim_matches('/')
        );
        Ok(A2aClient {
            http,
            endpoint,
            protocol,
        })
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.protocol {
            Protocol::V10 => builder.header("A2A-Version", "1.0"),
            Protocol::V03 => builder,
        }
    }

    /// The agent's name and whether it streams.
    pub async fn card(&self) -> Result<(String, bool), String> {
        let url = format!("{}.well-known/agent-card.json", self.endpoint);
        let resp = self
            .request(self.http.get(&url))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        let body = read_bounded(resp).await?;
        if !status.is_success() {
            return Err(format!("agent card: HTTP {status}: {}", snippet(&body)));
        }
        let card: Value =
            serde_json::from_slice(&body).map_err(|e| format!("agent card is not JSON: {e}"))?;
        let name = card
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("agent")
            .to_string();
        let streaming = card
            .pointer("/capabilities/streaming")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok((name, streaming))
    }

    /// Sends `prompt`; events go to `events` as they arrive. The returned error (also sent
    /// as `ChatEvent::Error`) explains a failure; `total` bounds the whole exchange.
    pub async fn send(
        &self,
        prompt: &str,
        streaming: bool,
        total: Duration,
        events: &mpsc::Sender<ChatEvent>,
    ) -> Result<(), String> {
        let started = Instant::now();
        let result = tokio::time::timeout(total, self.exchange(prompt, streaming, events)).await;
        let outcome = match result {
            Ok(r) => r,
            Err(_) => Err(format!("no complete answer within {}s", total.as_secs())),
        };
        match &outcome {
            Ok(()) => {
                let _ = events
                    .send(ChatEvent::Done {
                        latency: started.elapsed(),
                    })
                    .await;
            }
            Err(e) => {
                let _ = events.send(ChatEvent::Error(e.clone())).await;
            }
        }
        outcome
    }

    async fn exchange(
        &self,
        prompt: &str,
        streaming: bool,
        events: &mpsc::Sender<ChatEvent>,
    ) -> Result<(), String> {
        let body = self.body(prompt, streaming);
        let resp = self
            .request(self.http.post(&self.endpoint))
            .header(
                "Accept",
                if streaming {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .json(&body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        let is_sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() {
            let body = read_bounded(resp).await.unwrap_or_default();
            return Err(format!(
                "HTTP {status}: {}",
                rpc_error(&body).unwrap_or_else(|| snippet(&body))
            ));
        }
        if is_sse {
            self.read_stream(resp, events).await
        } else {
            let body = read_bounded(resp).await?;
            let envelope: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("reply is not JSON: {e}: {}", snippet(&body)))?;
            let result = result_of(&envelope)?;
            emit_result(result, events).await;
            Ok(())
        }
    }

    fn body(&self, prompt: &str, streaming: bool) -> Value {
        let id = format!(
            "cr-{}",
            std::process::id() as u64 * 1_000_000 + u64::from(rand_u32())
        );
        match self.protocol {
            Protocol::V03 => json!({
                "jsonrpc": "2.0", "id": 1,
                "method": if streaming { "message/stream" } else { "message/send" },
                "params": {"message": {"role": "user", "kind": "message", "messageId": id,
                    "parts": [{"kind": "text", "text": prompt}]}}
            }),
            Protocol::V10 => json!({
                "jsonrpc": "2.0", "id": 1,
                "method": if streaming { "SendStreamingMessage" } else { "SendMessage" },
                "params": {"message": {"role": "ROLE_USER", "messageId": id, "parts": [{"text": prompt}]}}
            }),
        }
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
        events: &mpsc::Sender<ChatEvent>,
    ) -> Result<(), String> {
        let mut stream = resp.bytes_stream();
        let mut buffer: Vec<u8> = Vec::new();
        let mut total = 0usize;
        let mut finished = false;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("stream cut: {}", describe(&e)))?;
            total += chunk.len();
            if total > MAX_REPLY_BYTES {
                return Err(format!(
                    "reply larger than {} MB: cut off",
                    MAX_REPLY_BYTES / (1024 * 1024)
                ));
            }
            buffer.extend_from_slice(&chunk);
            while let Some(end) = event_end(&buffer) {
                let event: Vec<u8> = buffer.drain(..end.1).collect();
                let data = sse_data(&event[..end.0]);
                if data.is_empty() {
                    continue;
                }
                let envelope: Value = serde_json::from_str(&data)
                    .map_err(|e| format!("stream event is not JSON: {e}"))?;
                let result = result_of(&envelope)?;
                if emit_result(result, events).await {
                    finished = true;
                }
            }
        }
        if finished {
            Ok(())
        } else {
            Err("stream ended before the final event (cut off?)".to_string())
        }
    }
}

/// A throwaway message id suffix; uniqueness per process run is all that is needed.
fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// End of the first complete SSE event in `buf`: (end of its text, end including the blank line).
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    for i in 0..buf.len() {
        if buf[i..].starts_with(b"\n\n") {
            return Some((i, i + 2));
        }
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some((i, i + 4));
        }
    }
    None
}

/// The `data:` lines of one SSE event, joined by newlines as the spec says.
fn sse_data(event: &[u8]) -> String {
    String::from_utf8_lossy(event)
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON-RPC result, or the server's error as text.
fn result_of(envelope: &Value) -> Result<&Value, String> {
    if let Some(err) = envelope.get("error") {
        let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("unknown error");
        return Err(format!("agent error {code}: {message}"));
    }
    envelope
        .get("result")
        .ok_or_else(|| "reply has neither result nor error".to_string())
}

fn rpc_error(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    result_of(&v).err()
}

/// Emits what one result carries; true when it is the final event of the task.
async fn emit_result(result: &Value, events: &mpsc::Sender<ChatEvent>) -> bool {
    let kind = result.get("kind").and_then(Value::as_str);
    let mut fin = result
        .get("final")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // 1.0 wraps results by type; 0.3 tags them with `kind`.
    let (kind, body) = match (kind, result) {
        (Some(k), r) => (k.to_string(), r),
        (None, r) if r.get("task").is_some() => ("task".into(), &r["task"]),
        (None, r) if r.get("statusUpdate").is_some() => {
            ("status-update".into(), &r["statusUpdate"])
        }
        (None, r) if r.get("artifactUpdate").is_some() => {
            ("artifact-update".into(), &r["artifactUpdate"])
        }
        (None, r) if r.get("message").is_some() => ("message".into(), &r["message"]),
        (None, r) if r.get("status").is_some() => ("task".into(), r),
        (None, r) => {
            let _ = events.send(ChatEvent::Raw(r.clone())).await;
            return false;
        }
    };
    fin |= body.get("final").and_then(Value::as_bool).unwrap_or(false);
    match kind.as_str() {
        "task" => {
            for m in body
                .get("history")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if is_agent(m) {
                    emit_parts(m.get("parts"), false, author_of(m), events).await;
                }
            }
            for a in body
                .get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                emit_parts(a.get("parts"), false, None, events).await;
            }
            if let Some(state) = state_of(body) {
                fin |= is_terminal(&state);
                let _ = events.send(ChatEvent::State(state)).await;
            }
        }
        "status-update" => {
            if let Some(m) = body.pointer("/status/message") {
                emit_parts(m.get("parts"), false, author_of(m), events).await;
            }
            if let Some(state) = state_of(body) {
                fin |= is_terminal(&state) && body.get("final").is_none();
                let _ = events.send(ChatEvent::State(state)).await;
            }
        }
        "artifact-update" => {
            let append = body.get("append").and_then(Value::as_bool).unwrap_or(false);
            emit_parts(body.pointer("/artifact/parts"), append, None, events).await;
        }
        "message" => {
            emit_parts(body.get("parts"), false, author_of(body), events).await;
            fin = true;
        }
        _ => {
            let _ = events.send(ChatEvent::Raw(body.clone())).await;
        }
    }
    fin
}

fn is_agent(m: &Value) -> bool {
    matches!(
        m.get("role").and_then(Value::as_str),
        Some("agent" | "ROLE_AGENT")
    )
}

fn state_of(v: &Value) -> Option<String> {
    let s = v.pointer("/status/state").and_then(Value::as_str)?;
    Some(
        s.trim_start_matches("TASK_STATE_")
            .to_lowercase()
            .replace('_', "-"),
    )
}

fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "completed" | "failed" | "canceled" | "cancelled" | "rejected" | "input-required"
    )
}

async fn emit_parts(
    parts: Option<&Value>,
    append: bool,
    author: Option<&str>,
    events: &mpsc::Sender<ChatEvent>,
) {
    for part in parts.and_then(Value::as_array).into_iter().flatten() {
        let mut event = part_event(part, append);
        if let ChatEvent::ToolCall {
            author: slot @ None,
            ..
        } = &mut event
        {
            *slot = author.map(str::to_string);
        }
        let _ = events.send(event).await;
    }
}

/// Which agent a message is from, as kagent marks it (`kagent_author` / `adk_author`).
fn author_of(message: &Value) -> Option<&str> {
    message
        .pointer("/metadata/kagent_author")
        .or_else(|| message.pointer("/metadata/adk_author"))
        .and_then(Value::as_str)
}

fn part_event(part: &Value, append: bool) -> ChatEvent {
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        return ChatEvent::Text {
            text: text.to_string(),
            append,
        };
    }
    if let Some(data) = part.get("data") {
        let kind = part
            .pointer("/metadata/kagent_type")
            .or_else(|| part.pointer("/metadata/adk_type"))
            .and_then(Value::as_str);
        let id = data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = data
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match kind {
            Some("function_call") => {
                return ChatEvent::ToolCall {
                    id,
                    name,
                    args: data.get("args").cloned().unwrap_or(Value::Null),
                    author: author_of(part).map(str::to_string),
                };
            }
            Some("function_response") => {
                return ChatEvent::ToolResult {
                    id,
                    name,
                    response: data.get("response").cloned().unwrap_or(Value::Null),
                };
            }
            _ => {}
        }
    }
    ChatEvent::Raw(part.clone())
}

async fn read_bounded(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut stream = resp.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("reply cut: {}", describe(&e)))?;
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(format!(
                "reply larger than {} MB: cut off",
                MAX_REPLY_BYTES / (1024 * 1024)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(160).collect()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".to_string();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{e}: {cause}")
}
