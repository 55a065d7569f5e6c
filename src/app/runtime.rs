//! The one composition root: from `(World, Config)` it builds the model and every source,
//! forward, poller and runner the app needs, and the [`App`] that applies their messages.
//! `main` (through [`super::tui`]), the headless commands and the tests all start here, so
//! the tests exercise the wiring that ships. [`Parts`] says which sources a caller needs.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::effects::{Browser, ChatSetup, Clipboard, EffectRunner, LiveEffects};
use super::world::World;
use super::{App, alerting, forwards};
use crate::config::Config;
use crate::model::{Model, WorldMode};
use crate::msg::Msg;
use crate::sources::a2a::Protocol;
use crate::sources::{self, clock};

/// Queued messages before sources wait: a relist of 30,000 pods arrives as one message per
/// kind, so this only has to absorb bursts of small news.
const CHANNEL: usize = 8192;

/// How a source that reads the same thing over and over runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Off,
    /// Read once and stop (headless `status`).
    Once,
    /// Keep reading (the TUI).
    Follow,
}

/// Which of the configured `[[forward]]`s to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardSet {
    All,
    Only(Vec<String>),
}

/// What a caller needs running. The TUI needs everything; each headless command only what
/// its output reads, so `chat` opens one forward and `act` none.
#[derive(Debug, Clone)]
pub struct Parts {
    /// Reachability probe and watchers (pods, deployments, events, policies) per cluster.
    pub clusters: bool,
    pub clock: bool,
    pub forwards: ForwardSet,
    /// Probe each link this often once it listens.
    pub probe_every: Option<Duration>,
    pub alerts: Reading,
    pub exfil: Reading,
    /// Let `RunAct` start scripts.
    pub acts: bool,
    /// Let prompts reach the agent.
    pub chat: bool,
    /// SIGINT/SIGTERM/SIGHUP become `Msg::Signal`, so the program winds down in order.
    pub signals: bool,
    /// Open the forwards on ports the system picks, not the configured ones: a caller that
    /// shows no links and runs beside a control room that holds those ports (`notes`).
    pub any_local_port: bool,
    /// Let the preflight doctor run (on `D`, every minute with the clock, `Msg::RunDoctor`).
    pub doctor: bool,
}

impl Parts {
    /// Everything, following: the TUI.
    pub fn tui() -> Parts {
        Parts {
            clusters: true,
            clock: true,
            forwards: ForwardSet::All,
            probe_every: Some(forwards::PROBE_EVERY),
            alerts: Reading::Follow,
            exfil: Reading::Follow,
            acts: true,
            chat: true,
            signals: true,
            any_local_port: false,
            doctor: true,
        }
    }

    /// Nothing; add what is needed.
    pub fn none() -> Parts {
        Parts {
            clusters: false,
            clock: false,
            forwards: ForwardSet::Only(Vec::new()),
            probe_every: None,
            alerts: Reading::Off,
            exfil: Reading::Off,
            acts: false,
            chat: false,
            signals: false,
            any_local_port: false,
            doctor: false,
        }
    }

    /// `control-room status`: one reading of everything the snapshot shows; only the
    /// forwards the alert sources go through.
    pub fn status(config: &Config) -> Parts {
        let alerts = &config.alerts;
        let names = std::iter::once(alerts.forward.clone())
            .chain(alerts.alertmanager_forward.clone())
            .filter(|n| !n.is_empty())
            .collect();
        Parts {
            clusters: true,
            forwards: ForwardSet::Only(names),
            alerts: Reading::Once,
            exfil: Reading::Once,
            signals: true,
            ..Parts::none()
        }
    }

    /// `control-room notes`: what the notes show — the act (cluster watchers), the exfil
    /// counter and the alerts (through their forwards), following; the clock; signals.
    pub fn notes(config: &Config) -> Parts {
        Parts {
            clock: true,
            alerts: Reading::Follow,
            exfil: Reading::Follow,
            any_local_port: true,
            ..Parts::status(config)
        }
    }

    /// `control-room doctor`: the doctor, and the forwards its HTTP checks go through
    /// (Prometheus, the chatbot, agentregistry) unless the config gives their URLs.
    pub fn doctor(config: &Config) -> Parts {
        let mut names = Vec::new();
        if config.alerts.url.is_none() && !config.alerts.forward.is_empty() {
            names.push(config.alerts.forward.clone());
        }
        if config.chat.url.is_none() {
            names.push(config.chat.forward.clone());
        }
        names.push(DOCTOR_REGISTRY_FORWARD.to_string());
        Parts {
            forwards: ForwardSet::Only(names),
            signals: true,
            doctor: true,
            ..Parts::none()
        }
    }

    /// `control-room logs`: only the log reader (which finds its own pods) and signals.
    pub fn logs() -> Parts {
        Parts {
            signals: true,
            ..Parts::none()
        }
    }

    /// `control-room chat`: the chat, and the chatbot's forward unless `[chat] url` says
    /// where the chatbot already is.
    pub fn chat(config: &Config) -> Parts {
        let forwards = match config.chat.url {
            Some(_) => Vec::new(),
            None => vec![config.chat.forward.clone()],
        };
        Parts {
            forwards: ForwardSet::Only(forwards),
            chat: true,
            signals: true,
            ..Parts::none()
        }
    }
}

/// What the command line adds to the config.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Shown in the help overlay.
    pub log_path: String,
    /// `--no-confirm`: acts run on their key without asking.
    pub no_confirm: bool,
    /// `--read-only`: no acts, no deletes (as `[ui] read_only`).
    pub read_only: bool,
    /// Where `y` copies to (the terminal unless a test captures it).
    pub clipboard: Option<Clipboard>,
    /// Where `o` opens links (the browser unless a test captures it).
    pub browser: Option<Browser>,
    /// Where `s` in the log view saves (the state dir's `logs/` unless a test says).
    pub saved_logs: Option<std::path::PathBuf>,
    /// `--record FILE.cast`: the screen as an asciicast v2 recording.
    pub record: Option<std::path::PathBuf>,
    /// `--autopilot`: the story the TUI plays by itself.
    pub autopilot: Option<crate::story::Story>,
}

/// Everything running for one app: the world, the sources' tasks and a sender for more.
/// [`Runtime::shutdown`] stops it all; dropping it stops the tasks too.
pub struct Runtime {
    world: Option<World>,
    tx: mpsc::Sender<Msg>,
    tasks: Vec<JoinHandle<()>>,
    sets: Vec<JoinSet<()>>,
}

impl Runtime {
    /// Builds the model from the config and the world, starts the sources `parts` names, and
    /// returns the app that applies their messages with the real effect runner.
    pub async fn start(
        world: World,
        config: &Config,
        parts: Parts,
        options: RuntimeOptions,
    ) -> (App, Runtime) {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let mut model = model_for(&world, config, &options);
        let mut runtime = Runtime {
            world: None,
            tx: tx.clone(),
            tasks: Vec::new(),
            sets: Vec::new(),
        };

        let mut forward_config = config.clone();
        if let ForwardSet::Only(names) = &parts.forwards {
            forward_config.forwards.retain(|f| names.contains(&f.name));
        }
        if parts.any_local_port {
            for f in &mut forward_config.forwards {
                f.local_port = None;
            }
        }
        let (rows, forward_tasks, urls) =
            forwards::start_with_urls(&world, &forward_config, &tx, parts.probe_every).await;
        model.forwards = rows;
        runtime.sets.push(forward_tasks);

        if parts.clusters {
            for (i, c) in world.clusters.iter().enumerate() {
                runtime.sets.push(sources::cluster::spawn(
                    i,
                    world.kubeconfig.clone(),
                    c.context.clone(),
                    tx.clone(),
                ));
            }
        }
        if parts.clock {
            runtime.tasks.push(clock::spawn(tx.clone()));
        }
        if parts.signals {
            runtime.tasks.extend(sources::signals::spawn(tx.clone()));
        }
        let alert_sources = || alerting::sources(&world, &forward_config, &urls);
        match parts.alerts {
            Reading::Off => {}
            Reading::Once => runtime.tasks.push(tokio::spawn(sources::alerts::once(
                alert_sources(),
                tx.clone(),
            ))),
            Reading::Follow => runtime.tasks.push(tokio::spawn(sources::alerts::run(
                alert_sources(),
                tx.clone(),
            ))),
        }
        if parts.exfil != Reading::Off {
            match exfil_source(&world, config, parts.exfil == Reading::Follow, &tx).await {
                Ok(task) => runtime.tasks.push(task),
                Err(why) => {
                    model.exfil.trouble = Some(why);
                    model.exfil.caught_up = true;
                }
            }
        }

        let contexts = world.clusters.iter().map(|c| c.context.clone()).collect();
        let pool = sources::clients::ClientPool::new(world.kubeconfig.clone(), contexts);
        let mut effects = LiveEffects::new(tx.clone()).with_clusters(pool.clone());
        if parts.doctor {
            effects = effects.with_doctor(doctor_setup(&world, config, &urls, pool));
            model.doctor.enabled = true;
            model.doctor.cluster_order = world.clusters.iter().map(|c| c.name.clone()).collect();
        }
        if parts.acts {
            effects = effects.with_acts(world.act_environment(config));
        }
        if parts.chat {
            effects = effects.with_chat(chat_setup(config));
        }
        if let Some(clipboard) = options.clipboard {
            effects = effects.with_clipboard(clipboard);
        }
        if let Some(browser) = options.browser {
            effects = effects.with_browser(browser);
        }
        if let Some(dir) = options.saved_logs {
            effects = effects.with_saved_logs(dir);
        }
        runtime.world = Some(world);
        (App::new(model, rx, Box::new(effects)), runtime)
    }

    /// [`Runtime::start`] with another effect runner (a test's recording one).
    pub async fn start_with_effects(
        world: World,
        config: &Config,
        parts: Parts,
        options: RuntimeOptions,
        effects: Box<dyn EffectRunner>,
    ) -> (App, Runtime) {
        let (app, runtime) = Self::start(world, config, parts, options).await;
        let App { model, rx, .. } = app;
        (App::new(model, rx, effects), runtime)
    }

    /// Another way in for messages: terminal input, a signal, a test's keys.
    pub fn sender(&self) -> mpsc::Sender<Msg> {
        self.tx.clone()
    }

    /// The world the sources read.
    pub fn world(&self) -> Option<&World> {
        self.world.as_ref()
    }

    /// Keys and resizes from the terminal the TUI draws on.
    pub fn spawn_terminal_input(&mut self) {
        self.tasks.push(sources::terminal::spawn(self.tx.clone()));
    }

    /// Stops every source, then the world (the simulator, if one was started).
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        for mut set in self.sets.drain(..) {
            set.shutdown().await;
        }
        if let Some(world) = self.world.take() {
            world.close().await;
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn model_for(world: &World, config: &Config, options: &RuntimeOptions) -> Model {
    let clusters = world
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.context.clone()))
        .collect();
    let mut model = configured_model(world.mode, clusters, config, options);
    for c in &mut model.clusters {
        c.insecure = world.insecure.contains(&c.context);
    }
    model.kubeconfig_path = world.kubeconfig_path.clone();
    model
}

/// The model as the config and options make it, before anything was read: every cluster
/// still connecting. The TUI draws it while the world opens.
pub fn configured_model(
    mode: WorldMode,
    clusters: Vec<(String, String)>,
    config: &Config,
    options: &RuntimeOptions,
) -> Model {
    let mut model = Model::new(mode, clusters, clock::now());
    for c in &mut model.clusters {
        c.fold = config.ui.fold.iter().cloned().collect();
    }
    model.log_path = options.log_path.clone();
    model.side_by_side_min_width = config.ui.narrow_width;
    model.set_demo(config.demo.clone());
    model.keys = config.keys.clone();
    model.confirm_acts = config.acts.confirm && !options.no_confirm;
    model.read_only = config.ui.read_only || options.read_only;
    model.chat.configured_agent = config.chat.agent.clone();
    model
}

/// The `[[forward]]` through which the doctor reads agentregistry's catalogue.
pub const DOCTOR_REGISTRY_FORWARD: &str = "agentregistry";

/// What the doctor reads with: the clusters' clients and the HTTP endpoints of Prometheus,
/// the chatbot and agentregistry (a configured URL wins over the forward).
fn doctor_setup(
    world: &World,
    config: &Config,
    urls: &forwards::ForwardUrls,
    pool: sources::clients::ClientPool,
) -> sources::doctor::DoctorSetup {
    use sources::doctor::HttpEndpoint;
    let endpoint = |url: Option<&String>, forward: &str| -> HttpEndpoint {
        if let Some(u) = url {
            return HttpEndpoint::Url(u.clone());
        }
        match urls.get(forward) {
            Some(rx) if !forward.is_empty() => HttpEndpoint::Forward {
                name: forward.to_string(),
                url: rx,
            },
            _ => HttpEndpoint::None(format!("no [[forward]] named {forward:?} and no url")),
        }
    };
    let chatbot_cluster = config
        .forwards
        .iter()
        .find(|f| f.name == config.chat.forward)
        .map_or_else(|| "edge".to_string(), |f| f.cluster.clone());
    sources::doctor::DoctorSetup {
        clusters: world.clusters.clone(),
        kubeconfig: world.kubeconfig.clone(),
        pool,
        prometheus: endpoint(config.alerts.url.as_ref(), &config.alerts.forward),
        chatbot: endpoint(config.chat.url.as_ref(), &config.chat.forward),
        chatbot_cluster,
        agentregistry: endpoint(None, DOCTOR_REGISTRY_FORWARD),
        demo: config.demo.clone(),
        chat_agent: config.chat.agent.clone(),
        timeout: sources::doctor::CHECK_TIMEOUT,
    }
}

pub fn chat_setup(config: &Config) -> ChatSetup {
    ChatSetup {
        forward: config.chat.forward.clone(),
        url: config.chat.url.clone(),
        agent: config.chat.agent.clone(),
        protocol: if config.chat.protocol == "1.0" {
            Protocol::V10
        } else {
            Protocol::V03
        },
        timeout: Duration::from_secs(config.chat.timeout_secs),
    }
}

/// The exfil counter's log follower, when the attacker's cluster is configured.
async fn exfil_source(
    world: &World,
    config: &Config,
    follow: bool,
    tx: &mpsc::Sender<Msg>,
) -> Result<JoinHandle<()>, String> {
    let attacker = &config.demo.attacker;
    let cluster = world
        .clusters
        .iter()
        .find(|c| c.name == attacker.cluster)
        .ok_or_else(|| format!("cluster `{}` is not configured", attacker.cluster))?;
    let client = sources::kubeconfig::client(&world.kubeconfig, &cluster.context)
        .await
        .map_err(|e| e.to_string())?;
    let target = sources::exfil::ExfilTarget {
        client,
        namespace: attacker.namespace.clone(),
        deployment: attacker.deployment.clone(),
        pattern: attacker.pattern.clone(),
        follow,
    };
    Ok(tokio::spawn(sources::exfil::run(target, tx.clone())))
}
