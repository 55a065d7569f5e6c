//! The `Config` type: embedded defaults overlaid by the user's file, then validated.
//!
//! The user file is deserialized on its own into `ConfigFile`, a mirror of `Config` whose
//! every field is optional and carries its span, so schema and semantic errors both point
//! into the user's text. Adding a setting means adding it to `Config`, `ConfigFile`
//! (and `apply`), and `default.toml`.

use std::collections::HashSet;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Position, decode_utf8, describe_toml_error};
use super::keys::{Keymap, KeysValue};
use super::paths::default_config_path;

/// The embedded defaults, also a commented example of every setting.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default.toml");

/// Valid range of `ui.max_fps`.
pub const MAX_FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=120;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Kubeconfig file to use (else --kubeconfig / KUBECONFIG / ~/.kube/config, decided elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// True when this config was written by `control-room sim` (drives the SIMULATED badge).
    #[serde(default)]
    pub simulated: bool,
    /// `[[cluster]]` in TOML; order = pane order; at least one; names unique.
    #[serde(rename = "cluster")]
    pub clusters: Vec<ClusterConfig>,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub acts: ActsConfig,
    #[serde(default)]
    pub demo: DemoConfig,
    #[serde(default)]
    pub chat: ChatConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[[forward]]`: the in-cluster endpoints the tool reaches through its own port-forwards.
    #[serde(rename = "forward", default)]
    pub forwards: Vec<ForwardConfig>,
    /// `[keys]`: action → keys on the main screen.
    #[serde(default)]
    pub keys: Keymap,
    /// True when the user's file lists its own `[[forward]]`s: their local ports are then
    /// kept even against the simulator, where the defaults' fixed ports give way to free ones.
    #[serde(skip)]
    pub forwards_from_user: bool,
}

/// Where the customer prompt goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// The `[[forward]]` that reaches the chatbot (its proxy route `/api/a2a/<ns>/<agent>/`).
    pub forward: String,
    /// The chatbot's base URL (the proxy route is appended); wins over `forward`. For
    /// port-forwards that already run, or kagent's controller (port 8083) directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `<namespace>/<agent>` behind the proxy route.
    pub agent: String,
    /// A2A protocol: "0.3" (kagent 0.x) or "1.0".
    pub protocol: String,
    /// A whole exchange (all tool calls included) must finish within this.
    pub timeout_secs: u64,
}

impl Default for ChatConfig {
    /// Same values as `default.toml` (a test keeps them in step).
    fn default() -> Self {
        ChatConfig {
            forward: "chatbot".into(),
            url: None,
            agent: "trustusbank-bank-agents/support-bot".into(),
            protocol: "0.3".into(),
            timeout_secs: 60,
        }
    }
}

/// Where the alert panel reads alerts, and the fallback when there is no Prometheus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The `[[forward]]` that reaches Prometheus (empty: none).
    pub forward: String,
    /// Prometheus' base URL; wins over `forward`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Alertmanager as a second source: a URL, or a `[[forward]]` by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager_forward: Option<String>,
    /// Seconds between polls (one request at a time; the next starts after the last ends).
    pub poll_secs: u64,
    /// One request may take this long before it counts as failed.
    pub timeout_secs: u64,
    /// The deny-rate sparkline's PromQL (a range query over `sparkline_minutes`).
    pub deny_rate_query: String,
    pub sparkline_minutes: u64,
    /// Read straight from the ztunnel pods when Prometheus is not configured or not answering.
    pub ztunnel: ZtunnelScrape,
}

/// The ztunnel pods scraped by the fallback, on every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZtunnelScrape {
    pub namespace: String,
    /// A label selector (`app=ztunnel`).
    pub selector: String,
    pub port: u16,
    pub path: String,
}

impl Default for AlertsConfig {
    /// Same values as `default.toml` (a test keeps them in step).
    fn default() -> Self {
        AlertsConfig {
            forward: "prometheus".into(),
            url: None,
            alertmanager_url: None,
            alertmanager_forward: None,
            poll_secs: 2,
            timeout_secs: 5,
            deny_rate_query:
                r#"sum(rate(istio_tcp_connections_failed_total{response_flags="CONNECT"}[1m]))"#
                    .into(),
            sparkline_minutes: 10,
            ztunnel: ZtunnelScrape {
                namespace: "istio-system".into(),
                selector: "app=ztunnel".into(),
                port: 15020,
                path: "/stats/prometheus".into(),
            },
        }
    }
}

/// One port-forward: a Service (followed to a Ready pod per connection) or a fixed pod.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    pub name: String,
    /// A `[[cluster]]` name.
    pub cluster: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The Service port (or the pod's port when `pod` is given).
    pub port: u16,
    /// Local port on 127.0.0.1; unset → a free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_port: Option<u16>,
    /// Path appended to the local URL in the links pane (e.g. `/alerts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// Reach the endpoint at this URL instead of forwarding (e.g. an ingress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The three act scripts and how they are run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActsConfig {
    pub reset: ActConfig,
    pub upgrade: ActConfig,
    #[serde(rename = "policies-on")]
    pub policies_on: ActConfig,
    /// A run still going after this many seconds is killed (its whole process group).
    pub timeout_secs: u64,
    /// Ask `y`/Enter before running an act (`--no-confirm` turns it off).
    pub confirm: bool,
    /// Added to the scripts' environment after `KUBECONFIG` and the contexts
    /// (e.g. `ROLLOUT_TIMEOUT = "60s"`, `KUBECACHEDIR`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    /// Where each run's full output is kept; unset: `<state dir>/acts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActConfig {
    /// Program and arguments, run without a shell. A relative program is looked up from
    /// the working directory, then from the control-room source tree.
    pub command: Vec<String>,
}

/// What the act indicator watches: the tool the attack swaps and the policies that stop it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub tool: WorkloadRef,
    /// Substring of the image that marks the compromised tool (e.g. `rugpull`).
    pub compromised_image: String,
    /// Namespaces (in the tool's cluster) whose AuthorizationPolicies mean "defended".
    pub policy_namespaces: Vec<String>,
    /// Whose log the exfil counter reads.
    pub attacker: AttackerRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttackerRef {
    /// A `[[cluster]]` name.
    pub cluster: String,
    pub namespace: String,
    pub deployment: String,
    /// A log line containing this is one exfil event.
    pub pattern: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadRef {
    /// A `[[cluster]]` name.
    pub cluster: String,
    pub namespace: String,
    pub deployment: String,
}

impl Default for ActsConfig {
    /// Same values as `default.toml` (a test keeps them in step).
    fn default() -> Self {
        let cmd = |s: &str| ActConfig {
            command: vec![s.to_string()],
        };
        ActsConfig {
            reset: cmd("demo-scripts/reset-demo.sh"),
            upgrade: cmd("demo-scripts/upgrade-banking-app.sh"),
            policies_on: cmd("demo-scripts/policies-on.sh"),
            timeout_secs: 180,
            confirm: true,
            env: std::collections::BTreeMap::new(),
            log_dir: None,
        }
    }
}

impl Default for DemoConfig {
    /// Same values as `default.toml` (a test keeps them in step).
    fn default() -> Self {
        DemoConfig {
            tool: WorkloadRef {
                cluster: "vendor".into(),
                namespace: "trustusbank-bank-vendors".into(),
                deployment: "currency-converter".into(),
            },
            compromised_image: "rugpull".into(),
            policy_namespaces: vec![
                "trustusbank-bank-vendors".into(),
                "external-attacker".into(),
            ],
            attacker: AttackerRef {
                cluster: "vendor".into(),
                namespace: "external-attacker".into(),
                deployment: "mock-attacker".into(),
                pattern: "EXFIL RECEIVED".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Pane title, and how other settings refer to the cluster.
    pub name: String,
    /// Kubeconfig context used to reach it.
    pub context: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Theme name: built-in or `<user_themes_dir>/<name>.toml`.
    pub theme: String,
    /// Redraw cap in frames per second, within [`MAX_FPS_RANGE`].
    pub max_fps: u32,
    /// Below this terminal width the panes stack/tab instead of sitting side by side.
    pub narrow_width: u16,
    /// No writes at all: acts and pod deletes are refused (`--read-only` says the same).
    pub read_only: bool,
    /// Namespaces that play no part in the story: one summary row each while all is well.
    pub fold: Vec<String>,
}

/// The namespaces folded by default: the platform's, not the story's.
pub const DEFAULT_FOLD: &[&str] = &[
    "kube-system",
    "istio-system",
    "istio-eastwest",
    "gloo-mesh",
    "trustusbank-observability",
    "local-path-storage",
];

impl Default for UiConfig {
    /// Same values as `default.toml` (a test keeps them in step).
    fn default() -> Self {
        UiConfig {
            theme: "default".to_string(),
            max_fps: 30,
            narrow_width: 120,
            read_only: false,
            fold: DEFAULT_FOLD.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The user's file as written: everything optional, spans kept for error positions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a control-room config table")]
struct ConfigFile {
    kubeconfig: Option<Spanned<PathBuf>>,
    simulated: Option<bool>,
    #[serde(rename = "cluster")]
    clusters: Option<Spanned<Vec<ClusterFile>>>,
    ui: Option<UiFile>,
    acts: Option<ActsFile>,
    demo: Option<DemoFile>,
    forward: Option<Vec<Spanned<ForwardConfig>>>,
    chat: Option<ChatFile>,
    alerts: Option<AlertsFile>,
    keys: Option<std::collections::BTreeMap<Spanned<String>, Spanned<KeysValue>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [alerts] table")]
struct AlertsFile {
    forward: Option<String>,
    url: Option<Spanned<String>>,
    alertmanager_url: Option<Spanned<String>>,
    alertmanager_forward: Option<Spanned<String>>,
    poll_secs: Option<Spanned<u64>>,
    timeout_secs: Option<Spanned<u64>>,
    deny_rate_query: Option<String>,
    sparkline_minutes: Option<Spanned<u64>>,
    ztunnel: Option<ZtunnelScrape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [chat] table")]
struct ChatFile {
    forward: Option<String>,
    url: Option<Spanned<String>>,
    agent: Option<String>,
    protocol: Option<Spanned<String>>,
    timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [acts] table")]
struct ActsFile {
    reset: Option<Spanned<ActConfig>>,
    upgrade: Option<Spanned<ActConfig>>,
    #[serde(rename = "policies-on")]
    policies_on: Option<Spanned<ActConfig>>,
    timeout_secs: Option<Spanned<u64>>,
    confirm: Option<bool>,
    env: Option<std::collections::BTreeMap<String, String>>,
    log_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [demo] table")]
struct DemoFile {
    tool: Option<WorkloadRef>,
    compromised_image: Option<String>,
    policy_namespaces: Option<Vec<String>>,
    attacker: Option<AttackerRef>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a cluster table like { name = \"edge\", context = \"kind-trustusbank-edge\" }"
)]
struct ClusterFile {
    name: Spanned<String>,
    context: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [ui] table")]
struct UiFile {
    theme: Option<Spanned<String>>,
    /// Signed and wide, so `-5` gets the range message rather than "expected u32".
    max_fps: Option<Spanned<i64>>,
    narrow_width: Option<u16>,
    read_only: Option<bool>,
    fold: Option<Vec<String>>,
}

/// A setting a semantic check can complain about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Kubeconfig,
    Clusters,
    ClusterName(usize),
    ClusterContext(usize),
    Theme,
    MaxFps,
    /// A setting by its dotted name (`alerts.poll_secs`, `acts.reset`).
    Key(&'static str),
    /// The `[[forward]]` at this index.
    Forward(usize),
}

/// Where in the user's file each overridden setting was written.
#[derive(Default)]
struct Spans {
    kubeconfig: Option<Range<usize>>,
    clusters: Option<Range<usize>>,
    cluster_names: Vec<Range<usize>>,
    cluster_contexts: Vec<Range<usize>>,
    theme: Option<Range<usize>>,
    max_fps: Option<Range<usize>>,
    /// Other settings by dotted name.
    keys: std::collections::HashMap<&'static str, Range<usize>>,
    forwards: Vec<Range<usize>>,
}

impl Spans {
    /// Unwraps a spanned setting, remembering where the user wrote it.
    fn take<T>(&mut self, key: &'static str, value: Spanned<T>) -> T {
        self.keys.insert(key, value.span());
        value.into_inner()
    }

    fn of(&self, field: Field) -> Option<Range<usize>> {
        match field {
            Field::Kubeconfig => self.kubeconfig.clone(),
            Field::Clusters => self.clusters.clone(),
            Field::ClusterName(i) => self.cluster_names.get(i).cloned(),
            Field::ClusterContext(i) => self.cluster_contexts.get(i).cloned(),
            Field::Theme => self.theme.clone(),
            Field::MaxFps => self.max_fps.clone(),
            Field::Key(key) => self.keys.get(key).cloned(),
            Field::Forward(i) => self.forwards.get(i).cloned(),
        }
    }
}

impl ConfigFile {
    /// Overlay onto `config`: present scalars replace, tables merge by key, arrays replace.
    fn apply(self, config: &mut Config) -> Spans {
        let mut spans = Spans::default();
        if let Some(path) = self.kubeconfig {
            spans.kubeconfig = Some(path.span());
            config.kubeconfig = Some(path.into_inner());
        }
        if let Some(simulated) = self.simulated {
            config.simulated = simulated;
        }
        if let Some(clusters) = self.clusters {
            spans.clusters = Some(clusters.span());
            config.clusters = clusters
                .into_inner()
                .into_iter()
                .map(|c| {
                    spans.cluster_names.push(c.name.span());
                    spans.cluster_contexts.push(c.context.span());
                    ClusterConfig {
                        name: c.name.into_inner(),
                        context: c.context.into_inner(),
                    }
                })
                .collect();
        }
        if let Some(ui) = self.ui {
            if let Some(theme) = ui.theme {
                spans.theme = Some(theme.span());
                config.ui.theme = theme.into_inner();
            }
            if let Some(max_fps) = ui.max_fps {
                spans.max_fps = Some(max_fps.span());
                // from_toml_overlay has already rejected values outside MAX_FPS_RANGE.
                config.ui.max_fps = u32::try_from(*max_fps.get_ref()).unwrap_or(0);
            }
            if let Some(narrow_width) = ui.narrow_width {
                config.ui.narrow_width = narrow_width;
            }
            if let Some(read_only) = ui.read_only {
                config.ui.read_only = read_only;
            }
            if let Some(fold) = ui.fold {
                config.ui.fold = fold;
            }
        }
        if let Some(chat) = self.chat {
            if let Some(v) = chat.forward {
                config.chat.forward = v;
            }
            if let Some(v) = chat.url {
                config.chat.url = Some(spans.take("chat.url", v));
            }
            if let Some(v) = chat.agent {
                config.chat.agent = v;
            }
            if let Some(v) = chat.protocol {
                config.chat.protocol = spans.take("chat.protocol", v);
            }
            if let Some(v) = chat.timeout_secs {
                config.chat.timeout_secs = spans.take("chat.timeout_secs", v);
            }
        }
        if let Some(alerts) = self.alerts {
            let a = &mut config.alerts;
            if let Some(v) = alerts.forward {
                a.forward = v;
            }
            if let Some(v) = alerts.url {
                a.url = Some(spans.take("alerts.url", v));
            }
            if let Some(v) = alerts.alertmanager_url {
                a.alertmanager_url = Some(spans.take("alerts.alertmanager_url", v));
            }
            if let Some(v) = alerts.alertmanager_forward {
                a.alertmanager_forward = Some(spans.take("alerts.alertmanager_forward", v));
            }
            if let Some(v) = alerts.poll_secs {
                a.poll_secs = spans.take("alerts.poll_secs", v);
            }
            if let Some(v) = alerts.timeout_secs {
                a.timeout_secs = spans.take("alerts.timeout_secs", v);
            }
            if let Some(v) = alerts.deny_rate_query {
                a.deny_rate_query = v;
            }
            if let Some(v) = alerts.sparkline_minutes {
                a.sparkline_minutes = spans.take("alerts.sparkline_minutes", v);
            }
            if let Some(v) = alerts.ztunnel {
                a.ztunnel = v;
            }
        }
        if let Some(forwards) = self.forward {
            config.forwards = forwards
                .into_iter()
                .map(|f| {
                    spans.forwards.push(f.span());
                    f.into_inner()
                })
                .collect();
            config.forwards_from_user = true;
        }
        if let Some(acts) = self.acts {
            let a = &mut config.acts;
            if let Some(v) = acts.reset {
                a.reset = spans.take("acts.reset", v);
            }
            if let Some(v) = acts.upgrade {
                a.upgrade = spans.take("acts.upgrade", v);
            }
            if let Some(v) = acts.policies_on {
                a.policies_on = spans.take("acts.policies-on", v);
            }
            if let Some(v) = acts.timeout_secs {
                a.timeout_secs = spans.take("acts.timeout_secs", v);
            }
            if let Some(v) = acts.confirm {
                a.confirm = v;
            }
            if let Some(v) = acts.env {
                a.env = v;
            }
            if let Some(v) = acts.log_dir {
                a.log_dir = Some(v);
            }
        }
        if let Some(demo) = self.demo {
            if let Some(v) = demo.tool {
                config.demo.tool = v;
            }
            if let Some(v) = demo.compromised_image {
                config.demo.compromised_image = v;
            }
            if let Some(v) = demo.policy_namespaces {
                config.demo.policy_namespaces = v;
            }
            if let Some(v) = demo.attacker {
                config.demo.attacker = v;
            }
        }
        spans
    }
}

impl Config {
    /// The embedded defaults (`src/config/default.toml`).
    pub fn defaults() -> Config {
        // Embedded and covered by tests, so failure here is a build defect, not user input.
        #[allow(clippy::expect_used)]
        toml::from_str(DEFAULT_CONFIG_TOML).expect("embedded src/config/default.toml is valid")
    }

    /// Defaults overlaid by the user file: `explicit` if given (it must exist), else
    /// [`default_config_path`] if that file exists, else the defaults alone.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(path) => Self::load_file(path),
            None => match default_config_path() {
                Some(path) if path.exists() => Self::load_file(&path),
                _ => Ok(Self::defaults()),
            },
        }
    }

    /// Defaults overlaid by the file at `path`. A relative or `~/` `kubeconfig` in the file
    /// is resolved against the file's directory / the home directory.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let bytes = fs::read(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let origin = path.display().to_string();
        let text = decode_utf8(&bytes).map_err(|(position, message)| ConfigError::Parse {
            origin: origin.clone(),
            position: Some(position),
            message,
        })?;
        let mut config = Self::from_toml_overlay(text, &origin)?;
        if let Some(kubeconfig) = config.kubeconfig.take() {
            config.kubeconfig = Some(resolve_path(kubeconfig, path.parent()));
        }
        Ok(config)
    }

    /// Defaults overlaid by the TOML `text`; `origin` names it in errors.
    pub fn from_toml_overlay(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut file: ConfigFile = toml::from_str(text).map_err(|err| {
            let (position, message) = describe_toml_error(&err, text);
            ConfigError::Parse {
                origin: origin.to_string(),
                position,
                message,
            }
        })?;
        let invalid = |span: Option<Range<usize>>, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            position: span.map(|span| Position::at(text, span.start)),
            message,
        };
        if let Some(max_fps) = file.ui.as_ref().and_then(|ui| ui.max_fps.as_ref()) {
            let value = *max_fps.get_ref();
            if !u32::try_from(value).is_ok_and(|v| MAX_FPS_RANGE.contains(&v)) {
                return Err(invalid(Some(max_fps.span()), max_fps_message(value)));
            }
        }
        let keys = file.keys.take();
        let mut config = Self::defaults();
        if let Some(keys) = keys {
            let keys: Vec<_> = keys.into_iter().collect();
            let entries: Vec<(String, Vec<String>)> = keys
                .iter()
                .map(|(name, value)| (name.get_ref().clone(), value.get_ref().clone().into_vec()))
                .collect();
            config.keys = Keymap::with_overrides(&entries).map_err(|e| {
                let span =
                    keys.get(e.entry).map(
                        |(name, value)| {
                            if e.at_name { name.span() } else { value.span() }
                        },
                    );
                invalid(span, e.message)
            })?;
        }
        let spans = file.apply(&mut config);
        match config.first_violation() {
            None => Ok(config),
            Some((field, message)) => Err(invalid(spans.of(field), message)),
        }
    }

    /// Semantic checks, for a config assembled in code (e.g. after CLI overrides).
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        match self.first_violation() {
            None => Ok(()),
            Some((_, message)) => Err(ConfigError::Invalid {
                origin: origin.to_string(),
                position: None,
                message,
            }),
        }
    }

    /// The TOML a `Config` round-trips through (`control-room sim` writes this).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// The cluster with this name, if configured.
    pub fn cluster(&self, name: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.name == name)
    }

    fn first_violation(&self) -> Option<(Field, String)> {
        if self
            .kubeconfig
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Some((Field::Kubeconfig, "kubeconfig must not be empty".into()));
        }
        if self.clusters.is_empty() {
            return Some((
                Field::Clusters,
                "at least one [[cluster]] is required".into(),
            ));
        }
        let mut seen = HashSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            if cluster.name.trim().is_empty() {
                return Some((
                    Field::ClusterName(i),
                    "cluster name must not be empty".into(),
                ));
            }
            if !seen.insert(cluster.name.as_str()) {
                return Some((
                    Field::ClusterName(i),
                    format!(
                        "duplicate cluster name `{}`, cluster names must be unique",
                        cluster.name
                    ),
                ));
            }
            if cluster.context.trim().is_empty() {
                return Some((
                    Field::ClusterContext(i),
                    format!("cluster `{}` has an empty context", cluster.name),
                ));
            }
        }
        if self.ui.theme.trim().is_empty() {
            return Some((Field::Theme, "ui.theme must not be empty".into()));
        }
        if !MAX_FPS_RANGE.contains(&self.ui.max_fps) {
            return Some((Field::MaxFps, max_fps_message(self.ui.max_fps.into())));
        }
        for (key, act) in [
            ("acts.reset", &self.acts.reset),
            ("acts.upgrade", &self.acts.upgrade),
            ("acts.policies-on", &self.acts.policies_on),
        ] {
            if act.command.first().is_none_or(|p| p.trim().is_empty()) {
                return Some((
                    Field::Key(key),
                    format!("{key}.command must name a program"),
                ));
            }
        }
        if self.acts.timeout_secs == 0 {
            return Some((
                Field::Key("acts.timeout_secs"),
                "acts.timeout_secs must be at least 1".into(),
            ));
        }
        if !matches!(self.chat.protocol.as_str(), "0.3" | "1.0") {
            return Some((
                Field::Key("chat.protocol"),
                format!(
                    "chat.protocol must be \"0.3\" or \"1.0\", got {:?}",
                    self.chat.protocol
                ),
            ));
        }
        if self.chat.timeout_secs == 0 {
            return Some((
                Field::Key("chat.timeout_secs"),
                "chat.timeout_secs must be at least 1".into(),
            ));
        }
        if let Some(url) = &self.chat.url
            && !is_http_url(url)
        {
            return Some((
                Field::Key("chat.url"),
                format!("chat.url must start with http:// or https://, got {url:?}"),
            ));
        }
        let alerts = &self.alerts;
        if !(1..=3600).contains(&alerts.poll_secs) {
            return Some((
                Field::Key("alerts.poll_secs"),
                format!(
                    "alerts.poll_secs must be between 1 and 3600, got {}",
                    alerts.poll_secs
                ),
            ));
        }
        if alerts.timeout_secs == 0 {
            return Some((
                Field::Key("alerts.timeout_secs"),
                "alerts.timeout_secs must be at least 1".into(),
            ));
        }
        if !(1..=1440).contains(&alerts.sparkline_minutes) {
            return Some((
                Field::Key("alerts.sparkline_minutes"),
                format!(
                    "alerts.sparkline_minutes must be between 1 and 1440, got {}",
                    alerts.sparkline_minutes
                ),
            ));
        }
        for (key, url) in [
            ("alerts.url", &alerts.url),
            ("alerts.alertmanager_url", &alerts.alertmanager_url),
        ] {
            if let Some(url) = url
                && !is_http_url(url)
            {
                return Some((
                    Field::Key(key),
                    format!("{key} must start with http:// or https://, got {url:?}"),
                ));
            }
        }
        // A missing `alerts.forward` only means "no Prometheus" (the panel says so and falls
        // back to ztunnel), so a user file with its own [[forward]]s keeps working.
        if let Some(name) = &alerts.alertmanager_forward
            && !self.forwards.iter().any(|f| &f.name == name)
        {
            return Some((
                Field::Key("alerts.alertmanager_forward"),
                format!("alerts.alertmanager_forward names `{name}`, which no [[forward]] has"),
            ));
        }
        let mut names = HashSet::new();
        for (i, f) in self.forwards.iter().enumerate() {
            if !names.insert(f.name.as_str()) {
                return Some((
                    Field::Forward(i),
                    format!("duplicate forward name `{}`", f.name),
                ));
            }
            if let Some(url) = &f.url
                && !is_http_url(url)
            {
                return Some((
                    Field::Forward(i),
                    format!(
                        "forward `{}`: url must start with http:// or https://, got {url:?}",
                        f.name
                    ),
                ));
            }
            if f.url.is_none() && f.service.is_some() == f.pod.is_some() {
                return Some((
                    Field::Forward(i),
                    format!(
                        "forward `{}` needs exactly one of `service` or `pod` (or a `url`)",
                        f.name
                    ),
                ));
            }
        }
        None
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

fn max_fps_message(value: i64) -> String {
    format!(
        "ui.max_fps must be between {} and {}, got {value}",
        MAX_FPS_RANGE.start(),
        MAX_FPS_RANGE.end()
    )
}

/// `~/x` → home/x; relative → against `base` (the config file's directory).
fn resolve_path(path: PathBuf, base: Option<&Path>) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_overlay(text, "test.toml")
    }

    fn err(text: &str) -> String {
        overlay(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_walkthrough_topology() {
        let c = Config::defaults();
        let pairs: Vec<_> = c
            .clusters
            .iter()
            .map(|c| (c.name.as_str(), c.context.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("edge", "kind-trustusbank-edge"),
                ("bank", "kind-trustusbank-bank"),
                ("vendor", "kind-trustusbank-vendor"),
            ]
        );
        assert!(!c.simulated);
        assert_eq!(c.kubeconfig, None);
        assert_eq!(c.ui, UiConfig::default());
        assert_eq!(c.acts, ActsConfig::default());
        assert_eq!(c.demo, DemoConfig::default());
        assert_eq!(c.chat, ChatConfig::default());
        assert_eq!(c.alerts, AlertsConfig::default());
        c.validate("defaults").unwrap();
    }

    #[test]
    fn empty_overlay_is_the_defaults() {
        assert_eq!(overlay("").unwrap(), Config::defaults());
        assert_eq!(overlay("# only a comment\n").unwrap(), Config::defaults());
    }

    #[test]
    fn tables_merge_key_by_key() {
        let c = overlay("[ui]\nmax_fps = 60\n").unwrap();
        assert_eq!(c.ui.max_fps, 60);
        assert_eq!(c.ui.theme, "default");
        assert_eq!(c.ui.narrow_width, 120);
        assert_eq!(c.clusters, Config::defaults().clusters);
    }

    #[test]
    fn arrays_replace_the_default_as_a_whole() {
        let c = overlay("[[cluster]]\nname = \"solo\"\ncontext = \"kind-solo\"\n").unwrap();
        assert_eq!(
            c.clusters,
            [ClusterConfig {
                name: "solo".into(),
                context: "kind-solo".into()
            }]
        );
    }

    #[test]
    fn schema_errors_point_into_the_user_text() {
        let e = err("simulated = \"yes\"\n");
        assert!(
            e.starts_with("config error in test.toml at line 1, column 13: "),
            "{e}"
        );
        assert!(e.contains("expected a boolean"), "{e}");

        let e = err("\n\nclusterz = 1\n");
        assert!(e.contains("at line 3, column 1"), "{e}");
        assert!(
            e.contains("unknown field `clusterz`, expected one of `kubeconfig`, `simulated`, `cluster`, `ui`, `acts`, `demo`, `forward`, `chat`, `alerts`"),
            "{e}"
        );

        let e = err("[ui]\nthem = \"x\"\n");
        assert!(e.contains("at line 2, column 1"), "{e}");
        assert!(e.contains("unknown field `them`"), "{e}");

        let e = err("[[cluster]]\nname = \"a\"\n");
        assert!(e.contains("missing field `context`"), "{e}");
    }

    #[test]
    fn chat_url_wins_and_must_be_http() {
        let c = overlay("[chat]\nurl = \"http://127.0.0.1:8083\"\n").unwrap();
        assert_eq!(c.chat.url.as_deref(), Some("http://127.0.0.1:8083"));
        assert_eq!(c.chat.forward, "chatbot", "the rest of [chat] stays");
        let e = err("[chat]\nagent = \"ns/a\"\nurl = \"127.0.0.1:8083\"\n");
        assert_eq!(
            e,
            "config error in test.toml at line 3, column 7: chat.url must start with http:// or https://, got \"127.0.0.1:8083\""
        );
    }

    #[test]
    fn semantic_errors_point_at_the_offending_value() {
        let e = err("[ui]\nmax_fps = 0\n");
        assert_eq!(
            e,
            "config error in test.toml at line 2, column 11: ui.max_fps must be between 1 and 120, got 0"
        );
        let e = err("cluster = []\n");
        assert!(e.contains("at line 1, column 11"), "{e}");
        assert!(e.contains("at least one [[cluster]]"), "{e}");
        let e = err(
            "[[cluster]]\nname = \"a\"\ncontext = \"x\"\n[[cluster]]\nname = \"a\"\ncontext = \"y\"\n",
        );
        assert!(e.contains("at line 5, column 8"), "{e}");
        assert!(e.contains("duplicate cluster name `a`"), "{e}");
        let e = err("[[cluster]]\nname = \"a\"\ncontext = \"\"\n");
        assert!(e.contains("at line 3, column 11"), "{e}");
        assert!(e.contains("empty context"), "{e}");
        let e = err("[ui]\ntheme = \" \"\n");
        assert!(e.contains("at line 2, column 9"), "{e}");
    }

    #[test]
    fn validate_reports_without_position() {
        let mut c = Config::defaults();
        c.ui.max_fps = 500;
        let e = c.validate("--max-fps").unwrap_err().to_string();
        assert_eq!(
            e,
            "config error in --max-fps: ui.max_fps must be between 1 and 120, got 500"
        );
    }

    #[test]
    fn round_trips_through_toml() {
        let c = Config {
            kubeconfig: Some("/tmp/sim/kubeconfig".into()),
            simulated: true,
            clusters: Config::defaults().clusters,
            ui: UiConfig {
                theme: "light".into(),
                max_fps: 10,
                narrow_width: 80,
                read_only: true,
                fold: vec!["kube-system".into()],
            },
            acts: ActsConfig::default(),
            keys: Keymap::with_overrides(&[("quit".into(), vec!["Q".into()])])
                .expect("a valid keymap"),
            demo: DemoConfig::default(),
            chat: ChatConfig::default(),
            alerts: AlertsConfig::default(),
            forwards: Config::defaults().forwards,
            // A file that lists forwards is the user's choice of forwards.
            forwards_from_user: true,
        };
        let text = c.to_toml().unwrap();
        assert_eq!(overlay(&text).unwrap(), c, "{text}");
        let mut defaults = Config::defaults();
        defaults.forwards_from_user = true;
        assert_eq!(
            overlay(&Config::defaults().to_toml().unwrap()).unwrap(),
            defaults
        );
    }

    #[test]
    fn kubeconfig_paths_resolve_against_the_file() {
        let base = Path::new("/etc/cr");
        assert_eq!(
            resolve_path("kc".into(), Some(base)),
            PathBuf::from("/etc/cr/kc")
        );
        assert_eq!(
            resolve_path("/abs/kc".into(), Some(base)),
            PathBuf::from("/abs/kc")
        );
        if let Some(home) = dirs::home_dir() {
            assert_eq!(resolve_path("~/kc".into(), Some(base)), home.join("kc"));
        }
    }
}
