//! The simulated three-cluster world, served over the Kubernetes API on loopback.
//!
//! `start` builds the TrustUsBank world (edge, bank, vendor) into one [`ClusterStore`] per
//! cluster, serves each on its own `127.0.0.1` port with enough of the API for kubectl and
//! kube-rs (discovery, OpenAPI v3, get, list, watch, create, update, patch, delete), runs a
//! small control plane inside each (Deployment and ReplicaSet controllers, scheduler, kubelet,
//! garbage collector) and writes a kubeconfig pointing at it. Tests change the world through
//! HTTP or straight through the stores; every change reaches watchers and controllers like a
//! real API server's would.
//!
//! What breaks on a real cluster breaks here too, for rehearsing triage with the tools a
//! user types: an image no registry has (`ErrImagePull`, `ImagePullBackOff`, a stuck
//! rollout, `ProgressDeadlineExceeded`), a `nodeSelector` no node meets (`FailedScheduling`),
//! and, through pod template annotations, programs that exit ([`EXIT_AFTER`],
//! [`EXIT_CODE`]: `CrashLoopBackOff`) and readiness probes that fail ([`READY`]). `kubectl
//! get` prints the server-side Tables a real API server prints. [`SimOptions::big_log_mb`]
//! adds a pod with a log of any size, generated as it is read.
//!
//! The crate knows nothing of control-room: it is reached through [`start`] and the
//! [`SimHandle`] it returns, and otherwise only over HTTP, as a real cluster would be.
//!
//! Layers: [`store`] (objects, history, selectors, the resource table), `api` (the HTTP face:
//! routing, reads, watches, writes, subresources, discovery, OpenAPI), `world` (the
//! walkthrough's topology and workloads), `controller` (the control plane inside each
//! cluster) and `services` (the programs behind the pods, Prometheus included).

// Unit tests may unwrap; nothing else may (the workspace lints deny it).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod controller;
mod host_guard;
mod services;
mod store;
mod world;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use controller::{EXIT_AFTER, EXIT_CODE, READY, restart_container};
pub use services::{
    ConnectionCounters, ConnectionKey, ExfilEvent, ExfilLedger, MeshLogLine, MeshTelemetry,
    MetricSample, Scope as TelemetryScope,
};
pub use store::{ClusterStore, DEFAULT_HISTORY_WINDOW, StoreError};
pub use world::load::toggle_readiness;

use api::listener::ClusterServer;
use world::{CLUSTERS, ClusterSpec};

/// How to run the simulator (the `control-room sim` flags).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where `kubeconfig` is written (created 0700 if missing; the file is 0600). Required.
    pub state_dir: PathBuf,
    /// `Some(n)`: edge on n, bank on n+1, vendor on n+2. `None`: free ports.
    pub port_base: Option<u16>,
    /// Add synthetic `load-NNNN` namespaces until each cluster holds this many pods.
    pub pods_per_cluster: Option<usize>,
    /// Pod updates per second across the world (0 = none).
    pub churn_per_sec: f64,
    /// Also serve every cluster's ztunnel metrics (`/metrics`) here, for an outside
    /// Prometheus to scrape. Port 0 picks a free one ([`SimHandle::metrics_addr`]).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Serve the metrics to any `Host` (a Prometheus on another machine): only with an
    /// explicit non-loopback `metrics_addr`. Otherwise the DNS-rebinding guard applies.
    pub metrics_public: bool,
    /// Add a log-generator pod (cluster `bank`, namespace `load-logs`, Deployment
    /// `log-generator`) whose log holds about this many MiB when the simulator starts.
    /// Lines are generated from their number when asked for, never held in memory, so
    /// `tailLines`, `sinceTime`, `limitBytes` and `follow` cost what they return.
    pub big_log_mb: Option<u64>,
    /// Lines per second the log-generator pod writes from the start, for as long as it
    /// runs (a benchmark's log rate; followers get them as they are due). Alone, it adds
    /// the pod with an empty log.
    pub log_lines_per_sec: Option<u32>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            // No default: a fixed shared path would let another local user plant the
            // kubeconfig. Callers choose a private directory.
            state_dir: PathBuf::new(),
            port_base: None,
            pods_per_cluster: None,
            churn_per_sec: 0.0,
            metrics_addr: None,
            metrics_public: false,
            big_log_mb: None,
            log_lines_per_sec: None,
        }
    }
}

/// Knobs tests turn to make rare server behaviour happen quickly. Kept apart from
/// [`SimOptions`] so the CLI-facing struct stays exactly the flags.
#[derive(Debug, Clone)]
pub struct SimTuning {
    /// Watch events remembered per cluster; watches from before the window get 410 Expired.
    pub history_window: usize,
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// How long each visible phase of a rollout lasts: a new pod shows ContainerCreating for
    /// about this long, an old one Terminating. Scheduling takes a quarter of it.
    pub rollout_step: Duration,
    /// The kubelet's first back-off after a failed image pull or a crashed container (10 s
    /// on a real node); each next one doubles, up to 30 times this (300 s). The kubelet's
    /// other periods scale by the same factor: its resyncs, readiness probes (their
    /// `periodSeconds`), the scheduler's five-minute retry of pods no node fits.
    pub kubelet_backoff: Duration,
}

/// The default [`SimTuning::rollout_step`]: long enough for a presenter's audience to see
/// ContainerCreating and Terminating go by.
pub const DEFAULT_ROLLOUT_STEP: Duration = Duration::from_millis(1500);

/// The default [`SimTuning::kubelet_backoff`]: a real kubelet's.
pub const DEFAULT_KUBELET_BACKOFF: Duration = Duration::from_secs(10);

impl Default for SimTuning {
    fn default() -> Self {
        Self {
            history_window: DEFAULT_HISTORY_WINDOW,
            bookmark_interval: Duration::from_secs(15),
            rollout_step: DEFAULT_ROLLOUT_STEP,
            kubelet_backoff: DEFAULT_KUBELET_BACKOFF,
        }
    }
}

/// One simulated cluster as control-room's config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCluster {
    /// `edge`
    pub name: String,
    /// `kind-trustusbank-edge`
    pub context: String,
    /// `http://127.0.0.1:PORT`
    pub server: String,
}

/// The clusters a simulator serves, known before it starts (ports come later): what a
/// screen can name while the simulator is still coming up.
pub fn topology() -> Vec<(String, String)> {
    world::CLUSTERS
        .iter()
        .map(|c| (c.short.to_string(), c.context.to_string()))
        .collect()
}

struct RunningCluster {
    spec: &'static ClusterSpec,
    server: ClusterServer,
    /// Started with the server, once nothing else can fail.
    controllers: Option<JoinHandle<()>>,
}

/// The running simulator. Dropping it stops everything; [`SimHandle::shutdown`] does so and
/// waits until the ports are free.
pub struct SimHandle {
    clusters: Vec<RunningCluster>,
    kubeconfig: PathBuf,
    churn: Option<JoinHandle<()>>,
    /// The programs' own background work (the implant phoning home, Prometheus, the
    /// metrics address).
    background: Vec<JoinHandle<()>>,
    metrics_addr: Option<std::net::SocketAddr>,
    /// The programs behind the pods, reached by port-forward.
    services: std::sync::Arc<services::Services>,
}

/// Start with default tuning.
pub async fn start(opts: SimOptions) -> anyhow::Result<SimHandle> {
    start_with(opts, SimTuning::default()).await
}

/// Start with explicit tuning (tests).
pub async fn start_with(opts: SimOptions, tuning: SimTuning) -> anyhow::Result<SimHandle> {
    if opts.state_dir.as_os_str().is_empty() {
        bail!(
            "SimOptions::state_dir is not set: the simulator needs a private directory for its kubeconfig"
        );
    }
    let mut listeners = Vec::with_capacity(CLUSTERS.len());
    for (i, spec) in CLUSTERS.iter().enumerate() {
        let port = match opts.port_base {
            Some(base) => base
                .checked_add(i as u16)
                .with_context(|| format!("port base {base} leaves no port for {}", spec.short))?,
            None => 0,
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port} for cluster {}", spec.short))?;
        listeners.push(listener);
    }

    let metrics_listener = match opts.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics address {addr}"))?,
        ),
        None => None,
    };

    let now = chrono::Utc::now();
    let mut builds = Vec::with_capacity(CLUSTERS.len());
    let mut service_stores = Vec::with_capacity(CLUSTERS.len());
    for spec in &CLUSTERS {
        let store = ClusterStore::new(spec.name, tuning.history_window);
        service_stores.push(store.clone());
        let extras = world::Extras {
            pods_target: opts.pods_per_cluster,
            log_generator: opts.big_log_mb.is_some() || opts.log_lines_per_sec.is_some(),
        };
        // World building is CPU work (thousands of objects at scale): keep it off the runtime.
        builds.push(tokio::task::spawn_blocking(move || {
            world::populate(spec, &store, now, extras).map(|()| store)
        }));
    }
    let services = services::Services::new(service_stores);
    if opts.big_log_mb.is_some() || opts.log_lines_per_sec.is_some() {
        services.set_log_generator(services::loggen::LogGenerator::new(
            opts.big_log_mb.unwrap_or(0),
            opts.log_lines_per_sec.unwrap_or(0),
            now,
        ));
    }
    let mut clusters = Vec::with_capacity(CLUSTERS.len());
    for ((spec, build), listener) in CLUSTERS.iter().zip(builds).zip(&listeners) {
        let store = build.await.context("world builder panicked")??;
        let port = listener.local_addr()?.port();
        let server = ClusterServer::new(store, port, tuning.bookmark_interval, services.clone());
        clusters.push(RunningCluster {
            spec,
            server,
            controllers: None,
        });
    }
    services.register_catalogue();
    let stores: Vec<ClusterStore> = clusters.iter().map(|c| c.server.store().clone()).collect();
    let images = std::sync::Arc::new(controller::images::Registry::from_world(&stores));

    let servers: Vec<String> = clusters
        .iter()
        .map(|c| server_url(c.server.port()))
        .collect();
    let entries: Vec<world::kubeconfig::ClusterEntry<'_>> = clusters
        .iter()
        .zip(&servers)
        .map(|(c, server)| world::kubeconfig::ClusterEntry {
            cluster_name: c.spec.name,
            context: c.spec.context,
            server,
        })
        .collect();
    let kubeconfig = world::kubeconfig::write_kubeconfig(&opts.state_dir, &entries)?;

    // Serve only once nothing else can fail, so an error above leaves no server running.
    for (c, listener) in clusters.iter_mut().zip(listeners) {
        let store = c.server.store().clone();
        let config = controller::Config {
            step: tuning.rollout_step,
            kubelet_backoff: tuning.kubelet_backoff,
            images: images.clone(),
        };
        c.controllers = Some(controller::spawn(store, c.spec, config));
        c.server.serve(listener);
        tracing::info!(
            cluster = c.spec.short,
            port = c.server.port(),
            "simulated cluster serving"
        );
    }

    let stores = clusters.iter().map(|c| c.server.store().clone()).collect();
    let churn = world::load::spawn_churn(stores, opts.churn_per_sec);
    let mut background = services.spawn_background();
    let mut metrics_addr = None;
    if let Some(listener) = metrics_listener {
        metrics_addr = Some(listener.local_addr()?);
        let mut router = services.metrics_router();
        if !opts.metrics_public {
            router = router.layer(axum::middleware::from_fn(host_guard::loopback_only));
        }
        background.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the simulator's metrics address stopped serving");
            }
        }));
    }
    Ok(SimHandle {
        clusters,
        kubeconfig,
        churn,
        background,
        metrics_addr,
        services,
    })
}

fn server_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl SimHandle {
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn clusters(&self) -> Vec<SimCluster> {
        self.clusters
            .iter()
            .map(|c| SimCluster {
                name: c.spec.short.to_string(),
                context: c.spec.context.to_string(),
                server: server_url(c.server.port()),
            })
            .collect()
    }

    /// Accepts the short name (`edge`) or the cluster name (`trustusbank-edge`).
    fn find(&self, cluster: &str) -> Option<&RunningCluster> {
        self.clusters
            .iter()
            .find(|c| c.spec.short == cluster || c.spec.name == cluster)
    }

    fn find_or_fail(&self, cluster: &str) -> anyhow::Result<&RunningCluster> {
        match self.find(cluster) {
            Some(c) => Ok(c),
            None => bail!("no simulated cluster named {cluster:?} (edge, bank, vendor)"),
        }
    }

    /// The cluster's object store (cheap clone).
    pub fn store(&self, cluster: &str) -> Option<ClusterStore> {
        self.find(cluster).map(|c| c.server.store().clone())
    }

    /// The mock-attacker's tally of exfil events (cheap clone; shared with its pages).
    pub fn exfil(&self) -> ExfilLedger {
        self.services.exfil().clone()
    }

    /// Where every cluster's ztunnel metrics are served, when asked for.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// The mesh's connection counters and ztunnel deny lines (cheap clone; shared).
    pub fn mesh_telemetry(&self) -> MeshTelemetry {
        self.services.mesh_telemetry().clone()
    }

    /// Port-forward connections open right now, across the clusters.
    pub fn open_port_forwards(&self) -> usize {
        self.services.open_forwards()
    }

    /// Close the cluster's listener and abort its open connections and watches, as if its API
    /// server died. The store is kept.
    pub async fn stop_cluster(&self, cluster: &str) -> anyhow::Result<()> {
        self.find_or_fail(cluster)?.server.stop().await;
        Ok(())
    }

    /// Serve the cluster again on the same port with the same store.
    pub async fn restart_cluster(&self, cluster: &str) -> anyhow::Result<()> {
        self.find_or_fail(cluster)?.server.restart().await
    }

    pub async fn shutdown(mut self) {
        if let Some(churn) = self.churn.take() {
            churn.abort();
            let _ = churn.await;
        }
        for task in self.background.drain(..) {
            task.abort();
            let _ = task.await;
        }
        for c in &mut self.clusters {
            if let Some(controllers) = c.controllers.take() {
                controllers.abort();
                let _ = controllers.await;
            }
            c.server.stop().await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(churn) = self.churn.take() {
            churn.abort();
        }
        for task in &self.background {
            task.abort();
        }
        for c in &self.clusters {
            if let Some(controllers) = &c.controllers {
                controllers.abort();
            }
            c.server.stop_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<SimHandle>();
        send_sync::<ClusterStore>();
    }

    /// The TUI names these clusters before the simulator is up: they must be the ones it serves.
    #[tokio::test]
    async fn the_topology_is_what_a_started_simulator_serves() {
        let dir = tempfile::tempdir().unwrap();
        let sim = start(SimOptions {
            state_dir: dir.path().to_path_buf(),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let served: Vec<(String, String)> = sim
            .clusters()
            .into_iter()
            .map(|c| (c.name, c.context))
            .collect();
        assert_eq!(topology(), served);
        assert_eq!(served.len(), 3);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn unwritable_state_dir_fails_without_leaving_servers() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a directory").unwrap();
        let opts = SimOptions {
            state_dir: blocker.join("state"),
            ..SimOptions::default()
        };
        assert!(start(opts).await.is_err());
    }
}
