//! One pod's log, for the log view and `control-room logs CLUSTER/NAMESPACE/POD`: the pod
//! looked up (a Deployment's newest Ready pod, when a deployment row was chosen), its
//! containers said (the view asks which one when there are several), the chosen one read
//! by a [`Stream`]; and when the pod goes away, the pod that replaced it — the newest Ready
//! pod of the same Deployment — offered.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::ListParams;
use kube::{Api, Client};

use super::Sender;
use super::stream::{End, Stream};
use crate::msg::logs::{ContainerName, LogNews, LogWindow, PodLogTarget, PodRef, StreamInfo};
use crate::sources::backoff::QuickBackoff;
use crate::sources::clients::ClientPool;
use crate::sources::cluster::summarize;
use crate::sources::kubeconfig::describe_error;
use crate::text::inert;

/// The annotation `kubectl logs` reads for the container to show when none is named.
pub const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";
/// How often a replacement is looked for once the pod went.
const REPLACEMENT_POLL: Duration = Duration::from_secs(1);

pub async fn run(pool: ClientPool, send: Sender, target: PodLogTarget, window: LogWindow) {
    let client = match pool.client(target.cluster).await {
        Ok(c) => c,
        Err(e) => {
            send.news(LogNews::Refused(inert(&e))).await;
            return;
        }
    };
    let mut backoff = QuickBackoff::new(Duration::from_millis(300), Duration::from_secs(3));
    let pod = loop {
        match find(&client, &target).await {
            Ok(pod) => break pod,
            Err(Missing::NotThere(why)) => {
                send.news(LogNews::Refused(inert(&why))).await;
                return;
            }
            // Said on the stream that will be: the view shows it the same way.
            Err(Missing::Unreachable(why)) => {
                let why = inert(&why);
                if !send.news(LogNews::Trouble { stream: 0, why }).await {
                    return;
                }
                tokio::time::sleep(backoff.next().unwrap_or_default()).await;
            }
        }
    };
    let name = pod.metadata.name.clone().unwrap_or_default();
    let containers = containers_of(&pod);
    let default = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEFAULT_CONTAINER))
        .cloned();
    let plain: Vec<&ContainerName> = containers.iter().filter(|c| !c.init).collect();
    let chosen = match &target.container {
        Some(c) if containers.iter().any(|k| &k.name == c) => Some(c.clone()),
        Some(c) => {
            let names: Vec<&str> = containers.iter().map(|k| k.name.as_str()).collect();
            let why = format!(
                "pod {name} has no container {c}; it has: {}",
                names.join(", ")
            );
            send.news(LogNews::Refused(inert(&why))).await;
            return;
        }
        None if plain.len() == 1 => plain.first().map(|c| c.name.clone()),
        None => None,
    };
    let news = LogNews::Pod {
        name: inert(&name),
        containers: containers.clone(),
        chosen: chosen.clone(),
        default,
    };
    if !send.news(news).await {
        return;
    }
    let Some(container) = chosen else {
        if plain.is_empty() {
            let why = format!("pod {name} has no containers");
            send.news(LogNews::Refused(why)).await;
        }
        return;
    };
    let info = StreamInfo {
        cluster: target.cluster,
        namespace: target.namespace.clone(),
        pod: name.clone(),
        container: container.clone(),
        several: plain.len() > 1,
    };
    if !send.news(LogNews::Stream { stream: 0, info }).await {
        return;
    }
    let stream = Stream {
        pods: Api::namespaced(client.clone(), &target.namespace),
        stream: 0,
        pod: name.clone(),
        uid: pod.metadata.uid.clone(),
        container,
        previous: target.previous,
        window,
    };
    let ended = match stream.run(&send).await {
        End::Closed => return,
        End::Refused(why) => {
            send.news(LogNews::Refused(inert(&why))).await;
            return;
        }
        End::Done(why) => (why, false),
        End::Gone(why) => (why, true),
    };
    let (why, gone) = ended;
    if !send
        .news(LogNews::Ended {
            stream: 0,
            why: inert(&why),
        })
        .await
    {
        return;
    }
    if gone
        && window.follow
        && let Some(by) = replacement(&client, &target.namespace, &pod).await
    {
        send.news(LogNews::Replaced { by: inert(&by) }).await;
    }
}

/// Why no pod was found.
enum Missing {
    NotThere(String),
    Unreachable(String),
}

async fn find(client: &Client, target: &PodLogTarget) -> Result<Pod, Missing> {
    let ns = &target.namespace;
    match &target.pod {
        PodRef::Pod(name) => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
            match pods.get_opt(name).await {
                Ok(Some(pod)) => Ok(pod),
                Ok(None) => Err(Missing::NotThere(format!("pod {ns}/{name} not found"))),
                Err(e) => Err(Missing::Unreachable(describe_error(&e))),
            }
        }
        PodRef::NewestReadyOf(deployment) => {
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let d = match deployments.get_opt(deployment).await {
                Ok(Some(d)) => d,
                Ok(None) => {
                    let why = format!("deployment {ns}/{deployment} not found");
                    return Err(Missing::NotThere(why));
                }
                Err(e) => return Err(Missing::Unreachable(describe_error(&e))),
            };
            let selector = d.spec.as_ref().map(|s| selector_string(&s.selector));
            let Some(selector) = selector.filter(|s| !s.is_empty()) else {
                let why = format!("deployment {ns}/{deployment} selects its pods by no label");
                return Err(Missing::NotThere(why));
            };
            match newest(client, ns, &selector, None).await {
                Ok(Some(pod)) => Ok(pod),
                Ok(None) => Err(Missing::NotThere(format!(
                    "deployment {ns}/{deployment} has no pods"
                ))),
                Err(e) => Err(Missing::Unreachable(e)),
            }
        }
    }
}

/// The newest Ready, not terminating pod `selector` picks (other than `not`); without one,
/// the newest not terminating pod at all — a crash-looping Deployment's logs are the ones
/// an operator wants.
async fn newest(
    client: &Client,
    namespace: &str,
    selector: &str,
    not: Option<&str>,
) -> Result<Option<Pod>, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| describe_error(&e))?;
    let mut candidates: Vec<(bool, Option<_>, Pod)> = list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| not.is_none_or(|n| p.metadata.name.as_deref() != Some(n)))
        .map(|p| {
            let ready = summarize::pod(&p).is_ready();
            let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            (ready, created, p)
        })
        .collect();
    // Ready first, then the newest, then by name so the choice is stable.
    candidates.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.2.metadata.name.cmp(&b.2.metadata.name))
    });
    Ok(candidates.into_iter().next().map(|(_, _, p)| p))
}

/// The pod a rollout put in place of `old`: the newest Ready pod of the Deployment that
/// owns `old`'s ReplicaSet, looked for until one is Ready. `None` when `old` belonged to no
/// Deployment (nothing will replace it).
async fn replacement(client: &Client, namespace: &str, old: &Pod) -> Option<String> {
    let rs_name = old
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "ReplicaSet")?
        .name
        .clone();
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let old_name = old.metadata.name.as_deref();
    let mut deployment = None;
    loop {
        if deployment.is_none() {
            deployment = match replica_sets.get_opt(&rs_name).await {
                Ok(Some(rs)) => Some(
                    rs.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .find(|o| o.kind == "Deployment")?
                        .name
                        .clone(),
                ),
                Ok(None) => return None,
                Err(_) => None,
            };
        }
        if let Some(name) = &deployment {
            let selector = match deployments.get_opt(name).await {
                Ok(Some(d)) => d.spec.map(|s| selector_string(&s.selector)),
                Ok(None) => return None,
                Err(_) => None,
            };
            if let Some(selector) = selector.filter(|s| !s.is_empty())
                && let Ok(Some(pod)) = newest(client, namespace, &selector, old_name).await
                && summarize::pod(&pod).is_ready()
            {
                return pod.metadata.name;
            }
        }
        tokio::time::sleep(REPLACEMENT_POLL).await;
    }
}

/// The containers in spec order, then the init containers.
fn containers_of(pod: &Pod) -> Vec<ContainerName> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let plain = spec.containers.iter().map(|c| ContainerName {
        name: inert(&c.name),
        init: false,
    });
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| ContainerName {
            name: inert(&c.name),
            init: true,
        });
    plain.chain(init).collect()
}

/// A label selector as the API's `labelSelector` parameter spells it.
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => continue,
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors_are_spelled_as_the_api_reads_them() {
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), "x".to_string())].into()),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["a".into(), "b".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        assert_eq!(selector_string(&selector), "app=x,tier in (a,b),!canary");
        assert_eq!(selector_string(&LabelSelector::default()), "");
    }
}
