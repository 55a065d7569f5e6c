//! Client for the Prometheus HTTP API (`/api/v1/alerts`, `/api/v1/query`,
//! `/api/v1/query_range`) and Alertmanager's `/api/v2/alerts`. Answers are untrusted: each
//! request is bounded in time and size, and every way it can go wrong becomes a `PromError`
//! whose `Display` is one short line the alert panel can show as it is.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use futures::StreamExt;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

/// Answers larger than this are cut off: an alert list or a sparkline never needs more.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The `alertname` label.
    pub name: String,
    pub state: AlertState,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Prometheus' `activeAt`, Alertmanager's `startsAt`.
    pub active_at: Option<DateTime<Utc>>,
    /// The alert expression's value when it was last evaluated (Prometheus only).
    pub value: Option<f64>,
}

/// Prometheus `firing` and Alertmanager `active` are `Firing`; anything else is kept as the
/// server said it (`inactive`, `suppressed`, `unprocessed`, …).
pub use crate::msg::alerts::AlertState;

/// One series of an instant query; a scalar answer is one sample without labels.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: BTreeMap<String, String>,
    /// Unix seconds.
    pub at: f64,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value), in the server's order.
    pub points: Vec<(f64, f64)>,
}

/// What went wrong, worded for a one-line status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    #[error("bad URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("HTTP client: {0}")]
    Client(String),
    /// Connection refused, DNS failure, no route.
    #[error("cannot connect to {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("timed out after {}", seconds(*.0))]
    Timeout(Duration),
    /// The connection failed after it was made (reset, cut mid-answer, not HTTP).
    #[error("connection failed: {0}")]
    Transport(String),
    #[error("answer larger than {} MiB: cut off", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("HTML page instead of JSON (HTTP {status}): {title}")]
    Html { status: u16, title: String },
    #[error("HTTP {status}: {snippet}")]
    Status { status: u16, snippet: String },
    /// Prometheus' `{"status":"error"}` envelope.
    #[error("Prometheus {error_type} (HTTP {status}): {error}")]
    Api {
        status: u16,
        error_type: String,
        error: String,
    },
    #[error("empty answer (HTTP {status})")]
    Empty { status: u16 },
    #[error("{} JSON: {reason}", if *.truncated { "truncated" } else { "invalid" })]
    InvalidJson { truncated: bool, reason: String },
    /// Valid JSON that is not what this endpoint answers.
    #[error("unexpected JSON for {what}: {reason}")]
    Shape { what: &'static str, reason: String },
}

/// How long a connection to Prometheus or Alertmanager is kept between polls.
pub const KEEP_ALIVE: Duration = Duration::from_secs(6);

/// One Prometheus server, with a per-request time limit.
#[derive(Debug, Clone)]
pub struct PromClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl PromClient {
    /// `base_url` is where `/api/v1` lives below, e.g. `http://127.0.0.1:18002` or
    /// `https://host/prometheus`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<PromClient, PromError> {
        let base = parse_base(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            // Polls are seconds apart and often go through a port-forward: one connection
            // kept between polls (a fresh one is a new forward stream to the API server,
            // most of an idle screen's CPU), dropped when idle longer than polls are apart.
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(KEEP_ALIVE)
            .build()
            .map_err(|e| PromError::Client(root_cause(&e)))?;
        Ok(PromClient {
            http,
            base,
            timeout,
        })
    }

    /// `GET /api/v1/alerts`: every pending and firing alert.
    pub async fn alerts(&self) -> Result<Vec<Alert>, PromError> {
        #[derive(Deserialize)]
        struct Data {
            alerts: Vec<RawPromAlert>,
        }
        let url = endpoint(&self.base, &["api", "v1", "alerts"]);
        let data = prometheus_data(self.get(url).await?)?;
        let data: Data = from_value(data, "alerts")?;
        Ok(data
            .alerts
            .into_iter()
            .map(RawPromAlert::into_alert)
            .collect())
    }

    /// `GET /api/v1/query`: an instant vector, or a scalar as one unlabelled sample.
    pub async fn query(&self, expr: &str) -> Result<Vec<InstantSample>, PromError> {
        const WHAT: &str = "an instant query";
        let mut url = endpoint(&self.base, &["api", "v1", "query"]);
        url.query_pairs_mut().append_pair("query", expr);
        let data: QueryData = from_value(prometheus_data(self.get(url).await?)?, WHAT)?;
        match data.result_type.as_str() {
            "vector" => {
                let series: Vec<RawSeries> = from_value(data.result, WHAT)?;
                let mut samples = Vec::with_capacity(series.len());
                for s in series {
                    // A native-histogram sample has `histogram` instead of `value`.
                    let Some(value) = s.value else { continue };
                    let (at, value) = point(&value).map_err(|reason| shape(WHAT, reason))?;
                    samples.push(InstantSample {
                        labels: s.metric.unwrap_or_default(),
                        at,
                        value,
                    });
                }
                Ok(samples)
            }
            "scalar" => {
                let (at, value) = point(&data.result).map_err(|reason| shape(WHAT, reason))?;
                Ok(vec![InstantSample {
                    labels: BTreeMap::new(),
                    at,
                    value,
                }])
            }
            other => Err(shape(WHAT, format!("result type {other:?}, not a vector"))),
        }
    }

    /// `GET /api/v1/query_range` from `start` to `end`, one point per `step`.
    pub async fn query_range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, PromError> {
        const WHAT: &str = "a range query";
        let mut url = endpoint(&self.base, &["api", "v1", "query_range"]);
        url.query_pairs_mut()
            .append_pair("query", expr)
            .append_pair("start", &start.to_rfc3339_opts(SecondsFormat::Millis, true))
            .append_pair("end", &end.to_rfc3339_opts(SecondsFormat::Millis, true))
            .append_pair("step", &step.as_secs_f64().to_string());
        let data: QueryData = from_value(prometheus_data(self.get(url).await?)?, WHAT)?;
        if data.result_type != "matrix" {
            return Err(shape(
                WHAT,
                format!("result type {:?}, not a matrix", data.result_type),
            ));
        }
        let series: Vec<RawSeries> = from_value(data.result, WHAT)?;
        series
            .into_iter()
            .map(|s| {
                let points = s
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(point)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|reason| shape(WHAT, reason))?;
                Ok(RangeSeries {
                    labels: s.metric.unwrap_or_default(),
                    points,
                })
            })
            .collect()
    }

    async fn get(&self, url: Url) -> Result<Value, PromError> {
        fetch(self.http.get(url), self.timeout).await
    }
}

/// `GET /api/v2/alerts` from the Alertmanager at `base_url`: every alert it holds, silenced
/// and inhibited ones as `AlertState::Other("suppressed")`.
pub async fn alertmanager_alerts(
    http: &reqwest::Client,
    base_url: &str,
    timeout: Duration,
) -> Result<Vec<Alert>, PromError> {
    let url = endpoint(&parse_base(base_url)?, &["api", "v2", "alerts"]);
    let body = fetch(http.get(url).timeout(timeout), timeout).await?;
    let alerts: Vec<RawAmAlert> = from_value(body, "Alertmanager alerts")?;
    Ok(alerts.into_iter().map(RawAmAlert::into_alert).collect())
}

#[derive(Deserialize)]
struct RawPromAlert {
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    state: Option<String>,
    #[serde(rename = "activeAt")]
    active_at: Option<String>,
    value: Option<Value>,
}

impl RawPromAlert {
    fn into_alert(self) -> Alert {
        let state = match self.state.as_deref() {
            Some("firing") => AlertState::Firing,
            Some("pending") => AlertState::Pending,
            Some(other) => AlertState::Other(other.to_string()),
            None => AlertState::Other("unknown".to_string()),
        };
        let labels = self.labels.unwrap_or_default();
        Alert {
            name: alert_name(&labels),
            state,
            labels,
            annotations: self.annotations.unwrap_or_default(),
            active_at: self.active_at.as_deref().and_then(timestamp),
            value: self.value.as_ref().and_then(number),
        }
    }
}

#[derive(Deserialize)]
struct RawAmAlert {
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    #[serde(rename = "startsAt")]
    starts_at: Option<String>,
    status: Option<RawAmStatus>,
}

#[derive(Deserialize)]
struct RawAmStatus {
    state: Option<String>,
}

impl RawAmAlert {
    fn into_alert(self) -> Alert {
        let state = match self.status.and_then(|s| s.state).as_deref() {
            Some("active") => AlertState::Firing,
            Some(other) => AlertState::Other(other.to_string()),
            None => AlertState::Other("unknown".to_string()),
        };
        let labels = self.labels.unwrap_or_default();
        Alert {
            name: alert_name(&labels),
            state,
            labels,
            annotations: self.annotations.unwrap_or_default(),
            active_at: self.starts_at.as_deref().and_then(timestamp),
            value: None,
        }
    }
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Deserialize)]
struct RawSeries {
    metric: Option<BTreeMap<String, String>>,
    value: Option<Value>,
    values: Option<Vec<Value>>,
}

fn alert_name(labels: &BTreeMap<String, String>) -> String {
    labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "(unnamed)".to_string())
}

/// RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`) means "not set".
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.year() > 1)
}

/// A sample value: Prometheus sends strings (`"1.5"`, `"NaN"`, `"+Inf"`), others numbers.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `[<unix seconds>, "<value>"]`.
fn point(raw: &Value) -> Result<(f64, f64), String> {
    let pair = raw
        .as_array()
        .filter(|pair| pair.len() == 2)
        .ok_or_else(|| format!("{} is not a [time, value] pair", clip(&raw.to_string(), 40)))?;
    let at = number(&pair[0])
        .ok_or_else(|| format!("time {} is not a number", clip(&pair[0].to_string(), 40)))?;
    let value = number(&pair[1])
        .ok_or_else(|| format!("value {} is not a number", clip(&pair[1].to_string(), 40)))?;
    Ok((at, value))
}

fn parse_base(base_url: &str) -> Result<Url, PromError> {
    let bad = |reason: String| PromError::BadUrl {
        url: clip(base_url, 80),
        reason,
    };
    let url = Url::parse(base_url.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.cannot_be_a_base() {
        return Err(bad("not a base URL".to_string()));
    }
    Ok(url)
}

/// `base` with `segments` appended to its path, keeping any path prefix.
fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Sends `request` and returns its JSON body, all within `timeout`.
async fn fetch(request: reqwest::RequestBuilder, timeout: Duration) -> Result<Value, PromError> {
    let exchange = async {
        let resp = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| request_error(&e, timeout))?;
        let status = resp.status().as_u16();
        let html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(PromError::TooLarge);
        }
        let body = read_bounded(resp, timeout).await?;
        decode(status, html, &body)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(PromError::Timeout(timeout)))
}

async fn read_bounded(resp: reqwest::Response, timeout: Duration) -> Result<Vec<u8>, PromError> {
    let mut stream = resp.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match request_error(&e, timeout) {
            PromError::Transport(reason) => {
                PromError::Transport(format!("answer cut off: {reason}"))
            }
            other => other,
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(PromError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body as JSON, or what is wrong with the answer.
fn decode(status: u16, html: bool, body: &[u8]) -> Result<Value, PromError> {
    let success = (200..300).contains(&status);
    if html || looks_like_html(body) {
        return Err(PromError::Html {
            status,
            title: html_title(body),
        });
    }
    if body.trim_ascii().is_empty() {
        return Err(if success {
            PromError::Empty { status }
        } else {
            PromError::Status {
                status,
                snippet: "(empty body)".to_string(),
            }
        });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => {
            if json.get("status").and_then(Value::as_str) == Some("error") {
                let text = |key: &str, default: &str| {
                    let text = json.get(key).and_then(Value::as_str).unwrap_or(default);
                    clip(text, 200)
                };
                return Err(PromError::Api {
                    status,
                    error_type: text("errorType", "error"),
                    error: text("error", "(no message)"),
                });
            }
            if success {
                Ok(json)
            } else {
                Err(status_error(status, body))
            }
        }
        Err(_) if !success => Err(status_error(status, body)),
        Err(e) => Err(PromError::InvalidJson {
            truncated: e.classify() == serde_json::error::Category::Eof,
            reason: e.to_string(),
        }),
    }
}

/// The `data` of a successful Prometheus envelope.
fn prometheus_data(envelope: Value) -> Result<Value, PromError> {
    const WHAT: &str = "the Prometheus envelope";
    let Value::Object(mut envelope) = envelope else {
        return Err(shape(WHAT, "not an object".to_string()));
    };
    match envelope.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some(other) => return Err(shape(WHAT, format!("status {:?}", clip(other, 40)))),
        None => {
            return Err(shape(
                WHAT,
                "no \"status\" (not a Prometheus API?)".to_string(),
            ));
        }
    }
    envelope
        .remove("data")
        .ok_or_else(|| shape(WHAT, "no \"data\"".to_string()))
}

fn from_value<T: serde::de::DeserializeOwned>(
    value: Value,
    what: &'static str,
) -> Result<T, PromError> {
    serde_json::from_value(value).map_err(|e| shape(what, e.to_string()))
}

fn shape(what: &'static str, reason: String) -> PromError {
    PromError::Shape { what, reason }
}

fn status_error(status: u16, body: &[u8]) -> PromError {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    PromError::Status {
        status,
        snippet: clip(&collapse(&text), 120),
    }
}

fn request_error(e: &reqwest::Error, timeout: Duration) -> PromError {
    if e.is_timeout() {
        return PromError::Timeout(timeout);
    }
    if e.is_connect() {
        let addr = e
            .url()
            .map(|u| match (u.host_str(), u.port_or_known_default()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_string(),
                _ => u.to_string(),
            })
            .unwrap_or_else(|| "the server".to_string());
        return PromError::Unreachable {
            addr,
            reason: root_cause(e),
        };
    }
    PromError::Transport(root_cause(e))
}

/// The innermost cause, which is the part that says what happened
/// ("Connection refused (os error 111)").
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body.trim_ascii_start();
    let head = &start[..start.len().min(16)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The page's `<title>`, else its first visible text.
fn html_title(body: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    if let Some(open) = lower.find("<title")
        && let Some(close) = lower[open..].find('>')
    {
        let start = open + close + 1;
        let end = lower[start..]
            .find("</title")
            .map_or(text.len(), |end| start + end);
        let title = collapse(&text[start..end]);
        if !title.is_empty() {
            return clip(&title, MAX);
        }
    }
    let mut visible = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                visible.push(' ');
            }
            _ if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let visible = collapse(&visible);
    if visible.is_empty() {
        clip(&collapse(&text), MAX)
    } else {
        clip(&visible, MAX)
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        text.to_string()
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use chrono::TimeZone;

    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(300);

    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{addr}")
    }

    /// A server answering every path with `body`.
    async fn answering(status: u16, content_type: &'static str, body: &'static str) -> String {
        let status = StatusCode::from_u16(status).expect("status");
        serve(Router::new().fallback(move || async move {
            (status, [(header::CONTENT_TYPE, content_type)], body)
        }))
        .await
    }

    async fn client_for(base: &str) -> PromClient {
        PromClient::new(base, TIMEOUT).expect("client")
    }

    const ALERTS: &str = r#"{"status":"success","data":{"alerts":[
      {"labels":{"alertname":"ExfilDenied","severity":"critical","reporter":"source",
        "source_principal":"spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter",
        "destination_service_namespace":"external-attacker"},
       "annotations":{"summary":"currency-converter tried to reach mock-attacker"},
       "state":"firing","activeAt":"2026-11-27T07:10:03.123456789Z","value":"3e+00",
       "keepFiringSince":"2026-11-27T07:11:00Z"},
      {"labels":{"alertname":"EgressAttempt","cluster":"trustusbank-vendor"},
       "annotations":{},"state":"pending","activeAt":"2026-11-27T07:12:00+01:00","value":"NaN"}
    ]},"warnings":["ignored"]}"#;

    #[tokio::test]
    async fn alerts_parse_with_a_path_prefix() {
        let base = serve(Router::new().route(
            "/prom/api/v1/alerts",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], ALERTS) }),
        ))
        .await;
        let alerts = client_for(&format!("{base}/prom/"))
            .await
            .alerts()
            .await
            .expect("alerts");
        assert_eq!(alerts.len(), 2);
        let firing = &alerts[0];
        assert_eq!(firing.name, "ExfilDenied");
        assert_eq!(firing.state, AlertState::Firing);
        assert_eq!(
            firing.labels["source_principal"],
            "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"
        );
        assert_eq!(
            firing.annotations["summary"],
            "currency-converter tried to reach mock-attacker"
        );
        let at = Utc
            .with_ymd_and_hms(2026, 11, 27, 7, 10, 3)
            .single()
            .expect("time")
            + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(firing.active_at, Some(at));
        assert_eq!(firing.value, Some(3.0));

        let pending = &alerts[1];
        assert_eq!(pending.name, "EgressAttempt");
        assert_eq!(pending.state, AlertState::Pending);
        assert!(pending.annotations.is_empty());
        assert_eq!(
            pending.active_at,
            Utc.with_ymd_and_hms(2026, 11, 27, 6, 12, 0).single()
        );
        assert!(pending.value.is_some_and(f64::is_nan));
    }

    #[tokio::test]
    async fn missing_optional_fields_are_fine() {
        let base = answering(
            200,
            "application/json",
            r#"{"status":"success","data":{"alerts":[{"labels":null,"activeAt":"0001-01-01T00:00:00Z"}]}}"#,
        )
        .await;
        let alerts = client_for(&base).await.alerts().await.expect("alerts");
        assert_eq!(alerts[0].name, "(unnamed)");
        assert_eq!(alerts[0].state, AlertState::Other("unknown".into()));
        assert_eq!((alerts[0].active_at, alerts[0].value), (None, None));
    }

    #[tokio::test]
    async fn html_error_page() {
        let base = answering(
            502,
            "text/html",
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
             <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        )
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "HTML page instead of JSON (HTTP 502): 502 Bad Gateway"
        );
    }

    #[tokio::test]
    async fn html_without_title_or_content_type() {
        let base = answering(
            200,
            "application/octet-stream",
            "  <html><body><h1>Sign in</h1><p>to continue to the dashboard</p></body></html>",
        )
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(
            err,
            PromError::Html {
                status: 200,
                title: "Sign in to continue to the dashboard".into()
            }
        );
    }

    #[tokio::test]
    async fn error_envelope() {
        let base = answering(
            400,
            "application/json",
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#,
        )
        .await;
        let err = client_for(&base).await.query("sum(").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Prometheus bad_data (HTTP 400): invalid parameter \"query\": 1:5: parse error: unexpected end of input"
        );
    }

    #[tokio::test]
    async fn plain_http_error() {
        let base = answering(404, "text/plain", "404 page not found\n").await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err.to_string(), "HTTP 404: 404 page not found");
    }

    #[tokio::test]
    async fn truncated_json() {
        let base = answering(
            200,
            "application/json",
            r#"{"status":"success","data":{"alerts":[{"labels":"#,
        )
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert!(
            matches!(
                err,
                PromError::InvalidJson {
                    truncated: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("truncated JSON: EOF"), "{err}");
    }

    #[tokio::test]
    async fn invalid_json_and_empty_body() {
        let base = answering(200, "application/json", r#"{"status":"success",}"#).await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert!(err.to_string().starts_with("invalid JSON: "), "{err}");

        let base = answering(200, "application/json", "").await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err.to_string(), "empty answer (HTTP 200)");
    }

    #[tokio::test]
    async fn json_of_the_wrong_shape() {
        let base = answering(
            200,
            "application/json",
            r#"{"status":"success","data":{"alerts":{"a":1}}}"#,
        )
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unexpected JSON for alerts: invalid type: map"),
            "{err}"
        );

        let base = answering(200, "application/json", r#"{"hello":"world"}"#).await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected JSON for the Prometheus envelope: no \"status\" (not a Prometheus API?)"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let base = serve(Router::new().fallback(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }))
        .await;
        let started = Instant::now();
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err, PromError::Timeout(TIMEOUT));
        assert_eq!(err.to_string(), "timed out after 0.3 s");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let base = serve(Router::new().fallback(|| async {
            let start = futures::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"status\":\"success\","))
            });
            Body::from_stream(start.chain(futures::stream::pending()))
        }))
        .await;
        let started = Instant::now();
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err, PromError::Timeout(TIMEOUT));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn connection_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = client_for(&format!("http://{addr}"))
            .await
            .alerts()
            .await
            .unwrap_err();
        let PromError::Unreachable { addr: shown, .. } = &err else {
            panic!("expected Unreachable, got {err:?}");
        };
        assert_eq!(*shown, addr.to_string());
        assert!(
            err.to_string()
                .starts_with(&format!("cannot connect to {addr}: ")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn oversized_answers_are_cut_off() {
        // Announced with Content-Length.
        let base = serve(
            Router::new().fallback(|| async { vec![b' '; MAX_BODY_BYTES + 1].into_response() }),
        )
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err, PromError::TooLarge);

        // Streamed without a length.
        let base = serve(Router::new().fallback(|| async {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = futures::stream::iter(
                (0..(MAX_BODY_BYTES / chunk.len() + 2))
                    .map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            Body::from_stream(chunks)
        }))
        .await;
        let err = client_for(&base).await.alerts().await.unwrap_err();
        assert_eq!(err.to_string(), "answer larger than 4 MiB: cut off");
    }

    #[tokio::test]
    async fn query_range_matrix_with_special_values() {
        let seen: Arc<Mutex<Option<String>>> = Arc::default();
        let record = seen.clone();
        let base = serve(Router::new().route(
            "/api/v1/query_range",
            get(move |request: Request| async move {
                *record.lock().expect("lock") = request.uri().query().map(str::to_string);
                r#"{"status":"success","data":{"resultType":"matrix","result":[
                  {"metric":{"destination_service_namespace":"external-attacker"},
                   "values":[[1764227400,"0.5"],[1764227415.5,"NaN"],[1764227430,"+Inf"],[1764227445,"-Inf"]]},
                  {"metric":{},"values":[]}
                ]}}"#
            }),
        ))
        .await;
        let start = Utc
            .with_ymd_and_hms(2026, 11, 27, 7, 0, 0)
            .single()
            .expect("time");
        let series = client_for(&base)
            .await
            .query_range(
                "sum by (x) (rate(a{b=\"c d\"}[1m]))",
                start,
                start + chrono::Duration::minutes(15),
                Duration::from_secs(15),
            )
            .await
            .expect("range");
        assert_eq!(series.len(), 2);
        assert_eq!(
            series[0].labels["destination_service_namespace"],
            "external-attacker"
        );
        let points = &series[0].points;
        assert_eq!(points[0], (1764227400.0, 0.5));
        assert_eq!(points[1].0, 1764227415.5);
        assert!(points[1].1.is_nan());
        assert_eq!(points[2].1, f64::INFINITY);
        assert_eq!(points[3].1, f64::NEG_INFINITY);
        assert!(series[1].points.is_empty());

        let query = seen.lock().expect("lock").clone().expect("query string");
        let pairs: BTreeMap<String, String> = url_pairs(&query);
        assert_eq!(pairs["query"], "sum by (x) (rate(a{b=\"c d\"}[1m]))");
        assert_eq!(pairs["start"], "2026-11-27T07:00:00.000Z");
        assert_eq!(pairs["end"], "2026-11-27T07:15:00.000Z");
        assert_eq!(pairs["step"], "15");
    }

    fn url_pairs(query: &str) -> BTreeMap<String, String> {
        let url = Url::parse(&format!("http://x/?{query}")).expect("url");
        url.query_pairs().into_owned().collect()
    }

    #[tokio::test]
    async fn query_vector_and_scalar() {
        let base = serve(
            Router::new().route(
                "/api/v1/query",
                get(|request: Request| async move {
                    let pairs = url_pairs(request.uri().query().unwrap_or(""));
                    match pairs.get("query").map(String::as_str) {
                        Some("vector") => r#"{"status":"success","data":{"resultType":"vector","result":[
                            {"metric":{"__name__":"up","job":"ztunnel"},"value":[1764227400.25,"1"]},
                            {"metric":{"job":"hist"},"histogram":[1764227400,{"count":"1"}]},
                            {"metric":{"job":"nan"},"value":[1764227400,"NaN"]}]}}"#,
                        Some("scalar") => r#"{"status":"success","data":{"resultType":"scalar","result":[1764227400,"42.5"]}}"#,
                        Some("string") => r#"{"status":"success","data":{"resultType":"string","result":[1764227400,"hi"]}}"#,
                        _ => r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#,
                    }
                }),
            ),
        )
        .await;
        let client = client_for(&base).await;

        let vector = client.query("vector").await.expect("vector");
        assert_eq!(vector.len(), 2);
        assert_eq!(vector[0].labels["job"], "ztunnel");
        assert_eq!((vector[0].at, vector[0].value), (1764227400.25, 1.0));
        assert!(vector[1].value.is_nan());

        let scalar = client.query("scalar").await.expect("scalar");
        assert_eq!(
            scalar,
            vec![InstantSample {
                labels: BTreeMap::new(),
                at: 1764227400.0,
                value: 42.5
            }]
        );

        let err = client.query("string").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected JSON for an instant query: result type \"string\", not a vector"
        );
        let err = client.query("bad").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected JSON for an instant query: value \"abc\" is not a number"
        );
    }

    #[tokio::test]
    async fn alertmanager_bare_array() {
        let base = serve(Router::new().route(
            "/api/v2/alerts",
            get(|| async {
                r#"[
                  {"labels":{"alertname":"ExfilDenied","cluster":"trustusbank-vendor"},
                   "annotations":{"summary":"denied"},"startsAt":"2026-11-27T07:10:03.5Z",
                   "endsAt":"2026-11-27T07:20:03.5Z","updatedAt":"2026-11-27T07:10:33Z",
                   "fingerprint":"0123abcd","receivers":[{"name":"null"}],
                   "status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
                  {"labels":{"alertname":"Silenced"},"annotations":{},"startsAt":"2026-11-27T07:00:00Z",
                   "status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}},
                  {"labels":{"alertname":"New"},"status":{"state":"unprocessed"}}
                ]"#
            }),
        ))
        .await;
        let alerts = alertmanager_alerts(&reqwest::Client::new(), &base, TIMEOUT)
            .await
            .expect("alerts");
        assert_eq!(alerts.len(), 3);
        assert_eq!(alerts[0].name, "ExfilDenied");
        assert_eq!(alerts[0].state, AlertState::Firing);
        assert_eq!(alerts[0].labels["cluster"], "trustusbank-vendor");
        assert_eq!(
            alerts[0].active_at,
            Utc.with_ymd_and_hms(2026, 11, 27, 7, 10, 3)
                .single()
                .map(|t| t + chrono::Duration::milliseconds(500))
        );
        assert_eq!(alerts[1].state, AlertState::Other("suppressed".into()));
        assert_eq!(alerts[2].state, AlertState::Other("unprocessed".into()));
        assert_eq!(alerts[2].active_at, None);
    }

    #[tokio::test]
    async fn alertmanager_errors() {
        let base = answering(500, "text/plain", "failed to get alerts: boom").await;
        let err = alertmanager_alerts(&reqwest::Client::new(), &base, TIMEOUT)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "HTTP 500: failed to get alerts: boom");

        let base = answering(200, "application/json", r#"{"status":"success"}"#).await;
        let err = alertmanager_alerts(&reqwest::Client::new(), &base, TIMEOUT)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unexpected JSON for Alertmanager alerts: invalid type: map"),
            "{err}"
        );
    }

    #[test]
    fn bad_base_urls() {
        for url in ["", "not a url", "ftp://host/", "mailto:a@b"] {
            let err = PromClient::new(url, TIMEOUT).unwrap_err();
            assert!(matches!(err, PromError::BadUrl { .. }), "{url}: {err:?}");
        }
    }

    #[test]
    fn endpoints_keep_the_path_prefix() {
        let join = |base: &str| {
            endpoint(&parse_base(base).expect("base"), &["api", "v1", "alerts"]).to_string()
        };
        assert_eq!(join("http://h:9090"), "http://h:9090/api/v1/alerts");
        assert_eq!(join("http://h:9090/"), "http://h:9090/api/v1/alerts");
        assert_eq!(join("http://h/prom"), "http://h/prom/api/v1/alerts");
        assert_eq!(join("http://h/prom/"), "http://h/prom/api/v1/alerts");
    }

    #[test]
    fn decoding_never_panics_on_junk() {
        let junk: [&[u8]; 8] = [
            b"\xff\xfe\x00",
            b"<",
            b"<html",
            b"<title>",
            b"<!doctype html><title>\xe2\x82",
            b"null",
            b"[1,2",
            b"{\"status\":\"error\"}",
        ];
        for body in junk {
            for status in [200, 500] {
                let _ = decode(status, false, body);
                let _ = decode(status, true, body);
                if let Ok(v) = decode(status, false, body) {
                    let _ = prometheus_data(v);
                }
            }
        }
        assert_eq!(
            decode(200, false, b"{\"status\":\"error\"}"),
            Err(PromError::Api {
                status: 200,
                error_type: "error".into(),
                error: "(no message)".into()
            })
        );
    }

    #[test]
    fn responses_are_short_lines() {
        let long = "x".repeat(10_000);
        let err = status_error(503, long.as_bytes());
        assert!(err.to_string().len() < 140, "{err}");
    }
}
