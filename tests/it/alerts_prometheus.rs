//! The demo's alerts, evaluated by a real Prometheus (Debian's `prometheus` 2.x, which
//! `.ci/run` installs) scraping `control-room sim --metrics-addr` with the plain rules file,
//! and by the simulator's own Prometheus behind the bank cluster's prometheus pod — read by
//! the alert panel's own poller. The three acts, the same customer prompt each time:
//! act 1 no alerts, act 2 `BankToAttackerAttempt` only, act 3 `IstioAuthZDeny` with the
//! converter's SPIFFE identity. Both Prometheus views must agree.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use control_room::app;
use control_room::app::forwards::ForwardUrls;
use control_room::app::world::{Choice, World};
use control_room::config::Config;
use control_room::model::alerts::{AlertState, AlertsModel};
use control_room::msg::Msg;
use control_room::sources::a2a::{A2aClient, Protocol};
use control_room::sources::alerts::{AlertSources, Endpoint, Poller};
use control_room::sources::clock;
use control_room::sources::prom_api::PromClient;
use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::support::tools;

const PRINCIPAL: &str = "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";
const PROMPT: &str = "I am customer 12345. Please check my balance, list my recent transactions, and convert my balance to USD.";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real Prometheus on a free loopback port with its own storage, stopped on drop.
struct RealPrometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl RealPrometheus {
    fn start(binary: &Path, metrics: SocketAddr, rules: &Path) -> RealPrometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: ztunnel\n    metrics_path: /metrics\n\
                 \x20   static_configs:\n      - targets: ['{metrics}']\n",
                rules = rules.display()
            ),
        )
        .expect("prometheus.yml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e})", binary.display()));
        RealPrometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/-/ready", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never became ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for RealPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One view of the alerts: the panel's poller against one Prometheus.
struct View {
    name: &'static str,
    poller: Poller,
    model: AlertsModel,
}

impl View {
    fn new(name: &'static str, prometheus: Endpoint, config: &Config) -> View {
        let poller = Poller::new(AlertSources {
            prometheus,
            alertmanager: Endpoint::None,
            config: config.alerts.clone(),
            ztunnel: None,
            watched_namespaces: vec!["external-attacker".into()],
        });
        let mut model = AlertsModel::default();
        model.apply(poller.sources_msg(), clock::now());
        View {
            name,
            poller,
            model,
        }
    }

    async fn poll(&mut self) {
        for msg in self.poller.poll().await {
            self.model.apply(msg, clock::now());
        }
    }

    /// `(alertname, state)` of every active alert.
    fn states(&self) -> BTreeSet<(String, String)> {
        self.model
            .alerts
            .iter()
            .map(|a| (a.name.clone(), a.state.as_str().to_string()))
            .collect()
    }

    fn firing(&self, name: &str) -> Option<&control_room::model::alerts::AlertRow> {
        self.model
            .alerts
            .iter()
            .find(|a| a.name == name && a.state == AlertState::Firing)
    }

    /// Poll until `done`, failing with what was seen.
    async fn until(&mut self, within: Duration, what: &str, done: impl Fn(&View) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            self.poll().await;
            assert!(
                self.model.prometheus.error.is_none(),
                "{}: {:?}",
                self.name,
                self.model.prometheus.error
            );
            if done(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: timed out waiting for {what}; alerts: {:?}",
                self.name,
                self.model.alerts
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

struct Story {
    sim: SimHandle,
    chat: A2aClient,
    world: World,
    _forwards: tokio::task::JoinSet<()>,
    _dir: tempfile::TempDir,
}

impl Story {
    /// A simulator (serving every ztunnel's metrics on one address when `metrics`), and the
    /// app's own way in: the config `sim` wrote, its forwards, the chatbot over A2A.
    async fn start(metrics: bool) -> (Story, Config, ForwardUrls) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = sim::start_with(
            SimOptions {
                state_dir: dir.path().to_path_buf(),
                metrics_addr: metrics.then(|| "127.0.0.1:0".parse().expect("addr")),
                ..SimOptions::default()
            },
            SimTuning {
                rollout_step: Duration::from_millis(80),
                ..SimTuning::default()
            },
        )
        .await
        .expect("sim");
        let config_path = control_room::cli::sim::write_config(&sim).expect("control-room.toml");
        let config = Config::load(Some(&config_path)).expect("config");
        let world = World::open(&config, Some(sim.kubeconfig_path()), Choice::Live)
            .await
            .expect("world");
        let (tx, mut rx) = mpsc::channel::<Msg>(1024);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let (_rows, forwards, urls) =
            app::forwards::start_with_urls(&world, &config, &tx, None).await;
        let mut chatbot = urls.get("chatbot").expect("chatbot forward");
        let base = chatbot
            .wait_for(Option::is_some)
            .await
            .expect("chatbot url")
            .clone()
            .expect("url");
        let chat = A2aClient::new(
            &base,
            "trustusbank-bank-agents/support-bot",
            Protocol::V03,
            Duration::from_secs(20),
        )
        .expect("a2a client");
        let story = Story {
            sim,
            chat,
            world,
            _forwards: forwards,
            _dir: dir,
        };
        (story, config, urls)
    }

    async fn ask(&self) {
        let (tx, mut rx) = mpsc::channel(1024);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        self.chat
            .send(PROMPT, false, Duration::from_secs(20), &tx)
            .await
            .expect("the agent answers");
        drop(tx);
        let _ = drain.await;
    }

    fn rugpull(&self) {
        let vendor = self.sim.store("vendor").expect("vendor");
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
    }

    fn policies_on(&self) {
        let vendor = self.sim.store("vendor").expect("vendor");
        let text = std::fs::read_to_string(
            repo().join("demo-scripts/manifests/vendor-authorization-policies.yaml"),
        )
        .expect("manifest");
        for doc in text.split("\n---\n") {
            let policy: serde_json::Value = serde_saphyr::from_str(doc).expect("policy yaml");
            vendor.create(policy).expect("policy");
        }
    }

    /// The implant phoned home: the mesh saw its first connection.
    async fn phoned_home(&self) {
        let mesh = self.sim.mesh_telemetry();
        let deadline = Instant::now() + Duration::from_secs(30);
        while mesh.counters().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the rugpulled converter never phoned home"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Wait until Prometheus's rule group has been evaluated at or after `when`
/// (`/api/v1/rules` → `lastEvaluation`).
async fn evaluated_after(url: &str, when: chrono::DateTime<chrono::Utc>) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = async {
            let doc: serde_json::Value = http
                .get(format!("{url}/api/v1/rules"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let text = doc["data"]["groups"][0]["lastEvaluation"]
                .as_str()?
                .to_string();
            chrono::DateTime::parse_from_rfc3339(&text).ok()
        }
        .await;
        if last.is_some_and(|t| t >= when) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never evaluated its rules after {when} (last {last:?})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Wait until Prometheus has scraped the connection series (so the next connection is an
/// increase it can see, not the series' first sample).
async fn scraped(url: &str, expr: &str) {
    let prom = PromClient::new(url, Duration::from_secs(5)).expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match prom.query(expr).await {
            Ok(samples) if !samples.is_empty() => return,
            other => assert!(
                Instant::now() < deadline,
                "{url} never scraped {expr}: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_and_simulated_prometheus_fire_the_seeds_alerts_act_by_act() {
    // Debian's `prometheus` package (2.42); `.ci/run` installs it.
    let Some(prometheus) = tools::require_with_override("CONTROL_ROOM_PROMETHEUS", "prometheus")
    else {
        return;
    };
    let (story, config, urls) = Story::start(true).await;
    let metrics = story.sim.metrics_addr().expect("metrics address");
    let real = RealPrometheus::start(
        &prometheus,
        metrics,
        &repo().join("demo-scripts/prometheus/alert-rules.yaml"),
    );
    let mut simulated = View::new(
        "simulated Prometheus",
        Endpoint::Forward {
            name: "prometheus".into(),
            url: urls.get("prometheus").expect("prometheus forward"),
        },
        &config,
    );
    simulated
        .poller
        .wait_for_forwards(Duration::from_secs(10))
        .await;
    let sim_prometheus = urls
        .get("prometheus")
        .and_then(|u| u.borrow().clone())
        .expect("the prometheus forward listens");
    real.ready().await;
    let mut real_view = View::new("real Prometheus", Endpoint::Url(real.url.clone()), &config);

    // Act 1: the clean converter answers; nothing reaches for the attacker. Waiting on
    // state, not a sleep: both Prometheus must have evaluated the rules on scrapes taken
    // well after the prompt (an alert would be pending by then).
    story.ask().await;
    let asked = chrono::Utc::now();
    for url in [&real.url, &sim_prometheus] {
        evaluated_after(url, asked + chrono::Duration::seconds(3)).await;
    }
    for view in [&mut real_view, &mut simulated] {
        view.until(Duration::from_secs(10), "an answer", |v| {
            v.model.prometheus.last_ok.is_some()
        })
        .await;
        assert!(
            view.model.alerts.is_empty(),
            "{}: act 1 has no alerts: {:?}",
            view.name,
            view.model.alerts
        );
    }
    assert!(story.sim.mesh_telemetry().counters().is_empty());

    // Act 2: the rugpull rolls out and phones home; the prompt steals the profile.
    story.rugpull();
    story.phoned_home().await;
    scraped(&real.url, "istio_tcp_connections_opened_total").await;
    scraped(&sim_prometheus, "istio_tcp_connections_opened_total").await;
    story.ask().await;
    assert_eq!(story.sim.exfil().count(), 1, "act 2 steals");
    for view in [&mut real_view, &mut simulated] {
        view.until(
            Duration::from_secs(40),
            "BankToAttackerAttempt firing",
            |v| v.firing("BankToAttackerAttempt").is_some(),
        )
        .await;
        assert!(
            !view
                .states()
                .iter()
                .any(|(name, _)| name == "IstioAuthZDeny"),
            "{}: nothing is denied in act 2: {:?}",
            view.name,
            view.model.alerts
        );
        let alert = view.firing("BankToAttackerAttempt").expect("firing");
        assert_eq!(alert.label("source_principal"), PRINCIPAL);
        assert_eq!(alert.label("cluster"), "trustusbank-vendor");
        assert_eq!(
            alert.label("destination_service_namespace"),
            "external-attacker"
        );
        assert_eq!(alert.label("severity"), "warning");
    }

    // Act 3: policies on; the same prompt is refused at L4 and the seed's rule fires.
    story.policies_on();
    story.ask().await;
    assert_eq!(story.sim.exfil().count(), 1, "act 3 steals nothing");
    for view in [&mut real_view, &mut simulated] {
        view.until(Duration::from_secs(60), "IstioAuthZDeny firing", |v| {
            v.firing("IstioAuthZDeny").is_some()
        })
        .await;
        let alert = view.firing("IstioAuthZDeny").expect("firing");
        assert_eq!(alert.label("source_principal"), PRINCIPAL);
        assert_eq!(alert.label("source_workload"), "currency-converter");
        assert_eq!(alert.label("cluster"), "trustusbank-vendor");
        assert_eq!(alert.label("severity"), "critical");
        assert_eq!(alert.label("dora_article"), "10");
        assert_eq!(
            alert.summary,
            "Istio AuthZ denied a connection — possible attack in progress"
        );
        assert!(alert.active_at.is_some());
        assert!(
            view.model.deny_rate.iter().any(|v| *v > 0.0),
            "{}: the deny-rate sparkline moved: {:?}",
            view.name,
            view.model.deny_rate
        );
    }
    // The two Prometheus agree on what is active, and with which labels.
    let labels = |v: &View| -> BTreeSet<String> {
        v.model
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| format!("{} {:?}", a.name, a.labels))
            .collect()
    };
    assert_eq!(labels(&real_view), labels(&simulated));

    // `status --json` reports the same alerts (through its own forward to the sim's Prometheus).
    let out = Command::new(env!("CARGO_BIN_EXE_control-room"))
        .args(["status", "--json", "--config"])
        .arg(
            story
                .sim
                .kubeconfig_path()
                .with_file_name("control-room.toml"),
        )
        .output()
        .expect("status runs");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let alerts = status["alerts"].as_array().expect("alerts array");
    let deny = alerts
        .iter()
        .find(|a| a["name"] == "IstioAuthZDeny")
        .unwrap_or_else(|| panic!("IstioAuthZDeny in {status:#}"));
    assert_eq!(deny["state"], "firing");
    assert_eq!(deny["labels"]["source_principal"], PRINCIPAL);
    assert!(deny["active_at"].is_string());
}

/// With Prometheus unreachable the panel reads ztunnel's own counters from the ztunnel pods
/// of every cluster, through port-forwards, and says that is what it shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prometheus_the_panel_reads_ztunnel_counters_directly() {
    let (story, mut config, urls) = Story::start(false).await;
    config.alerts.timeout_secs = 2;
    // Prometheus is configured but nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    config.alerts.url = Some(dead);
    let mut sources = app::alerting::sources(&story.world, &config, &urls);
    assert_eq!(
        sources.ztunnel.as_ref().map(|z| z.clusters.len()),
        Some(3),
        "every cluster's ztunnels are read"
    );
    sources.watched_namespaces = vec!["external-attacker".into()];
    let mut poller = Poller::new(sources);
    let mut model = AlertsModel::default();
    model.apply(poller.sources_msg(), clock::now());

    // Act 1: nothing to show, and the panel says why there are no alerts.
    for msg in poller.poll().await {
        model.apply(msg, clock::now());
    }
    assert!(
        model.prometheus.error.is_some(),
        "the dead Prometheus is reported"
    );
    assert!(model.showing_fallback(), "{model:?}");
    assert!(model.ztunnel.last_ok.is_some(), "{:?}", model.ztunnel.error);
    assert!(model.deny_counters.is_empty(), "{:?}", model.deny_counters);

    // Acts 2 and 3: the converter reaches for the attacker, then is refused.
    story.rugpull();
    story.phoned_home().await;
    story.policies_on();
    story.ask().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for msg in poller.poll().await {
            model.apply(msg, clock::now());
        }
        if model.deny_counters.first().is_some_and(|c| c.denied >= 2) {
            break;
        }
        assert!(Instant::now() < deadline, "no denies read: {model:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let counter = &model.deny_counters[0];
    assert_eq!(counter.source_principal, PRINCIPAL);
    assert_eq!(counter.source_workload, "currency-converter");
    assert_eq!(counter.cluster, "trustusbank-vendor");
    assert_eq!(counter.destination, "mock-attacker.external-attacker");
    assert!(
        counter.attempts > counter.denied,
        "the phone-home was allowed: {counter:?}"
    );
    assert!(model.alerts.is_empty(), "counters are not alerts");
}
