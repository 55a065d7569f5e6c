//! What the detail and events views read, kept live: the one object (a pod by name, or a
//! deployment with its ReplicaSets) and its events, each through a watch of its own so the
//! view never goes stale. Every message carries the request's id; the task is aborted when
//! the view closes or looks at something else.
//!
//! Events are selected the way `kubectl describe` selects them, by `involvedObject` field
//! selectors, which every API server serves (and the simulator too).

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;

use super::backoff::QuickBackoff;
use super::clients::ClientPool;
use super::cluster::summarize::{self, to_chrono};
use super::kubeconfig::describe_error;
use crate::msg::Msg;
use crate::msg::cluster::ResourceMsg;
use crate::msg::inspect::{
    Condition, ContainerDetail, DeploymentDetail, InspectMsg, InspectNews, InspectTarget,
    PodDetail, ReplicaSetDetail,
};

/// Reads `target` until the receiver goes or the task is aborted.
pub async fn run(pool: ClientPool, id: u64, target: InspectTarget, tx: mpsc::Sender<Msg>) {
    let send = Sender { id, tx };
    let client = match pool.client(target.cluster()).await {
        Ok(c) => c,
        Err(e) => {
            send.news(InspectNews::Trouble(e)).await;
            return;
        }
    };
    let events = watch_events(client.clone(), &target, send.clone());
    match &target {
        InspectTarget::Pod {
            namespace, name, ..
        } => {
            let pod = watch_pod(client, namespace.clone(), name.clone(), send);
            tokio::join!(pod, events);
        }
        InspectTarget::Deployment {
            namespace, name, ..
        } => {
            let deployment = watch_deployment(client, namespace.clone(), name.clone(), send);
            tokio::join!(deployment, events);
        }
        InspectTarget::Namespace { .. } => events.await,
    }
}

#[derive(Clone)]
struct Sender {
    id: u64,
    tx: mpsc::Sender<Msg>,
}

impl Sender {
    /// False once nobody listens.
    async fn news(&self, news: InspectNews) -> bool {
        self.tx
            .send(Msg::Inspect(InspectMsg { id: self.id, news }))
            .await
            .is_ok()
    }
}

fn trouble(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => describe_error(k),
        other => other.to_string(),
    }
}

/// The field selector `kubectl describe` uses for an object's events.
fn event_selector(target: &InspectTarget) -> Option<String> {
    match target {
        InspectTarget::Pod {
            namespace, name, ..
        } => Some(format!(
            "involvedObject.kind=Pod,involvedObject.name={name},involvedObject.namespace={namespace}"
        )),
        InspectTarget::Deployment {
            namespace, name, ..
        } => Some(format!(
            "involvedObject.kind=Deployment,involvedObject.name={name},involvedObject.namespace={namespace}"
        )),
        InspectTarget::Namespace { .. } => None,
    }
}

async fn watch_events(client: Client, target: &InspectTarget, send: Sender) {
    let api: Api<Event> = Api::namespaced(client, target.namespace());
    let mut config = watcher::Config::default();
    if let Some(fields) = event_selector(target) {
        config = config.fields(&fields);
    }
    let stream = watcher(api, config).backoff(QuickBackoff::default());
    let mut stream = std::pin::pin!(stream);
    let mut initial = Vec::new();
    while let Some(item) = stream.next().await {
        let msg = match item {
            Ok(watcher::Event::Init) => {
                initial.clear();
                continue;
            }
            Ok(watcher::Event::InitApply(e)) => {
                initial.push(summarize::event(&e));
                continue;
            }
            Ok(watcher::Event::InitDone) => ResourceMsg::Reset(std::mem::take(&mut initial)),
            Ok(watcher::Event::Apply(e)) => ResourceMsg::Applied(summarize::event(&e)),
            Ok(watcher::Event::Delete(e)) => ResourceMsg::Deleted(summarize::event(&e).key()),
            Err(e) => {
                if !send.news(InspectNews::Trouble(trouble(&e))).await {
                    return;
                }
                continue;
            }
        };
        if !send.news(InspectNews::Events(msg)).await {
            return;
        }
    }
}

async fn watch_pod(client: Client, namespace: String, name: String, send: Sender) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher(pods, config).backoff(QuickBackoff::default());
    let mut stream = std::pin::pin!(stream);
    // The owner chain is read once per owner: a pod's owners do not change under it.
    let mut owners: Option<(Vec<String>, Vec<String>)> = None;
    let mut seen = false;
    while let Some(item) = stream.next().await {
        let news = match item {
            Ok(watcher::Event::Init) => {
                seen = false;
                continue;
            }
            Ok(watcher::Event::InitApply(p) | watcher::Event::Apply(p)) => {
                seen = true;
                let direct = direct_owners(&p.metadata.owner_references);
                let chain = match &owners {
                    Some((of, chain)) if *of == direct => chain.clone(),
                    _ => {
                        let chain = owner_chain(&replica_sets, &direct).await;
                        owners = Some((direct, chain.clone()));
                        chain
                    }
                };
                InspectNews::Pod(Box::new(pod_detail(&p, chain)))
            }
            Ok(watcher::Event::InitDone) if !seen => InspectNews::Gone,
            Ok(watcher::Event::InitDone) => continue,
            Ok(watcher::Event::Delete(_)) => InspectNews::Gone,
            Err(e) => InspectNews::Trouble(trouble(&e)),
        };
        if !send.news(news).await {
            return;
        }
    }
}

fn direct_owners(
    refs: &Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>>,
) -> Vec<String> {
    refs.iter()
        .flatten()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect()
}

/// The pod's owners, nearest first: its ReplicaSet, and the Deployment that owns that.
async fn owner_chain(replica_sets: &Api<ReplicaSet>, direct: &[String]) -> Vec<String> {
    let mut chain = Vec::new();
    for owner in direct {
        chain.push(owner.clone());
        if let Some(rs) = owner.strip_prefix("ReplicaSet/")
            && let Ok(Some(rs)) = replica_sets.get_opt(rs).await
        {
            chain.extend(direct_owners(&rs.metadata.owner_references));
        }
    }
    chain
}

fn container_detail(
    name: &str,
    image: &str,
    status: Option<&ContainerStatus>,
    init: bool,
) -> ContainerDetail {
    let state = status.and_then(|s| s.state.as_ref());
    let (state_name, reason, message, since, exit_code) = match state {
        Some(s) if s.running.is_some() => (
            "Running",
            None,
            None,
            s.running
                .as_ref()
                .and_then(|r| r.started_at.as_ref())
                .and_then(|t| to_chrono(&t.0)),
            None,
        ),
        Some(s) if s.terminated.is_some() => {
            let t = s.terminated.as_ref();
            (
                "Terminated",
                t.and_then(|t| t.reason.clone()),
                t.and_then(|t| t.message.clone()),
                t.and_then(|t| t.finished_at.as_ref())
                    .and_then(|t| to_chrono(&t.0)),
                t.map(|t| t.exit_code),
            )
        }
        Some(s) if s.waiting.is_some() => {
            let w = s.waiting.as_ref();
            (
                "Waiting",
                w.and_then(|w| w.reason.clone()),
                w.and_then(|w| w.message.clone()),
                None,
                None,
            )
        }
        _ => ("Waiting", None, None, None, None),
    };
    let last_termination = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|l| l.terminated.as_ref())
        .map(|t| {
            (
                t.reason.clone().unwrap_or_else(|| "Terminated".into()),
                t.exit_code,
                t.finished_at.as_ref().and_then(|f| to_chrono(&f.0)),
            )
        });
    ContainerDetail {
        name: name.to_string(),
        image: status
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| image.to_string()),
        state: state_name.to_string(),
        reason,
        message,
        since,
        exit_code,
        ready: status.is_some_and(|s| s.ready),
        restarts: status
            .map(|s| u32::try_from(s.restart_count).unwrap_or(0))
            .unwrap_or(0),
        last_termination,
        init,
    }
}

pub fn pod_detail(p: &Pod, owners: Vec<String>) -> PodDetail {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let statuses_of = |list: Option<&Vec<ContainerStatus>>| -> BTreeMap<String, ContainerStatus> {
        list.into_iter()
            .flatten()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    };
    let init_statuses = statuses_of(status.and_then(|s| s.init_container_statuses.as_ref()));
    let statuses = statuses_of(status.and_then(|s| s.container_statuses.as_ref()));
    let mut containers = Vec::new();
    for c in spec
        .and_then(|s| s.init_containers.as_ref())
        .into_iter()
        .flatten()
    {
        containers.push(container_detail(
            &c.name,
            c.image.as_deref().unwrap_or(""),
            init_statuses.get(&c.name),
            true,
        ));
    }
    for c in spec.map(|s| s.containers.as_slice()).unwrap_or(&[]) {
        containers.push(container_detail(
            &c.name,
            c.image.as_deref().unwrap_or(""),
            statuses.get(&c.name),
            false,
        ));
    }
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    PodDetail {
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: p.metadata.uid.clone().unwrap_or_default(),
        node: spec.and_then(|s| s.node_name.clone()),
        ip: status.and_then(|s| s.pod_ip.clone()),
        // `kubectl describe` says Terminating once a deletion is under way.
        status: if p.metadata.deletion_timestamp.is_some() {
            "Terminating".into()
        } else {
            phase
        },
        qos: status.and_then(|s| s.qos_class.clone()),
        labels: p.metadata.labels.clone().unwrap_or_default(),
        owners,
        containers,
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| Condition {
                kind: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect(),
        created: p
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| to_chrono(&t.0)),
        started: status
            .and_then(|s| s.start_time.as_ref())
            .and_then(|t| to_chrono(&t.0)),
    }
}

async fn watch_deployment(client: Client, namespace: String, name: String, send: Sender) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client, &namespace);
    let one = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let deployment_stream = watcher(deployments, one).backoff(QuickBackoff::default());
    let rs_stream =
        watcher(replica_sets, watcher::Config::default()).backoff(QuickBackoff::default());
    let mut deployment_stream = std::pin::pin!(deployment_stream);
    let mut rs_stream = std::pin::pin!(rs_stream);

    let mut current: Option<Deployment> = None;
    let mut seen = false;
    // Every ReplicaSet of the namespace, by name; the deployment's are picked by owner uid.
    let mut all_rs: BTreeMap<String, ReplicaSet> = BTreeMap::new();
    let mut rs_initial: BTreeMap<String, ReplicaSet> = BTreeMap::new();
    loop {
        let news = tokio::select! {
            item = deployment_stream.next() => match item {
                None => return,
                Some(Ok(watcher::Event::Init)) => { seen = false; continue }
                Some(Ok(watcher::Event::InitApply(d) | watcher::Event::Apply(d))) => {
                    seen = true;
                    current = Some(d);
                    None
                }
                Some(Ok(watcher::Event::InitDone)) if !seen => {
                    current = None;
                    Some(InspectNews::Gone)
                }
                Some(Ok(watcher::Event::InitDone)) => None,
                Some(Ok(watcher::Event::Delete(_))) => {
                    current = None;
                    Some(InspectNews::Gone)
                }
                Some(Err(e)) => Some(InspectNews::Trouble(trouble(&e))),
            },
            item = rs_stream.next() => match item {
                None => return,
                Some(Ok(watcher::Event::Init)) => { rs_initial.clear(); continue }
                Some(Ok(watcher::Event::InitApply(rs))) => {
                    rs_initial.insert(rs.metadata.name.clone().unwrap_or_default(), rs);
                    continue;
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    all_rs = std::mem::take(&mut rs_initial);
                    None
                }
                Some(Ok(watcher::Event::Apply(rs))) => {
                    all_rs.insert(rs.metadata.name.clone().unwrap_or_default(), rs);
                    None
                }
                Some(Ok(watcher::Event::Delete(rs))) => {
                    all_rs.remove(rs.metadata.name.as_deref().unwrap_or_default());
                    None
                }
                Some(Err(e)) => Some(InspectNews::Trouble(trouble(&e))),
            },
        };
        let news = match (news, &current) {
            (Some(n), _) => n,
            (None, Some(d)) => InspectNews::Deployment(Box::new(deployment_detail(d, &all_rs))),
            (None, None) => continue,
        };
        if !send.news(news).await {
            return;
        }
    }
}

pub fn deployment_detail(
    d: &Deployment,
    replica_sets: &BTreeMap<String, ReplicaSet>,
) -> DeploymentDetail {
    let summary = summarize::deployment(d);
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let strategy = spec.and_then(|s| s.strategy.as_ref());
    let (strategy, rolling) = match strategy.and_then(|s| s.type_.as_deref()) {
        Some("Recreate") => ("Recreate".to_string(), None),
        _ => {
            use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
            let params = strategy.and_then(|s| s.rolling_update.as_ref());
            let show = |v: Option<&IntOrString>| match v {
                Some(IntOrString::Int(i)) => i.to_string(),
                Some(IntOrString::String(s)) => s.clone(),
                None => "25%".to_string(),
            };
            let rolling = format!(
                "{} max unavailable, {} max surge",
                show(params.and_then(|r| r.max_unavailable.as_ref())),
                show(params.and_then(|r| r.max_surge.as_ref()))
            );
            ("RollingUpdate".to_string(), Some(rolling))
        }
    };
    let selector = spec
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut sets: Vec<ReplicaSetDetail> = replica_sets
        .values()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && !uid.is_empty())
        })
        .map(|rs| ReplicaSetDetail {
            name: rs.metadata.name.clone().unwrap_or_default(),
            revision: rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("deployment.kubernetes.io/revision").cloned()),
            desired: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            ready: rs
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            images: rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .map(|s| {
                    s.containers
                        .iter()
                        .filter_map(|c| c.image.clone())
                        .collect()
                })
                .unwrap_or_default(),
            created: rs
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(|t| to_chrono(&t.0)),
        })
        .collect();
    // Newest revision first, as a reader looks for the one rolling out.
    sets.sort_by(|a, b| {
        let rev = |r: &ReplicaSetDetail| {
            r.revision
                .as_deref()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        rev(b).cmp(&rev(a)).then(b.created.cmp(&a.created))
    });
    DeploymentDetail {
        namespace: summary.namespace,
        name: summary.name,
        uid,
        desired: summary.replicas,
        updated: summary.updated,
        total: summary.status_replicas,
        ready: summary.ready,
        available: summary.available,
        unavailable: status.and_then(|s| s.unavailable_replicas).unwrap_or(0),
        strategy,
        rolling,
        selector,
        images: summary.images,
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| Condition {
                kind: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect(),
        replica_sets: sets,
        created: d
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| to_chrono(&t.0)),
    }
}
