//! The bank's UIs that the simulator does not imitate beyond an honest page: Grafana (3000),
//! MailHog (8025), the kagent UI (8080) and the Gloo Mesh (Solo) UI (8090). Each says what it
//! is and shows the live counters the simulator knows.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::get;
use serde_json::json;

use super::Services;
use super::common::{honest_page, json};

pub fn grafana(services: Arc<Services>) -> Router {
    async fn index(State(s): State<Arc<Services>>) -> Html<String> {
        honest_page(
            &s,
            "Grafana",
            "The DORA Evidence dashboard (AuthZ denies, SPIFFE identities, the offending image) \
             is not simulated yet.",
        )
    }
    async fn health() -> Response {
        json(
            StatusCode::OK,
            &json!({"database": "ok", "version": "11.1.0", "commit": "control-room-sim"}),
        )
    }
    Router::new()
        .route("/", get(index))
        .route("/d/{*dashboard}", get(index))
        .route("/api/health", get(health))
        .with_state(services)
}

pub fn mailhog(services: Arc<Services>) -> Router {
    async fn index(State(s): State<Arc<Services>>) -> Html<String> {
        let intro = format!(
            "The SOC inbox: {} alert email(s) from Alertmanager (one per new firing alert; none \
             while Alertmanager is scaled to 0). The messages are at /api/v2/messages.",
            s.delivery().mail_count()
        );
        honest_page(&s, "MailHog", &intro)
    }
    async fn messages(State(s): State<Arc<Services>>) -> Response {
        json(StatusCode::OK, &s.delivery().messages_json())
    }
    Router::new()
        .route("/", get(index))
        .route("/api/v2/messages", get(messages))
        .with_state(services)
}

pub fn kagent_ui(services: Arc<Services>) -> Router {
    async fn index(State(s): State<Arc<Services>>) -> Html<String> {
        honest_page(
            &s,
            "kagent UI",
            "Sessions and traces of A2A and MCP tool calls are not simulated yet.",
        )
    }
    // A single-page app: every path serves the page.
    Router::new().fallback(get(index)).with_state(services)
}

pub fn gloo_mesh_ui(services: Arc<Services>) -> Router {
    async fn index(State(s): State<Arc<Services>>) -> Html<String> {
        honest_page(
            &s,
            "Solo (Gloo Mesh) management plane UI",
            "Workspaces, Clusters, Routes and Insights are not simulated yet.",
        )
    }
    // A single-page app: every path serves the page.
    Router::new().fallback(get(index)).with_state(services)
}
