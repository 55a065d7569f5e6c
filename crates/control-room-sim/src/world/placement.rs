//! What runs where: demo walkthrough §2 as data. Kept as plain tables (and out of rustfmt's
//! hands) so a reader can check them against the walkthrough line by line.

const ISTIO_HUB: &str = "us-docker.pkg.dev/soloio-img/istio";
const GLOO_HUB: &str = "gcr.io/gloo-mesh";

/// A namespace and how it sits in the mesh.
pub struct NamespaceSpec {
    pub name: &'static str,
    pub ambient: bool,
    /// Carries `topology.istio.io/network`.
    pub networked: bool,
    /// Minutes before sim start the namespace (and what runs in it) was created.
    pub age_mins: i64,
}

/// A Deployment-backed workload; it also gets a Service and a ServiceAccount of its name.
pub struct Workload {
    pub namespace: &'static str,
    pub name: &'static str,
    pub image: String,
    pub container: &'static str,
    pub replicas: u32,
    pub port: u16,
}

/// A per-node agent.
pub struct DaemonSetSpec {
    pub namespace: &'static str,
    pub name: &'static str,
    pub image: String,
    pub container: &'static str,
    pub port: u16,
    pub host_network: bool,
}

const fn ns(name: &'static str, ambient: bool, networked: bool, age_mins: i64) -> NamespaceSpec {
    NamespaceSpec {
        name,
        ambient,
        networked,
        age_mins,
    }
}

fn wl(
    namespace: &'static str,
    name: &'static str,
    image: impl Into<String>,
    container: &'static str,
    replicas: u32,
    port: u16,
) -> Workload {
    Workload {
        namespace,
        name,
        image: image.into(),
        container,
        replicas,
        port,
    }
}

fn ds(
    namespace: &'static str,
    name: &'static str,
    image: impl Into<String>,
    container: &'static str,
    port: u16,
    host_network: bool,
) -> DaemonSetSpec {
    DaemonSetSpec {
        namespace,
        name,
        image: image.into(),
        container,
        port,
        host_network,
    }
}

fn img(hub: &str, image: &str) -> String {
    format!("{hub}/{image}")
}

/// Namespaces of one cluster (`edge`, `bank`, `vendor`).
#[rustfmt::skip]
pub fn namespaces(cluster: &str) -> Vec<NamespaceSpec> {
    let mut list = vec![
        ns("default",        false, false, 200),
        ns("kube-system",    false, false, 200),
        ns("istio-system",   false, true,  180),
        ns("istio-eastwest", false, false, 175),
        ns("gloo-mesh",      false, false, 170),
    ];
    match cluster {
        "edge" => list.push(ns("trustusbank-bank-frontend", true, true, 140)),
        "bank" => list.extend([
            ns("trustusbank-platform",      false, true, 160),
            ns("trustusbank-bank-agents",   true,  true, 145),
            ns("trustusbank-bank-mcp",      true,  true, 150),
            ns("trustusbank-observability", false, true, 155),
        ]),
        "vendor" => list.extend([
            ns("trustusbank-bank-vendors", true, true, 42),
            // Deliberately outside the mesh: no ambient label, no network label.
            ns("external-attacker", false, false, 38),
        ]),
        _ => {}
    }
    list
}

/// Deployments of one cluster.
#[rustfmt::skip]
pub fn workloads(cluster: &str) -> Vec<Workload> {
    let proxy = img(ISTIO_HUB, "proxyv2:1.27.1-solo-distroless");
    let mut list = vec![
        wl("kube-system",    "coredns",         "registry.k8s.io/coredns/coredns:v1.12.0",  "coredns",         2, 53),
        wl("istio-system",   "istiod",          img(ISTIO_HUB, "pilot:1.27.1-solo"),        "discovery",       1, 15010),
        wl("istio-eastwest", "istio-eastwest",  proxy.clone(),                              "istio-proxy",     1, 15008),
        wl("gloo-mesh",      "gloo-mesh-agent", img(GLOO_HUB, "gloo-mesh-agent:2.10.1"),    "gloo-mesh-agent", 1, 9091),
    ];
    match cluster {
        "edge" => list.push(wl("trustusbank-bank-frontend", "chatbot", "chatbot:1.0.0", "chatbot", 1, 80)),
        "bank" => {
            let (gm, pf, agents, mcp, obs) = ("gloo-mesh", "trustusbank-platform", "trustusbank-bank-agents", "trustusbank-bank-mcp", "trustusbank-observability");
            let kagent_app = "cr.kagent.dev/kagent-dev/kagent/app:0.4.0";
            let agentgateway = "ghcr.io/agentgateway/agentgateway:0.7.2";
            let prometheus = "quay.io/prometheus/prometheus:v2.53.0";
            list.extend([
                wl(gm,     "gloo-mesh-mgmt-server",  img(GLOO_HUB, "gloo-mesh-mgmt-server:2.10.1"), "gloo-mesh-mgmt-server", 1, 9900),
                wl(gm,     "gloo-mesh-redis",        "docker.io/redis:7.2.4-alpine",                 "redis",                 1, 6379),
                wl(gm,     "gloo-mesh-ui",           img(GLOO_HUB, "gloo-mesh-apiserver:2.10.1"),   "gloo-mesh-ui",          1, 8090),
                wl(gm,     "gloo-telemetry-gateway", img(GLOO_HUB, "gloo-otel-collector:2.10.1"),   "telemetry-gateway",     1, 4317),
                wl(gm,     "prometheus-server",      prometheus,                                     "prometheus-server",     1, 9090),
                wl(pf,     "agentgateway",           agentgateway,                                   "agentgateway",          1, 8080),
                wl(pf,     "trustusbank-agentgw",    agentgateway,                                   "agentgateway",          1, 8080),
                wl(pf,     "agentregistry",          "ghcr.io/agentregistry-dev/agentregistry:0.1.4", "agentregistry",        1, 8080),
                wl(pf,     "agentregistry-postgres", "docker.io/library/postgres:16.4-alpine",      "postgres",              1, 5432),
                wl(pf,     "kagent-controller",      "cr.kagent.dev/kagent-dev/kagent/controller:0.4.0", "controller",       1, 8083),
                wl(pf,     "kagent-ui",              "cr.kagent.dev/kagent-dev/kagent/ui:0.4.0",    "ui",                    1, 8080),
                wl(pf,     "kagent-postgresql",      "docker.io/bitnami/postgresql:17.2.0",          "postgresql",            1, 5432),
                wl(pf,     "dex",                    "ghcr.io/dexidp/dex:v2.41.1",                   "dex",                   1, 5556),
                wl(pf,     "oauth2-proxy",           "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1",     "oauth2-proxy",          1, 4180),
                wl(agents, "support-bot",            kagent_app,                                     "kagent",                1, 8080),
                wl(agents, "fraud-bot",              kagent_app,                                     "kagent",                1, 8080),
                wl(agents, "triage-bot",             kagent_app,                                     "kagent",                1, 8080),
                wl(agents, "waypoint",               proxy.clone(),                                  "istio-proxy",           1, 15008),
                wl(mcp,    "account-mcp",            "account-mcp:1.0.0",                            "account-mcp",           1, 8080),
                wl(mcp,    "transaction-mcp",        "transaction-mcp:1.0.0",                        "transaction-mcp",       1, 8080),
                wl(mcp,    "ticket-mcp",             "ticket-mcp:1.0.0",                             "ticket-mcp",            1, 8080),
                wl(mcp,    "waypoint",               proxy.clone(),                                  "istio-proxy",           1, 15008),
                wl(obs,    "prometheus",             prometheus,                                     "prometheus",            1, 9090),
                wl(obs,    "grafana",                "docker.io/grafana/grafana:11.1.0",             "grafana",               1, 3000),
                wl(obs,    "loki",                   "docker.io/grafana/loki:3.1.0",                 "loki",                  1, 3100),
                wl(obs,    "tempo",                  "docker.io/grafana/tempo:2.5.0",                "tempo",                 1, 3200),
                wl(obs,    "mailhog",                "docker.io/mailhog/mailhog:v1.0.1",             "mailhog",               1, 8025),
                wl(obs,    "alertmanager",           "quay.io/prometheus/alertmanager:v0.27.0",      "alertmanager",          1, 9093),
                wl(obs,    "otel-collector",         "docker.io/otel/opentelemetry-collector-contrib:0.104.0", "otel-collector", 1, 4317),
                wl(obs,    "kube-state-metrics",     "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0", "kube-state-metrics", 1, 8080),
            ]);
        }
        "vendor" => list.extend([
            wl("trustusbank-bank-vendors", "currency-converter", "currency-converter:1.0.0", "currency-converter", 1, 8080),
            wl("trustusbank-bank-vendors", "waypoint",           proxy.clone(),              "istio-proxy",        1, 15008),
            wl("external-attacker",        "mock-attacker",      "mock-attacker:1.0.0",      "mock-attacker",      1, 8080),
        ]),
        _ => {}
    }
    list
}

/// DaemonSets of one cluster: one pod per node each.
#[rustfmt::skip]
pub fn daemonsets(cluster: &str) -> Vec<DaemonSetSpec> {
    let mut list = vec![
        ds("kube-system",  "kube-proxy",     "registry.k8s.io/kube-proxy:v1.33.1",                  "kube-proxy",  10249, true),
        ds("istio-system", "ztunnel",        img(ISTIO_HUB, "ztunnel:1.27.1-solo-distroless"),     "istio-proxy", 15020, false),
        ds("istio-system", "istio-cni-node", img(ISTIO_HUB, "install-cni:1.27.1-solo-distroless"), "install-cni", 15014, true),
    ];
    if cluster == "bank" {
        list.extend([
            ds("gloo-mesh",                 "gloo-telemetry-collector-agent", img(GLOO_HUB, "gloo-otel-collector:2.10.1"), "telemetry-collector", 4317, false),
            ds("trustusbank-observability", "promtail",      "docker.io/grafana/promtail:3.0.0",       "promtail",      3101, false),
            ds("trustusbank-observability", "node-exporter", "quay.io/prometheus/node-exporter:v1.8.1", "node-exporter", 9100, true),
        ]);
    }
    list
}

/// Age of a namespace in seconds (workloads in it are a little younger).
pub fn age_secs(spaces: &[NamespaceSpec], namespace: &str) -> i64 {
    spaces
        .iter()
        .find(|n| n.name == namespace)
        .map_or(120, |n| n.age_mins)
        * 60
}

pub fn is_ambient(spaces: &[NamespaceSpec], namespace: &str) -> bool {
    spaces.iter().any(|n| n.name == namespace && n.ambient)
}
