//! News from Prometheus, Alertmanager and the ztunnel scrape, and the alert records it carries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Pending,
    /// Alertmanager's `suppressed`/`unprocessed` and anything else, as given.
    #[serde(untagged)]
    Other(String),
}

impl AlertState {
    pub fn as_str(&self) -> &str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::Other(s) => s,
        }
    }
}

/// Where an alert was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Prometheus,
    Alertmanager,
}

/// One active alert, slimmed to what the panel and `status --json` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    pub name: String,
    pub state: AlertState,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub active_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub origin: Origin,
}

impl AlertRow {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }

    /// Name plus labels: the same alert from two polls, or from Prometheus and Alertmanager.
    pub fn identity(&self) -> String {
        let mut id = self.name.clone();
        for (k, v) in &self.labels {
            id.push('\u{1f}');
            id.push_str(k);
            id.push('=');
            id.push_str(v);
        }
        id
    }
}

/// ztunnel's counters for one source → destination pair (the direct-scrape fallback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenyCounter {
    pub cluster: String,
    pub source_workload: String,
    pub source_principal: String,
    /// `service.namespace`
    pub destination: String,
    /// `istio_tcp_connections_failed_total{response_flags="CONNECT"}`.
    pub denied: u64,
    /// `istio_tcp_connections_opened_total`.
    pub attempts: u64,
}

/// News from the alert sources.
#[derive(Debug, Clone)]
pub enum AlertsMsg {
    /// Which sources are configured (sent once at start).
    Sources {
        prometheus: Option<String>,
        alertmanager: Option<String>,
        poll_secs: u64,
        timeout_secs: u64,
    },
    Prometheus {
        at: DateTime<Utc>,
        result: Result<Vec<AlertRow>, String>,
    },
    Alertmanager {
        at: DateTime<Utc>,
        result: Result<Vec<AlertRow>, String>,
    },
    DenyRate {
        at: DateTime<Utc>,
        result: Result<Vec<f64>, String>,
    },
    Ztunnel {
        at: DateTime<Utc>,
        result: Result<Vec<DenyCounter>, String>,
    },
    /// One round of reading every source is complete.
    Polled,
}
