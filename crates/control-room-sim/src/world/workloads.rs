//! Pods and the controllers that own them (Deployment → ReplicaSet → Pod, DaemonSet → Pod,
//! Node → static Pod), as a live kind cluster shows them.

use serde_json::{Map, Value, json};

use crate::store::ids::{IdGen, fnv1a};
use crate::world::builder::Builder;

/// The pod-facing description shared by a workload's Deployment/DaemonSet, ReplicaSet and Pods.
pub struct PodTemplate<'a> {
    pub app: &'a str,
    pub container: &'a str,
    pub image: &'a str,
    pub port: u16,
    pub host_network: bool,
    /// Labels on top of `app=<app>`.
    pub extra_labels: &'a [(&'a str, &'a str)],
    /// In an ambient namespace: ztunnel redirection is on for the pod.
    pub ambient: bool,
}

/// Where and under which name one pod goes.
struct PodPlacement<'a> {
    namespace: &'a str,
    name: &'a str,
    generate_name: Option<String>,
    labels: Map<String, Value>,
    owner: Value,
    /// Index into the builder's nodes.
    node: usize,
    created_secs_ago: i64,
    tolerate_all: bool,
}

/// What the event builder needs to know about a pod that was just written.
pub struct PodRecord {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: String,
    pub container: String,
    pub image: String,
    pub created_secs_ago: i64,
}

impl Builder<'_> {
    fn labels(t: &PodTemplate<'_>) -> Map<String, Value> {
        let mut labels = Map::new();
        labels.insert("app".into(), json!(t.app));
        for (k, v) in t.extra_labels {
            labels.insert((*k).into(), json!(v));
        }
        labels
    }

    fn pod_spec(t: &PodTemplate<'_>, node: Option<&str>, tolerate_all: bool) -> Value {
        let mut spec = json!({
            "containers": [{
                "name": t.container,
                "image": t.image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": t.port, "protocol": "TCP"}],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }],
            "dnsPolicy": if t.host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" },
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": t.app,
            "serviceAccountName": t.app,
            "terminationGracePeriodSeconds": 30,
        });
        if t.host_network {
            spec["hostNetwork"] = json!(true);
        }
        if tolerate_all {
            spec["tolerations"] = json!([{"operator": "Exists"}]);
        }
        if let Some(node) = node {
            spec["nodeName"] = json!(node);
        }
        spec
    }

    fn template(t: &PodTemplate<'_>, extra_labels: &[(&str, &str)], tolerate_all: bool) -> Value {
        let mut labels = Self::labels(t);
        for (k, v) in extra_labels {
            labels.insert((*k).into(), json!(v));
        }
        json!({
            "metadata": {"labels": labels},
            "spec": Self::pod_spec(t, None, tolerate_all),
        })
    }

    /// Round-robin over the workers (the control plane is tainted).
    fn next_worker(&mut self) -> usize {
        let workers = self.nodes.len().saturating_sub(1).max(1);
        let i = 1 + self.next_worker % workers;
        self.next_worker += 1;
        i.min(self.nodes.len().saturating_sub(1))
    }

    fn pod_ip(&mut self, node: usize, host_network: bool) -> String {
        let slot = &mut self.nodes[node];
        if host_network {
            return slot.ip.clone();
        }
        let n = slot.next_ip;
        slot.next_ip += 1;
        // kind gives each node a /24; past 250 pods keep going in further /24s of the /16.
        let third = (u32::from(slot.index) + 3 * (n / 250)) % 256;
        format!("10.{}.{third}.{}", self.cluster.pod_octet, n % 250 + 2)
    }

    fn image_id(image: &str) -> String {
        let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
        format!(
            "{repo}@sha256:{}",
            IdGen::new(fnv1a(image.as_bytes())).hex(64)
        )
    }

    /// Restart counts are mostly zero, with the odd crash-on-boot among the platform pods,
    /// decided by name so the world is the same every run. The demo's own workloads start
    /// clean, so nothing distracts from the story; nor does the log generator, whose one
    /// run is its whole log.
    fn restarts_for(namespace: &str, name: &str) -> u64 {
        if namespace.starts_with("trustusbank-")
            || namespace == "external-attacker"
            || namespace == crate::services::loggen::NAMESPACE
        {
            return 0;
        }
        match fnv1a(name.as_bytes()) % 11 {
            0 => 1,
            1 => 2,
            _ => 0,
        }
    }

    fn pod(&mut self, t: &PodTemplate<'_>, p: PodPlacement<'_>) -> anyhow::Result<PodRecord> {
        let PodPlacement {
            namespace,
            name,
            generate_name,
            labels,
            owner,
            node,
            created_secs_ago,
            tolerate_all,
        } = p;
        let uid = self.ids.uid();
        let node_name = self.nodes[node].name.clone();
        let host_ip = self.nodes[node].ip.clone();
        let pod_ip = self.pod_ip(node, t.host_network);
        let restarts = Self::restarts_for(namespace, name);
        let started = self.ago((created_secs_ago - 12).max(0));
        let scheduled = self.ago(created_secs_ago);
        let ready_at = self.ago((created_secs_ago - 15).max(0));
        let mut meta = self.meta(Some(namespace), name, uid.clone(), created_secs_ago);
        meta.insert("labels".into(), Value::Object(labels));
        meta.insert("ownerReferences".into(), json!([owner]));
        if let Some(prefix) = generate_name {
            meta.insert("generateName".into(), json!(prefix));
        }
        if t.ambient {
            meta.insert(
                "annotations".into(),
                json!({"ambient.istio.io/redirection": "enabled"}),
            );
        }
        let condition = |ty: &str, at: &str| json!({"type": ty, "status": "True", "lastProbeTime": null, "lastTransitionTime": at});
        let mut container_status = json!({
            "containerID": format!("containerd://{}", self.ids.hex(64)),
            "image": t.image,
            "imageID": Self::image_id(t.image),
            "name": t.container,
            "ready": true,
            "restartCount": restarts,
            "started": true,
            "state": {"running": {"startedAt": started}},
        });
        if restarts > 0 {
            container_status["lastState"] = json!({"terminated": {
                "containerID": format!("containerd://{}", self.ids.hex(64)),
                "exitCode": 1,
                "reason": "Error",
                "startedAt": self.ago(created_secs_ago - 2),
                "finishedAt": self.ago(created_secs_ago - 8),
            }});
        }
        self.put(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": Self::pod_spec(t, Some(&node_name), tolerate_all),
            "status": {
                "conditions": [
                    condition("PodReadyToStartContainers", &started),
                    condition("Initialized", &scheduled),
                    condition("Ready", &ready_at),
                    condition("ContainersReady", &ready_at),
                    condition("PodScheduled", &scheduled),
                ],
                "containerStatuses": [container_status],
                "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}],
                "phase": "Running",
                "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}],
                "qosClass": "BestEffort",
                "startTime": scheduled,
            },
        }))?;
        Ok(PodRecord {
            namespace: namespace.to_string(),
            name: name.to_string(),
            uid,
            node: node_name,
            container: t.container.to_string(),
            image: t.image.to_string(),
            created_secs_ago,
        })
    }

    fn owner(api_version: &str, kind: &str, name: &str, uid: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
               "controller": true, "blockOwnerDeletion": true})
    }

    /// A Deployment with its ReplicaSet and `replicas` running Pods.
    pub fn deployment(
        &mut self,
        namespace: &str,
        t: &PodTemplate<'_>,
        replicas: u32,
        created_secs_ago: i64,
    ) -> anyhow::Result<Vec<PodRecord>> {
        let dep_uid = self.ids.uid();
        let rs_uid = self.ids.uid();
        let hash = self.ids.suffix(10);
        let rs_name = format!("{}-{hash}", t.app);
        let selector = json!({"matchLabels": {"app": t.app}});
        let since = self.ago(created_secs_ago - 20);
        let mut dep_meta = self.meta(Some(namespace), t.app, dep_uid.clone(), created_secs_ago);
        dep_meta.insert("labels".into(), Value::Object(Self::labels(t)));
        dep_meta.insert(
            "annotations".into(),
            json!({"deployment.kubernetes.io/revision": "1"}),
        );
        dep_meta.insert("generation".into(), json!(1));
        self.put(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": dep_meta,
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": replicas,
                "revisionHistoryLimit": 10,
                "selector": selector,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": Self::template(t, &[], false),
            },
            "status": {
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.", "lastTransitionTime": since, "lastUpdateTime": since},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                     "lastTransitionTime": self.ago(created_secs_ago), "lastUpdateTime": since},
                ],
                "observedGeneration": 1,
                "readyReplicas": replicas,
                "replicas": replicas,
                "updatedReplicas": replicas,
            },
        }))?;

        let mut rs_labels = Self::labels(t);
        rs_labels.insert("pod-template-hash".into(), json!(hash));
        let mut rs_meta = self.meta(Some(namespace), &rs_name, rs_uid.clone(), created_secs_ago);
        rs_meta.insert("labels".into(), Value::Object(rs_labels.clone()));
        rs_meta.insert("annotations".into(), json!({
            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
            "deployment.kubernetes.io/max-replicas": (replicas + replicas.div_ceil(4)).to_string(),
            "deployment.kubernetes.io/revision": "1",
        }));
        rs_meta.insert(
            "ownerReferences".into(),
            json!([Self::owner("apps/v1", "Deployment", t.app, &dep_uid)]),
        );
        rs_meta.insert("generation".into(), json!(1));
        self.put(json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": rs_meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": t.app, "pod-template-hash": hash}},
                "template": Self::template(t, &[("pod-template-hash", &hash)], false),
            },
            "status": {
                "availableReplicas": replicas,
                "fullyLabeledReplicas": replicas,
                "observedGeneration": 1,
                "readyReplicas": replicas,
                "replicas": replicas,
            },
        }))?;

        let owner = Self::owner("apps/v1", "ReplicaSet", &rs_name, &rs_uid);
        let mut pods = Vec::with_capacity(replicas as usize);
        for i in 0..replicas {
            let name = format!("{rs_name}-{}", self.ids.suffix(5));
            let node = self.next_worker();
            pods.push(self.pod(
                t,
                PodPlacement {
                    namespace,
                    name: &name,
                    generate_name: Some(format!("{rs_name}-")),
                    labels: rs_labels.clone(),
                    owner: owner.clone(),
                    node,
                    created_secs_ago: created_secs_ago - 2 - i64::from(i),
                    tolerate_all: false,
                },
            )?);
        }
        Ok(pods)
    }

    /// A DaemonSet with one Pod per node (control plane included: these tolerate everything).
    pub fn daemonset(
        &mut self,
        namespace: &str,
        t: &PodTemplate<'_>,
        created_secs_ago: i64,
    ) -> anyhow::Result<Vec<PodRecord>> {
        let uid = self.ids.uid();
        let revision = self.ids.suffix(10);
        let n = self.nodes.len();
        let mut meta = self.meta(Some(namespace), t.app, uid.clone(), created_secs_ago);
        meta.insert("labels".into(), Value::Object(Self::labels(t)));
        meta.insert(
            "annotations".into(),
            json!({"deprecated.daemonset.template.generation": "1"}),
        );
        meta.insert("generation".into(), json!(1));
        self.put(json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": meta,
            "spec": {
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": t.app}},
                "template": Self::template(t, &[], true),
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            },
            "status": {
                "currentNumberScheduled": n,
                "desiredNumberScheduled": n,
                "numberAvailable": n,
                "numberMisscheduled": 0,
                "numberReady": n,
                "observedGeneration": 1,
                "updatedNumberScheduled": n,
            },
        }))?;
        let mut labels = Self::labels(t);
        labels.insert("controller-revision-hash".into(), json!(revision));
        labels.insert("pod-template-generation".into(), json!("1"));
        let owner = Self::owner("apps/v1", "DaemonSet", t.app, &uid);
        let mut pods = Vec::with_capacity(n);
        for node in 0..n {
            let name = format!("{}-{}", t.app, self.ids.suffix(5));
            pods.push(self.pod(
                t,
                PodPlacement {
                    namespace,
                    name: &name,
                    generate_name: Some(format!("{}-", t.app)),
                    labels: labels.clone(),
                    owner: owner.clone(),
                    node,
                    created_secs_ago: created_secs_ago - 2 - node as i64,
                    tolerate_all: true,
                },
            )?);
        }
        Ok(pods)
    }

    /// A kubelet static pod on the control plane (`etcd-<node>`), owned by its Node.
    pub fn static_pod(
        &mut self,
        component: &str,
        image: &str,
        port: u16,
        created_secs_ago: i64,
    ) -> anyhow::Result<()> {
        let (node_name, node_uid) = (self.nodes[0].name.clone(), self.nodes[0].uid.clone());
        let t = PodTemplate {
            app: component,
            container: component,
            image,
            port,
            host_network: true,
            extra_labels: &[("component", component), ("tier", "control-plane")],
            ambient: false,
        };
        let name = format!("{component}-{node_name}");
        let owner = Self::owner("v1", "Node", &node_name, &node_uid);
        self.pod(
            &t,
            PodPlacement {
                namespace: "kube-system",
                name: &name,
                generate_name: None,
                labels: Self::labels(&t),
                owner,
                node: 0,
                created_secs_ago,
                tolerate_all: true,
            },
        )?;
        Ok(())
    }
}
