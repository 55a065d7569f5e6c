//! `Status` error bodies and JSON responses, shaped exactly like a real API server's, because
//! kubectl and kube-rs branch on `reason` and `code`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::store::StoreError;
use crate::store::history::Expired;
use crate::store::resources::ResourceDef;

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

/// `details` as a real server fills them for one object: `kind` is the plural resource name
/// (sic), `group` only outside the core group.
fn object_details(def: &ResourceDef, name: &str, uid: Option<&str>) -> Value {
    let mut details = json!({"name": name, "kind": def.plural});
    if !def.group.is_empty() {
        details["group"] = json!(def.group);
    }
    if let Some(uid) = uid {
        details["uid"] = json!(uid);
    }
    details
}

/// `deployments.apps "x" not found`.
pub fn not_found_in(def: &ResourceDef, name: &str) -> Response {
    error_response(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", def.qualified()),
        Some(object_details(def, name, None)),
    )
}

/// `Deployment.apps "x" is invalid: <why>` (422). `why` reads `field: message` when it is
/// about one field; kubectl prints the causes, so the reason travels as one.
pub fn invalid(def: &ResourceDef, name: &str, why: &str) -> Response {
    let kind = if def.group.is_empty() {
        def.kind.to_string()
    } else {
        format!("{}.{}", def.kind, def.group)
    };
    let mut details = json!({"name": name, "kind": def.kind});
    if let Some((field, message)) = why.split_once(": ")
        && !field.contains(' ')
    {
        details["causes"] =
            json!([{"reason": "FieldValueInvalid", "message": message, "field": field}]);
    }
    if !def.group.is_empty() {
        details["group"] = json!(def.group);
    }
    error_response(
        422,
        "Invalid",
        &format!("{kind} \"{name}\" is invalid: {why}"),
        Some(details),
    )
}

/// 422 without details, for a patch that cannot be applied (a failed JSON patch `test`, a
/// missing path): kubectl prints "The request is invalid: <message>".
pub fn unprocessable(message: &str) -> Response {
    error_response(422, "Invalid", message, None)
}

/// The Status for a refused store write, worded the way a real server words it.
pub fn store_error(def: &ResourceDef, err: &StoreError) -> Response {
    let qualified = def.qualified();
    match err {
        StoreError::NotFound { name, .. } => not_found_in(def, name),
        StoreError::AlreadyExists { name, .. } => error_response(
            409,
            "AlreadyExists",
            &format!("{qualified} \"{name}\" already exists"),
            Some(object_details(def, name, None)),
        ),
        StoreError::Conflict { name, .. } => error_response(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
            Some(object_details(def, name, None)),
        ),
        StoreError::PreconditionFailed(why) => error_response(
            409,
            "Conflict",
            &format!("Precondition failed: {why}"),
            None,
        ),
        StoreError::Invalid(why) => invalid(def, "", why),
    }
}

/// `DELETE` of a kind whose registry answers with a Status rather than the object.
pub fn deleted(def: &ResourceDef, name: &str, uid: Option<&str>) -> Response {
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": object_details(def, name, uid),
    });
    json_response(StatusCode::OK, status.to_string())
}

/// A PATCH content type the resource does not take. Custom resources never take strategic
/// merge patches; the message lists what they do take, word for word as a real server does.
pub fn unsupported_media_type(def: &ResourceDef) -> Response {
    let accepted = if def.builtin() {
        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
    } else {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    };
    error_response(
        415,
        "UnsupportedMediaType",
        &format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}"
        ),
        None,
    )
}
