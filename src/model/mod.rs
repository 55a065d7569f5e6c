//! The domain state the screen shows: per-cluster slim summaries, focus and layout
//! choices, the clock. No ratatui and no I/O here, so `app::update` can be tested by
//! feeding messages and reading the model back.

pub mod act;
pub mod alerts;
pub mod chat;
pub mod cluster;
pub mod doctor;
pub mod exfil;
pub mod filter;
pub mod forward;
pub mod inspect;
pub mod logs;
pub mod notes;
pub mod problems;
pub mod rows;

use chrono::{DateTime, FixedOffset};

pub use act::{ActIndicator, ActReading, ActRun, ActState};
pub use cluster::{ClusterModel, Reachability};
// The records the model keeps are the ones the messages carry.
pub use crate::msg::act::{ActKind, ActLine, ActOutcome};
pub use crate::msg::cluster::{
    DeploymentSummary, EventSummary, PodKey, PodPhase, PodSummary, PolicySummary, ResourceMsg,
};

use crate::config::{DemoConfig, Keymap};

/// Which world the clusters belong to: shown as a badge so nobody mistakes a rehearsal
/// for the live demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldMode {
    Live,
    Simulated,
}

impl WorldMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WorldMode::Live => "live",
            WorldMode::Simulated => "sim",
        }
    }
}

/// What fills the body: the cluster panes, or one of the triage views over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Panes,
    /// `Enter`/`d`: the selected pod or deployment, `kubectl describe`-like.
    Detail,
    /// `e`: the selected object's events.
    Events,
    /// `l`: the selected pod's log.
    Logs,
    /// `!`: what is wrong, across every cluster.
    Problems,
    /// `E`: every cluster's events, merged by time.
    Timeline,
    /// `I`: every workload's images, cluster by cluster.
    Images,
    /// `D`: the preflight doctor's checks.
    Doctor,
    /// On a small screen `Tab` reaches past the clusters: the chat and its trace,
    Chat,
    /// the exfil counter and the stolen record,
    Exfil,
    /// and the alert panel.
    Alerts,
}

/// Everything the UI draws from.
#[derive(Debug, Clone)]
pub struct Model {
    pub mode: WorldMode,
    pub clusters: Vec<ClusterModel>,
    /// Index into `clusters` of the pane that takes scroll keys.
    pub focus: usize,
    pub zoomed: bool,
    /// What the body shows.
    pub view: View,
    /// Where Esc goes from the view (the panes, or the problems list a detail came from).
    pub view_back: Option<View>,
    /// First line shown of a view that keeps no scroll of its own (problems, timeline, images).
    pub view_scroll: usize,
    /// What is wrong across every cluster, kept as cluster news arrives.
    pub problems: problems::ProblemsModel,
    /// The object the detail or events view reads, while one is open.
    pub inspect: Option<inspect::InspectModel>,
    /// The log view's pod (or `control-room logs`' pods), while one is read.
    pub logs: Option<logs::LogsModel>,
    /// Ids for inspect and log requests, so stale news is told apart.
    pub next_request: u64,
    /// The `/` filter being typed (the box is open while this is `Some`).
    pub filter_input: Option<String>,
    /// The filter in force, as typed; each pane keeps its matches.
    pub filter_error: Option<String>,
    /// No writes at all, acts included (`--read-only`, `[ui] read_only`).
    pub read_only: bool,
    /// Set by `update` when the message it applied changed nothing on screen but an age
    /// the next tick redraws anyway: the loop need not draw for it.
    pub unchanged: bool,
    /// A pod waiting for `y`/Enter before it is deleted: cluster, namespace, name.
    pub confirming_delete: Option<(usize, String, String)>,
    pub show_help: bool,
    /// First line of the help overlay shown (it scrolls on a short screen).
    pub help_scroll: usize,
    /// Wall clock with the presenter's UTC offset; set by ticks so drawing is pure.
    pub now: DateTime<FixedOffset>,
    /// Terminal size.
    pub size: (u16, u16),
    /// Pod-list rows of the focused pane in the last frame: what PgUp/PgDn move by.
    pub page_rows: usize,
    /// Where tracing writes; shown in the help overlay.
    pub log_path: String,
    /// Kubeconfig the sources use; shown in the help overlay (useful to point kubectl at the sim).
    pub kubeconfig_path: String,
    pub quitting: bool,
    /// The signal that ended the program, when one did: it exits with 128 + this.
    pub exit_signal: Option<i32>,
    /// Below this width the panes stack or become tabs instead of standing side by side.
    pub side_by_side_min_width: u16,
    /// What the act indicator reads.
    pub demo: DemoConfig,
    /// Which key does what on the main screen (`[keys]`).
    pub keys: Keymap,
    pub act: ActIndicator,
    /// The act script running now, or the last one that ran.
    pub act_run: Option<ActRun>,
    /// Act scripts started since the program began: tells a new run from the last one.
    pub act_runs: usize,
    pub show_act_log: bool,
    /// Ask before running an act.
    pub confirm_acts: bool,
    /// An act waiting for `y`/Enter.
    pub confirming: Option<ActKind>,
    /// `q` pressed while an act runs: waiting for `y`.
    pub confirming_quit: bool,
    pub chat: chat::ChatModel,
    pub exfil: exfil::ExfilModel,
    pub alerts: alerts::AlertsModel,
    /// The port-forwards, in config order.
    pub forwards: Vec<forward::ForwardRow>,
    pub show_links: bool,
    pub links_selected: usize,
    /// A short message for the footer, and when it was set.
    pub notice: Option<(String, DateTime<FixedOffset>)>,
    /// `--record` stopped because a write failed (why): the header says so until quit.
    pub recording_stopped: Option<String>,
    /// The preflight doctor's latest results (`D`, the header badge).
    pub doctor: doctor::DoctorModel,
}

impl Model {
    pub fn new(
        mode: WorldMode,
        clusters: Vec<(String, String)>,
        now: DateTime<FixedOffset>,
    ) -> Model {
        let mut model = Model {
            mode,
            clusters: clusters
                .into_iter()
                .map(|(name, context)| ClusterModel::new(name, context))
                .collect(),
            focus: 0,
            zoomed: false,
            view: View::Panes,
            view_back: None,
            view_scroll: 0,
            problems: problems::ProblemsModel::default(),
            inspect: None,
            logs: None,
            next_request: 1,
            filter_input: None,
            filter_error: None,
            read_only: false,
            unchanged: false,
            confirming_delete: None,
            show_help: false,
            help_scroll: 0,
            now,
            size: (80, 24),
            page_rows: 10,
            log_path: String::new(),
            kubeconfig_path: String::new(),
            quitting: false,
            exit_signal: None,
            side_by_side_min_width: 120,
            demo: DemoConfig::default(),
            keys: Keymap::default(),
            act: ActIndicator {
                reading: ActReading {
                    state: ActState::Unknown,
                    tool_image: None,
                    policies: Vec::new(),
                    detail: None,
                    began: None,
                },
                since: now,
            },
            act_run: None,
            act_runs: 0,
            show_act_log: true,
            confirm_acts: true,
            confirming: None,
            confirming_quit: false,
            notice: None,
            exfil: exfil::ExfilModel::default(),
            alerts: alerts::AlertsModel::default(),
            chat: chat::ChatModel {
                show_trace: true,
                ..chat::ChatModel::default()
            },
            forwards: Vec::new(),
            show_links: false,
            links_selected: 0,
            recording_stopped: None,
            doctor: doctor::DoctorModel::default(),
        };
        model.set_demo(DemoConfig::default());
        model
    }

    /// Sets what the act indicator reads, and pins the tool's deployment in its pane.
    pub fn set_demo(&mut self, demo: DemoConfig) {
        for c in &mut self.clusters {
            c.pinned_deployment = (c.name == demo.tool.cluster)
                .then(|| (demo.tool.namespace.clone(), demo.tool.deployment.clone()));
        }
        self.demo = demo;
        self.refresh_act();
    }

    /// Re-reads the act off the clusters; the `since` time moves only when the state does.
    /// Seen change as it happens, an act begins now — except that a rollout settling keeps
    /// the rollout's start (the act began when its rollout did). Read for the first time,
    /// it began when the clusters say: the newest of the tool's pods and policies.
    pub fn refresh_act(&mut self) {
        let reading = act::read_act(&self.clusters, &self.demo);
        let previous = self.act.reading.state;
        if reading.state != previous {
            self.act.since = match previous {
                ActState::Unknown => reading
                    .began
                    .map(|b| b.with_timezone(self.now.offset()))
                    .filter(|b| *b <= self.now)
                    .unwrap_or(self.now),
                ActState::RollingOut => self.act.since,
                _ => self.now,
            };
        }
        self.act.reading = reading;
    }

    pub fn act_running(&self) -> bool {
        self.act_run.as_ref().is_some_and(ActRun::running)
    }

    /// The problems that count now, newest first. A Warning event about a pod or deployment
    /// that no longer exists is history, not something to look at; one about an object with
    /// a problem of its own is said by that problem (its detail and events show them all).
    pub fn current_problems(&self) -> impl Iterator<Item = &problems::Problem> {
        use problems::{Kind, ProblemKey};
        let now = self.now.with_timezone(&chrono::Utc);
        self.problems.current(now).filter(move |p| {
            if p.key.kind != Kind::Event {
                return true;
            }
            let Some(c) = self.clusters.get(p.key.cluster) else {
                return false;
            };
            let (kind, exists) = match p.object.split_once('/') {
                Some(("pod", name)) => (
                    Kind::Pod,
                    c.pods
                        .contains_key(&(p.key.namespace.clone(), name.to_string())),
                ),
                Some(("deployment", name)) => (
                    Kind::Deployment,
                    c.deployments
                        .contains_key(&(p.key.namespace.clone(), name.to_string())),
                ),
                _ => return true,
            };
            let own = ProblemKey {
                cluster: p.key.cluster,
                kind,
                namespace: p.key.namespace.clone(),
                name: p
                    .object
                    .split_once('/')
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_default(),
            };
            exists && !self.problems.get(&own).is_some_and(|o| o.current(now))
        })
    }

    /// The `/` filter in force, as typed (every pane holds the same one).
    pub fn active_filter(&self) -> Option<&str> {
        self.clusters
            .first()
            .and_then(|c| c.filter.as_ref())
            .map(|f| f.text.as_str())
    }

    pub fn focused(&self) -> Option<&ClusterModel> {
        self.clusters.get(self.focus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::cluster::{PodPhase, PodSummary, PolicySummary, ResourceMsg};
    use chrono::{TimeDelta, Utc};

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn converter(image: &str, created: DateTime<FixedOffset>) -> PodSummary {
        PodSummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: format!("currency-converter-{}", created.timestamp()),
            ready: 1,
            containers: 1,
            phase: PodPhase::Running,
            restarts: 0,
            created: Some(created.with_timezone(&Utc)),
            image: Some(image.into()),
            node: None,
            message: None,
            last_restart: None,
            ready_since: None,
        }
    }

    fn vendor_model(now: DateTime<FixedOffset>) -> Model {
        let clusters = vec![("vendor".to_string(), "kind-trustusbank-vendor".to_string())];
        Model::new(WorldMode::Simulated, clusters, now)
    }

    #[test]
    fn an_act_first_read_began_when_the_clusters_say() {
        let now = at("2026-11-27T10:00:00Z");
        let mut m = vendor_model(now);
        let created = now - TimeDelta::minutes(20);
        m.clusters[0].apply_pods(ResourceMsg::Reset(vec![converter(
            "currency-converter:1.0.0-rugpull",
            created,
        )]));
        m.refresh_act();
        assert_eq!(m.act.reading.state, ActState::Compromised);
        assert_eq!(
            m.act.since, created,
            "a tool started mid-act sees when it began"
        );

        // Policies appear while we watch: act 3 begins now.
        m.now = now + TimeDelta::seconds(30);
        m.clusters[0].apply_policies(ResourceMsg::Reset(vec![PolicySummary {
            namespace: "trustusbank-bank-vendors".into(),
            name: "default-deny".into(),
            action: "DENY ALL".into(),
            sources: Vec::new(),
            created: Some((now + TimeDelta::seconds(29)).with_timezone(&Utc)),
        }]));
        m.refresh_act();
        assert_eq!(m.act.reading.state, ActState::Defended);
        assert_eq!(m.act.since, now + TimeDelta::seconds(30));
    }

    #[test]
    fn a_rollout_that_settles_keeps_its_start() {
        let now = at("2026-11-27T10:00:00Z");
        let mut m = vendor_model(now);
        let old = converter("currency-converter:1.0.0", now - TimeDelta::hours(2));
        m.clusters[0].apply_pods(ResourceMsg::Reset(vec![old.clone()]));
        m.refresh_act();
        assert_eq!(m.act.reading.state, ActState::Clean);

        m.now = now + TimeDelta::seconds(5);
        let mut new = converter("currency-converter:1.0.0-rugpull", m.now);
        new.ready = 0;
        new.phase = PodPhase::Starting("ContainerCreating".into());
        m.clusters[0].apply_pods(ResourceMsg::Applied(new.clone()));
        m.refresh_act();
        assert_eq!(m.act.reading.state, ActState::RollingOut);
        assert_eq!(m.act.since, now + TimeDelta::seconds(5));

        m.now = now + TimeDelta::seconds(9);
        new.ready = 1;
        new.phase = PodPhase::Running;
        m.clusters[0].apply_pods(ResourceMsg::Applied(new));
        m.clusters[0].apply_pods(ResourceMsg::Deleted(old.key()));
        m.refresh_act();
        assert_eq!(m.act.reading.state, ActState::Compromised);
        assert_eq!(
            m.act.since,
            now + TimeDelta::seconds(5),
            "act 2 began when its rollout did"
        );
    }
}
