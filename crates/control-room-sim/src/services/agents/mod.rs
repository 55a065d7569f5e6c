//! The simulated kagent agents behind the chatbot's A2A relay
//! (`POST /api/a2a/<namespace>/<agent>/`): A2A JSON-RPC 0.3 (`message/send`,
//! `message/stream`) and 1.0 (`SendMessage`, `SendStreamingMessage`, chosen by the
//! `A2A-Version: 1.0` header), with kagent's function_call / function_response data parts.
//! The turn itself is [`model::run`].

pub mod model;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Services;
use super::common::json as json_response;

/// The agents that exist, as `(namespace, name, description)`.
const AGENTS: &[(&str, &str, &str)] = &[
    (
        "trustusbank-bank-agents",
        "support-bot",
        "TrustUsBank's front-line customer support assistant: balances, recent transactions, currency conversion; hands unrecognised transactions to fraud-bot.",
    ),
    (
        "trustusbank-bank-agents",
        "fraud-bot",
        "Scores disputed transactions with transaction-mcp and escalates high-risk ones to triage-bot.",
    ),
    (
        "trustusbank-bank-agents",
        "triage-bot",
        "Opens fraud tickets and notifies the fraud team.",
    ),
];

fn find(
    namespace: &str,
    agent: &str,
) -> Option<&'static (&'static str, &'static str, &'static str)> {
    AGENTS
        .iter()
        .find(|(ns, name, _)| *ns == namespace && *name == agent)
}

/// Whether the agent exists (and has a Service on bank to be called through).
pub fn exists(namespace: &str, agent: &str) -> bool {
    find(namespace, agent).is_some()
}

fn not_found(namespace: &str, agent: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"error": format!("agent {namespace}/{agent} not found")}),
    )
}

/// `GET /api/a2a/<ns>/<agent>/.well-known/agent-card.json`: the 0.3 agent card.
pub fn agent_card(services: &Services, namespace: &str, agent: &str) -> Response {
    let Some((_, name, description)) = find(namespace, agent) else {
        return not_found(namespace, agent);
    };
    let skills = match *name {
        "support-bot" => json!([
            {"id": "balance", "name": "Check balance", "description": "account-mcp get_balance", "tags": ["banking"]},
            {"id": "transactions", "name": "Recent transactions", "description": "transaction-mcp list_recent", "tags": ["banking"]},
            {"id": "convert", "name": "Convert currency", "description": model::convert_currency_description(services), "tags": ["fx"]},
        ]),
        "fraud-bot" => {
            json!([{"id": "fraud-score", "name": "Score a transaction", "description": "transaction-mcp get_details risk score", "tags": ["fraud"]}])
        }
        _ => {
            json!([{"id": "ticket", "name": "Open a ticket", "description": "ticket-mcp create_ticket, notify_human", "tags": ["fraud"]}])
        }
    };
    json_response(
        StatusCode::OK,
        &json!({
            "name": name,
            "description": description,
            "url": format!("http://localhost/api/a2a/{namespace}/{name}/"),
            "version": "0.1.0",
            "protocolVersion": "0.3.0",
            "capabilities": {"streaming": true, "pushNotifications": false, "stateTransitionHistory": true},
            "defaultInputModes": ["text"],
            "defaultOutputModes": ["text"],
            "skills": skills,
        }),
    )
}

/// Which protocol shapes to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    V03,
    V10,
}

impl Proto {
    fn role(self, agent: bool) -> &'static str {
        match (self, agent) {
            (Self::V03, false) => "user",
            (Self::V03, true) => "agent",
            (Self::V10, false) => "ROLE_USER",
            (Self::V10, true) => "ROLE_AGENT",
        }
    }

    fn state(self, state: &str) -> String {
        match self {
            Self::V03 => state.into(),
            Self::V10 => format!("TASK_STATE_{}", state.to_uppercase().replace('-', "_")),
        }
    }

    fn text(self, text: &str) -> Value {
        match self {
            Self::V03 => json!({"kind": "text", "text": text}),
            Self::V10 => json!({"text": text}),
        }
    }

    fn data(self, data: Value, kagent_type: &str) -> Value {
        let mut part = json!({"data": data, "metadata": {"kagent_type": kagent_type}});
        if self == Self::V03 {
            part["kind"] = json!("data");
        }
        part
    }
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

/// `POST /api/a2a/<ns>/<agent>/`.
pub fn handle(
    services: &Services,
    namespace: &str,
    agent: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if find(namespace, agent).is_none() {
        return not_found(namespace, agent);
    }
    let proto = match headers.get("a2a-version").and_then(|v| v.to_str().ok()) {
        Some(v) if v.trim().starts_with('1') => Proto::V10,
        _ => Proto::V03,
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return rpc_error(&Value::Null, -32700, "Parse error");
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let stream = match (proto, method) {
        (Proto::V03, "message/send") | (Proto::V10, "SendMessage") => false,
        (Proto::V03, "message/stream") | (Proto::V10, "SendStreamingMessage") => true,
        _ => return rpc_error(&id, -32601, &format!("Method not found: {method}")),
    };
    let Some(message) = request.pointer("/params/message") else {
        return rpc_error(&id, -32602, "Invalid params: params.message is required");
    };
    let prompt: String = message
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let context_id = message
        .get("contextId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("ctx-{}", next_id()));
    let task_id = format!("task-{}", next_id());
    let run = model::run(services, agent, &prompt);
    let t = Transcript {
        proto,
        task_id,
        context_id,
        user: user_message(proto, message, &prompt),
    };
    if stream {
        let events = t.events(&run);
        let mut out = String::new();
        for event in events {
            let doc = json!({"jsonrpc": "2.0", "id": id, "result": event});
            out.push_str(&format!("data: {doc}\n\n"));
        }
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            out,
        )
            .into_response()
    } else {
        let task = t.task(&run);
        let result = match proto {
            Proto::V03 => task,
            Proto::V10 => json!({"task": task}),
        };
        json_response(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "id": id, "result": result}),
        )
    }
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn user_message(proto: Proto, message: &Value, prompt: &str) -> Value {
    let mut m = json!({
        "role": proto.role(false),
        "parts": [proto.text(prompt)],
        "messageId": message.get("messageId").cloned().unwrap_or_else(|| json!(format!("msg-{}", next_id()))),
    });
    if proto == Proto::V03 {
        m["kind"] = json!("message");
    }
    m
}

struct Transcript {
    proto: Proto,
    task_id: String,
    context_id: String,
    user: Value,
}

impl Transcript {
    fn message(&self, n: usize, parts: Vec<Value>) -> Value {
        let mut m = json!({
            "role": self.proto.role(true),
            "parts": parts,
            "messageId": format!("{}-msg-{n}", self.task_id),
            "taskId": self.task_id,
            "contextId": self.context_id,
        });
        if self.proto == Proto::V03 {
            m["kind"] = json!("message");
        }
        m
    }

    /// The agent's messages: one function_call and one function_response per step.
    fn tool_messages(&self, run: &model::Run) -> Vec<Value> {
        let mut out = Vec::new();
        for step in &run.steps {
            let n = out.len();
            out.push(self.message(
                n,
                vec![self.proto.data(
                    json!({"id": step.id, "name": step.name, "args": step.args}),
                    "function_call",
                )],
            ));
            out[n]["metadata"] = json!({"kagent_author": step.agent});
            out.push(self.message(
                n + 1,
                vec![self.proto.data(
                    json!({"id": step.id, "name": step.name, "response": step.response}),
                    "function_response",
                )],
            ));
        }
        out
    }

    fn artifact(&self, run: &model::Run) -> Value {
        json!({"artifactId": format!("{}-artifact", self.task_id), "parts": [self.proto.text(&run.reply)]})
    }

    fn task(&self, run: &model::Run) -> Value {
        let mut history = vec![self.user.clone()];
        history.extend(self.tool_messages(run));
        let reply = self.message(history.len(), vec![self.proto.text(&run.reply)]);
        history.push(reply.clone());
        let mut task = json!({
            "id": self.task_id,
            "contextId": self.context_id,
            "status": {"state": self.proto.state("completed"), "message": reply, "timestamp": chrono::Utc::now().to_rfc3339()},
            "artifacts": [self.artifact(run)],
            "history": history,
        });
        if self.proto == Proto::V03 {
            task["kind"] = json!("task");
        }
        task
    }

    fn status_update(&self, state: &str, message: Option<Value>, fin: bool) -> Value {
        let mut status =
            json!({"state": self.proto.state(state), "timestamp": chrono::Utc::now().to_rfc3339()});
        if let Some(m) = message {
            status["message"] = m;
        }
        let body = json!({"taskId": self.task_id, "contextId": self.context_id, "status": status, "final": fin});
        match self.proto {
            Proto::V03 => {
                let mut b = body;
                b["kind"] = json!("status-update");
                b
            }
            Proto::V10 => json!({"statusUpdate": body}),
        }
    }

    fn events(&self, run: &model::Run) -> Vec<Value> {
        let mut first = json!({
            "id": self.task_id,
            "contextId": self.context_id,
            "status": {"state": self.proto.state("submitted")},
            "history": [self.user],
        });
        let mut events = Vec::new();
        match self.proto {
            Proto::V03 => {
                first["kind"] = json!("task");
                events.push(first);
            }
            Proto::V10 => events.push(json!({"task": first})),
        }
        events.push(self.status_update("working", None, false));
        for m in self.tool_messages(run) {
            events.push(self.status_update("working", Some(m), false));
        }
        let artifact = json!({"taskId": self.task_id, "contextId": self.context_id,
            "artifact": self.artifact(run), "append": false, "lastChunk": true});
        events.push(match self.proto {
            Proto::V03 => {
                let mut a = artifact;
                a["kind"] = json!("artifact-update");
                a
            }
            Proto::V10 => json!({"artifactUpdate": artifact}),
        });
        events.push(self.status_update("completed", None, true));
        events
    }
}
