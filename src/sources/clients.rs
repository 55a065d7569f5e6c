//! One kube client per configured cluster, built on first use and shared by whatever reads
//! or writes that cluster on the user's behalf (the detail view, logs, a pod deletion). A
//! failed build is not remembered: the next use tries again.

use std::sync::Arc;

use kube::config::Kubeconfig;
use tokio::sync::OnceCell;

use super::kubeconfig;

#[derive(Clone)]
pub struct ClientPool {
    inner: Arc<Inner>,
}

struct Inner {
    kubeconfig: Kubeconfig,
    /// Per cluster, in pane order: its context and its client once built.
    clusters: Vec<(String, OnceCell<kube::Client>)>,
}

impl std::fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let contexts: Vec<&str> = self
            .inner
            .clusters
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        f.debug_struct("ClientPool")
            .field("contexts", &contexts)
            .finish()
    }
}

impl ClientPool {
    pub fn new(kubeconfig: Kubeconfig, contexts: Vec<String>) -> ClientPool {
        ClientPool {
            inner: Arc::new(Inner {
                kubeconfig,
                clusters: contexts.into_iter().map(|c| (c, OnceCell::new())).collect(),
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.clusters.is_empty()
    }

    pub fn context(&self, cluster: usize) -> Option<&str> {
        self.inner.clusters.get(cluster).map(|(c, _)| c.as_str())
    }

    /// The client for cluster `cluster` (pane order).
    pub async fn client(&self, cluster: usize) -> Result<kube::Client, String> {
        let (context, cell) = self
            .inner
            .clusters
            .get(cluster)
            .ok_or_else(|| format!("no cluster number {}", cluster + 1))?;
        cell.get_or_try_init(|| async {
            kubeconfig::client(&self.inner.kubeconfig, context)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .cloned()
    }
}
