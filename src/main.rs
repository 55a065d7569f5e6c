//! The `control-room` command line: the TUI, the headless simulator and the status snapshot.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::sync::mpsc;

use control_room::actions::{self, ActEvent};
use control_room::app::Msg;
use control_room::app::world::{Choice, World};
use control_room::app::{self, App, status};
use control_room::config::{self, Config, Theme};
use control_room::model::forward::{ForwardRow, ForwardState};
use control_room::model::{ActKind, Model};
use control_room::sources;
use control_room::sources::forward::ForwardMsg;
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
    /// Colour theme (default, light, high-contrast, or a file in the user themes dir).
    #[arg(long)]
    theme: Option<String>,
    /// Run act scripts without asking y/Enter first.
    #[arg(long)]
    no_confirm: bool,
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
    async fn open_world(&self, config: &Config) -> anyhow::Result<World> {
        World::open(config, self.kubeconfig.as_deref(), self.choice()).await
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
}

fn main() -> ExitCode {
    let log_path = config::log_file_path();
    let help = format!(
        "Keys: r/u/p acts 1-3 · i chat · t trace · 1-9 focus · Tab next · j/k scroll · z zoom · a act log · L links · ? help · q quit\nLog file: {}",
        log_path.display()
    );
    let matches = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let _log_guard = init_logging(&log_path);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("control-room: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli, log_path)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("control-room: {e:#}");
            tracing::error!(error = format!("{e:#}"), "exiting");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli, log_path: PathBuf) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Sim(args)) => {
            let defaults = SimOptions::default();
            let opts = SimOptions {
                state_dir: args.state_dir.unwrap_or(defaults.state_dir),
                port_base: args.port_base,
                pods_per_cluster: args.pods_per_cluster,
                churn_per_sec: args.churn,
                metrics_addr: args.metrics_addr,
            };
            let tuning = SimTuning {
                rollout_step: std::time::Duration::from_millis(args.rollout_step_ms),
                ..SimTuning::default()
            };
            control_room::cli::sim::run(opts, tuning).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status { json }) => {
            let config = Config::load(cli.common.config.as_deref())?;
            let world = cli.common.open_world(&config).await?;
            let mut snapshot = status::snapshot(&world, &config.demo).await;
            // Only the forwards the alert sources use are opened.
            let mut alert_config = config.clone();
            alert_config.forwards.retain(|f| {
                f.name == config.alerts.forward
                    || Some(&f.name) == config.alerts.alertmanager_forward.as_ref()
            });
            let (tx, _rx) = mpsc::channel(1024);
            let (_rows, forwards, urls) =
                app::forwards::start_with_urls(&world, &alert_config, &tx, None).await;
            (snapshot.alerts, snapshot.alert_source) =
                app::alerting::snapshot(&world, &alert_config, &urls).await;
            drop(forwards);
            world.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&snapshot)?);
            } else {
                print!("{}", snapshot.to_text());
            }
            Ok(if snapshot.all_reachable() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Some(Command::Act { ref act }) => run_act_headless(&cli, act).await,
        Some(Command::Forward) => run_forward_headless(&cli).await,
        Some(Command::Chat { ref prompt, json }) => run_chat_headless(&cli, prompt, json).await,
        None => {
            run_tui(&cli, log_path).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The exfil counter's log follower, when the attacker's cluster is configured.
async fn spawn_exfil(
    world: &World,
    config: &Config,
    tx: &mpsc::Sender<Msg>,
) -> Option<tokio::task::JoinHandle<()>> {
    let attacker = &config.demo.attacker;
    let cluster = world.clusters.iter().find(|c| c.name == attacker.cluster)?;
    let client = sources::kubeconfig::client(&world.kubeconfig, &cluster.context)
        .await
        .ok()?;
    let target = sources::exfil::ExfilTarget {
        client,
        namespace: attacker.namespace.clone(),
        deployment: attacker.deployment.clone(),
        pattern: attacker.pattern.clone(),
    };
    Some(tokio::spawn(sources::exfil::run(target, tx.clone())))
}

/// `control-room chat "PROMPT"`: one exchange with the agent, through the chatbot forward.
async fn run_chat_headless(cli: &Cli, prompt: &str, json: bool) -> anyhow::Result<ExitCode> {
    use control_room::sources::a2a::{A2aClient, ChatEvent, Protocol};
    let mut config = Config::load(cli.common.config.as_deref())?;
    let world = cli.common.open_world(&config).await?;
    // Only the chatbot's forward is needed here.
    config.forwards.retain(|f| f.name == config.chat.forward);
    anyhow::ensure!(
        !config.forwards.is_empty(),
        "no [[forward]] named {:?} (chat.forward)",
        config.chat.forward
    );
    let (tx, mut rx) = mpsc::channel(64);
    let (mut rows, tasks) = app::forwards::start(&world, &config, &tx, None).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while rows[0].base_url().is_none() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Msg::Forward(0, m))) => rows[0].apply(m, sources::clock::now()),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let base = rows[0].base_url().with_context(|| {
        let why = rows[0]
            .last_error
            .as_ref()
            .map(|(_, e)| e.clone())
            .unwrap_or_default();
        format!(
            "the {} forward is not listening: {why}",
            config.chat.forward
        )
    })?;
    let protocol = if config.chat.protocol == "1.0" {
        Protocol::V10
    } else {
        Protocol::V03
    };
    let timeout = std::time::Duration::from_secs(config.chat.timeout_secs);
    let client =
        A2aClient::new(&base, &config.chat.agent, protocol, timeout).map_err(anyhow::Error::msg)?;
    let (agent, streaming) = match client.card().await {
        Ok(card) => card,
        Err(e) => {
            tracing::warn!(error = %e, "no agent card; sending without streaming");
            (config.chat.agent.clone(), false)
        }
    };
    let (events_tx, mut events) = mpsc::channel(1024);
    let prompt_owned = prompt.to_string();
    let exchange = tokio::spawn(async move {
        client
            .send(&prompt_owned, streaming, timeout, &events_tx)
            .await
    });
    let mut reply = String::new();
    let mut trace = Vec::new();
    let mut latency = None;
    let mut error = None;
    if !json {
        eprintln!("control-room: {agent} via {base}");
    }
    while let Some(event) = events.recv().await {
        match event {
            ChatEvent::Text { text, append } => {
                if !append && !reply.is_empty() {
                    reply.push('\n');
                }
                reply.push_str(&text);
            }
            ChatEvent::ToolCall {
                id,
                name,
                args,
                author,
            } => {
                let server = control_room::model::chat::server_of(&name);
                if !json {
                    let by = author
                        .as_deref()
                        .map(|a| format!("{a} → "))
                        .unwrap_or_default();
                    eprintln!("→ [{by}{server}] {name} {args}");
                }
                trace.push(serde_json::json!(
                    {"type": "call", "id": id, "name": name, "args": args, "agent": author, "server": server}
                ));
            }
            ChatEvent::ToolResult { id, name, response } => {
                if !json {
                    eprintln!("← {name} {response}");
                }
                trace.push(serde_json::json!({"type": "result", "id": id, "name": name, "response": response}));
            }
            ChatEvent::Raw(v) => trace.push(serde_json::json!({"type": "raw", "value": v})),
            ChatEvent::State(_) | ChatEvent::Agent { .. } => {}
            ChatEvent::Done { latency: l } => latency = Some(l),
            ChatEvent::Error(e) => error = Some(e),
        }
    }
    let _ = exchange.await;
    drop(tasks);
    world.close().await;
    if json {
        let out = serde_json::json!({
            "agent": agent,
            "reply": reply,
            "trace": trace,
            "latency_ms": latency.map(|l| l.as_millis() as u64),
            "error": error,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{reply}");
        if let Some(e) = &error {
            eprintln!("control-room: chat failed: {e}");
        }
    }
    Ok(if error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `control-room forward`: the port-forward helper script's replacement.
async fn run_forward_headless(cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.common.config.as_deref())?;
    let world = cli.common.open_world(&config).await?;
    let (tx, mut rx) = mpsc::channel(1024);
    let (mut rows, tasks) = app::forwards::start(&world, &config, &tx, None).await;
    drop(tx);
    // Wait until every forward is listening or has said why not, then print the table.
    let settle = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    let settled = |rows: &[ForwardRow]| rows.iter().all(|r| r.state != ForwardState::Starting);
    while !settled(&rows) {
        match tokio::time::timeout_at(settle, rx.recv()).await {
            Ok(Some(Msg::Forward(i, m))) => {
                if let Some(r) = rows.get_mut(i) {
                    r.apply(m, sources::clock::now());
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    println!("{:<15} {:<42} {:<8} TARGET", "NAME", "URL", "CLUSTER");
    for r in &rows {
        let url = r.url().unwrap_or_else(|| "—".to_string());
        println!("{:<15} {:<42} {:<8} {}", r.name, url, r.cluster, r.target);
        if let Some((_, e)) = &r.last_error {
            println!("{:<15} ✖ {e}", "");
        }
    }
    println!("(Ctrl+C stops every forward)");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            msg = rx.recv() => match msg {
                Some(Msg::Forward(i, m)) => {
                    let Some(r) = rows.get_mut(i) else { continue };
                    let line = match &m {
                        ForwardMsg::Listening(addr) => Some(format!("listening on {addr}")),
                        ForwardMsg::BindFailed(e) => Some(format!("✖ {e}")),
                        ForwardMsg::Opened { pod } if r.pod.as_deref() != Some(pod) => Some(format!("now to pod {pod}")),
                        ForwardMsg::Failed { error, .. } => Some(format!("✖ {error}")),
                        _ => None,
                    };
                    r.apply(m, sources::clock::now());
                    if let Some(line) = line {
                        // A closed stdout (`| head`) must not take the forwards down with it.
                        use std::io::Write as _;
                        let _ = writeln!(
                            std::io::stdout(),
                            "{} {}: {line}",
                            chrono::Local::now().format("%H:%M:%S"),
                            r.name
                        );
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    drop(tasks);
    world.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `control-room act NAME`: the same runner as the hotkeys, output to this terminal.
async fn run_act_headless(cli: &Cli, act: &str) -> anyhow::Result<ExitCode> {
    let kind = ActKind::from_key(act).with_context(|| format!("unknown act {act:?}"))?;
    let config = Config::load(cli.common.config.as_deref())?;
    let world = cli.common.open_world(&config).await?;
    let env = world.act_environment(&config);
    let (tx, mut events) = mpsc::channel(1024);
    let run = tokio::spawn(async move {
        let cancel = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        actions::run_act(&env, kind, tx, cancel).await
    });
    while let Some(event) = events.recv().await {
        match event {
            ActEvent::Started { program, log_path } => {
                eprintln!(
                    "control-room: act {} ({}): {program}",
                    kind.number(),
                    kind.key()
                );
                if let Some(path) = log_path {
                    eprintln!("control-room: output also in {path}");
                }
            }
            ActEvent::Line(line) if line.stderr => eprintln!("{}", line.text),
            ActEvent::Line(line) => println!("{}", line.text),
            ActEvent::Finished { outcome, elapsed } => {
                eprintln!(
                    "control-room: act {} {} after {:.1}s",
                    kind.key(),
                    outcome.describe(),
                    elapsed.as_secs_f64()
                );
            }
        }
    }
    let outcome = run.await.context("the act runner failed")?;
    world.close().await;
    let code = u8::try_from(outcome.exit_code()).unwrap_or(1);
    Ok(ExitCode::from(code))
}

async fn run_tui(cli: &Cli, log_path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(cli.common.config.as_deref())?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = cli.theme.clone().unwrap_or_else(|| config.ui.theme.clone());
    let theme = Theme::load(&theme_name, no_color)?;
    let world = cli.common.open_world(&config).await?;

    let (tx, rx) = mpsc::channel(8192);
    let clusters = world
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.context.clone()))
        .collect();
    let mut model = Model::new(world.mode, clusters, sources::clock::now());
    model.log_path = log_path.display().to_string();
    model.kubeconfig_path = world.kubeconfig_path.clone();
    model.side_by_side_min_width = config.ui.narrow_width;
    model.set_demo(config.demo.clone());
    model.confirm_acts = config.acts.confirm && !cli.no_confirm;
    let act_env = world.act_environment(&config);
    let (forward_rows, forward_tasks, forward_urls) =
        app::forwards::start_with_urls(&world, &config, &tx, Some(app::forwards::PROBE_EVERY))
            .await;
    model.forwards = forward_rows;
    let alert_sources = app::alerting::sources(&world, &config, &forward_urls);
    let alerts = tokio::spawn(sources::alerts::run(alert_sources, tx.clone()));
    let cluster_sources: Vec<_> = world
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            sources::cluster::spawn(i, world.kubeconfig.clone(), c.context.clone(), tx.clone())
        })
        .collect();
    let clock = sources::clock::spawn(tx.clone());
    let exfil = spawn_exfil(&world, &config, &tx).await;

    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let input = sources::terminal::spawn(tx.clone());
    let chat = app::ChatSetup {
        forward: config.chat.forward.clone(),
        agent: config.chat.agent.clone(),
        protocol: if config.chat.protocol == "1.0" {
            control_room::sources::a2a::Protocol::V10
        } else {
            control_room::sources::a2a::Protocol::V03
        },
        timeout: std::time::Duration::from_secs(config.chat.timeout_secs),
    };
    let mut app = App::new(model, rx)
        .with_acts(act_env, tx.clone())
        .with_chat(chat, tx);
    let result = app::run(&mut terminal, &mut app, &theme, config.ui.max_fps).await;
    ratatui::restore();
    // No act script outlives the screen that started it.
    if app.model.act_running() {
        app.cancel_act();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
        while app.model.act_running() && tokio::time::Instant::now() < deadline {
            app.pump(Some(deadline)).await;
        }
    }

    input.abort();
    clock.abort();
    alerts.abort();
    drop(forward_tasks);
    if let Some(exfil) = exfil {
        exfil.abort();
    }
    drop(cluster_sources);
    world.close().await;
    result
}

/// Logs go to a file, never to the terminal the TUI draws on. Without a writable state
/// dir the program still runs, just without a log.
fn init_logging(path: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
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
