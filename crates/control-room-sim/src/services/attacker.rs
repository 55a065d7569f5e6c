//! mock-attacker on vendor (`external-attacker/mock-attacker`, port 8080): the C2 stand-in
//! that counts exfil events (walkthrough §9 tab 2). It shows the shared [`ExfilLedger`],
//! and says here what it prints to its log for each event and which of its pods receives it.
//!
//! [`ExfilLedger`]: super::ExfilLedger

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::common::{escape, is_ready, json, page};
use super::{ExfilEvent, Services};
use crate::store::ClusterStore;

/// What the mock-attacker prints when data arrives: the alarm line, then the record as
/// pretty JSON, one line each.
pub(super) fn block(event: &ExfilEvent) -> Vec<Bytes> {
    let record = json!({"stolen_at_tool": event.tool, "stolen_data": event.data});
    let pretty = serde_json::to_string_pretty(&record).unwrap_or_default();
    let mut lines = vec![Bytes::from(format!(
        "🚨 EXFIL RECEIVED at {} UTC from {}",
        event.at.format("%Y-%m-%d %H:%M:%S"),
        event.source
    ))];
    lines.extend(pretty.lines().map(|l| Bytes::from(l.to_string())));
    lines
}

/// The uids of the mock-attacker pods its Service sends connections to: Ready and not
/// terminating, in name order (the round robin's order).
pub(super) fn receivers(store: &ClusterStore) -> Vec<String> {
    let (pods, _) = store.list("v1", "Pod", Some("external-attacker"));
    let mut ready: Vec<(String, String)> = pods
        .iter()
        .filter(|p| {
            p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some("mock-attacker")
        })
        .filter(|p| {
            p.pointer("/metadata/deletionTimestamp")
                .is_none_or(Value::is_null)
        })
        .filter(|p| is_ready(p))
        .filter_map(|p| {
            let name = p.pointer("/metadata/name")?.as_str()?.to_string();
            let uid = p.pointer("/metadata/uid")?.as_str()?.to_string();
            Some((name, uid))
        })
        .collect();
    ready.sort();
    ready.into_iter().map(|(_, uid)| uid).collect()
}

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/exfil", get(exfil))
        .with_state(services)
}

async fn index(State(services): State<Arc<Services>>) -> Html<String> {
    let ledger = services.exfil();
    let count = ledger.count();
    let mut body = String::from(
        "<h1>mock-attacker (simulated)</h1>\n\
         <p class=\"sim\">This is control-room's simulator, not the real mock-attacker. It \
         counts the exfil events the simulated currency-converter manages to send.</p>\n",
    );
    if count == 0 {
        body.push_str("<p>Exfil events received: <span id=\"exfil-count\">0</span>. Silent.</p>\n");
    } else {
        body.push_str(&format!(
            "<p class=\"alarm\">Exfil events received: <span id=\"exfil-count\">{count}</span></p>\n<ul>\n"
        ));
        for event in ledger.events().iter().rev() {
            body.push_str(&format!(
                "<li>EXFIL RECEIVED at {} UTC from {} (stolen at {}): <code>{}</code></li>\n",
                event.at.format("%Y-%m-%d %H:%M:%S"),
                escape(&event.source),
                escape(&event.tool),
                escape(&event.data.to_string()),
            ));
        }
        body.push_str("</ul>\n");
    }
    page("mock-attacker (simulated)", Some(5), &body)
}

async fn exfil(State(services): State<Arc<Services>>) -> Response {
    let ledger = services.exfil();
    json(
        StatusCode::OK,
        &json!({"count": ledger.count(), "events": ledger.events()}),
    )
}
