//! The multi-cluster mesh objects: east-west and peer Gateways, namespace waypoints, and the
//! cross-applied `istio-remote-secret-*` Secrets.

use serde_json::{Value, json};

use crate::store::ids::base64_encode;
use crate::world::builder::Builder;
use crate::world::placement::{self, NamespaceSpec};

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
            let peer_ip = format!("172.22.0.{}", peer.first_node_ip + 1);
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
                        {"name": "cross-network", "port": 30015, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
                        {"name": "xds-tls", "port": 30016, "protocol": "TLS", "tls": {"mode": "Passthrough"}},
                    ],
                },
                "status": gateway_status(&peer_ip, &b.ago(age - 90)),
            }))?;
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
