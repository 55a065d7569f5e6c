//! Strategic merge patch (`application/strategic-merge-patch+json`) for the built-in kinds, as
//! apimachinery's `strategicpatch` applies it: lists of containers, env, volumes… merge by
//! key instead of being replaced, and the `$patch`, `$retainKeys`, `$setElementOrder/…` and
//! `$deleteFromPrimitiveList/…` directives do what they do there.
//!
//! The merge keys come from a small table rather than from OpenAPI schemas: the simulator
//! only serves a handful of kinds, and kubectl only relies on the keys listed here.

use serde_json::{Map, Value};

/// Why a strategic merge patch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmpError {
    /// The patch is malformed (400).
    BadRequest(String),
    /// The patch cannot be applied to this object (422).
    Invalid(String),
}

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// Replaced by the patch's list.
    Atomic,
    /// Maps matched on this key.
    Keyed(&'static str),
    /// Scalars; the patch's are added to the set.
    Set,
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// The `patchMergeKey`/`patchStrategy` tags of the Kubernetes API types the simulator serves.
/// `parent` is the field the list sits in (a container's `ports` merge on `containerPort`, a
/// Service's on `port`).
fn list_kind(kind: &str, parent: Option<&str>, field: &str) -> ListKind {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => ListKind::Keyed("name"),
        "volumeMounts" => ListKind::Keyed("mountPath"),
        "volumeDevices" => ListKind::Keyed("devicePath"),
        "hostAliases" => ListKind::Keyed("ip"),
        "topologySpreadConstraints" => ListKind::Keyed("topologyKey"),
        "ownerReferences" => ListKind::Keyed("uid"),
        "conditions" => ListKind::Keyed("type"),
        "finalizers" if parent == Some("metadata") => ListKind::Set,
        "ports"
            if matches!(
                parent,
                Some("containers" | "initContainers" | "ephemeralContainers")
            ) =>
        {
            ListKind::Keyed("containerPort")
        }
        "ports" if kind == "Service" && parent == Some("spec") => ListKind::Keyed("port"),
        _ => ListKind::Atomic,
    }
}

/// Apply `patch` to `original`, an object of kind `kind`.
pub fn apply(kind: &str, original: &Value, patch: &Value) -> Result<Value, SmpError> {
    let Value::Object(patch) = patch else {
        return Err(SmpError::BadRequest(
            "a strategic merge patch must be a JSON object".into(),
        ));
    };
    let original = original.as_object().cloned().unwrap_or_default();
    let merged = merge_map(kind, &mut Vec::new(), original, patch)?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

fn bad(message: impl Into<String>) -> SmpError {
    SmpError::BadRequest(message.into())
}

/// Merge one map; `None` means the patch deleted it (`$patch: delete`).
fn merge_map(
    kind: &str,
    path: &mut Vec<String>,
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, SmpError> {
    match patch.get(PATCH) {
        None => {}
        Some(Value::String(directive)) => match directive.as_str() {
            "delete" => return Ok(None),
            "replace" => {
                let mut rest = patch.clone();
                rest.remove(PATCH);
                return merge_map(kind, path, Map::new(), &rest)
                    .map(|m| Some(m.unwrap_or_default()));
            }
            "merge" => {}
            other => return Err(bad(format!("unknown patch type: {other:?}"))),
        },
        Some(other) => return Err(bad(format!("unknown patch type: {other}"))),
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        retain_keys(&mut original, patch, retain)?;
    }
    for (key, values) in patch {
        if let Some(field) = key.strip_prefix(DELETE_PRIMITIVE) {
            let Value::Array(values) = values else {
                return Err(bad(format!("{key} must be a list")));
            };
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|v| !values.contains(v));
            }
        }
    }
    // Lists that $setElementOrder reorders afterwards, as the server had them.
    let server_lists: Vec<(String, Vec<Value>)> = patch
        .keys()
        .filter_map(|k| k.strip_prefix(SET_ORDER))
        .map(|field| {
            let list = match original.get(field) {
                Some(Value::Array(list)) => list.clone(),
                _ => Vec::new(),
            };
            (field.to_string(), list)
        })
        .collect();

    let parent = path.last().cloned();
    for (key, value) in patch.iter().filter(|(k, _)| !k.starts_with('$')) {
        if value.is_null() {
            original.remove(key);
            continue;
        }
        let lists = list_kind(kind, parent.as_deref(), key);
        path.push(key.clone());
        let merged = match (original.remove(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                merge_map(kind, path, o, p).map(|m| m.map(Value::Object))
            }
            (_, Value::Object(p)) => {
                merge_map(kind, path, Map::new(), p).map(|m| m.map(Value::Object))
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                merge_list(kind, path, lists, o, p).map(Some)
            }
            (_, Value::Array(p)) => merge_list(kind, path, lists, Vec::new(), p).map(Some),
            (_, other) => Ok(Some(other.clone())),
        };
        path.pop();
        if let Some(v) = merged? {
            original.insert(key.clone(), v);
        }
    }

    for (field, server) in server_lists {
        let Some(Value::Array(order)) = patch.get(&format!("{SET_ORDER}{field}")) else {
            return Err(bad(format!("{SET_ORDER}{field} must be a list")));
        };
        let key = match list_kind(kind, parent.as_deref(), &field) {
            ListKind::Keyed(key) => Some(key),
            ListKind::Set => None,
            // Order is meaningless to replace-lists: the patch's order already won.
            ListKind::Atomic => continue,
        };
        if let Some(Value::Array(list)) = original.remove(&field) {
            let order: Vec<Value> = order.iter().map(|o| identity(o, key)).collect();
            let reordered = normalize(list, &order, &server, key);
            original.insert(field, Value::Array(reordered));
        }
    }
    Ok(Some(original))
}

/// `$retainKeys`: the patch may only mention listed keys; original keys not listed go.
fn retain_keys(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
) -> Result<(), SmpError> {
    let Value::Array(keys) = retain else {
        return Err(bad("$retainKeys must be a list of strings"));
    };
    let keys: Vec<&str> = keys
        .iter()
        .map(|k| {
            k.as_str()
                .ok_or_else(|| bad("$retainKeys must be a list of strings"))
        })
        .collect::<Result<_, _>>()?;
    for (key, value) in patch {
        if !key.starts_with('$') && !value.is_null() && !keys.contains(&key.as_str()) {
            return Err(bad(format!(
                "doesn't match $retainKeys: {key:?} is not in the list"
            )));
        }
    }
    original.retain(|k, _| keys.contains(&k.as_str()));
    Ok(())
}

fn merge_list(
    kind: &str,
    path: &mut Vec<String>,
    lists: ListKind,
    original: Vec<Value>,
    patch: &[Value],
) -> Result<Value, SmpError> {
    match lists {
        ListKind::Atomic => Ok(Value::Array(patch.to_vec())),
        ListKind::Set => {
            let server = original.clone();
            let mut merged = original;
            for v in patch {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            Ok(Value::Array(normalize(merged, patch, &server, None)))
        }
        ListKind::Keyed(key) => merge_keyed(kind, path, key, original, patch),
    }
}

fn merge_keyed(
    kind: &str,
    path: &mut Vec<String>,
    key: &'static str,
    mut merged: Vec<Value>,
    patch: &[Value],
) -> Result<Value, SmpError> {
    let server: Vec<Value> = merged.iter().map(|o| identity(o, Some(key))).collect();
    let mut replace = false;
    let mut items = Vec::new();
    for element in patch {
        let Value::Object(map) = element else {
            return Err(bad(format!(
                "{} is a list of objects merged on {key:?}; got {element}",
                path.last().map_or("", String::as_str)
            )));
        };
        match map.get(PATCH).map(|d| d.as_str()) {
            None => items.push(map),
            Some(Some("delete")) => {
                let value = map.get(key).ok_or_else(|| no_key(map, key))?;
                merged.retain(|o| o.get(key) != Some(value));
            }
            Some(Some("replace")) => replace = true,
            Some(Some("merge")) => {
                return Err(bad("merging lists cannot yet be specified in the patch"));
            }
            Some(_) => return Err(bad(format!("unknown patch type in {element}"))),
        }
    }
    if replace {
        let mut out = Vec::with_capacity(items.len());
        for map in items {
            if let Some(m) = merge_map(kind, path, Map::new(), map)? {
                out.push(Value::Object(m));
            }
        }
        return Ok(Value::Array(out));
    }
    let mut order = Vec::with_capacity(items.len());
    for map in items {
        let value = map.get(key).ok_or_else(|| no_key(map, key))?;
        order.push(value.clone());
        match merged.iter().position(|o| o.get(key) == Some(value)) {
            Some(i) => {
                let existing = match merged[i].take() {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                match merge_map(kind, path, existing, map)? {
                    Some(m) => merged[i] = Value::Object(m),
                    None => {
                        merged.remove(i);
                    }
                }
            }
            None => {
                if let Some(m) = merge_map(kind, path, Map::new(), map)? {
                    merged.push(Value::Object(m));
                }
            }
        }
    }
    Ok(Value::Array(normalize(merged, &order, &server, Some(key))))
}

fn no_key(map: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::Invalid(format!(
        "map: {} does not contain declared merge key: {key}",
        Value::Object(map.clone())
    ))
}

/// What identifies a list element: its merge key's value, or the scalar itself.
fn identity(element: &Value, key: Option<&str>) -> Value {
    match key {
        Some(key) => element.get(key).cloned().unwrap_or(Value::Null),
        None => element.clone(),
    }
}

/// strategicpatch's `normalizeElementOrder`: elements the patch names come in the patch's
/// order, the others keep the server's order, and the two are interleaved by server position.
fn normalize(
    merged: Vec<Value>,
    order: &[Value],
    server: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let position = |list: &[Value], v: &Value| list.iter().position(|x| x == v);
    let (mut named, mut others): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|e| position(order, &identity(e, key)).is_some());
    named.sort_by_key(|e| position(order, &identity(e, key)));
    others.sort_by_key(|e| position(server, &identity(e, key)).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(named.len() + others.len());
    let (mut left, mut right) = (named.into_iter().peekable(), others.into_iter().peekable());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    position(server, &identity(l, key)),
                    position(server, &identity(r, key)),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "d", "finalizers": ["a", "b", "c"], "labels": {"app": "d"}},
               "spec": {"replicas": 1,
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                        "template": {"spec": {"containers": [
                            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
                             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                            {"name": "sidecar", "image": "side:1"}]}}}})
    }

    fn smp(patch: Value) -> Value {
        apply("Deployment", &deployment(), &patch).unwrap()
    }

    #[test]
    fn set_image_merges_by_name_and_keeps_order() {
        let out = smp(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"image": "app:2", "name": "app"}]}}}}));
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "app:2");
        assert_eq!(containers[0]["env"][0]["value"], "1");
        assert_eq!(containers[1]["name"], "sidecar");
        assert_eq!(out["spec"]["replicas"], 1);
    }

    #[test]
    fn set_element_order_reorders() {
        let out = smp(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}}}}));
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["name"], "sidecar");
        assert_eq!(containers[1]["name"], "app");
    }

    #[test]
    fn new_elements_go_last_and_nested_lists_merge() {
        let out = smp(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "third", "image": "t:1"}]}}}}));
        let containers = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = containers
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["app", "sidecar", "third"]);
        assert_eq!(containers[0]["env"].as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["ports"][0]["name"], "http");
        assert_eq!(containers[0]["ports"][0]["protocol"], "TCP");
    }

    #[test]
    fn patch_directives_delete_and_replace() {
        let out = smp(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"}]}}}}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let out = smp(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "o:1"}, {"$patch": "replace"}]}}}}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "o:1"}])
        );
        let out = smp(json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let out = smp(json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert!(out["metadata"].get("labels").is_none());
        assert!(matches!(
            apply(
                "Deployment",
                &deployment(),
                &json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}})
            ),
            Err(SmpError::Invalid(_))
        ));
        assert!(matches!(
            apply(
                "Deployment",
                &deployment(),
                &json!({"spec": {"$patch": "sideways"}})
            ),
            Err(SmpError::BadRequest(_))
        ));
    }

    #[test]
    fn retain_keys_and_primitive_lists() {
        let out = smp(
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert!(matches!(
            apply(
                "Deployment",
                &deployment(),
                &json!({"spec": {"strategy": {"$retainKeys": ["type"], "other": 1}}})
            ),
            Err(SmpError::BadRequest(_))
        ));
        let out = smp(json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
        let out = smp(json!({"metadata": {"finalizers": ["d", "a"]}}));
        // The patch's elements in its order, after the server's others (as strategicpatch does).
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "c", "d", "a"]));
        // Lists without a merge key are replaced; null deletes.
        let out = smp(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "args": ["x"]}]}}, "replicas": null}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["x"])
        );
        assert!(out["spec"].get("replicas").is_none());
    }

    #[test]
    fn service_ports_merge_on_port() {
        let svc = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
        let out = apply(
            "Service",
            &svc,
            &json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
        )
        .unwrap();
        assert_eq!(out["spec"]["ports"].as_array().unwrap().len(), 2);
        assert_eq!(out["spec"]["ports"][1]["targetPort"], 8443);
    }
}
