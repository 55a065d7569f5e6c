//! The telemetry pipeline between the ztunnels and bank's Prometheus (walkthrough M11): each
//! cluster's `gloo-telemetry-collector-agent` scrapes its ztunnels and exports what its
//! configuration lets through to bank's `gloo-telemetry-gateway`, which Prometheus scrapes.
//!
//! The collector's configuration is read from its ConfigMap (`gloo-mesh/
//! gloo-telemetry-collector-config`, key `relay`) at every export, so editing the metric
//! allow-list of `filter/min` changes what Prometheus sees from the next scrape on. (A real
//! collector reads the file when it starts: on a real cluster the edit lands once the
//! DaemonSet's pods restart.) A cluster whose collector has no DaemonSet, no ConfigMap or a
//! configuration that does not load exports nothing; with the gateway down nothing arrives.

use std::collections::HashSet;

use serde_json::Value;

use super::MetricSample;
use crate::store::ClusterStore;
use crate::world::platform::{COLLECTOR, COLLECTOR_CONFIG, COLLECTOR_NAMESPACE, TELEMETRY_GATEWAY};

/// One filter processor's legacy `metrics.include` / `metrics.exclude` match.
#[derive(Debug)]
enum Match {
    Strict(HashSet<String>),
    Regexp(Vec<regex::Regex>),
}

impl Match {
    fn parse(spec: &Value) -> Option<Self> {
        let names: Vec<String> = spec
            .get("metric_names")
            .and_then(Value::as_array)
            .map(|n| {
                n.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        match spec.get("match_type").and_then(Value::as_str) {
            Some("strict") => Some(Self::Strict(names.into_iter().collect())),
            Some("regexp") => names
                .iter()
                .map(|n| regex::Regex::new(n).ok())
                .collect::<Option<Vec<_>>>()
                .map(Self::Regexp),
            // The collector refuses to start on any other match type.
            _ => None,
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Strict(names) => names.contains(name),
            Self::Regexp(patterns) => patterns.iter().any(|p| p.is_match(name)),
        }
    }
}

/// A filter processor: keep what `include` matches (everything without one), then drop what
/// `exclude` matches.
#[derive(Debug)]
struct Filter {
    include: Option<Match>,
    exclude: Option<Match>,
}

impl Filter {
    fn parse(spec: &Value) -> Option<Self> {
        let metrics = spec.get("metrics");
        let part = |key: &str| match metrics.and_then(|m| m.get(key)) {
            None | Some(Value::Null) => Some(None),
            Some(spec) => Match::parse(spec).map(Some),
        };
        Some(Self {
            include: part("include")?,
            exclude: part("exclude")?,
        })
    }

    fn keeps(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|m| m.matches(name))
            && !self.exclude.as_ref().is_some_and(|m| m.matches(name))
    }
}

/// What one cluster's collector exports: the union of its metrics pipelines that scrape with
/// the Prometheus receiver and export somewhere, each the chain of its filters.
#[derive(Debug)]
pub struct Exporter {
    pipelines: Vec<Vec<Filter>>,
    /// The host of its OTLP exporter's `endpoint` (`172.22.0.6`, or a Service name).
    pub endpoint_host: Option<String>,
}

impl Exporter {
    /// The collector's `relay` configuration, or `None` when it would not start.
    pub fn from_config(relay: &str) -> Option<Self> {
        let config: Value = serde_saphyr::from_str(relay).ok()?;
        let processors = config.get("processors");
        let pipelines = config.pointer("/service/pipelines")?.as_object()?;
        let mut out = Vec::new();
        for (name, pipeline) in pipelines {
            if name != "metrics" && !name.starts_with("metrics/") {
                continue;
            }
            let list = |key: &str| -> Vec<&str> {
                pipeline
                    .get(key)
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            };
            let scrapes = list("receivers")
                .iter()
                .any(|r| *r == "prometheus" || r.starts_with("prometheus/"));
            if !scrapes || list("exporters").is_empty() {
                continue;
            }
            let mut filters = Vec::new();
            for processor in list("processors") {
                // A pipeline naming a processor that is not configured does not load.
                let spec = processors.and_then(|p| p.get(processor))?;
                if processor == "filter" || processor.starts_with("filter/") {
                    filters.push(Filter::parse(spec)?);
                }
            }
            out.push(filters);
        }
        let endpoint_host = config
            .get("exporters")
            .and_then(Value::as_object)
            .and_then(|e| {
                e.iter()
                    .filter(|(name, _)| name.as_str() == "otlp" || name.starts_with("otlp/"))
                    .find_map(|(_, spec)| spec.get("endpoint").and_then(Value::as_str))
            })
            .map(|endpoint| {
                let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
                host.trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .to_string()
            });
        Some(Self {
            pipelines: out,
            endpoint_host,
        })
    }

    pub fn keeps(&self, metric: &str) -> bool {
        self.pipelines
            .iter()
            .any(|filters| filters.iter().all(|f| f.keeps(metric)))
    }
}

/// The exporter of the collector running in `store`'s cluster, if one runs.
pub fn exporter(store: &ClusterStore) -> Option<Exporter> {
    if !store.exists("apps/v1", "DaemonSet", Some(COLLECTOR_NAMESPACE), COLLECTOR) {
        return None;
    }
    let config = store.get(
        "v1",
        "ConfigMap",
        Some(COLLECTOR_NAMESPACE),
        COLLECTOR_CONFIG,
    )?;
    Exporter::from_config(config.pointer("/data/relay")?.as_str()?)
}

/// Whether bank's telemetry gateway has a pod available to receive and serve the metrics.
pub fn gateway_up(bank: &ClusterStore) -> bool {
    bank.get(
        "apps/v1",
        "Deployment",
        Some(COLLECTOR_NAMESPACE),
        TELEMETRY_GATEWAY,
    )
    .and_then(|d| {
        d.pointer("/status/availableReplicas")
            .and_then(Value::as_i64)
    })
    .is_some_and(|n| n > 0)
}

/// Whether an exporter sending to `host` reaches bank's telemetry gateway: a Service name
/// (bank's own collector, in-cluster), or one of bank's nodes' InternalIPs now, where the
/// gateway's NodePort answers. After a node's address shifts the old one reaches nothing.
pub fn reaches_gateway(host: Option<&str>, bank_nodes: &[String]) -> bool {
    match host {
        None => false,
        Some(h) if h.parse::<std::net::IpAddr>().is_err() => true,
        Some(h) => bank_nodes.iter().any(|ip| ip == h),
    }
}

/// The InternalIPs of a cluster's nodes.
pub fn node_ips(store: &ClusterStore) -> Vec<String> {
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

/// The samples that reach Prometheus: those whose cluster's collector exports them.
pub fn exported(
    samples: Vec<MetricSample>,
    exporters: &[(String, Option<Exporter>)],
) -> Vec<MetricSample> {
    samples
        .into_iter()
        .filter(|s| {
            let cluster = s
                .labels
                .iter()
                .find(|(k, _)| *k == "cluster")
                .map(|(_, v)| v.as_str());
            exporters.iter().any(|(name, exporter)| {
                Some(name.as_str()) == cluster && exporter.as_ref().is_some_and(|e| e.keeps(s.name))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::CLUSTERS;
    use crate::world::platform::relay_config;

    #[test]
    fn the_allow_list_decides() {
        let relay = relay_config(&CLUSTERS[2]);
        let e = Exporter::from_config(&relay).unwrap();
        assert!(e.keeps("istio_tcp_connections_failed_total"));
        assert!(e.keeps("istio_tcp_connections_opened_total"));
        assert!(!e.keeps("go_goroutines"));
        let dropped = relay.replace("          - istio_tcp_connections_failed_total\n", "");
        let e = Exporter::from_config(&dropped).unwrap();
        assert!(!e.keeps("istio_tcp_connections_failed_total"));
        assert!(e.keeps("istio_tcp_connections_opened_total"));
        // A processor the pipeline names but nobody configured: the collector does not start.
        assert_eq!(e.endpoint_host.as_deref(), Some("172.22.0.6"));
        assert!(reaches_gateway(
            e.endpoint_host.as_deref(),
            &["172.22.0.6".into()]
        ));
        assert!(!reaches_gateway(
            e.endpoint_host.as_deref(),
            &["172.22.0.77".into()]
        ));
        assert!(reaches_gateway(
            Some("gloo-telemetry-gateway.gloo-mesh.svc"),
            &[]
        ));
        let broken = relay.replace("  filter/min:\n", "  filter/other:\n");
        assert!(Exporter::from_config(&broken).is_none());
        assert!(Exporter::from_config("not: [yaml").is_none());
        let regexp = "processors:\n  filter/x:\n    metrics:\n      exclude:\n        match_type: regexp\n        metric_names: [\"failed\"]\nservice:\n  pipelines:\n    metrics:\n      receivers: [prometheus]\n      processors: [filter/x]\n      exporters: [otlp]\n";
        let e = Exporter::from_config(regexp).unwrap();
        assert!(!e.keeps("istio_tcp_connections_failed_total"));
        assert!(e.keeps("istio_tcp_connections_opened_total"));
    }
}
