//! `control-room status`: one snapshot of every cluster, for scripts and pre-flight. It runs
//! the TUI's own sources once — the cluster watchers' first list, the exfil follower's read
//! of the attacker's current pod, one round of the alert poller — through `update`, and
//! prints from the model, so it can never disagree with the screen.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::world::World;
use crate::app::{App, Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::{Model, Reachability};

/// How long one cluster may take to answer before it counts as unreachable.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterStatus {
    pub name: String,
    pub context: String,
    pub reachable: bool,
    pub pods_ready: usize,
    pub pods_total: usize,
    /// The kubeconfig skips TLS verification for this cluster: anyone on the path can pose
    /// as its API server.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    pub mode: &'static str,
    pub clusters: Vec<ClusterStatus>,
    pub act: ActStatus,
    pub exfil: ExfilStatus,
    /// Active alerts (pending and firing), newest first, as the alert panel reads them.
    pub alerts: Vec<AlertStatus>,
    pub alert_source: AlertSourceStatus,
}

/// `status --json`'s `alerts` entries.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertStatus {
    pub name: String,
    pub state: String,
    pub labels: BTreeMap<String, String>,
    pub active_at: Option<DateTime<Utc>>,
}

/// Where `status` read its alerts, and what went wrong.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct AlertSourceStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// ztunnel's counters, read directly when Prometheus did not answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ztunnel_denies: Vec<crate::msg::alerts::DenyCounter>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExfilStatus {
    pub total: usize,
    pub since_act: usize,
    pub last_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActStatus {
    pub state: &'static str,
    pub tool_image: Option<String>,
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Runs the sources once against `world` and returns what they showed.
pub async fn snapshot(world: World, config: &Config) -> Status {
    Status::of(&read(world, config).await)
}

/// The model after one reading of every source the snapshot shows.
async fn read(world: World, config: &Config) -> crate::model::Model {
    let (mut app, runtime) = Runtime::start(
        world,
        config,
        Parts::status(config),
        RuntimeOptions::default(),
    )
    .await;
    settle(&mut app).await;
    runtime.shutdown().await;
    app.model
}

/// `control-room status [--json]`: prints the snapshot (wire text made inert) and exits 1
/// when a cluster is unreachable, 128 + n when a signal cut it short.
pub async fn run(
    world: World,
    config: &Config,
    json: bool,
) -> anyhow::Result<std::process::ExitCode> {
    let model = read(world, config).await;
    let status = Status::of(&model);
    if json {
        println!("{}", crate::text::json_pretty(&status)?);
    } else {
        print!("{}", crate::text::inert(&status.to_text()));
    }
    let otherwise = if status.all_reachable() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    };
    Ok(super::exit_code(&model, otherwise))
}

/// How long the exfil read and the alert round may take in all; each has its own
/// timeouts (the alert poller's `timeout_secs` per request), this only bounds the sum.
const READERS_TIMEOUT: Duration = Duration::from_secs(30);

/// Until every cluster has listed its pods or been found unreachable (what has not answered
/// within [`CLUSTER_TIMEOUT`] is reported as such), then until the exfil read is done and
/// the alert poller has finished its round.
async fn settle(app: &mut App) {
    app.pump_until(CLUSTER_TIMEOUT, |m| {
        m.clusters
            .iter()
            .all(|c| c.pods_synced || matches!(c.reach, Reachability::Unreachable { .. }))
    })
    .await;
    app.pump_until(READERS_TIMEOUT, |m| {
        m.exfil.caught_up && m.alerts.rounds > 0
    })
    .await;
}

impl Status {
    /// The snapshot, read off the model as the screen reads it.
    pub fn of(model: &Model) -> Status {
        let clusters = model
            .clusters
            .iter()
            .map(|c| {
                let reachable =
                    c.pods_synced && !matches!(c.reach, Reachability::Unreachable { .. });
                let error = match &c.reach {
                    Reachability::Unreachable { error, .. } => Some(error.clone()),
                    _ if !c.pods_synced => Some(c.last_error.clone().unwrap_or_else(|| {
                        format!("no answer within {}s", CLUSTER_TIMEOUT.as_secs())
                    })),
                    _ => None,
                };
                ClusterStatus {
                    name: c.name.clone(),
                    context: c.context.clone(),
                    reachable,
                    pods_ready: if reachable { c.pods_ready } else { 0 },
                    pods_total: if reachable { c.pods_total() } else { 0 },
                    insecure_skip_tls_verify: c.insecure,
                    error,
                }
            })
            .collect();
        let reading = &model.act.reading;
        let act = ActStatus {
            state: reading.state.as_str(),
            tool_image: reading.tool_image.clone(),
            policies: reading.policies.clone(),
            detail: reading.detail.clone(),
        };
        let exfil = &model.exfil;
        let exfil = ExfilStatus {
            total: exfil.total(),
            since_act: exfil.since(model.act.since),
            last_at: exfil.last_at(),
            error: exfil.trouble.clone().or_else(|| {
                (!exfil.caught_up).then(|| "the attacker's log did not answer in time".to_string())
            }),
        };
        let alerts = &model.alerts;
        let alert_source = AlertSourceStatus {
            prometheus: alerts.prometheus.describe.clone(),
            error: alerts
                .prometheus
                .error
                .as_ref()
                .map(|(_, e)| e.clone())
                .or_else(|| {
                    alerts
                        .alertmanager
                        .error
                        .as_ref()
                        .map(|(_, e)| format!("alertmanager: {e}"))
                }),
            ztunnel_denies: alerts.deny_counters.clone(),
        };
        Status {
            mode: model.mode.as_str(),
            clusters,
            act,
            exfil,
            alerts: alerts
                .alerts
                .iter()
                .map(|a| AlertStatus {
                    name: a.name.clone(),
                    state: a.state.as_str().to_string(),
                    labels: a.labels.clone(),
                    active_at: a.active_at,
                })
                .collect(),
            alert_source,
        }
    }

    pub fn all_reachable(&self) -> bool {
        self.clusters.iter().all(|c| c.reachable)
    }

    /// A table for people: one line per cluster.
    pub fn to_text(&self) -> String {
        let mut out = format!("mode: {}\nact:  {}", self.mode, self.act.state);
        if let Some(image) = &self.act.tool_image {
            out.push_str(&format!(" · tool image {image}"));
        }
        if !self.act.policies.is_empty() {
            out.push_str(&format!(" · policies {}", self.act.policies.join(", ")));
        }
        out.push('\n');
        let name_w = self
            .clusters
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(4)
            .max(7);
        let ctx_w = self
            .clusters
            .iter()
            .map(|c| c.context.len())
            .max()
            .unwrap_or(7)
            .max(7);
        out.push_str(&format!(
            "{:<name_w$}  {:<ctx_w$}  {:<11}  PODS\n",
            "CLUSTER", "CONTEXT", "REACHABLE"
        ));
        for c in &self.clusters {
            let reach = if c.reachable { "yes" } else { "no" };
            let pods = if c.reachable {
                format!("{}/{} ready", c.pods_ready, c.pods_total)
            } else {
                c.error.clone().unwrap_or_default()
            };
            let tls = if c.insecure_skip_tls_verify {
                "  ⚠ TLS unverified (insecure-skip-tls-verify)"
            } else {
                ""
            };
            out.push_str(&format!(
                "{:<name_w$}  {:<ctx_w$}  {:<11}  {pods}{tls}\n",
                c.name, c.context, reach
            ));
        }
        let exfil = &self.exfil;
        match &exfil.error {
            Some(e) => out.push_str(&format!(
                "exfil: {} ({} this act) ✗ {e}\n",
                exfil.total, exfil.since_act
            )),
            None => out.push_str(&format!(
                "exfil: {} ({} this act)\n",
                exfil.total, exfil.since_act
            )),
        }
        let source = &self.alert_source;
        match (&source.prometheus, &source.error) {
            (None, _) => out.push_str("alerts: no Prometheus configured\n"),
            (Some(p), Some(e)) => out.push_str(&format!("alerts: Prometheus ({p}) ✗ {e}\n")),
            (Some(p), None) => out.push_str(&format!(
                "alerts: {} active (Prometheus, {p})\n",
                self.alerts.len()
            )),
        }
        for a in &self.alerts {
            let label = |k: &str| a.labels.get(k).map_or("", String::as_str);
            out.push_str(&format!(
                "  {:<8} {:<22} {:<20} {}\n",
                a.state,
                a.name,
                label("cluster"),
                label("source_principal")
            ));
        }
        for d in &source.ztunnel_denies {
            out.push_str(&format!(
                "  ztunnel: {} denied / {} tried  {} {} → {}\n",
                d.denied, d.attempts, d.cluster, d.source_principal, d.destination
            ));
        }
        out
    }
}
