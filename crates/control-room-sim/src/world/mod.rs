//! The TrustUsBank world: the three clusters, and the function that writes one cluster's
//! share of it (per [`placement`]) into its store.

pub(crate) mod biglog;
pub(crate) mod builder;
pub(crate) mod endpoints;
pub(crate) mod kubeconfig;
pub(crate) mod load;
pub(crate) mod mesh;
pub(crate) mod placement;
pub(crate) mod platform;
pub(crate) mod workloads;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::store::ClusterStore;
use crate::store::ids::IdGen;
use builder::Builder;
use workloads::{PodRecord, PodTemplate};

/// One of the three kind clusters.
#[derive(Debug)]
pub struct ClusterSpec {
    /// `edge`: the name control-room uses.
    pub short: &'static str,
    /// `trustusbank-edge`: the cluster name in kubeconfig, mesh network and node names.
    pub name: &'static str,
    pub context: &'static str,
    /// Second octet of the pod CIDR (10.<octet>.0.0/16).
    pub pod_octet: u8,
    /// Last octet of the control-plane node's address on the shared kind network.
    pub first_node_ip: u8,
}

impl ClusterSpec {
    pub fn node_names(&self) -> Vec<String> {
        ["control-plane", "worker", "worker2"]
            .iter()
            .map(|role| format!("{}-{role}", self.name))
            .collect()
    }

    pub fn peers(&self) -> impl Iterator<Item = &'static ClusterSpec> + '_ {
        CLUSTERS.iter().filter(move |c| c.name != self.name)
    }
}

pub static CLUSTERS: [ClusterSpec; 3] = [
    ClusterSpec {
        short: "edge",
        name: "trustusbank-edge",
        context: "kind-trustusbank-edge",
        pod_octet: 10,
        first_node_ip: 2,
    },
    ClusterSpec {
        short: "bank",
        name: "trustusbank-bank",
        context: "kind-trustusbank-bank",
        pod_octet: 20,
        first_node_ip: 5,
    },
    ClusterSpec {
        short: "vendor",
        name: "trustusbank-vendor",
        context: "kind-trustusbank-vendor",
        pod_octet: 30,
        first_node_ip: 8,
    },
];

/// What goes into the world besides the walkthrough's workloads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// Synthetic load up to this many pods per cluster.
    pub pods_target: Option<usize>,
    /// The log-generator pod (on bank).
    pub log_generator: bool,
}

/// Write one cluster's share of the world into `store`, then the [`Extras`] asked for.
/// `now` is the sim start: every timestamp is a fixed offset before it.
pub fn populate(
    cluster: &ClusterSpec,
    store: &ClusterStore,
    now: DateTime<Utc>,
    extras: Extras,
) -> anyhow::Result<()> {
    let mut b = Builder::new(cluster, store, now);
    let spaces = placement::namespaces(cluster.short);
    b.node_objects(210 * 60)?;
    for space in &spaces {
        let mut labels = Vec::new();
        if space.ambient {
            labels.push(("istio.io/dataplane-mode", "ambient".to_string()));
        }
        if space.networked {
            labels.push(("topology.istio.io/network", cluster.name.to_string()));
        }
        b.namespace(space.name, &labels, space.age_mins * 60)?;
        b.service_account(space.name, "default", space.age_mins * 60)?;
    }
    control_plane(&mut b)?;

    let mut recent: Vec<PodRecord> = Vec::new();
    let mut accounts: Vec<(&str, &str)> = Vec::new();
    let workloads = placement::workloads(cluster.short);
    for (i, w) in workloads.iter().enumerate() {
        let age = placement::age_secs(&spaces, w.namespace) - 30 - i as i64 * 7;
        let pods = workload(&mut b, &spaces, w, age)?;
        // Waypoints share a ServiceAccount name across namespaces, not within one.
        if !accounts.contains(&(w.namespace, w.name)) {
            accounts.push((w.namespace, w.name));
            b.service_account(w.namespace, w.name, age)?;
        }
        // Events outlive their pods by about an hour on a real cluster: only young pods have any.
        if age < 60 * 60 {
            recent.extend(pods);
        }
    }
    for d in placement::daemonsets(cluster.short) {
        let age = placement::age_secs(&spaces, d.namespace) - 20;
        let t = PodTemplate {
            app: d.name,
            container: d.container,
            image: &d.image,
            port: d.port,
            host_network: d.host_network,
            extra_labels: &[],
            ambient: false,
        };
        b.daemonset(d.namespace, &t, age)?;
        b.service_account(d.namespace, d.name, age)?;
        if d.name == "ztunnel" {
            let ports = [("ztunnel-stats", 15020, 15020, None)];
            b.service(
                d.namespace,
                d.name,
                Some(json!({"app": d.name})),
                &ports,
                None,
                age,
            )?;
        }
    }
    for pod in &recent {
        b.pod_events(pod)?;
    }

    mesh::gateways(&mut b, &spaces)?;
    mesh::remote_secrets(&mut b)?;
    if let Some(target) = extras.pods_target {
        load::add_load(&mut b, store, target)?;
    }
    // Added after the first world, with ids of their own so that every id, name and address
    // before them stays what it was.
    let ids = std::mem::replace(
        b.ids(),
        IdGen::from_label(&format!("{}/platform", cluster.name)),
    );
    platform_and_mesh(&mut b, store, &spaces)?;
    *b.ids() = ids;
    // Last, so everything before it is the same with or without it.
    if extras.log_generator && cluster.short == crate::services::loggen::CLUSTER {
        biglog::add(&mut b)?;
    }
    Ok(())
}

/// The CRDs, the mesh's install and generated entries, the platform's custom resources and
/// the telemetry pipeline, then every Service's EndpointSlice (walkthrough §3, M03–M11).
fn platform_and_mesh(
    b: &mut Builder<'_>,
    store: &ClusterStore,
    spaces: &[placement::NamespaceSpec],
) -> anyhow::Result<()> {
    platform::custom_resource_definitions(b)?;
    mesh::edge_peer_gateways(b, spaces)?;
    mesh::mesh_install(b, spaces)?;
    mesh::autogen_entries(b, spaces)?;
    platform::telemetry_collectors(b, spaces)?;
    platform::observability(b)?;
    platform::kagent(b, spaces)?;
    platform::gloo_management(b, spaces)?;
    endpoints::endpoint_slices(b, store)?;
    Ok(())
}

/// kind's static control-plane pods, the `kubernetes` and `kube-dns` Services.
fn control_plane(b: &mut Builder<'_>) -> anyhow::Result<()> {
    let age = 205 * 60;
    for (component, image, port) in [
        ("etcd", "registry.k8s.io/etcd:3.5.21-0", 2379),
        (
            "kube-apiserver",
            "registry.k8s.io/kube-apiserver:v1.33.1",
            6443,
        ),
        (
            "kube-controller-manager",
            "registry.k8s.io/kube-controller-manager:v1.33.1",
            10257,
        ),
        (
            "kube-scheduler",
            "registry.k8s.io/kube-scheduler:v1.33.1",
            10259,
        ),
    ] {
        b.static_pod(component, image, port, age)?;
    }
    let https = [("https", 443, 6443, None)];
    b.service(
        "default",
        "kubernetes",
        None,
        &https,
        Some("10.96.0.1".into()),
        age,
    )?;
    let dns = [("dns-tcp", 53, 53, None), ("metrics", 9153, 9153, None)];
    let selector = Some(json!({"app": "coredns"}));
    b.service(
        "kube-system",
        "kube-dns",
        selector,
        &dns,
        Some("10.96.0.10".into()),
        age,
    )?;
    Ok(())
}

/// One Deployment with its pods and Service; returns the pods for event generation.
fn workload(
    b: &mut Builder<'_>,
    spaces: &[placement::NamespaceSpec],
    w: &placement::Workload,
    age: i64,
) -> anyhow::Result<Vec<PodRecord>> {
    let t = PodTemplate {
        app: w.name,
        container: w.container,
        image: &w.image,
        port: w.port,
        host_network: false,
        extra_labels: &[],
        ambient: placement::is_ambient(spaces, w.namespace) && w.name != "waypoint",
    };
    let pods = b.deployment(w.namespace, &t, w.replicas, age)?;
    let selector = Some(json!({"app": w.name}));
    match w.name {
        // coredns is served by kube-dns (see control_plane).
        "coredns" => {}
        "istio-eastwest" => {
            let ports = [
                ("tls-hbone", 15008, 15008, Some(30015)),
                ("tls-xds", 15012, 15012, Some(30016)),
            ];
            b.service(w.namespace, w.name, selector, &ports, None, age)?;
        }
        // OTLP from the workload clusters' collectors comes in on a NodePort (M11).
        "gloo-telemetry-gateway" => {
            let ports = [(
                "otlp",
                4317,
                4317,
                Some(platform::TELEMETRY_GATEWAY_NODE_PORT),
            )];
            b.service(w.namespace, w.name, selector, &ports, None, age)?;
        }
        "istiod" => {
            let ports = [
                ("grpc-xds", 15010, 15010, None),
                ("https-dns", 15012, 15012, None),
                ("https-webhook", 443, 15017, None),
                ("http-monitoring", 15014, 15014, None),
            ];
            b.service(w.namespace, w.name, selector, &ports, None, age)?;
        }
        _ => {
            let name = if w.port == 80 || w.port >= 8000 {
                "http"
            } else {
                "tcp"
            };
            let ports = [(name, w.port, w.port, None)];
            // Published as <svc>.<ns>.mesh.internal to the peer clusters (walkthrough §5, M09).
            let labels: &[(&str, &str)] = if mesh::is_global(b.cluster.short, w.namespace, w.name) {
                &[(mesh::GLOBAL_LABEL, "true")]
            } else {
                &[]
            };
            b.labelled_service(w.namespace, w.name, labels, selector, &ports, None, age)?;
        }
    }
    Ok(pods)
}
