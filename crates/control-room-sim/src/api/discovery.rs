//! The discovery documents (`/version`, `/api`, `/apis`, `APIResourceList`s) built from the
//! resource table in [`crate::store::resources`]: the built-in kinds, and the custom kinds
//! whose CRD the cluster holds right now ([`crds::served`]).

use serde_json::{Value, json};

use crate::store::ClusterStore;
use crate::store::crds;
use crate::store::resources::{GROUPS, RESOURCES, ResourceDef};

/// The kinds of `group`/`version` the cluster serves now.
fn served_in<'a>(
    store: &'a ClusterStore,
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceDef> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
        .filter(move |r| crds::served(store, r))
}

/// Whether any kind of the group-version is served now (an unserved group is not listed).
pub fn group_served(store: &ClusterStore, group: &str, version: &str) -> bool {
    served_in(store, group, version).next().is_some()
}

/// `GET /version`. The minor version matters: kubectl's dispatcher picks its binary from it.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.1",
        "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T08:19:08Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `GET /api`.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ]
    })
}

fn group_doc(name: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    json!({
        "name": name,
        "versions": [gv.clone()],
        "preferredVersion": gv
    })
}

/// `GET /apis`.
pub fn api_group_list(store: &ClusterStore) -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .filter(|(g, v)| group_served(store, g, v))
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, or None for a group we do not serve.
pub fn api_group(store: &ClusterStore, group: &str) -> Option<Value> {
    let (name, version) = GROUPS
        .iter()
        .find(|(g, v)| *g == group && group_served(store, g, v))?;
    let mut doc = group_doc(name, version);
    if let Some(map) = doc.as_object_mut() {
        map.insert("kind".into(), json!("APIGroup"));
        map.insert("apiVersion".into(), json!("v1"));
    }
    Some(doc)
}

/// `GET /api/v1` (group "") or `GET /apis/{group}/{version}`; None when nothing is served there.
pub fn api_resource_list(store: &ClusterStore, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = served_in(store, group, version)
        .flat_map(|r| {
            let mut doc = json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": r.verbs,
            });
            if let Some(map) = doc.as_object_mut() {
                if !r.short_names.is_empty() {
                    map.insert("shortNames".into(), json!(r.short_names));
                }
                if !r.categories.is_empty() {
                    map.insert("categories".into(), json!(r.categories));
                }
            }
            let mut docs = vec![doc];
            if r.scalable() {
                docs.push(json!({
                    "name": format!("{}/scale", r.plural),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }));
                docs.push(json!({
                    "name": format!("{}/status", r.plural),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }));
            }
            docs
        })
        .collect();
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::resources::lookup_kind;

    #[test]
    fn every_group_has_resources_and_kinds_round_trip() {
        let store = ClusterStore::new("test", 10);
        for def in crds::custom_kinds() {
            store.create(crds::crd_object(def, &json!({}))).unwrap();
        }
        for (g, v) in GROUPS {
            assert!(api_resource_list(&store, g, v).is_some(), "{g}/{v}");
        }
        for r in RESOURCES {
            let found = lookup_kind(&r.api_version(), r.kind).map(|d| d.plural);
            assert_eq!(found, Some(r.plural));
        }
    }
}

#[cfg(test)]
mod crd_tests {
    use super::*;

    #[test]
    fn a_kind_leaves_discovery_with_its_crd() {
        let store = ClusterStore::new("test", 10);
        assert!(api_group(&store, "kagent.dev").is_none());
        assert!(api_group(&store, "apps").is_some());
        let agents = RESOURCES.iter().find(|r| r.kind == "Agent").unwrap();
        store.create(crds::crd_object(agents, &json!({}))).unwrap();
        let list = api_resource_list(&store, "kagent.dev", "v1alpha2").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["agents"]);
        let groups = api_group_list(&store);
        assert!(groups.to_string().contains("kagent.dev/v1alpha2"));
        assert!(!groups.to_string().contains("admin.gloo.solo.io"));
    }
}
