//! What the simulated mesh (ztunnel) saw of connections the simulated programs opened:
//! Istio-style TCP connection counters and ztunnel-like access-log lines for denied
//! connections. Shared and cheap to clone; the ztunnel pods' metrics endpoint, the simulated
//! Prometheus and pod logs read it.
//!
//! As in ambient mesh, the ztunnel on the source pod's node reports the connection
//! (`reporter="source"`): every attempt counts in `istio_tcp_connections_opened_total` (the
//! connection was accepted before authorization), a policy deny also in
//! `istio_tcp_connections_failed_total` with `response_flags="CONNECT"`, and bytes that reached
//! the destination in `istio_tcp_sent_bytes_total`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// The labels of one `istio_tcp_connections_*` series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ConnectionKey {
    /// Full cluster name of the ztunnel that saw it (`trustusbank-vendor`).
    pub cluster: String,
    /// `spiffe://cluster.local/ns/<ns>/sa/<sa>`.
    pub source_principal: String,
    pub source_workload: String,
    pub source_workload_namespace: String,
    pub destination_service_name: String,
    pub destination_service_namespace: String,
    /// `spiffe://…` of the destination workload's service account.
    pub destination_principal: String,
}

/// Counters of one series. Failed connections carry `response_flags="CONNECT"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionCounters {
    /// Every attempt, denied ones included.
    pub connections_opened: u64,
    /// Attempts a policy refused.
    pub connections_failed: u64,
    /// Bytes that reached the destination.
    pub sent_bytes: u64,
}

/// Which ztunnels' counters to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every ztunnel of every cluster, summed per series (what one scrape of
    /// `control-room sim --metrics-addr` shows).
    All,
    /// The ztunnel pod on `node` of `cluster` (full cluster name).
    Node { cluster: &'a str, node: &'a str },
}

/// One sample of a metric as ztunnel exposes it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    pub name: &'static str,
    /// Label pairs in exposition order.
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

pub const OPENED: &str = "istio_tcp_connections_opened_total";
pub const FAILED: &str = "istio_tcp_connections_failed_total";
pub const SENT_BYTES: &str = "istio_tcp_sent_bytes_total";

/// One ztunnel access-log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeshLogLine {
    /// Full cluster name whose ztunnel logged it.
    pub cluster: String,
    pub at: DateTime<Utc>,
    /// The whole line, starting with the RFC 3339 time.
    pub line: String,
}

/// One connection attempt as the mesh judged it.
#[derive(Debug, Clone)]
pub struct ConnectionAttempt {
    pub key: ConnectionKey,
    pub at: DateTime<Utc>,
    pub source_ip: String,
    pub source_port: u16,
    /// The node the source pod runs on: its ztunnel reports the connection.
    pub source_node: String,
    /// Bytes the source sent when the connection was allowed.
    pub bytes: u64,
    /// `None`: allowed. `Some(error)`: denied with ztunnel's error text.
    pub denied: Option<String>,
}

/// The shared record (cheap clone).
#[derive(Debug, Clone, Default)]
pub struct MeshTelemetry {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Per reporting node (`(cluster, node)`) and series.
    counters: BTreeMap<(String, ConnectionKey), ConnectionCounters>,
    lines: VecDeque<MeshLogLine>,
    next_port: u16,
}

impl MeshTelemetry {
    /// How many access-log lines are remembered.
    pub const KEEP: usize = 1000;

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An ephemeral source port for the next connection (deterministic sequence).
    pub fn ephemeral_port(&self) -> u16 {
        let mut inner = self.lock();
        let port = 40000 + inner.next_port % 20000;
        inner.next_port = inner.next_port.wrapping_add(1);
        port
    }

    /// Count the attempt; a denied one also leaves an access-log line.
    pub fn record(&self, attempt: ConnectionAttempt) {
        let mut inner = self.lock();
        let counters = inner
            .counters
            .entry((attempt.source_node.clone(), attempt.key.clone()))
            .or_default();
        counters.connections_opened += 1;
        match &attempt.denied {
            None => counters.sent_bytes += attempt.bytes,
            Some(error) => {
                counters.connections_failed += 1;
                let k = &attempt.key;
                let line = format!(
                    "{} error access connection complete src.addr={}:{} src.workload={} \
                     src.namespace={} src.identity=\"{}\" dst.service={}.{}.svc.cluster.local \
                     dst.namespace={} direction=\"inbound\" error=\"{}\"",
                    attempt.at.to_rfc3339_opts(SecondsFormat::Micros, true),
                    attempt.source_ip,
                    attempt.source_port,
                    k.source_workload,
                    k.source_workload_namespace,
                    k.source_principal,
                    k.destination_service_name,
                    k.destination_service_namespace,
                    k.destination_service_namespace,
                    error,
                );
                if inner.lines.len() == Self::KEEP {
                    inner.lines.pop_front();
                }
                inner.lines.push_back(MeshLogLine {
                    cluster: k.cluster.clone(),
                    at: attempt.at,
                    line,
                });
            }
        }
    }

    /// Every series with its counters summed over the reporting nodes, ordered by labels.
    pub fn counters(&self) -> Vec<(ConnectionKey, ConnectionCounters)> {
        self.counters_in(Scope::All)
    }

    /// The series the ztunnels of `scope` report, summed per series, ordered by labels.
    pub fn counters_in(&self, scope: Scope<'_>) -> Vec<(ConnectionKey, ConnectionCounters)> {
        let inner = self.lock();
        let mut out: BTreeMap<ConnectionKey, ConnectionCounters> = BTreeMap::new();
        for ((node, key), c) in &inner.counters {
            let wanted = match scope {
                Scope::All => true,
                Scope::Node { cluster, node: n } => key.cluster == cluster && node == n,
            };
            if wanted {
                let sum = out.entry(key.clone()).or_default();
                sum.connections_opened += c.connections_opened;
                sum.connections_failed += c.connections_failed;
                sum.sent_bytes += c.sent_bytes;
            }
        }
        out.into_iter().collect()
    }

    /// The samples of `scope` as ztunnel exposes them: per series an opened and a sent-bytes
    /// sample (`response_flags="-"`), and a failed sample (`response_flags="CONNECT"`) once
    /// a connection of it was denied.
    pub fn samples(&self, scope: Scope<'_>) -> Vec<MetricSample> {
        let mut out = Vec::new();
        for (key, c) in self.counters_in(scope) {
            let labels = |flags: &str| {
                vec![
                    ("reporter", "source".to_string()),
                    ("source_workload", key.source_workload.clone()),
                    (
                        "source_workload_namespace",
                        key.source_workload_namespace.clone(),
                    ),
                    ("source_principal", key.source_principal.clone()),
                    (
                        "destination_service",
                        format!(
                            "{}.{}.svc.cluster.local",
                            key.destination_service_name, key.destination_service_namespace
                        ),
                    ),
                    (
                        "destination_service_name",
                        key.destination_service_name.clone(),
                    ),
                    (
                        "destination_service_namespace",
                        key.destination_service_namespace.clone(),
                    ),
                    ("destination_principal", key.destination_principal.clone()),
                    ("request_protocol", "tcp".to_string()),
                    ("response_flags", flags.to_string()),
                    ("connection_security_policy", "mutual_tls".to_string()),
                    ("cluster", key.cluster.clone()),
                ]
            };
            out.push(MetricSample {
                name: OPENED,
                labels: labels("-"),
                value: c.connections_opened as f64,
            });
            if c.connections_failed > 0 {
                out.push(MetricSample {
                    name: FAILED,
                    labels: labels("CONNECT"),
                    value: c.connections_failed as f64,
                });
            }
            out.push(MetricSample {
                name: SENT_BYTES,
                labels: labels("-"),
                value: c.sent_bytes as f64,
            });
        }
        out
    }

    /// The remembered deny lines, oldest first.
    pub fn deny_lines(&self) -> Vec<MeshLogLine> {
        self.lock().lines.iter().cloned().collect()
    }
}

/// `samples` in the Prometheus text exposition format (0.0.4), one `# HELP`/`# TYPE` block
/// per metric, label values escaped (`\\`, `\"`, `\n`).
pub fn exposition(samples: &[MetricSample]) -> String {
    use std::fmt::Write as _;
    let help = |name: &str| match name {
        OPENED => "The total number of TCP connections opened",
        FAILED => "The total number of TCP connections that failed",
        SENT_BYTES => "The size of total bytes sent during request in case of a TCP connection",
        _ => "",
    };
    let mut out = String::new();
    for name in [OPENED, FAILED, SENT_BYTES] {
        let _ = writeln!(out, "# HELP {name} {}.", help(name));
        let _ = writeln!(out, "# TYPE {name} counter");
        for sample in samples.iter().filter(|s| s.name == name) {
            out.push_str(name);
            out.push('{');
            for (i, (label, value)) in sample.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{label}=\"{}\"", escape_label(value));
            }
            let _ = writeln!(out, "}} {}", sample.value);
        }
    }
    out
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_logs() {
        let t = MeshTelemetry::default();
        let key = ConnectionKey {
            cluster: "trustusbank-vendor".into(),
            source_principal: "spiffe://cluster.local/ns/v/sa/cc".into(),
            source_workload: "cc".into(),
            source_workload_namespace: "v".into(),
            destination_service_name: "mock-attacker".into(),
            destination_service_namespace: "external-attacker".into(),
            destination_principal: "spiffe://cluster.local/ns/external-attacker/sa/default".into(),
        };
        let at = Utc::now();
        t.record(ConnectionAttempt {
            key: key.clone(),
            at,
            source_ip: "10.0.0.1".into(),
            source_port: 40000,
            source_node: "n1".into(),
            bytes: 120,
            denied: None,
        });
        t.record(ConnectionAttempt {
            key: key.clone(),
            at,
            source_ip: "10.0.0.1".into(),
            source_port: 40001,
            source_node: "n1".into(),
            bytes: 120,
            denied: Some("nope".into()),
        });
        assert_eq!(
            t.counters(),
            vec![(
                key,
                ConnectionCounters {
                    connections_opened: 2,
                    connections_failed: 1,
                    sent_bytes: 120,
                }
            )]
        );
        let lines = t.deny_lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0]
                .line
                .contains("src.addr=10.0.0.1:40001 src.workload=cc"),
            "{}",
            lines[0].line
        );
        assert!(
            lines[0]
                .line
                .ends_with("direction=\"inbound\" error=\"nope\"")
        );
    }

    #[test]
    fn samples_per_node_and_exposition() {
        let t = MeshTelemetry::default();
        let key = |workload: &str| ConnectionKey {
            cluster: "trustusbank-vendor".into(),
            source_principal: format!("spiffe://cluster.local/ns/v/sa/{workload}"),
            source_workload: workload.into(),
            source_workload_namespace: "v".into(),
            destination_service_name: "mock-attacker".into(),
            destination_service_namespace: "external-attacker".into(),
            destination_principal: "spiffe://cluster.local/ns/external-attacker/sa/default".into(),
        };
        for (node, workload, denied) in [
            ("n1", "cc", true),
            ("n2", "cc", true),
            ("n2", "a\"b", false),
        ] {
            t.record(ConnectionAttempt {
                key: key(workload),
                at: Utc::now(),
                source_ip: "10.0.0.1".into(),
                source_port: 1,
                source_node: node.into(),
                bytes: 10,
                denied: denied.then(|| "policy".to_string()),
            });
        }
        let n1 = t.samples(Scope::Node {
            cluster: "trustusbank-vendor",
            node: "n1",
        });
        assert_eq!(
            n1.iter().map(|s| (s.name, s.value)).collect::<Vec<_>>(),
            [(OPENED, 1.0), (FAILED, 1.0), (SENT_BYTES, 0.0)]
        );
        assert!(
            t.samples(Scope::Node {
                cluster: "trustusbank-bank",
                node: "n1"
            })
            .is_empty()
        );
        let all = t.samples(Scope::All);
        let failed: Vec<_> = all.iter().filter(|s| s.name == FAILED).collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].value, 2.0);
        assert!(
            failed[0]
                .labels
                .contains(&("response_flags", "CONNECT".to_string()))
        );
        let text = exposition(&all);
        assert!(
            text.contains("# TYPE istio_tcp_connections_failed_total counter\n"),
            "{text}"
        );
        assert!(text.contains("source_workload=\"a\\\"b\""), "{text}");
        assert!(
            text.contains(
                "istio_tcp_sent_bytes_total{reporter=\"source\",source_workload=\"a\\\"b\""
            ),
            "{text}"
        );
        assert!(
            text.contains(",cluster=\"trustusbank-vendor\"} 2\n"),
            "{text}"
        );
    }
}
