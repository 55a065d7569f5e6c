//! The domain state the screen shows: per-cluster slim summaries, focus and layout
//! choices, the clock. No ratatui and no I/O here, so `app::update` can be tested by
//! feeding messages and reading the model back.

pub mod act;
pub mod alerts;
pub mod chat;
pub mod cluster;
pub mod exfil;
pub mod forward;
pub mod pod;
pub mod policy;

use chrono::{DateTime, FixedOffset};

pub use act::{ActIndicator, ActKind, ActLine, ActOutcome, ActReading, ActRun, ActState};
pub use cluster::{ClusterModel, Reachability, ResourceMsg};
pub use pod::{DeploymentSummary, EventSummary, PodKey, PodPhase, PodSummary};
pub use policy::PolicySummary;

use crate::config::DemoConfig;

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

/// Everything the UI draws from.
#[derive(Debug, Clone)]
pub struct Model {
    pub mode: WorldMode,
    pub clusters: Vec<ClusterModel>,
    /// Index into `clusters` of the pane that takes scroll keys.
    pub focus: usize,
    pub zoomed: bool,
    pub show_help: bool,
    /// Wall clock with the presenter's UTC offset; set by ticks so drawing is pure.
    pub now: DateTime<FixedOffset>,
    /// Terminal size, for page-sized scrolling.
    pub size: (u16, u16),
    /// Where tracing writes; shown in the help overlay.
    pub log_path: String,
    /// Kubeconfig the sources use; shown in the help overlay (useful to point kubectl at the sim).
    pub kubeconfig_path: String,
    pub quitting: bool,
    /// Below this width the panes stack or become tabs instead of standing side by side.
    pub side_by_side_min_width: u16,
    /// What the act indicator reads.
    pub demo: DemoConfig,
    pub act: ActIndicator,
    /// The act script running now, or the last one that ran.
    pub act_run: Option<ActRun>,
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
            show_help: false,
            now,
            size: (80, 24),
            log_path: String::new(),
            kubeconfig_path: String::new(),
            quitting: false,
            side_by_side_min_width: 120,
            demo: DemoConfig::default(),
            act: ActIndicator {
                reading: ActReading {
                    state: ActState::Unknown,
                    tool_image: None,
                    policies: Vec::new(),
                    detail: None,
                },
                since: now,
            },
            act_run: None,
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
    pub fn refresh_act(&mut self) {
        let reading = act::read_act(&self.clusters, &self.demo);
        if reading.state != self.act.reading.state {
            self.act.since = self.now;
        }
        self.act.reading = reading;
    }

    pub fn act_running(&self) -> bool {
        self.act_run.as_ref().is_some_and(ActRun::running)
    }

    pub fn focused(&self) -> Option<&ClusterModel> {
        self.clusters.get(self.focus)
    }
}
