//! The EndpointSlice controller: every Service with a selector has one EndpointSlice
//! (`kubernetes.io/service-name=<svc>`) listing the pods it selects that have an IP, ready or
//! not, terminating ones marked so, as kube-controller-manager keeps them. A rollout, a scale
//! or a pod that stops being ready shows in the slice; a slice deleted by hand comes back.

use serde_json::{Map, Value, json};

use super::Controller;
use super::fields::{pod_ready, str_at, terminating};
use crate::store::StoreError;
use crate::store::history::Event;

pub const API_VERSION: &str = "discovery.k8s.io/v1";
pub const KIND: &str = "EndpointSlice";
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// What a Service's slice should hold: its endpoints, ports and labels.
#[derive(Debug, PartialEq)]
pub struct Desired {
    pub endpoints: Vec<Value>,
    pub ports: Vec<Value>,
    pub labels: Map<String, Value>,
}

fn selects(selector: &Map<String, Value>, pod: &Value) -> bool {
    let labels = pod.pointer("/metadata/labels");
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The container port a Service's `targetPort` names or numbers, for one pod.
fn resolve(target: Option<&Value>, port: &Value, pod: &Value) -> Option<i64> {
    match target {
        None => port.as_i64(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => {
            if let Ok(n) = name.parse::<i64>() {
                return Some(n);
            }
            pod.pointer("/spec/containers")?
                .as_array()?
                .iter()
                .filter_map(|c| c.get("ports")?.as_array())
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))?
                .get("containerPort")?
                .as_i64()
        }
        Some(_) => None,
    }
}

/// The slice `service` should have over `pods` (all of its namespace); `None` when the
/// Service has no selector (its endpoints are someone else's to manage).
pub fn desired(service: &Value, pods: &[Value]) -> Option<Desired> {
    let selector = service.pointer("/spec/selector")?.as_object()?;
    if selector.is_empty() {
        return None;
    }
    let service_ports: Vec<&Value> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let mut selected: Vec<&Value> = pods
        .iter()
        .filter(|p| selects(selector, p))
        .filter(|p| !str_at(p, "/status/podIP").is_empty())
        .filter(|p| !matches!(str_at(p, "/status/phase"), "Succeeded" | "Failed"))
        .collect();
    selected.sort_by_key(|p| str_at(p, "/metadata/name").to_string());
    let mut ports = Vec::new();
    if let Some(first) = selected.first() {
        for p in &service_ports {
            let port = p.get("port").unwrap_or(&Value::Null);
            let Some(number) = resolve(p.get("targetPort"), port, first) else {
                continue;
            };
            let mut port = json!({
                "port": number,
                "protocol": p.get("protocol").and_then(Value::as_str).unwrap_or("TCP"),
            });
            if let Some(name) = p.get("name").and_then(Value::as_str) {
                port["name"] = json!(name);
            }
            ports.push(port);
        }
    }
    let endpoints = selected
        .iter()
        .map(|pod| {
            let gone = terminating(pod);
            let ready = pod_ready(pod);
            let mut endpoint = json!({
                "addresses": [str_at(pod, "/status/podIP")],
                "conditions": {"ready": ready && !gone, "serving": ready, "terminating": gone},
                "targetRef": {
                    "kind": "Pod",
                    "name": str_at(pod, "/metadata/name"),
                    "namespace": str_at(pod, "/metadata/namespace"),
                    "uid": str_at(pod, "/metadata/uid"),
                },
            });
            let node = str_at(pod, "/spec/nodeName");
            if !node.is_empty() {
                endpoint["nodeName"] = json!(node);
            }
            endpoint
        })
        .collect();
    let name = str_at(service, "/metadata/name");
    let mut labels = service
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(MANAGED_BY.into(), json!(CONTROLLER));
    labels.insert(SERVICE_NAME.into(), json!(name));
    Some(Desired {
        endpoints,
        ports,
        labels,
    })
}

/// A new slice object for `service` holding `d`, named `name` (or generated from
/// `<svc>-` when `None`).
pub fn slice_object(service: &Value, d: &Desired, name: Option<&str>, trigger: &str) -> Value {
    let svc = str_at(service, "/metadata/name");
    let mut meta = json!({
        "generateName": format!("{svc}-"),
        "namespace": str_at(service, "/metadata/namespace"),
        "labels": d.labels,
        "annotations": {TRIGGER_TIME: trigger},
        "ownerReferences": [{
            "apiVersion": "v1", "kind": "Service", "name": svc,
            "uid": str_at(service, "/metadata/uid"),
            "controller": true, "blockOwnerDeletion": true,
        }],
    });
    if let Some(name) = name {
        meta["name"] = json!(name);
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": meta,
        "addressType": "IPv4",
        "endpoints": d.endpoints,
        "ports": d.ports,
    })
}

fn ours<'a>(slices: &'a [Value], service: &str) -> Vec<&'a Value> {
    slices
        .iter()
        .filter(|s| {
            s.pointer("/metadata/labels").is_some_and(|l| {
                l.get(SERVICE_NAME).and_then(Value::as_str) == Some(service)
                    && l.get(MANAGED_BY).and_then(Value::as_str) == Some(CONTROLLER)
            })
        })
        .collect()
}

/// The Services of `namespace` whose slices an event of a pod there may change.
pub(super) fn observe_pod(ctl: &mut Controller, event: &Event) {
    let namespace = event.object.namespace.as_ref();
    let (services, _) = ctl.store.list("v1", "Service", Some(namespace));
    if services.is_empty() {
        return;
    }
    let now = event.object.to_value();
    let before = event.prev.as_ref().map(|p| p.to_value());
    for service in &services {
        let Some(selector) = service.pointer("/spec/selector").and_then(Value::as_object) else {
            continue;
        };
        if selector.is_empty() {
            continue;
        }
        if selects(selector, &now) || before.as_ref().is_some_and(|b| selects(selector, b)) {
            let name = str_at(service, "/metadata/name").to_string();
            ctl.enqueue(super::Key::Endpoints(namespace.to_string(), name));
        }
    }
}

/// A slice changed (by us, or by someone else): look at its Service again.
pub(super) fn observe_slice(ctl: &mut Controller, event: &Event) {
    let slice = event.object.to_value();
    let labels = slice.pointer("/metadata/labels");
    if labels
        .and_then(|l| l.get(MANAGED_BY))
        .and_then(Value::as_str)
        != Some(CONTROLLER)
    {
        return;
    }
    if let Some(service) = labels
        .and_then(|l| l.get(SERVICE_NAME))
        .and_then(Value::as_str)
    {
        ctl.enqueue(super::Key::Endpoints(
            event.object.namespace.to_string(),
            service.to_string(),
        ));
    }
}

/// Make the Service's slice what it should be.
pub(super) fn sync(ctl: &mut Controller, namespace: &str, name: &str) -> Result<(), StoreError> {
    let (slices, _) = ctl.store.list(API_VERSION, KIND, Some(namespace));
    let mine = ours(&slices, name);
    let service = ctl.store.get("v1", "Service", Some(namespace), name);
    let wanted = match &service {
        Some(service) => {
            let (pods, _) = ctl.store.list("v1", "Pod", Some(namespace));
            desired(service, &pods)
        }
        None => None,
    };
    let (Some(service), Some(wanted)) = (service, wanted) else {
        for slice in mine {
            delete(ctl, namespace, slice)?;
        }
        return Ok(());
    };
    let now = crate::store::timestamp(chrono::Utc::now());
    let Some((first, extra)) = mine.split_first() else {
        ctl.store
            .create(slice_object(&service, &wanted, None, &now))?;
        return Ok(());
    };
    for slice in extra {
        delete(ctl, namespace, slice)?;
    }
    let current = Desired {
        endpoints: array(first, "endpoints"),
        ports: array(first, "ports"),
        labels: first
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    if current == wanted {
        return Ok(());
    }
    let mut updated = (*first).clone();
    updated["endpoints"] = json!(wanted.endpoints);
    updated["ports"] = json!(wanted.ports);
    super::fields::set(&mut updated, &["metadata", "labels"], json!(wanted.labels));
    super::fields::set(
        &mut updated,
        &["metadata", "annotations", TRIGGER_TIME],
        json!(now),
    );
    ctl.store.update(updated)?;
    Ok(())
}

fn array(obj: &Value, key: &str) -> Vec<Value> {
    obj.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn delete(ctl: &Controller, namespace: &str, slice: &Value) -> Result<(), StoreError> {
    let name = str_at(slice, "/metadata/name");
    match ctl.store.delete(API_VERSION, KIND, Some(namespace), name) {
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool, app: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("u-{name}"), "labels": {"app": app}},
               "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 8080}]}]},
               "status": {"podIP": ip, "phase": "Running",
                          "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    #[test]
    fn slices_follow_the_selected_pods() {
        let svc = json!({"metadata": {"name": "s", "namespace": "ns", "uid": "su", "labels": {"app": "s", "istio.io/global": "true"}},
                         "spec": {"selector": {"app": "s"}, "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}});
        let pods = [
            pod("s-2", "10.0.0.2", false, "s"),
            pod("s-1", "10.0.0.1", true, "s"),
            pod("other", "10.0.0.3", true, "o"),
            pod("s-3", "", true, "s"),
        ];
        let d = desired(&svc, &pods).unwrap();
        assert_eq!(d.endpoints.len(), 2);
        assert_eq!(d.endpoints[0]["addresses"], json!(["10.0.0.1"]));
        assert_eq!(d.endpoints[1]["conditions"]["ready"], false);
        assert_eq!(
            d.ports,
            [json!({"name": "http", "port": 8080, "protocol": "TCP"})]
        );
        assert_eq!(d.labels["istio.io/global"], "true");
        assert_eq!(d.labels[SERVICE_NAME], "s");
        let obj = slice_object(&svc, &d, Some("s-abcde"), "2026-01-01T00:00:00Z");
        assert_eq!(obj["metadata"]["ownerReferences"][0]["uid"], "su");
        let headless = json!({"metadata": {"name": "k"}, "spec": {"ports": []}});
        assert!(desired(&headless, &pods).is_none());
    }
}
