//! Reading what a check needs through kube-rs, as plain JSON values, with the two answers a
//! check must tell apart from "absent": not allowed (403) and kind not served (404 on a list:
//! its CRD is not installed).

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::Cluster;
use crate::sources::clients::ClientPool;
use crate::sources::kubeconfig::describe_error;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error("forbidden: {what} ({why})")]
    Forbidden { what: String, why: String },
    #[error("{what} is not served on {cluster} (its CRD is not installed)")]
    NotServed { what: String, cluster: String },
    #[error("reading {what}: {why}")]
    Failed { what: String, why: String },
}

impl ReadError {
    /// The object the failed read was about, for the evidence.
    pub fn object(&self) -> String {
        match self {
            ReadError::Forbidden { what, .. }
            | ReadError::NotServed { what, .. }
            | ReadError::Failed { what, .. } => what.clone(),
        }
    }
}

/// A kind the doctor reads: group, version, kind, plural, namespaced.
#[derive(Debug, Clone, Copy)]
pub struct Kind(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
);

pub const NAMESPACE: Kind = Kind("", "v1", "Namespace", "namespaces");
pub const NODE: Kind = Kind("", "v1", "Node", "nodes");
pub const SERVICE: Kind = Kind("", "v1", "Service", "services");
pub const CONFIG_MAP: Kind = Kind("", "v1", "ConfigMap", "configmaps");
pub const DEPLOYMENT: Kind = Kind("apps", "v1", "Deployment", "deployments");
pub const STATEFUL_SET: Kind = Kind("apps", "v1", "StatefulSet", "statefulsets");
pub const GATEWAY: Kind = Kind("gateway.networking.k8s.io", "v1", "Gateway", "gateways");
pub const SERVICE_ENTRY: Kind = Kind(
    "networking.istio.io",
    "v1",
    "ServiceEntry",
    "serviceentries",
);
pub const WORKLOAD_ENTRY: Kind = Kind(
    "networking.istio.io",
    "v1",
    "WorkloadEntry",
    "workloadentries",
);
pub const MESH_CONTROLLER: Kind = Kind(
    "operator.gloo.solo.io",
    "v1",
    "ServiceMeshController",
    "servicemeshcontrollers",
);
pub const KUBERNETES_CLUSTER: Kind = Kind(
    "admin.gloo.solo.io",
    "v2",
    "KubernetesCluster",
    "kubernetesclusters",
);
pub const WORKSPACE: Kind = Kind("admin.gloo.solo.io", "v2", "Workspace", "workspaces");
pub const PROMETHEUS_RULE: Kind = Kind(
    "monitoring.coreos.com",
    "v1",
    "PrometheusRule",
    "prometheusrules",
);
pub const AGENT: Kind = Kind("kagent.dev", "v1alpha2", "Agent", "agents");
pub const REMOTE_MCP_SERVER: Kind = Kind(
    "kagent.dev",
    "v1alpha2",
    "RemoteMCPServer",
    "remotemcpservers",
);
pub const AUTHORIZATION_POLICY: Kind = Kind(
    "security.istio.io",
    "v1",
    "AuthorizationPolicy",
    "authorizationpolicies",
);

fn resource(kind: Kind) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(kind.0, kind.1, kind.2), kind.3)
}

/// The reader of one cluster.
pub struct Reader {
    client: kube::Client,
    cluster: Cluster,
}

fn what(kind: Kind, namespace: Option<&str>, name: Option<&str>, cluster: &Cluster) -> String {
    match (namespace, name) {
        (Some(ns), Some(n)) => cluster.object(kind.2, Some(ns), n),
        (None, Some(n)) => cluster.object(kind.2, None, n),
        (Some(ns), None) => format!("{}s in {ns} ({})", kind.2, cluster.name),
        (None, None) => format!("{}s ({})", kind.2, cluster.name),
    }
}

fn classify(e: &kube::Error, what: String, cluster: &Cluster, list: bool) -> ReadError {
    match e {
        kube::Error::Api(s) if s.code == 403 => ReadError::Forbidden {
            what,
            why: describe_error(e),
        },
        kube::Error::Api(s) if s.code == 404 && list => ReadError::NotServed {
            what,
            cluster: cluster.name.clone(),
        },
        _ => ReadError::Failed {
            what,
            why: describe_error(e),
        },
    }
}

impl Reader {
    pub async fn of(pool: &ClientPool, cluster: &Cluster) -> Result<Reader, ReadError> {
        let client = pool
            .client(cluster.index)
            .await
            .map_err(|why| ReadError::Failed {
                what: format!("cluster {}", cluster.name),
                why,
            })?;
        Ok(Reader {
            client,
            cluster: cluster.clone(),
        })
    }

    fn api(&self, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = resource(kind);
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Every object of `kind` (in `namespace`, or everywhere), as JSON.
    pub async fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, ReadError> {
        let mut params = ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        let list = self.api(kind, namespace).list(&params).await.map_err(|e| {
            classify(
                &e,
                what(kind, namespace, None, &self.cluster),
                &self.cluster,
                true,
            )
        })?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect())
    }

    /// One object, `None` when it does not exist. A kind that is not served at all is
    /// [`ReadError::NotServed`] (a real API server answers 404 for both; the list tells).
    pub async fn get(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ReadError> {
        match self.api(kind, namespace).get_opt(name).await {
            Ok(found) => Ok(found.and_then(|o| serde_json::to_value(o).ok())),
            Err(e) => Err(classify(
                &e,
                what(kind, namespace, Some(name), &self.cluster),
                &self.cluster,
                false,
            )),
        }
    }

    /// The metadata of the Secrets in `namespace` (names, labels, annotations): never their
    /// values.
    pub async fn secret_metadata(
        &self,
        namespace: &str,
        labels: Option<&str>,
    ) -> Result<Vec<kube::core::ObjectMeta>, ReadError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let mut params = ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        let list = api.list_metadata(&params).await.map_err(|e| {
            classify(
                &e,
                format!("Secrets in {namespace} ({})", self.cluster.name),
                &self.cluster,
                true,
            )
        })?;
        Ok(list.items.into_iter().map(|m| m.metadata).collect())
    }

    /// Whether Secret `namespace/name` exists, reading only its metadata.
    pub async fn secret_exists(&self, namespace: &str, name: &str) -> Result<bool, ReadError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        match api.get_metadata_opt(name).await {
            Ok(found) => Ok(found.is_some()),
            Err(e) => Err(classify(
                &e,
                self.cluster.object("Secret", Some(namespace), name),
                &self.cluster,
                false,
            )),
        }
    }
}

/// The string at `pointer`, or "".
pub fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// A label's value.
pub fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// The InternalIP addresses of a node list.
pub fn internal_ips(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .flat_map(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
        .filter_map(|a| a.get("address").and_then(Value::as_str).map(str::to_string))
        .collect()
}
