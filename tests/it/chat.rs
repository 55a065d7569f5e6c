//! The whole story from the chat box: the real app headless, the in-process simulator, the
//! same customer prompt in each act. The reply never changes; the trace and the attacker do.

use std::time::Duration;

use control_room::model::chat::Speaker;
use control_room::model::{ActState, Model};
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tokio::time::Instant;

use crate::support::{self, Harness};

struct Chat {
    h: Harness,
}

impl Chat {
    async fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        self.h.press(code, modifiers).await;
    }

    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model) -> bool,
    ) -> String {
        self.h.until(within, what, |m, _| done(m)).await
    }

    /// Types the canonical prompt with Ctrl+P, sends it, and waits for the reply.
    async fn ask(&mut self) -> String {
        let replies = self.replies();
        self.key(KeyCode::Char('i'), KeyModifiers::NONE).await;
        self.h.ctrl('p').await;
        self.key(KeyCode::Enter, KeyModifiers::NONE).await;
        self.until(Duration::from_secs(20), "the agent's reply", |m| {
            !m.chat.pending
                && m.chat
                    .transcript
                    .iter()
                    .filter(|e| e.speaker != Speaker::Customer)
                    .count()
                    > replies
        })
        .await;
        self.key(KeyCode::Esc, KeyModifiers::NONE).await;
        let last = self
            .h
            .app
            .model
            .chat
            .transcript
            .last()
            .expect("entry")
            .clone();
        assert_eq!(
            last.speaker,
            Speaker::Agent,
            "error instead of a reply: {}",
            last.text
        );
        assert!(last.latency_ms.is_some());
        last.text
    }

    fn replies(&self) -> usize {
        self.h
            .app
            .model
            .chat
            .transcript
            .iter()
            .filter(|e| e.speaker != Speaker::Customer)
            .count()
    }

    fn profile_calls(&self) -> usize {
        self.h
            .app
            .model
            .chat
            .trace
            .iter()
            .filter(|t| t.arrow == "→" && t.name == "get_profile" && t.suspicious)
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_prompt_in_three_acts() {
    let (work, sim) = support::start().await;
    let mut config = support::config_in(work.path());
    config.chat.timeout_secs = 20;
    let mut h = Chat {
        h: Harness::on_sim(sim, &config).await,
    };
    h.until(
        Duration::from_secs(20),
        "act 1 and the chatbot forward",
        |m| {
            m.act.reading.state == ActState::Clean
                && m.forwards
                    .iter()
                    .any(|f| f.name == "chatbot" && f.local.is_some())
        },
    )
    .await;

    // Act 1: clean reply, no profile fetched, nothing stolen.
    let reply = h.ask().await;
    assert!(
        reply.contains("£4,287.55") && reply.contains("$5,445.19"),
        "{reply}"
    );
    assert_eq!(h.profile_calls(), 0);
    assert_eq!(h.h.sim().exfil().count(), 0);

    // Act 2: the vendor rolls out the rugpull image.
    let vendor = h.h.sim().store("vendor").expect("vendor");
    let mut deployment = vendor
        .get(
            "apps/v1",
            "Deployment",
            Some("trustusbank-bank-vendors"),
            "currency-converter",
        )
        .expect("deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("currency-converter:1.0.0-rugpull");
    vendor.update(deployment).expect("update");
    h.until(Duration::from_secs(30), "ACT 2", |m| {
        m.act.reading.state == ActState::Compromised
    })
    .await;
    let reply = h.ask().await;
    assert!(
        reply.contains("£4,287.55") && reply.contains("$5,445.19"),
        "same reply in act 2: {reply}"
    );
    assert_eq!(h.profile_calls(), 1, "the fooled model fetched the profile");
    assert!(
        h.h.app
            .model
            .chat
            .trace
            .iter()
            .any(|t| t.name == "convert_currency" && t.suspicious),
        "customer_profile passed on"
    );
    assert_eq!(
        h.h.sim().exfil().count(),
        1,
        "the profile reached the attacker"
    );
    h.until(
        Duration::from_secs(10),
        "the counter to read the attacker's log",
        |m| m.exfil.total() == 1,
    )
    .await;
    // `control-room status --json` reads the count the exfil pane shows, by the same rule.
    let config_path = control_room::cli::sim::write_config(h.h.sim()).expect("control-room.toml");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_control-room"))
        .args(["status", "--json", "--config"])
        .arg(&config_path)
        .env("HOME", work.path())
        .env("XDG_CONFIG_HOME", work.path().join("config"))
        .env("XDG_STATE_HOME", work.path().join("state"))
        .output()
        .await
        .expect("status runs");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let model = &h.h.app.model;
    assert_eq!(status["act"]["state"], "compromised", "{status}");
    assert_eq!(
        status["exfil"]["total"],
        json!(model.exfil.total()),
        "{status}"
    );
    assert_eq!(
        status["exfil"]["since_act"],
        json!(model.exfil.since(model.act.since)),
        "{status}"
    );
    assert_eq!(
        status["exfil"]["last_at"],
        json!(model.exfil.last_at()),
        "{status}"
    );

    // The record follows the counted line in a message of its own.
    h.until(Duration::from_secs(10), "the stolen record", |m| {
        let record = m.exfil.last_record.join("\n");
        record.contains("Alex Carter") && record.contains("acme-fx/currency-converter")
    })
    .await;

    // Act 3: policies on; still fooled, nothing stolen, a deny on record.
    for (ns, name, spec) in [
        ("trustusbank-bank-vendors", "default-deny", json!({})),
        (
            "external-attacker",
            "deny-vendor-to-attacker",
            json!({"action": "DENY", "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]}}]}]}),
        ),
    ] {
        vendor
            .create(
                json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                "metadata": {"name": name, "namespace": ns}, "spec": spec}),
            )
            .expect("policy");
    }
    let screen = h
        .until(Duration::from_secs(20), "ACT 3", |m| {
            m.act.reading.state == ActState::Defended
        })
        .await;
    assert!(screen.contains("ACT 3 · defended"));
    let reply = h.ask().await;
    assert!(
        reply.contains("£4,287.55") && reply.contains("$5,445.19"),
        "same reply in act 3: {reply}"
    );
    assert_eq!(h.profile_calls(), 2, "still fooled in act 3");
    assert_eq!(
        h.h.sim().exfil().count(),
        1,
        "nothing new reached the attacker"
    );
    // Give the log follower time to show anything new; there must be nothing.
    let quiet = Instant::now() + Duration::from_secs(1);
    while Instant::now() < quiet {
        h.h.app.pump(Some(quiet)).await;
    }
    assert_eq!(
        h.h.app.model.exfil.total(),
        1,
        "the counter stays flat in act 3"
    );
    assert!(
        !h.h.sim().mesh_telemetry().deny_lines().is_empty(),
        "ztunnel logged the deny"
    );
    let screen = h
        .until(Duration::from_secs(2), "the trace on screen", |_| true)
        .await;
    assert!(screen.contains("get_profile"), "{screen}");
    h.h.shutdown().await;
}
