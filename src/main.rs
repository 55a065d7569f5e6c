//! The `control-room` command line: parses the arguments, sets up logging, and hands over to
//! the TUI (`app::tui`) or a headless command (`cli`).

// Unit tests may unwrap; nothing else may (the workspace lints deny it).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use control_room::app::world::{Choice, Opening, World};
use control_room::app::{self, RuntimeOptions};
use control_room::cli;
use control_room::config::{self, Config, Theme};
use control_room::model::ActKind;
use control_room_sim::{self as sim, SimOptions, SimTuning};

#[derive(Parser, Debug)]
#[command(
    name = "control-room",
    version,
    about = "Terminal control room for the TrustUsBank three-cluster demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
    /// Colour theme (default, light, high-contrast, video, or a file in the user themes dir).
    #[arg(long)]
    theme: Option<String>,
    /// Run act scripts without asking y/Enter first.
    #[arg(long)]
    no_confirm: bool,
    /// No writes: the act keys and Ctrl+D (delete pod) are refused (as `[ui] read_only`).
    #[arg(long)]
    read_only: bool,
    /// Record the screen as it is drawn to FILE (asciicast v2, with a marker at each act,
    /// prompt, reply, exfil rise and alert that fires).
    #[arg(long, value_name = "FILE.cast")]
    record: Option<PathBuf>,
    /// Play the story (default: the built-in one) in the TUI, pressing the keys a presenter
    /// would; quits at the end, exit 0 when every beat passed.
    #[arg(long, value_name = "STORY", num_args = 0..=1)]
    autopilot: Option<Option<PathBuf>>,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Config file (TOML) overriding the embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Kubeconfig to read instead of the config's, $KUBECONFIG or ~/.kube/config.
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Always start the embedded simulator.
    #[arg(long, global = true, conflicts_with = "live")]
    sim: bool,
    /// Never start the simulator: use the kubeconfig's contexts even if some are missing.
    #[arg(long, global = true)]
    live: bool,
}

impl Common {
    /// The world every subcommand talks to: live or simulated, as the flags and config say.
    /// A signal while the world opens (the simulator starting) ends the program at once,
    /// with the world's own clean-up: the runtime's signal source only takes over after.
    async fn open_world(&self, config: &Config) -> anyhow::Result<World> {
        let opening = World::decide(config, self.kubeconfig.as_deref(), self.choice())?;
        self.open_decided(config, opening).await
    }

    /// [`Common::open_world`] once live-or-simulated is decided (the TUI draws in between).
    async fn open_decided(&self, config: &Config, opening: Opening) -> anyhow::Result<World> {
        let ending = control_room::sources::signals::Ending::catch()?;
        tokio::select! {
            world = World::open_decided(config, opening) => world,
            n = ending.first() => Err(anyhow::Error::new(Interrupted(n))),
        }
    }

    fn choice(&self) -> Choice {
        match (self.sim, self.live) {
            (true, _) => Choice::Sim,
            (_, true) => Choice::Live,
            _ => Choice::Auto,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the simulated three-cluster world until interrupted.
    Sim(SimArgs),
    /// Run one act headless (reset, upgrade, policies-on); exits with the script's status.
    Act {
        #[arg(value_parser = ["reset", "upgrade", "policies-on"])]
        act: String,
    },
    /// Keep every configured port-forward open and print the link table, until interrupted.
    Forward,
    /// Send a prompt to the chatbot's agent; print the reply and the tool calls it made.
    Chat {
        prompt: String,
        /// Print one JSON object: agent, reply, trace, latency_ms, error.
        #[arg(long)]
        json: bool,
    },
    /// What is wrong in every cluster (the `!` view once); exits 1 when anything is.
    Problems {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The preflight checks of the walkthrough's pitfalls; exits 1 when any check fails.
    ///
    /// Warn (the demo mid-act) and unknown (could not read: no answer, 403, CRD absent) are
    /// printed but exit 0. Fixes are printed, never run.
    Doctor {
        /// Print JSON: [{id, title, result, cluster, clusters, evidence, fix}].
        #[arg(long)]
        json: bool,
    },
    /// A pod's log (CLUSTER/NAMESPACE/POD), or every matching pod's in every cluster (-l).
    Logs(cli::logs::LogsArgs),
    /// Presenter notes for a second terminal, following the act on the clusters.
    Notes {
        /// Notes file (TOML, as demo-scripts/notes.toml) instead of the embedded notes.
        #[arg(long, value_name = "FILE")]
        notes: Option<PathBuf>,
        /// Colour theme (default, light, high-contrast, video, or a user theme).
        #[arg(long)]
        theme: Option<String>,
    },
    /// Dress rehearsal: play every beat of the story headless against the current world,
    /// then reset to act 1; exits 1 naming the beat that failed.
    Rehearse {
        /// Story file (TOML) instead of the built-in one (demo-scripts/story.toml).
        #[arg(long, value_name = "FILE")]
        story: Option<PathBuf>,
        /// Print one JSON object at the end instead of a line per beat.
        #[arg(long)]
        json: bool,
    },
    /// One-shot snapshot of every cluster; exits 1 when one is unreachable.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct SimArgs {
    /// Where kubeconfig and control-room.toml are written.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// First API server port (edge); bank and vendor take the next two. Free ports if unset.
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    /// Add synthetic workload namespaces until each cluster holds N pods.
    #[arg(long, value_name = "N")]
    pods_per_cluster: Option<usize>,
    /// Pod updates per second across the world.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    churn: f64,
    /// How long each visible step of a rollout lasts (ContainerCreating, Terminating …).
    #[arg(long, value_name = "MS", default_value_t = sim::DEFAULT_ROLLOUT_STEP.as_millis() as u64)]
    rollout_step_ms: u64,
    /// Also serve every cluster's ztunnel metrics at http://ADDR/metrics (for a Prometheus).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Allow --metrics-addr on a non-loopback address (a Prometheus on another machine).
    #[arg(long)]
    metrics_public: bool,
    /// Add a log-generator pod (bank, load-logs/log-generator) whose log holds about N MiB
    /// at start, generated as it is read (for the log view's benchmarks).
    #[arg(long, value_name = "N")]
    big_log_mb: Option<u64>,
    /// Lines per second the log-generator pod writes from the start (adds the pod).
    #[arg(long, value_name = "R")]
    log_lines_per_sec: Option<u32>,
}

/// A signal ended the program before its command began.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by signal {0}")]
struct Interrupted(i32);

fn main() -> ExitCode {
    control_room::exit::install_panic_hook();
    let log_path = config::log_file_path();
    let shown_log = log_path.as_ref().map_or_else(
        || "none (no home or state directory: set HOME or XDG_STATE_HOME)".to_string(),
        |p| p.display().to_string(),
    );
    let help = format!(
        "Keys: {} (remap them under [keys])\nLog file: {shown_log}",
        keys_for_help().summary(),
    );
    let matches = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let _log_guard = log_path.as_deref().and_then(init_logging);
    control_room::exit::log_file(log_path.as_deref());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("control-room: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli, shown_log)) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<Interrupted>().is_some() => {
            let n = e.downcast_ref::<Interrupted>().map_or(1, |i| i.0);
            ExitCode::from(u8::try_from(128 + n).unwrap_or(1))
        }
        Err(e) => {
            let text = control_room::text::inert(&format!("{e:#}"));
            eprintln!("control-room: {text}");
            tracing::error!(error = %text, "exiting");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli, log_path: String) -> anyhow::Result<ExitCode> {
    if let Some(Command::Sim(args)) = cli.command {
        if let Some(addr) = args.metrics_addr
            && !addr.ip().is_loopback()
        {
            anyhow::ensure!(
                args.metrics_public,
                "refusing to serve the simulator's metrics on {addr}, which is not a loopback \
                 address: anyone who can reach it can read them; add --metrics-public if you \
                 mean it"
            );
            eprintln!(
                "control-room sim: warning: serving metrics on {addr} to anyone who can reach it \
                 (--metrics-public)"
            );
        }
        let opts = SimOptions {
            port_base: args.port_base,
            pods_per_cluster: args.pods_per_cluster,
            churn_per_sec: args.churn,
            metrics_addr: args.metrics_addr,
            metrics_public: args.metrics_public,
            big_log_mb: args.big_log_mb,
            log_lines_per_sec: args.log_lines_per_sec,
            ..SimOptions::default()
        };
        let tuning = SimTuning {
            rollout_step: std::time::Duration::from_millis(args.rollout_step_ms),
            ..SimTuning::default()
        };
        return cli::sim::run(args.state_dir, opts, tuning).await;
    }
    let config = Config::load(cli.common.config.as_deref())?;
    match cli.command {
        Some(Command::Sim(_)) => unreachable!("handled above"),
        Some(Command::Status { json }) => {
            let world = cli.common.open_world(&config).await?;
            cli::status::run(world, &config, json).await
        }
        Some(Command::Problems { json }) => {
            let world = cli.common.open_world(&config).await?;
            cli::problems::run(world, &config, json).await
        }
        Some(Command::Doctor { json }) => {
            let world = cli.common.open_world(&config).await?;
            cli::doctor::run(world, &config, json).await
        }
        Some(Command::Act { ref act }) => {
            let kind = ActKind::from_key(act).with_context(|| format!("unknown act {act:?}"))?;
            let world = cli.common.open_world(&config).await?;
            cli::act::run(world, &config, kind).await
        }
        Some(Command::Forward) => {
            let world = cli.common.open_world(&config).await?;
            cli::forward::run(world, &config).await
        }
        Some(Command::Logs(ref args)) => {
            let world = cli.common.open_world(&config).await?;
            cli::logs::run(world, &config, args).await
        }
        Some(Command::Notes {
            ref notes,
            ref theme,
        }) => {
            let notes = config::Notes::load(notes.as_deref())?;
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let theme_name = theme.clone().unwrap_or_else(|| config.ui.theme.clone());
            let theme = Theme::load(&theme_name, no_color)?;
            let world = cli.common.open_world(&config).await?;
            cli::notes::run(world, &config, &theme, &notes).await
        }
        Some(Command::Rehearse { ref story, json }) => {
            // A story is checked before the world opens: a typo costs no simulator start.
            let story = control_room::story::Story::load(story.as_deref())?;
            let world = cli.common.open_world(&config).await?;
            cli::rehearse::run(world, &config, story, json).await
        }
        Some(Command::Chat { ref prompt, json }) => {
            let world = cli.common.open_world(&config).await?;
            cli::chat::run(world, &config, prompt, json).await
        }
        None => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let theme_name = cli.theme.clone().unwrap_or_else(|| config.ui.theme.clone());
            let theme = Theme::load(&theme_name, no_color)?;
            let autopilot = match &cli.autopilot {
                Some(file) => Some(control_room::story::Story::load(file.as_deref())?),
                None => None,
            };
            let opening = World::decide(
                &config,
                cli.common.kubeconfig.as_deref(),
                cli.common.choice(),
            )?;
            let provisional = opening.provisional(&config);
            let options = RuntimeOptions {
                log_path,
                no_confirm: cli.no_confirm,
                read_only: cli.read_only,
                record: cli.record.clone(),
                autopilot,
                ..RuntimeOptions::default()
            };
            let open = cli.common.open_decided(&config, opening);
            app::tui::run(provisional, open, &config, &theme, options).await
        }
    }
}

/// The keymap `--help` lists: the `--config` file's (or the default config file's) if it
/// loads, else the defaults. A broken file is reported when a command loads it, not here.
fn keys_for_help() -> config::Keymap {
    let mut args = std::env::args_os().skip(1);
    let mut explicit = None;
    while let Some(arg) = args.next() {
        if arg == "--config" {
            explicit = args.next().map(PathBuf::from);
        } else if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            explicit = Some(PathBuf::from(path));
        }
    }
    Config::load(explicit.as_deref())
        .map(|c| c.keys)
        .unwrap_or_default()
}

/// Logs go to a file, never to the terminal the TUI draws on: 0600 in a 0700 directory,
/// never through a symlink, with wire text made inert. Without a usable state dir the
/// program still runs, just without a log.
fn init_logging(path: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = path.parent()?;
    control_room::files::own_state_dir(dir).ok()?;
    let file = control_room::files::append_private(path).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(control_room::text::InertWriter(file));
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONTROL_ROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
