//! The ztunnel pods' metrics port (15020): `/stats/prometheus` with the Istio TCP counters
//! that ztunnel on that node reported, and the readiness probe. The same exposition of every
//! cluster at once is what `control-room sim --metrics-addr` serves to an outside Prometheus.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Services;
use super::common::text;
use super::telemetry::{Scope, exposition};

/// Where ztunnel serves its metrics.
pub const METRICS_PORT: u16 = 15020;

/// Prometheus' text format version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics port of the ztunnel pod on `node` of `cluster` (full cluster name).
pub fn router(services: Arc<Services>, cluster: String, node: String) -> Router {
    let metrics = move || {
        let services = services.clone();
        let (cluster, node) = (cluster.clone(), node.clone());
        async move {
            let samples = services.mesh_telemetry().samples(Scope::Node {
                cluster: &cluster,
                node: &node,
            });
            exposition_response(exposition(&samples))
        }
    };
    Router::new()
        .route("/stats/prometheus", get(metrics.clone()))
        .route("/metrics", get(metrics))
        .route(
            "/healthz/ready",
            get(|| async { text(StatusCode::OK, "ready\n") }),
        )
}

/// Every cluster's ztunnel counters on one address (`control-room sim --metrics-addr`).
pub fn all_clusters_router(services: Arc<Services>) -> Router {
    let metrics = move || {
        let services = services.clone();
        async move { exposition_response(exposition(&services.mesh_telemetry().samples(Scope::All))) }
    };
    Router::new()
        .route("/metrics", get(metrics.clone()))
        .route("/stats/prometheus", get(metrics))
        .route(
            "/",
            get(|| async {
                text(
                    StatusCode::OK,
                    "control-room simulator: every cluster's ztunnel metrics at /metrics\n",
                )
            }),
        )
}

fn exposition_response(body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
