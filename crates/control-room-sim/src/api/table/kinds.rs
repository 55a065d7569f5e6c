//! The server-side printers of every other served kind: the columns `kubectl get` shows from
//! a real API server (the built-in printers of 1.33, and for the custom resources their
//! CRDs' `additionalPrinterColumns`), each row computed from the object alone.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{
    containers, format_labels, format_selector, int, or_none, selector_string, since, text, time_at,
};
use super::{Column, Row};

fn name(obj: &Value) -> Value {
    json!(text(obj, "/metadata/name"))
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    json!(since(time_at(obj, "/metadata/creationTimestamp"), now))
}

fn cells(cells: Vec<Value>) -> Row {
    Row {
        cells,
        conditions: None,
    }
}

const CONTAINERS: Column = Column::wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = Column::wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

pub const DEPLOYMENT: &[Column] = &[
    Column::name(),
    Column::new("Ready", "string", "Number of the pod with ready state"),
    Column::new(
        "Up-to-date",
        "string",
        "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
    ),
    Column::new(
        "Available",
        "string",
        "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    Column::age(),
    CONTAINERS,
    IMAGES,
    Column::wide(
        "Selector",
        "string",
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
    ),
];

pub fn deployment(d: &Value, now: DateTime<Utc>) -> Row {
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let (names, images) = containers(d.pointer("/spec/template/spec"));
    cells(vec![
        name(d),
        json!(format!("{}/{desired}", int(d, "/status/readyReplicas"))),
        json!(int(d, "/status/updatedReplicas")),
        json!(int(d, "/status/availableReplicas")),
        age(d, now),
        json!(names),
        json!(images),
        json!(selector_string(d.pointer("/spec/selector"))),
    ])
}

pub const REPLICA_SET: &[Column] = &[
    Column::name(),
    Column::new(
        "Desired",
        "integer",
        "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    Column::new(
        "Current",
        "integer",
        "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    Column::new(
        "Ready",
        "integer",
        "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
    ),
    Column::age(),
    CONTAINERS,
    IMAGES,
    Column::wide(
        "Selector",
        "string",
        "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub fn replica_set(rs: &Value, now: DateTime<Utc>) -> Row {
    let (names, images) = containers(rs.pointer("/spec/template/spec"));
    cells(vec![
        name(rs),
        json!(int(rs, "/spec/replicas")),
        json!(int(rs, "/status/replicas")),
        json!(int(rs, "/status/readyReplicas")),
        age(rs, now),
        json!(names),
        json!(images),
        json!(format_selector(rs.pointer("/spec/selector"))),
    ])
}

pub const DAEMON_SET: &[Column] = &[
    Column::name(),
    Column::new(
        "Desired",
        "integer",
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    Column::new(
        "Current",
        "integer",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    Column::new(
        "Ready",
        "integer",
        "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
    ),
    Column::new(
        "Up-to-date",
        "integer",
        "The total number of nodes that are running updated daemon pod",
    ),
    Column::new(
        "Available",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    Column::new(
        "Node Selector",
        "string",
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    Column::age(),
    CONTAINERS,
    IMAGES,
    Column::wide(
        "Selector",
        "string",
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub fn daemon_set(ds: &Value, now: DateTime<Utc>) -> Row {
    let (names, images) = containers(ds.pointer("/spec/template/spec"));
    cells(vec![
        name(ds),
        json!(int(ds, "/status/desiredNumberScheduled")),
        json!(int(ds, "/status/currentNumberScheduled")),
        json!(int(ds, "/status/numberReady")),
        json!(int(ds, "/status/updatedNumberScheduled")),
        json!(int(ds, "/status/numberAvailable")),
        json!(format_labels(
            ds.pointer("/spec/template/spec/nodeSelector")
        )),
        age(ds, now),
        json!(names),
        json!(images),
        json!(format_selector(ds.pointer("/spec/selector"))),
    ])
}

pub const SERVICE: &[Column] = &[
    Column::name(),
    Column::new(
        "Type",
        "string",
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
    ),
    Column::new(
        "Cluster-IP",
        "string",
        "clusterIP is the IP address of the service and is usually assigned randomly.",
    ),
    Column::new(
        "External-IP",
        "string",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    Column::new(
        "Port(s)",
        "string",
        "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    ),
    Column::age(),
    Column::wide(
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
    ),
];

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn external_ip(svc: &Value) -> String {
    let external = strings(svc.pointer("/spec/externalIPs"));
    match text(svc, "/spec/type") {
        "ClusterIP" | "NodePort" | "" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" | "" => "<none>".into(),
        "LoadBalancer" => {
            let mut ips: Vec<String> = svc
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|i| {
                            let ip = text(i, "/ip");
                            if ip.is_empty() {
                                text(i, "/hostname")
                            } else {
                                ip
                            }
                        })
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            ips.dedup();
            ips.extend(external.into_iter().map(str::to_string));
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        "ExternalName" => text(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

pub fn service(svc: &Value, now: DateTime<Utc>) -> Row {
    let ports: Vec<String> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let port = int(p, "/port");
                    let protocol = text(p, "/protocol");
                    match int(p, "/nodePort") {
                        n if n > 0 => format!("{port}:{n}/{protocol}"),
                        _ => format!("{port}/{protocol}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let cluster_ip = strings(svc.pointer("/spec/clusterIPs"))
        .first()
        .map_or_else(|| "<none>".to_string(), |ip| (*ip).to_string());
    cells(vec![
        name(svc),
        json!(text(svc, "/spec/type")),
        json!(cluster_ip),
        json!(external_ip(svc)),
        json!(or_none(&ports.join(","))),
        age(svc, now),
        json!(format_labels(svc.pointer("/spec/selector"))),
    ])
}

pub const EVENT: &[Column] = &[
    Column::new(
        "Last Seen",
        "string",
        "The time at which the most recent occurrence of this event was recorded.",
    ),
    Column::new(
        "Type",
        "string",
        "Type of this event (Normal, Warning), new types could be added in the future",
    ),
    Column::new(
        "Reason",
        "string",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    Column::new("Object", "string", "The object that this event is about."),
    Column::wide(
        "Subobject",
        "string",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
    ),
    Column::wide(
        "Source",
        "string",
        "The component reporting this event. Should be a short machine understandable string.",
    ),
    Column::new(
        "Message",
        "string",
        "A human-readable description of the status of this operation.",
    ),
    Column::wide(
        "First Seen",
        "string",
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    ),
    Column::wide(
        "Count",
        "string",
        "The number of times this event has occurred.",
    ),
    Column {
        priority: 1,
        ..Column::name()
    },
];

pub fn event(e: &Value, now: DateTime<Utc>) -> Row {
    let first = time_at(e, "/firstTimestamp").or_else(|| time_at(e, "/eventTime"));
    let first_seen = since(first, now);
    let mut last_seen = match time_at(e, "/lastTimestamp") {
        Some(at) => since(Some(at), now),
        None => first_seen.clone(),
    };
    let mut count = int(e, "/count");
    if e.get("series").is_some_and(Value::is_object) {
        last_seen = since(time_at(e, "/series/lastObservedTime"), now);
        count = int(e, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = text(e, "/involvedObject/kind").to_lowercase();
    let object = match text(e, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = first_non_empty(text(e, "/source/component"), text(e, "/reportingComponent"));
    let host = first_non_empty(text(e, "/source/host"), text(e, "/reportingInstance"));
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    cells(vec![
        json!(last_seen),
        json!(text(e, "/type")),
        json!(text(e, "/reason")),
        json!(object),
        json!(text(e, "/involvedObject/fieldPath")),
        json!(source),
        json!(text(e, "/message").trim()),
        json!(first_seen),
        json!(count),
        name(e),
    ])
}

pub const NODE: &[Column] = &[
    Column::name(),
    Column::new("Status", "string", "The status of the node"),
    Column::new("Roles", "string", "The roles of the node"),
    Column::age(),
    Column::new("Version", "string", "Kubelet Version reported by the node."),
    Column::wide(
        "Internal-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available.",
    ),
    Column::wide(
        "External-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available.",
    ),
    Column::wide(
        "OS-Image",
        "string",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    ),
    Column::wide(
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    Column::wide(
        "Container-Runtime",
        "string",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    ),
];

pub fn node(n: &Value, now: DateTime<Utc>) -> Row {
    let ready = n
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().rev().find(|c| c["type"] == "Ready"));
    let mut status = match ready {
        Some(c) if c["status"] == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if n.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles: Vec<String> = n
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
                    Some(role) if !role.is_empty() => Some(role.to_string()),
                    Some(_) => None,
                    None if k == "kubernetes.io/role" => {
                        v.as_str().filter(|v| !v.is_empty()).map(str::to_string)
                    }
                    None => None,
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    let address = |ty: &str| {
        n.pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|a| a["type"] == ty))
            .map_or("<none>".to_string(), |a| text(a, "/address").to_string())
    };
    let info = |k: &str| match text(n, &format!("/status/nodeInfo/{k}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    cells(vec![
        name(n),
        json!(status.join(",")),
        json!(or_none(&roles.join(","))),
        age(n, now),
        json!(text(n, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ])
}

pub const NAMESPACE: &[Column] = &[
    Column::name(),
    Column::new("Status", "string", "The status of the namespace"),
    Column::age(),
];

pub fn namespace(ns: &Value, now: DateTime<Utc>) -> Row {
    cells(vec![
        name(ns),
        json!(text(ns, "/status/phase")),
        age(ns, now),
    ])
}

pub const CONFIG_MAP: &[Column] = &[
    Column::name(),
    Column::new(
        "Data",
        "string",
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    Column::age(),
];

fn entries(obj: &Value, key: &str) -> usize {
    obj.get(key)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

pub fn config_map(cm: &Value, now: DateTime<Utc>) -> Row {
    let data = entries(cm, "data") + entries(cm, "binaryData");
    cells(vec![name(cm), json!(data), age(cm, now)])
}

pub const SECRET: &[Column] = &[
    Column::name(),
    Column::new(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    ),
    Column::new(
        "Data",
        "string",
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    ),
    Column::age(),
];

pub fn secret(s: &Value, now: DateTime<Utc>) -> Row {
    cells(vec![
        name(s),
        json!(text(s, "/type")),
        json!(entries(s, "data")),
        age(s, now),
    ])
}

pub const SERVICE_ACCOUNT: &[Column] = &[
    Column::name(),
    Column::new(
        "Secrets",
        "string",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    Column::age(),
];

pub fn service_account(sa: &Value, now: DateTime<Utc>) -> Row {
    let secrets = sa
        .get("secrets")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    cells(vec![name(sa), json!(secrets), age(sa, now)])
}

/// The built-in `CustomResourceDefinition` printer (the generic one): NAME, CREATED AT.
pub const CRD: &[Column] = &[
    Column::name(),
    Column::new(
        "Created At",
        "date",
        "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    ),
];

pub fn crd(obj: &Value, _now: DateTime<Utc>) -> Row {
    let created = time_at(obj, "/metadata/creationTimestamp")
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    cells(vec![name(obj), json!(created)])
}

pub const ENDPOINT_SLICE: &[Column] = &[
    Column::name(),
    Column::new(
        "AddressType",
        "string",
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
    ),
    Column::new(
        "Ports",
        "string",
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
    ),
    Column::new(
        "Endpoints",
        "string",
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
    ),
    Column::age(),
];

/// `listWithMoreString`: up to three, then `+ N more...`; `<unset>` for none.
fn list_with_more(list: &[String], count: usize) -> String {
    let shown = list.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    if count > 3 {
        return format!("{shown} + {} more...", count - 3);
    }
    if shown.is_empty() {
        "<unset>".into()
    } else {
        shown
    }
}

pub fn endpoint_slice(s: &Value, now: DateTime<Utc>) -> Row {
    let ports: Vec<String> = s
        .get("ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(
                    |p| match (p.get("port").and_then(Value::as_i64), p.get("name")) {
                        (Some(n), _) => n.to_string(),
                        (None, Some(Value::String(name))) => name.clone(),
                        _ => "*".into(),
                    },
                )
                .collect()
        })
        .unwrap_or_default();
    let addresses: Vec<String> = s
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|eps| {
            eps.iter()
                .flat_map(|e| strings(e.get("addresses")))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    cells(vec![
        name(s),
        json!(text(s, "/addressType")),
        json!(list_with_more(&ports, ports.len())),
        json!(list_with_more(&addresses, addresses.len())),
        age(s, now),
    ])
}

/// What a custom resource without printer columns shows: NAME and AGE.
pub const DEFAULT: &[Column] = &[Column::name(), Column::crd_age()];

pub fn default(obj: &Value, now: DateTime<Utc>) -> Row {
    cells(vec![name(obj), age(obj, now)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-11T17:00:00Z".parse().unwrap()
    }

    #[test]
    fn services_show_ports_and_addresses() {
        let svc = json!({"metadata": {"name": "s", "creationTimestamp": "2026-05-11T14:00:00Z"},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.20"], "selector": {"app": "x"},
                     "ports": [{"port": 15008, "nodePort": 30015, "protocol": "TCP"},
                               {"port": 53, "protocol": "UDP"}]}});
        let r = service(&svc, now());
        assert_eq!(
            r.cells,
            [
                json!("s"),
                json!("NodePort"),
                json!("10.96.0.20"),
                json!("<none>"),
                json!("15008:30015/TCP,53/UDP"),
                json!("3h"),
                json!("app=x")
            ]
        );
        let lb = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(service(&lb, now()).cells[3], "<pending>");
        assert_eq!(service(&lb, now()).cells[4], "<none>");
    }

    #[test]
    fn events_nodes_and_deployments() {
        let e = json!({"metadata": {"name": "p.1"}, "type": "Warning", "reason": "BackOff",
            "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
            "source": {"component": "kubelet", "host": "n1"}, "message": "Back-off pulling image \"x\"\n",
            "firstTimestamp": "2026-05-11T16:50:00Z", "lastTimestamp": "2026-05-11T16:59:30Z", "count": 7});
        let r = event(&e, now());
        assert_eq!(r.cells[0], "30s");
        assert_eq!(r.cells[3], "pod/p");
        assert_eq!(r.cells[5], "kubelet, n1");
        assert_eq!(r.cells[6], "Back-off pulling image \"x\"");
        assert_eq!(r.cells[7], "10m");
        assert_eq!(r.cells[8], 7);
        let n = json!({"metadata": {"name": "cp", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.22.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.1"}}});
        let r = node(&n, now());
        assert_eq!(r.cells[1], "Ready,SchedulingDisabled");
        assert_eq!(r.cells[2], "control-plane");
        assert_eq!(r.cells[5], "172.22.0.2");
        assert_eq!(r.cells[6], "<none>");
        assert_eq!(r.cells[7], "<unknown>");
        let d = json!({"metadata": {"name": "d"}, "spec": {"replicas": 2,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}},
            "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        let r = deployment(&d, now());
        assert_eq!(r.cells[1], "1/2");
        assert_eq!(r.cells[2], 2);
        assert_eq!(r.cells[7], "app=d");
    }

    #[test]
    fn crds_endpoint_slices_and_junk() {
        let crd_obj = json!({"metadata": {"name": "agents.kagent.dev", "creationTimestamp": "2026-05-11T16:00:00Z"}});
        assert_eq!(
            crd(&crd_obj, now()).cells,
            [json!("agents.kagent.dev"), json!("2026-05-11T16:00:00Z")]
        );
        let slice = json!({"metadata": {"name": "s-abcde"}, "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]},
                          {"addresses": ["10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]});
        let r = endpoint_slice(&slice, now());
        assert_eq!(r.cells[2], "8080");
        assert_eq!(r.cells[3], "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...");
        let empty = json!({"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": []});
        assert_eq!(endpoint_slice(&empty, now()).cells[3], "<unset>");
        for f in [
            deployment,
            replica_set,
            daemon_set,
            service,
            event,
            node,
            namespace,
            config_map,
            secret,
            service_account,
            crd,
            endpoint_slice,
            default,
        ] {
            f(&json!(null), now());
            f(&json!({"spec": [], "status": "x", "metadata": 3}), now());
        }
    }
}
