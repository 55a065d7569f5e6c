//! Owner references: which controller an object belongs to, which objects belong to a given
//! owner, and letting dependents go (`propagationPolicy=Orphan`).

use crate::store::resources;
use std::sync::Arc;

use serde_json::Value;

use crate::store::ClusterStore;
use crate::store::stored::Stored;

/// Kinds that have owners in the simulated world: Deployment → ReplicaSet → Pod.
const DEPENDENT_KINDS: &[(&str, &str)] = &[("apps/v1", "ReplicaSet"), ("v1", "Pod")];

/// One `ownerReferences` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

pub fn uid_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The owner with `controller: true`.
pub fn controller_of(obj: &Value) -> Option<OwnerRef> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| {
            Some(OwnerRef {
                kind: r.get("kind")?.as_str()?.to_string(),
                name: r.get("name")?.as_str()?.to_string(),
                uid: r.get("uid")?.as_str()?.to_string(),
            })
        })
}

pub fn is_owned_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

/// Objects in `namespace` with an owner reference to `uid`, parsed.
pub fn dependents(store: &ClusterStore, namespace: &str, uid: &str) -> Vec<(Arc<Stored>, Value)> {
    let mut out = Vec::new();
    for (api_version, kind) in DEPENDENT_KINDS {
        let Some(def) = resources::lookup_kind(api_version, kind) else {
            continue;
        };
        let (kid, _) = store.kind_for(def);
        let (objects, _) = store.snapshot(kid, Some(namespace), None);
        // The uid appears in the body of every dependent: a cheap test before parsing.
        for stored in objects.into_iter().filter(|s| s.body.contains(uid)) {
            let value = stored.to_value();
            if is_owned_by(&value, uid) {
                out.push((stored, value));
            }
        }
    }
    out
}

/// Drop `uid` from the owner references of everything that points at it, so the garbage
/// collector leaves those objects alone. A dependent written concurrently keeps its reference.
pub fn orphan_dependents(store: &ClusterStore, namespace: &str, uid: &str) {
    for (_, mut value) in dependents(store, namespace, uid) {
        if let Some(refs) = value
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
        }
        if let Err(err) = store.update_stored(value) {
            tracing::debug!(%err, "orphaning a dependent failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_controller() {
        let pod = json!({"metadata": {"ownerReferences": [
            {"kind": "Node", "name": "n", "uid": "1"},
            {"kind": "ReplicaSet", "name": "rs", "uid": "2", "controller": true},
        ]}});
        assert_eq!(
            controller_of(&pod),
            Some(OwnerRef {
                kind: "ReplicaSet".into(),
                name: "rs".into(),
                uid: "2".into()
            })
        );
        assert!(is_owned_by(&pod, "1"));
        assert!(!is_owned_by(&pod, "3"));
        assert_eq!(controller_of(&json!({"metadata": {}})), None);
    }
}
