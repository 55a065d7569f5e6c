//! What the simulated mesh (ztunnel) saw of connections the simulated programs opened:
//! Istio-style TCP connection counters and ztunnel-like access-log lines for denied
//! connections. Shared and cheap to clone; Prometheus metrics and pod logs read it.

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
}

/// Counters of one series. Failed connections carry `response_flags="CONNECT"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionCounters {
    pub connections_opened: u64,
    pub connections_failed: u64,
}

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
    counters: BTreeMap<ConnectionKey, ConnectionCounters>,
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
        let counters = inner.counters.entry(attempt.key.clone()).or_default();
        match &attempt.denied {
            None => counters.connections_opened += 1,
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

    /// Every series with its counters, ordered by labels.
    pub fn counters(&self) -> Vec<(ConnectionKey, ConnectionCounters)> {
        self.lock()
            .counters
            .iter()
            .map(|(k, c)| (k.clone(), *c))
            .collect()
    }

    /// The remembered deny lines, oldest first.
    pub fn deny_lines(&self) -> Vec<MeshLogLine> {
        self.lock().lines.iter().cloned().collect()
    }
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
        };
        let at = Utc::now();
        t.record(ConnectionAttempt {
            key: key.clone(),
            at,
            source_ip: "10.0.0.1".into(),
            source_port: 40000,
            denied: None,
        });
        t.record(ConnectionAttempt {
            key: key.clone(),
            at,
            source_ip: "10.0.0.1".into(),
            source_port: 40001,
            denied: Some("nope".into()),
        });
        assert_eq!(
            t.counters(),
            vec![(
                key,
                ConnectionCounters {
                    connections_opened: 1,
                    connections_failed: 1
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
}
