//! agentregistry on bank (`trustusbank-platform/agentregistry`, port 8080): the DORA Art. 28
//! register of the four MCP servers. Entries are what was registered when the world was
//! built, so the rugpull leaves them as they were ("same 4 entries before / after"); each
//! entry also shows the images its pods run right now, read live from the cluster's store.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::Services;
use super::common::json;

/// One registered MCP server.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: &'static str,
    pub namespace: &'static str,
    /// Cluster name (`trustusbank-bank`).
    pub cluster: &'static str,
    pub tools: &'static [&'static str],
    /// The image registered for it.
    pub image: String,
    /// `edge`/`bank`/`vendor`, to find its pods.
    #[serde(skip)]
    short: &'static str,
}

/// name, namespace, cluster short name, tools, image if the store has no Deployment.
#[rustfmt::skip]
const SERVERS: [(&str, &str, &str, &[&str], &str); 4] = [
    ("account-mcp",        "trustusbank-bank-mcp",     "bank",   &["get_balance", "get_profile"],                       "account-mcp:1.0.0"),
    ("transaction-mcp",    "trustusbank-bank-mcp",     "bank",   &["list_recent", "get_details", "flag_suspicious"],    "transaction-mcp:1.0.0"),
    ("ticket-mcp",         "trustusbank-bank-mcp",     "bank",   &["create_ticket", "notify_human"],                    "ticket-mcp:1.0.0"),
    ("currency-converter", "trustusbank-bank-vendors", "vendor", &["convert_currency"],                                 "currency-converter:1.0.0"),
];

/// The catalogue as the world stands now: each server's image from its Deployment.
pub fn register(services: &Services) -> Vec<Entry> {
    SERVERS
        .iter()
        .map(|(name, namespace, short, tools, fallback)| {
            let image = services
                .store(short)
                .and_then(|store| store.get("apps/v1", "Deployment", Some(namespace), name))
                .and_then(|d| {
                    d.pointer("/spec/template/spec/containers/0/image")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| (*fallback).to_string());
            let cluster = super::CLUSTERS
                .iter()
                .find(|c| c.short == *short)
                .map_or(*short, |c| c.name);
            Entry {
                name,
                namespace,
                cluster,
                tools,
                image,
                short,
            }
        })
        .collect()
}

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/", get(servers))
        .route("/api/v1/servers", get(servers))
        .with_state(services)
}

/// Images the entry's pods (`app=<name>`) run now, sorted and without repeats.
fn running_images(services: &Services, entry: &Entry) -> Vec<String> {
    let Some(store) = services.store(entry.short) else {
        return Vec::new();
    };
    let (pods, _) = store.list("v1", "Pod", Some(entry.namespace));
    let mut images: Vec<String> = pods
        .iter()
        .filter(|p| p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(entry.name))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|p| {
            p.pointer("/spec/containers/0/image")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    images.sort();
    images.dedup();
    images
}

async fn servers(State(services): State<Arc<Services>>) -> Response {
    let servers: Vec<Value> = services
        .catalogue()
        .iter()
        .map(|entry| {
            let mut doc = serde_json::to_value(entry).unwrap_or(Value::Null);
            doc["runningImages"] = json!(running_images(&services, entry));
            doc
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({"count": servers.len(), "servers": servers}),
    )
}
