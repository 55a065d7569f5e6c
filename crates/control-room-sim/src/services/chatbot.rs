//! The customer chatbot on edge (`trustusbank-bank-frontend/chatbot`, port 80): the page the
//! customer types into, and the A2A relay its page calls, answered by the simulated agents
//! (`super::agents`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
use axum::routing::{get, post};

use super::Services;
use super::common::{page, text};

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok\n") }))
        .route("/api/a2a/{namespace}/{agent}", post(a2a))
        .route("/api/a2a/{namespace}/{agent}/", post(a2a))
        .route(
            "/api/a2a/{namespace}/{agent}/.well-known/agent-card.json",
            get(card),
        )
        .with_state(services)
}

async fn index() -> Html<String> {
    let body = "<h1>TrustUsBank customer chat (simulated)</h1>\n\
        <p class=\"sim\">This is control-room's simulator, not the real chatbot. The page talks \
        to the agents through <code>POST /api/a2a/&lt;namespace&gt;/&lt;agent&gt;/</code> \
        (A2A JSON-RPC); the simulated agents answer with a scripted, deterministic model.</p>\n\
        <form onsubmit=\"return false\">\n\
        <textarea id=\"prompt\" rows=\"4\" cols=\"80\">I am customer 12345. Please check my balance, \
        list my recent transactions, and convert my balance to USD.</textarea><br>\n\
        <button type=\"submit\" disabled>Send</button>\n</form>\n";
    page("TrustUsBank customer chat (simulated)", None, body)
}

async fn a2a(
    State(services): State<Arc<Services>>,
    Path((namespace, agent)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    tracing::debug!(%namespace, %agent, "simulated chatbot: A2A call");
    super::agents::handle(&services, &namespace, &agent, &headers, &body)
}

async fn card(
    State(services): State<Arc<Services>>,
    Path((namespace, agent)): Path<(String, String)>,
) -> Response {
    super::agents::agent_card(&services, &namespace, &agent)
}
