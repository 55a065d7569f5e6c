//! The A2A client against well-behaved and broken agents: every failure is a clear error
//! within the timeout, never a panic or a hang; a recorded real stream folds to one answer.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use control_room::sources::a2a::{A2aClient, ChatEvent, Protocol};
use serde_json::{Value, json};
use tokio::sync::mpsc;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn card(streaming: bool) -> Value {
    json!({"name": "support-bot", "capabilities": {"streaming": streaming}, "url": "x", "version": "1"})
}

fn task_reply(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "task", "id": "t", "contextId": "c",
        "status": {"state": "completed"},
        "history": [{"role": "agent", "kind": "message", "messageId": "m", "parts": [
            {"kind": "data", "data": {"id": "1", "name": "get_balance", "args": {"account_id": "12345"}}, "metadata": {"kagent_type": "function_call"}},
            {"kind": "data", "data": {"id": "1", "name": "get_balance", "response": {"balance": 4287.55}}, "metadata": {"adk_type": "function_response"}},
            {"kind": "file", "file": {"uri": "x"}}
        ]}],
        "artifacts": [{"artifactId": "a", "parts": [{"kind": "text", "text": text}]}]}})
}

async fn run(
    base: &str,
    protocol: Protocol,
    streaming: bool,
    total: Duration,
) -> (Result<(), String>, Vec<ChatEvent>) {
    let client = A2aClient::new(
        base,
        "trustusbank-bank-agents/support-bot",
        protocol,
        Duration::from_secs(5),
    )
    .expect("client");
    let (tx, mut rx) = mpsc::channel(1024);
    let result = client
        .send("I am customer 12345.", streaming, total, &tx)
        .await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (result, events)
}

const AGENT: &str = "/api/a2a/trustusbank-bank-agents/support-bot/";

#[tokio::test]
async fn send_03_gives_text_tool_calls_and_raw_parts() {
    let base = serve(
        Router::new()
            .route(
                &format!("{AGENT}.well-known/agent-card.json"),
                get(|| async { axum::Json(card(false)) }),
            )
            .route(
                AGENT,
                post(|body: axum::Json<Value>| async move {
                    assert_eq!(body["method"], "message/send");
                    axum::Json(task_reply("£4,287.55 ≈ $5,445.19"))
                }),
            ),
    )
    .await;
    let client = A2aClient::new(
        &base,
        "trustusbank-bank-agents/support-bot",
        Protocol::V03,
        Duration::from_secs(5),
    )
    .expect("client");
    assert_eq!(client.card().await, Ok(("support-bot".to_string(), false)));
    let (result, events) = run(&base, Protocol::V03, false, Duration::from_secs(5)).await;
    assert_eq!(result, Ok(()));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ChatEvent::ToolCall { name, .. } if name == "get_balance"))
    );
    assert!(events.iter().any(
        |e| matches!(e, ChatEvent::ToolResult { response, .. } if response["balance"] == 4287.55)
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ChatEvent::Raw(v) if v["kind"] == "file")),
        "unknown parts are kept raw"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ChatEvent::Text { text, .. } if text.contains("4,287.55")))
    );
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
}

#[tokio::test]
async fn send_10_uses_its_method_and_header() {
    let base = serve(Router::new().route(AGENT, post(|headers: HeaderMap, body: axum::Json<Value>| async move {
        if headers.get("a2a-version").and_then(|v| v.to_str().ok()) != Some("1.0") || body["method"] != "SendMessage" {
            return (StatusCode::BAD_REQUEST, "wrong protocol").into_response();
        }
        axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "t", "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"parts": [{"text": "hello from 1.0"}]}]}}}))
        .into_response()
    })))
    .await;
    let (result, events) = run(&base, Protocol::V10, false, Duration::from_secs(5)).await;
    assert_eq!(result, Ok(()), "{events:?}");
    assert!(events.contains(&ChatEvent::Text {
        text: "hello from 1.0".into(),
        append: false
    }));
    assert!(events.contains(&ChatEvent::State("completed".into())));
}

fn sse(events: &[Value], cut_at_end: Option<&str>) -> Response {
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    if let Some(tail) = cut_at_end {
        body.push_str(tail);
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(body))
        .expect("response")
}

#[tokio::test]
async fn stream_delivers_events_in_order_until_final() {
    let base = serve(Router::new().route(AGENT, post(|| async {
        sse(
            &[
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "task", "id": "t", "status": {"state": "submitted"}}}),
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "status-update", "final": false, "status": {"state": "working",
                    "message": {"role": "agent", "parts": [{"kind": "data", "data": {"id": "2", "name": "get_profile", "args": {}}, "metadata": {"kagent_type": "function_call"}}]}}}}),
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "artifact-update", "artifact": {"parts": [{"kind": "text", "text": "£4,287.55"}]}}}),
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "artifact-update", "append": true, "artifact": {"parts": [{"kind": "text", "text": " ≈ $5,445.19"}]}}}),
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "status-update", "final": true, "status": {"state": "completed"}}}),
            ],
            None,
        )
    })))
    .await;
    let (result, events) = run(&base, Protocol::V03, true, Duration::from_secs(5)).await;
    assert_eq!(result, Ok(()), "{events:?}");
    let call = events
        .iter()
        .position(|e| matches!(e, ChatEvent::ToolCall { name, .. } if name == "get_profile"))
        .expect("call");
    let text = events
        .iter()
        .position(|e| matches!(e, ChatEvent::Text { append: false, .. }))
        .expect("text");
    let more = events
        .iter()
        .position(|e| matches!(e, ChatEvent::Text { append: true, .. }))
        .expect("appended text");
    assert!(call < text && text < more);
}

async fn expect_error(app: Router, streaming: bool, want: &str) {
    let base = serve(app).await;
    let started = Instant::now();
    let (result, events) = run(&base, Protocol::V03, streaming, Duration::from_secs(2)).await;
    let err = result.expect_err("must fail");
    assert!(err.contains(want), "error {err:?} lacks {want:?}");
    assert!(
        matches!(events.last(), Some(ChatEvent::Error(e)) if *e == err),
        "the transcript gets the error: {events:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "not within the timeout"
    );
}

#[tokio::test]
async fn garbage_json_is_an_error() {
    expect_error(
        Router::new().route(AGENT, post(|| async { "{not json" })),
        false,
        "not JSON",
    )
    .await;
}

#[tokio::test]
async fn http_500_is_an_error() {
    expect_error(
        Router::new().route(
            AGENT,
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<html>upstream broke</html>",
                )
            }),
        ),
        false,
        "HTTP 500",
    )
    .await;
}

#[tokio::test]
async fn jsonrpc_error_is_an_error() {
    expect_error(
        Router::new().route(AGENT, post(|| async {
            axum::Json(json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}))
        })),
        false,
        "Method not found",
    )
    .await;
}

#[tokio::test]
async fn a_stream_cut_mid_event_is_an_error() {
    expect_error(
        Router::new().route(AGENT, post(|| async {
            sse(
                &[json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "task", "id": "t", "status": {"state": "working"}}})],
                Some("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"res"),
            )
        })),
        true,
        "before the final event",
    )
    .await;
}

#[tokio::test]
async fn a_10_mb_reply_is_cut_off() {
    expect_error(
        Router::new().route(AGENT, post(|| async {
            let text = "x".repeat(10 * 1024 * 1024);
            axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "message", "parts": [{"kind": "text", "text": text}]}}))
        })),
        false,
        "larger than",
    )
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    expect_error(
        Router::new().route(
            AGENT,
            post(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        ),
        false,
        "within 2s",
    )
    .await;
}

/// kagent-adk 0.10.4's recorded stream (tests/agents/record-fixtures.sh), served as it
/// came: the client reads the prompt echo, the partial chunks, the whole message and the
/// artifact, and passes the answer on once.
#[tokio::test]
async fn kagent_recorded_stream_gives_the_answer_once() {
    const CARD: &str = include_str!("../fixtures/a2a/kagent-adk-0.10.4/card.json");
    const STREAM: &str = include_str!("../fixtures/a2a/kagent-adk-0.10.4/stream.sse");
    let base = serve(
        Router::new()
            .route(
                &format!("{AGENT}.well-known/agent-card.json"),
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], CARD) }),
            )
            .route(
                AGENT,
                post(|| async {
                    Response::builder()
                        .header(header::CONTENT_TYPE, "text/event-stream")
                        .body(Body::from(STREAM))
                        .expect("response")
                }),
            ),
    )
    .await;
    let client = A2aClient::new(
        &base,
        "trustusbank-bank-agents/support-bot",
        Protocol::V03,
        Duration::from_secs(5),
    )
    .expect("client");
    assert_eq!(client.card().await, Ok(("support-bot".to_string(), true)));
    let (result, events) = run(&base, Protocol::V03, true, Duration::from_secs(5)).await;
    assert_eq!(result, Ok(()), "{events:?}");
    let mut reply = String::new();
    for e in &events {
        if let ChatEvent::Text { text, append } = e {
            if !append && !reply.is_empty() {
                reply.push('\n');
            }
            reply.push_str(text);
        }
    }
    assert_eq!(reply, "£4,287.55 ≈ $5,445.19 at today's rate of 1.27.");
    let calls = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCall { author: Some(a), .. } if a == "support_bot"))
        .count();
    assert_eq!(calls, 3, "{events:?}");
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
}
