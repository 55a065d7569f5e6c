//! The platform objects around the demo's workloads, as the walkthrough's build leaves them
//! (§3, M03–M11): the CRDs each cluster holds, the telemetry collectors and their metric
//! allow-list, the PrometheusRule on bank, kagent's Agents, RemoteMCPServers and ModelConfig,
//! and the Solo management plane's KubernetesClusters, Workspace and WorkspaceSettings.

use serde_json::{Value, json};

use crate::store::crds;
use crate::world::builder::Builder;
use crate::world::placement::{self, NamespaceSpec};
use crate::world::workloads::PodTemplate;
use crate::world::{CLUSTERS, ClusterSpec};

/// The collector's ConfigMap (`gloo-mesh`, key `relay`) and DaemonSet.
pub const COLLECTOR_CONFIG: &str = "gloo-telemetry-collector-config";
pub const COLLECTOR: &str = "gloo-telemetry-collector-agent";
pub const COLLECTOR_NAMESPACE: &str = "gloo-mesh";
/// The telemetry gateway on bank that every collector exports to.
pub const TELEMETRY_GATEWAY: &str = "gloo-telemetry-gateway";
/// Its OTLP NodePort, which the workload clusters' collectors export to (M11).
pub const TELEMETRY_GATEWAY_NODE_PORT: u16 = 30317;

/// The demo's alerting rules as the operator applies them on bank.
const PROMETHEUS_RULE: &str =
    include_str!("../../../../demo-scripts/manifests/prometheus-rules.yaml");

/// Set `uid` and `creationTimestamp` (`secs` before the sim started) and store it.
fn put_aged(b: &mut Builder<'_>, mut obj: Value, secs: i64) -> anyhow::Result<()> {
    let uid = b.ids().uid();
    let at = b.ago(secs);
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(at));
    }
    b.put(obj)
}

/// Which custom kinds a cluster's charts installed: the Gateway API, Istio, the Gloo
/// Operator and gloo-platform-crds everywhere; kube-prometheus-stack and kagent on bank.
fn installs(cluster: &ClusterSpec, group: &str) -> bool {
    match group {
        "monitoring.coreos.com" | "kagent.dev" => cluster.short == "bank",
        _ => true,
    }
}

/// How long before the sim started each chart put its CRDs in.
fn crd_age_mins(group: &str) -> i64 {
    match group {
        "gateway.networking.k8s.io" => 195,
        "security.istio.io" | "networking.istio.io" | "operator.gloo.solo.io" => 190,
        "admin.gloo.solo.io" => 172,
        "monitoring.coreos.com" => 157,
        _ => 162,
    }
}

fn crd_labels(group: &str) -> Value {
    match group {
        "gateway.networking.k8s.io" => json!({
            "gateway.networking.k8s.io/bundle-version": "v1.5.0",
            "gateway.networking.k8s.io/channel": "experimental",
        }),
        "security.istio.io" | "networking.istio.io" => json!({
            "app.kubernetes.io/part-of": "istio",
            "app.kubernetes.io/managed-by": "gloo-operator",
        }),
        "admin.gloo.solo.io" => json!({"app.kubernetes.io/managed-by": "Helm"}),
        "monitoring.coreos.com" => json!({"app.kubernetes.io/managed-by": "Helm"}),
        "kagent.dev" => json!({"app.kubernetes.io/managed-by": "Helm"}),
        _ => json!({}),
    }
}

/// The CRDs of every custom kind the cluster serves.
pub fn custom_resource_definitions(b: &mut Builder<'_>) -> anyhow::Result<()> {
    let cluster = b.cluster;
    for def in crds::custom_kinds().filter(|d| installs(cluster, d.group)) {
        let crd = crds::crd_object(def, &crd_labels(def.group));
        put_aged(b, crd, crd_age_mins(def.group) * 60)?;
    }
    Ok(())
}

/// The metric names the chart's `filter/min` keeps, with the two the walkthrough's M11 adds
/// right after `istio_tcp_connections_opened_total` (ztunnel's policy-deny counter).
const ALLOW_LIST: &[&str] = &[
    "istio_requests_total",
    "istio_request_duration_milliseconds",
    "istio_request_duration_milliseconds_bucket",
    "istio_request_duration_milliseconds_count",
    "istio_request_duration_milliseconds_sum",
    "istio_tcp_sent_bytes_total",
    "istio_tcp_received_bytes_total",
    "istio_tcp_connections_opened_total",
    "istio_tcp_connections_failed_total",
    "istio_tcp_connections_failed",
    "istio_tcp_connections_closed_total",
    "pilot_proxy_convergence_time_bucket",
    "pilot_xds_pushes",
    "pilot_total_xds_rejects",
    "envoy_cluster_upstream_cx_active",
    "envoy_cluster_upstream_rq_total",
];

/// The collector's OpenTelemetry config (the ConfigMap's `relay` key): ztunnel scraped by the
/// Prometheus receiver, `filter/min`'s allow-list, OTLP to bank's telemetry gateway.
pub fn relay_config(cluster: &ClusterSpec) -> String {
    let endpoint = if cluster.short == "bank" {
        format!("{TELEMETRY_GATEWAY}.gloo-mesh.svc:4317")
    } else {
        let bank = CLUSTERS.iter().find(|c| c.short == "bank");
        let ip = bank.map_or(0, |c| c.first_node_ip + 1);
        format!("172.22.0.{ip}:{TELEMETRY_GATEWAY_NODE_PORT}")
    };
    let names: String = ALLOW_LIST
        .iter()
        .map(|n| format!("          - {n}\n"))
        .collect();
    format!(
        "exporters:
  otlp:
    endpoint: {endpoint}
    tls:
      ca_file: /etc/otel-certs/ca.crt
      server_name_override: gloo-telemetry-gateway.gloo-mesh
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
processors:
  batch/min:
    send_batch_max_size: 3000
    send_batch_size: 2000
    timeout: 600ms
  filter/min:
    metrics:
      include:
        match_type: strict
        metric_names:
{names}  memory_limiter:
    check_interval: 1s
    limit_percentage: 85
    spike_limit_percentage: 10
  resource/cluster_context:
    attributes:
      - action: insert
        key: cluster_name
        value: {cluster}
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: ztunnel
          scrape_interval: 15s
          metrics_path: /stats/prometheus
          kubernetes_sd_configs:
            - role: pod
              namespaces:
                names:
                  - istio-system
          relabel_configs:
            - action: keep
              source_labels:
                - __meta_kubernetes_pod_label_app
              regex: ztunnel
            - action: replace
              source_labels:
                - __meta_kubernetes_pod_ip
              regex: (.+)
              replacement: $1:15020
              target_label: __address__
service:
  extensions:
    - health_check
  pipelines:
    metrics/ui:
      receivers:
        - prometheus
      processors:
        - memory_limiter
        - filter/min
        - resource/cluster_context
        - batch/min
      exporters:
        - otlp
",
        cluster = cluster.name,
    )
}

/// The telemetry collector's ConfigMap on every cluster, and its DaemonSet on edge and
/// vendor (bank's is among the §2 DaemonSets): M11 copied bank's to the workload clusters
/// and put the deny counter in the allow-list.
pub fn telemetry_collectors(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    let cluster = b.cluster;
    let age = 100 * 60;
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": COLLECTOR_CONFIG,
            "namespace": COLLECTOR_NAMESPACE,
            "labels": {
                "app.kubernetes.io/name": "telemetryCollector",
                "app.kubernetes.io/managed-by": "Helm",
            },
        },
        "data": {"relay": relay_config(cluster)},
    });
    let config_age = if cluster.short == "bank" {
        placement::age_secs(spaces, COLLECTOR_NAMESPACE) - 120
    } else {
        age + 60
    };
    put_aged(b, config, config_age)?;
    if cluster.short != "bank" {
        let image = "gcr.io/gloo-mesh/gloo-otel-collector:2.10.1";
        let t = PodTemplate {
            app: COLLECTOR,
            container: "telemetry-collector",
            image,
            port: 4317,
            host_network: false,
            extra_labels: &[],
            ambient: false,
        };
        b.daemonset(COLLECTOR_NAMESPACE, &t, age)?;
        b.service_account(COLLECTOR_NAMESPACE, COLLECTOR, age)?;
    }
    Ok(())
}

/// `demo-scripts/manifests/prometheus-rules.yaml` as bank holds it.
pub fn prometheus_rule() -> anyhow::Result<Value> {
    let rule: Value = serde_saphyr::from_str(PROMETHEUS_RULE)
        .map_err(|e| anyhow::anyhow!("demo-scripts/manifests/prometheus-rules.yaml: {e}"))?;
    Ok(rule)
}

/// The PrometheusRule on bank (M11).
pub fn observability(b: &mut Builder<'_>) -> anyhow::Result<()> {
    if b.cluster.short != "bank" {
        return Ok(());
    }
    put_aged(b, prometheus_rule()?, 98 * 60)
}

const AGENTS_NS: &str = "trustusbank-bank-agents";
const AGENTGW: &str = "http://trustusbank-agentgw.trustusbank-platform.svc.cluster.local:8080";

const SUPPORT_BOT_PROMPT: &str = "You are TrustUsBank's front-line customer support assistant.
Available tools:
- account-mcp.get_balance(account_id)
- account-mcp.get_profile(account_id)
- transaction-mcp.list_recent(account_id, days)
- currency-converter.convert_currency(amount, from_ccy, to_ccy)
PII MASKING — mask email/phone/DOB/NI before returning to user.
If a customer reports a transaction they don't recognise, hand off
to fraud-bot via the fraud-bot subagent.
";

const FRAUD_BOT_PROMPT: &str = "You are TrustUsBank's fraud analyst.
Score the transaction the customer disputes from 0 to 100 with
transaction-mcp.get_details; flag it with transaction-mcp.flag_suspicious.
If the risk is above 70, hand off to triage-bot.
";

const TRIAGE_BOT_PROMPT: &str = "You are TrustUsBank's incident triage agent.
Open a DORA Art. 17 incident record with ticket-mcp.create_ticket and
notify the fraud team with ticket-mcp.notify_human.
";

fn mcp_tool(server: &str, tools: &[&str]) -> Value {
    json!({"type": "McpServer", "mcpServer": {"apiGroup": "kagent.dev", "kind": "RemoteMCPServer",
           "name": server, "toolNames": tools}})
}

fn agent_tool(agent: &str) -> Value {
    json!({"type": "Agent", "agent": {"name": agent}})
}

/// The status kagent writes on an object it accepted (and, for an Agent, whose Deployment is
/// ready).
fn kagent_status(conditions: &[(&str, &str)], at: &str) -> Value {
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|(ty, reason)| {
            json!({"type": ty, "status": "True", "reason": reason, "message": "",
                   "lastTransitionTime": at, "observedGeneration": 1})
        })
        .collect();
    json!({"observedGeneration": 1, "conditions": conditions})
}

/// kagent on bank (§3 group D, phase 06): the ModelConfig, the four RemoteMCPServers behind
/// agentgateway and the three Agents whose Deployments run in `trustusbank-bank-agents`.
pub fn kagent(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    if b.cluster.short != "bank" {
        return Ok(());
    }
    let age = placement::age_secs(spaces, AGENTS_NS) - 20;
    let at = b.ago(age - 10);
    let model = json!({
        "apiVersion": "kagent.dev/v1alpha2",
        "kind": "ModelConfig",
        "metadata": {"name": "anthropic-haiku", "namespace": AGENTS_NS, "generation": 1},
        "spec": {
            "provider": "Anthropic",
            "model": "claude-3-5-haiku-latest",
            "apiKeySecret": "kagent-anthropic",
            "apiKeySecretKey": "ANTHROPIC_API_KEY",
            "anthropic": {"temperature": "0.2", "maxTokens": 2048},
        },
        "status": kagent_status(&[("Accepted", "ModelConfigReconciled")], &at),
    });
    put_aged(b, model, age)?;
    for (name, path, description) in [
        (
            "account-mcp",
            "account",
            "TrustUsBank account info via agentgateway",
        ),
        (
            "transaction-mcp",
            "transaction",
            "TrustUsBank transactions via agentgateway",
        ),
        (
            "ticket-mcp",
            "ticket",
            "TrustUsBank ticketing + human escalation via agentgateway",
        ),
        (
            "currency-converter",
            "currency-converter",
            "Currency conversion helper (third-party vendor tool)",
        ),
    ] {
        let server = json!({
            "apiVersion": "kagent.dev/v1alpha2",
            "kind": "RemoteMCPServer",
            "metadata": {"name": name, "namespace": AGENTS_NS, "generation": 1},
            "spec": {
                "description": description,
                "protocol": "STREAMABLE_HTTP",
                "url": format!("{AGENTGW}/mcp/{path}"),
                "timeout": "30s",
                "terminateOnClose": true,
            },
            "status": kagent_status(&[("Accepted", "Reconciled")], &at),
        });
        put_aged(b, server, age - 5)?;
    }
    let agents = [
        (
            "support-bot",
            SUPPORT_BOT_PROMPT,
            vec![
                mcp_tool("account-mcp", &["get_balance", "get_profile"]),
                mcp_tool("transaction-mcp", &["list_recent"]),
                mcp_tool("currency-converter", &["convert_currency"]),
                agent_tool("fraud-bot"),
            ],
        ),
        (
            "fraud-bot",
            FRAUD_BOT_PROMPT,
            vec![
                mcp_tool(
                    "transaction-mcp",
                    &["list_recent", "get_details", "flag_suspicious"],
                ),
                agent_tool("triage-bot"),
            ],
        ),
        (
            "triage-bot",
            TRIAGE_BOT_PROMPT,
            vec![mcp_tool("ticket-mcp", &["create_ticket", "notify_human"])],
        ),
    ];
    for (name, prompt, tools) in agents {
        let agent = json!({
            "apiVersion": "kagent.dev/v1alpha2",
            "kind": "Agent",
            "metadata": {"name": name, "namespace": AGENTS_NS, "generation": 1},
            "spec": {
                "type": "Declarative",
                "declarative": {
                    "modelConfig": "anthropic-haiku",
                    "systemMessage": prompt,
                    "tools": tools,
                },
            },
            "status": kagent_status(
                &[("Accepted", "AgentReconciled"), ("Ready", "DeploymentReady")],
                &at,
            ),
        });
        put_aged(b, agent, age - 10)?;
    }
    Ok(())
}

/// The Solo management plane's governance objects on bank (§5, M08–M09): every cluster
/// registered as a KubernetesCluster, one Workspace spanning them, its WorkspaceSettings
/// (no federation block).
pub fn gloo_management(b: &mut Builder<'_>, spaces: &[NamespaceSpec]) -> anyhow::Result<()> {
    if b.cluster.short != "bank" {
        return Ok(());
    }
    let ns = "gloo-mesh";
    let age = placement::age_secs(spaces, ns) - 60;
    for (i, cluster) in CLUSTERS.iter().enumerate() {
        let registered = json!({
            "apiVersion": "admin.gloo.solo.io/v2",
            "kind": "KubernetesCluster",
            "metadata": {"name": cluster.name, "namespace": ns, "generation": 1},
            "spec": {"clusterDomain": "cluster.local"},
        });
        put_aged(b, registered, age - i as i64)?;
    }
    let workload_clusters: Vec<Value> = CLUSTERS
        .iter()
        .map(|c| {
            let mut namespaces = vec![json!({"name": "trustusbank-*"})];
            if c.short == "vendor" {
                namespaces.push(json!({"name": "external-attacker"}));
            }
            json!({"name": c.name, "namespaces": namespaces})
        })
        .collect();
    let workspace = json!({
        "apiVersion": "admin.gloo.solo.io/v2",
        "kind": "Workspace",
        "metadata": {"name": "trustusbank", "namespace": ns, "generation": 1},
        "spec": {"workloadClusters": workload_clusters},
    });
    let age = 95 * 60;
    put_aged(b, workspace, age)?;
    let settings = json!({
        "apiVersion": "admin.gloo.solo.io/v2",
        "kind": "WorkspaceSettings",
        "metadata": {"name": "trustusbank", "namespace": ns, "generation": 1},
        "spec": {
            "exportTo": [{"workspaces": [{"name": "trustusbank"}]}],
            "importFrom": [{"workspaces": [{"name": "trustusbank"}]}],
        },
    });
    put_aged(b, settings, age - 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_file_and_the_relay_config_parse() {
        let rule = prometheus_rule().unwrap();
        assert_eq!(rule["kind"], "PrometheusRule");
        let text = rule.to_string();
        assert!(text.contains("IstioAuthZDeny") && text.contains("BankToAttackerAttempt"));
        for cluster in &CLUSTERS {
            let relay: Value = serde_saphyr::from_str(&relay_config(cluster)).unwrap();
            let names = &relay["processors"]["filter/min"]["metrics"]["include"]["metric_names"];
            assert!(
                names
                    .as_array()
                    .unwrap()
                    .contains(&json!("istio_tcp_connections_failed_total")),
                "{relay}"
            );
            assert_eq!(
                relay["service"]["pipelines"]["metrics/ui"]["exporters"],
                json!(["otlp"])
            );
        }
    }
}
