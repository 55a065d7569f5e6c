//! The EndpointSlices of the world's Services as the EndpointSlice controller left them
//! (`controller::endpointslice` keeps them in step afterwards), and the API server's own
//! slice for `default/kubernetes`.

use serde_json::{Value, json};

use crate::controller::endpointslice::{self, SERVICE_NAME};
use crate::store::ClusterStore;
use crate::world::builder::Builder;

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// One slice per Service with a selector, aged like its Service.
pub fn endpoint_slices(b: &mut Builder<'_>, store: &ClusterStore) -> anyhow::Result<()> {
    let (services, _) = store.list("v1", "Service", None);
    for service in &services {
        let namespace = text(service, "/metadata/namespace");
        let name = text(service, "/metadata/name");
        let created = text(service, "/metadata/creationTimestamp").to_string();
        let (pods, _) = store.list("v1", "Pod", Some(namespace));
        let slice = match endpointslice::desired(service, &pods) {
            Some(d) => {
                let slice_name = format!("{name}-{}", b.ids().suffix(5));
                endpointslice::slice_object(service, &d, Some(&slice_name), &created)
            }
            None if (namespace, name) == ("default", "kubernetes") => {
                let ip = b.nodes().first().map(|n| n.ip.clone()).unwrap_or_default();
                json!({
                    "apiVersion": endpointslice::API_VERSION,
                    "kind": endpointslice::KIND,
                    "metadata": {"name": "kubernetes", "namespace": "default",
                                 "labels": {SERVICE_NAME: "kubernetes"}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false}}],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
                })
            }
            None => continue,
        };
        let mut slice = slice;
        let uid = b.ids().uid();
        if let Some(meta) = slice.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(created));
        }
        b.put(slice)?;
    }
    Ok(())
}
