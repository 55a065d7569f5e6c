//! The act the demo is in, derived from what the clusters report (the image the tool's
//! pods really run, the AuthorizationPolicies that really exist, rollout progress) — never
//! from the last key pressed — and the state of the act script that is running.

use std::collections::VecDeque;

use chrono::{DateTime, FixedOffset, Utc};

use super::cluster::ClusterModel;
use crate::config::DemoConfig;
use crate::msg::act::{ActKind, ActLine, ActOutcome};
use crate::msg::cluster::PodPhase;

/// Lines of act output kept on screen; the full output is in the run's log file.
pub const ACT_LOG_LINES: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActState {
    Clean,
    Compromised,
    Defended,
    RollingOut,
    Unknown,
}

impl ActState {
    /// As `status --json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActState::Clean => "clean",
            ActState::Compromised => "compromised",
            ActState::Defended => "defended",
            ActState::RollingOut => "rolling-out",
            ActState::Unknown => "unknown",
        }
    }

    /// As the header shows it.
    pub fn label(self) -> &'static str {
        match self {
            ActState::Clean => "ACT 1 · clean",
            ActState::Compromised => "ACT 2 · compromised",
            ActState::Defended => "ACT 3 · defended",
            ActState::RollingOut => "rolling out…",
            ActState::Unknown => "act unknown",
        }
    }
}

/// What the clusters say about the act, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActReading {
    pub state: ActState,
    /// The image the tool's pods run (the newest one while rolling out).
    pub tool_image: Option<String>,
    /// `namespace/name` of the AuthorizationPolicies that count.
    pub policies: Vec<String>,
    /// Why the state is unknown, or what the rollout is doing (`1/1 updated`).
    pub detail: Option<String>,
    /// When the clusters say this state began: the newest of the tool's pods and the
    /// counted policies. Used when the act is first read (a tool started mid-demo).
    pub began: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActIndicator {
    pub reading: ActReading,
    pub since: DateTime<FixedOffset>,
}

/// Reads the act off the clusters.
pub fn read_act(clusters: &[ClusterModel], demo: &DemoConfig) -> ActReading {
    let unknown = |why: String| ActReading {
        state: ActState::Unknown,
        tool_image: None,
        policies: Vec::new(),
        detail: Some(why),
        began: None,
    };
    let tool = &demo.tool;
    let Some(cluster) = clusters.iter().find(|c| c.name == tool.cluster) else {
        return unknown(format!("cluster `{}` is not configured", tool.cluster));
    };
    if !cluster.pods_synced {
        return unknown(format!("waiting for {}", cluster.name));
    }
    let prefix = format!("{}-", tool.deployment);
    let pods: Vec<_> = cluster
        .pods_in(&tool.namespace)
        .filter(|p| p.name.starts_with(&prefix))
        .collect();
    let deployment = cluster
        .deployments
        .get(&(tool.namespace.clone(), tool.deployment.clone()));
    if pods.is_empty() && deployment.is_none() {
        return unknown(format!(
            "no {}/{} on {}",
            tool.namespace, tool.deployment, cluster.name
        ));
    }

    let mut running_images: Vec<&str> = pods
        .iter()
        .filter(|p| p.phase != PodPhase::Terminating)
        .filter_map(|p| p.image.as_deref())
        .collect();
    running_images.sort_unstable();
    running_images.dedup();
    let desired = deployment.and_then(|d| d.image.as_deref());
    let tool_image = desired
        .filter(|d| running_images.contains(d))
        .or_else(|| running_images.last().copied())
        .or(desired)
        .map(str::to_string);

    let counted: Vec<_> = cluster
        .policies
        .values()
        .filter(|p| demo.policy_namespaces.contains(&p.namespace))
        .collect();
    let mut policies: Vec<String> = counted
        .iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect();
    policies.sort();
    let began = pods
        .iter()
        .filter(|p| p.phase != PodPhase::Terminating)
        .filter_map(|p| p.created)
        .chain(counted.iter().filter_map(|p| p.created))
        .max();

    let progress =
        deployment.map(|d| format!("{}/{} updated", d.updated.min(d.replicas), d.replicas));
    // Old pods on their way out do not hold the act back: `kubectl rollout status` is
    // already done with them, and so is the presenter.
    let rolling = deployment.is_some_and(|d| d.rolling_out())
        || running_images.len() > 1
        || pods
            .iter()
            .any(|p| p.phase != PodPhase::Terminating && !p.is_ready());
    let compromised = tool_image
        .as_deref()
        .is_some_and(|i| i.contains(&demo.compromised_image));
    let state = if rolling {
        ActState::RollingOut
    } else if !policies.is_empty() {
        ActState::Defended
    } else if compromised {
        ActState::Compromised
    } else {
        ActState::Clean
    };
    ActReading {
        state,
        tool_image,
        policies,
        detail: if rolling { progress } else { None },
        began,
    }
}

/// One run of an act script, as the act-log pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActRun {
    pub kind: ActKind,
    pub program: String,
    pub started: DateTime<FixedOffset>,
    pub log_path: Option<String>,
    pub lines: VecDeque<ActLine>,
    /// Lines that fell off the bounded tail.
    pub dropped: usize,
    pub outcome: Option<(ActOutcome, std::time::Duration)>,
    pub cancelling: bool,
}

impl ActRun {
    pub fn new(kind: ActKind, program: String, started: DateTime<FixedOffset>) -> ActRun {
        ActRun {
            kind,
            program,
            started,
            log_path: None,
            lines: VecDeque::new(),
            dropped: 0,
            outcome: None,
            cancelling: false,
        }
    }

    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }

    pub fn push(&mut self, line: ActLine) {
        self.lines.push_back(line);
        while self.lines.len() > ACT_LOG_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeploymentSummary, PodSummary, PolicySummary, ResourceMsg};

    fn tool_pod(name: &str, image: &str, phase: PodPhase, ready: bool) -> PodSummary {
        PodSummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: name.into(),
            ready: u16::from(ready),
            containers: 1,
            phase,
            restarts: 0,
            created: None,
            image: Some(image.into()),
            node: None,
            message: None,
            last_restart: None,
            ready_since: None,
        }
    }

    fn deployment(image: &str, updated: i32, status_replicas: i32) -> DeploymentSummary {
        DeploymentSummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: "currency-converter".into(),
            replicas: 1,
            status_replicas,
            ready: 1,
            updated,
            available: 1,
            image: Some(image.into()),
            generation: 2,
            observed_generation: 2,
            unavailable_since: None,
            images: Vec::new(),
        }
    }

    fn vendor(
        pods: Vec<PodSummary>,
        deploy: Option<DeploymentSummary>,
        policies: &[(&str, &str)],
    ) -> Vec<ClusterModel> {
        let mut c = ClusterModel::new("vendor".into(), "kind-trustusbank-vendor".into());
        c.apply_pods(ResourceMsg::Reset(pods));
        c.apply_deployments(ResourceMsg::Reset(deploy.into_iter().collect()));
        c.apply_policies(ResourceMsg::Reset(
            policies
                .iter()
                .map(|(ns, n)| PolicySummary {
                    namespace: ns.to_string(),
                    name: n.to_string(),
                    action: "DENY ALL".into(),
                    sources: Vec::new(),
                    created: None,
                })
                .collect(),
        ));
        vec![ClusterModel::new("edge".into(), "e".into()), c]
    }

    const CLEAN: &str = "currency-converter:1.0.0";
    const RUGPULL: &str = "currency-converter:1.0.0-rugpull";

    #[test]
    fn reads_each_act_off_the_cluster() {
        let demo = DemoConfig::default();
        let running = |image| tool_pod("currency-converter-abc-1", image, PodPhase::Running, true);

        let clean = read_act(
            &vendor(vec![running(CLEAN)], Some(deployment(CLEAN, 1, 1)), &[]),
            &demo,
        );
        assert_eq!(
            (clean.state, clean.tool_image.as_deref()),
            (ActState::Clean, Some(CLEAN))
        );

        let bad = read_act(
            &vendor(vec![running(RUGPULL)], Some(deployment(RUGPULL, 1, 1)), &[]),
            &demo,
        );
        assert_eq!(bad.state, ActState::Compromised);

        let policies = [
            ("trustusbank-bank-vendors", "default-deny"),
            ("external-attacker", "deny"),
        ];
        let defended = read_act(
            &vendor(
                vec![running(RUGPULL)],
                Some(deployment(RUGPULL, 1, 1)),
                &policies,
            ),
            &demo,
        );
        assert_eq!(defended.state, ActState::Defended);
        assert_eq!(
            defended.policies,
            [
                "external-attacker/deny",
                "trustusbank-bank-vendors/default-deny"
            ]
        );

        // A policy elsewhere does not count.
        let elsewhere = read_act(
            &vendor(
                vec![running(CLEAN)],
                Some(deployment(CLEAN, 1, 1)),
                &[("istio-system", "x")],
            ),
            &demo,
        );
        assert_eq!(elsewhere.state, ActState::Clean);
    }

    #[test]
    fn a_rollout_in_progress_is_not_yet_an_act() {
        let demo = DemoConfig::default();
        let pods = vec![
            tool_pod("currency-converter-old-1", CLEAN, PodPhase::Running, true),
            tool_pod(
                "currency-converter-new-1",
                RUGPULL,
                PodPhase::Starting("ContainerCreating".into()),
                false,
            ),
        ];
        let r = read_act(&vendor(pods, Some(deployment(RUGPULL, 1, 2)), &[]), &demo);
        assert_eq!(r.state, ActState::RollingOut);
        assert_eq!(r.detail.as_deref(), Some("1/1 updated"));

        // The old pod terminating with the new one ready and the rollout done: act 2.
        let pods = vec![
            tool_pod(
                "currency-converter-old-1",
                CLEAN,
                PodPhase::Terminating,
                false,
            ),
            tool_pod("currency-converter-new-1", RUGPULL, PodPhase::Running, true),
        ];
        let r = read_act(&vendor(pods, Some(deployment(RUGPULL, 1, 1)), &[]), &demo);
        assert_eq!(
            (r.state, r.tool_image.as_deref()),
            (ActState::Compromised, Some(RUGPULL))
        );
    }

    #[test]
    fn unknown_until_the_cluster_says() {
        let demo = DemoConfig::default();
        let mut clusters = vendor(Vec::new(), None, &[]);
        assert_eq!(
            read_act(&clusters, &demo).state,
            ActState::Unknown,
            "no tool"
        );
        clusters[1].pods_synced = false;
        assert!(
            read_act(&clusters, &demo)
                .detail
                .is_some_and(|d| d.contains("waiting"))
        );
        assert_eq!(
            read_act(&clusters[..1], &demo).state,
            ActState::Unknown,
            "no vendor cluster"
        );
    }
}
