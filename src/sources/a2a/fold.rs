//! Folds one exchange's A2A results into chat events, so the transcript shows each thing the
//! agent said once, in the order it said it.
//!
//! Real servers say things more than once. kagent-adk (0.10.4) opens a stream with the
//! customer's own message (role `user`), streams the answer as partial messages
//! (`kagent_adk_partial: true`), sends the whole answer again, then once more as an artifact;
//! its `message/send` Task holds the prompt twice, every partial, the whole answer and the
//! artifact. a2a-sdk servers stream an artifact in chunks (`append`, `lastChunk`) and fold
//! them into one artifact of many text parts for `message/send`. The rules, for 0.3 and 1.0:
//!
//! - only agent messages (and artifacts, the agent's output) are reply text: never the prompt;
//! - one message or artifact is one paragraph, its text parts joined as they were split;
//! - a partial message or an appended artifact chunk extends the paragraph it streams into;
//! - a whole message or artifact that repeats a paragraph already shown shows nothing, and
//!   one that completes the paragraph being streamed shows only what was missing;
//! - a tool call or result (kagent data parts) counts once per call id, wherever it appears.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::ChatEvent;

/// Where streamed text comes from: a run of partial messages, or one artifact's chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Partial,
    Artifact(String),
}

/// The text being streamed right now.
#[derive(Debug)]
struct Open {
    key: Key,
    /// Everything this stream said so far.
    text: String,
    /// So far it only repeats a paragraph already shown, so it shows nothing.
    shadow: bool,
}

/// One exchange's state: what was shown, and what is streaming.
#[derive(Debug, Default)]
pub(super) struct Fold {
    /// The reply's paragraphs so far, as the transcript holds them.
    shown: Vec<String>,
    open: Option<Open>,
    /// Artifact id → the text of its chunks so far.
    artifacts: HashMap<String, String>,
    /// Tool calls, results and raw parts already passed on.
    seen: HashSet<String>,
}

impl Fold {
    /// The events one JSON-RPC `result` carries, and whether it ends the task.
    pub(super) fn result(&mut self, result: &Value) -> (Vec<ChatEvent>, bool) {
        let mut out = Vec::new();
        let fin = self.fold(result, &mut out);
        (out, fin)
    }

    fn fold(&mut self, result: &Value, out: &mut Vec<ChatEvent>) -> bool {
        let mut fin = flag(result, "final");
        // 1.0 wraps results by type; 0.3 tags them with `kind`.
        let (kind, body) = match result.get("kind").and_then(Value::as_str) {
            Some(kind) => (kind, result),
            None => match ["task", "statusUpdate", "artifactUpdate", "message"]
                .into_iter()
                .find_map(|k| result.get(k).map(|body| (k, body)))
            {
                Some(("statusUpdate", body)) => ("status-update", body),
                Some(("artifactUpdate", body)) => ("artifact-update", body),
                Some((kind, body)) => (kind, body),
                None if result.get("status").is_some() => ("task", result),
                None => {
                    self.raw(result, out);
                    return false;
                }
            },
        };
        fin |= flag(body, "final");
        let event_meta = body.get("metadata");
        match kind {
            "task" => {
                for m in body
                    .get("history")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.message(m, event_meta, out);
                }
                if let Some(m) = body.pointer("/status/message") {
                    self.message(m, event_meta, out);
                }
                for a in body
                    .get("artifacts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.artifact(a, false, true, out);
                }
                if let Some(state) = state_of(body) {
                    fin |= is_terminal(&state);
                    out.push(ChatEvent::State(state));
                }
            }
            "status-update" => {
                if let Some(m) = body.pointer("/status/message") {
                    self.message(m, event_meta, out);
                }
                if let Some(state) = state_of(body) {
                    // 1.0 has no `final`: the terminal state ends the stream.
                    fin |= is_terminal(&state) && body.get("final").is_none();
                    out.push(ChatEvent::State(state));
                }
            }
            "artifact-update" => {
                if let Some(a) = body.get("artifact") {
                    self.artifact(a, flag(body, "append"), flag(body, "lastChunk"), out);
                }
            }
            "message" => {
                self.message(body, event_meta, out);
                fin = true;
            }
            _ => self.raw(body, out),
        }
        fin
    }

    /// One message: its tool parts always, its text only when the agent said it.
    fn message(&mut self, m: &Value, event_meta: Option<&Value>, out: &mut Vec<ChatEvent>) {
        let from_agent = !matches!(
            m.get("role").and_then(Value::as_str),
            Some("user" | "ROLE_USER")
        );
        let author = author_in(m.get("metadata")).or_else(|| author_in(event_meta));
        let text = self.parts(m.get("parts"), author, from_agent, out);
        let Some(text) = text.filter(|_| from_agent) else {
            return;
        };
        let partial = is_partial(m.get("metadata")) || is_partial(event_meta);
        if partial {
            let starts = !matches!(&self.open, Some(o) if o.key == Key::Partial);
            let so_far = if starts {
                text.clone()
            } else {
                self.open
                    .as_ref()
                    .map(|o| format!("{}{text}", o.text))
                    .unwrap_or_default()
            };
            self.stream(Key::Partial, so_far, &text, starts, out);
        } else {
            self.whole(&text, out);
        }
    }

    /// One artifact (or a chunk of one): the agent's output, so its text is reply text.
    fn artifact(&mut self, a: &Value, append: bool, last: bool, out: &mut Vec<ChatEvent>) {
        let text = self.parts(a.get("parts"), author_in(a.get("metadata")), true, out);
        let id = a
            .get("artifactId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let key = Key::Artifact(id.clone());
        let chunk = text.unwrap_or_default();
        if !append && last {
            self.artifacts.remove(&id);
            if self.open.as_ref().is_some_and(|o| o.key == key) {
                self.open = None;
            }
            if !chunk.is_empty() {
                self.whole(&chunk, out);
            }
            return;
        }
        let so_far = self.artifacts.entry(id.clone()).or_default();
        if !append {
            so_far.clear();
        }
        so_far.push_str(&chunk);
        let so_far = so_far.clone();
        let starts = !append || !self.open.as_ref().is_some_and(|o| o.key == key);
        if !chunk.is_empty() || starts {
            self.stream(key.clone(), so_far, &chunk, starts, out);
        }
        if last {
            self.artifacts.remove(&id);
            if self.open.as_ref().is_some_and(|o| o.key == key) {
                self.open = None;
            }
        }
    }

    /// Streamed text: `so_far` is all that stream said, `delta` the newest piece of it.
    fn stream(
        &mut self,
        key: Key,
        so_far: String,
        delta: &str,
        starts: bool,
        out: &mut Vec<ChatEvent>,
    ) {
        if starts || self.open.is_none() {
            self.open = None;
            if so_far.is_empty() {
                return;
            }
            let shadow = self.shown.iter().any(|p| p.starts_with(&so_far));
            if !shadow {
                self.push_paragraph(&so_far, out);
            }
            self.open = Some(Open {
                key,
                text: so_far,
                shadow,
            });
            return;
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.text = so_far;
        if !open.shadow {
            if let Some(last) = self.shown.last_mut() {
                last.push_str(delta);
            }
            if !delta.is_empty() {
                out.push(ChatEvent::Text {
                    text: delta.to_string(),
                    append: true,
                });
            }
            return;
        }
        // A repeat so far: it shows something only once it says more than what was shown.
        if self.shown.iter().any(|p| p.starts_with(&open.text)) {
            return;
        }
        open.shadow = false;
        let text = open.text.clone();
        match self.shown.last_mut() {
            Some(last) if text.starts_with(last.as_str()) => {
                let rest = text[last.len()..].to_string();
                *last = text;
                out.push(ChatEvent::Text {
                    text: rest,
                    append: true,
                });
            }
            _ => self.push_paragraph(&text, out),
        }
    }

    /// A whole message or artifact: it ends any stream, and shows only what is new.
    fn whole(&mut self, text: &str, out: &mut Vec<ChatEvent>) {
        let open = self.open.take();
        if text.trim().is_empty() {
            return;
        }
        if let Some(open) = open.filter(|o| !o.shadow)
            && let Some(last) = self.shown.last_mut()
            && *last == open.text
            && text.starts_with(last.as_str())
        {
            // The whole text of what was streaming: only what the chunks left out is new.
            let rest = text[last.len()..].to_string();
            *last = text.to_string();
            if !rest.is_empty() {
                out.push(ChatEvent::Text {
                    text: rest,
                    append: true,
                });
            }
            return;
        }
        if self.shown.iter().any(|p| p.trim() == text.trim()) {
            return;
        }
        self.push_paragraph(text, out);
    }

    fn push_paragraph(&mut self, text: &str, out: &mut Vec<ChatEvent>) {
        self.shown.push(text.to_string());
        out.push(ChatEvent::Text {
            text: text.to_string(),
            append: false,
        });
    }

    /// Passes on the tool and unknown parts (once each) and returns the text parts joined, if
    /// any. Other parts of a message that is not the agent's are not the reply: dropped.
    fn parts(
        &mut self,
        parts: Option<&Value>,
        author: Option<&str>,
        from_agent: bool,
        out: &mut Vec<ChatEvent>,
    ) -> Option<String> {
        let mut text: Option<String> = None;
        for part in parts.and_then(Value::as_array).into_iter().flatten() {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                text.get_or_insert_with(String::new).push_str(t);
                continue;
            }
            match tool_event(part, author) {
                Some(event) if self.first_time(&event) => out.push(event),
                Some(_) => {}
                None if from_agent => self.raw(part, out),
                None => {}
            }
        }
        text
    }

    fn raw(&mut self, value: &Value, out: &mut Vec<ChatEvent>) {
        let event = ChatEvent::Raw(value.clone());
        if self.first_time(&event) {
            out.push(event);
        }
    }

    /// True the first time this call, result or raw part comes by in the exchange.
    fn first_time(&mut self, event: &ChatEvent) -> bool {
        let key = match event {
            ChatEvent::ToolCall { id, name, args, .. } if id.is_empty() => {
                format!("call\0{name}\0{args}")
            }
            ChatEvent::ToolCall { id, .. } => format!("call\0{id}"),
            ChatEvent::ToolResult { id, name, response } if id.is_empty() => {
                format!("result\0{name}\0{response}")
            }
            ChatEvent::ToolResult { id, .. } => format!("result\0{id}"),
            ChatEvent::Raw(v) => format!("raw\0{v}"),
            _ => return true,
        };
        self.seen.insert(key)
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// kagent marks streamed chunks `kagent_adk_partial` (newer: `adk_partial`).
fn is_partial(metadata: Option<&Value>) -> bool {
    metadata.is_some_and(|m| flag(m, "kagent_adk_partial") || flag(m, "adk_partial"))
}

/// Which agent said it, as kagent marks it (`kagent_author` / `adk_author`).
fn author_in(metadata: Option<&Value>) -> Option<&str> {
    let m = metadata?;
    m.get("kagent_author")
        .or_else(|| m.get("adk_author"))
        .and_then(Value::as_str)
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

/// A kagent tool call or result (`kagent_type`, newer `adk_type`), or `None`.
fn tool_event(part: &Value, author: Option<&str>) -> Option<ChatEvent> {
    let data = part.get("data")?;
    let kind = part
        .pointer("/metadata/kagent_type")
        .or_else(|| part.pointer("/metadata/adk_type"))
        .and_then(Value::as_str)?;
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match kind {
        "function_call" => Some(ChatEvent::ToolCall {
            id: text("id"),
            name: text("name"),
            args: data.get("args").cloned().unwrap_or(Value::Null),
            author: author_in(part.get("metadata"))
                .or(author)
                .map(str::to_string),
        }),
        "function_response" => Some(ChatEvent::ToolResult {
            id: text("id"),
            name: text("name"),
            response: data.get("response").cloned().unwrap_or(Value::Null),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! Recorded answers of the real servers (`tests/agents/record-fixtures.sh`), folded.

    use serde_json::json;

    use super::*;

    const PROMPT: &str = "I am customer 12345. Please check my balance, list my recent transactions, and convert my balance to USD.";
    const REPLY: &str = "£4,287.55 ≈ $5,445.19 at today's rate of 1.27.";

    /// A recorded `message/stream` body, folded event by event as the client reads it.
    fn fold_sse(body: &str) -> Vec<ChatEvent> {
        let mut buf = body.as_bytes().to_vec();
        let mut fold = Fold::default();
        let mut events = Vec::new();
        let mut finished = false;
        while let Some((text_end, end)) = super::super::event_end(&buf) {
            let event: Vec<u8> = buf.drain(..end).collect();
            let data = super::super::sse_data(&event[..text_end]);
            if data.is_empty() {
                continue;
            }
            let envelope: Value = serde_json::from_str(&data).expect("recorded JSON");
            let result = super::super::result_of(&envelope).expect("a result");
            assert!(!finished, "nothing after the final event");
            let (folded, fin) = fold.result(result);
            events.extend(folded);
            finished |= fin;
        }
        assert!(finished, "the recording ends with the final event");
        events
    }

    fn fold_send(body: &str) -> Vec<ChatEvent> {
        let envelope: Value = serde_json::from_str(body).expect("recorded JSON");
        let result = super::super::result_of(&envelope).expect("a result");
        let (events, fin) = Fold::default().result(result);
        assert!(fin, "a completed task");
        events
    }

    /// The reply as the transcript holds it: `update` appends or starts a new line.
    fn transcript(events: &[ChatEvent]) -> String {
        let mut text = String::new();
        for e in events {
            if let ChatEvent::Text { text: t, append } = e {
                if !append && !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(t);
            }
        }
        text
    }

    /// (name, author) of each call, and the name of each result, in order.
    fn tools(events: &[ChatEvent]) -> (Vec<(String, Option<String>)>, Vec<String>) {
        let mut calls = Vec::new();
        let mut results = Vec::new();
        for e in events {
            match e {
                ChatEvent::ToolCall { name, author, .. } => {
                    calls.push((name.clone(), author.clone()))
                }
                ChatEvent::ToolResult { name, .. } => results.push(name.clone()),
                _ => {}
            }
        }
        (calls, results)
    }

    fn assert_walkthrough(events: &[ChatEvent], author: &str) {
        assert_eq!(transcript(events), REPLY, "{events:#?}");
        assert!(
            !events.iter().any(
                |e| matches!(e, ChatEvent::Text { text, .. } if text.contains("customer 12345"))
            ),
            "the prompt is not a reply"
        );
        let (calls, results) = tools(events);
        let names = ["get_balance", "list_recent", "convert_currency"];
        assert_eq!(
            calls,
            names.map(|n| (n.to_string(), Some(author.to_string()))),
            "each call once, with its author"
        );
        assert_eq!(results, names, "each result once");
        assert!(
            !events.iter().any(|e| matches!(e, ChatEvent::Raw(_))),
            "nothing unknown: {events:#?}"
        );
        let converted = events.iter().find_map(|e| match e {
            ChatEvent::ToolResult { name, response, .. } if name == "convert_currency" => {
                Some(response.clone())
            }
            _ => None,
        });
        assert_eq!(
            converted.and_then(|r| r["converted"].as_f64()),
            Some(5445.19)
        );
    }

    #[test]
    fn kagent_stream_shows_the_answer_once_and_never_the_prompt() {
        let events = fold_sse(include_str!(
            "../../../tests/fixtures/a2a/kagent-adk-0.10.4/stream.sse"
        ));
        assert_walkthrough(&events, "support_bot");
        // The partial chunks stream into one paragraph: the first starts it, the rest extend it.
        let texts: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::Text { text, append } => Some((text.as_str(), *append)),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                ("£4,287.55", false),
                (" ≈ $5,445.19", true),
                (" at today's rate", true),
                (" of 1.27.", true)
            ]
        );
    }

    #[test]
    fn kagent_send_shows_the_answer_once() {
        // A streaming kagent agent asked with message/send: the Task's history holds the
        // prompt twice, every partial chunk and the whole answer; its artifact the answer again.
        let events = fold_send(include_str!(
            "../../../tests/fixtures/a2a/kagent-adk-0.10.4/send.json"
        ));
        assert_walkthrough(&events, "support_bot");
        let events = fold_send(include_str!(
            "../../../tests/fixtures/a2a/kagent-adk-0.10.4-no-stream/send.json"
        ));
        assert_walkthrough(&events, "support_bot");
    }

    #[test]
    fn a2a_sdk_03_stream_and_send() {
        let events = fold_sse(include_str!(
            "../../../tests/fixtures/a2a/a2a-sdk-0.3.26/stream.sse"
        ));
        assert_walkthrough(&events, "support-bot");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, ChatEvent::Text { append: true, .. }))
                .count(),
            3,
            "three appended artifact chunks"
        );
        // message/send folds the chunks into one artifact of four text parts: one paragraph.
        let events = fold_send(include_str!(
            "../../../tests/fixtures/a2a/a2a-sdk-0.3.26/send.json"
        ));
        assert_walkthrough(&events, "support-bot");
    }

    #[test]
    fn a2a_sdk_10_stream_and_send() {
        let events = fold_sse(include_str!(
            "../../../tests/fixtures/a2a/a2a-sdk-1.3.0/stream.sse"
        ));
        assert_walkthrough(&events, "support-bot");
        assert_eq!(events.last(), Some(&ChatEvent::State("completed".into())));
        let events = fold_send(include_str!(
            "../../../tests/fixtures/a2a/a2a-sdk-1.3.0/send.json"
        ));
        assert_walkthrough(&events, "support-bot");
    }

    fn folded(results: &[Value]) -> Vec<ChatEvent> {
        let mut fold = Fold::default();
        results.iter().flat_map(|r| fold.result(r).0).collect()
    }

    fn agent(text: &str, partial: bool) -> Value {
        json!({"kind": "status-update", "status": {"state": "working", "message": {
            "role": "agent", "parts": [{"kind": "text", "text": text}],
            "metadata": {"kagent_adk_partial": partial}}}})
    }

    fn chunk(id: &str, text: &str, append: bool, last: bool) -> Value {
        json!({"kind": "artifact-update", "append": append, "lastChunk": last,
            "artifact": {"artifactId": id, "parts": [{"kind": "text", "text": text}]}})
    }

    #[test]
    fn a_whole_message_completes_what_the_chunks_left_out() {
        let events = folded(&[
            agent("£4,287.55", true),
            agent(" ≈ $5,445.19", true),
            agent(REPLY, false),
        ]);
        assert_eq!(transcript(&events), REPLY);
        assert_eq!(
            events.iter().rfind(|e| matches!(e, ChatEvent::Text { .. })),
            Some(&ChatEvent::Text {
                text: " at today's rate of 1.27.".into(),
                append: true
            })
        );
    }

    #[test]
    fn a_streamed_artifact_that_repeats_the_answer_shows_only_what_is_new() {
        // The answer as a message, then an artifact streaming the same text and then more.
        let events = folded(&[
            agent(REPLY, false),
            chunk("a", "£4,287.55", false, false),
            chunk("a", " ≈ $5,445.19 at today's rate of 1.27.", true, false),
            chunk("a", " Anything else?", true, true),
        ]);
        assert_eq!(transcript(&events), format!("{REPLY} Anything else?"));
        // A different answer is a paragraph of its own; its repeat is not.
        let events = folded(&[
            agent("First.", false),
            chunk("b", "Second.", false, true),
            agent("First.", false),
            chunk("c", "Second.", false, false),
        ]);
        assert_eq!(transcript(&events), "First.\nSecond.");
    }

    #[test]
    fn what_the_customer_said_is_never_the_reply() {
        let events = folded(&[
            json!({"kind": "status-update", "status": {"state": "submitted", "message": {
                "role": "user", "parts": [{"kind": "text", "text": PROMPT}, {"kind": "file", "file": {"uri": "x"}}]}}}),
            json!({"statusUpdate": {"status": {"state": "TASK_STATE_WORKING", "message": {
                "role": "ROLE_USER", "parts": [{"text": PROMPT}]}}}}),
            json!({"kind": "message", "role": "agent", "parts": [{"kind": "text", "text": "Hello"}]}),
        ]);
        assert_eq!(transcript(&events), "Hello");
        assert!(!events.iter().any(|e| matches!(e, ChatEvent::Raw(_))));
    }

    #[test]
    fn calls_results_and_unknown_parts_count_once() {
        let call = json!({"kind": "data", "data": {"id": "c1", "name": "get_profile", "args": {}},
            "metadata": {"adk_type": "function_call"}});
        let file = json!({"kind": "file", "file": {"uri": "x"}});
        let message = json!({"role": "agent", "parts": [call, file],
            "metadata": {"adk_author": "support-bot"}});
        let events = folded(&[
            json!({"kind": "status-update", "status": {"state": "working", "message": message}}),
            json!({"kind": "task", "status": {"state": "completed", "message": message},
                "history": [message]}),
        ]);
        let (calls, _) = tools(&events);
        assert_eq!(
            calls,
            [("get_profile".to_string(), Some("support-bot".to_string()))]
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, ChatEvent::Raw(_)))
                .count(),
            1
        );
        // The author on the event when the message has none (kagent puts it on both).
        let events = folded(&[
            json!({"kind": "status-update", "metadata": {"kagent_author": "fraud-bot"},
            "status": {"state": "working", "message": {"role": "agent", "parts": [
                {"kind": "data", "data": {"id": "c2", "name": "get_details", "args": {}},
                 "metadata": {"kagent_type": "function_call"}}]}}}),
        ]);
        assert_eq!(tools(&events).0[0].1.as_deref(), Some("fraud-bot"));
    }
}
