//! PATCH: JSON patch (RFC 6902), merge patch (RFC 7386), strategic merge patch (built-in kinds
//! only; custom resources answer 415 like a real server) and server-side apply, treated as
//! create-or-merge. Concurrent writers are handled the way a real server's GuaranteedUpdate
//! does: read, patch, write with the version read, and on a conflict start again.

use axum::response::Response;
use serde_json::{Value, json};

use crate::api::query::Query;
use crate::api::request::{self, WriteParams};
use crate::api::responses;
use crate::api::router::ServerCtx;
use crate::api::strategic::{self, SmpError};
use crate::api::writes::{self, Part};
use crate::store::StoreError;
use crate::store::resources::ResourceDef;

/// Conflicts with concurrent writers tolerated before giving up with 409.
const MAX_ATTEMPTS: usize = 5;

/// The PATCH flavours, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(content_type: Option<&str>) -> Option<Self> {
        match request::media_type(content_type).as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Why a patch could not be applied.
#[derive(Debug)]
pub enum PatchFailure {
    /// 400: the patch document itself is broken.
    BadRequest(String),
    /// 422: a JSON patch `test` failed, a path does not exist, a merge key is missing…
    Invalid(String),
}

impl PatchFailure {
    pub fn into_response(self) -> Response {
        match self {
            Self::BadRequest(message) => responses::bad_request(&message),
            Self::Invalid(message) => responses::unprocessable(&message),
        }
    }
}

/// `current` with the patch applied. `kind` selects the strategic merge keys.
pub fn apply_to(
    kind: &str,
    current: &Value,
    ty: PatchType,
    body: &[u8],
) -> Result<Value, PatchFailure> {
    let json = |body: &[u8]| {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| PatchFailure::BadRequest(format!("error decoding patch: {e}")))
    };
    let mut doc = current.clone();
    match ty {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| PatchFailure::BadRequest(format!("error decoding JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &ops).map_err(|e| PatchFailure::Invalid(e.to_string()))?;
        }
        PatchType::Merge => json_patch::merge(&mut doc, &json(body)?),
        PatchType::Strategic => {
            doc = strategic::apply(kind, current, &json(body)?).map_err(|e| match e {
                SmpError::BadRequest(m) => PatchFailure::BadRequest(m),
                SmpError::Invalid(m) => PatchFailure::Invalid(m),
            })?;
        }
        PatchType::Apply => {
            let applied = request::json_or_yaml(body).map_err(PatchFailure::BadRequest)?;
            if !applied.is_object() {
                return Err(PatchFailure::BadRequest(
                    "an apply patch must be an object".into(),
                ));
            }
            // No managed fields are tracked: applying merges the configuration in, so fields
            // the applier leaves out are kept rather than handed back.
            json_patch::merge(&mut doc, &applied);
        }
    }
    Ok(doc)
}

/// `PATCH` on an object (or its `/status`).
#[allow(clippy::too_many_arguments)]
pub fn patch(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    name: &str,
    part: Part,
    query: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let params = match WriteParams::from_query(query) {
        Ok(p) => p,
        Err(message) => return responses::bad_request(&message),
    };
    let Some(ty) = PatchType::from_content_type(content_type) else {
        return responses::unsupported_media_type(def);
    };
    if ty == PatchType::Strategic && !def.builtin() {
        return responses::unsupported_media_type(def);
    }
    if ty == PatchType::Apply && params.field_manager.is_none() {
        return responses::error_response(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            Some(json!({"group": "meta.k8s.io", "kind": "PatchOptions"})),
        );
    }
    let (kind, _) = ctx.store.kind_for(def);
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(current) = ctx.store.get_stored(kind, namespace.unwrap_or(""), name) else {
            if ty == PatchType::Apply && part == Part::Main {
                return apply_create(ctx, def, namespace, name, body, params.dry_run);
            }
            return responses::not_found_in(def, name);
        };
        let current_value = current.to_value();
        let patched = match apply_to(def.kind, &current_value, ty, body) {
            Ok(v) => v,
            Err(failure) => return failure.into_response(),
        };
        let mut map = match writes::check_identity(def, namespace, Some(name), patched) {
            Ok(m) => m,
            Err(response) => return *response,
        };
        writes::prepare_update(part, &current_value, &mut map);
        if let Err(response) = writes::validate(def, &map) {
            return *response;
        }
        // A resourceVersion in the patch is a precondition; without one, the version read
        // above is, so a concurrent write sends us round again instead of being overwritten.
        let read = current.rv.to_string();
        let meta = map.get_mut("metadata").and_then(Value::as_object_mut);
        let explicit = match meta {
            Some(meta) => match meta.get("resourceVersion").and_then(Value::as_str) {
                Some(rv) if !rv.is_empty() => rv != read,
                _ => {
                    meta.insert("resourceVersion".into(), Value::from(read));
                    false
                }
            },
            None => false,
        };
        match ctx.store.update_with(Value::Object(map), !params.dry_run) {
            Ok(stored) => return writes::updated(ctx, def, kind, stored, params.dry_run),
            Err(StoreError::Conflict { .. }) if !explicit && attempt < MAX_ATTEMPTS => {}
            Err(err) => return responses::store_error(def, &err),
        }
    }
    responses::store_error(
        def,
        &StoreError::Conflict {
            resource: def.plural.to_string(),
            name: name.to_string(),
        },
    )
}

/// Server-side apply of an object that does not exist yet: a create (201).
fn apply_create(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    name: &str,
    body: &[u8],
    dry_run: bool,
) -> Response {
    let obj = match request::json_or_yaml(body) {
        Ok(v) => v,
        Err(message) => return responses::bad_request(&message),
    };
    match writes::check_identity(def, namespace, Some(name), obj) {
        Ok(map) => writes::create_checked(ctx, def, namespace, map, dry_run),
        Err(response) => *response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"list": [1, 2]}})
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchType::from_content_type(Some("application/merge-patch+json; charset=utf-8")),
            Some(PatchType::Merge)
        );
        assert_eq!(PatchType::from_content_type(Some("application/json")), None);
        assert_eq!(PatchType::from_content_type(None), None);
    }

    #[test]
    fn json_and_merge_patches() {
        let out = apply_to(
            "X",
            &doc(),
            PatchType::Json,
            br#"[{"op":"test","path":"/metadata/name","value":"a"},{"op":"add","path":"/spec/list/-","value":3},{"op":"remove","path":"/metadata/labels/x"},{"op":"copy","from":"/metadata/name","path":"/spec/copy"},{"op":"move","from":"/spec/copy","path":"/spec/moved"},{"op":"replace","path":"/spec/moved","value":"b"}]"#,
        )
        .unwrap();
        assert_eq!(out["spec"], json!({"list": [1, 2, 3], "moved": "b"}));
        assert!(matches!(
            apply_to(
                "X",
                &doc(),
                PatchType::Json,
                br#"[{"op":"test","path":"/metadata/name","value":"b"}]"#
            ),
            Err(PatchFailure::Invalid(_))
        ));
        assert!(matches!(
            apply_to(
                "X",
                &doc(),
                PatchType::Json,
                br#"[{"op":"remove","path":"/nope/x"}]"#
            ),
            Err(PatchFailure::Invalid(_))
        ));
        assert!(matches!(
            apply_to("X", &doc(), PatchType::Json, br#"{"op":"add"}"#),
            Err(PatchFailure::BadRequest(_))
        ));
        let out = apply_to(
            "X",
            &doc(),
            PatchType::Merge,
            br#"{"metadata":{"labels":{"x":null,"y":"2"}},"spec":{"list":[9]}}"#,
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"y": "2"}));
        assert_eq!(out["spec"]["list"], json!([9]));
        let out = apply_to(
            "X",
            &doc(),
            PatchType::Apply,
            b"metadata:\n  labels:\n    z: \"3\"\n",
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"x": "1", "z": "3"}));
    }
}
