//! Text from the wire is inert in everything the headless commands print: an agent's reply,
//! an API server's error, a script's output — carrying OSC 52 (a clipboard write), CSI
//! (cursor moves that hide lines), DEL and an 8-bit CSI — reaches stdout only as visible
//! marks, and `--json` escapes DEL and C1 too.

use axum::Router;
use axum::routing::{any, get};

/// What a poisoned tool or a hostile server would send.
const POISON: &str = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2A\u{1b}[2Khidden\u{7f}\u{9b}31mred";

use crate::support::command;

/// Nothing a terminal would act on: no ESC, no other C0 but newline and tab, no DEL, no C1.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n' && *c != '\t') || *c == '\u{7f}')
        .collect();
    assert!(
        bad.is_empty(),
        "{what} printed control characters {bad:?}:\n{text}"
    );
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_agent_reply_is_printed_inert() {
    let card = || async {
        axum::Json(
            serde_json::json!({"name": format!("evil{POISON}bot"), "capabilities": {"streaming": false}}),
        )
    };
    let reply = || async {
        axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {
            "kind": "message", "role": "agent", "messageId": "m1",
            "parts": [{"kind": "text", "text": format!("£4,287.55 {POISON}")}]}}))
    };
    let url = serve(
        Router::new()
            .route("/api/a2a/ns/bot/.well-known/agent-card.json", get(card))
            .route("/api/a2a/ns/bot/", any(reply)),
    )
    .await;
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[chat]\nforward = \"agent\"\nagent = \"ns/bot\"\n\n[[forward]]\nname = \"agent\"\ncluster = \"edge\"\nnamespace = \"ns\"\nport = 80\nurl = \"{url}\"\n"
        ),
    )
    .expect("config");
    for json in [false, true] {
        let mut cmd = command(home.path());
        cmd.args(["chat", "--sim", "--config"])
            .arg(&config)
            .arg("balance?");
        if json {
            cmd.arg("--json");
        }
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("joined")
            .expect("chat runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_inert("chat stdout", &out.stdout);
        assert_inert("chat stderr", &out.stderr);
        let text = String::from_utf8_lossy(&out.stdout);
        if json {
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(
                v["reply"].as_str(),
                Some(format!("£4,287.55 {POISON}").as_str()),
                "--json keeps the text exact, escaped"
            );
            assert!(
                text.contains("\\u007f") && text.contains("\\u009b"),
                "{text}"
            );
        } else {
            assert!(text.contains("£4,287.55 ␛␛␛hidden␡␛red"), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_api_servers_errors_are_printed_inert() {
    let status = || async {
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": format!("etcd {POISON}"), "reason": "InternalError", "code": 500}),
            ),
        )
    };
    let url = serve(Router::new().fallback(any(status))).await;
    let home = tempfile::tempdir().expect("home");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {url}\ncontexts:\n- name: kind-trustusbank-edge\n  context: {{cluster: c, user: u}}\n- name: kind-trustusbank-bank\n  context: {{cluster: c, user: u}}\n- name: kind-trustusbank-vendor\n  context: {{cluster: c, user: u}}\ncurrent-context: kind-trustusbank-edge\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .expect("kubeconfig");
    for json in [false, true] {
        let mut cmd = command(home.path());
        cmd.args(["status", "--live", "--kubeconfig"])
            .arg(&kubeconfig);
        if json {
            cmd.arg("--json");
        }
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("joined")
            .expect("status runs");
        assert_eq!(out.status.code(), Some(1), "unreachable → 1");
        assert_inert("status", &out.stdout);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("etcd"),
            "the server's words are shown: {text}"
        );
    }
}

#[test]
fn an_acts_output_is_printed_inert() {
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "[acts.reset]\ncommand = [\"printf\", \"\\\\033]52;c;ZXZpbA==\\\\007pwned \\\\033[31mred\\\\r\\\\n\"]\n",
    )
    .expect("config");
    let out = command(home.path())
        .args(["act", "reset", "--sim", "--config"])
        .arg(&config)
        .output()
        .expect("act runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_inert("act stdout", &out.stdout);
    assert_inert("act stderr", &out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("␛pwned ␛red"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
