//! Create, replace and delete over HTTP, with the checks and defaults a real API server applies
//! before anything reaches storage. PATCH is in `patch`; `/scale` in `subresource`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::api::query::{ListOptions, Query};
use crate::api::request::{self, BodyError, DeleteParams, Propagation, WriteParams};
use crate::api::responses;
use crate::api::router::{ServerCtx, list_body};
use crate::store::owners;
use crate::store::resources::ResourceDef;
use crate::store::selector::{FieldSelector, LabelSelector};
use crate::store::stored::Stored;
use crate::store::{KindId, StoreError, timestamp};

/// Which part of an object a write may change: the object itself (its `status` is kept, as
/// every real registry with a status subresource does) or only `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// Metadata only the server sets: dropped from what a client creates.
const SYSTEM_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// Kinds whose DELETE answers with the object rather than a `Status` (the registries with
/// `ReturnDeletedObject`).
fn returns_deleted_object(def: &ResourceDef) -> bool {
    def.group.is_empty() && matches!(def.kind, "Pod" | "Service" | "Namespace")
}

fn name_in(map: &Map<String, Value>) -> &str {
    map.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Make the body agree with the path: `apiVersion`, `kind` and the namespace default to the
/// path's and must not contradict it (422); the name must match the URL's (400, as on a real
/// server) or, on create, be given directly or through `generateName` (422).
pub fn check_identity(
    def: &ResourceDef,
    namespace: Option<&str>,
    name: Option<&str>,
    obj: Value,
) -> Result<Map<String, Value>, Box<Response>> {
    let Value::Object(mut map) = obj else {
        return Err(responses::bad_request("the object provided is not a JSON object").into());
    };
    let expected = [
        ("apiVersion", def.api_version()),
        ("kind", def.kind.to_string()),
    ];
    for (field, want) in expected {
        match map.get(field) {
            None | Some(Value::Null) => {
                map.insert(field.into(), Value::from(want));
            }
            Some(Value::String(given)) if given.is_empty() => {
                map.insert(field.into(), Value::from(want));
            }
            Some(Value::String(given)) if *given == want => {}
            Some(given) => {
                let why = format!("{field}: Invalid value: {given}: must be {want}");
                return Err(responses::invalid(def, name_in(&map), &why).into());
            }
        }
    }
    if !map.get("metadata").is_none_or(Value::is_object) {
        return Err(responses::bad_request("metadata must be a JSON object").into());
    }
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(responses::bad_request("metadata must be a JSON object").into());
    };
    if def.namespaced {
        let path_ns = namespace.unwrap_or("");
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("namespace".into(), Value::from(path_ns));
            }
            Some(given) if given == path_ns => {}
            Some(given) => {
                let why = format!(
                    "metadata.namespace: Invalid value: {given:?}: the namespace of the provided object does not match the namespace sent on the request"
                );
                let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
                return Err(responses::invalid(def, name, &why).into());
            }
        }
    } else {
        meta.remove("namespace");
    }
    let given = meta.get("name").and_then(Value::as_str).unwrap_or("");
    match name {
        Some(path_name) if given.is_empty() => {
            meta.insert("name".into(), Value::from(path_name));
        }
        Some(path_name) if given != path_name => {
            let why = format!(
                "the name of the object ({given}) does not match the name on the URL ({path_name})"
            );
            return Err(responses::bad_request(&why).into());
        }
        Some(_) => {}
        None => {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if given.is_empty() && prefix.is_empty() {
                let why = "metadata.name: Required value: name or generateName is required";
                return Err(responses::invalid(def, "", why).into());
            }
        }
    }
    Ok(map)
}

fn meta_mut(map: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let entry = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(meta) => meta,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// Server-owned fields off, status reset, and the defaults the simulated controllers rely on.
fn prepare_create(def: &ResourceDef, map: &mut Map<String, Value>) {
    let meta = meta_mut(map);
    for key in SYSTEM_METADATA {
        meta.remove(*key);
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    map.remove("status");
    match (def.group, def.kind) {
        ("", "Pod") => {
            map.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        ("", "Namespace") => {
            let labels = meta_mut(map).entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                spec.entry("finalizers")
                    .or_insert_with(|| json!(["kubernetes"]));
            }
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        ("", "Service") => {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
        ("apps", "Deployment") => default_deployment(map),
        ("apps", "ReplicaSet") => {
            if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert_with(|| json!(1));
            }
        }
        _ => {}
    }
}

/// The Deployment defaults rollouts depend on (apps/v1 defaulting).
fn default_deployment(map: &mut Map<String, Value>) {
    let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.entry("replicas").or_insert_with(|| json!(1));
    spec.entry("revisionHistoryLimit")
        .or_insert_with(|| json!(10));
    spec.entry("progressDeadlineSeconds")
        .or_insert_with(|| json!(600));
    let strategy = spec
        .entry("strategy")
        .or_insert_with(|| json!({"type": "RollingUpdate"}));
    if let Some(strategy) = strategy.as_object_mut() {
        strategy
            .entry("type")
            .or_insert_with(|| json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
            if let Some(rolling) = rolling.as_object_mut() {
                rolling.entry("maxSurge").or_insert_with(|| json!("25%"));
                rolling
                    .entry("maxUnavailable")
                    .or_insert_with(|| json!("25%"));
            }
        }
    }
}

/// Carry over what a client may not change through `part`.
pub fn prepare_update(part: Part, old: &Value, new: &mut Map<String, Value>) {
    match part {
        Part::Main => match old.get("status") {
            Some(status) => {
                new.insert("status".into(), status.clone());
            }
            None => {
                new.remove("status");
            }
        },
        Part::Status => {
            let status = new.remove("status");
            let rv = new
                .get("metadata")
                .and_then(|m| m.get("resourceVersion"))
                .cloned();
            *new = old.as_object().cloned().unwrap_or_default();
            match status {
                Some(status) => new.insert("status".into(), status),
                None => new.remove("status"),
            };
            match rv {
                Some(rv) => meta_mut(new).insert("resourceVersion".into(), rv),
                None => meta_mut(new).remove("resourceVersion"),
            };
        }
    }
    let old_meta = old.get("metadata");
    let meta = meta_mut(new);
    for key in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        match old_meta.and_then(|m| m.get(key)) {
            Some(v) => meta.insert(key.into(), v.clone()),
            None => meta.remove(key),
        };
    }
}

/// The one field check the simulated controllers depend on: `spec.replicas` is an int32 ≥ 0.
pub fn validate(def: &ResourceDef, map: &Map<String, Value>) -> Result<(), Box<Response>> {
    if !matches!((def.group, def.kind), ("apps", "Deployment" | "ReplicaSet")) {
        return Ok(());
    }
    match map.get("spec").and_then(|s| s.get("replicas")) {
        None | Some(Value::Null) => Ok(()),
        Some(v)
            if v.as_i64()
                .is_some_and(|r| (0..=i64::from(i32::MAX)).contains(&r)) =>
        {
            Ok(())
        }
        Some(v) => {
            let why =
                format!("spec.replicas: Invalid value: {v}: must be greater than or equal to 0");
            Err(responses::invalid(def, name_in(map), &why).into())
        }
    }
}

/// 404 `namespaces "x" not found` when a namespaced object is written into a namespace that
/// does not exist (the NamespaceLifecycle admission check).
fn missing_namespace(
    ctx: &ServerCtx,
    def: &ResourceDef,
    namespace: Option<&str>,
) -> Option<Response> {
    let ns = namespace.filter(|_| def.namespaced)?;
    if ctx.store.get("v1", "Namespace", None, ns).is_some() {
        return None;
    }
    Some(responses::error_response(
        404,
        "NotFound",
        &format!("namespaces \"{ns}\" not found"),
        Some(json!({"name": ns, "kind": "namespaces"})),
    ))
}

fn params_or_400(query: &Query) -> Result<WriteParams, Box<Response>> {
    WriteParams::from_query(query).map_err(|m| responses::bad_request(&m).into())
}

fn body_or_error(content_type: Option<&str>, body: &[u8]) -> Result<Value, Box<Response>> {
    request::object_body(content_type, body).map_err(|e| {
        let response = match e {
            BodyError::Unsupported => responses::error_response(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
                None,
            ),
            BodyError::Malformed(m) => responses::bad_request(&m),
        };
        Box::new(response)
    })
}

/// `POST` on a collection.
pub fn create(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    query: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let run = || -> Result<Response, Box<Response>> {
        let params = params_or_400(query)?;
        let obj = body_or_error(content_type, body)?;
        let map = check_identity(def, namespace, None, obj)?;
        Ok(create_checked(ctx, def, namespace, map, params.dry_run))
    };
    run().unwrap_or_else(|r| *r)
}

/// Store an object whose identity has been checked: 201 with what was stored.
pub fn create_checked(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    mut map: Map<String, Value>,
    dry_run: bool,
) -> Response {
    if let Some(response) = missing_namespace(ctx, def, namespace) {
        return response;
    }
    prepare_create(def, &mut map);
    if let Err(response) = validate(def, &map) {
        return *response;
    }
    match ctx.store.create_with(Value::Object(map), !dry_run) {
        Ok(stored) => responses::json_response(StatusCode::CREATED, stored.typed_json()),
        Err(err) => responses::store_error(def, &err),
    }
}

/// `PUT` on an object (or its `/status`).
#[allow(clippy::too_many_arguments)]
pub fn replace(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    name: &str,
    part: Part,
    query: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let run = || -> Result<Response, Box<Response>> {
        let params = params_or_400(query)?;
        let obj = body_or_error(content_type, body)?;
        let mut map = check_identity(def, namespace, Some(name), obj)?;
        let (kind, _) = ctx.store.kind_for(def);
        let Some(old) = ctx.store.get_stored(kind, namespace.unwrap_or(""), name) else {
            return Err(responses::not_found_in(def, name).into());
        };
        prepare_update(part, &old.to_value(), &mut map);
        validate(def, &map)?;
        let stored = ctx
            .store
            .update_with(Value::Object(map), !params.dry_run)
            .map_err(|e| Box::new(responses::store_error(def, &e)))?;
        Ok(updated(ctx, def, kind, stored, params.dry_run))
    };
    run().unwrap_or_else(|r| *r)
}

/// The answer to a successful update. An object that was waiting for its finalizers and has
/// none left goes now (pods wait for their kubelet instead).
pub fn updated(
    ctx: &ServerCtx,
    def: &ResourceDef,
    kind: KindId,
    stored: std::sync::Arc<Stored>,
    dry_run: bool,
) -> Response {
    if !dry_run && def.kind != "Pod" {
        let value = stored.to_value();
        let terminating = value.pointer("/metadata/deletionTimestamp").is_some();
        if terminating && !has_finalizers(&value) {
            let pre = Default::default();
            if let Ok(gone) =
                ctx.store
                    .delete_stored(kind, &stored.namespace, &stored.name, &pre, true)
            {
                return responses::json_response(StatusCode::OK, gone.typed_json());
            }
        }
    }
    responses::json_response(StatusCode::OK, stored.typed_json())
}

fn has_finalizers(value: &Value) -> bool {
    value
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

/// How a delete went.
enum Deletion {
    /// Removed from the store; its last state.
    Gone(std::sync::Arc<Stored>),
    /// Marked with `deletionTimestamp`: a pod waiting for its kubelet, or an object waiting
    /// for its finalizers.
    Terminating(std::sync::Arc<Stored>),
}

fn delete_object(
    ctx: &ServerCtx,
    def: &ResourceDef,
    kind: KindId,
    current: &std::sync::Arc<Stored>,
    opts: &DeleteParams,
) -> Result<Deletion, StoreError> {
    let mut value = current.to_value();
    let scheduled = value
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let graceful_pod = def.group.is_empty()
        && def.kind == "Pod"
        && scheduled
        && opts.grace_period.is_none_or(|g| g > 0);
    if graceful_pod || has_finalizers(&value) {
        opts.preconditions.check(&value, current.rv)?;
        if value.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Deletion::Terminating(current.clone()));
        }
        let grace = if graceful_pod {
            opts.grace_period
                .or_else(|| {
                    value
                        .pointer("/spec/terminationGracePeriodSeconds")
                        .and_then(Value::as_i64)
                })
                .unwrap_or(30)
        } else {
            0
        };
        let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("deletionTimestamp".into(), json!(timestamp(at)));
            meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
            meta.insert("resourceVersion".into(), json!(current.rv.to_string()));
        }
        let stored = ctx.store.update_with(value, !opts.dry_run)?;
        return Ok(Deletion::Terminating(stored));
    }
    if opts.propagation == Propagation::Orphan
        && !opts.dry_run
        && let Some(uid) = owners::uid_of(&value)
    {
        owners::orphan_dependents(&ctx.store, &current.namespace, uid);
    }
    let gone = ctx.store.delete_stored(
        kind,
        &current.namespace,
        &current.name,
        &opts.preconditions,
        !opts.dry_run,
    )?;
    Ok(Deletion::Gone(gone))
}

/// `DELETE` on an object.
pub fn delete_one(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    name: &str,
    query: &Query,
    body: &[u8],
) -> Response {
    let opts = match DeleteParams::parse(query, body) {
        Ok(o) => o,
        Err(m) => return responses::bad_request(&m),
    };
    let (kind, _) = ctx.store.kind_for(def);
    let Some(current) = ctx.store.get_stored(kind, namespace.unwrap_or(""), name) else {
        return responses::not_found_in(def, name);
    };
    match delete_object(ctx, def, kind, &current, &opts) {
        Ok(Deletion::Terminating(stored)) => {
            responses::json_response(StatusCode::OK, stored.typed_json())
        }
        Ok(Deletion::Gone(stored)) if returns_deleted_object(def) => {
            responses::json_response(StatusCode::OK, stored.typed_json())
        }
        Ok(Deletion::Gone(stored)) => {
            let value = stored.to_value();
            responses::deleted(def, name, owners::uid_of(&value))
        }
        Err(err) => responses::store_error(def, &err),
    }
}

/// `DELETE` on a collection: everything the selectors match, answered with the list of what
/// was deleted (or marked for deletion).
pub fn delete_collection(
    ctx: &ServerCtx,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    query: &Query,
    body: &[u8],
) -> Response {
    let run = || -> Result<Response, String> {
        let opts = DeleteParams::parse(query, body)?;
        let list = ListOptions::from_query(query)?;
        let labels = LabelSelector::parse(&list.label_selector)?;
        let fields = FieldSelector::parse(&list.field_selector, def.kind)?;
        let (kind, info) = ctx.store.kind_for(def);
        let (objects, _) = ctx.store.snapshot(kind, namespace, None);
        let mut items = Vec::new();
        for obj in objects
            .iter()
            .filter(|o| labels.matches(o) && fields.matches(o))
        {
            match delete_object(ctx, def, kind, obj, &opts) {
                Ok(Deletion::Gone(s) | Deletion::Terminating(s)) => items.push(s),
                // Deleted meanwhile by someone else: nothing left to report.
                Err(StoreError::NotFound { .. }) => {}
                Err(err) => tracing::debug!(%err, name = %obj.name, "deletecollection skipped"),
            }
        }
        let rv = ctx.store.resource_version();
        let refs: Vec<&std::sync::Arc<Stored>> = items.iter().collect();
        let body = list_body(
            &format!("{}List", def.kind),
            &info.api_version,
            &json!({"resourceVersion": rv.to_string()}),
            &refs,
        );
        Ok(responses::json_response(StatusCode::OK, body))
    };
    run().unwrap_or_else(|m| responses::bad_request(&m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::resources::lookup_kind;

    fn def(api_version: &str, kind: &str) -> &'static ResourceDef {
        lookup_kind(api_version, kind).unwrap()
    }

    #[test]
    fn identity_defaults_and_mismatches() {
        let ap = def("security.istio.io/v1", "AuthorizationPolicy");
        let map = check_identity(ap, Some("ns"), None, json!({"metadata": {"name": "a"}})).unwrap();
        assert_eq!(map["kind"], "AuthorizationPolicy");
        assert_eq!(map["apiVersion"], "security.istio.io/v1");
        assert_eq!(map["metadata"]["namespace"], "ns");
        let code = |r: Box<Response>| r.status().as_u16();
        let err = |obj: Value| check_identity(ap, Some("ns"), None, obj).unwrap_err();
        assert_eq!(
            code(err(json!({"kind": "Pod", "metadata": {"name": "a"}}))),
            422
        );
        assert_eq!(
            code(err(json!({"apiVersion": "v1", "metadata": {"name": "a"}}))),
            422
        );
        assert_eq!(
            code(err(
                json!({"metadata": {"name": "a", "namespace": "other"}})
            )),
            422
        );
        assert_eq!(code(err(json!({"metadata": {}}))), 422);
        assert_eq!(code(err(json!([]))), 400);
        assert!(
            check_identity(
                ap,
                Some("ns"),
                None,
                json!({"metadata": {"generateName": "a-"}})
            )
            .is_ok()
        );
        let put = check_identity(
            ap,
            Some("ns"),
            Some("b"),
            json!({"metadata": {"name": "a"}}),
        );
        assert_eq!(code(put.unwrap_err()), 400);
        let ns = def("v1", "Namespace");
        let map = check_identity(
            ns,
            None,
            None,
            json!({"metadata": {"name": "x", "namespace": "y"}}),
        )
        .unwrap();
        assert!(map["metadata"].get("namespace").is_none());
    }

    #[test]
    fn create_resets_system_fields_and_defaults_deployments() {
        let mut map = json!({"metadata": {"name": "d", "uid": "u", "resourceVersion": "9"},
                             "spec": {"template": {}}, "status": {"replicas": 3}})
        .as_object()
        .cloned()
        .unwrap();
        prepare_create(def("apps/v1", "Deployment"), &mut map);
        assert!(map["metadata"].get("uid").is_none());
        assert!(map.get("status").is_none());
        assert_eq!(map["spec"]["replicas"], 1);
        assert_eq!(map["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    }

    #[test]
    fn updates_keep_status_or_only_change_it() {
        let old = json!({"metadata": {"name": "d", "deletionTimestamp": "t"}, "spec": {"a": 1}, "status": {"s": 1}});
        let mut new = json!({"metadata": {"name": "d", "resourceVersion": "5"}, "spec": {"a": 2}, "status": {"s": 2}})
            .as_object()
            .cloned()
            .unwrap();
        prepare_update(Part::Main, &old, &mut new.clone());
        let mut main = new.clone();
        prepare_update(Part::Main, &old, &mut main);
        assert_eq!(main["status"]["s"], 1);
        assert_eq!(main["spec"]["a"], 2);
        assert_eq!(main["metadata"]["deletionTimestamp"], "t");
        prepare_update(Part::Status, &old, &mut new);
        assert_eq!(new["status"]["s"], 2);
        assert_eq!(new["spec"]["a"], 1);
        assert_eq!(new["metadata"]["resourceVersion"], "5");
    }
}
