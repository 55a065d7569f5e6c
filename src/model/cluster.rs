//! One cluster as the screen knows it: reachability, pods grouped by namespace,
//! deployments and recent events, and the pane's scroll position.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, FixedOffset};

use super::filter::Filter;
use super::rows::RowKey;
use crate::msg::cluster::{
    DaemonSetSummary, DeploymentSummary, EventSummary, PodKey, PodSummary, PolicySummary,
    ResourceMsg, is_demo_namespace,
};

/// Recent events kept per cluster (what `E` merges); older ones fall off.
const EVENTS_KEPT: usize = 1000;

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
    /// Pods neither ready nor done.
    pub troubled: usize,
}

impl NamespaceCount {
    fn add(&mut self, p: &PodSummary) {
        self.total += 1;
        self.ready += usize::from(p.is_ready());
        self.troubled += usize::from(p.is_troubled());
    }

    fn remove(&mut self, p: &PodSummary) {
        self.total -= 1;
        self.ready -= usize::from(p.is_ready());
        self.troubled -= usize::from(p.is_troubled());
    }
}

/// The pods the filter matches, kept as pods come and go so a frame never recomputes them.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    pub pods: BTreeSet<PodKey>,
    pub per_ns: BTreeMap<String, NamespaceCount>,
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
    /// True once the first full lists of deployments, DaemonSets and events arrived (what
    /// the headless `problems` waits for besides the pods).
    pub workloads_synced: (bool, bool),
    pub events_synced: bool,
    pub pods: BTreeMap<PodKey, PodSummary>,
    pub namespaces: BTreeMap<String, NamespaceCount>,
    pub pods_ready: usize,
    pub deployments: BTreeMap<PodKey, DeploymentSummary>,
    pub daemonsets: BTreeMap<PodKey, DaemonSetSummary>,
    /// The images each Deployment and DaemonSet (`deployment/…`, `daemonset/…` in its
    /// namespace) ran when first seen: `I` marks what changed while we watched.
    pub first_images: BTreeMap<(String, String), Vec<String>>,
    pub policies: BTreeMap<PodKey, PolicySummary>,
    /// The deployment always shown with its image (the demo's tool); others only while
    /// they roll out.
    pub pinned_deployment: Option<PodKey>,
    pub events: VecDeque<EventSummary>,
    /// Last watch error, shown under the title while the cluster still answers.
    pub last_error: Option<String>,
    /// First visible row of the pod list (namespace headers count as rows).
    pub scroll: usize,
    /// The selected row, by key: it stays on the same object when rows come and go.
    pub cursor: Option<RowKey>,
    /// Where the cursor last stood, to land on a neighbour when its row goes.
    pub cursor_hint: usize,
    /// The `/` filter, as every pane applies it.
    pub filter: Option<Filter>,
    pub matched: Matched,
    /// Namespaces that play no part in the story: folded to one row while all is well.
    pub fold: BTreeSet<String>,
    /// Folded namespaces opened one by one (Enter on their row).
    pub expanded: BTreeSet<String>,
    /// `f`: every namespace unfolded.
    pub unfold_all: bool,
}

impl ClusterModel {
    pub fn new(name: String, context: String) -> ClusterModel {
        ClusterModel {
            name,
            context,
            insecure: false,
            reach: Reachability::Connecting,
            pods_synced: false,
            workloads_synced: (false, false),
            events_synced: false,
            pods: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            pods_ready: 0,
            deployments: BTreeMap::new(),
            daemonsets: BTreeMap::new(),
            first_images: BTreeMap::new(),
            policies: BTreeMap::new(),
            pinned_deployment: None,
            events: VecDeque::new(),
            last_error: None,
            scroll: 0,
            cursor: None,
            cursor_hint: 0,
            filter: None,
            matched: Matched::default(),
            fold: BTreeSet::new(),
            expanded: BTreeSet::new(),
            unfold_all: false,
        }
    }

    /// Whether `namespace` shows as one summary row: it is on the fold list, not opened,
    /// no filter is looking into it, and none of its pods is in trouble.
    pub fn folded(&self, namespace: &str, count: &NamespaceCount) -> bool {
        !self.unfold_all
            && self.filter.is_none()
            && count.troubled == 0
            && self.fold.contains(namespace)
            && !self.expanded.contains(namespace)
    }

    /// Enter on a namespace row: a foldable namespace opens or closes. False for one that
    /// does not fold.
    pub fn toggle_fold(&mut self, namespace: &str) -> bool {
        if !self.fold.contains(namespace) {
            return false;
        }
        if !self.expanded.remove(namespace) {
            self.expanded.insert(namespace.to_string());
        }
        self.repair_cursor();
        true
    }

    /// `f`: every namespace open, or the fold list back.
    pub fn set_unfold_all(&mut self, all: bool) {
        self.unfold_all = all;
        if !all {
            self.expanded.clear();
        }
        self.repair_cursor();
    }

    /// Applies (or clears) the filter: the matches are worked out once here, then kept up
    /// to date pod by pod.
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.matched = Matched::default();
        if let Some(f) = &filter {
            // One pass over the pods in key order: the matches come out sorted, so the set
            // is built in bulk, and each namespace's counts are added once, not per pod.
            let mut keys: Vec<PodKey> = Vec::new();
            let mut run: Option<(&str, NamespaceCount)> = None;
            for p in self.pods.values() {
                if !f.matches_pod(p) {
                    continue;
                }
                match &mut run {
                    Some((ns, count)) if *ns == p.namespace => count.add(p),
                    _ => {
                        if let Some((ns, count)) = run.take() {
                            self.matched.per_ns.insert(ns.to_string(), count);
                        }
                        let mut count = NamespaceCount::default();
                        count.add(p);
                        run = Some((p.namespace.as_str(), count));
                    }
                }
                keys.push(p.key());
            }
            if let Some((ns, count)) = run {
                self.matched.per_ns.insert(ns.to_string(), count);
            }
            self.matched.pods = keys.into_iter().collect();
        }
        self.filter = filter;
        self.scroll = 0;
        self.repair_cursor();
    }

    /// Everything the problems view reads has been listed once.
    pub fn fully_synced(&self) -> bool {
        self.pods_synced && self.workloads_synced == (true, true) && self.events_synced
    }

    /// Pods shown under the filter (all of them without one).
    pub fn pods_shown(&self) -> usize {
        match self.filter {
            Some(_) => self.matched.pods.len(),
            None => self.pods.len(),
        }
    }

    pub fn pods_total(&self) -> usize {
        self.pods.len()
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
                self.note_cursor_before(&RowKey::Pod(key.clone()));
                self.remove_pod(&key);
            }
        }
        self.repair_cursor();
    }

    fn insert_pod(&mut self, pod: PodSummary) {
        let key = pod.key();
        self.remove_pod(&key);
        self.namespaces
            .entry(pod.namespace.clone())
            .or_default()
            .add(&pod);
        if pod.is_ready() {
            self.pods_ready += 1;
        }
        if let Some(f) = &self.filter
            && f.matches_pod(&pod)
        {
            self.matched
                .per_ns
                .entry(pod.namespace.clone())
                .or_default()
                .add(&pod);
            self.matched.pods.insert(key.clone());
        }
        self.pods.insert(key, pod);
    }

    fn remove_pod(&mut self, key: &PodKey) -> Option<PodSummary> {
        let old = self.pods.remove(key)?;
        if let Some(count) = self.namespaces.get_mut(&old.namespace) {
            count.remove(&old);
            if count.total == 0 {
                self.namespaces.remove(&old.namespace);
            }
        }
        if old.is_ready() {
            self.pods_ready -= 1;
        }
        if self.matched.pods.remove(key)
            && let Some(count) = self.matched.per_ns.get_mut(&old.namespace)
        {
            count.remove(&old);
            if count.total == 0 {
                self.matched.per_ns.remove(&old.namespace);
            }
        }
        Some(old)
    }

    fn remember_images(&mut self, kind: &str, namespace: &str, name: &str, images: &[String]) {
        self.first_images
            .entry((namespace.to_string(), format!("{kind}/{name}")))
            .or_insert_with(|| images.to_vec());
    }

    pub fn apply_deployments(&mut self, msg: ResourceMsg<DeploymentSummary>) {
        match &msg {
            ResourceMsg::Reset(list) => {
                for d in list {
                    self.remember_images("deployment", &d.namespace, &d.name, &d.images);
                }
            }
            ResourceMsg::Applied(d) => {
                self.remember_images("deployment", &d.namespace, &d.name, &d.images)
            }
            ResourceMsg::Deleted((ns, name)) => {
                self.first_images
                    .remove(&(ns.clone(), format!("deployment/{name}")));
            }
        }
        match msg {
            ResourceMsg::Reset(list) => {
                self.deployments = list.into_iter().map(|d| (d.key(), d)).collect();
                self.workloads_synced.0 = true;
            }
            ResourceMsg::Applied(d) => {
                self.deployments.insert(d.key(), d);
            }
            ResourceMsg::Deleted(key) => {
                self.note_cursor_before(&RowKey::Deployment(key.clone()));
                self.deployments.remove(&key);
            }
        }
        self.repair_cursor();
    }

    pub fn apply_daemonsets(&mut self, msg: ResourceMsg<DaemonSetSummary>) {
        match &msg {
            ResourceMsg::Reset(list) => {
                for d in list {
                    self.remember_images("daemonset", &d.namespace, &d.name, &d.images);
                }
            }
            ResourceMsg::Applied(d) => {
                self.remember_images("daemonset", &d.namespace, &d.name, &d.images)
            }
            ResourceMsg::Deleted((ns, name)) => {
                self.first_images
                    .remove(&(ns.clone(), format!("daemonset/{name}")));
            }
        }
        match msg {
            ResourceMsg::Reset(list) => {
                self.daemonsets = list.into_iter().map(|d| (d.key(), d)).collect();
                self.workloads_synced.1 = true;
            }
            ResourceMsg::Applied(d) => {
                self.daemonsets.insert(d.key(), d);
            }
            ResourceMsg::Deleted(key) => {
                self.daemonsets.remove(&key);
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
                self.note_cursor_before(&RowKey::Policy(key.clone()));
                self.policies.remove(&key);
            }
        }
        self.repair_cursor();
    }

    pub fn apply_events(&mut self, msg: ResourceMsg<EventSummary>) {
        match msg {
            ResourceMsg::Reset(mut list) => {
                self.events_synced = true;
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
            message: None,
            last_restart: None,
            ready_since: None,
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
        assert_eq!(
            c.namespaces["a"],
            NamespaceCount {
                total: 2,
                ready: 2,
                troubled: 0
            }
        );
        c.apply_pods(ResourceMsg::Deleted(("b".into(), "1".into())));
        assert_eq!((c.pods_ready, c.pods_total(), c.row_count()), (2, 2, 3));
        assert!(!c.namespaces.contains_key("b"));
        c.apply_pods(ResourceMsg::Deleted(("zz".into(), "missing".into())));
        assert_eq!(c.pods_total(), 2);
    }

    #[test]
    fn the_cursor_moves_clamped_and_the_scroll_keeps_it_in_a_page() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        c.apply_pods(ResourceMsg::Reset(
            (0..10).map(|i| pod("a", &i.to_string(), true)).collect(),
        ));
        // 11 rows: the namespace header and 10 pods.
        assert_eq!(c.row_count(), 11);
        c.move_cursor(1, 5);
        assert_eq!(
            c.cursor,
            Some(RowKey::Namespace("a".into())),
            "the first move lands on the first row"
        );
        c.move_cursor(100, 5);
        assert_eq!(c.cursor, Some(RowKey::Pod(("a".into(), "9".into()))));
        assert_eq!(c.scroll, 6, "the last row at the bottom of the page");
        c.move_cursor(-3, 5);
        assert_eq!(c.scroll, 6, "still in the page");
        c.move_cursor(-30, 5);
        assert_eq!(c.cursor, Some(RowKey::Namespace("a".into())));
        assert_eq!(c.scroll, 0);
        c.cursor_to_end(true, 5);
        assert_eq!(c.scroll, 6);
        c.apply_pods(ResourceMsg::Reset(vec![pod("a", "1", true)]));
        assert_eq!(
            c.cursor,
            Some(RowKey::Pod(("a".into(), "1".into()))),
            "a cursor whose row went lands on the row where it stood, clamped"
        );
        assert_eq!(c.visible_from(5), 0, "the view brings it into sight");
    }

    #[test]
    fn the_selection_stays_on_its_object_and_moves_to_a_neighbour_when_it_goes() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        c.apply_pods(ResourceMsg::Reset(vec![
            pod("a", "p2", true),
            pod("a", "p4", true),
            pod("a", "p6", true),
        ]));
        c.move_cursor(0, 10);
        c.move_cursor(2, 10);
        let p4 = RowKey::Pod(("a".into(), "p4".into()));
        assert_eq!(c.cursor, Some(p4.clone()));
        // Rows inserted above: the same pod stays selected, now lower down.
        c.apply_pods(ResourceMsg::Applied(pod("a", "p1", true)));
        c.apply_pods(ResourceMsg::Applied(pod("a", "p3", true)));
        assert_eq!(c.cursor, Some(p4.clone()));
        assert_eq!(c.cursor_row().map(|(_, i)| i), Some(4));
        // The selected pod goes: its neighbour below takes the cursor.
        c.apply_pods(ResourceMsg::Deleted(("a".into(), "p4".into())));
        assert_eq!(c.cursor, Some(RowKey::Pod(("a".into(), "p6".into()))));
        // The last one goes: the one above.
        c.apply_pods(ResourceMsg::Deleted(("a".into(), "p6".into())));
        assert_eq!(c.cursor, Some(RowKey::Pod(("a".into(), "p3".into()))));
    }

    #[test]
    fn the_filter_keeps_counts_as_pods_come_and_go() {
        let mut c = ClusterModel::new("vendor".into(), "ctx".into());
        c.apply_pods(ResourceMsg::Reset(vec![
            pod("trustusbank-bank-vendors", "currency-converter-1", true),
            pod("istio-system", "ztunnel-a", true),
        ]));
        c.set_filter(super::super::filter::Filter::parse("currency").unwrap());
        assert_eq!((c.pods_shown(), c.pods_total()), (1, 2));
        assert_eq!(c.row_count(), 2, "one namespace, one pod");
        c.apply_pods(ResourceMsg::Applied(pod(
            "trustusbank-bank-vendors",
            "currency-converter-2",
            false,
        )));
        c.apply_pods(ResourceMsg::Applied(pod("istio-system", "ztunnel-b", true)));
        assert_eq!((c.pods_shown(), c.pods_total()), (2, 4));
        assert_eq!(
            c.matched.per_ns["trustusbank-bank-vendors"],
            NamespaceCount {
                total: 2,
                ready: 1,
                troubled: 1
            }
        );
        c.apply_pods(ResourceMsg::Deleted((
            "trustusbank-bank-vendors".into(),
            "currency-converter-1".into(),
        )));
        assert_eq!(c.pods_shown(), 1);
        c.set_filter(None);
        assert_eq!((c.pods_shown(), c.row_count()), (3, 5));
    }

    #[test]
    fn row_count_and_row_index_agree_with_the_rows_drawn() {
        use std::ops::ControlFlow;
        let mut c = ClusterModel::new("vendor".into(), "ctx".into());
        c.pinned_deployment = Some(("trustusbank-bank-vendors".into(), "cc".into()));
        c.apply_policies(ResourceMsg::Reset(vec![PolicySummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: "deny".into(),
            action: "DENY ALL".into(),
            sources: Vec::new(),
            created: None,
        }]));
        c.apply_deployments(ResourceMsg::Reset(vec![DeploymentSummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: "cc".into(),
            replicas: 1,
            status_replicas: 1,
            ready: 1,
            updated: 1,
            available: 1,
            image: None,
            images: vec!["cc:1".into()],
            generation: 1,
            observed_generation: 1,
            unavailable_since: None,
        }]));
        let mut pods = vec![pod("trustusbank-bank-vendors", "cc-1", true)];
        for ns in ["a", "b", "kube-system"] {
            for i in 0..7 {
                pods.push(pod(ns, &format!("{ns}-pod-{i}"), i % 2 == 0));
            }
        }
        c.apply_pods(ResourceMsg::Reset(pods));
        c.fold = ["kube-system".to_string(), "b".to_string()].into();
        for (filter, unfold) in [
            (None, false),
            (None, true),
            (Some("pod-3"), false),
            (Some("re:^(cc|a-)"), false),
            (Some("nothing"), false),
        ] {
            c.set_unfold_all(unfold);
            c.set_filter(filter.and_then(|f| Filter::parse(f).unwrap()));
            let mut seen = 0;
            c.visit_rows(0, |i, r| {
                assert_eq!(
                    c.row_index(&r.key()),
                    Some(i),
                    "{:?} under {filter:?}",
                    r.key()
                );
                assert_eq!(c.row_at(i), Some(r.key()));
                seen += 1;
                ControlFlow::Continue(())
            });
            assert_eq!(c.row_count(), seen, "under {filter:?}");
        }
        assert_eq!(c.row_index(&RowKey::Pod(("a".into(), "gone".into()))), None);
    }

    #[test]
    fn platform_namespaces_fold_until_a_pod_is_in_trouble() {
        let mut c = ClusterModel::new("edge".into(), "ctx".into());
        c.fold = ["kube-system".to_string()].into();
        c.apply_pods(ResourceMsg::Reset(vec![
            pod("kube-system", "coredns-1", true),
            pod("kube-system", "coredns-2", true),
            pod("web", "front-1", true),
        ]));
        // web's header and pod, kube-system's one row.
        assert_eq!(c.row_count(), 3);
        assert!(
            c.row_index(&RowKey::Pod(("kube-system".into(), "coredns-1".into())))
                .is_none()
        );
        // Trouble unfolds it.
        c.apply_pods(ResourceMsg::Applied(pod("kube-system", "coredns-2", false)));
        assert_eq!(c.row_count(), 5);
        c.apply_pods(ResourceMsg::Applied(pod("kube-system", "coredns-2", true)));
        assert_eq!(c.row_count(), 3);
        // Enter opens one; f opens all; f again folds them back.
        c.move_cursor(0, 10);
        assert_eq!(c.cursor, Some(RowKey::Namespace("kube-system".into())));
        assert!(c.toggle_fold("kube-system"));
        assert!(!c.toggle_fold("web"), "web does not fold");
        assert_eq!(c.row_count(), 5);
        assert!(c.select(&RowKey::Pod(("kube-system".into(), "coredns-2".into())), 10));
        c.set_unfold_all(false);
        assert_eq!(c.row_count(), 3, "the opened one folds again");
        assert_eq!(
            c.cursor,
            Some(RowKey::Namespace("kube-system".into())),
            "a cursor on a pod that folds away lands on its neighbour, the summary row"
        );
        c.set_unfold_all(true);
        assert_eq!(c.row_count(), 5);
        // A filter looks into folded namespaces.
        c.set_unfold_all(false);
        c.set_filter(Filter::parse("coredns").unwrap());
        assert_eq!(c.row_count(), 3);
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
