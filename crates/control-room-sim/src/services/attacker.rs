//! mock-attacker on vendor (`external-attacker/mock-attacker`, port 8080): the C2 stand-in
//! that counts exfil events (walkthrough §9 tab 2). It shows the shared [`ExfilLedger`].
//!
//! [`ExfilLedger`]: super::ExfilLedger

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::get;
use serde_json::json;

use super::Services;
use super::common::{escape, json, page};

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
