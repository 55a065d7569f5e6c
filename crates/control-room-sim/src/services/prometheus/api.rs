//! Prometheus' HTTP API over the [`Engine`], answering byte for byte like Prometheus 2.42:
//! the `{"status":…}` envelopes, form parameters from the URL and from POST bodies, its
//! parameter checks and messages, its number and time formats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Serialize, Serializer};

use super::super::common::text;
use super::{Alert, Engine, QueryError, RuleGroup, Series, Value, gofmt, page};

/// Where the API reads the time (the wall clock, or a test's).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
struct Api {
    engine: Engine,
    clock: Clock,
}

pub fn routes(engine: Engine, clock: Clock) -> Router {
    Router::new()
        .route("/", get(alerts_page))
        .route("/alerts", get(alerts_page))
        .route(
            "/-/ready",
            get(|| async { text(StatusCode::OK, "Prometheus Server is Ready.\n") }),
        )
        .route(
            "/-/healthy",
            get(|| async { text(StatusCode::OK, "Prometheus Server is Healthy.\n") }),
        )
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/{*rest}", any(not_found))
        .with_state(Api { engine, clock })
}

async fn alerts_page(State(api): State<Api>) -> Html<String> {
    page::render(&api.engine)
}

/// Request parameters as Go's `Request.FormValue` sees them: a form-encoded POST body
/// first, then the URL's query.
struct Form(Vec<(String, String)>);

impl Form {
    fn new(method: &Method, headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Self {
        let form_body = method == Method::POST
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut pairs = Vec::new();
        if form_body {
            pairs.extend(decode_form(&String::from_utf8_lossy(body)));
        }
        pairs.extend(decode_form(query.unwrap_or("")));
        Self(pairs)
    }

    /// The first value of `name`, `""` when absent.
    fn value(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `application/x-www-form-urlencoded` pairs; malformed ones are skipped, as Go does.
fn decode_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((unescape(name)?, unescape(value)?))
        })
        .collect()
}

fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Prometheus' `parseTime`: unix seconds (to the millisecond) or RFC 3339.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let invalid = || format!("cannot parse {} to a valid timestamp", gofmt::quote(text));
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() || seconds.abs() > 1e15 {
            return Err(invalid());
        }
        let whole = seconds.trunc();
        let fraction = ((seconds - whole) * 1000.0).round() / 1000.0;
        let nanos = (whole as i64)
            .checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add((fraction * 1e9) as i64))
            .ok_or_else(invalid)?;
        return Ok(DateTime::from_timestamp_nanos(nanos));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid())
}

/// Prometheus' `parseDuration`: seconds as a float, or a Prometheus duration.
fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        let nanos = seconds * 1e9;
        if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                gofmt::quote(text)
            ));
        }
        return Ok(TimeDelta::nanoseconds(nanos as i64));
    }
    gofmt::parse_duration(text)
        .ok()
        .and_then(TimeDelta::try_milliseconds)
        .ok_or_else(|| format!("cannot parse {} to a valid duration", gofmt::quote(text)))
}

fn invalid_param(name: &str, error: String) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "bad_data",
        &format!("invalid parameter {}: {error}", gofmt::quote(name)),
    )
}

async fn query(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let form = Form::new(&method, &headers, raw.as_deref(), &body);
    let at = match form.value("time") {
        "" => (api.clock)(),
        text => match parse_time(text) {
            Ok(at) => at,
            Err(e) => return invalid_param("time", e),
        },
    };
    match api.engine.query(form.value("query"), at) {
        Ok(value) => success(&value_json(&value, at.timestamp_millis())),
        Err(e) => query_error(e),
    }
}

async fn query_range(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let form = Form::new(&method, &headers, raw.as_deref(), &body);
    let start = match parse_time(form.value("start")) {
        Ok(t) => t,
        Err(e) => return invalid_param("start", e),
    };
    let end = match parse_time(form.value("end")) {
        Ok(t) => t,
        Err(e) => return invalid_param("end", e),
    };
    if end < start {
        return invalid_param("end", "end timestamp must not be before start time".into());
    }
    let step = match parse_duration(form.value("step")) {
        Ok(step) => step,
        Err(e) => return invalid_param("step", e),
    };
    match api
        .engine
        .query_range(form.value("query"), start, end, step)
    {
        Ok(series) => success(&format!(
            "{{\"resultType\":\"matrix\",\"result\":{}}}",
            matrix_json(&series)
        )),
        Err(e) => query_error(e),
    }
}

async fn alerts(State(api): State<Api>) -> Response {
    let alerts: Vec<AlertJson> = api.engine.alerts().iter().map(AlertJson::from).collect();
    #[derive(Serialize)]
    struct Data {
        alerts: Vec<AlertJson>,
    }
    success(&serialize(&Data { alerts }))
}

async fn rules(State(api): State<Api>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::new(&Method::GET, &HeaderMap::new(), raw.as_deref(), &[]);
    let kind = form.value("type").to_ascii_lowercase();
    if !["", "alert", "record"].contains(&kind.as_str()) {
        return invalid_param(
            "type",
            format!("not supported value {}", gofmt::quote(&kind)),
        );
    }
    // The simulator has only alerting rules.
    let with_alerting = kind != "record";
    let groups: Vec<GroupJson> = api
        .engine
        .rule_groups()
        .iter()
        .map(|g| GroupJson::new(g, with_alerting))
        .collect();
    #[derive(Serialize)]
    struct Data {
        groups: Vec<GroupJson>,
    }
    success(&serialize(&Data { groups }))
}

async fn not_found(Path(rest): Path<String>) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("unknown API endpoint /api/v1/{rest}"),
    )
}

fn query_error(error: QueryError) -> Response {
    match error {
        QueryError::BadData(message) => {
            error_response(StatusCode::BAD_REQUEST, "bad_data", &message)
        }
        QueryError::Execution(e) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            &e.to_string(),
        ),
    }
}

fn json_response(code: StatusCode, body: String) -> Response {
    let mut response = (code, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"status":"success","data":…}` around `data` (JSON text).
fn success(data: &str) -> Response {
    json_response(
        StatusCode::OK,
        format!("{{\"status\":\"success\",\"data\":{data}}}"),
    )
}

fn error_response(code: StatusCode, error_type: &str, message: &str) -> Response {
    json_response(
        code,
        format!(
            "{{\"status\":\"error\",\"errorType\":{},\"error\":{}}}",
            json_string(error_type),
            json_string(message)
        ),
    )
}

/// Go's JSON encoder escapes `<`, `>`, `&`, U+2028 and U+2029 where serde_json does not.
/// Outside strings JSON never has these characters, so replacing them everywhere is safe.
fn go_escapes(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn json_string(s: &str) -> String {
    go_escapes(serde_json::Value::from(s).to_string())
}

fn serialize(value: &impl Serialize) -> String {
    go_escapes(serde_json::to_string(value).unwrap_or_else(|_| "null".to_string()))
}

fn labels_json(labels: &super::Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(n, v)| format!("{}:{}", json_string(n), json_string(v)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// `[<unix seconds>,"<value>"]`.
fn point_json(ms: i64, v: f64) -> String {
    format!("[{},\"{}\"]", gofmt::timestamp(ms), gofmt::sample_value(v))
}

fn matrix_json(series: &[Series]) -> String {
    let items: Vec<String> = series
        .iter()
        .map(|s| {
            let points: Vec<String> = s.points.iter().map(|(t, v)| point_json(*t, *v)).collect();
            format!(
                "{{\"metric\":{},\"values\":[{}]}}",
                labels_json(&s.labels),
                points.join(",")
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The `data` of an instant query evaluated at `at` (unix ms).
fn value_json(value: &Value, at: i64) -> String {
    let (kind, result) = match value {
        Value::Scalar(v) => ("scalar", point_json(at, *v)),
        Value::Vector(samples) => {
            let items: Vec<String> = samples
                .iter()
                .map(|s| {
                    format!(
                        "{{\"metric\":{},\"value\":{}}}",
                        labels_json(&s.labels),
                        point_json(at, s.value)
                    )
                })
                .collect();
            ("vector", format!("[{}]", items.join(",")))
        }
        Value::Matrix(series) => ("matrix", matrix_json(series)),
    };
    format!("{{\"resultType\":\"{kind}\",\"result\":{result}}}")
}

/// A float64 as Go's JSON encoder writes it (`5`, not `5.0`).
struct GoFloat(f64);

impl Serialize for GoFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 1e15 {
            serializer.serialize_i64(v as i64)
        } else {
            serializer.serialize_f64(v)
        }
    }
}

fn label_map(labels: &super::Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// One alert as `/api/v1/alerts` and `/api/v1/rules` show it.
#[derive(Serialize)]
struct AlertJson {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    state: &'static str,
    #[serde(rename = "activeAt")]
    active_at: String,
    value: String,
}

impl From<&Alert> for AlertJson {
    fn from(alert: &Alert) -> Self {
        Self {
            labels: label_map(&alert.labels),
            annotations: label_map(&alert.annotations),
            state: alert.state.as_str(),
            active_at: gofmt::time(Some(alert.active_at)),
            value: gofmt::float_e(alert.value),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupJson {
    name: String,
    file: String,
    rules: Vec<RuleJson>,
    interval: GoFloat,
    limit: usize,
    evaluation_time: GoFloat,
    last_evaluation: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleJson {
    state: &'static str,
    name: String,
    query: String,
    duration: GoFloat,
    keep_firing_for: GoFloat,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    alerts: Vec<AlertJson>,
    health: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    evaluation_time: GoFloat,
    last_evaluation: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl GroupJson {
    fn new(group: &RuleGroup, with_alerting: bool) -> Self {
        let rules = if with_alerting {
            group
                .rules
                .iter()
                .map(|rule| RuleJson {
                    state: rule.state().as_str(),
                    name: rule.name.clone(),
                    query: rule.expr.to_string(),
                    duration: GoFloat(rule.hold_ms as f64 / 1000.0),
                    keep_firing_for: GoFloat(0.0),
                    labels: rule.labels.clone(),
                    annotations: rule.annotations.clone(),
                    alerts: rule.active_alerts().map(AlertJson::from).collect(),
                    health: rule.health.as_str(),
                    last_error: rule.last_error.clone(),
                    evaluation_time: GoFloat(rule.evaluation_secs),
                    last_evaluation: gofmt::time(rule.last_evaluation),
                    kind: "alerting",
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            name: group.name.clone(),
            file: group.file.clone(),
            rules,
            interval: GoFloat(group.interval_ms as f64 / 1000.0),
            limit: group.limit,
            evaluation_time: GoFloat(group.evaluation_secs),
            last_evaluation: gofmt::time(group.last_evaluation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_come_from_the_body_first() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let form = Form::new(
            &Method::POST,
            &headers,
            Some("query=url&time=1"),
            b"query=sum%28rate%28a%5B5m%5D%29%29+%3E+0&bad=%zz",
        );
        assert_eq!(form.value("query"), "sum(rate(a[5m])) > 0");
        assert_eq!(form.value("time"), "1");
        assert_eq!(form.value("bad"), "");
        let form = Form::new(&Method::GET, &headers, Some("query=url"), b"query=body");
        assert_eq!(form.value("query"), "url");
    }

    #[test]
    fn times_and_durations_parse_like_prometheus() {
        assert_eq!(
            parse_time("1700000000.5").unwrap().timestamp_millis(),
            1_700_000_000_500
        );
        assert_eq!(
            parse_time("1700000000.12345").unwrap().timestamp_millis(),
            1_700_000_000_123
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.25Z")
                .unwrap()
                .timestamp_millis(),
            1_700_000_000_250
        );
        assert_eq!(
            parse_time("yesterday"),
            Err("cannot parse \"yesterday\" to a valid timestamp".to_string())
        );
        assert!(parse_time("").is_err());
        assert!(parse_time("NaN").is_err());
        assert_eq!(parse_duration("15"), Ok(TimeDelta::seconds(15)));
        assert_eq!(parse_duration("0.5"), Ok(TimeDelta::milliseconds(500)));
        assert_eq!(parse_duration("1m"), Ok(TimeDelta::minutes(1)));
        assert!(
            parse_duration("1e30")
                .unwrap_err()
                .contains("overflows int64")
        );
        assert_eq!(
            parse_duration("soon"),
            Err("cannot parse \"soon\" to a valid duration".to_string())
        );
    }

    #[test]
    fn json_escapes_like_go() {
        assert_eq!(
            json_string("a<b>&\"c\""),
            "\"a\\u003cb\\u003e\\u0026\\\"c\\\"\""
        );
    }
}
