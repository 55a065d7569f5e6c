//! What the simulated programs share: HTML pages, the live counters they show, and the
//! `/_sim/*` routes every one of them answers (byte pumps for testing the port-forward path).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::Services;
use crate::store::ClusterStore;

/// Largest body `/_sim/download` hands out and `/_sim/echo` takes.
pub const MAX_SIM_BYTES: usize = 64 * 1024 * 1024;

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete HTML document. `body` is trusted HTML (escape what goes into it).
pub fn page(title: &str, refresh_secs: Option<u32>, body: &str) -> Html<String> {
    let refresh = refresh_secs
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n"))
        .unwrap_or_default();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}\
         <title>{title}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;max-width:60em}}\
         .sim{{color:#666;font-size:90%}}.alarm{{color:#b00020;font-weight:bold}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}</style>\n\
         </head>\n<body>\n{body}\n</body>\n</html>\n",
        title = escape(title),
    ))
}

/// A plain-text response.
pub fn text(code: StatusCode, body: impl Into<String>) -> Response {
    let mut response = (code, body.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A JSON response with any status.
pub fn json(code: StatusCode, doc: &Value) -> Response {
    let mut response = (code, doc.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Pods with condition `Ready=True`, and all pods, in one cluster. Every page shows this, and
/// a cluster may hold tens of thousands of pods: only the conditions are decoded.
pub fn pods_ready(store: &ClusterStore) -> (usize, usize) {
    #[derive(serde::Deserialize)]
    struct Pod {
        #[serde(default)]
        status: Status,
    }
    #[derive(serde::Deserialize, Default)]
    struct Status {
        #[serde(default)]
        conditions: Vec<Condition>,
    }
    #[derive(serde::Deserialize)]
    struct Condition {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        status: String,
    }
    let (mut ready, mut total) = (0, 0);
    store.for_each_json("v1", "Pod", None, |json| {
        total += 1;
        let is_ready = serde_json::from_str::<Pod>(json).is_ok_and(|pod| {
            pod.status
                .conditions
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True")
        });
        if is_ready {
            ready += 1;
        }
    });
    (ready, total)
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// `namespace/name` of every AuthorizationPolicy on the vendor cluster.
pub fn vendor_policies(services: &Services) -> Vec<String> {
    let Some(store) = services.store("vendor") else {
        return Vec::new();
    };
    let (policies, _) = store.list("security.istio.io/v1", "AuthorizationPolicy", None);
    policies
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                p.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )
        })
        .collect()
}

/// The honest page the UIs without a simulated API of their own show: what they are, and the
/// live counters the simulator knows.
pub fn honest_page(services: &Services, product: &str, intro: &str) -> Html<String> {
    let mut body = format!(
        "<h1>Simulated {p}</h1>\n<p class=\"sim\">This is control-room's simulator, not the real {p}. \
         {intro}</p>\n<h2>What the simulated world shows right now</h2>\n<table>\n\
         <tr><th>cluster</th><th>pods Ready</th></tr>\n",
        p = escape(product),
        intro = escape(intro),
    );
    for (short, store) in &services.stores {
        let (ready, total) = pods_ready(store);
        body.push_str(&format!(
            "<tr><td>{}</td><td id=\"ready-{short}\">{ready} / {total}</td></tr>\n",
            escape(short)
        ));
    }
    body.push_str("</table>\n");
    let exfil = services.exfil().count();
    let class = if exfil > 0 { " class=\"alarm\"" } else { "" };
    body.push_str(&format!(
        "<p{class}>Exfil events received by mock-attacker: <span id=\"exfil-count\">{exfil}</span></p>\n"
    ));
    let policies = vendor_policies(services);
    body.push_str(&format!(
        "<p>AuthorizationPolicies on vendor: <span id=\"vendor-policies\">{}</span></p>\n",
        policies.len()
    ));
    if !policies.is_empty() {
        body.push_str("<ul>\n");
        for p in &policies {
            body.push_str(&format!("<li>{}</li>\n", escape(p)));
        }
        body.push_str("</ul>\n");
    }
    page(&format!("Simulated {product}"), Some(5), &body)
}

#[derive(Deserialize)]
struct DownloadParams {
    bytes: Option<usize>,
}

/// Routes every simulated program answers, for exercising the forwarded byte stream:
/// `GET /_sim/download?bytes=N` (N bytes of a repeating pattern) and `POST /_sim/echo`
/// (the request body back).
pub fn sim_routes() -> Router {
    Router::new()
        .route("/_sim/download", get(download))
        .route("/_sim/echo", post(echo))
}

/// Byte `i` of every `/_sim/download` body.
pub fn pattern_byte(i: usize) -> u8 {
    b"0123456789abcdefghijklmnopqrstuvwxyz\n"[i % 37]
}

async fn download(Query(params): Query<DownloadParams>) -> Response {
    let n = params.bytes.unwrap_or(1024);
    if n > MAX_SIM_BYTES {
        return text(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_SIM_BYTES} bytes\n"),
        );
    }
    let body: Vec<u8> = (0..n).map(pattern_byte).collect();
    let mut response = Response::new(Body::from(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

async fn echo(request: Request) -> Response {
    match axum::body::to_bytes(request.into_body(), MAX_SIM_BYTES).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        Err(err) => text(StatusCode::PAYLOAD_TOO_LARGE, format!("{err}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
