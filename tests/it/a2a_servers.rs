//! The chat against real A2A servers: a2a-sdk 0.3.26 and 1.x executors and kagent-adk
//! 0.10.4 around a scripted google-adk model (the programs in `tests/agents/`, run with the
//! Pythons `.ci/run` sets up). The shipped binary's `control-room chat --json` at `[chat] url`,
//! streaming and not, 0.3 and 1.0, and once the TUI's chat box: the walkthrough's three tool
//! calls, each result, who made them, and the answer exactly once — never the prompt.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use control_room::config::Config;
use control_room::model::chat::{CANONICAL_PROMPT, Speaker, TraceKind};
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::Value;

use crate::support::{self, Harness, tools};

const BIN: &str = env!("CARGO_BIN_EXE_control-room");
const AGENT: &str = "trustusbank-bank-agents/support-bot";
/// What every test agent answers (tests/agents/bank.py).
const REPLY: &str = "£4,287.55 ≈ $5,445.19 at today's rate of 1.27.";
const TOOLS: [&str; 3] = ["get_balance", "list_recent", "convert_currency"];
/// A Python agent may take this long to import its SDK and answer its card (kagent-adk
/// imports half of Google Cloud).
const START: Duration = Duration::from_secs(120);

/// One of the servers in `tests/agents/`, killed when dropped.
struct Agent {
    child: Child,
    /// `http://127.0.0.1:<port>`: the `[chat] url`.
    base: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which server, run by which Python.
#[derive(Clone, Copy)]
struct Server {
    python_var: &'static str,
    what: &'static str,
    script: &'static str,
    protocol: &'static str,
    /// The author the server puts on the tool calls: ADK agent names are identifiers.
    author: &'static str,
}

const A2A03: Server = Server {
    python_var: "CONTROL_ROOM_A2A03_PYTHON",
    what: "a Python with a2a-sdk 0.3.26 and uvicorn",
    script: "a2a03_agent.py",
    protocol: "0.3",
    author: "support-bot",
};
const A2A1: Server = Server {
    python_var: "CONTROL_ROOM_A2A1_PYTHON",
    what: "a Python with a2a-sdk 1.x and uvicorn",
    script: "a2a1_agent.py",
    protocol: "1.0",
    author: "support-bot",
};
const KAGENT: Server = Server {
    python_var: "CONTROL_ROOM_KAGENT_PYTHON",
    what: "a Python with kagent-adk 0.10.4",
    script: "kagent_agent.py",
    protocol: "0.3",
    author: "support_bot",
};

fn agents_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents")
}

impl Server {
    /// Starts it on a free loopback port (it binds port 0 and says which) and waits until its
    /// agent card answers; `None` after a visible SKIPPED line when its Python is missing.
    async fn start(self, streaming: bool) -> Option<Agent> {
        let python = tools::require_env(self.python_var, self.what)?;
        let mut cmd = Command::new(python);
        cmd.arg(agents_dir().join(self.script))
            .args(["--port", "0", "--agent", AGENT])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !streaming {
            cmd.arg("--no-streaming");
        }
        let mut child = cmd.spawn().expect("the agent starts");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for out in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        let deadline = std::time::Instant::now() + START;
        let mut said = String::new();
        let url = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => match line.strip_prefix("listening on ") {
                    Some(url) => break url.to_string(),
                    None => said.push_str(&format!("{line}\n")),
                },
                Err(_) => panic!("{} never said where it listens:\n{said}", self.script),
            }
        };
        let base = url
            .split("/api/a2a/")
            .next()
            .unwrap_or(&url)
            .trim_end_matches('/')
            .to_string();
        let agent = Agent { child, base };
        // Ready when its card answers.
        let card = format!("{url}.well-known/agent-card.json");
        let http = reqwest::Client::new();
        loop {
            match http.get(&card).send().await {
                Ok(r) if r.status().is_success() => break,
                _ if std::time::Instant::now() >= deadline => {
                    panic!("{}'s card never answered at {card}:\n{said}", self.script)
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Some(agent)
    }
}

/// `control-room chat --json PROMPT` with `[chat] url` at `agent`, isolated from the user's
/// config, state and kubeconfig.
fn chat_json(agent: &Agent, protocol: &str) -> Value {
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("control-room.toml");
    std::fs::write(
        &config,
        format!(
            "[chat]\nurl = \"{}\"\nagent = \"{AGENT}\"\nprotocol = \"{protocol}\"\ntimeout_secs = 60\n",
            agent.base
        ),
    )
    .expect("config");
    let out = Command::new(BIN)
        .args(["chat", "--json", "--config"])
        .arg(&config)
        .arg(CANONICAL_PROMPT)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .stdin(Stdio::null())
        .output()
        .expect("control-room chat runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?}, stderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(out.status.success(), "{json}\n{stderr}");
    json
}

/// The walkthrough's act 1, as `chat --json` printed it.
fn assert_act_one(json: &Value, author: &str) {
    assert_eq!(json["error"], Value::Null, "{json}");
    assert_eq!(json["agent"], "support-bot", "{json}");
    assert_eq!(json["reply"], REPLY, "the answer exactly once: {json}");
    let trace = json["trace"].as_array().expect("trace");
    let of = |kind: &str| -> Vec<&Value> { trace.iter().filter(|t| t["type"] == kind).collect() };
    let calls = of("call");
    assert_eq!(
        calls.iter().map(|c| c["name"].clone()).collect::<Vec<_>>(),
        TOOLS,
        "each call once, in order: {json}"
    );
    assert!(
        calls.iter().all(|c| c["agent"] == author),
        "made by {author}: {json}"
    );
    assert_eq!(calls[0]["args"]["account_id"], "12345");
    assert_eq!(calls[2]["args"]["amount"].as_f64(), Some(4287.55));
    assert_eq!(calls[2]["server"], "currency-converter");
    let results = of("result");
    assert_eq!(
        results
            .iter()
            .map(|r| r["name"].clone())
            .collect::<Vec<_>>(),
        TOOLS,
        "each result once: {json}"
    );
    assert_eq!(results[0]["response"]["balance"].as_f64(), Some(4287.55));
    assert_eq!(results[2]["response"]["converted"].as_f64(), Some(5445.19));
    assert_eq!(results[2]["response"]["rate"].as_f64(), Some(1.27));
    for (call, result) in calls.iter().zip(&results) {
        assert_eq!(call["id"], result["id"], "a call and its result pair up");
    }
    assert!(of("raw").is_empty(), "nothing unknown: {json}");
}

async fn chat_once(server: Server, streaming: bool) {
    let Some(agent) = server.start(streaming).await else {
        return;
    };
    let json = tokio::task::spawn_blocking({
        let protocol = server.protocol;
        move || {
            let json = chat_json(&agent, protocol);
            drop(agent);
            json
        }
    })
    .await
    .expect("chat");
    assert_act_one(&json, server.author);
}

#[tokio::test]
async fn a2a_sdk_03_streaming() {
    chat_once(A2A03, true).await;
}

#[tokio::test]
async fn a2a_sdk_03_send() {
    chat_once(A2A03, false).await;
}

#[tokio::test]
async fn a2a_sdk_1_streaming() {
    chat_once(A2A1, true).await;
}

#[tokio::test]
async fn a2a_sdk_1_send() {
    chat_once(A2A1, false).await;
}

#[tokio::test]
async fn kagent_adk_streaming() {
    chat_once(KAGENT, true).await;
}

#[tokio::test]
async fn kagent_adk_send() {
    chat_once(KAGENT, false).await;
}

/// The chat box, as the presenter uses it, against kagent-adk streaming: the answer once on
/// screen and in the transcript, the prompt only as the customer's own line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_box_against_kagent() {
    let Some(agent) = KAGENT.start(true).await else {
        return;
    };
    let (work, sim) = support::start().await;
    let mut config: Config = support::config_in(work.path());
    config.chat.url = Some(agent.base.clone());
    config.chat.timeout_secs = 60;
    let mut h = Harness::on_sim(sim, &config).await;
    h.key('i').await;
    h.ctrl('p').await;
    h.press(KeyCode::Enter, KeyModifiers::NONE).await;
    let screen = h
        .until(Duration::from_secs(90), "kagent's answer", |m, _| {
            !m.chat.pending && m.chat.exchanges == 1
        })
        .await;
    let chat = &h.app.model.chat;
    let said: Vec<(Speaker, &str)> = chat
        .transcript
        .iter()
        .map(|e| (e.speaker, e.text.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            (Speaker::Customer, CANONICAL_PROMPT),
            (Speaker::Agent, REPLY)
        ],
        "{screen}"
    );
    let calls: Vec<(&str, Option<&str>)> = chat
        .trace
        .iter()
        .filter(|t| t.kind == TraceKind::Call)
        .map(|t| (t.name.as_str(), t.author.as_deref()))
        .collect();
    assert_eq!(calls, TOOLS.map(|n| (n, Some("support_bot"))));
    assert_eq!(
        chat.trace
            .iter()
            .filter(|t| t.kind == TraceKind::Result)
            .count(),
        3
    );
    assert_eq!(
        screen.matches("≈ $5,445.19").count(),
        1,
        "the answer once on screen:\n{screen}"
    );
    h.shutdown().await;
    drop(agent);
}
