//! Solo Istio's multi-cluster peering, as far as the demo's cross-cluster calls depend on it:
//! whether a call from one cluster to a Service published on another
//! (`<svc>.<ns>.mesh.internal`) gets through ([`route`]), and the simulated istiod that
//! writes the ServiceEntries and WorkloadEntries of the published Services on every peer
//! ([`spawn`]).
//!
//! A call from consumer C to a Service of producer P needs, as on the real mesh (walkthrough
//! §1, §4–§6): C's istiod to see P (`istio-remote-secret-<P>` in C's `istio-system`), one
//! trust domain on both (istiod's mesh config, which the ServiceMeshController sets), the
//! Service published (`istio.io/global=true`), P's namespace on P's network
//! (`topology.istio.io/network`), a ServiceEntry for the hostname on C with a WorkloadEntry on
//! P's network, and that entry's address to be one of P's nodes now (the east-west gateway's
//! NodePort answers there).
//!
//! The generated entries follow the Services: publishing a Service writes its entries on
//! every peer that has a remote secret for its cluster, unpublishing (or deleting) it removes
//! them, and a peer Gateway's new address moves the entries that point through it. A
//! restart of a cluster's istiod (`kubectl rollout restart deploy/istiod`) rewrites all its
//! entries from scratch. Entries deleted by hand otherwise stay deleted: that is the
//! zero-endpoint ServiceEntry of walkthrough §5.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::Services;
use crate::store::history::EventType;
use crate::store::{ClusterStore, StoreError};
use crate::world::mesh::{self, AUTOGEN_NAMESPACE, GLOBAL_LABEL, MESH_CONFIG};
use crate::world::{CLUSTERS, ClusterSpec};

/// Why a cross-cluster call did not get through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The consumer's istiod has no remote secret for the producer.
    NoRemoteCluster { consumer: String, producer: String },
    /// The two clusters' istiods run with different trust domains: the peering's certificate
    /// checks fail.
    TrustDomains { consumer: String, producer: String },
    /// The Service does not exist on the producer, or is not labelled `istio.io/global=true`.
    NotPublished,
    /// The Service's namespace on the producer carries no (or another)
    /// `topology.istio.io/network`.
    NoNetwork,
    /// No ServiceEntry for the hostname on the consumer.
    NoServiceEntry,
    /// The ServiceEntry selects no WorkloadEntry on the producer's network.
    NoEndpoints,
    /// The WorkloadEntries point at addresses none of the producer's nodes has now.
    StaleAddress(String),
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRemoteCluster { consumer, producer } => {
                write!(f, "istiod on {consumer} has no remote cluster {producer}")
            }
            Self::TrustDomains { consumer, producer } => write!(
                f,
                "trust domains of {consumer} and {producer} differ: peering certificates rejected"
            ),
            Self::NotPublished => f.write_str("the Service is not published (istio.io/global)"),
            Self::NoNetwork => f.write_str("the producer namespace has no network label"),
            Self::NoServiceEntry => f.write_str("no ServiceEntry for the host"),
            Self::NoEndpoints => f.write_str("the ServiceEntry has no endpoints"),
            Self::StaleAddress(a) => write!(f, "no node answers at {a}"),
        }
    }
}

fn spec(short: &str) -> Option<&'static ClusterSpec> {
    CLUSTERS
        .iter()
        .find(|c| c.short == short || c.name == short)
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Whether `store` (the consumer) holds a remote secret for the cluster `producer`.
pub fn has_remote_secret(store: &ClusterStore, producer: &str) -> bool {
    let (secrets, _) = store.list("v1", "Secret", Some("istio-system"));
    secrets.iter().any(|s| {
        s.pointer("/metadata/labels/istio~1multiCluster")
            .and_then(Value::as_str)
            == Some("true")
            && (s
                .pointer("/metadata/annotations/networking.istio.io~1cluster")
                .and_then(Value::as_str)
                == Some(producer)
                || s.pointer("/data").and_then(|d| d.get(producer)).is_some())
    })
}

/// The trust domain istiod runs with (its mesh config); the default when none is given.
pub fn trust_domain(store: &ClusterStore) -> Option<String> {
    match store.get("v1", "ConfigMap", Some("istio-system"), MESH_CONFIG) {
        None => Some(mesh::TRUST_DOMAIN.to_string()),
        Some(cm) => mesh::trust_domain_of(text(&cm, "/data/mesh")),
    }
}

fn is_global(service: &Value) -> bool {
    service
        .pointer("/metadata/labels")
        .and_then(|l| l.get(GLOBAL_LABEL))
        .and_then(Value::as_str)
        == Some("true")
}

fn node_addresses(store: &ClusterStore) -> HashSet<String> {
    let (nodes, _) = store.list("v1", "Node", None);
    nodes
        .iter()
        .flat_map(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
        .filter_map(|a| a.get("address").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Whether a call from `consumer` to `service.namespace.mesh.internal`, served by
/// `producer`, gets through the mesh now.
pub fn route(
    services: &Services,
    consumer: &str,
    producer: &str,
    namespace: &str,
    service: &str,
) -> Result<(), Unreachable> {
    let (Some(c), Some(p)) = (spec(consumer), spec(producer)) else {
        return Err(Unreachable::NotPublished);
    };
    if c.name == p.name {
        return Ok(());
    }
    let (Some(cs), Some(ps)) = (services.store(c.short), services.store(p.short)) else {
        return Err(Unreachable::NotPublished);
    };
    if !has_remote_secret(cs, p.name) {
        return Err(Unreachable::NoRemoteCluster {
            consumer: c.name.into(),
            producer: p.name.into(),
        });
    }
    if trust_domain(cs) != trust_domain(ps) {
        return Err(Unreachable::TrustDomains {
            consumer: c.name.into(),
            producer: p.name.into(),
        });
    }
    let published = ps
        .get("v1", "Service", Some(namespace), service)
        .is_some_and(|s| is_global(&s));
    if !published {
        return Err(Unreachable::NotPublished);
    }
    let network = ps
        .get("v1", "Namespace", None, namespace)
        .map(|ns| text(&ns, "/metadata/labels/topology.istio.io~1network").to_string());
    if network.as_deref() != Some(p.name) {
        return Err(Unreachable::NoNetwork);
    }
    let host = mesh::global_host(namespace, service);
    let (entries, _) = cs.list("networking.istio.io/v1", "ServiceEntry", None);
    let Some(entry) = entries.iter().find(|se| {
        se.pointer("/spec/hosts")
            .and_then(Value::as_array)
            .is_some_and(|h| h.iter().any(|x| x.as_str() == Some(&host)))
    }) else {
        return Err(Unreachable::NoServiceEntry);
    };
    let selector = entry
        .pointer("/spec/workloadSelector/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let namespace_of_entry = text(entry, "/metadata/namespace");
    let (workloads, _) = cs.list(
        "networking.istio.io/v1",
        "WorkloadEntry",
        Some(namespace_of_entry),
    );
    let addresses: Vec<&str> = workloads
        .iter()
        .filter(|we| text(we, "/spec/network") == p.name)
        .filter(|we| {
            !selector.is_empty()
                && selector.iter().all(|(k, v)| {
                    we.pointer("/spec/labels").and_then(|l| l.get(k)) == Some(v)
                        || we.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v)
                })
        })
        .map(|we| text(we, "/spec/address"))
        .collect();
    if addresses.is_empty() {
        return Err(Unreachable::NoEndpoints);
    }
    let nodes = node_addresses(ps);
    if !addresses.iter().any(|a| nodes.contains(*a)) {
        return Err(Unreachable::StaleAddress(addresses.join(",")));
    }
    Ok(())
}

// ---- the simulated istiod's generated entries ----

/// What one Service of a producer publishes: its ports and service account.
struct Published {
    namespace: String,
    name: String,
    service_account: String,
    ports: Vec<mesh::GlobalPort>,
}

fn published(store: &ClusterStore, service: &Value) -> Published {
    let namespace = text(service, "/metadata/namespace").to_string();
    let name = text(service, "/metadata/name").to_string();
    // The identity of the workloads behind it: a selected pod's service account.
    let selector = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (pods, _) = store.list("v1", "Pod", Some(&namespace));
    let service_account = pods
        .iter()
        .find(|p| {
            !selector.is_empty()
                && selector
                    .iter()
                    .all(|(k, v)| p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        .map(|p| text(p, "/spec/serviceAccountName").to_string())
        .filter(|sa| !sa.is_empty())
        .unwrap_or_else(|| name.clone());
    Published {
        ports: mesh::global_ports(service),
        namespace,
        name,
        service_account,
    }
}

/// The address `consumer`'s peer Gateway for `producer` points at.
fn peer_address(consumer: &ClusterStore, producer: &ClusterSpec) -> Option<String> {
    let gw = consumer.get(
        "gateway.networking.k8s.io/v1",
        "Gateway",
        Some("istio-eastwest"),
        &format!("peer-{}", producer.short),
    )?;
    let address = text(&gw, "/spec/addresses/0/value");
    (!address.is_empty()).then(|| address.to_string())
}

/// The entries `consumer`'s istiod wants now: name → object, ServiceEntries and
/// WorkloadEntries.
fn wanted(services: &Services, consumer: &ClusterSpec) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    let Some(cs) = services.store(consumer.short) else {
        return out;
    };
    for producer in consumer.peers() {
        let Some(ps) = services.store(producer.short) else {
            continue;
        };
        if !has_remote_secret(cs, producer.name) {
            continue;
        }
        let address = peer_address(cs, producer);
        let (all, _) = ps.list("v1", "Service", None);
        for service in all.iter().filter(|s| is_global(s)) {
            let p = published(ps, service);
            let se = mesh::service_entry(&p.namespace, &p.name, &p.service_account, &p.ports);
            out.insert(
                ("ServiceEntry".into(), text(&se, "/metadata/name").into()),
                se,
            );
            if let Some(address) = &address {
                let we = mesh::workload_entry(
                    producer,
                    &p.namespace,
                    &p.name,
                    &p.service_account,
                    &p.ports,
                    address,
                );
                out.insert(
                    ("WorkloadEntry".into(), text(&we, "/metadata/name").into()),
                    we,
                );
            }
        }
    }
    out
}

fn is_autogen(obj: &Value) -> bool {
    text(obj, "/metadata/name").starts_with("autogen.")
}

/// Create what is wanted and missing (or, with `rewrite`, different); delete generated
/// entries no longer wanted among `scope` (kind, name).
fn apply(
    store: &ClusterStore,
    wanted: &BTreeMap<(String, String), Value>,
    scope: &dyn Fn(&str, &Value) -> bool,
    rewrite: bool,
) {
    for kind in ["ServiceEntry", "WorkloadEntry"] {
        let (current, _) = store.list("networking.istio.io/v1", kind, Some(AUTOGEN_NAMESPACE));
        for obj in current.iter().filter(|o| is_autogen(o) && scope(kind, o)) {
            let name = text(obj, "/metadata/name").to_string();
            match wanted.get(&(kind.to_string(), name.clone())) {
                None => {
                    let _ = store.delete(
                        "networking.istio.io/v1",
                        kind,
                        Some(AUTOGEN_NAMESPACE),
                        &name,
                    );
                }
                Some(want) if rewrite && obj.get("spec") != want.get("spec") => {
                    let mut updated = obj.clone();
                    updated["spec"] = want.get("spec").cloned().unwrap_or(json!({}));
                    if let Err(e) = store.update(updated) {
                        tracing::debug!(%e, %name, "istiod could not update an entry");
                    }
                }
                Some(_) => {}
            }
        }
        for ((k, name), want) in wanted {
            if k != kind || !scope(kind, want) {
                continue;
            }
            if store.exists(
                "networking.istio.io/v1",
                kind,
                Some(AUTOGEN_NAMESPACE),
                name,
            ) {
                continue;
            }
            match store.create(want.clone()) {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => tracing::debug!(%e, %name, "istiod could not write an entry"),
            }
        }
    }
}

fn of_service(kind: &str, obj: &Value, producer: &str, namespace: &str, service: &str) -> bool {
    let name = text(obj, "/metadata/name");
    match kind {
        "ServiceEntry" => name == mesh::service_entry_name(namespace, service),
        _ => name == mesh::workload_entry_name(producer, namespace, service),
    }
}

/// What an event means for the generated entries.
enum Work {
    /// A producer's Service was published, unpublished or deleted.
    Service {
        producer: &'static ClusterSpec,
        namespace: String,
        name: String,
    },
    /// A consumer's istiod restarted, or its peer Gateways moved: rewrite everything.
    Resync(&'static ClusterSpec),
    /// A cluster's node addresses changed (a Docker restart): its east-west Gateway's status
    /// follows, as the gateway controller reports where the NodePorts answer now. The peers'
    /// Gateways pointing at the old address are their owners' to fix.
    Nodes(&'static ClusterSpec),
}

fn label_changed(prev: Option<&Value>, now: Option<&Value>) -> bool {
    prev.is_some_and(is_global) != now.is_some_and(is_global)
}

fn template_changed(prev: Option<&Value>, now: Option<&Value>) -> bool {
    let t = |v: Option<&Value>| v.and_then(|v| v.pointer("/spec/template")).cloned();
    prev.is_some() && t(prev) != t(now)
}

fn spec_changed(prev: Option<&Value>, now: Option<&Value>) -> bool {
    prev.and_then(|p| p.get("spec")) != now.and_then(|n| n.get("spec"))
}

fn do_work(services: &Services, work: Work) {
    match work {
        Work::Service {
            producer,
            namespace,
            name,
        } => {
            for consumer in producer.peers() {
                let Some(cs) = services.store(consumer.short) else {
                    continue;
                };
                let want = wanted(services, consumer);
                let scope = |kind: &str, obj: &Value| {
                    of_service(kind, obj, producer.name, &namespace, &name)
                };
                apply(cs, &want, &scope, false);
            }
        }
        Work::Resync(consumer) => {
            if let Some(cs) = services.store(consumer.short) {
                apply(cs, &wanted(services, consumer), &|_, _| true, true);
            }
        }
        Work::Nodes(cluster) => {
            if let Some(store) = services.store(cluster.short) {
                eastwest_follows_nodes(store);
            }
        }
    }
}

/// The east-west Gateway's `status.addresses`: its cluster's first worker's InternalIP now.
fn eastwest_follows_nodes(store: &ClusterStore) {
    let (mut nodes, _) = store.list("v1", "Node", None);
    nodes.sort_by(|a, b| text(a, "/metadata/name").cmp(text(b, "/metadata/name")));
    let worker = nodes
        .iter()
        .filter(|n| {
            n.pointer("/metadata/labels/node-role.kubernetes.io~1control-plane")
                .is_none()
        })
        .chain(nodes.iter())
        .find_map(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|x| x.get("type").and_then(Value::as_str) == Some("InternalIP"))
                })
                .and_then(|x| x.get("address").and_then(Value::as_str))
                .map(str::to_string)
        });
    let Some(address) = worker else { return };
    let Some(mut gw) = store.get(
        "gateway.networking.k8s.io/v1",
        "Gateway",
        Some("istio-eastwest"),
        "istio-eastwest",
    ) else {
        return;
    };
    let want = json!([{"type": "IPAddress", "value": address}]);
    if gw.pointer("/status/addresses") == Some(&want) {
        return;
    }
    if let Some(status) = gw.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("addresses".into(), want);
    } else {
        gw["status"] = json!({"addresses": want});
    }
    if let Some(meta) = gw.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    if let Err(e) = store.update(gw) {
        tracing::debug!(%e, "istiod could not move the east-west gateway's address");
    }
}

fn addresses_changed(prev: Option<&Value>, now: Option<&Value>) -> bool {
    let a = |v: Option<&Value>| v.and_then(|v| v.pointer("/status/addresses")).cloned();
    a(prev) != a(now)
}

/// Follow the three clusters' writes and keep the generated entries in step, until the
/// services are dropped or the task is aborted.
pub fn spawn(services: &Arc<Services>) -> JoinHandle<()> {
    let weak: Weak<Services> = Arc::downgrade(services);
    let stores: Vec<(&'static ClusterSpec, ClusterStore)> = services
        .stores
        .iter()
        .filter_map(|(short, store)| Some((spec(short)?, store.clone())))
        .collect();
    tokio::spawn(async move {
        let mut cursors: Vec<u64> = stores.iter().map(|(_, s)| s.resource_version()).collect();
        let mut news: Vec<_> = stores.iter().map(|(_, s)| s.subscribe()).collect();
        loop {
            let waits = news
                .iter_mut()
                .map(|rx| Box::pin(rx.changed()))
                .collect::<Vec<_>>();
            let (result, _, _) = futures::future::select_all(waits).await;
            if result.is_err() {
                return;
            }
            // Coalesce bursts (a rollout, a kubectl apply of many objects).
            tokio::time::sleep(Duration::from_millis(20)).await;
            for rx in &mut news {
                rx.borrow_and_update();
            }
            let Some(services) = weak.upgrade() else {
                return;
            };
            let mut work = Vec::new();
            for ((cluster, store), cursor) in stores.iter().zip(cursors.iter_mut()) {
                collect_work(cluster, store, cursor, &mut work);
            }
            for w in work {
                do_work(&services, w);
            }
        }
    })
}

fn collect_work(
    cluster: &'static ClusterSpec,
    store: &ClusterStore,
    cursor: &mut u64,
    work: &mut Vec<Work>,
) {
    loop {
        let events = match store.events_after(*cursor, 1000) {
            Ok(events) => events,
            Err(_) => {
                *cursor = store.resource_version();
                work.push(Work::Resync(cluster));
                return;
            }
        };
        let more = events.len() == 1000;
        for event in &events {
            *cursor = event.rv;
            let info = &event.object.kind;
            let (api_version, kind) = (info.api_version.as_str(), info.kind.as_str());
            let ns = event.object.namespace.as_ref();
            let name = event.object.name.as_ref();
            let relevant = matches!(
                (api_version, kind, ns),
                ("v1", "Service", _)
                    | ("v1", "Node", _)
                    | ("apps/v1", "Deployment", "istio-system")
                    | ("gateway.networking.k8s.io/v1", "Gateway", "istio-eastwest")
            );
            if !relevant {
                continue;
            }
            let now = (event.ty != EventType::Deleted).then(|| event.object.to_value());
            let prev = match event.ty {
                EventType::Deleted => Some(event.object.to_value()),
                _ => event.prev.as_ref().map(|p| p.to_value()),
            };
            match kind {
                "Service" if label_changed(prev.as_ref(), now.as_ref()) => {
                    work.push(Work::Service {
                        producer: cluster,
                        namespace: ns.to_string(),
                        name: name.to_string(),
                    });
                }
                "Deployment"
                    if name == "istiod" && template_changed(prev.as_ref(), now.as_ref()) =>
                {
                    work.push(Work::Resync(cluster));
                }
                "Node" if addresses_changed(prev.as_ref(), now.as_ref()) => {
                    work.push(Work::Nodes(cluster));
                }
                "Gateway"
                    if name.starts_with("peer-") && spec_changed(prev.as_ref(), now.as_ref()) =>
                {
                    work.push(Work::Resync(cluster));
                }
                _ => {}
            }
        }
        if !more {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences() {
        let r = Unreachable::NoRemoteCluster {
            consumer: "trustusbank-edge".into(),
            producer: "trustusbank-bank".into(),
        };
        assert_eq!(
            r.to_string(),
            "istiod on trustusbank-edge has no remote cluster trustusbank-bank"
        );
        let svc = json!({"metadata": {"labels": {"istio.io/global": "true"}}});
        assert!(is_global(&svc));
        assert!(label_changed(Some(&svc), None));
        assert!(!label_changed(Some(&svc), Some(&svc)));
    }
}
