//! The platform checks: Solo management registration (§5, M08), observability (M11), the
//! agents (§3 group D, §7, tabs 1 and 3), the demo's starting state (act 1) and the Solo
//! license (M03).

use std::time::Duration;

use serde_json::{Value, json};

use super::fix::{apply_json, kubectl};
use super::mesh::register_fix;
use super::read::{self, Reader, text};
use super::{Cluster, DoctorSetup, HttpEndpoint, Job, Outcome, ReadError, named};

/// Where the management plane, the observability stack and kagent live (§1: all on bank).
const HUB: &str = "bank";
const OBSERVABILITY_NS: &str = "trustusbank-observability";
const AGENTS_NS: &str = "trustusbank-bank-agents";
const ALERTS: &[&str] = &["IstioAuthZDeny", "BankToAttackerAttempt"];
/// The metric ztunnel counts every AuthZ-rejected HBONE handshake in (M11).
pub const DENY_METRIC: &str = "istio_tcp_connections_failed_total";
const COLLECTOR_CONFIG: &str = "gloo-telemetry-collector-config";
const COLLECTOR_NS: &str = "gloo-mesh";
const LICENSE_SECRET: &str = "solo-istio-license";
const AGENTGW: &str = "http://trustusbank-agentgw.trustusbank-platform.svc.cluster.local:8080";
/// The four MCP tool servers behind agentgateway, and their route (§3 group D, §9).
pub const MCP_SERVERS: &[(&str, &str, &str)] = &[
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
];
const HTTP_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) fn jobs(setup: &DoctorSetup, clusters: &[Cluster], jobs: &mut Vec<Job>) {
    if let Some(hub) = named(clusters, HUB) {
        let hub = hub.clone();
        jobs.push(Job::new(
            "gloo-registration",
            "every cluster is a KubernetesCluster and in the Workspace",
            &hub,
            &[],
            gloo_registration(setup.clone(), hub.clone(), clusters.to_vec()),
        ));
        jobs.push(Job::new(
            "alert-rules",
            "PrometheusRule with IstioAuthZDeny and BankToAttackerAttempt",
            &hub,
            &[],
            alert_rules(setup.clone(), hub.clone()),
        ));
        jobs.push(Job::new(
            "prometheus",
            "Prometheus answers",
            &hub,
            &[],
            prometheus(setup.clone(), hub.clone()),
        ));
        jobs.push(Job::new(
            "alertmanager",
            "Alertmanager runs",
            &hub,
            &[],
            alertmanager(setup.clone(), hub.clone()),
        ));
        let via = named(clusters, &setup.chatbot_cluster).cloned();
        let also: Vec<&Cluster> = via.iter().collect();
        jobs.push(Job::new(
            "agent-card",
            "support-bot's agent card answers through the chatbot route",
            &hub,
            &also,
            agent_card(setup.clone(), hub.clone()),
        ));
        jobs.push(Job::new(
            "agent-tools",
            "the Agents list the four MCP tool servers",
            &hub,
            &[],
            agent_tools(setup.clone(), hub.clone()),
        ));
        jobs.push(Job::new(
            "agentregistry",
            "agentregistry lists 4 entries",
            &hub,
            &[],
            agentregistry(setup.clone(), hub.clone()),
        ));
    }
    let hub = named(clusters, HUB).cloned();
    for c in clusters {
        let also: Vec<&Cluster> = hub.iter().filter(|h| h.name != c.name).collect();
        jobs.push(Job::new(
            "collector-allowlist",
            "telemetry collector exports istio_tcp_connections_failed_total to bank",
            c,
            &also,
            collector_allowlist(setup.clone(), c.clone(), hub.clone()),
        ));
        if c.name == setup.demo.tool.cluster {
            jobs.push(Job::new(
                "demo-start",
                "the demo is at its start (clean image, no policies)",
                c,
                &[],
                demo_start(setup.clone(), c.clone()),
            ));
        }
        jobs.push(Job::new(
            "license",
            "the Solo Istio license Secret exists",
            c,
            &[],
            license(setup.clone(), c.clone()),
        ));
    }
}

async fn gloo_registration(
    setup: DoctorSetup,
    hub: Cluster,
    clusters: Vec<Cluster>,
) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &hub).await?;
    let registered = reader
        .list(read::KUBERNETES_CLUSTER, Some("gloo-mesh"), None)
        .await?;
    let workspaces = reader
        .list(read::WORKSPACE, Some("gloo-mesh"), None)
        .await?;
    let mut out = Outcome::default();
    for c in &clusters {
        let object = hub.object("KubernetesCluster", Some("gloo-mesh"), &c.mesh);
        if registered
            .iter()
            .any(|k| text(k, "/metadata/name") == c.mesh)
        {
            out.saw(object, "metadata.name", "registered");
        } else {
            out.wrong(
                object,
                "metadata.name",
                "absent",
                [register_fix(&hub, &c.mesh)],
            );
        }
    }
    let Some(ws) = workspaces.first() else {
        let workspace = json!({
            "apiVersion": "admin.gloo.solo.io/v2",
            "kind": "Workspace",
            "metadata": {"name": "trustusbank", "namespace": "gloo-mesh"},
            "spec": {"workloadClusters": clusters.iter().map(|c| workload_cluster(&c.mesh)).collect::<Vec<_>>()},
        });
        out.wrong(
            format!("Workspaces in gloo-mesh ({})", hub.name),
            "items",
            "none",
            [apply_json(&hub.context, &workspace)],
        );
        return Ok(out);
    };
    let ws_name = text(ws, "/metadata/name").to_string();
    let listed: Vec<&str> = ws
        .pointer("/spec/workloadClusters")
        .and_then(Value::as_array)
        .map(|l| l.iter().map(|w| text(w, "/name")).collect())
        .unwrap_or_default();
    let object = hub.object("Workspace", Some("gloo-mesh"), &ws_name);
    for c in &clusters {
        if listed.contains(&c.mesh.as_str()) {
            out.saw(&object, "spec.workloadClusters[].name", &c.mesh);
        } else {
            let op = if ws.pointer("/spec/workloadClusters").is_some() {
                json!([{"op": "add", "path": "/spec/workloadClusters/-", "value": workload_cluster(&c.mesh)}])
            } else {
                json!([{"op": "add", "path": "/spec/workloadClusters", "value": [workload_cluster(&c.mesh)]}])
            };
            out.wrong(
                &object,
                "spec.workloadClusters[].name",
                format!("{} absent", c.mesh),
                [kubectl(
                    &hub.context,
                    &[
                        "-n",
                        "gloo-mesh",
                        "patch",
                        "workspace",
                        &ws_name,
                        "--type=json",
                        "-p",
                        &op.to_string(),
                    ],
                )],
            );
        }
    }
    Ok(out)
}

fn workload_cluster(mesh: &str) -> Value {
    let mut namespaces = vec![json!({"name": "trustusbank-*"})];
    if mesh.ends_with("vendor") {
        namespaces.push(json!({"name": "external-attacker"}));
    }
    json!({"name": mesh, "namespaces": namespaces})
}

async fn alert_rules(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &hub).await?;
    let rules = reader.list(read::PROMETHEUS_RULE, None, None).await?;
    let mut out = Outcome::default();
    for alert in ALERTS {
        let holder = rules.iter().find(|r| {
            r.pointer("/spec/groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|g| {
                    g.get("rules")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .any(|rule| rule.get("alert").and_then(Value::as_str) == Some(alert))
        });
        match holder {
            Some(r) => out.saw(
                hub.object(
                    "PrometheusRule",
                    Some(text(r, "/metadata/namespace")),
                    text(r, "/metadata/name"),
                ),
                "spec.groups[].rules[].alert",
                *alert,
            ),
            None => out.wrong(
                format!("PrometheusRules ({})", hub.name),
                "spec.groups[].rules[].alert",
                format!("no {alert}"),
                [kubectl(
                    &hub.context,
                    &[
                        "apply",
                        "-f",
                        "demo-scripts/manifests/prometheus-rules.yaml",
                    ],
                )],
            ),
        }
    }
    Ok(out)
}

async fn http_get(url: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// A Deployment that serves an endpoint, and the command that brings it back when it is
/// scaled to zero or has no ready pod.
async fn workload_fix(
    reader: &Reader,
    hub: &Cluster,
    ns: &str,
    name: &str,
    out: &mut Outcome,
) -> Result<(), ReadError> {
    // The Deployment of that name, else (kube-prometheus-stack runs Prometheus and
    // Alertmanager as StatefulSets with longer names) a StatefulSet or Deployment whose
    // name contains it.
    let mut found = reader
        .get(read::DEPLOYMENT, Some(ns), name)
        .await?
        .map(|d| ("Deployment", "deploy", d));
    if found.is_none() {
        let statefulsets = match reader.list(read::STATEFUL_SET, Some(ns), None).await {
            Ok(list) => list,
            Err(ReadError::NotServed { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let deployments = reader.list(read::DEPLOYMENT, Some(ns), None).await?;
        found = statefulsets
            .into_iter()
            .map(|w| ("StatefulSet", "statefulset", w))
            .chain(deployments.into_iter().map(|w| ("Deployment", "deploy", w)))
            .find(|(_, _, w)| {
                let n = text(w, "/metadata/name");
                n.contains(name) && !n.contains("operator") && !n.contains("exporter")
            });
    }
    let Some((kind, short, d)) = found else {
        out.wrong(
            hub.object("Deployment", Some(ns), name),
            "metadata.name",
            "absent",
            [],
        );
        return Ok(());
    };
    let name = text(&d, "/metadata/name").to_string();
    let name = name.as_str();
    let object = hub.object(kind, Some(ns), name);
    let replicas = d
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let ready = d
        .pointer("/status/readyReplicas")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if replicas == 0 {
        out.wrong(
            object,
            "spec.replicas",
            "0",
            [kubectl(
                &hub.context,
                &[
                    "-n",
                    ns,
                    "scale",
                    &format!("{short}/{name}"),
                    "--replicas=1",
                ],
            )],
        );
    } else if ready == 0 {
        out.wrong(
            object,
            "status.readyReplicas",
            "0",
            [kubectl(
                &hub.context,
                &["-n", ns, "rollout", "restart", &format!("{short}/{name}")],
            )],
        );
    } else {
        out.saw(object, "status.readyReplicas", ready.to_string());
    }
    Ok(())
}

/// Reads `path` on `endpoint`; on failure, the evidence and the fix of the Deployment behind it.
async fn endpoint_check(
    setup: &DoctorSetup,
    hub: &Cluster,
    endpoint: &HttpEndpoint,
    path: &str,
    workload: (&str, &str),
    judge: impl Fn(u16, &str) -> Result<String, String>,
) -> Result<Outcome, ReadError> {
    let mut out = Outcome::default();
    let shown = format!("{} {path}", endpoint.shown());
    // No endpoint to ask (none configured, the forward not listening): not known.
    let base = endpoint.base().await.map_err(|why| ReadError::Failed {
        what: shown.clone(),
        why,
    })?;
    let answer = http_get(&format!("{base}{path}")).await;
    let verdict = answer.and_then(|(status, body)| judge(status, &body));
    match verdict {
        Ok(seen) => out.saw(shown, "answer", seen),
        Err(why) => {
            let reader = Reader::of(&setup.pool, hub).await?;
            out.wrong(shown, "answer", why, []);
            workload_fix(&reader, hub, workload.0, workload.1, &mut out).await?;
            out.failed = true;
        }
    }
    Ok(out)
}

async fn prometheus(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let endpoint = setup.prometheus.clone();
    endpoint_check(
        &setup,
        &hub,
        &endpoint,
        "/-/ready",
        (OBSERVABILITY_NS, "prometheus"),
        |status, body| {
            if status == 200 {
                Ok(format!(
                    "200 {}",
                    crate::text::inert(body.trim())
                        .chars()
                        .take(60)
                        .collect::<String>()
                ))
            } else {
                Err(format!("HTTP {status}"))
            }
        },
    )
    .await
}

async fn alertmanager(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &hub).await?;
    let mut out = Outcome::default();
    workload_fix(&reader, &hub, OBSERVABILITY_NS, "alertmanager", &mut out).await?;
    Ok(out)
}

async fn agent_card(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let mut out = Outcome::default();
    let path = format!(
        "/api/a2a/{}/.well-known/agent-card.json",
        setup.chat_agent.trim_matches('/')
    );
    let shown = format!("{} {path}", setup.chatbot.shown());
    let base = setup
        .chatbot
        .base()
        .await
        .map_err(|why| ReadError::Failed {
            what: shown.clone(),
            why,
        })?;
    let answer = http_get(&format!("{base}{path}")).await;
    match answer {
        Ok((200, body)) => match serde_json::from_str::<Value>(&body) {
            Ok(card) if card.get("name").and_then(Value::as_str).is_some() => {
                out.saw(shown, "name", crate::text::inert(text(&card, "/name")));
            }
            _ => out.wrong(shown, "body", "not an agent card", []),
        },
        Ok((status, _)) => {
            out.wrong(
                shown,
                "answer",
                format!("HTTP {status} (the mesh does not carry the call: see the mesh checks)"),
                [],
            );
            let (ns, agent) = setup
                .chat_agent
                .split_once('/')
                .unwrap_or((AGENTS_NS, "support-bot"));
            let reader = Reader::of(&setup.pool, &hub).await?;
            let mut agent_out = Outcome::default();
            workload_fix(&reader, &hub, ns, agent, &mut agent_out).await?;
            if agent_out.failed {
                out.evidence.extend(agent_out.evidence);
                out.fix.extend(agent_out.fix);
            }
        }
        Err(why) => out.wrong(shown, "answer", why, []),
    }
    Ok(out)
}

fn remote_mcp_server(name: &str, route: &str, description: &str) -> Value {
    json!({
        "apiVersion": "kagent.dev/v1alpha2",
        "kind": "RemoteMCPServer",
        "metadata": {"name": name, "namespace": AGENTS_NS},
        "spec": {
            "description": description,
            "protocol": "STREAMABLE_HTTP",
            "url": format!("{AGENTGW}/mcp/{route}"),
        },
    })
}

async fn agent_tools(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &hub).await?;
    let agents = reader.list(read::AGENT, Some(AGENTS_NS), None).await?;
    let servers = reader
        .list(read::REMOTE_MCP_SERVER, Some(AGENTS_NS), None)
        .await?;
    let mut out = Outcome::default();
    let mut referenced: Vec<String> = Vec::new();
    for a in &agents {
        for tool in a
            .pointer("/spec/declarative/tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if text(tool, "/mcpServer/kind") == "RemoteMCPServer" {
                let name = text(tool, "/mcpServer/name").to_string();
                if !referenced.contains(&name) {
                    referenced.push(name);
                }
            }
        }
    }
    let (_, agent) = setup
        .chat_agent
        .split_once('/')
        .unwrap_or((AGENTS_NS, "support-bot"));
    if !agents.iter().any(|a| text(a, "/metadata/name") == agent) {
        out.wrong(
            hub.object("Agent", Some(AGENTS_NS), agent),
            "metadata.name",
            "absent",
            [],
        );
    }
    for (name, route, description) in MCP_SERVERS {
        let object = hub.object("RemoteMCPServer", Some(AGENTS_NS), name);
        let exists = servers.iter().any(|s| text(s, "/metadata/name") == *name);
        if !referenced.iter().any(|r| r == name) {
            out.wrong(
                format!("Agents in {AGENTS_NS} ({})", hub.name),
                "spec.declarative.tools[].mcpServer.name",
                format!("{name} not listed"),
                [],
            );
        } else if !exists {
            out.wrong(
                object,
                "metadata.name",
                "absent (listed by an Agent)",
                [apply_json(
                    &hub.context,
                    &remote_mcp_server(name, route, description),
                )],
            );
        } else {
            out.saw(object, "listed by an Agent", "yes");
        }
    }
    Ok(out)
}

async fn agentregistry(setup: DoctorSetup, hub: Cluster) -> Result<Outcome, ReadError> {
    let endpoint = setup.agentregistry.clone();
    endpoint_check(
        &setup,
        &hub,
        &endpoint,
        "/api/v1/servers",
        ("trustusbank-platform", "agentregistry"),
        |status, body| {
            if status != 200 {
                return Err(format!("HTTP {status}"));
            }
            let doc: Value = serde_json::from_str(body).map_err(|_| "not JSON".to_string())?;
            let entries = doc
                .get("servers")
                .and_then(Value::as_array)
                .or_else(|| doc.as_array())
                .map_or(0, Vec::len);
            if entries == 4 {
                Ok("4 entries".into())
            } else {
                Err(format!("{entries} entries, not 4"))
            }
        },
    )
    .await
}

/// The clean image of a compromised one: `…:1.0.0-rugpull` → `…:1.0.0`.
fn clean_image(image: &str, marker: &str) -> String {
    image.replace(&format!("-{marker}"), "").replace(marker, "")
}

async fn demo_start(setup: DoctorSetup, c: Cluster) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &c).await?;
    let tool = &setup.demo.tool;
    let mut out = Outcome::default();
    let object = c.object("Deployment", Some(&tool.namespace), &tool.deployment);
    match reader
        .get(read::DEPLOYMENT, Some(&tool.namespace), &tool.deployment)
        .await?
    {
        None => out.wrong(object, "metadata.name", "absent", []),
        Some(d) => {
            let containers = d
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for container in &containers {
                let image = text(container, "/image");
                let name = text(container, "/name");
                let field = format!("spec.template.spec.containers[{name}].image");
                if !setup.demo.compromised_image.is_empty()
                    && image.contains(&setup.demo.compromised_image)
                {
                    out.odd(
                        &object,
                        field,
                        image,
                        [kubectl(
                            &c.context,
                            &[
                                "-n",
                                &tool.namespace,
                                "set",
                                "image",
                                &format!("deploy/{}", tool.deployment),
                                &format!(
                                    "{name}={}",
                                    clean_image(image, &setup.demo.compromised_image)
                                ),
                            ],
                        )],
                    );
                } else {
                    out.saw(&object, field, image);
                }
            }
        }
    }
    for ns in &setup.demo.policy_namespaces {
        let policies = reader
            .list(read::AUTHORIZATION_POLICY, Some(ns), None)
            .await?;
        let object = format!("AuthorizationPolicies in {ns} ({})", c.name);
        if policies.is_empty() {
            out.saw(object, "items", "none");
        } else {
            let names: Vec<&str> = policies.iter().map(|p| text(p, "/metadata/name")).collect();
            out.odd(
                object,
                "items",
                names.join(","),
                [kubectl(
                    &c.context,
                    &["-n", ns, "delete", "authorizationpolicy", "--all"],
                )],
            );
        }
    }
    Ok(out)
}

/// The host of a collector config's OTLP exporter endpoint.
fn otlp_host(config: &str) -> Option<String> {
    let doc: Value = serde_saphyr::from_str(config).ok()?;
    let endpoint = doc
        .get("exporters")?
        .as_object()?
        .iter()
        .filter(|(name, _)| name.as_str() == "otlp" || name.starts_with("otlp/"))
        .find_map(|(_, spec)| spec.get("endpoint").and_then(Value::as_str))?;
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    Some(
        host.trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string(),
    )
}

/// Where the collector sends: bank's telemetry gateway at one of bank's node addresses now
/// (its NodePort). After a Docker restart the address in the config is stale (M11): the
/// stale address and the one to use instead.
async fn relay_address(
    setup: &DoctorSetup,
    hub: &Cluster,
    key: &str,
    config: &str,
    object: &str,
    out: &mut Outcome,
) -> Result<Option<(String, String)>, ReadError> {
    let Some(host) = otlp_host(config) else {
        out.wrong(
            object,
            format!("data.{key} exporters.otlp.endpoint"),
            "absent",
            [],
        );
        return Ok(None);
    };
    if host.parse::<std::net::IpAddr>().is_err() {
        out.saw(object, format!("data.{key} exporters.otlp.endpoint"), host);
        return Ok(None);
    }
    let nodes = Reader::of(&setup.pool, hub)
        .await?
        .list(read::NODE, None, None)
        .await?;
    let ips = read::internal_ips(&nodes);
    let field = format!("data.{key} exporters.otlp.endpoint");
    if ips.contains(&host) {
        out.saw(object, field, host);
        return Ok(None);
    }
    out.wrong(
        object,
        field,
        format!(
            "{host} (stale: {} nodes are at {})",
            hub.name,
            ips.join(",")
        ),
        [],
    );
    Ok(super::mesh::worker_address(&nodes).map(|ip| (host, ip)))
}

async fn collector_allowlist(
    setup: DoctorSetup,
    c: Cluster,
    hub: Option<Cluster>,
) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &c).await?;
    let mut out = Outcome::default();
    let object = c.object("ConfigMap", Some(COLLECTOR_NS), COLLECTOR_CONFIG);
    let Some(cm) = reader
        .get(read::CONFIG_MAP, Some(COLLECTOR_NS), COLLECTOR_CONFIG)
        .await?
    else {
        out.wrong(object, "metadata.name", "absent", []);
        return Ok(out);
    };
    let data = cm
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut found_any = false;
    for (key, value) in &data {
        let Some(config) = value.as_str() else {
            continue;
        };
        let Some(names) = allow_list(config) else {
            continue;
        };
        found_any = true;
        let field = format!("data.{key} processors.filter/min metrics.include.metric_names");
        // One patch for everything wrong in this config, so the fixes do not undo each other.
        let mut fixed = Some(config.to_string());
        let mut wrong = false;
        if names.iter().any(|n| n == DENY_METRIC) {
            out.saw(&object, field, DENY_METRIC);
        } else {
            wrong = true;
            fixed = fixed.and_then(|f| with_metric(&f, DENY_METRIC));
            out.wrong(
                &object,
                field,
                format!("{} absent ({} names)", DENY_METRIC, names.len()),
                [],
            );
        }
        if let Some(hub) = hub.as_ref().filter(|h| h.name != c.name)
            && let Some((stale, now)) =
                relay_address(&setup, hub, key, config, &object, &mut out).await?
        {
            wrong = true;
            fixed = fixed.map(|f| f.replace(&stale, &now));
        }
        if let (true, Some(fixed)) = (wrong, fixed) {
            let mut patch = serde_json::Map::new();
            patch.insert(key.clone(), Value::String(fixed));
            let patch = json!({"data": patch}).to_string();
            out.fix.push(kubectl(
                &c.context,
                &[
                    "-n",
                    COLLECTOR_NS,
                    "patch",
                    "configmap",
                    COLLECTOR_CONFIG,
                    "--type=merge",
                    "-p",
                    &patch,
                ],
            ));
        }
    }
    if !found_any {
        out.wrong(
            object,
            "data",
            "no collector config with a filter/min allow-list",
            [],
        );
    }
    Ok(out)
}

/// `processors."filter/min".metrics.include.metric_names` of a collector config.
fn allow_list(config: &str) -> Option<Vec<String>> {
    let doc: Value = serde_saphyr::from_str(config).ok()?;
    let names = doc
        .pointer("/processors/filter~1min/metrics/include/metric_names")?
        .as_array()?;
    Some(
        names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

/// `config` with `metric` added at the top of the allow-list, every other line as it was.
fn with_metric(config: &str, metric: &str) -> Option<String> {
    let lines: Vec<&str> = config.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start() == "metric_names:")?;
    let key_indent = lines[at].len() - lines[at].trim_start().len();
    let item_indent = lines
        .get(at + 1)
        .filter(|l| l.trim_start().starts_with("- "))
        .map_or(key_indent + 2, |l| l.len() - l.trim_start().len());
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    out.insert(at + 1, format!("{}- {metric}", " ".repeat(item_indent)));
    let text = out.join("\n") + "\n";
    allow_list(&text).filter(|n| n.iter().any(|x| x == metric))?;
    Some(text)
}

async fn license(setup: DoctorSetup, c: Cluster) -> Result<Outcome, ReadError> {
    let reader = Reader::of(&setup.pool, &c).await?;
    let mut out = Outcome::default();
    let object = c.object("Secret", Some("istio-system"), LICENSE_SECRET);
    // Presence only: the metadata is read, never the value.
    if reader.secret_exists("istio-system", LICENSE_SECRET).await? {
        out.saw(object, "metadata.name", "present");
    } else {
        out.wrong(
            object,
            "metadata.name",
            "absent",
            // The key from the environment (M00's .env), never from here.
            [format!(
                "{} --from-literal=license=\"$SOLO_ISTIO_LICENSE_KEY\"",
                kubectl(
                    &c.context,
                    &[
                        "-n",
                        "istio-system",
                        "create",
                        "secret",
                        "generic",
                        LICENSE_SECRET
                    ]
                )
            )],
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deny_metric_is_added_to_the_allow_list() {
        let config = "processors:\n  filter/min:\n    metrics:\n      include:\n        match_type: strict\n        metric_names:\n          - a_total\n          - b_total\nservice: {}\n";
        assert_eq!(
            allow_list(config),
            Some(vec!["a_total".into(), "b_total".into()])
        );
        let fixed = with_metric(config, DENY_METRIC).expect("fixable");
        assert_eq!(
            allow_list(&fixed),
            Some(vec![DENY_METRIC.into(), "a_total".into(), "b_total".into()])
        );
        assert!(fixed.ends_with("service: {}\n"));
        assert_eq!(with_metric("nothing: here\n", DENY_METRIC), None);
    }

    #[test]
    fn the_clean_image_drops_the_marker() {
        assert_eq!(
            clean_image("currency-converter:1.0.0-rugpull", "rugpull"),
            "currency-converter:1.0.0"
        );
    }
}
