//! One cluster's sources: a reachability probe and watchers for pods, deployments,
//! DaemonSets, events and AuthorizationPolicies, each object mapped at once into its slim summary
//! ([`summarize`]) and sent as `Msg::Cluster`.

pub mod summarize;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::config::Kubeconfig;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::msg::Msg;
use crate::msg::cluster::{
    ClusterMsg, DaemonSetSummary, DeploymentSummary, EventSummary, PodKey, PodSummary, ResourceMsg,
};
use crate::sources::backoff::QuickBackoff;
use crate::sources::clock;
use crate::sources::kubeconfig;

const PROBE_INTERVAL_UP: Duration = Duration::from_secs(5);
const PROBE_INTERVAL_DOWN: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Starts every source for cluster `index`; they stop when the receiver is dropped or
/// the returned set is dropped.
pub fn spawn(
    index: usize,
    kubeconfig: Kubeconfig,
    context: String,
    tx: mpsc::Sender<Msg>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(async move {
        let client = loop {
            match kubeconfig::client(&kubeconfig, &context).await {
                Ok(c) => break c,
                Err(e) => {
                    let msg = ClusterMsg::Unreachable {
                        at: clock::now(),
                        error: e.to_string(),
                    };
                    if tx.send(Msg::Cluster(index, msg)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        };
        run(index, client, tx).await;
    });
    set
}

async fn run(index: usize, client: Client, tx: mpsc::Sender<Msg>) {
    // Watch errors wake the probe so a lost cluster shows as such within a second.
    let wake = Arc::new(Notify::new());
    let mut tasks = JoinSet::new();
    tasks.spawn(probe(index, client.clone(), tx.clone(), wake.clone()));
    tasks.spawn(watch::<Pod, _>(
        Api::all(client.clone()),
        index,
        tx.clone(),
        wake.clone(),
        summarize::pod,
        PodSummary::key,
        ClusterMsg::Pods,
    ));
    tasks.spawn(watch::<Deployment, _>(
        Api::all(client.clone()),
        index,
        tx.clone(),
        wake.clone(),
        summarize::deployment,
        DeploymentSummary::key,
        ClusterMsg::Deployments,
    ));
    tasks.spawn(watch::<DaemonSet, _>(
        Api::all(client.clone()),
        index,
        tx.clone(),
        wake.clone(),
        summarize::daemonset,
        DaemonSetSummary::key,
        ClusterMsg::DaemonSets,
    ));
    tasks.spawn(watch_policies(
        client.clone(),
        index,
        tx.clone(),
        wake.clone(),
    ));
    tasks.spawn(watch::<Event, _>(
        Api::all(client),
        index,
        tx,
        wake,
        summarize::event,
        EventSummary::key,
        ClusterMsg::Events,
    ));
    while tasks.join_next().await.is_some() {}
}

async fn probe(index: usize, client: Client, tx: mpsc::Sender<Msg>, wake: Arc<Notify>) {
    let mut up: Option<bool> = None;
    loop {
        let answer = tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await;
        let msg = match answer {
            Ok(Ok(_)) if up != Some(true) => {
                up = Some(true);
                Some(ClusterMsg::Reachable)
            }
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                up = Some(false);
                Some(ClusterMsg::Unreachable {
                    at: clock::now(),
                    error: short_error(&e.to_string()),
                })
            }
            Err(_) => {
                up = Some(false);
                Some(ClusterMsg::Unreachable {
                    at: clock::now(),
                    error: format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
                })
            }
        };
        if let Some(msg) = msg
            && tx.send(Msg::Cluster(index, msg)).await.is_err()
        {
            return;
        }
        let interval = if up == Some(true) {
            PROBE_INTERVAL_UP
        } else {
            PROBE_INTERVAL_DOWN
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = wake.notified() => {}
        }
    }
}

/// How long to wait before looking again for a policy kind the cluster does not serve.
const ABSENT_KIND_RETRY: Duration = Duration::from_secs(60);

/// AuthorizationPolicies are a custom resource: a cluster without Istio does not serve
/// them, which is a fact to show (no policies), not an error to repeat.
async fn watch_policies(client: Client, index: usize, tx: mpsc::Sender<Msg>, wake: Arc<Notify>) {
    let gvk = GroupVersionKind::gvk("security.istio.io", "v1", "AuthorizationPolicy");
    let resource = ApiResource::from_gvk(&gvk);
    loop {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let stream = watcher(api, watcher::Config::default()).backoff(QuickBackoff::default());
        let mut stream = std::pin::pin!(stream);
        let mut initial = Vec::new();
        let summarize = |o: &DynamicObject| {
            summarize::policy(
                o.metadata.namespace.as_deref(),
                o.metadata.name.as_deref(),
                o.data.get("spec"),
                o.metadata
                    .creation_timestamp
                    .as_ref()
                    .and_then(|t| summarize::to_chrono(&t.0)),
            )
        };
        let absent = loop {
            let Some(item) = stream.next().await else {
                break false;
            };
            let msg = match item {
                Ok(watcher::Event::Init) => {
                    initial.clear();
                    continue;
                }
                Ok(watcher::Event::InitApply(o)) => {
                    initial.push(summarize(&o));
                    continue;
                }
                Ok(watcher::Event::InitDone) => ResourceMsg::Reset(std::mem::take(&mut initial)),
                Ok(watcher::Event::Apply(o)) => ResourceMsg::Applied(summarize(&o)),
                Ok(watcher::Event::Delete(o)) => ResourceMsg::Deleted(summarize(&o).key()),
                Err(e) if is_not_found(&e) => break true,
                Err(e) => {
                    tracing::debug!(cluster = index, error = %e, "policy watch failed; retrying");
                    wake.notify_one();
                    continue;
                }
            };
            if tx
                .send(Msg::Cluster(index, ClusterMsg::Policies(msg)))
                .await
                .is_err()
            {
                return;
            }
        };
        if absent {
            let none = ClusterMsg::Policies(ResourceMsg::Reset(Vec::new()));
            if tx.send(Msg::Cluster(index, none)).await.is_err() {
                return;
            }
            tokio::time::sleep(ABSENT_KIND_RETRY).await;
        }
    }
}

fn is_not_found(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(s)) | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            if s.code == 404
    )
}

/// Errors from hyper chains get long; the pane has one line for them.
fn short_error(e: &str) -> String {
    e.split(": ").last().unwrap_or(e).to_string()
}

#[allow(clippy::too_many_arguments)]
async fn watch<K, S>(
    api: Api<K>,
    index: usize,
    tx: mpsc::Sender<Msg>,
    wake: Arc<Notify>,
    summarize: fn(&K) -> S,
    key: fn(&S) -> PodKey,
    wrap: fn(ResourceMsg<S>) -> ClusterMsg,
) where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    S: Send + 'static,
{
    let stream = watcher(api, watcher::Config::default()).backoff(QuickBackoff::default());
    let mut stream = std::pin::pin!(stream);
    let mut initial: Vec<S> = Vec::new();
    while let Some(item) = stream.next().await {
        let msg = match item {
            Ok(watcher::Event::Init) => {
                initial.clear();
                continue;
            }
            Ok(watcher::Event::InitApply(obj)) => {
                initial.push(summarize(&obj));
                continue;
            }
            Ok(watcher::Event::InitDone) => wrap(ResourceMsg::Reset(std::mem::take(&mut initial))),
            Ok(watcher::Event::Apply(obj)) => wrap(ResourceMsg::Applied(summarize(&obj))),
            Ok(watcher::Event::Delete(obj)) => wrap(ResourceMsg::Deleted(key(&summarize(&obj)))),
            Err(e) => {
                tracing::debug!(cluster = index, error = %e, "watch failed; retrying");
                wake.notify_one();
                ClusterMsg::WatchError(short_error(&e.to_string()))
            }
        };
        if tx.send(Msg::Cluster(index, msg)).await.is_err() {
            return;
        }
    }
}
