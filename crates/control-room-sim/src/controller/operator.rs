//! The Gloo Operator's part in the mesh's configuration: istiod runs with the trust domain the
//! cluster's ServiceMeshController asks for. The operator renders `spec.trustDomain` into
//! istiod's mesh config (ConfigMap `istio-system/istio`, key `mesh`) and puts it back when it
//! drifts, so `kubectl edit servicemeshcontroller managed-istio` is how the trust domain
//! changes, and a hand edit of the ConfigMap does not last. Without a ServiceMeshController
//! there is nothing to reconcile, and the ConfigMap is left as it is.

use serde_json::{Value, json};

use super::Controller;
use crate::store::StoreError;
use crate::world::mesh::{
    MESH_CONFIG, MESH_CONTROLLER, TRUST_DOMAIN, mesh_config_text, trust_domain_of,
    with_trust_domain,
};

pub const API_VERSION: &str = "operator.gloo.solo.io/v1";
pub const KIND: &str = "ServiceMeshController";
const NAMESPACE: &str = "istio-system";

pub fn is_mesh_config(namespace: &str, name: &str) -> bool {
    namespace == NAMESPACE && name == MESH_CONFIG
}

pub fn sync(ctl: &mut Controller) -> Result<(), StoreError> {
    let Some(smc) = ctl.store.get(API_VERSION, KIND, None, MESH_CONTROLLER) else {
        return Ok(());
    };
    let wanted = smc
        .pointer("/spec/trustDomain")
        .and_then(Value::as_str)
        .filter(|td| !td.is_empty())
        .unwrap_or(TRUST_DOMAIN)
        .to_string();
    match ctl
        .store
        .get("v1", "ConfigMap", Some(NAMESPACE), MESH_CONFIG)
    {
        None => {
            ctl.store.create(json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": MESH_CONFIG,
                    "namespace": NAMESPACE,
                    "labels": {"app.kubernetes.io/managed-by": "gloo-operator", "istio.io/rev": "default"},
                },
                "data": {"mesh": mesh_config_text(&wanted), "meshNetworks": "networks: {}\n"},
            }))?;
        }
        Some(mut config) => {
            let mesh = config
                .pointer("/data/mesh")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if trust_domain_of(&mesh).as_deref() == Some(wanted.as_str()) {
                return Ok(());
            }
            // A mesh config that no longer parses is rendered afresh.
            let text = if trust_domain_of(&mesh).is_some() {
                with_trust_domain(&mesh, &wanted)
            } else {
                mesh_config_text(&wanted)
            };
            super::fields::set(&mut config, &["data", "mesh"], json!(text));
            ctl.store.update(config)?;
        }
    }
    Ok(())
}
