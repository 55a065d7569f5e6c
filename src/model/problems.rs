//! `!`: what an operator must look at, in every cluster at once — pods failing or not ready
//! for more than a few seconds, pods restarting, workloads below their desired replicas,
//! Warning events of the last 15 minutes, clusters that do not answer.
//!
//! Kept incrementally: each cluster message updates the problems of the objects it carries
//! (a relist redoes that cluster's), so a frame only walks the problems, never the pods. The
//! order (newest first) is an index kept alongside. Time-bound problems (a grace period
//! before a starting pod counts, 15 minutes for events and restarts) are judged when read,
//! against the model's clock, so nothing needs recomputing as time passes.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use crate::msg::ClusterMsg;
use crate::msg::cluster::{
    DaemonSetSummary, DeploymentSummary, EventSummary, PodKey, PodPhase, PodSummary, ResourceMsg,
};

/// A pod starting, or running but not ready, counts once it has been so this long.
pub const GRACE: TimeDelta = TimeDelta::seconds(10);
/// A workload below its replicas counts once it has been so this long (a rollout passes).
pub const WORKLOAD_GRACE: TimeDelta = TimeDelta::seconds(30);
/// Warning events and restarts count for this long.
pub const RECENT: TimeDelta = TimeDelta::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Cluster,
    Pod,
    Deployment,
    DaemonSet,
    Event,
}

/// One problem per object (and per event).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProblemKey {
    pub cluster: usize,
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Broken: failing, unreachable.
    Danger,
    /// Degraded or worth a look.
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: ProblemKey,
    /// `pod/x`, `deployment/x`, an event's object, or `cluster`.
    pub object: String,
    /// `ImagePullBackOff`, `Pending`, `not ready 0/1`, `2/3 ready`, `Warning BackOff` …
    pub what: String,
    pub since: DateTime<Utc>,
    pub message: String,
    pub severity: Severity,
    /// Not shown before this (a grace period).
    pub from: Option<DateTime<Utc>>,
    /// Not shown from this on.
    pub until: Option<DateTime<Utc>>,
    /// For an event: its reason and count, and whether a newer event of the same object and
    /// reason stands for it (the kubelet writes several `Failed` events for one pull).
    pub event: Option<EventPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPart {
    pub reason: String,
    pub count: i32,
    pub shadowed: bool,
}

impl Problem {
    /// Whether it counts at `now`.
    pub fn current(&self, now: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= now)
            && self.until.is_none_or(|u| now < u)
            && !self.event.as_ref().is_some_and(|e| e.shadowed)
    }
}

/// Events of one object with one reason, shown as one problem.
type EventGroup = (usize, String, String, String);

fn group_of(p: &Problem) -> Option<EventGroup> {
    let e = p.event.as_ref()?;
    Some((
        p.key.cluster,
        p.key.namespace.clone(),
        p.object.clone(),
        e.reason.clone(),
    ))
}

#[derive(Debug, Clone, Default)]
pub struct ProblemsModel {
    by_key: HashMap<ProblemKey, Problem>,
    /// Newest first.
    order: BTreeSet<(Reverse<DateTime<Utc>>, ProblemKey)>,
    /// The events of each (cluster, namespace, object, reason).
    groups: HashMap<EventGroup, BTreeSet<ProblemKey>>,
}

impl ProblemsModel {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every problem, newest first, current or not.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.order.iter().filter_map(|(_, k)| self.by_key.get(k))
    }

    pub fn get(&self, key: &ProblemKey) -> Option<&Problem> {
        self.by_key.get(key)
    }

    fn set(&mut self, key: ProblemKey, problem: Option<Problem>) {
        let mut touched = Vec::new();
        if let Some(old) = self.by_key.remove(&key) {
            self.order.remove(&(Reverse(old.since), key.clone()));
            if let Some(g) = group_of(&old) {
                if let Some(members) = self.groups.get_mut(&g) {
                    members.remove(&key);
                    if members.is_empty() {
                        self.groups.remove(&g);
                    }
                }
                touched.push(g);
            }
        }
        if let Some(p) = problem {
            if let Some(g) = group_of(&p) {
                self.groups
                    .entry(g.clone())
                    .or_default()
                    .insert(key.clone());
                touched.push(g);
            }
            self.order.insert((Reverse(p.since), key.clone()));
            self.by_key.insert(key, p);
        }
        for g in touched {
            self.regroup(&g);
        }
    }

    /// The newest event of a group stands for all of them, with their counts summed.
    fn regroup(&mut self, group: &EventGroup) {
        let Some(members) = self.groups.get(group) else {
            return;
        };
        let newest = members
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .max_by_key(|p| p.since)
            .map(|p| p.key.clone());
        let total: i32 = members
            .iter()
            .filter_map(|k| self.by_key.get(k)?.event.as_ref().map(|e| e.count.max(1)))
            .sum();
        for k in members.clone() {
            let Some(p) = self.by_key.get_mut(&k) else {
                continue;
            };
            let Some(e) = p.event.as_mut() else {
                continue;
            };
            e.shadowed = Some(&k) != newest.as_ref();
            p.what = if total > 1 {
                format!("{} ×{total}", e.reason)
            } else {
                e.reason.clone()
            };
        }
    }

    fn clear_kind(&mut self, cluster: usize, kind: Kind) {
        let gone: Vec<ProblemKey> = self
            .by_key
            .keys()
            .filter(|k| k.cluster == cluster && k.kind == kind)
            .cloned()
            .collect();
        for k in gone {
            self.set(k, None);
        }
    }

    /// Everything about a cluster goes (it was removed from the config, or tests reset it).
    pub fn forget_cluster(&mut self, cluster: usize) {
        for kind in [
            Kind::Cluster,
            Kind::Pod,
            Kind::Deployment,
            Kind::DaemonSet,
            Kind::Event,
        ] {
            self.clear_kind(cluster, kind);
        }
    }

    /// Takes in what a cluster message says, before the cluster model applies it. `now` is
    /// the model's clock, for problems the API gives no time for.
    pub fn observe(&mut self, cluster: usize, msg: &ClusterMsg, now: DateTime<Utc>) {
        match msg {
            ClusterMsg::Reachable => self.set(key(cluster, Kind::Cluster, "", ""), None),
            ClusterMsg::Unreachable { at, error } => {
                let k = key(cluster, Kind::Cluster, "", "");
                // The first moment it went away stays.
                let since = self
                    .by_key
                    .get(&k)
                    .map(|p| p.since)
                    .unwrap_or_else(|| at.with_timezone(&Utc));
                let p = Problem {
                    key: k.clone(),
                    object: "cluster".into(),
                    what: "unreachable".into(),
                    since,
                    message: error.clone(),
                    severity: Severity::Danger,
                    from: None,
                    until: None,
                    event: None,
                };
                self.set(k, Some(p));
            }
            ClusterMsg::WatchError(_) | ClusterMsg::Policies(_) => {}
            ClusterMsg::Pods(m) => {
                self.observe_kind(cluster, Kind::Pod, m, |c, p| pod_problem(c, p, now))
            }
            ClusterMsg::Deployments(m) => {
                self.observe_kind(cluster, Kind::Deployment, m, |c, d| {
                    deployment_problem(c, d, now)
                })
            }
            ClusterMsg::DaemonSets(m) => self.observe_kind(cluster, Kind::DaemonSet, m, |c, d| {
                daemonset_problem(c, d, now)
            }),
            ClusterMsg::Events(m) => self.observe_kind(cluster, Kind::Event, m, event_problem),
        }
    }

    fn observe_kind<T: Keyed>(
        &mut self,
        cluster: usize,
        kind: Kind,
        msg: &ResourceMsg<T>,
        judge: impl Fn(usize, &T) -> Option<Problem>,
    ) {
        match msg {
            ResourceMsg::Reset(list) => {
                // What was a problem before the relist keeps its first-seen time.
                let before: HashMap<ProblemKey, DateTime<Utc>> = self
                    .by_key
                    .iter()
                    .filter(|(k, _)| k.cluster == cluster && k.kind == kind)
                    .map(|(k, p)| (k.clone(), p.since))
                    .collect();
                self.clear_kind(cluster, kind);
                for item in list {
                    let k = item.problem_key(cluster, kind);
                    let p = judge(cluster, item).map(|p| keep_since(p, before.get(&k).copied()));
                    self.set(k, p);
                }
            }
            ResourceMsg::Applied(item) => {
                let k = item.problem_key(cluster, kind);
                let before = self.by_key.get(&k).map(|p| p.since);
                let p = judge(cluster, item).map(|p| keep_since(p, before));
                self.set(k, p);
            }
            ResourceMsg::Deleted((ns, name)) => self.set(key(cluster, kind, ns, name), None),
        }
    }

    /// Drops what stopped counting for good (old events and restarts), so walking the list
    /// stays as cheap as the problems that count.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let expired: Vec<ProblemKey> = self
            .by_key
            .values()
            .filter(|p| p.until.is_some_and(|u| u <= now))
            .map(|p| p.key.clone())
            .collect();
        for k in expired {
            self.set(k, None);
        }
    }

    /// Problems that count now, newest first.
    pub fn current(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Problem> {
        self.iter().filter(move |p| p.current(now))
    }
}

/// A workload below its replicas since the first time it was seen so (no API time says it),
/// unless the API gives a time of its own.
fn keep_since(mut p: Problem, before: Option<DateTime<Utc>>) -> Problem {
    if matches!(p.key.kind, Kind::Deployment | Kind::DaemonSet)
        && let Some(b) = before
        && b < p.since
    {
        p.since = b;
        p.from = Some(b + WORKLOAD_GRACE);
    }
    p
}

fn key(cluster: usize, kind: Kind, namespace: &str, name: &str) -> ProblemKey {
    ProblemKey {
        cluster,
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

trait Keyed {
    fn pod_key(&self) -> PodKey;
    fn problem_key(&self, cluster: usize, kind: Kind) -> ProblemKey {
        let (namespace, name) = self.pod_key();
        ProblemKey {
            cluster,
            kind,
            namespace,
            name,
        }
    }
}

impl Keyed for PodSummary {
    fn pod_key(&self) -> PodKey {
        self.key()
    }
}
impl Keyed for DeploymentSummary {
    fn pod_key(&self) -> PodKey {
        self.key()
    }
}
impl Keyed for DaemonSetSummary {
    fn pod_key(&self) -> PodKey {
        self.key()
    }
}
impl Keyed for EventSummary {
    fn pod_key(&self) -> PodKey {
        self.key()
    }
}

pub fn pod_problem(cluster: usize, p: &PodSummary, now: DateTime<Utc>) -> Option<Problem> {
    let k = key(cluster, Kind::Pod, &p.namespace, &p.name);
    let object = format!("pod/{}", p.name);
    let message = p.message.clone().unwrap_or_default();
    let base = |what: String, since: DateTime<Utc>, severity, from, until| Problem {
        key: k.clone(),
        object: object.clone(),
        what,
        since,
        message: message.clone(),
        severity,
        from,
        until,
        event: None,
    };
    let created = p.created.unwrap_or(now);
    match &p.phase {
        PodPhase::Done(_) | PodPhase::Terminating => None,
        PodPhase::Failing(reason) => {
            let since = p.last_restart.or(p.ready_since).unwrap_or(created);
            Some(base(reason.clone(), since, Severity::Danger, None, None))
        }
        PodPhase::Starting(reason) => {
            let since = p.ready_since.unwrap_or(created).max(created);
            Some(base(
                reason.clone(),
                since,
                Severity::Warn,
                Some(since + GRACE),
                None,
            ))
        }
        PodPhase::Unknown(reason) => {
            Some(base(reason.clone(), created, Severity::Warn, None, None))
        }
        PodPhase::Running if !p.is_ready() => {
            let since = p.ready_since.unwrap_or(created);
            let what = format!("not ready {}/{}", p.ready, p.containers);
            Some(base(what, since, Severity::Warn, Some(since + GRACE), None))
        }
        PodPhase::Running => {
            // Ready now, but restarting: worth a look while the last restart is recent.
            let last = p.last_restart.filter(|_| p.restarts > 0)?;
            let what = format!("restarted {}×", p.restarts);
            Some(base(what, last, Severity::Warn, None, Some(last + RECENT)))
        }
    }
}

fn workload_problem(
    cluster: usize,
    kind: Kind,
    (namespace, name): PodKey,
    (ready, desired): (i32, i32),
    since: DateTime<Utc>,
    message: String,
) -> Option<Problem> {
    if desired <= 0 || ready >= desired {
        return None;
    }
    let label = match kind {
        Kind::DaemonSet => "daemonset",
        _ => "deployment",
    };
    Some(Problem {
        key: key(cluster, kind, &namespace, &name),
        object: format!("{label}/{name}"),
        what: format!("{ready}/{desired} ready"),
        since,
        message,
        severity: if ready == 0 {
            Severity::Danger
        } else {
            Severity::Warn
        },
        from: Some(since + WORKLOAD_GRACE),
        until: None,
        event: None,
    })
}

fn deployment_problem(
    cluster: usize,
    d: &DeploymentSummary,
    now: DateTime<Utc>,
) -> Option<Problem> {
    let since = d.unavailable_since.unwrap_or(now);
    let message = format!(
        "{} desired · {} updated · {} ready · {} available",
        d.replicas, d.updated, d.ready, d.available
    );
    workload_problem(
        cluster,
        Kind::Deployment,
        d.key(),
        (d.ready, d.replicas),
        since,
        message,
    )
}

fn daemonset_problem(cluster: usize, d: &DaemonSetSummary, now: DateTime<Utc>) -> Option<Problem> {
    let message = format!("{} scheduled · {} ready", d.desired, d.ready);
    workload_problem(
        cluster,
        Kind::DaemonSet,
        d.key(),
        (d.ready, d.desired),
        now,
        message,
    )
}

fn event_problem(cluster: usize, e: &EventSummary) -> Option<Problem> {
    if !e.warning {
        return None;
    }
    let since = e.last_seen?;
    let what = if e.count > 1 {
        format!("{} ×{}", e.reason, e.count)
    } else {
        e.reason.clone()
    };
    Some(Problem {
        key: key(cluster, Kind::Event, &e.namespace, &e.name),
        object: e.object.clone(),
        what,
        since,
        message: e.message.clone(),
        severity: Severity::Warn,
        from: None,
        until: Some(since + RECENT),
        event: Some(EventPart {
            reason: e.reason.clone(),
            count: e.count,
            shadowed: false,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn pod(name: &str, phase: PodPhase, ready: u16, created: &str) -> PodSummary {
        PodSummary {
            namespace: "n".into(),
            name: name.into(),
            ready,
            containers: 1,
            phase,
            restarts: 0,
            created: Some(t(created)),
            image: None,
            node: None,
            message: None,
            last_restart: None,
            ready_since: None,
        }
    }

    #[test]
    fn pods_count_by_their_state_and_the_grace_period() {
        let now = t("2026-12-01T10:00:00Z");
        let mut m = ProblemsModel::default();
        let mut crash = pod(
            "crash",
            PodPhase::Failing("CrashLoopBackOff".into()),
            0,
            "2026-12-01T09:00:00Z",
        );
        crash.message = Some("back-off 40s restarting failed container".into());
        let fresh = pod(
            "fresh",
            PodPhase::Starting("ContainerCreating".into()),
            0,
            "2026-12-01T09:59:58Z",
        );
        let stuck = pod(
            "stuck",
            PodPhase::Starting("Pending".into()),
            0,
            "2026-12-01T09:50:00Z",
        );
        let fine = pod("fine", PodPhase::Running, 1, "2026-12-01T09:00:00Z");
        let done = pod(
            "done",
            PodPhase::Done("Completed".into()),
            0,
            "2026-12-01T09:00:00Z",
        );
        let msg = ClusterMsg::Pods(ResourceMsg::Reset(vec![
            crash,
            fresh,
            stuck,
            fine.clone(),
            done,
        ]));
        m.observe(1, &msg, now);
        assert_eq!(m.len(), 3);
        let current: Vec<&str> = m.current(now).map(|p| p.what.as_str()).collect();
        assert_eq!(
            current,
            ["Pending", "CrashLoopBackOff"],
            "newest first; the fresh pod waits"
        );
        let later = now + GRACE;
        assert_eq!(
            m.current(later).count(),
            3,
            "after the grace period it counts"
        );

        // A pod that comes good leaves the list; a deleted one too.
        let mut good = pod("stuck", PodPhase::Running, 1, "2026-12-01T09:50:00Z");
        m.observe(
            1,
            &ClusterMsg::Pods(ResourceMsg::Applied(good.clone())),
            now,
        );
        assert_eq!(m.len(), 2);
        m.observe(
            1,
            &ClusterMsg::Pods(ResourceMsg::Deleted(("n".into(), "crash".into()))),
            now,
        );
        assert_eq!(m.len(), 1);

        // Restarting while ready: a warning for 15 minutes after the last restart.
        good.restarts = 3;
        good.last_restart = Some(now - TimeDelta::minutes(1));
        m.observe(1, &ClusterMsg::Pods(ResourceMsg::Applied(good)), now);
        let p = m.get(&key(1, Kind::Pod, "n", "stuck")).expect("restarts");
        assert_eq!(p.what, "restarted 3×");
        assert!(p.current(now) && !p.current(now + RECENT));

        // A relist of another cluster leaves this one's alone.
        m.observe(0, &ClusterMsg::Pods(ResourceMsg::Reset(vec![fine])), now);
        assert_eq!(m.len(), 2);
    }

    fn warning_like() -> EventSummary {
        EventSummary {
            namespace: "n".into(),
            name: "e1".into(),
            warning: true,
            reason: "BackOff".into(),
            object: "pod/x".into(),
            message: String::new(),
            count: 1,
            last_seen: None,
        }
    }

    #[test]
    fn workloads_events_and_clusters() {
        let now = t("2026-12-01T10:00:00Z");
        let mut m = ProblemsModel::default();
        let d = DeploymentSummary {
            namespace: "n".into(),
            name: "web".into(),
            replicas: 3,
            status_replicas: 3,
            ready: 1,
            updated: 3,
            available: 1,
            image: None,
            images: Vec::new(),
            generation: 1,
            observed_generation: 1,
            unavailable_since: None,
        };
        m.observe(
            0,
            &ClusterMsg::Deployments(ResourceMsg::Applied(d.clone())),
            now,
        );
        let k = key(0, Kind::Deployment, "n", "web");
        assert!(
            !m.get(&k).expect("web").current(now),
            "a rollout gets its grace"
        );
        // Seen again later: it keeps its first time, so it now counts.
        let later = now + WORKLOAD_GRACE;
        m.observe(0, &ClusterMsg::Deployments(ResourceMsg::Applied(d)), later);
        let p = m.get(&k).expect("web");
        assert_eq!((p.what.as_str(), p.since), ("1/3 ready", now));
        assert!(p.current(later));

        let warning = EventSummary {
            namespace: "n".into(),
            name: "e1".into(),
            warning: true,
            reason: "BackOff".into(),
            object: "pod/x".into(),
            message: "Back-off pulling image".into(),
            count: 4,
            last_seen: Some(now - TimeDelta::minutes(2)),
        };
        let normal = EventSummary {
            name: "e2".into(),
            warning: false,
            ..warning.clone()
        };
        m.observe(
            0,
            &ClusterMsg::Events(ResourceMsg::Reset(vec![warning, normal])),
            now,
        );
        let e = m.get(&key(0, Kind::Event, "n", "e1")).expect("event");
        assert_eq!(e.what, "BackOff ×4");
        assert!(!e.current(now + RECENT), "old warnings stop counting");
        assert!(m.get(&key(0, Kind::Event, "n", "e2")).is_none());

        // Another BackOff about the same pod: one problem, the counts summed, the newest
        // event's message; when it goes, the older one stands again.
        let again = EventSummary {
            name: "e3".into(),
            count: 2,
            message: "Back-off pulling image, again".into(),
            last_seen: Some(now - TimeDelta::minutes(1)),
            ..warning_like()
        };
        m.observe(0, &ClusterMsg::Events(ResourceMsg::Applied(again)), now);
        let shown: Vec<(&str, &str)> = m
            .current(now)
            .filter(|p| p.key.kind == Kind::Event)
            .map(|p| (p.what.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(shown, [("BackOff ×6", "Back-off pulling image, again")]);
        m.observe(
            0,
            &ClusterMsg::Events(ResourceMsg::Deleted(("n".into(), "e3".into()))),
            now,
        );
        let shown: Vec<&str> = m
            .current(now)
            .filter(|p| p.key.kind == Kind::Event)
            .map(|p| p.what.as_str())
            .collect();
        assert_eq!(shown, ["BackOff ×4"]);

        let down = |at: DateTime<Utc>| ClusterMsg::Unreachable {
            at: at.fixed_offset(),
            error: "connection refused".into(),
        };
        m.observe(2, &down(now), now);
        m.observe(2, &down(now + TimeDelta::seconds(5)), now);
        assert_eq!(
            m.get(&key(2, Kind::Cluster, "", "")).map(|p| p.since),
            Some(now)
        );
        m.observe(2, &ClusterMsg::Reachable, now);
        assert!(m.get(&key(2, Kind::Cluster, "", "")).is_none());
    }
}
