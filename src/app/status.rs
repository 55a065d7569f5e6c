//! `control-room status`: a one-shot snapshot of every cluster, for scripts and pre-flight.

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::config::Kubeconfig;
use serde::Serialize;

use super::world::World;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

use crate::config::{ClusterConfig, DemoConfig};
use crate::model::act::read_act;
use crate::model::pod::to_chrono;
use crate::model::{ClusterModel, DeploymentSummary, PodSummary, PolicySummary, ResourceMsg};
use crate::sources::kubeconfig;
use chrono::{DateTime, Utc};

/// How long one cluster may take to answer before it counts as unreachable.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterStatus {
    pub name: String,
    pub context: String,
    pub reachable: bool,
    pub pods_ready: usize,
    pub pods_total: usize,
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
    pub labels: std::collections::BTreeMap<String, String>,
    pub active_at: Option<chrono::DateTime<chrono::Utc>>,
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
    pub ztunnel_denies: Vec<crate::model::alerts::DenyCounter>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExfilStatus {
    pub total: usize,
    pub since_act: usize,
    pub last_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Exfil events in the attacker's current pod's log (what the TUI's counter starts from).
async fn exfil_status(
    world: &World,
    demo: &DemoConfig,
    act_began: Option<DateTime<Utc>>,
) -> ExfilStatus {
    let attacker = &demo.attacker;
    let mut status = ExfilStatus {
        total: 0,
        since_act: 0,
        last_at: None,
        error: None,
    };
    let Some(cluster) = world.clusters.iter().find(|c| c.name == attacker.cluster) else {
        status.error = Some(format!("cluster `{}` is not configured", attacker.cluster));
        return status;
    };
    let read = tokio::time::timeout(CLUSTER_TIMEOUT, async {
        let client = kubeconfig::client(&world.kubeconfig, &cluster.context)
            .await
            .map_err(|e| e.to_string())?;
        let pods: kube::Api<Pod> = kube::Api::namespaced(client, &attacker.namespace);
        let list = pods
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let prefix = format!("{}-", attacker.deployment);
        let pod = list
            .items
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(&prefix))
            })
            .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .and_then(|p| p.metadata.name.clone())
            .ok_or_else(|| format!("no {}/{} pod", attacker.namespace, attacker.deployment))?;
        let params = kube::api::LogParams {
            timestamps: true,
            ..Default::default()
        };
        pods.logs(&pod, &params).await.map_err(|e| e.to_string())
    })
    .await;
    match read {
        Ok(Ok(log)) => {
            for line in log.lines().filter(|l| l.contains(&attacker.pattern)) {
                let at = line
                    .split_once(' ')
                    .and_then(|(t, _)| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                status.total += 1;
                if at.zip(act_began).is_none_or(|(at, began)| at >= began) {
                    status.since_act += 1;
                }
                status.last_at = at.or(status.last_at);
            }
        }
        Ok(Err(e)) => status.error = Some(e),
        Err(_) => status.error = Some(format!("no answer within {}s", CLUSTER_TIMEOUT.as_secs())),
    }
    status
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActStatus {
    pub state: &'static str,
    pub tool_image: Option<String>,
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Status {
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
            out.push_str(&format!(
                "{:<name_w$}  {:<ctx_w$}  {:<11}  {pods}\n",
                c.name, c.context, reach
            ));
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

pub async fn snapshot(world: &World, demo: &DemoConfig) -> Status {
    let checks = world
        .clusters
        .iter()
        .map(|c| cluster_status(&world.kubeconfig, c));
    let (clusters, (act, act_began)) = futures::join!(join_all(checks), act_status(world, demo));
    let exfil = exfil_status(world, demo, act_began).await;
    Status {
        mode: world.mode.as_str(),
        clusters,
        act,
        exfil,
        alerts: Vec::new(),
        alert_source: Default::default(),
    }
}

/// The act, read the same way the TUI reads it: from the tool's pods, its Deployment and
/// the AuthorizationPolicies of its cluster.
/// The act, and when it began: the newest of the tool's pods and the counted policies.
async fn act_status(world: &World, demo: &DemoConfig) -> (ActStatus, Option<DateTime<Utc>>) {
    let mut cluster = ClusterModel::new(demo.tool.cluster.clone(), String::new());
    let mut act_began = None;
    if let Some(config) = world.clusters.iter().find(|c| c.name == demo.tool.cluster) {
        let read = tokio::time::timeout(CLUSTER_TIMEOUT, async {
            let client = kubeconfig::client(&world.kubeconfig, &config.context)
                .await
                .map_err(|e| e.to_string())?;
            let ns = &demo.tool.namespace;
            let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), ns);
            let pods = pods
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let deployments: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), ns);
            let deployment = deployments
                .get_opt(&demo.tool.deployment)
                .await
                .map_err(|e| e.to_string())?;
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
                "security.istio.io",
                "v1",
                "AuthorizationPolicy",
            ));
            let mut policies = Vec::new();
            let mut newest_policy = None;
            for ns in &demo.policy_namespaces {
                let api: kube::Api<DynamicObject> =
                    kube::Api::namespaced_with(client.clone(), ns, &resource);
                match api.list(&ListParams::default()).await {
                    Ok(list) => policies.extend(list.items.iter().map(|o| {
                        let created = o
                            .metadata
                            .creation_timestamp
                            .as_ref()
                            .and_then(|t| to_chrono(&t.0));
                        newest_policy = newest_policy.max(created);
                        PolicySummary::from_object(
                            o.metadata.namespace.as_deref(),
                            o.metadata.name.as_deref(),
                            o.data.get("spec"),
                        )
                    })),
                    // No Istio on this cluster: no policies.
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok::<_, String>((pods, deployment, policies, newest_policy))
        })
        .await;
        if let Ok(Ok((pods, deployment, policies, newest_policy))) = read {
            let newest_pod = pods
                .items
                .iter()
                .filter(|p| {
                    p.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(&format!("{}-", demo.tool.deployment)))
                })
                .filter_map(|p| {
                    p.metadata
                        .creation_timestamp
                        .as_ref()
                        .and_then(|t| to_chrono(&t.0))
                })
                .max();
            act_began = newest_pod.max(newest_policy);
            cluster.apply_pods(ResourceMsg::Reset(
                pods.items.iter().map(PodSummary::from_pod).collect(),
            ));
            cluster.apply_deployments(ResourceMsg::Reset(
                deployment
                    .iter()
                    .map(DeploymentSummary::from_deployment)
                    .collect(),
            ));
            cluster.apply_policies(ResourceMsg::Reset(policies));
        }
    }
    let reading = read_act(std::slice::from_ref(&cluster), demo);
    let act = ActStatus {
        state: reading.state.as_str(),
        tool_image: reading.tool_image,
        policies: reading.policies,
        detail: reading.detail,
    };
    (act, act_began)
}

async fn cluster_status(kc: &Kubeconfig, cluster: &ClusterConfig) -> ClusterStatus {
    let mut status = ClusterStatus {
        name: cluster.name.clone(),
        context: cluster.context.clone(),
        reachable: false,
        pods_ready: 0,
        pods_total: 0,
        error: None,
    };
    let result = tokio::time::timeout(CLUSTER_TIMEOUT, async {
        let client = kubeconfig::client(kc, &cluster.context)
            .await
            .map_err(|e| e.to_string())?;
        let api: kube::Api<Pod> = kube::Api::all(client);
        let mut ready = 0;
        let mut total = 0;
        let mut params = ListParams::default().limit(500);
        loop {
            let page = api.list(&params).await.map_err(|e| e.to_string())?;
            for pod in &page.items {
                total += 1;
                if PodSummary::from_pod(pod).is_ready() {
                    ready += 1;
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        Ok::<_, String>((ready, total))
    })
    .await;
    match result {
        Ok(Ok((ready, total))) => {
            status.reachable = true;
            status.pods_ready = ready;
            status.pods_total = total;
        }
        Ok(Err(e)) => status.error = Some(e),
        Err(_) => status.error = Some(format!("no answer within {}s", CLUSTER_TIMEOUT.as_secs())),
    }
    status
}
