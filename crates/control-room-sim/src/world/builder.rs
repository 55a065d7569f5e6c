//! The [`Builder`] that writes one cluster's built-in objects straight into its
//! [`ClusterStore`], and the simple kinds: nodes, namespaces, service accounts, services,
//! events. Pods and their controllers are in `workloads`.
//!
//! Objects come out the way a live kind cluster shows them, timestamped at fixed offsets
//! before the sim started, with ids from a generator seeded by the cluster name.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::store::ids::IdGen;
use crate::store::{ClusterStore, timestamp};
use crate::world::ClusterSpec;
use crate::world::workloads::PodRecord;

/// One node of a cluster and its pod-IP allocator.
pub struct NodeSlot {
    pub name: String,
    pub ip: String,
    pub uid: String,
    /// Index into the cluster's node list: 0 = control plane.
    pub(super) index: u8,
    pub(super) next_ip: u32,
}

/// Writes objects for one cluster; owns the id generator and the IP allocators so every
/// object it makes is consistent with the others.
pub struct Builder<'a> {
    pub cluster: &'a ClusterSpec,
    store: &'a ClusterStore,
    now: DateTime<Utc>,
    pub(super) ids: IdGen,
    pub(super) nodes: Vec<NodeSlot>,
    pub(super) next_worker: usize,
    next_cluster_ip: u32,
}

/// Kind's default service CIDR; every cluster uses the same one, as kind does.
const SERVICE_CIDR_PREFIX: &str = "10.96";

impl<'a> Builder<'a> {
    pub fn new(cluster: &'a ClusterSpec, store: &'a ClusterStore, now: DateTime<Utc>) -> Self {
        let mut ids = IdGen::from_label(cluster.name);
        let nodes = cluster
            .node_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| NodeSlot {
                name,
                ip: format!("172.22.0.{}", cluster.first_node_ip + i as u8),
                uid: ids.uid(),
                index: i as u8,
                next_ip: 0,
            })
            .collect();
        Self {
            cluster,
            store,
            now,
            ids,
            nodes,
            next_worker: 0,
            // 10.96.0.1 is `kubernetes`, 10.96.0.10 is kube-dns.
            next_cluster_ip: 20,
        }
    }

    pub fn nodes(&self) -> &[NodeSlot] {
        &self.nodes
    }

    pub fn ids(&mut self) -> &mut IdGen {
        &mut self.ids
    }

    /// `secs` seconds before the sim started, as an API timestamp.
    pub fn ago(&self, secs: i64) -> String {
        timestamp(self.now - Duration::seconds(secs))
    }

    pub fn put(&self, obj: Value) -> anyhow::Result<()> {
        self.store
            .create_stored(obj)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("building {} world: {e}", self.cluster.name))
    }

    pub(super) fn meta(
        &self,
        namespace: Option<&str>,
        name: &str,
        uid: String,
        created_secs_ago: i64,
    ) -> Map<String, Value> {
        let mut meta = Map::new();
        meta.insert("name".into(), json!(name));
        if let Some(ns) = namespace {
            meta.insert("namespace".into(), json!(ns));
        }
        meta.insert("uid".into(), json!(uid));
        meta.insert(
            "creationTimestamp".into(),
            json!(self.ago(created_secs_ago)),
        );
        meta
    }

    // ---- cluster-scoped ----

    pub fn node_objects(&mut self, created_secs_ago: i64) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            let (name, ip, uid) = {
                let n = &self.nodes[i];
                (n.name.clone(), n.ip.clone(), n.uid.clone())
            };
            let control_plane = i == 0;
            let mut labels = json!({
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            });
            let mut spec = json!({
                "podCIDR": format!("10.{}.{i}.0/24", self.cluster.pod_octet),
                "podCIDRs": [format!("10.{}.{i}.0/24", self.cluster.pod_octet)],
                "providerID": format!("kind://docker/{}/{name}", self.cluster.name),
            });
            if control_plane {
                labels["node-role.kubernetes.io/control-plane"] = json!("");
                labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
                spec["taints"] = json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
            }
            let since = self.ago(created_secs_ago - 20);
            let heartbeat = self.ago(30);
            let condition = |ty: &str, status: &str, reason: &str, message: &str| {
                json!({"type": ty, "status": status, "reason": reason, "message": message,
                       "lastHeartbeatTime": heartbeat, "lastTransitionTime": since})
            };
            let boot_id = self.ids.uid();
            let machine_id = self.ids.hex(32);
            let system_uuid = self.ids.uid();
            let mut meta = self.meta(None, &name, uid, created_secs_ago);
            meta.insert("labels".into(), labels);
            meta.insert(
                "annotations".into(),
                json!({"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
            );
            let resources = json!({"cpu": "8", "ephemeral-storage": "101430960Ki", "hugepages-1Gi": "0",
                                   "hugepages-2Mi": "0", "memory": "32386520Ki", "pods": "110"});
            self.put(json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": meta,
                "spec": spec,
                "status": {
                    "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                    "allocatable": resources,
                    "capacity": resources,
                    "conditions": [
                        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                    ],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": boot_id,
                        "containerRuntimeVersion": "containerd://2.1.1",
                        "kernelVersion": "6.8.0-1029-aws",
                        "kubeProxyVersion": "",
                        "kubeletVersion": "v1.33.1",
                        "machineID": machine_id,
                        "operatingSystem": "linux",
                        "osImage": "Debian GNU/Linux 12 (bookworm)",
                        "systemUUID": system_uuid,
                    },
                },
            }))?;
        }
        Ok(())
    }

    pub fn namespace(
        &mut self,
        name: &str,
        labels: &[(&str, String)],
        created_secs_ago: i64,
    ) -> anyhow::Result<()> {
        let mut label_map = Map::new();
        label_map.insert("kubernetes.io/metadata.name".into(), json!(name));
        for (k, v) in labels {
            label_map.insert((*k).into(), json!(v));
        }
        let uid = self.ids.uid();
        let mut meta = self.meta(None, name, uid, created_secs_ago);
        meta.insert("labels".into(), Value::Object(label_map));
        self.put(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": meta,
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }))
    }

    pub fn service_account(
        &mut self,
        namespace: &str,
        name: &str,
        created_secs_ago: i64,
    ) -> anyhow::Result<()> {
        let uid = self.ids.uid();
        self.put(json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.meta(Some(namespace), name, uid, created_secs_ago),
        }))
    }

    // ---- networking ----

    pub fn next_cluster_ip(&mut self) -> String {
        let n = self.next_cluster_ip;
        self.next_cluster_ip += 1;
        format!("{SERVICE_CIDR_PREFIX}.{}.{}", n / 250, n % 250)
    }

    /// A Service; `ports` are (name, port, targetPort, nodePort).
    pub fn service(
        &mut self,
        namespace: &str,
        name: &str,
        selector: Option<Value>,
        ports: &[(&str, u16, u16, Option<u16>)],
        cluster_ip: Option<String>,
        created_secs_ago: i64,
    ) -> anyhow::Result<String> {
        self.labelled_service(
            namespace,
            name,
            &[],
            selector,
            ports,
            cluster_ip,
            created_secs_ago,
        )
    }

    /// A Service carrying `labels` besides `app=<name>`.
    #[allow(clippy::too_many_arguments)]
    pub fn labelled_service(
        &mut self,
        namespace: &str,
        name: &str,
        labels: &[(&str, &str)],
        selector: Option<Value>,
        ports: &[(&str, u16, u16, Option<u16>)],
        cluster_ip: Option<String>,
        created_secs_ago: i64,
    ) -> anyhow::Result<String> {
        let ip = cluster_ip.unwrap_or_else(|| self.next_cluster_ip());
        let node_port = ports.iter().any(|p| p.3.is_some());
        let ports: Vec<Value> = ports
            .iter()
            .map(|(port_name, port, target, node_port)| {
                let mut p = json!({"name": port_name, "port": port, "protocol": "TCP", "targetPort": target});
                if let Some(np) = node_port {
                    p["nodePort"] = json!(np);
                }
                p
            })
            .collect();
        let uid = self.ids.uid();
        let mut meta = self.meta(Some(namespace), name, uid, created_secs_ago);
        let mut label_map = Map::new();
        label_map.insert("app".into(), json!(name));
        for (k, v) in labels {
            label_map.insert((*k).into(), json!(v));
        }
        meta.insert("labels".into(), Value::Object(label_map));
        let mut spec = json!({
            "clusterIP": ip,
            "clusterIPs": [ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": ports,
            "sessionAffinity": "None",
            "type": if node_port { "NodePort" } else { "ClusterIP" },
        });
        if node_port {
            spec["externalTrafficPolicy"] = json!("Cluster");
        }
        if let Some(selector) = selector {
            spec["selector"] = selector;
        }
        self.put(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": spec,
            "status": {"loadBalancer": {}},
        }))?;
        Ok(ip)
    }

    // ---- events ----

    /// The kubelet/scheduler/controller events a freshly started pod leaves behind.
    pub fn pod_events(&mut self, pod: &PodRecord) -> anyhow::Result<()> {
        let field_path = format!("spec.containers{{{}}}", pod.container);
        let entries = [
            (
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {}",
                    pod.namespace, pod.name, pod.node
                ),
                "default-scheduler",
                0,
                false,
            ),
            (
                "Pulled",
                format!(
                    "Container image \"{}\" already present on machine",
                    pod.image
                ),
                "kubelet",
                3,
                true,
            ),
            (
                "Created",
                format!("Created container: {}", pod.container),
                "kubelet",
                4,
                true,
            ),
            (
                "Started",
                format!("Started container {}", pod.container),
                "kubelet",
                5,
                true,
            ),
        ];
        for (reason, message, component, delay, with_field) in entries {
            let mut involved = json!({"apiVersion": "v1", "kind": "Pod", "name": pod.name,
                                      "namespace": pod.namespace, "uid": pod.uid});
            if with_field {
                involved["fieldPath"] = json!(field_path);
            }
            let host = (component == "kubelet").then(|| pod.node.clone());
            self.event(
                &pod.namespace,
                &pod.name,
                involved,
                reason,
                &message,
                component,
                host,
                pod.created_secs_ago - delay,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        namespace: &str,
        object_name: &str,
        involved: Value,
        reason: &str,
        message: &str,
        component: &str,
        host: Option<String>,
        secs_ago: i64,
    ) -> anyhow::Result<()> {
        // Named as the kubelet and controllers name them: the object, then the hex of the
        // time in nanoseconds, so an object's events list in the order they happened.
        let when = self.now - Duration::seconds(secs_ago.max(0));
        let nanos = when.timestamp_nanos_opt().unwrap_or_default();
        let name = format!("{object_name}.{nanos:x}");
        // Drawn as before names were times, so every later id in the world stays the same.
        let _ = self.ids.hex(16);
        let at = self.ago(secs_ago.max(0));
        let uid = self.ids.uid();
        let mut source = json!({"component": component});
        if let Some(host) = &host {
            source["host"] = json!(host);
        }
        self.put(json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": self.meta(Some(namespace), &name, uid, secs_ago.max(0)),
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": at,
            "lastTimestamp": at,
            "count": 1,
            "type": "Normal",
            "eventTime": null,
            "reportingComponent": component,
            "reportingInstance": host.unwrap_or_default(),
        }))
    }
}
