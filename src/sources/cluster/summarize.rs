//! API objects → the slim summaries the model keeps (`msg::cluster`), done as soon as an
//! object arrives so nothing downstream holds a full Pod. The STATUS column is computed as
//! `kubectl get pods` computes it.

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::Value;

use crate::msg::cluster::{
    DaemonSetSummary, DeploymentSummary, EventSummary, PodPhase, PodSummary, PolicySummary,
};

pub fn pod(pod: &Pod) -> PodSummary {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let spec_containers = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    let ready = statuses.iter().filter(|c| c.ready).count();
    let restarts = statuses
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .sum();
    // Kept for every pod: the filter matches on it, and `I` compares images.
    let image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    PodSummary {
        name: meta.name.clone().unwrap_or_default(),
        namespace,
        ready: clamp_u16(ready),
        containers: clamp_u16(spec_containers.max(statuses.len())),
        phase: pod_phase(pod),
        restarts,
        created: meta
            .creation_timestamp
            .as_ref()
            .and_then(|t| to_chrono(&t.0)),
        image,
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        message: pod_message(pod),
        last_restart: statuses
            .iter()
            .filter_map(|c| {
                c.last_state
                    .as_ref()?
                    .terminated
                    .as_ref()?
                    .finished_at
                    .as_ref()
            })
            .filter_map(|t| to_chrono(&t.0))
            .max(),
        ready_since: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .and_then(|c| c.last_transition_time.as_ref())
            .and_then(|t| to_chrono(&t.0)),
    }
}

/// The first thing that says why a pod is not fine: a container's waiting or terminated
/// message, then an unscheduled pod's scheduler message, then the pod's own. Kept short:
/// one line of a pane or the problems view.
fn pod_message(pod: &Pod) -> Option<String> {
    const MAX: usize = 500;
    let status = pod.status.as_ref()?;
    let from_containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find_map(|c| {
            let state = c.state.as_ref()?;
            state
                .waiting
                .as_ref()
                .and_then(|w| w.message.clone())
                .or_else(|| state.terminated.as_ref().and_then(|t| t.message.clone()))
        });
    let from_scheduler = || {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            .and_then(|c| c.message.clone())
    };
    from_containers
        .or_else(from_scheduler)
        .or_else(|| status.message.clone())
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            let one_line = m.replace(['\n', '\r'], " ");
            one_line.chars().take(MAX).collect()
        })
}

/// k8s-openapi speaks jiff; the rest of the program speaks chrono.
pub fn to_chrono(t: &k8s_openapi::jiff::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(t.subsec_nanosecond()).ok()?;
    DateTime::from_timestamp(t.as_second(), nanos)
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The STATUS column as `kubectl get pods` computes it (printers.go `printPod`), reduced
/// to the cases a presenter meets.
fn pod_phase(pod: &Pod) -> PodPhase {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown");
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .unwrap_or_else(|| phase.to_string());

    let mut initializing = false;
    for (i, c) in status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let state = c.state.as_ref();
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            if t.exit_code == 0 {
                continue;
            }
            reason = match &t.reason {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(r) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            let total = pod
                .spec
                .as_ref()
                .map(|s| s.init_containers.as_ref().map_or(0, Vec::len))
                .unwrap_or(0);
            reason = format!("Init:{i}/{total}");
        }
        initializing = true;
        break;
    }

    if !initializing {
        let mut has_running = false;
        for c in status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[])
            .iter()
            .rev()
        {
            let state = c.state.as_ref();
            if let Some(r) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty())
            {
                reason = r.to_string();
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match &t.reason {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".to_string();
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        return if reason == "NodeLost" {
            PodPhase::Unknown(reason)
        } else {
            PodPhase::Terminating
        };
    }
    classify(reason)
}

fn classify(reason: String) -> PodPhase {
    match reason.as_str() {
        "Running" => PodPhase::Running,
        "Pending" | "ContainerCreating" | "PodInitializing" => PodPhase::Starting(reason),
        "Succeeded" | "Completed" => PodPhase::Done(reason),
        "Unknown" => PodPhase::Unknown(reason),
        r if r.starts_with("Init:")
            && !r.contains("Err")
            && !r.contains("BackOff")
            && !r.contains("Exit") =>
        {
            PodPhase::Starting(reason)
        }
        _ => PodPhase::Failing(reason),
    }
}

pub fn deployment(d: &Deployment) -> DeploymentSummary {
    let status = d.status.as_ref();
    let images = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default();
    DeploymentSummary {
        images,
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        status_replicas: status.and_then(|s| s.replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        image: d
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone()),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        unavailable_since: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Available" && c.status == "False")
            .and_then(|c| c.last_transition_time.as_ref())
            .and_then(|t| to_chrono(&t.0)),
    }
}

pub fn daemonset(d: &DaemonSet) -> DaemonSetSummary {
    let status = d.status.as_ref();
    DaemonSetSummary {
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        images: d
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default(),
        desired: status.map(|s| s.desired_number_scheduled).unwrap_or(0),
        ready: status.map(|s| s.number_ready).unwrap_or(0),
    }
}

pub fn event(e: &Event) -> EventSummary {
    let last_seen = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .and_then(|t| to_chrono(&t));
    let object = format!(
        "{}/{}",
        e.involved_object
            .kind
            .as_deref()
            .unwrap_or("?")
            .to_lowercase(),
        e.involved_object.name.as_deref().unwrap_or("?")
    );
    EventSummary {
        namespace: e.metadata.namespace.clone().unwrap_or_default(),
        name: e.metadata.name.clone().unwrap_or_default(),
        warning: e.type_.as_deref() == Some("Warning"),
        reason: e.reason.clone().unwrap_or_default(),
        object,
        message: e.message.clone().unwrap_or_default().replace('\n', " "),
        count: e.count.unwrap_or(1),
        last_seen,
    }
}

/// From an AuthorizationPolicy of any shape; missing or odd fields are tolerated,
/// because a custom resource is whatever its author wrote.
pub fn policy(
    namespace: Option<&str>,
    name: Option<&str>,
    spec: Option<&Value>,
    created: Option<DateTime<Utc>>,
) -> PolicySummary {
    let spec = spec.filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
    let action = match spec {
        None => "DENY ALL".to_string(),
        Some(s) => {
            let action = s
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("ALLOW")
                .to_uppercase();
            let has_rules = s
                .get("rules")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty());
            if action == "ALLOW" && !has_rules {
                "DENY ALL".to_string()
            } else {
                action
            }
        }
    };
    let mut sources = Vec::new();
    for rule in spec
        .and_then(|s| s.get("rules"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for from in rule
            .get("from")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(source) = from.get("source") else {
                continue;
            };
            for key in ["principals", "namespaces"] {
                for v in source
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = v.as_str() {
                        sources.push(s.to_string());
                    }
                }
            }
        }
    }
    PolicySummary {
        namespace: namespace.unwrap_or_default().to_string(),
        name: name.unwrap_or_default().to_string(),
        action,
        sources,
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::cluster::{PodPhase, image_tag};
    use serde_json::json;

    fn api_pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("test pod")
    }

    #[test]
    fn image_tags() {
        assert_eq!(
            image_tag("currency-converter:1.0.0-rugpull"),
            "1.0.0-rugpull"
        );
        assert_eq!(image_tag("localhost:5000/acme/cc:2"), "2");
        assert_eq!(image_tag("localhost:5000/acme/cc"), "latest");
        assert_eq!(image_tag("nginx@sha256:abc"), "latest");
        assert_eq!(image_tag("nginx:1.27@sha256:abc"), "1.27");
    }

    #[test]
    fn running_pod_is_ready_with_tag() {
        let p = pod(&api_pod(json!({
            "metadata": {"name": "cc-1", "namespace": "trustusbank-bank-vendors"},
            "spec": {"containers": [{"name": "c", "image": "currency-converter:1.0.0"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "ready": true, "restartCount": 2, "image": "x", "imageID": "",
                "state": {"running": {}}}]}
        })));
        assert_eq!(p.phase, PodPhase::Running);
        assert!(p.is_ready());
        assert_eq!(p.restarts, 2);
        assert_eq!(p.tag().as_deref(), Some("1.0.0"));
    }

    #[test]
    fn waiting_reasons_and_terminating() {
        let crash = pod(&api_pod(json!({
            "metadata": {"name": "a", "namespace": "istio-system"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "ready": false, "restartCount": 7, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        })));
        assert_eq!(crash.phase, PodPhase::Failing("CrashLoopBackOff".into()));
        assert!(!crash.is_ready());
        assert_eq!(
            crash.tag(),
            None,
            "no tag shown outside the demo's namespaces"
        );

        let creating = pod(&api_pod(json!({
            "metadata": {"name": "b", "namespace": "x"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "c", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}
        })));
        assert_eq!(
            creating.phase,
            PodPhase::Starting("ContainerCreating".into())
        );

        let term = pod(&api_pod(json!({
            "metadata": {"name": "c", "namespace": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running"}
        })));
        assert_eq!(term.phase, PodPhase::Terminating);
    }

    #[test]
    fn empty_pod_does_not_panic() {
        let p = pod(&Pod::default());
        assert_eq!(p.phase, PodPhase::Unknown("Unknown".into()));
        assert_eq!(p.containers, 0);
    }

    #[test]
    fn reads_the_demo_policies() {
        let empty = policy(Some("v"), Some("default-deny"), Some(&json!({})), None);
        assert_eq!(empty.action, "DENY ALL");
        let none = policy(Some("v"), Some("x"), None, None);
        assert_eq!(none.action, "DENY ALL");
        let deny = policy(
            Some("external-attacker"),
            Some("deny-vendor-to-attacker"),
            Some(&json!({"action": "DENY", "rules": [{"from": [{"source": {
                "principals": ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]}}]}]})),
            None,
        );
        assert_eq!(deny.action, "DENY");
        assert_eq!(
            deny.sources,
            ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]
        );
        let odd = policy(
            None,
            None,
            Some(&json!({"action": 7, "rules": "nope"})),
            None,
        );
        assert_eq!(odd.action, "DENY ALL");
    }
}
