//! Alertmanager on bank (`trustusbank-observability/alertmanager`, port 9093) and the mail
//! it sends to MailHog (walkthrough M11, tab 6: "two alert emails per attack attempt").
//!
//! Prometheus hands its firing alerts to Alertmanager after each evaluation — only while
//! the Alertmanager Deployment has a Ready pod, as on the real stack, where Prometheus
//! discovers Alertmanager through its endpoints. Scale it to 0 and the alerts still fire in
//! Prometheus, but nothing reaches Alertmanager's `/api/v2/alerts` and no email is sent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Services;
use super::common::{is_ready, json, text};
use super::prometheus::{Alert, AlertState};

const NAMESPACE: &str = "trustusbank-observability";
const APP: &str = "alertmanager";
/// How long Alertmanager keeps an alert it no longer hears about (Prometheus resends).
const RESOLVE_SECS: i64 = 60;

/// One alert as Alertmanager holds it.
#[derive(Debug, Clone)]
struct Held {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What Alertmanager received, and the mail it sent.
#[derive(Debug, Default)]
pub struct Delivery {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    alerts: BTreeMap<String, Held>,
    mails: Vec<Value>,
}

fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether bank's Alertmanager has a Ready pod to receive alerts.
pub fn running(services: &Services) -> bool {
    let Some(bank) = services.store("bank") else {
        return false;
    };
    let (pods, _) = bank.list("v1", "Pod", Some(NAMESPACE));
    pods.iter().any(|p| {
        p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(APP)
            && p.pointer("/metadata/deletionTimestamp").is_none()
            && is_ready(p)
    })
}

impl Delivery {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Prometheus' send after an evaluation: the firing alerts, if Alertmanager is there to
    /// take them. A new alert is one email to the SOC inbox.
    pub fn send(&self, alerts: &[Alert], reachable: bool, now: DateTime<Utc>) {
        if !reachable {
            return;
        }
        let mut inner = self.lock();
        for a in alerts.iter().filter(|a| a.state == AlertState::Firing) {
            let labels: BTreeMap<String, String> = a
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let annotations: BTreeMap<String, String> = a
                .annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let key = fingerprint(&labels);
            match inner.alerts.get_mut(&key) {
                Some(held) => held.updated_at = now,
                None => {
                    let subject = format!(
                        "[FIRING:1] {} ({})",
                        labels.get("alertname").map_or("alert", String::as_str),
                        labels.get("severity").map_or("", String::as_str)
                    );
                    let body = annotations.get("description").cloned().unwrap_or_default();
                    let id = format!("sim-{}", inner.mails.len() + 1);
                    inner.mails.push(json!({
                        "ID": id,
                        "Created": now.to_rfc3339(),
                        "Content": {
                            "Headers": {
                                "Subject": [subject],
                                "From": ["alertmanager@trustusbank.local"],
                                "To": ["soc@trustusbank.local"],
                            },
                            "Body": body,
                        },
                    }));
                    inner.alerts.insert(
                        key,
                        Held {
                            labels,
                            annotations,
                            starts_at: a.active_at,
                            updated_at: now,
                        },
                    );
                }
            }
        }
        inner
            .alerts
            .retain(|_, h| (now - h.updated_at).num_seconds() < RESOLVE_SECS);
    }

    /// `GET /api/v2/alerts`: a bare array.
    fn alerts_json(&self, now: DateTime<Utc>) -> Value {
        let inner = self.lock();
        Value::Array(
            inner
                .alerts
                .iter()
                .map(|(fp, h)| {
                    json!({
                        "labels": h.labels,
                        "annotations": h.annotations,
                        "startsAt": h.starts_at.to_rfc3339(),
                        "endsAt": (h.updated_at + chrono::Duration::seconds(RESOLVE_SECS)).to_rfc3339(),
                        "updatedAt": h.updated_at.to_rfc3339(),
                        "fingerprint": fp,
                        "receivers": [{"name": "soc-email"}],
                        "status": {"state": if (now - h.updated_at).num_seconds() < RESOLVE_SECS { "active" } else { "unprocessed" }, "silencedBy": [], "inhibitedBy": []},
                    })
                })
                .collect(),
        )
    }

    /// MailHog's `GET /api/v2/messages`, newest first.
    pub fn messages_json(&self) -> Value {
        let inner = self.lock();
        let items: Vec<Value> = inner.mails.iter().rev().cloned().collect();
        json!({"total": items.len(), "count": items.len(), "start": 0, "items": items})
    }

    pub fn mail_count(&self) -> usize {
        self.lock().mails.len()
    }
}

pub fn router(services: Arc<Services>) -> Router {
    async fn alerts(State(s): State<Arc<Services>>) -> Response {
        json(StatusCode::OK, &s.delivery().alerts_json(Utc::now()))
    }
    async fn status() -> Response {
        json(
            StatusCode::OK,
            &json!({"cluster": {"status": "ready", "peers": []}, "versionInfo": {"version": "0.27.0"}}),
        )
    }
    Router::new()
        .route("/-/ready", get(|| async { text(StatusCode::OK, "OK") }))
        .route("/-/healthy", get(|| async { text(StatusCode::OK, "OK") }))
        .route("/api/v2/alerts", get(alerts))
        .route("/api/v2/status", get(status))
        .with_state(services)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::prometheus::Labels;

    fn firing(name: &str) -> Alert {
        Alert {
            labels: Labels::new([
                ("alertname".to_string(), name.to_string()),
                ("severity".to_string(), "critical".to_string()),
            ]),
            annotations: Labels::new([("description".to_string(), "denied".to_string())]),
            state: AlertState::Firing,
            active_at: Utc::now(),
            resolved_at: None,
            value: 1.0,
        }
    }

    #[test]
    fn alerts_reach_the_inbox_only_while_alertmanager_runs() {
        let d = Delivery::default();
        let now = Utc::now();
        let alerts = [firing("IstioAuthZDeny"), firing("BankToAttackerAttempt")];
        d.send(&alerts, false, now);
        assert_eq!(d.mail_count(), 0, "no Alertmanager, no mail");
        assert_eq!(d.alerts_json(now), json!([]));
        d.send(&alerts, true, now);
        assert_eq!(d.mail_count(), 2, "two alert emails per attack attempt");
        // Resent every evaluation: still two.
        d.send(&alerts, true, now + chrono::Duration::seconds(1));
        assert_eq!(d.mail_count(), 2);
        assert_eq!(d.alerts_json(now).as_array().map(Vec::len), Some(2));
        let subjects = d.messages_json().to_string();
        assert!(
            subjects.contains("[FIRING:1] IstioAuthZDeny (critical)"),
            "{subjects}"
        );
        // Alertmanager gone: nothing more arrives, and what it held expires.
        let later = now + chrono::Duration::seconds(RESOLVE_SECS + 5);
        d.send(&[firing("IstioAuthZDeny")], false, later);
        assert_eq!(d.mail_count(), 2);
    }
}
