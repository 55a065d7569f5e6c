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
use crate::model::{ClusterModel, DeploymentSummary, PodSummary, PolicySummary, ResourceMsg};
use crate::sources::kubeconfig;

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
        out
    }
}

pub async fn snapshot(world: &World, demo: &DemoConfig) -> Status {
    let checks = world
        .clusters
        .iter()
        .map(|c| cluster_status(&world.kubeconfig, c));
    let (clusters, act) = futures::join!(join_all(checks), act_status(world, demo));
    Status {
        mode: world.mode.as_str(),
        clusters,
        act,
    }
}

/// The act, read the same way the TUI reads it: from the tool's pods, its Deployment and
/// the AuthorizationPolicies of its cluster.
async fn act_status(world: &World, demo: &DemoConfig) -> ActStatus {
    let mut cluster = ClusterModel::new(demo.tool.cluster.clone(), String::new());
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
            for ns in &demo.policy_namespaces {
                let api: kube::Api<DynamicObject> =
                    kube::Api::namespaced_with(client.clone(), ns, &resource);
                match api.list(&ListParams::default()).await {
                    Ok(list) => policies.extend(list.items.iter().map(|o| {
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
            Ok::<_, String>((pods, deployment, policies))
        })
        .await;
        if let Ok(Ok((pods, deployment, policies))) = read {
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
    ActStatus {
        state: reading.state.as_str(),
        tool_image: reading.tool_image,
        policies: reading.policies,
        detail: reading.detail,
    }
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
