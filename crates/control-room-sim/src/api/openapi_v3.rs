//! A minimal `/openapi/v3`. kubectl's default validation only asks one thing of it: does each
//! kind's PATCH operation take a `fieldValidation` query parameter? With a yes, kubectl sends
//! `fieldValidation=Strict` and leaves validation to the server instead of downloading schemas.
//! So each group-version document lists, per resource, its operations with
//! `x-kubernetes-group-version-kind` and the write parameters, and no schemas.
//!
//! The PATCH request bodies deliberately do not list `application/strategic-merge-patch+json`:
//! without schemas kubectl could not compute a strategic patch from them, and falls back to
//! its compiled-in types (built-ins) or a JSON merge patch (custom resources) exactly as when a
//! real server's schema lacks the media type.

use serde_json::{Map, Value, json};

use crate::api::discovery;
use crate::store::ClusterStore;
use crate::store::crds;
use crate::store::ids::{IdGen, fnv1a};
use crate::store::resources::{GROUPS, RESOURCES, ResourceDef};

/// `api/v1`, `apis/apps/v1`.
fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn served_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut all = vec![("", "v1")];
    all.extend(GROUPS.iter().copied());
    all
}

/// `GET /openapi/v3`: the group-versions the cluster serves now.
pub fn root(store: &ClusterStore) -> Value {
    let mut paths = Map::new();
    for (group, version) in served_group_versions() {
        let key = gv_key(group, version);
        let Some(doc) = group_version(store, &key) else {
            continue;
        };
        // Any stable digest works: clients only use it to key their cache.
        let hash = IdGen::new(fnv1a(doc.to_string().as_bytes()))
            .hex(32)
            .to_uppercase();
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/{key}` for a served group-version, None otherwise.
pub fn group_version(store: &ClusterStore, key: &str) -> Option<Value> {
    let (group, version) = match key.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return None,
    };
    let resources: Vec<&ResourceDef> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .filter(|r| crds::served(store, r))
        .collect();
    if resources.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for r in resources {
        let base = if r.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}",
                gv_key(group, version),
                r.plural
            )
        } else {
            format!("/{}/{}", gv_key(group, version), r.plural)
        };
        paths.insert(
            base.clone(),
            json!({
                "get": operation(r, "list", &[]),
                "post": operation(r, "post", &["dryRun", "fieldManager", "fieldValidation"]),
                "delete": operation(r, "deletecollection", &["dryRun"]),
            }),
        );
        let mut patch = operation(
            r,
            "patch",
            &["dryRun", "fieldManager", "fieldValidation", "force"],
        );
        patch["requestBody"] = json!({
            "required": true,
            "content": {
                "application/json-patch+json": {"schema": {"type": "object"}},
                "application/merge-patch+json": {"schema": {"type": "object"}},
                "application/apply-patch+yaml": {"schema": {"type": "object"}},
            },
        });
        paths.insert(
            format!("{base}/{{name}}"),
            json!({
                "get": operation(r, "get", &[]),
                "put": operation(r, "put", &["dryRun", "fieldManager", "fieldValidation"]),
                "patch": patch,
                "delete": operation(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": discovery::version_info()["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

fn operation(r: &ResourceDef, action: &str, query_params: &[&str]) -> Value {
    let parameters: Vec<Value> = query_params
        .iter()
        .map(|name| {
            let ty = if *name == "force" {
                "boolean"
            } else {
                "string"
            };
            json!({"name": name, "in": "query", "schema": {"type": ty, "uniqueItems": true}})
        })
        .collect();
    json!({
        "operationId": format!("{action}{}", r.kind),
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_lists_every_group_version_and_docs_carry_field_validation() {
        let store = ClusterStore::new("test", 10);
        for def in crds::custom_kinds() {
            store
                .create(crds::crd_object(def, &serde_json::json!({})))
                .unwrap();
        }
        let root = root(&store);
        let paths = root["paths"].as_object().unwrap();
        for key in [
            "api/v1",
            "apis/apps/v1",
            "apis/security.istio.io/v1",
            "apis/gateway.networking.k8s.io/v1",
        ] {
            let url = paths[key]["serverRelativeURL"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("/openapi/v3/{key}?hash=")),
                "{url}"
            );
        }
        let doc = group_version(&store, "apis/security.istio.io/v1").unwrap();
        let item = &doc["paths"]["/apis/security.istio.io/v1/namespaces/{namespace}/authorizationpolicies/{name}"];
        assert_eq!(
            item["patch"]["x-kubernetes-group-version-kind"]["kind"],
            "AuthorizationPolicy"
        );
        assert!(
            item["patch"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(group_version(&store, "apis/nope/v1").is_none());
        assert!(
            group_version(&store, "api/v1").unwrap()["paths"]["/api/v1/nodes/{name}"].is_object()
        );
        assert!(group_version(&ClusterStore::new("t", 1), "apis/kagent.dev/v1alpha2").is_none());
    }
}
