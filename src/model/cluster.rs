//! One cluster as the screen knows it: reachability, pods grouped by namespace,
//! deployments and recent events, and the pane's scroll position.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, FixedOffset};

use crate::msg::cluster::{
    DeploymentSummary, EventSummary, PodKey, PodSummary, PolicySummary, ResourceMsg,
    is_demo_namespace,
};

/// Recent events kept per cluster; older ones fall off.
const EVENTS_KEPT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// No answer yet since start.
    Connecting,
    Reachable,
    Unreachable {
        since: DateTime<FixedOffset>,
        error: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceCount {
    pub total: usize,
    pub ready: usize,
}

#[derive(Debug, Clone)]
pub struct ClusterModel {
    pub name: String,
    pub context: String,
    /// The kubeconfig skips TLS verification for this cluster (`insecure-skip-tls-verify`).
    pub insecure: bool,
    pub reach: Reachability,
    /// True once the first full pod list arrived.
    pub pods_synced: bool,
    pub pods: BTreeMap<PodKey, PodSummary>,
    pub namespaces: BTreeMap<String, NamespaceCount>,
    pub pods_ready: usize,
    pub deployments: BTreeMap<PodKey, DeploymentSummary>,
    pub policies: BTreeMap<PodKey, PolicySummary>,
    /// The deployment always shown with its image (the demo's tool); others only while
    /// they roll out.
    pub pinned_deployment: Option<PodKey>,
    pub events: VecDeque<EventSummary>,
    /// Last watch error, shown under the title while the cluster still answers.
    pub last_error: Option<String>,
    /// First visible row of the pod list (namespace headers count as rows).
    pub scroll: usize,
}

impl ClusterModel {
    pub fn new(name: String, context: String) -> ClusterModel {
        ClusterModel {
            name,
            context,
            insecure: false,
            reach: Reachability::Connecting,
            pods_synced: false,
            pods: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            pods_ready: 0,
            deployments: BTreeMap::new(),
            policies: BTreeMap::new(),
            pinned_deployment: None,
            events: VecDeque::new(),
            last_error: None,
            scroll: 0,
        }
    }

    pub fn pods_total(&self) -> usize {
        self.pods.len()
    }

    /// Rows of the pod list: one header per namespace plus one per pod.
    pub fn row_count(&self) -> usize {
        let policy_rows = if self.policies.is_empty() {
            0
        } else {
            self.policies.len() + 1
        };
        let deployment_rows = self
            .deployments
            .values()
            .filter(|d| self.shows_deployment(d))
            .count();
        policy_rows + self.namespaces.len() + deployment_rows + self.pods.len()
    }

    fn shows_deployment(&self, d: &DeploymentSummary) -> bool {
        is_demo_namespace(&d.namespace)
            && (d.rolling_out()
                || self
                    .pinned_deployment
                    .as_ref()
                    .is_some_and(|(ns, n)| *ns == d.namespace && *n == d.name))
    }

    /// Deployments shown under their namespace header with image and rollout progress:
    /// the demo's tool always, the demo's other workloads while they roll out.
    pub fn shown_deployments<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a DeploymentSummary> + 'a {
        self.deployments
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, d)| d)
            .filter(|d| self.shows_deployment(d))
    }

    /// Namespaces in pane order: the demo's own first, then the rest, each alphabetically.
    pub fn namespace_order(&self) -> impl Iterator<Item = (&str, &NamespaceCount)> {
        let demo = self
            .namespaces
            .iter()
            .filter(|(ns, _)| is_demo_namespace(ns));
        let rest = self
            .namespaces
            .iter()
            .filter(|(ns, _)| !is_demo_namespace(ns));
        demo.chain(rest).map(|(ns, c)| (ns.as_str(), c))
    }

    /// The pods of one namespace, by name.
    pub fn pods_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a PodSummary> + 'a {
        self.pods
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, p)| p)
    }

    pub fn apply_pods(&mut self, msg: ResourceMsg<PodSummary>) {
        match msg {
            ResourceMsg::Reset(pods) => {
                self.pods.clear();
                self.namespaces.clear();
                self.pods_ready = 0;
                for pod in pods {
                    self.insert_pod(pod);
                }
                self.pods_synced = true;
            }
            ResourceMsg::Applied(pod) => self.insert_pod(pod),
            ResourceMsg::Deleted(key) => {
                self.remove_pod(&key);
            }
        }
        self.clamp_scroll(0);
    }

    fn insert_pod(&mut self, pod: PodSummary) {
        let key = pod.key();
        self.remove_pod(&key);
        let count = self.namespaces.entry(pod.namespace.clone()).or_default();
        count.total += 1;
        if pod.is_ready() {
            count.ready += 1;
            self.pods_ready += 1;
        }
        self.pods.insert(key, pod);
    }

    fn remove_pod(&mut self, key: &PodKey) -> Option<PodSummary> {
        let old = self.pods.remove(key)?;
        if let Some(count) = self.namespaces.get_mut(&old.namespace) {
            count.total -= 1;
            if old.is_ready() {
                count.ready -= 1;
            }
            if count.total == 0 {
                self.namespaces.remove(&old.namespace);
            }
        }
        if old.is_ready() {
            self.pods_ready -= 1;
        }
        Some(old)
    }

    pub fn apply_deployments(&mut self, msg: ResourceMsg<DeploymentSummary>) {
        match msg {
            ResourceMsg::Reset(list) => {
                self.deployments = list.into_iter().map(|d| (d.key(), d)).collect();
            }
            ResourceMsg::Applied(d) => {
                self.deployments.insert(d.key(), d);
            }
            ResourceMsg::Deleted(key) => {
                self.deployments.remove(&key);
            }
        }
    }

    pub fn apply_policies(&mut self, msg: ResourceMsg<PolicySummary>) {
        match msg {
            ResourceMsg::Reset(list) => {
                self.policies = list.into_iter().map(|p| (p.key(), p)).collect()
            }
            ResourceMsg::Applied(p) => {
                self.policies.insert(p.key(), p);
            }
            ResourceMsg::Deleted(key) => {
                self.policies.remove(&key);
            }
        }
    }

    pub fn apply_events(&mut self, msg: ResourceMsg<EventSummary>) {
        match msg {
            ResourceMsg::Reset(mut list) => {
                list.sort_by_key(|e| e.last_seen);
                let skip = list.len().saturating_sub(EVENTS_KEPT);
                self.events = list.into_iter().skip(skip).collect();
            }
            ResourceMsg::Applied(e) => {
                // An updated event (count bumped) moves to the newest position.
                self.events.retain(|old| old.key() != e.key());
                self.events.push_back(e);
                while self.events.len() > EVENTS_KEPT {
                    self.events.pop_front();
                }
            }
            ResourceMsg::Deleted(key) => self.events.retain(|e| e.key() != key),
        }
    }

    /// Moves the first visible row by `delta`, keeping a full page visible where possible.
    pub fn scroll_by(&mut self, delta: isize, page: usize) {
        let target = if delta < 0 {
            self.scroll.saturating_sub(delta.unsigned_abs())
        } else {
            self.scroll.saturating_add(delta.unsigned_abs())
        };
        self.scroll = target;
        self.clamp_scroll(page);
    }

    pub fn scroll_to_end(&mut self, page: usize) {
        self.scroll = usize::MAX;
        self.clamp_scroll(page);
    }

    fn clamp_scroll(&mut self, page: usize) {
        let max = self.row_count().saturating_sub(page.max(1));
        self.scroll = self.scroll.min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PodPhase;

    fn pod(ns: &str, name: &str, ready: bool) -> PodSummary {
        PodSummary {
            namespace: ns.into(),
            name: name.into(),
            ready: u16::from(ready),
            containers: 1,
            phase: if ready {
                PodPhase::Running
            } else {
                PodPhase::Starting("Pending".into())
            },
            restarts: 0,
            created: None,
            image: None,
            node: None,
        }
    }

    #[test]
    fn counters_follow_applies_and_deletes() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        c.apply_pods(ResourceMsg::Reset(vec![
            pod("a", "1", true),
            pod("a", "2", false),
            pod("b", "1", true),
        ]));
        assert_eq!((c.pods_ready, c.pods_total(), c.row_count()), (2, 3, 5));
        c.apply_pods(ResourceMsg::Applied(pod("a", "2", true)));
        assert_eq!(c.pods_ready, 3);
        assert_eq!(c.namespaces["a"], NamespaceCount { total: 2, ready: 2 });
        c.apply_pods(ResourceMsg::Deleted(("b".into(), "1".into())));
        assert_eq!((c.pods_ready, c.pods_total(), c.row_count()), (2, 2, 3));
        assert!(!c.namespaces.contains_key("b"));
        c.apply_pods(ResourceMsg::Deleted(("zz".into(), "missing".into())));
        assert_eq!(c.pods_total(), 2);
    }

    #[test]
    fn scroll_is_clamped() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        c.apply_pods(ResourceMsg::Reset(
            (0..10).map(|i| pod("a", &i.to_string(), true)).collect(),
        ));
        c.scroll_by(100, 5);
        assert_eq!(c.scroll, 6);
        c.scroll_by(-3, 5);
        assert_eq!(c.scroll, 3);
        c.scroll_by(-30, 5);
        assert_eq!(c.scroll, 0);
        c.scroll_to_end(5);
        assert_eq!(c.scroll, 6);
        c.apply_pods(ResourceMsg::Reset(vec![pod("a", "1", true)]));
        assert_eq!(c.scroll, 1);
    }

    #[test]
    fn events_are_bounded_and_updated_in_place() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        for i in 0..(EVENTS_KEPT + 10) {
            c.apply_events(ResourceMsg::Applied(EventSummary {
                namespace: "n".into(),
                name: format!("e{i}"),
                warning: false,
                reason: "Pulled".into(),
                object: "pod/x".into(),
                message: String::new(),
                count: 1,
                last_seen: None,
            }));
        }
        assert_eq!(c.events.len(), EVENTS_KEPT);
    }
}
