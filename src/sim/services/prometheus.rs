//! Prometheus on bank (`trustusbank-observability/prometheus`, and the Gloo Mesh
//! `prometheus-server`, port 9090): health endpoints as the real one answers them, an honest
//! `/alerts` page, and a query API that says it is not there yet.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::{any, get};
use serde_json::json;

use super::Services;
use super::common::{honest_page, json, text};

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/-/ready",
            get(|| async { text(StatusCode::OK, "Prometheus Server is Ready.\n") }),
        )
        .route(
            "/-/healthy",
            get(|| async { text(StatusCode::OK, "Prometheus Server is Healthy.\n") }),
        )
        .route("/alerts", get(index))
        .route("/api/v1/{*rest}", any(api))
        .with_state(services)
}

async fn index(State(services): State<Arc<Services>>) -> Html<String> {
    honest_page(
        &services,
        "Prometheus",
        "Alerts (IstioAuthZDeny, BankToAttackerAttempt) and the query API arrive in a later \
         version of the simulator; until then /api/v1/* answers 503.",
    )
}

async fn api() -> Response {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({
            "status": "error",
            "errorType": "unavailable",
            "error": "the simulated Prometheus has no query API yet (control-room simulator)",
        }),
    )
}
