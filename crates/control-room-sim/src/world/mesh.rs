//! The multi-cluster mesh objects: east-west and peer Gateways, namespace waypoints, the
//! cross-applied `istio-remote-secret-*` Secrets, the mesh's install (ServiceMeshController,
//! istiod's mesh config, the Solo license) and the ServiceEntries and WorkloadEntries istiod
//! generates for the Services published across clusters (`istio.io/global=true`).
//!
//! The object builders here are shared with the simulated istiod (`services::peering`),
//! which keeps the generated entries in step with the clusters afterwards.

use serde_json::{Map, Value, json};

use crate::store::ids::base64_encode;
use crate::world::builder::Builder;
use crate::world::placement::{self, NamespaceSpec};
use crate::world::{CLUSTERS, ClusterSpec};

/// The label that publishes a Service as `<svc>.<ns>.mesh.internal` on every peer.
pub const GLOBAL_LABEL: &str = "istio.io/global";
/// The suffix of the global hostnames.
pub const GLOBAL_SUFFIX: &str = "mesh.internal";
/// Where istiod writes the entries it generates.
pub const AUTOGEN_NAMESPACE: &str = "istio-system";
/// The labels of a generated WorkloadEntry that its ServiceEntry selects it by.
pub const PARENT_SERVICE: &str = "solo.io/parent-service";
pub const PARENT_NAMESPACE: &str = "solo.io/parent-service-namespace";
const SEGMENT: &str = "admin.solo.io/segment";
/// The Solo license Secret (`istio-system`, key `license`).
pub const LICENSE_SECRET: &str = "solo-istio-license";
/// istiod's mesh configuration (`istio-system`, key `mesh`).
pub const MESH_CONFIG: &str = "istio";
/// The Gloo Operator's one ServiceMeshController per cluster (cluster-scoped).
pub const MESH_CONTROLLER: &str = "managed-istio";
pub const TRUST_DOMAIN: &str = "cluster.local";
/// The east-west Gateway's HBONE NodePort, where peers send cross-cluster traffic.
pub const HBONE_NODE_PORT: u16 = 30015;

/// The Services the chatbot and the agents call across clusters: the agents on bank (the
/// chatbot's A2A relay on edge) and the vendor's converter (agentgateway on bank).
const GLOBAL_SERVICES: &[(&str, &str, &str)] = &[
    ("bank", "trustusbank-bank-agents", "support-bot"),
    ("bank", "trustusbank-bank-agents", "fraud-bot"),
    ("bank", "trustusbank-bank-agents", "triage-bot"),
    ("vendor", "trustusbank-bank-vendors", "currency-converter"),
];

/// Whether the world labels this Service `istio.io/global=true`.
pub fn is_global(cluster: &str, namespace: &str, name: &str) -> bool {
    GLOBAL_SERVICES.contains(&(cluster, namespace, name))
}

/// `support-bot.trustusbank-bank-agents.mesh.internal`.
pub fn global_host(namespace: &str, service: &str) -> String {
    format!("{service}.{namespace}.{GLOBAL_SUFFIX}")
}

/// `autogen.trustusbank-bank-agents.support-bot`.
pub fn service_entry_name(namespace: &str, service: &str) -> String {
    format!("autogen.{namespace}.{service}")
}

/// `autogen.trustusbank-bank.trustusbank-bank-agents.support-bot`: the producer cluster's
/// endpoints of the Service.
pub fn workload_entry_name(producer: &str, namespace: &str, service: &str) -> String {
    format!("autogen.{producer}.{namespace}.{service}")
}

/// One port of a published Service: (port, targetPort, protocol).
pub type GlobalPort = (u16, u16, &'static str);

/// The ports of a Service object as its ServiceEntry publishes them.
pub fn global_ports(service: &Value) -> Vec<GlobalPort> {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| {
                    let port = u16::try_from(p.get("port")?.as_u64()?).ok()?;
                    let target = p
                        .get("targetPort")
                        .and_then(Value::as_u64)
                        .and_then(|t| u16::try_from(t).ok())
                        .unwrap_or(port);
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                    let protocol = if name.starts_with("http") {
                        "HTTP"
                    } else if name.starts_with("grpc") {
                        "GRPC"
                    } else {
                        "TCP"
                    };
                    Some((port, target, protocol))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn selector_labels(namespace: &str, service: &str) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert(SEGMENT.into(), json!("default"));
    labels.insert(PARENT_SERVICE.into(), json!(service));
    labels.insert(PARENT_NAMESPACE.into(), json!(namespace));
    labels
}

/// The ServiceEntry istiod generates on a peer for a global Service (walkthrough §3).
pub fn service_entry(
    namespace: &str,
    service: &str,
    service_account: &str,
    ports: &[GlobalPort],
) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(port, target, protocol)| {
            json!({"name": format!("port-{port}"), "number": port, "protocol": protocol,
                   "targetPort": target})
        })
        .collect();
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {
            "name": service_entry_name(namespace, service),
            "namespace": AUTOGEN_NAMESPACE,
        },
        "spec": {
            "hosts": [global_host(namespace, service)],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": ports,
            "subjectAltNames": [format!("spiffe://{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}")],
            "workloadSelector": {"labels": selector_labels(namespace, service)},
        },
    })
}

/// The WorkloadEntry that stands for `producer`'s endpoints of a global Service on a peer:
/// reached through the producer's east-west gateway at `address` (its HBONE NodePort), on the
/// producer's network.
pub fn workload_entry(
    producer: &ClusterSpec,
    namespace: &str,
    service: &str,
    service_account: &str,
    ports: &[GlobalPort],
    address: &str,
) -> Value {
    let mut labels = selector_labels(namespace, service);
    let spec_labels = labels.clone();
    labels.insert("topology.istio.io/cluster".into(), json!(producer.name));
    labels.insert("topology.istio.io/network".into(), json!(producer.name));
    let mut port_map = Map::new();
    for (port, target, _) in ports {
        port_map.insert(format!("port-{port}"), json!(target));
    }
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "WorkloadEntry",
        "metadata": {
            "name": workload_entry_name(producer.name, namespace, service),
            "namespace": AUTOGEN_NAMESPACE,
            "labels": labels,
        },
        "spec": {
            "address": address,
            "labels": spec_labels,
            "network": producer.name,
            "ports": port_map,
            "serviceAccount": service_account,
        },
    })
}

/// The address a cluster's peer Gateway for `peer` points at: `peer`'s worker on the kind
/// network, where its east-west gateway's NodePorts answer.
fn peer_address(peer: &ClusterSpec) -> String {
    format!("172.22.0.{}", peer.first_node_ip + 1)
}

/// istiod's mesh config (the `mesh` key of ConfigMap `istio`) with `trust_domain`.
pub fn mesh_config_text(trust_domain: &str) -> String {
    format!(
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  proxyMetadata:\n    ISTIO_META_DNS_AUTO_ALLOCATE: \"true\"\n    ISTIO_META_DNS_CAPTURE: \"true\"\ndefaultProviders:\n  metrics:\n  - prometheus\nenablePrometheusMerge: true\nrootNamespace: istio-system\ntrustDomain: {trust_domain}\n"
    )
}

/// The `trustDomain` of a mesh config; `cluster.local` when it says none (Istio's default),
/// `None` when it does not parse.
pub fn trust_domain_of(mesh: &str) -> Option<String> {
    let doc: Value = serde_saphyr::from_str(mesh).ok()?;
    if doc.is_null() {
        return Some(TRUST_DOMAIN.to_string());
    }
    match doc.get("trustDomain") {
        None | Some(Value::Null) => Some(TRUST_DOMAIN.to_string()),
        Some(Value::String(td)) => Some(td.clone()),
        Some(_) => None,
    }
}

/// `mesh` with its top-level `trustDomain` set to `trust_domain` (how the operator writes
/// what the ServiceMeshController says), everything else as it was.
pub fn with_trust_domain(mesh: &str, trust_domain: &str) -> String {
    let line = format!("trustDomain: {trust_domain}");
    let mut found = false;
    let mut out: Vec<String> = mesh
        .lines()
        .map(|l| {
            if l.starts_with("trustDomain:") {
                found = true;
                line.clone()
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn gateway_status(address: &str, at: &str) -> Value {
    let condition = |ty: &str| {
        json!({"type": ty, "status": "True", "reason": ty, "message": "Resource programmed",
               "lastTransitionTime": at, "observedGeneration": 1})
    };
    json!({
        "addresses": [{"type": "IPAddress", "value": address}],
        "conditions": [condition("Accepted"), condition("Programmed")],
    })
}

/// East-west gateway, peer gateways (bank and vendor, per §2) and namespace waypoints.
pub fn gateways(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    let cluster = b.cluster;
    let age = placement::age_secs(spaces, "istio-eastwest") - 10;
    let worker_ip = b.nodes().get(1).map(|n| n.ip.clone()).unwrap_or_default();
    let at = b.ago(age - 30);
    let uid = b.ids().uid();
    b.put(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": "istio-eastwest",
            "namespace": "istio-eastwest",
            "uid": uid,
            "creationTimestamp": b.ago(age),
            "generation": 1,
            "labels": {
                "istio.io/expose-istiod": "15012",
                "topology.istio.io/cluster": cluster.name,
                "topology.istio.io/network": cluster.name,
            },
        },
        "spec": {
            "gatewayClassName": "istio-eastwest",
            "listeners": [
                {"name": "tls-hbone", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Terminate"}},
                {"name": "tls-xds", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}},
            ],
        },
        "status": gateway_status(&worker_ip, &at),
    }))?;

    if cluster.short != "edge" {
        for peer in cluster.peers() {
            peer_gateway(b, peer, age)?;
        }
    }

    for space in spaces {
        let has_waypoint = placement::workloads(cluster.short)
            .iter()
            .any(|w| w.namespace == space.name && w.name == "waypoint");
        if !has_waypoint {
            continue;
        }
        let age = space.age_mins * 60 - 5;
        let uid = b.ids().uid();
        let address = b.next_cluster_ip();
        b.put(json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {
                "name": "waypoint",
                "namespace": space.name,
                "uid": uid,
                "creationTimestamp": b.ago(age),
                "generation": 1,
                "labels": {"istio.io/waypoint-for": "service"},
            },
            "spec": {
                "gatewayClassName": "istio-waypoint",
                "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
            },
            "status": gateway_status(&address, &b.ago(age - 20)),
        }))?;
    }
    Ok(())
}

/// A remote peer Gateway (`gatewayClassName: istio-remote`) pointing at `peer`'s east-west
/// gateway, as the peering chart's `remote.items` create them (M04).
fn peer_gateway(b: &mut Builder<'_>, peer: &ClusterSpec, age: i64) -> anyhow::Result<()> {
    let peer_ip = peer_address(peer);
    let uid = b.ids().uid();
    b.put(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": format!("peer-{}", peer.short),
            "namespace": "istio-eastwest",
            "uid": uid,
            "creationTimestamp": b.ago(age - 60),
            "generation": 1,
            "labels": {
                "topology.istio.io/cluster": peer.name,
                "topology.istio.io/network": peer.name,
            },
        },
        "spec": {
            "gatewayClassName": "istio-remote",
            "addresses": [{"type": "IPAddress", "value": peer_ip}],
            "listeners": [
                {"name": "cross-network", "port": HBONE_NODE_PORT, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
                {"name": "xds-tls", "port": 30016, "protocol": "TLS", "tls": {"mode": "Passthrough"}},
            ],
        },
        "status": gateway_status(&peer_ip, &b.ago(age - 90)),
    }))
}

/// The peer Gateways on edge, which the first world left out (§2 lists them for bank and
/// vendor only; M04 installs the remote peers on every cluster, and edge's chatbot needs
/// bank's).
pub fn edge_peer_gateways(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    let cluster = b.cluster;
    if cluster.short != "edge" {
        return Ok(());
    }
    let age = placement::age_secs(spaces, "istio-eastwest") - 10;
    for peer in cluster.peers() {
        peer_gateway(b, peer, age)?;
    }
    Ok(())
}

/// What the Gloo Operator was asked for (M03) and what it made of it: the
/// ServiceMeshController, istiod's mesh config (ConfigMap `istio`) and the Solo license
/// Secret it reads (a dummy value: nothing reads it).
pub fn mesh_install(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    let cluster = b.cluster;
    let age = placement::age_secs(spaces, "istio-system");
    let uid = b.ids().uid();
    b.put(json!({
        "apiVersion": "operator.gloo.solo.io/v1",
        "kind": "ServiceMeshController",
        "metadata": {
            "name": MESH_CONTROLLER,
            "uid": uid,
            "creationTimestamp": b.ago(age - 30),
            "generation": 1,
            "labels": {"app.kubernetes.io/part-of": "trustusbank"},
        },
        "spec": {
            "cluster": cluster.name,
            "network": cluster.name,
            "trustDomain": TRUST_DOMAIN,
            "version": "1.27.1",
            "dataplaneMode": "Ambient",
            "distribution": "Standard",
            "installNamespace": "istio-system",
            "scalingProfile": "Demo",
            "trafficCaptureMode": "Auto",
            "onConflict": "Force",
            "image": {"registry": "us-docker.pkg.dev", "repository": "soloio-img/istio"},
        },
        "status": {"phase": "SUCCEEDED"},
    }))?;
    let uid = b.ids().uid();
    b.put(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": MESH_CONFIG,
            "namespace": "istio-system",
            "uid": uid,
            "creationTimestamp": b.ago(age - 40),
            "labels": {
                "app.kubernetes.io/managed-by": "gloo-operator",
                "istio.io/rev": "default",
                "operator.istio.io/component": "Pilot",
                "release": "istiod",
            },
        },
        "data": {
            "mesh": mesh_config_text(TRUST_DOMAIN),
            "meshNetworks": "networks: {}\n",
        },
    }))?;
    let uid = b.ids().uid();
    b.put(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": LICENSE_SECRET,
            "namespace": "istio-system",
            "uid": uid,
            "creationTimestamp": b.ago(age - 20),
        },
        "type": "Opaque",
        "data": {"license": base64_encode(b"sim-dummy-license-not-a-real-key")},
    }))?;
    Ok(())
}

/// The entries istiod generated on this cluster for every peer's global Service it can see
/// (through that peer's remote secret): one ServiceEntry per Service, one WorkloadEntry per
/// producing cluster, pointing at the producer's east-west gateway.
pub fn autogen_entries(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    let cluster = b.cluster;
    let age = placement::age_secs(spaces, "istio-eastwest") - 300;
    for (producer_short, namespace, service) in GLOBAL_SERVICES {
        if *producer_short == cluster.short {
            continue;
        }
        let Some(producer) = CLUSTERS.iter().find(|c| c.short == *producer_short) else {
            continue;
        };
        // Every published Service serves HTTP on 8080 (the agents' A2A, the converter's MCP).
        let ports = [(8080, 8080, "HTTP")];
        let mut se = service_entry(namespace, service, service, &ports);
        let mut we = workload_entry(
            producer,
            namespace,
            service,
            service,
            &ports,
            &peer_address(producer),
        );
        for obj in [&mut se, &mut we] {
            let uid = b.ids().uid();
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("uid".into(), json!(uid));
                meta.insert("creationTimestamp".into(), json!(b.ago(age)));
            }
            b.put(obj.clone())?;
        }
    }
    Ok(())
}

/// `istio-remote-secret-<peer>` in istio-system for each peer: how istiod reads remote clusters.
pub fn remote_secrets(b: &mut Builder<'_>) -> anyhow::Result<()> {
    let cluster = b.cluster;
    let age = placement::age_secs(&placement::namespaces(cluster.short), "istio-system") - 600;
    for peer in cluster.peers() {
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTi...\n    server: https://{peer}-control-plane:6443\n  name: {peer}\ncontexts:\n- context:\n    cluster: {peer}\n    user: {peer}\n  name: {peer}\ncurrent-context: {peer}\nusers:\n- name: {peer}\n  user:\n    token: istio-reader-service-account-token\n",
            peer = peer.name
        );
        let uid = b.ids().uid();
        b.put(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": format!("istio-remote-secret-{}", peer.name),
                "namespace": "istio-system",
                "uid": uid,
                "creationTimestamp": b.ago(age),
                "labels": {"istio/multiCluster": "true"},
                "annotations": {"networking.istio.io/cluster": peer.name},
            },
            "type": "Opaque",
            "data": {peer.name: base64_encode(kubeconfig.as_bytes())},
        }))?;
    }
    Ok(())
}
