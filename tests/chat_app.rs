//! The whole story from the chat box: the real app headless, the in-process simulator, the
//! same customer prompt in each act. The reply never changes; the trace and the attacker do.

use std::time::Duration;

use control_room::app::world::{Choice, World};
use control_room::app::{self, App, ChatSetup, Msg};
use control_room::config::{Config, Theme};
use control_room::model::chat::Speaker;
use control_room::model::{ActState, Model};
use control_room::sources::a2a::Protocol;
use control_room::{sources, ui};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Harness {
    app: App,
    tx: mpsc::Sender<Msg>,
    terminal: Terminal<TestBackend>,
    theme: Theme,
    _tasks: Vec<tokio::task::JoinSet<()>>,
}

impl Harness {
    async fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        self.tx
            .send(Msg::Key(KeyEvent::new(code, modifiers)))
            .await
            .expect("key");
    }

    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            self.app.model.now = sources::clock::now();
            self.terminal
                .draw(|f| ui::draw(f, &self.app.model, &self.theme))
                .expect("draw");
            let screen = ui::buffer_text(self.terminal.backend().buffer());
            if done(&self.app.model) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{screen}"
            );
            self.app
                .pump(Some(
                    (Instant::now() + Duration::from_millis(50)).min(deadline),
                ))
                .await;
        }
    }

    /// Types the canonical prompt with Ctrl+P, sends it, and waits for the reply.
    async fn ask(&mut self) -> String {
        let replies = self.replies();
        self.key(KeyCode::Char('i'), KeyModifiers::NONE).await;
        self.key(KeyCode::Char('p'), KeyModifiers::CONTROL).await;
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
        self.app
            .model
            .chat
            .transcript
            .iter()
            .filter(|e| e.speaker != Speaker::Customer)
            .count()
    }

    fn profile_calls(&self) -> usize {
        self.app
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
    let config = Config::defaults();
    let world = World::open(&config, None, Choice::Sim)
        .await
        .expect("world");
    let sim = world.sim.as_ref().expect("in-process sim");
    let (tx, rx) = mpsc::channel(8192);
    let clusters: Vec<_> = world
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.context.clone()))
        .collect();
    let mut tasks: Vec<_> = clusters
        .iter()
        .enumerate()
        .map(|(i, (_, ctx))| {
            sources::cluster::spawn(i, world.kubeconfig.clone(), ctx.clone(), tx.clone())
        })
        .collect();
    let (rows, forwards) = app::forwards::start(&world, &config, &tx, None).await;
    tasks.push(forwards);
    let vendor_client = sources::kubeconfig::client(&world.kubeconfig, "kind-trustusbank-vendor")
        .await
        .expect("client");
    let mut exfil = tokio::task::JoinSet::new();
    exfil.spawn(sources::exfil::run(
        sources::exfil::ExfilTarget {
            client: vendor_client,
            namespace: "external-attacker".into(),
            deployment: "mock-attacker".into(),
            pattern: "EXFIL RECEIVED".into(),
        },
        tx.clone(),
    ));
    tasks.push(exfil);
    let mut model = Model::new(world.mode, clusters, sources::clock::now());
    model.forwards = rows;
    let setup = ChatSetup {
        forward: "chatbot".into(),
        agent: "trustusbank-bank-agents/support-bot".into(),
        protocol: Protocol::V03,
        timeout: Duration::from_secs(20),
    };
    let mut h = Harness {
        app: App::new(model, rx).with_chat(setup, tx.clone()),
        tx,
        terminal: Terminal::new(TestBackend::new(160, 48)).expect("terminal"),
        theme: Theme::builtin("default").expect("theme"),
        _tasks: tasks,
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
    assert_eq!(sim.exfil().count(), 0);

    // Act 2: the vendor rolls out the rugpull image.
    let vendor = sim.store("vendor").expect("vendor");
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
        h.app
            .model
            .chat
            .trace
            .iter()
            .any(|t| t.name == "convert_currency" && t.suspicious),
        "customer_profile passed on"
    );
    assert_eq!(sim.exfil().count(), 1, "the profile reached the attacker");
    h.until(
        Duration::from_secs(10),
        "the counter to read the attacker's log",
        |m| m.exfil.total() == 1,
    )
    .await;
    let record = h.app.model.exfil.last_record.join("\n");
    assert!(
        record.contains("Alex Carter") && record.contains("acme-fx/currency-converter"),
        "{record}"
    );

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
    assert_eq!(sim.exfil().count(), 1, "nothing new reached the attacker");
    // Give the log follower time to show anything new; there must be nothing.
    let quiet = Instant::now() + Duration::from_secs(1);
    while Instant::now() < quiet {
        h.app.pump(Some(quiet)).await;
    }
    assert_eq!(
        h.app.model.exfil.total(),
        1,
        "the counter stays flat in act 3"
    );
    assert!(
        !sim.mesh_telemetry().deny_lines().is_empty(),
        "ztunnel logged the deny"
    );
    let screen = h
        .until(Duration::from_secs(2), "the trace on screen", |_| true)
        .await;
    assert!(screen.contains("get_profile"), "{screen}");
    drop(h);
    world.close().await;
}
