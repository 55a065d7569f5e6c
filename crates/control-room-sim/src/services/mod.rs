//! The programs behind the simulated pods, reached through port-forward.
//!
//! A port-forward to a pod lands here when the pod runs one of the walkthrough's UIs or APIs
//! (the §9 tab table): [`Services::listener`] picks the program by cluster, namespace, the
//! pod's `app` label and the port, and [`serve_connection`] runs it as a real HTTP/1.1 server
//! over the forwarded byte stream. Any other pod and port has nothing listening.
//!
//! The programs read the world through the three clusters' [`ClusterStore`]s and share an
//! [`ExfilLedger`], the mock-attacker's count of what it received.

mod agentregistry;
mod agents;
pub mod alertmanager;
mod attacker;
mod chatbot;
mod collector;
mod common;
pub mod loggen;
mod malware;
mod pages;
pub(crate) mod peering;
pub mod policy;
mod prometheus;
mod telemetry;
mod ztunnel;

pub use telemetry::{
    ConnectionCounters, ConnectionKey, MeshLogLine, MeshTelemetry, MetricSample, Scope,
};

use std::future::IntoFuture as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::oneshot;

use crate::store::ClusterStore;
use crate::world::CLUSTERS;

/// The in-process programs and everything they can see.
pub struct Services {
    /// This very `Arc`, for work a request leaves running (the implant's retries).
    me: std::sync::Weak<Services>,
    /// `(short name, store)` for edge, bank, vendor.
    stores: Vec<(&'static str, ClusterStore)>,
    exfil: ExfilLedger,
    /// What ztunnel saw of the programs' own connections (the rugpull's egress).
    mesh: MeshTelemetry,
    /// The agentregistry's catalogue as registered when the world was built.
    catalogue: OnceLock<Vec<agentregistry::Entry>>,
    /// Port-forward connections open right now (all clusters).
    forwards: AtomicUsize,
    /// The simulated Prometheus' samples and alert state (scraped from `mesh`).
    prometheus: prometheus::Engine,
    /// The log-generator pod's program, when the run has one.
    log_generator: OnceLock<loggen::LogGenerator>,
    /// What bank's Alertmanager received from Prometheus, and the mail it sent.
    delivery: alertmanager::Delivery,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field(
                "clusters",
                &self.stores.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .field("exfil", &self.exfil.count())
            .finish()
    }
}

impl Services {
    /// Stores are matched to clusters by their cluster name (`trustusbank-edge` …).
    pub fn new(stores: Vec<ClusterStore>) -> Arc<Self> {
        let stores: Vec<(&'static str, ClusterStore)> = stores
            .into_iter()
            .filter_map(|store| {
                let spec = CLUSTERS.iter().find(|c| c.name == store.cluster())?;
                Some((spec.short, store))
            })
            .collect();
        // The mock-attacker runs on vendor (walkthrough §2).
        let vendor = stores
            .iter()
            .find(|(short, _)| *short == "vendor")
            .map(|(_, store)| store.clone());
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            stores,
            exfil: vendor.map_or_else(ExfilLedger::default, ExfilLedger::served_by),
            mesh: MeshTelemetry::default(),
            catalogue: OnceLock::new(),
            forwards: AtomicUsize::new(0),
            prometheus: prometheus::Engine::new(),
            log_generator: OnceLock::new(),
            delivery: alertmanager::Delivery::default(),
        })
    }

    /// The store of `edge`, `bank` or `vendor` (short or full cluster name).
    pub fn store(&self, cluster: &str) -> Option<&ClusterStore> {
        self.stores
            .iter()
            .find(|(short, store)| *short == cluster || store.cluster() == cluster)
            .map(|(_, store)| store)
    }

    /// Bank's Alertmanager and the SOC inbox it mails.
    pub fn delivery(&self) -> &alertmanager::Delivery {
        &self.delivery
    }

    /// The shared handle to these services (`None` only while they are being dropped).
    pub fn arc(&self) -> Option<Arc<Self>> {
        self.me.upgrade()
    }

    /// Start what runs by itself in the simulated world: the rugpulled converter phoning
    /// home, and Prometheus scraping and evaluating its rules. Abort the handles to stop it.
    pub fn spawn_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = malware::spawn_phone_home(self.clone())
            .into_iter()
            .collect();
        tasks.push(prometheus::spawn_scrape_loop(self));
        tasks.push(peering::spawn(self));
        tasks
    }

    /// Run the log generator behind the `load-logs` pod (once, before serving).
    pub fn set_log_generator(&self, generator: loggen::LogGenerator) {
        let _ = self.log_generator.set(generator);
    }

    /// The log generator, when `pod` in `cluster` is the one it runs in.
    pub fn log_generator_of(&self, cluster: &str, pod: &Value) -> Option<loggen::LogGenerator> {
        let generator = self.log_generator.get()?;
        loggen::LogGenerator::runs(cluster, pod).then_some(*generator)
    }

    pub fn exfil(&self) -> &ExfilLedger {
        &self.exfil
    }

    pub fn mesh_telemetry(&self) -> &MeshTelemetry {
        &self.mesh
    }

    /// What reaches bank's Prometheus of the ztunnels' counters now: each cluster's share as
    /// its telemetry collector exports it, through bank's telemetry gateway (M11).
    pub fn exported_samples(&self) -> Vec<MetricSample> {
        let Some(bank) = self.store("bank").filter(|b| collector::gateway_up(b)) else {
            return Vec::new();
        };
        let bank_nodes = collector::node_ips(bank);
        let exporters: Vec<(String, Option<collector::Exporter>)> = self
            .stores
            .iter()
            .map(|(_, store)| {
                let exporter = collector::exporter(store).filter(|e| {
                    collector::reaches_gateway(e.endpoint_host.as_deref(), &bank_nodes)
                });
                (store.cluster().to_string(), exporter)
            })
            .collect();
        collector::exported(self.mesh.samples(Scope::All), &exporters)
    }

    /// Port-forward connections open right now, so tests can see closed ones cleaned up.
    pub fn open_forwards(&self) -> usize {
        self.forwards.load(Ordering::SeqCst)
    }

    /// Count one port-forward connection for as long as the guard lives.
    pub fn forward_opened(self: &Arc<Self>) -> ForwardGuard {
        self.forwards.fetch_add(1, Ordering::SeqCst);
        ForwardGuard(self.clone())
    }

    /// Take the agentregistry's catalogue from the world as it is now. Called once the world
    /// is built; later rollouts (the rugpull) do not change what was registered.
    pub fn register_catalogue(&self) {
        self.catalogue();
    }

    fn catalogue(&self) -> &[agentregistry::Entry] {
        self.catalogue.get_or_init(|| agentregistry::register(self))
    }

    /// The program listening on `port` in `pod` of `cluster`, if any.
    pub fn listener(self: &Arc<Self>, cluster: &str, pod: &Value, port: u16) -> Option<Router> {
        let short = CLUSTERS
            .iter()
            .find(|c| c.name == cluster || c.short == cluster)?
            .short;
        let namespace = pod.pointer("/metadata/namespace").and_then(Value::as_str)?;
        let app = pod
            .pointer("/metadata/labels/app")
            .and_then(Value::as_str)?;
        if (namespace, app, port) == ("istio-system", "ztunnel", ztunnel::METRICS_PORT) {
            let node = pod.pointer("/spec/nodeName").and_then(Value::as_str)?;
            let cluster = self.store(short)?.cluster().to_string();
            return Some(
                ztunnel::router(self.clone(), cluster, node.to_string())
                    .merge(common::sim_routes()),
            );
        }
        let program = Program::identify(short, namespace, app, port)?;
        Some(program.router(self.clone()).merge(common::sim_routes()))
    }

    /// Every cluster's ztunnel metrics on one HTTP address (`sim --metrics-addr`).
    pub fn metrics_router(self: &Arc<Self>) -> Router {
        ztunnel::all_clusters_router(self.clone())
    }
}

/// Holds one count in [`Services::open_forwards`].
pub struct ForwardGuard(Arc<Services>);

impl Drop for ForwardGuard {
    fn drop(&mut self) {
        self.0.forwards.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What listens where (walkthrough §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Chatbot,
    MockAttacker,
    Prometheus,
    AgentRegistry,
    Grafana,
    MailHog,
    Alertmanager,
    KagentUi,
    GlooMeshUi,
}

impl Program {
    fn identify(cluster: &str, namespace: &str, app: &str, port: u16) -> Option<Self> {
        Some(match (cluster, namespace, app, port) {
            ("edge", "trustusbank-bank-frontend", "chatbot", 80) => Self::Chatbot,
            ("vendor", "external-attacker", "mock-attacker", 8080) => Self::MockAttacker,
            ("bank", "trustusbank-observability", "prometheus", 9090)
            | ("bank", "gloo-mesh", "prometheus-server", 9090) => Self::Prometheus,
            ("bank", "trustusbank-platform", "agentregistry", 8080) => Self::AgentRegistry,
            ("bank", "trustusbank-observability", "grafana", 3000) => Self::Grafana,
            ("bank", "trustusbank-observability", "mailhog", 8025) => Self::MailHog,
            ("bank", "trustusbank-observability", "alertmanager", 9093) => Self::Alertmanager,
            ("bank", "trustusbank-platform", "kagent-ui", 8080) => Self::KagentUi,
            ("bank", "gloo-mesh", "gloo-mesh-ui", 8090) => Self::GlooMeshUi,
            _ => return None,
        })
    }

    fn router(self, services: Arc<Services>) -> Router {
        match self {
            Self::Chatbot => chatbot::router(services),
            Self::MockAttacker => attacker::router(services),
            Self::Prometheus => prometheus::router(services),
            Self::AgentRegistry => agentregistry::router(services),
            Self::Grafana => pages::grafana(services),
            Self::MailHog => pages::mailhog(services),
            Self::Alertmanager => alertmanager::router(services),
            Self::KagentUi => pages::kagent_ui(services),
            Self::GlooMeshUi => pages::gloo_mesh_ui(services),
        }
    }
}

/// Serve `router` as one HTTP/1.1 connection over `io` until the connection ends (the peer
/// closes, or drops its end of the duplex). Returns at once; the work runs on spawned tasks.
pub fn serve_connection(router: Router, io: DuplexStream) {
    let router = router.layer(axum::middleware::from_fn(crate::host_guard::loopback_only));
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let listener = OneConnection {
        io: Some(TrackedIo { io, _done: done_tx }),
    };
    tokio::spawn(async move {
        // The accept loop must outlive the connection: dropping it tells the connection to
        // shut down gracefully. It is dropped once hyper has dropped the connection's io.
        let serve = axum::serve(listener, router).into_future();
        tokio::select! {
            _ = serve => {}
            _ = done_rx => {}
        }
    });
}

/// A listener that yields exactly one connection, then nothing.
struct OneConnection {
    io: Option<TrackedIo>,
}

impl axum::serve::Listener for OneConnection {
    type Io = TrackedIo;
    type Addr = &'static str;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.io.take() {
            Some(io) => (io, "port-forward"),
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok("port-forward")
    }
}

/// The server's end of a forwarded connection; dropping it (the connection is over) is
/// announced through `_done`.
struct TrackedIo {
    io: DuplexStream,
    _done: oneshot::Sender<()>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// One batch of stolen data the mock-attacker received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExfilEvent {
    pub at: DateTime<Utc>,
    /// Where it came from (a pod IP, as the attacker's log shows it).
    pub source: String,
    /// `acme-fx/currency-converter`.
    #[serde(rename = "stolenAtTool")]
    pub tool: String,
    /// What was sent (the customer profile).
    #[serde(rename = "stolenData")]
    pub data: Value,
}

/// The mock-attacker's tally and what it printed, shared by every connection to it (cheap
/// clone). Each event is received by one of its pods — the Ready ones in turn, as its
/// Service spreads connections — and only that pod's log shows it.
#[derive(Debug, Clone, Default)]
pub struct ExfilLedger {
    inner: Arc<Mutex<Ledger>>,
    /// Woken on every `record`, so followers of the mock-attacker's log see it at once.
    recorded: Arc<tokio::sync::Notify>,
    /// The cluster the mock-attacker runs in, to pick the pod that receives each event.
    /// `None` (a ledger on its own, in unit tests): every attacker pod alive shows it.
    cluster: Option<ClusterStore>,
}

#[derive(Debug, Default)]
struct Ledger {
    count: usize,
    /// The most recent events, oldest first (at most [`ExfilLedger::KEEP`]).
    events: std::collections::VecDeque<ExfilEvent>,
    /// What the mock-attacker wrote to its stdout, oldest first (at most `KEEP`).
    printed: std::collections::VecDeque<Printed>,
    /// Round robin over the Ready pods.
    turn: usize,
}

/// One write of the mock-attacker to its stdout: what its container log is made of.
#[derive(Debug, Clone)]
pub(crate) struct Printed {
    pub at: DateTime<Utc>,
    /// The uid of the pod that printed it; `None`: every attacker pod alive at `at`.
    pub pod: Option<String>,
    /// The lines, without their newline; bytes as written, not necessarily UTF-8.
    pub lines: Arc<Vec<axum::body::Bytes>>,
    /// Every line carries the stamp `at` (one burst, faster than the runtime's clock);
    /// otherwise each line is a nanosecond after the one before, as read one by one.
    pub one_stamp: bool,
}

impl ExfilLedger {
    /// How many events are remembered in full; the count goes on past it.
    pub const KEEP: usize = 1000;

    /// A ledger whose events are received by the mock-attacker pods in `cluster`.
    pub(crate) fn served_by(cluster: ClusterStore) -> Self {
        Self {
            cluster: Some(cluster),
            ..Self::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One event: the receiving pod prints its block (`🚨 EXFIL RECEIVED …` and the record).
    pub fn record(&self, event: ExfilEvent) {
        let lines = attacker::block(&event);
        self.write(event.at, lines, false, vec![event]);
    }

    /// Events that arrived together: one pod receives them all and prints their blocks in
    /// one write, every line stamped with the first event's time (a burst within the
    /// container runtime's clock resolution). An empty burst does nothing.
    pub fn record_burst(&self, events: Vec<ExfilEvent>) {
        let Some(at) = events.first().map(|e| e.at) else {
            return;
        };
        let lines = events.iter().flat_map(attacker::block).collect();
        self.write(at, lines, true, events);
    }

    /// Raw bytes the mock-attacker writes to its stdout at `at` (a program may print
    /// anything: invalid UTF-8, a megabyte without a newline …), one line per `\n`, all
    /// with the stamp `at`. Not an exfil event: the count does not change.
    pub fn print(&self, at: DateTime<Utc>, bytes: impl Into<Vec<u8>>) {
        let bytes = axum::body::Bytes::from(bytes.into());
        let mut lines: Vec<axum::body::Bytes> = Vec::new();
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let line = rest.split_to(i + 1);
            lines.push(line.slice(..i));
        }
        if !rest.is_empty() {
            lines.push(rest);
        }
        self.write(at, lines, true, Vec::new());
    }

    fn write(
        &self,
        at: DateTime<Utc>,
        lines: Vec<axum::body::Bytes>,
        one_stamp: bool,
        events: Vec<ExfilEvent>,
    ) {
        // Read the pods before taking the ledger's lock: never hold both.
        let receivers = self.cluster.as_ref().map(attacker::receivers);
        let mut ledger = self.lock();
        let pod = receivers.and_then(|pods| {
            let pod = pods.get(ledger.turn % pods.len().max(1)).cloned();
            ledger.turn = ledger.turn.wrapping_add(1);
            pod
        });
        ledger.count += events.len();
        for event in events {
            if ledger.events.len() == Self::KEEP {
                ledger.events.pop_front();
            }
            ledger.events.push_back(event);
        }
        if ledger.printed.len() == Self::KEEP {
            ledger.printed.pop_front();
        }
        ledger.printed.push_back(Printed {
            at,
            pod,
            lines: Arc::new(lines),
            one_stamp,
        });
        drop(ledger);
        self.recorded.notify_waiters();
    }

    /// Completes at the next `record` (call `enable` on it before looking, not to miss one).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.recorded.notified()
    }

    /// Events received since the world started.
    pub fn count(&self) -> usize {
        self.lock().count
    }

    /// The remembered events, oldest first.
    pub fn events(&self) -> Vec<ExfilEvent> {
        self.lock().events.iter().cloned().collect()
    }

    /// What the mock-attacker printed, oldest first (cheap: the lines are shared).
    pub(crate) fn printed(&self) -> Vec<Printed> {
        self.lock().printed.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_where_the_walkthrough_puts_them() {
        assert_eq!(
            Program::identify("edge", "trustusbank-bank-frontend", "chatbot", 80),
            Some(Program::Chatbot)
        );
        assert_eq!(
            Program::identify("vendor", "external-attacker", "mock-attacker", 8080),
            Some(Program::MockAttacker)
        );
        assert_eq!(
            Program::identify("edge", "trustusbank-bank-frontend", "chatbot", 8080),
            None
        );
        assert_eq!(
            Program::identify("bank", "trustusbank-bank-mcp", "account-mcp", 8080),
            None
        );
    }

    #[test]
    fn ledger_counts_past_what_it_keeps() {
        let ledger = ExfilLedger::default();
        for i in 0..ExfilLedger::KEEP + 5 {
            ledger.record(ExfilEvent {
                at: Utc::now(),
                source: format!("10.30.1.{i}"),
                tool: "acme-fx/currency-converter".into(),
                data: Value::Null,
            });
        }
        assert_eq!(ledger.count(), ExfilLedger::KEEP + 5);
        let events = ledger.events();
        assert_eq!(events.len(), ExfilLedger::KEEP);
        assert_eq!(events[0].source, "10.30.1.5");
    }
}
