//! The garbage collector: when an owner goes, its dependents go after it (background
//! propagation); when a namespace goes, everything in it does. Orphaning is done up front by
//! the DELETE handler, which strips the owner reference before the owner is removed.

use super::Controller;
use crate::store::Preconditions;
use crate::store::owners;

/// Delete what `uid` owned in `namespace`. Pods shut down gracefully through their kubelet.
pub fn collect_dependents(ctl: &mut Controller, namespace: &str, uid: &str) {
    for (stored, value) in owners::dependents(&ctl.store, namespace, uid) {
        if stored.kind.kind == "Pod" {
            super::kubelet::terminate(ctl, value);
            continue;
        }
        let (kind, _) =
            match crate::store::resources::lookup_kind(&stored.kind.api_version, &stored.kind.kind)
            {
                Some(def) => ctl.store.kind_for(def),
                None => continue,
            };
        let pre = Preconditions::default();
        if let Err(err) = ctl
            .store
            .delete_stored(kind, &stored.namespace, &stored.name, &pre, true)
        {
            tracing::debug!(%err, name = %stored.name, "garbage collection skipped");
        }
    }
}

/// Delete every namespaced object left in a deleted namespace.
pub fn collect_namespace(ctl: &mut Controller, namespace: &str) {
    for (kind, info) in ctl.store.kinds() {
        if !info.namespaced {
            continue;
        }
        let (objects, _) = ctl.store.snapshot(kind, Some(namespace), None);
        for obj in objects {
            let pre = Preconditions::default();
            let _ = ctl
                .store
                .delete_stored(kind, &obj.namespace, &obj.name, &pre, true);
        }
    }
}

/// A CRD went: its custom objects go with it, as the API server's cleanup does.
pub fn collect_custom_resources(ctl: &mut Controller, crd_name: &str) {
    let Some(def) =
        crate::store::crds::custom_kinds().find(|d| crate::store::crds::crd_name(d) == crd_name)
    else {
        return;
    };
    let (kind, _) = ctl.store.kind_for(def);
    let (objects, _) = ctl.store.snapshot(kind, None, None);
    for obj in objects {
        let pre = Preconditions::default();
        let _ = ctl
            .store
            .delete_stored(kind, &obj.namespace, &obj.name, &pre, true);
    }
}
