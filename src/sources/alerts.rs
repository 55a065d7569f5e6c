//! The alert panel's poller: Prometheus' `/api/v1/alerts` and the deny-rate range query
//! (and Alertmanager's `/api/v2/alerts` when configured), one request at a time on a fixed
//! interval, so an answer never overtakes a newer one. While Prometheus is absent or failing
//! it reads ztunnel's counters straight from the ztunnel pods instead, through port-forwards.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};

use crate::config::{AlertsConfig, ZtunnelScrape};
use crate::msg::Msg;
use crate::msg::alerts::{AlertRow, AlertsMsg, DenyCounter, Origin};
use crate::sources::exposition;
use crate::sources::kubeconfig::describe_error;
use crate::sources::prom_api::{self, PromClient};

/// A ztunnel metrics page larger than this is refused.
const MAX_SCRAPE_BYTES: usize = 16 * 1024 * 1024;

/// Where an HTTP source is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Not configured.
    None,
    /// A fixed base URL.
    Url(String),
    /// A `[[forward]]`, whose URL is known once it listens.
    Forward {
        name: String,
        url: watch::Receiver<Option<String>>,
    },
}

impl Endpoint {
    fn describe(&self) -> Option<String> {
        match self {
            Endpoint::None => None,
            Endpoint::Url(url) => Some(url.clone()),
            Endpoint::Forward { name, .. } => Some(format!("forward {name}")),
        }
    }

    /// The base URL now, or why there is none.
    fn current(&self) -> Result<String, String> {
        match self {
            Endpoint::None => Err("not configured".into()),
            Endpoint::Url(url) => Ok(url.clone()),
            Endpoint::Forward { name, url } => url
                .borrow()
                .clone()
                .ok_or_else(|| format!("the {name} forward is not listening yet (see L)")),
        }
    }
}

/// The ztunnel pods of one cluster, read when there is no Prometheus.
#[derive(Clone)]
pub struct ZtunnelCluster {
    pub name: String,
    pub client: Client,
}

/// Where the fallback finds the clusters. Clients are built on the first fallback scrape:
/// building one costs tens of milliseconds (TLS roots), which start-up should not pay for a
/// fallback that a working Prometheus never needs.
#[derive(Clone)]
pub struct ZtunnelClusters {
    pub kubeconfig: kube::config::Kubeconfig,
    /// `(pane name, context)`.
    pub clusters: Vec<(String, String)>,
}

impl ZtunnelClusters {
    async fn connect(&self) -> Vec<ZtunnelCluster> {
        let mut out = Vec::new();
        for (name, context) in &self.clusters {
            match crate::sources::kubeconfig::client(&self.kubeconfig, context).await {
                Ok(client) => out.push(ZtunnelCluster {
                    name: name.clone(),
                    client,
                }),
                Err(e) => {
                    tracing::warn!(cluster = %name, error = %e, "no ztunnel scrape for this cluster")
                }
            }
        }
        out
    }
}

pub struct AlertSources {
    pub prometheus: Endpoint,
    pub alertmanager: Endpoint,
    pub config: AlertsConfig,
    pub ztunnel: Option<ZtunnelClusters>,
    /// Destinations whose attempts the fallback lists even when nothing was denied
    /// (the attacker's namespace).
    pub watched_namespaces: Vec<String>,
}

/// One round of reading at a time; keeps its HTTP clients between rounds.
pub struct Poller {
    sources: AlertSources,
    prometheus: Option<(String, PromClient)>,
    alertmanager: Option<reqwest::Client>,
    /// Built on the first fallback scrape.
    ztunnel: Option<Vec<ZtunnelCluster>>,
}

impl Poller {
    pub fn new(sources: AlertSources) -> Poller {
        Poller {
            sources,
            prometheus: None,
            alertmanager: None,
            ztunnel: None,
        }
    }

    /// What the panel's title says about the sources.
    pub fn sources_msg(&self) -> AlertsMsg {
        let config = &self.sources.config;
        AlertsMsg::Sources {
            prometheus: self.sources.prometheus.describe(),
            alertmanager: self.sources.alertmanager.describe(),
            poll_secs: config.poll_secs,
            timeout_secs: config.timeout_secs,
        }
    }

    /// Wait (at most `limit`) until the forwards the sources need are listening.
    pub async fn wait_for_forwards(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for endpoint in [&self.sources.prometheus, &self.sources.alertmanager] {
            if let Endpoint::Forward { url, .. } = endpoint {
                let mut url = url.clone();
                let _ = tokio::time::timeout_at(deadline, url.wait_for(Option::is_some)).await;
            }
        }
    }

    /// Read every configured source once: Prometheus' alerts and deny rate, Alertmanager's
    /// alerts, and — when Prometheus is absent or failed — the ztunnel pods.
    pub async fn poll(&mut self) -> Vec<AlertsMsg> {
        let timeout = Duration::from_secs(self.sources.config.timeout_secs);
        let mut out = Vec::new();
        let mut prometheus_ok = false;
        if !matches!(self.sources.prometheus, Endpoint::None) {
            let (alerts, rate) =
                poll_prometheus(&self.sources, &mut self.prometheus, timeout).await;
            prometheus_ok = alerts.is_ok();
            let at = Utc::now();
            out.push(AlertsMsg::Prometheus { at, result: alerts });
            if let Some(result) = rate {
                out.push(AlertsMsg::DenyRate { at, result });
            }
        }
        if !matches!(self.sources.alertmanager, Endpoint::None) {
            if self.alertmanager.is_none() {
                // One connection kept between polls, as for Prometheus.
                self.alertmanager = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .pool_idle_timeout(prom_api::KEEP_ALIVE)
                    .build()
                    .map_err(|e| tracing::warn!(error = %e, "no HTTP client for Alertmanager"))
                    .ok();
            }
            let result = match (self.sources.alertmanager.current(), &self.alertmanager) {
                (Ok(base), Some(http)) => prom_api::alertmanager_alerts(http, &base, timeout)
                    .await
                    .map(|alerts| alerts.iter().map(row).collect())
                    .map_err(|e| e.to_string()),
                (Ok(_), None) => Err("no HTTP client (see the log)".into()),
                (Err(why), _) => Err(why),
            };
            out.push(AlertsMsg::Alertmanager {
                at: Utc::now(),
                result,
            });
        }
        if !prometheus_ok && let Some(targets) = &self.sources.ztunnel {
            if self.ztunnel.is_none() {
                self.ztunnel = Some(targets.connect().await);
            }
            let clusters = self.ztunnel.as_deref().unwrap_or_default();
            let result = scrape_ztunnels(clusters, &self.sources, timeout).await;
            out.push(AlertsMsg::Ztunnel {
                at: Utc::now(),
                result,
            });
        }
        out.push(AlertsMsg::Polled);
        out
    }
}

/// One round only (`control-room status`): the sources, then every answer, then `Polled`.
pub async fn once(sources: AlertSources, tx: mpsc::Sender<Msg>) {
    let timeout = Duration::from_secs(sources.config.timeout_secs);
    let mut poller = Poller::new(sources);
    if tx.send(Msg::Alerts(poller.sources_msg())).await.is_err() {
        return;
    }
    poller.wait_for_forwards(timeout).await;
    for msg in poller.poll().await {
        if tx.send(Msg::Alerts(msg)).await.is_err() {
            return;
        }
    }
}

/// Poll until the receiver goes away. Rounds never overlap; a slow round is followed at
/// once by the next, a fast one waits out the interval.
pub async fn run(sources: AlertSources, tx: mpsc::Sender<Msg>) {
    let every = Duration::from_secs(sources.config.poll_secs.max(1));
    let timeout = Duration::from_secs(sources.config.timeout_secs);
    let mut poller = Poller::new(sources);
    if tx.send(Msg::Alerts(poller.sources_msg())).await.is_err() {
        return;
    }
    // A forward still starting up is not a Prometheus problem worth a red line.
    poller.wait_for_forwards(timeout).await;
    let mut next = tokio::time::Instant::now();
    loop {
        for msg in poller.poll().await {
            if tx.send(Msg::Alerts(msg)).await.is_err() {
                return;
            }
        }
        next += every;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        tokio::time::sleep_until(next).await;
    }
}

type RateResult = Option<Result<Vec<f64>, String>>;

async fn poll_prometheus(
    sources: &AlertSources,
    client: &mut Option<(String, PromClient)>,
    timeout: Duration,
) -> (Result<Vec<AlertRow>, String>, RateResult) {
    let base = match sources.prometheus.current() {
        Ok(base) => base,
        Err(why) => return (Err(why), None),
    };
    if client.as_ref().is_none_or(|(b, _)| *b != base) {
        match PromClient::new(&base, timeout) {
            Ok(c) => *client = Some((base.clone(), c)),
            Err(e) => return (Err(e.to_string()), None),
        }
    }
    let Some((_, prom)) = client.as_ref() else {
        return (Err("no client".into()), None);
    };
    let alerts = match prom.alerts().await {
        Ok(alerts) => alerts.iter().map(row).collect(),
        Err(e) => return (Err(e.to_string()), None),
    };
    let rate = deny_rate(prom, &sources.config).await;
    if let Err(why) = &rate {
        tracing::debug!(%why, "deny-rate query failed");
    }
    (Ok(alerts), Some(rate))
}

/// The sparkline: the deny-rate query over the window, one point per step, gaps as zero.
async fn deny_rate(prom: &PromClient, config: &AlertsConfig) -> Result<Vec<f64>, String> {
    const POINTS: i64 = 60;
    let window = chrono::Duration::minutes(config.sparkline_minutes as i64);
    let step_secs = (window.num_seconds() / POINTS).max(1);
    let end = Utc::now();
    let start = end - window;
    let series = prom
        .query_range(
            &config.deny_rate_query,
            start,
            end,
            Duration::from_secs(step_secs as u64),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut points = vec![0.0; POINTS as usize + 1];
    let t0 = start.timestamp() as f64;
    for s in &series {
        for (t, v) in &s.points {
            let i = ((t - t0) / step_secs as f64).round();
            if i >= 0.0 && (i as usize) < points.len() && v.is_finite() {
                points[i as usize] += v;
            }
        }
    }
    Ok(points)
}

fn row(alert: &prom_api::Alert) -> AlertRow {
    AlertRow {
        name: alert.name.clone(),
        state: alert.state.clone(),
        labels: alert.labels.clone(),
        summary: alert
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_default(),
        active_at: alert.active_at,
        origin: Origin::Prometheus,
    }
}

/// Every ztunnel pod of every cluster, read once; fails only when none could be read.
async fn scrape_ztunnels(
    clusters: &[ZtunnelCluster],
    sources: &AlertSources,
    timeout: Duration,
) -> Result<Vec<DenyCounter>, String> {
    let scrape = &sources.config.ztunnel;
    let per_cluster = join_all(clusters.iter().map(|c| scrape_cluster(c, scrape, timeout))).await;
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    let mut read = 0;
    for (cluster, result) in clusters.iter().zip(per_cluster) {
        match result {
            Ok((pods, s)) => {
                read += pods;
                samples.extend(s.into_iter().map(|s| (cluster.name.clone(), s)));
            }
            Err(e) => errors.push(format!("{}: {e}", cluster.name)),
        }
    }
    if read == 0 {
        return Err(if clusters.is_empty() {
            "no cluster could be reached".into()
        } else if errors.is_empty() {
            "no ztunnel pods found".into()
        } else {
            errors.join("; ")
        });
    }
    if !errors.is_empty() {
        tracing::warn!(
            errors = errors.join("; "),
            "some ztunnels could not be read"
        );
    }
    Ok(deny_counters(&samples, &sources.watched_namespaces))
}

/// `(pods read, samples)`.
async fn scrape_cluster(
    cluster: &ZtunnelCluster,
    scrape: &ZtunnelScrape,
    timeout: Duration,
) -> Result<(usize, Vec<exposition::Sample>), String> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &scrape.namespace);
    let list = tokio::time::timeout(
        timeout,
        pods.list(&ListParams::default().labels(&scrape.selector)),
    )
    .await
    .map_err(|_| {
        format!(
            "listing ztunnel pods timed out after {}s",
            timeout.as_secs()
        )
    })?
    .map_err(|e| describe_error(&e))?;
    let running: Vec<String> = list
        .items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let results = join_all(running.iter().map(|name| {
        let pods = pods.clone();
        async move {
            tokio::time::timeout(timeout, scrape_pod(&pods, name, scrape))
                .await
                .unwrap_or_else(|_| Err(format!("{name}: timed out after {}s", timeout.as_secs())))
        }
    }))
    .await;
    let mut samples = Vec::new();
    let mut read = 0;
    let mut last_error = None;
    for r in results {
        match r {
            Ok(s) => {
                read += 1;
                samples.extend(s);
            }
            Err(e) => last_error = Some(e),
        }
    }
    match (read, last_error) {
        (0, Some(e)) => Err(e),
        _ => Ok((read, samples)),
    }
}

/// GET the metrics page of one pod over a port-forward.
async fn scrape_pod(
    pods: &Api<Pod>,
    name: &str,
    scrape: &ZtunnelScrape,
) -> Result<Vec<exposition::Sample>, String> {
    let mut forward = pods
        .portforward(name, &[scrape.port])
        .await
        .map_err(|e| format!("{name}: port-forward: {}", describe_error(&e)))?;
    let stream = forward
        .take_stream(scrape.port)
        .ok_or_else(|| format!("{name}: port-forward gave no stream"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(scrape.path.as_str())
        .header(hyper::header::HOST, "localhost")
        .header(hyper::header::ACCEPT, "text/plain;version=0.0.4")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("{name}: {e}"))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_SCRAPE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("{name}: reading metrics: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("{name}: {} answered HTTP {status}", scrape.path));
        }
        let text = String::from_utf8_lossy(&body);
        exposition::parse(&text).map_err(|e| format!("{name}: {e}"))
    }
    .await;
    driver.abort();
    drop(forward);
    result
}

/// Sum the Istio TCP counters per source → destination pair: denies
/// (`response_flags="CONNECT"`) and attempts. Pairs with no deny are kept only towards a
/// watched namespace.
pub fn deny_counters(
    samples: &[(String, exposition::Sample)],
    watched_namespaces: &[String],
) -> Vec<DenyCounter> {
    type Key = (String, String, String, String);
    let mut sums: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    for (cluster_name, s) in samples {
        let opened = s.name == "istio_tcp_connections_opened_total";
        let failed = s.name == "istio_tcp_connections_failed_total"
            && s.labels.get("response_flags").map(String::as_str) == Some("CONNECT");
        if !(opened || failed) || !s.value.is_finite() {
            continue;
        }
        let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
        let cluster = s
            .labels
            .get("cluster")
            .cloned()
            .unwrap_or_else(|| cluster_name.clone());
        let destination = format!(
            "{}.{}",
            label("destination_service_name"),
            label("destination_service_namespace")
        );
        let entry = sums
            .entry((
                cluster,
                label("source_workload"),
                label("source_principal"),
                destination,
            ))
            .or_default();
        if failed {
            entry.0 += s.value;
        } else {
            entry.1 += s.value;
        }
    }
    let mut out: Vec<DenyCounter> = sums
        .into_iter()
        .filter(|((_, _, _, dest), (denied, _))| {
            *denied > 0.0
                || watched_namespaces
                    .iter()
                    .any(|ns| dest.rsplit('.').next() == Some(ns.as_str()))
        })
        .map(
            |((cluster, source_workload, source_principal, destination), (denied, attempts))| {
                DenyCounter {
                    cluster,
                    source_workload,
                    source_principal,
                    destination,
                    denied: denied as u64,
                    attempts: attempts.max(denied) as u64,
                }
            },
        )
        .collect();
    out.sort_by(|a, b| b.denied.cmp(&a.denied).then(b.attempts.cmp(&a.attempts)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, flags: &str, dest_ns: &str, value: f64) -> (String, exposition::Sample) {
        let labels = [
            ("source_workload", "currency-converter"),
            (
                "source_principal",
                "spiffe://cluster.local/ns/v/sa/currency-converter",
            ),
            ("destination_service_name", "mock-attacker"),
            ("destination_service_namespace", dest_ns),
            ("response_flags", flags),
            ("cluster", "trustusbank-vendor"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        (
            "vendor".into(),
            exposition::Sample {
                name: name.into(),
                labels,
                value,
            },
        )
    }

    #[test]
    fn counters_sum_across_ztunnels_and_skip_quiet_unwatched_pairs() {
        let samples = vec![
            sample(
                "istio_tcp_connections_opened_total",
                "-",
                "external-attacker",
                3.0,
            ),
            sample(
                "istio_tcp_connections_opened_total",
                "-",
                "external-attacker",
                2.0,
            ),
            sample(
                "istio_tcp_connections_failed_total",
                "CONNECT",
                "external-attacker",
                4.0,
            ),
            // A failure that is not a policy deny does not count.
            sample(
                "istio_tcp_connections_failed_total",
                "UF",
                "external-attacker",
                9.0,
            ),
            sample("istio_tcp_connections_opened_total", "-", "quiet", 7.0),
            sample("istio_tcp_sent_bytes_total", "-", "external-attacker", 1e6),
        ];
        let counters = deny_counters(&samples, &["external-attacker".to_string()]);
        assert_eq!(
            counters,
            [DenyCounter {
                cluster: "trustusbank-vendor".into(),
                source_workload: "currency-converter".into(),
                source_principal: "spiffe://cluster.local/ns/v/sa/currency-converter".into(),
                destination: "mock-attacker.external-attacker".into(),
                denied: 4,
                attempts: 5,
            }]
        );
        assert!(
            deny_counters(&samples, &[]).len() == 1,
            "denies show unwatched"
        );
    }
}
