//! The resource table: every kind the simulated API server serves.
//!
//! One static table drives everything: path routing (`/apis/{g}/{v}/.../{plural}`), kind lookup
//! for store writes, and the discovery documents (`crate::api::discovery`) that let kubectl
//! resolve `deploy` or `ap`.

/// Verbs advertised for every resource: everything is readable and writable over HTTP.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Subresources a real server advertises as their own discovery entries (`deployments/scale`).
/// `kubectl scale` finds the Scale kind through them.
const SCALABLE: &[&str] = &["deployments", "replicasets"];

/// One servable resource type.
#[derive(Debug)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, lower-case: the path segment (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
}

impl ResourceDef {
    /// Compiled into every real API server, as opposed to a CRD. Custom resources refuse
    /// strategic merge patches (415), as a real server does.
    pub fn builtin(&self) -> bool {
        matches!(
            self.group,
            "" | "apps" | "apiextensions.k8s.io" | "discovery.k8s.io"
        )
    }

    /// Whether `{plural}/scale` is served.
    pub fn scalable(&self) -> bool {
        self.group == "apps" && SCALABLE.contains(&self.plural)
    }

    /// `pods`, `deployments.apps`: how a real server names the resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `v1` for the core group, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Positional on purpose: the table below reads as a table.
#[allow(clippy::too_many_arguments)]
const fn def(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories,
        verbs: VERBS,
    }
}

/// `kubectl get all` expands the `all` category, so the workload kinds carry it.
const ALL: &[&str] = &["all"];

pub static RESOURCES: &[ResourceDef] = &[
    def(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
    ),
    def("", "v1", "events", "event", "Event", true, &["ev"], &[]),
    def(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &[],
    ),
    def("", "v1", "nodes", "node", "Node", false, &["no"], &[]),
    def("", "v1", "pods", "pod", "Pod", true, &["po"], ALL),
    def("", "v1", "secrets", "secret", "Secret", true, &[], &[]),
    def(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[],
    ),
    def(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        ALL,
    ),
    def(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        ALL,
    ),
    def(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        ALL,
    ),
    def(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        ALL,
    ),
    def(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        &["api-extensions"],
    ),
    def(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        &[],
        &[],
    ),
    def(
        "gateway.networking.k8s.io",
        "v1",
        "gateways",
        "gateway",
        "Gateway",
        true,
        &["gtw"],
        &[],
    ),
    def(
        "security.istio.io",
        "v1",
        "authorizationpolicies",
        "authorizationpolicy",
        "AuthorizationPolicy",
        true,
        &["ap"],
        &["istio-io", "security-istio-io"],
    ),
    def(
        "networking.istio.io",
        "v1",
        "serviceentries",
        "serviceentry",
        "ServiceEntry",
        true,
        &["se"],
        &["istio-io", "networking-istio-io"],
    ),
    def(
        "networking.istio.io",
        "v1",
        "workloadentries",
        "workloadentry",
        "WorkloadEntry",
        true,
        &["we"],
        &["istio-io", "networking-istio-io"],
    ),
    def(
        "monitoring.coreos.com",
        "v1",
        "prometheusrules",
        "prometheusrule",
        "PrometheusRule",
        true,
        &["promrule"],
        &["prometheus-operator"],
    ),
    def(
        "kagent.dev",
        "v1alpha2",
        "agents",
        "agent",
        "Agent",
        true,
        &[],
        &["kagent"],
    ),
    def(
        "kagent.dev",
        "v1alpha2",
        "modelconfigs",
        "modelconfig",
        "ModelConfig",
        true,
        &["mc"],
        &["kagent"],
    ),
    def(
        "kagent.dev",
        "v1alpha2",
        "remotemcpservers",
        "remotemcpserver",
        "RemoteMCPServer",
        true,
        &["rmcps"],
        &["kagent"],
    ),
    def(
        "admin.gloo.solo.io",
        "v2",
        "kubernetesclusters",
        "kubernetescluster",
        "KubernetesCluster",
        true,
        &[],
        &[],
    ),
    def(
        "admin.gloo.solo.io",
        "v2",
        "workspaces",
        "workspace",
        "Workspace",
        true,
        &[],
        &[],
    ),
    def(
        "admin.gloo.solo.io",
        "v2",
        "workspacesettings",
        "workspacesettings",
        "WorkspaceSettings",
        true,
        &[],
        &[],
    ),
    def(
        "operator.gloo.solo.io",
        "v1",
        "servicemeshcontrollers",
        "servicemeshcontroller",
        "ServiceMeshController",
        false,
        &[],
        &[],
    ),
];

/// Non-core groups in the order `/apis` lists them.
pub const GROUPS: &[(&str, &str)] = &[
    ("apps", "v1"),
    ("apiextensions.k8s.io", "v1"),
    ("discovery.k8s.io", "v1"),
    ("gateway.networking.k8s.io", "v1"),
    ("security.istio.io", "v1"),
    ("networking.istio.io", "v1"),
    ("monitoring.coreos.com", "v1"),
    ("kagent.dev", "v1alpha2"),
    ("admin.gloo.solo.io", "v2"),
    ("operator.gloo.solo.io", "v1"),
];

/// The resource served at `/api/v1/...` (group "") or `/apis/{group}/{version}/...`.
pub fn lookup_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource for an object's `apiVersion` + `kind`.
pub fn lookup_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    let (group, version) = split_api_version(api_version);
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// `apps/v1` → ("apps", "v1"); `v1` → ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}
