//! `Status` error bodies and JSON responses, shaped exactly like a real API server's, because
//! kubectl and kube-rs branch on `reason` and `code`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::history::Expired;

/// A `Status` failure object as JSON text.
pub fn status_json(code: u16, reason: &str, message: &str, details: Option<Value>) -> String {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let (Some(details), Some(map)) = (details, status.as_object_mut()) {
        map.insert("details".into(), details);
    }
    status.to_string()
}

/// A `200 OK` (or other) response with a JSON body.
pub fn json_response(code: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = code;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    response
}

pub fn error_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, status_json(code, reason, message, details))
}

/// `pods "x" not found`.
pub fn not_found(resource: &str, name: &str) -> Response {
    error_response(
        404,
        "NotFound",
        &format!("{resource} \"{name}\" not found"),
        Some(json!({"name": name, "kind": resource})),
    )
}

/// A path nothing is served at.
pub fn no_route() -> Response {
    error_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

pub fn bad_request(message: &str) -> Response {
    error_response(400, "BadRequest", message, None)
}

pub fn method_not_allowed() -> Response {
    error_response(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

/// The Status a watcher gets, in-stream, when its version has left the history window.
pub fn expired_json(expired: Expired) -> String {
    status_json(
        410,
        "Expired",
        &if expired.requested > expired.newest {
            format!(
                "too large resource version: {}, current: {}",
                expired.requested, expired.newest
            )
        } else {
            format!(
                "too old resource version: {} ({})",
                expired.requested, expired.oldest
            )
        },
        None,
    )
}

/// A list `continue` token from before the history window.
pub fn continue_expired() -> Response {
    error_response(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        None,
    )
}
