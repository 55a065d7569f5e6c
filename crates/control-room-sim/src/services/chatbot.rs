//! The customer chatbot on edge (`trustusbank-bank-frontend/chatbot`, port 80): the page the
//! customer types into, and the A2A relay its page calls, answered by the simulated agents
//! (`super::agents`). Its nginx proxies to `<agent>.<ns>.mesh.internal:8080` on bank, so the
//! relay works only while the mesh carries that call across clusters (`super::peering`);
//! otherwise nginx answers 502 Bad Gateway, as it does when its upstream resets.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
use axum::routing::{get, post};

use super::Services;
use super::common::{page, text};
use super::peering;

/// Where the agents run.
const AGENTS_CLUSTER: &str = "bank";

/// nginx's answer when the upstream connection fails.
fn bad_gateway() -> Response {
    let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html"),
    );
    response
}

/// `Some(502)` when the mesh does not carry the relay's call to the agent.
fn unreachable(services: &Services, namespace: &str, agent: &str) -> Option<Response> {
    if !super::agents::exists(namespace, agent) {
        // Not one of the agents: the agents' own 404 answers.
        return None;
    }
    let why = peering::route(services, "edge", AGENTS_CLUSTER, namespace, agent).err()?;
    tracing::debug!(%namespace, %agent, %why, "simulated chatbot: upstream unreachable");
    Some(bad_gateway())
}

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
    if let Some(response) = unreachable(&services, &namespace, &agent) {
        return response;
    }
    super::agents::handle(&services, &namespace, &agent, &headers, &body)
}

async fn card(
    State(services): State<Arc<Services>>,
    Path((namespace, agent)): Path<(String, String)>,
) -> Response {
    if let Some(response) = unreachable(&services, &namespace, &agent) {
        return response;
    }
    super::agents::agent_card(&services, &namespace, &agent)
}
