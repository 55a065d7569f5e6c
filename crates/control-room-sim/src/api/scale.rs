//! The `/scale` subresource of Deployments and ReplicaSets, as `autoscaling/v1` `Scale`:
//! `kubectl scale` merge-patches it.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::patch::{self, PatchType};
use crate::api::query::Query;
use crate::api::request::{self, BodyError, WriteParams};
use crate::api::responses;
use crate::api::router::ServerCtx;
use crate::store::StoreError;
use crate::store::resources::ResourceDef;

const MAX_ATTEMPTS: usize = 5;

/// The Scale view of a Deployment or ReplicaSet.
pub fn scale_of(obj: &Value) -> Value {
    let meta = obj.get("metadata");
    let field = |k: &str| meta.and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut spec = json!({});
    if let Some(replicas) = obj.pointer("/spec/replicas").and_then(Value::as_i64)
        && replicas != 0
    {
        spec["replicas"] = json!(replicas);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": field("name"),
            "namespace": field("namespace"),
            "uid": field("uid"),
            "resourceVersion": field("resourceVersion"),
            "creationTimestamp": field("creationTimestamp"),
        },
        "spec": spec,
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

pub fn get_scale(
    ctx: &ServerCtx,
    def: &ResourceDef,
    namespace: Option<&str>,
    name: &str,
) -> Response {
    let (kind, _) = ctx.store.kind_for(def);
    match ctx.store.get_stored(kind, namespace.unwrap_or(""), name) {
        Some(obj) => {
            responses::json_response(StatusCode::OK, scale_of(&obj.to_value()).to_string())
        }
        None => responses::not_found_in(def, name),
    }
}

/// `PUT` or `PATCH` of `/scale`: the new `spec.replicas` lands on the parent object.
#[allow(clippy::too_many_arguments)]
pub fn write_scale(
    ctx: &ServerCtx,
    def: &ResourceDef,
    namespace: Option<&str>,
    name: &str,
    method: &Method,
    query: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let params = match WriteParams::from_query(query) {
        Ok(p) => p,
        Err(message) => return responses::bad_request(&message),
    };
    let (kind, _) = ctx.store.kind_for(def);
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(current) = ctx.store.get_stored(kind, namespace.unwrap_or(""), name) else {
            return responses::not_found_in(def, name);
        };
        let mut obj = current.to_value();
        let scale = scale_of(&obj);
        let wanted = if *method == Method::PUT {
            match request::object_body(content_type, body) {
                Ok(v) => v,
                Err(BodyError::Unsupported) => return responses::unsupported_media_type(def),
                Err(BodyError::Malformed(m)) => return responses::bad_request(&m),
            }
        } else {
            let Some(ty) = PatchType::from_content_type(content_type) else {
                return responses::unsupported_media_type(def);
            };
            match patch::apply_to("Scale", &scale, ty, body) {
                Ok(v) => v,
                Err(failure) => return failure.into_response(),
            }
        };
        let replicas = match wanted.pointer("/spec/replicas") {
            None | Some(Value::Null) => 0,
            Some(v) => match v.as_i64().filter(|r| (0..=i64::from(i32::MAX)).contains(r)) {
                Some(r) => r,
                None => {
                    let why = format!(
                        "spec.replicas: Invalid value: {v}: must be greater than or equal to 0"
                    );
                    return responses::invalid(def, name, &why);
                }
            },
        };
        let read = current.rv.to_string();
        let given = wanted
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|rv| !rv.is_empty())
            .map(str::to_string);
        let explicit = given.as_ref().is_some_and(|rv| *rv != read);
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("replicas".into(), json!(replicas));
        }
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(given.unwrap_or(read)));
        }
        match ctx.store.update_with(obj, !params.dry_run) {
            Ok(stored) => {
                let body = scale_of(&stored.to_value()).to_string();
                return responses::json_response(StatusCode::OK, body);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view() {
        let d = json!({"metadata": {"name": "d", "namespace": "n", "resourceVersion": "4"},
                       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d", "tier": "x"}}},
                       "status": {"replicas": 1}});
        let s = scale_of(&d);
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(
            s["status"],
            json!({"replicas": 1, "selector": "app=d,tier=x"})
        );
        assert_eq!(s["metadata"]["resourceVersion"], "4");
    }
}
