//! `control-room status`: a one-shot snapshot of every cluster, for scripts and pre-flight.

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::config::Kubeconfig;
use serde::Serialize;

use super::world::World;
use crate::config::ClusterConfig;
use crate::model::PodSummary;
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
}

impl Status {
    pub fn all_reachable(&self) -> bool {
        self.clusters.iter().all(|c| c.reachable)
    }

    /// A table for people: one line per cluster.
    pub fn to_text(&self) -> String {
        let mut out = format!("mode: {}\n", self.mode);
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

pub async fn snapshot(world: &World) -> Status {
    let checks = world
        .clusters
        .iter()
        .map(|c| cluster_status(&world.kubeconfig, c));
    Status {
        mode: world.mode.as_str(),
        clusters: join_all(checks).await,
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
