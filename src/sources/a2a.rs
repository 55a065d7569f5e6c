//! A2A (Agent2Agent) JSON-RPC client for the chatbot's proxy route: fetches the agent card,
//! sends a prompt with `message/stream` (SSE) when the agent streams, else `message/send`,
//! and turns what comes back — text, tool calls and results (kagent data parts), status —
//! into `ChatEvent`s as they arrive ([`fold`] says each thing once). Protocol 0.3 by default,
//! 1.0 on request. Every answer is untrusted: bounded in size and time, malformed pieces
//! become errors or raw events, never panics.

mod fold;

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
            let (folded, _) = fold::Fold::default().result(result);
            send_all(folded, events).await;
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
        // One fold for the whole stream: it knows what the transcript already shows.
        let mut fold = fold::Fold::default();
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
                let (folded, fin) = fold.result(result);
                send_all(folded, events).await;
                finished |= fin;
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

async fn send_all(folded: Vec<ChatEvent>, events: &mpsc::Sender<ChatEvent>) {
    for event in folded {
        let _ = events.send(event).await;
    }
}

fn rpc_error(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    result_of(&v).err()
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
