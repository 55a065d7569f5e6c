//! The CustomResourceDefinitions behind the custom resources the simulator serves: each
//! custom kind's printer columns (as its real CRD declares them), the CRD object a real
//! cluster holds for it, and whether a cluster serves the kind right now.
//!
//! A custom kind is served only while its CRD exists in that cluster's store, as on a real
//! API server: `kubectl delete crd workspaces.admin.gloo.solo.io` takes the kind out of
//! discovery and its paths answer 404 (and the garbage collector deletes its objects). The
//! kinds themselves come from the static resource table, so a CRD for a kind the simulator
//! does not know is stored but serves nothing.

use serde_json::{Value, json};

use crate::store::ClusterStore;
use crate::store::resources::{RESOURCES, ResourceDef};

pub const CRD_API_VERSION: &str = "apiextensions.k8s.io/v1";
pub const CRD_KIND: &str = "CustomResourceDefinition";

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, Copy)]
pub struct PrinterColumn {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub ty: &'static str,
    pub json_path: &'static str,
    pub description: &'static str,
    pub priority: u8,
}

const fn col(name: &'static str, ty: &'static str, json_path: &'static str) -> PrinterColumn {
    PrinterColumn {
        name,
        ty,
        json_path,
        description: "",
        priority: 0,
    }
}

const fn described(
    name: &'static str,
    ty: &'static str,
    json_path: &'static str,
    description: &'static str,
) -> PrinterColumn {
    PrinterColumn {
        name,
        ty,
        json_path,
        description,
        priority: 0,
    }
}

/// What the API server defaults an empty `additionalPrinterColumns` to.
const AGE: PrinterColumn = col("Age", "date", ".metadata.creationTimestamp");
const ONLY_AGE: &[PrinterColumn] = &[AGE];

/// `(group, kind)` → the printer columns of its CRD's served version, as the projects ship
/// them (Istio, Gateway API, kagent). The Gloo and prometheus-operator CRDs here declare
/// none, so they print NAME and AGE.
#[rustfmt::skip]
const COLUMNS: &[(&str, &str, &[PrinterColumn])] = &[
    ("security.istio.io", "AuthorizationPolicy", &[
        described("Action", "string", ".spec.action", "The operation to take."),
        AGE,
    ]),
    ("gateway.networking.k8s.io", "Gateway", &[
        col("Class", "string", ".spec.gatewayClassName"),
        col("Address", "string", ".status.addresses[*].value"),
        col("Programmed", "string", ".status.conditions[?(@.type==\"Programmed\")].status"),
        AGE,
    ]),
    ("networking.istio.io", "ServiceEntry", &[
        described("Hosts", "string", ".spec.hosts", "The hosts associated with the ServiceEntry"),
        described("Location", "string", ".spec.location", "Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)"),
        described("Resolution", "string", ".spec.resolution", "Service resolution mode for the hosts (NONE, STATIC, or DNS)"),
        described("Age", "date", ".metadata.creationTimestamp", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md#metadata"),
    ]),
    ("networking.istio.io", "WorkloadEntry", &[
        described("Age", "date", ".metadata.creationTimestamp", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md#metadata"),
        described("Address", "string", ".spec.address", "Address associated with the network endpoint."),
    ]),
    ("kagent.dev", "Agent", &[
        described("Type", "string", ".spec.type", "The type of the agent."),
        described("Ready", "string", ".status.conditions[?(@.type=='Ready')].status", "Whether or not the agent is ready to serve requests."),
        described("Accepted", "string", ".status.conditions[?(@.type=='Accepted')].status", "Whether or not the agent has been accepted by the system."),
    ]),
    ("kagent.dev", "ModelConfig", &[
        col("Provider", "string", ".spec.provider"),
        col("Model", "string", ".spec.model"),
    ]),
    ("kagent.dev", "RemoteMCPServer", &[
        col("Protocol", "string", ".spec.protocol"),
        col("URL", "string", ".spec.url"),
        col("Accepted", "string", ".status.conditions[?(@.type=='Accepted')].status"),
    ]),
];

/// Whether a kind is a custom resource (served through a CRD) rather than compiled in.
pub fn is_custom(def: &ResourceDef) -> bool {
    !def.builtin()
}

/// The printer columns of a custom kind (after the NAME column every table starts with).
pub fn printer_columns(api_version: &str, kind: &str) -> Option<&'static [PrinterColumn]> {
    let def = crate::store::resources::lookup_kind(api_version, kind)?;
    if !is_custom(def) {
        return None;
    }
    Some(
        COLUMNS
            .iter()
            .find(|(g, k, _)| *g == def.group && *k == def.kind)
            .map_or(ONLY_AGE, |(_, _, cols)| cols),
    )
}

/// `workspaces.admin.gloo.solo.io`.
pub fn crd_name(def: &ResourceDef) -> String {
    format!("{}.{}", def.plural, def.group)
}

/// Whether `store`'s cluster serves `def` now: built-ins always, custom kinds while their
/// CRD exists.
pub fn served(store: &ClusterStore, def: &ResourceDef) -> bool {
    !is_custom(def) || store.exists(CRD_API_VERSION, CRD_KIND, None, &crd_name(def))
}

/// Every custom kind the simulator knows how to serve.
pub fn custom_kinds() -> impl Iterator<Item = &'static ResourceDef> {
    RESOURCES.iter().filter(|r| is_custom(r))
}

/// The CRD object a cluster holds for `def` (without uid, timestamps or resourceVersion),
/// established, as `kubectl get crd X -o yaml` shows it. The schema is open
/// (`x-kubernetes-preserve-unknown-fields`): the simulator does not validate custom objects.
pub fn crd_object(def: &ResourceDef, labels: &Value) -> Value {
    let columns: Vec<Value> = printer_columns(&def.api_version(), def.kind)
        .unwrap_or(ONLY_AGE)
        .iter()
        .map(|c| {
            let mut doc = json!({"jsonPath": c.json_path, "name": c.name, "type": c.ty});
            if !c.description.is_empty() {
                doc["description"] = json!(c.description);
            }
            if c.priority > 0 {
                doc["priority"] = json!(c.priority);
            }
            doc
        })
        .collect();
    let mut names = json!({
        "kind": def.kind,
        "listKind": format!("{}List", def.kind),
        "plural": def.plural,
        "singular": def.singular,
    });
    if !def.short_names.is_empty() {
        names["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        names["categories"] = json!(def.categories);
    }
    let scope = if def.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    json!({
        "apiVersion": CRD_API_VERSION,
        "kind": CRD_KIND,
        "metadata": {"name": crd_name(def), "labels": labels},
        "spec": {
            "conversion": {"strategy": "None"},
            "group": def.group,
            "names": names,
            "scope": scope,
            "versions": [{
                "additionalPrinterColumns": columns,
                "name": def.version,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                }},
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
            }],
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"},
            ],
            "storedVersions": [def.version],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_custom_kind_has_columns_and_a_crd() {
        for def in custom_kinds() {
            let cols = printer_columns(&def.api_version(), def.kind).unwrap();
            assert!(!cols.is_empty(), "{}", def.kind);
            let crd = crd_object(def, &json!({}));
            assert_eq!(crd["metadata"]["name"], crd_name(def));
            assert_eq!(crd["spec"]["names"]["kind"], def.kind);
        }
        assert!(printer_columns("v1", "Pod").is_none());
        let se = printer_columns("networking.istio.io/v1", "ServiceEntry").unwrap();
        assert_eq!(se[0].name, "Hosts");
    }
}
