//! Effects are carried out here and nowhere else: acts, prompts, the browser, the clipboard.
//! `update` only names them; an [`EffectRunner`] does them. The app runs [`LiveEffects`];
//! a test can put a [`RecordingEffects`] in its place and read back what was asked for.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::actions::{ActEnvironment, RunningAct, spawn_act};
use crate::model::Model;
use crate::msg::{ChatEvent, Effect, Msg};
use crate::sources::a2a::{A2aClient, Protocol};
use crate::sources::clients::ClientPool;

/// Carries out what `update` asked for. What must reach the model at once (a refusal, an
/// error) comes back as messages, which the app applies through `update` like any other.
pub trait EffectRunner: Send {
    fn run(&mut self, effect: &Effect, model: &Model) -> Vec<Msg>;
}

/// How prompts reach the agent: at `url` when the config names one, else through the named
/// forward's local URL.
#[derive(Debug, Clone)]
pub struct ChatSetup {
    pub forward: String,
    pub url: Option<String>,
    pub agent: String,
    pub protocol: Protocol,
    pub timeout: Duration,
}

/// Where `y` puts text: the terminal (OSC 52, which terminals, tmux with `set-clipboard`
/// and ssh pass on to the clipboard), or a list a test reads.
#[derive(Debug, Clone)]
pub enum Clipboard {
    Terminal,
    Captured(Arc<Mutex<Vec<String>>>),
}

/// Where `o` opens links: `$BROWSER`, else the desktop's opener; or a list a test reads.
#[derive(Debug, Clone)]
pub enum Browser {
    System,
    Captured(Arc<Mutex<Vec<String>>>),
}

/// The real thing: acts as child processes, prompts over A2A, links in the browser, copies
/// through the terminal. Results come back on `tx` as messages.
pub struct LiveEffects {
    tx: mpsc::Sender<Msg>,
    acts: Option<ActEnvironment>,
    running_act: Option<RunningAct>,
    chat: Option<ChatSetup>,
    clipboard: Clipboard,
    browser: Browser,
    /// The clusters, for what the user reads and writes by hand (detail, events, deletes).
    clusters: Option<ClientPool>,
    /// The detail/events view's reader; aborted when the view closes.
    inspect: Option<tokio::task::JoinHandle<()>>,
    /// What the preflight doctor reads with, and its run under way (one at a time).
    doctor: Option<crate::sources::doctor::DoctorSetup>,
    doctor_run: Option<tokio::task::JoinHandle<()>>,
    /// The log reader (one at a time); aborted when the view closes or reads another pod.
    logs: Option<tokio::task::JoinHandle<()>>,
    /// Where `s` in the log view saves (the state dir's `logs/` unless a test says).
    saved_logs: Option<std::path::PathBuf>,
}

impl Drop for LiveEffects {
    fn drop(&mut self) {
        if let Some(task) = self.inspect.take() {
            task.abort();
        }
        if let Some(task) = self.doctor_run.take() {
            task.abort();
        }
        if let Some(task) = self.logs.take() {
            task.abort();
        }
    }
}

impl LiveEffects {
    pub fn new(tx: mpsc::Sender<Msg>) -> LiveEffects {
        LiveEffects {
            tx,
            acts: None,
            running_act: None,
            chat: None,
            clipboard: Clipboard::Terminal,
            browser: Browser::System,
            clusters: None,
            inspect: None,
            doctor: None,
            doctor_run: None,
            logs: None,
            saved_logs: crate::config::state_dir().map(|d| d.join("logs")),
        }
    }

    /// Where the log view saves its buffer.
    pub fn with_saved_logs(mut self, dir: std::path::PathBuf) -> LiveEffects {
        self.saved_logs = Some(dir);
        self
    }

    /// Lets the views read objects and `Ctrl+D` delete pods.
    pub fn with_clusters(mut self, pool: ClientPool) -> LiveEffects {
        self.clusters = Some(pool);
        self
    }

    pub fn with_doctor(mut self, setup: crate::sources::doctor::DoctorSetup) -> LiveEffects {
        self.doctor = Some(setup);
        self
    }

    /// Starts a doctor run; a run still going is replaced (its results carry the old number
    /// and are ignored).
    fn run_doctor(&mut self, run: u64) -> Vec<Msg> {
        let Some(setup) = self.doctor.clone() else {
            return vec![Msg::Notice("the doctor is not available here".into())];
        };
        if let Some(task) = self.doctor_run.take() {
            task.abort();
        }
        self.doctor_run = Some(tokio::spawn(crate::sources::doctor::run(
            setup,
            run,
            self.tx.clone(),
        )));
        Vec::new()
    }

    fn inspect(&mut self, id: u64, target: &crate::msg::InspectTarget) -> Vec<Msg> {
        self.stop_inspect();
        let Some(pool) = self.clusters.clone() else {
            return vec![Msg::Notice("the clusters are not readable here".into())];
        };
        let task = crate::sources::inspect::run(pool, id, target.clone(), self.tx.clone());
        self.inspect = Some(tokio::spawn(task));
        Vec::new()
    }

    fn stop_inspect(&mut self) {
        if let Some(task) = self.inspect.take() {
            task.abort();
        }
    }

    fn follow_logs(&mut self, id: u64, request: &crate::msg::LogRequest) -> Vec<Msg> {
        if let Some(task) = self.logs.take() {
            task.abort();
        }
        let Some(pool) = self.clusters.clone() else {
            return vec![Msg::Notice("the clusters are not readable here".into())];
        };
        let task = crate::sources::logs::run(pool, id, request.clone(), self.tx.clone());
        self.logs = Some(tokio::spawn(task));
        Vec::new()
    }

    /// The buffer is rendered here (the model is at hand), written off the event loop.
    fn save_log(&self, id: u64, model: &Model) -> Vec<Msg> {
        use crate::msg::logs::{LogMsg, LogNews};
        let Some(logs) = model.logs.as_ref().filter(|l| l.id == id) else {
            return Vec::new();
        };
        let Some(dir) = self.saved_logs.clone() else {
            let why = "there is no state directory (set HOME or XDG_STATE_HOME)".to_string();
            return vec![Msg::Logs(LogMsg {
                id,
                news: LogNews::SaveFailed(why),
            })];
        };
        let cluster = logs
            .target()
            .and_then(|t| model.clusters.get(t.cluster))
            .map_or("cluster", |c| c.name.as_str());
        let name = crate::sources::logs::save::file_name(cluster, logs, model.now);
        let (text, lines) = crate::sources::logs::save::render(logs);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let written = tokio::task::spawn_blocking(move || {
                crate::sources::logs::save::write(&dir, &name, &text)
            })
            .await;
            let news = match written {
                Ok(Ok(path)) => LogNews::Saved {
                    path: crate::text::inert(&path.display().to_string()),
                    lines,
                },
                Ok(Err(e)) => LogNews::SaveFailed(crate::text::inert(&e.to_string())),
                Err(e) => LogNews::SaveFailed(e.to_string()),
            };
            let _ = tx.send(Msg::Logs(LogMsg { id, news })).await;
        });
        Vec::new()
    }

    fn delete_pod(&self, cluster: usize, namespace: &str, name: &str, model: &Model) -> Vec<Msg> {
        let Some(pool) = self.clusters.clone() else {
            return vec![Msg::Notice("the clusters are not writable here".into())];
        };
        let cluster_name = model
            .clusters
            .get(cluster)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("cluster {}", cluster + 1));
        let (namespace, name, tx) = (namespace.to_string(), name.to_string(), self.tx.clone());
        tokio::spawn(async move {
            let said = match pool.client(cluster).await {
                Err(e) => format!("could not delete pod {name} in {cluster_name}: {e}"),
                Ok(client) => {
                    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
                        kube::Api::namespaced(client, &namespace);
                    match pods.delete(&name, &Default::default()).await {
                        Ok(_) => format!("deleting pod {namespace}/{name} in {cluster_name}"),
                        Err(e) => format!(
                            "could not delete pod {namespace}/{name} in {cluster_name}: {}",
                            crate::sources::kubeconfig::describe_error(&e)
                        ),
                    }
                }
            };
            let _ = tx.send(Msg::Notice(said)).await;
        });
        Vec::new()
    }

    /// Lets the act keys run scripts.
    pub fn with_acts(mut self, env: ActEnvironment) -> LiveEffects {
        self.acts = Some(env);
        self
    }

    /// Lets prompts reach the agent.
    pub fn with_chat(mut self, setup: ChatSetup) -> LiveEffects {
        self.chat = Some(setup);
        self
    }

    pub fn with_clipboard(mut self, clipboard: Clipboard) -> LiveEffects {
        self.clipboard = clipboard;
        self
    }

    pub fn with_browser(mut self, browser: Browser) -> LiveEffects {
        self.browser = browser;
        self
    }

    fn run_act(&mut self, kind: crate::msg::ActKind) -> Vec<Msg> {
        if self.running_act.as_ref().is_some_and(RunningAct::running) {
            return vec![Msg::Notice("an act is already running".into())];
        }
        match &self.acts {
            Some(env) => {
                self.running_act = Some(spawn_act(env.clone(), kind, self.tx.clone()));
                Vec::new()
            }
            None => vec![Msg::Notice(format!(
                "acts are not available here (act {})",
                kind.number()
            ))],
        }
    }

    fn send_prompt(&self, prompt: &str, model: &Model) -> Vec<Msg> {
        let Some(setup) = self.chat.clone() else {
            return vec![Msg::Chat(ChatEvent::Error(
                "chat is not available here".into(),
            ))];
        };
        let base = setup.url.clone().or_else(|| {
            model
                .forwards
                .iter()
                .find(|f| f.name == setup.forward)
                .and_then(|f| f.base_url())
        });
        let Some(base) = base else {
            let why = format!("the {} forward is not listening (see L)", setup.forward);
            return vec![Msg::Chat(ChatEvent::Error(why))];
        };
        let tx = self.tx.clone();
        let prompt = prompt.to_string();
        tokio::spawn(exchange(base, setup, prompt, tx));
        Vec::new()
    }
}

/// One prompt and its answer: the agent card (to learn whether it streams), then the
/// message, every event passed on as it arrives.
async fn exchange(base: String, setup: ChatSetup, prompt: String, tx: mpsc::Sender<Msg>) {
    let client = match A2aClient::new(&base, &setup.agent, setup.protocol, setup.timeout) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(Msg::Chat(ChatEvent::Error(e))).await;
            return;
        }
    };
    let streaming = match client.card().await {
        Ok((name, streaming)) => {
            let _ = tx
                .send(Msg::Chat(ChatEvent::Agent { name, streaming }))
                .await;
            streaming
        }
        Err(e) => {
            tracing::warn!(error = %e, "no agent card; sending without streaming");
            false
        }
    };
    let (events_tx, mut events) = mpsc::channel(256);
    let forward = tokio::spawn({
        let tx = tx.clone();
        async move {
            while let Some(e) = events.recv().await {
                if tx.send(Msg::Chat(e)).await.is_err() {
                    return;
                }
            }
        }
    });
    let _ = client
        .send(&prompt, streaming, setup.timeout, &events_tx)
        .await;
    drop(events_tx);
    let _ = forward.await;
}

impl EffectRunner for LiveEffects {
    fn run(&mut self, effect: &Effect, model: &Model) -> Vec<Msg> {
        match effect {
            // The event loop watches `App::should_quit`. An act started a moment ago, whose
            // first message has not reached the model yet, goes with us.
            Effect::Quit => {
                if let Some(run) = self.running_act.as_mut().filter(|r| r.running()) {
                    run.cancel();
                }
                Vec::new()
            }
            Effect::RunAct(kind) => self.run_act(*kind),
            Effect::RunDoctor(run) => self.run_doctor(*run),
            Effect::CancelAct => {
                if let Some(run) = self.running_act.as_mut() {
                    run.cancel();
                }
                Vec::new()
            }
            Effect::SendPrompt(prompt) => self.send_prompt(prompt, model),
            Effect::OpenUrl(url) => match &self.browser {
                Browser::System => match open_in_browser(url) {
                    Ok(()) => Vec::new(),
                    Err(e) => vec![Msg::Notice(format!("could not open {url}: {e}"))],
                },
                Browser::Captured(list) => {
                    lock(list).push(url.clone());
                    Vec::new()
                }
            },
            Effect::CopyToClipboard(text) => match &self.clipboard {
                Clipboard::Terminal => {
                    if let Err(e) = copy_to_clipboard(text) {
                        tracing::warn!(error = %e, "clipboard copy failed");
                        return vec![Msg::Notice(format!("could not copy: {e}"))];
                    }
                    Vec::new()
                }
                Clipboard::Captured(list) => {
                    lock(list).push(text.clone());
                    Vec::new()
                }
            },
            Effect::Inspect { id, target } => self.inspect(*id, target),
            Effect::StopInspect => {
                self.stop_inspect();
                Vec::new()
            }
            Effect::DeletePod {
                cluster,
                namespace,
                name,
            } => self.delete_pod(*cluster, namespace, name, model),
            Effect::FollowLogs { id, request } => self.follow_logs(*id, request),
            Effect::StopLogs => {
                if let Some(task) = self.logs.take() {
                    task.abort();
                }
                Vec::new()
            }
            Effect::SaveLog { id } => self.save_log(*id, model),
        }
    }
}

/// Writes down every effect and does nothing: for tests of the wiring around `update`.
#[derive(Debug, Clone, Default)]
pub struct RecordingEffects {
    pub seen: Arc<Mutex<Vec<Effect>>>,
}

impl RecordingEffects {
    pub fn effects(&self) -> Vec<Effect> {
        lock(&self.seen).clone()
    }
}

impl EffectRunner for RecordingEffects {
    fn run(&mut self, effect: &Effect, _model: &Model) -> Vec<Msg> {
        lock(&self.seen).push(effect.clone());
        Vec::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Text-mode browsers need the terminal the TUI is drawing on: never started from here.
const TEXT_BROWSERS: &[&str] = &[
    "lynx",
    "links",
    "links2",
    "elinks",
    "w3m",
    "www-browser",
    "browsh",
    "carbonyl",
];

/// The commands `$BROWSER` names for `url`, in order, as the convention has it (a
/// `:`-separated list; `%s` is the URL, `%c` a colon, `%%` a percent sign; no `%s` means the
/// URL goes last; arguments split on white space, never by a shell), then the desktop's
/// opener.
fn browser_commands(browser_env: Option<&str>, url: &str) -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = browser_env
        .unwrap_or("")
        .split(':')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let mut has_url = false;
            let mut argv: Vec<String> = part
                .split_ascii_whitespace()
                .map(|word| {
                    let mut out = String::with_capacity(word.len());
                    let mut chars = word.chars();
                    while let Some(c) = chars.next() {
                        if c != '%' {
                            out.push(c);
                            continue;
                        }
                        match chars.next() {
                            Some('s') => {
                                out.push_str(url);
                                has_url = true;
                            }
                            Some('c') => out.push(':'),
                            Some('%') => out.push('%'),
                            Some(other) => {
                                out.push('%');
                                out.push(other);
                            }
                            None => out.push('%'),
                        }
                    }
                    out
                })
                .collect();
            if !has_url {
                argv.push(url.to_string());
            }
            argv
        })
        .collect();
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    commands.push(vec![opener.to_string(), url.to_string()]);
    commands
}

fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = std::path::PathBuf::from(program);
        return executable(&path).then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Opens `url` with the first command of [`browser_commands`] that exists. The browser gets
/// no terminal (its output would land on the TUI's screen) and its own process group, and a
/// thread waits for it, so it never lingers as a zombie.
fn open_in_browser(url: &str) -> Result<(), String> {
    let env = std::env::var("BROWSER").ok();
    let mut tried = Vec::new();
    for argv in browser_commands(env.as_deref(), url) {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let name = std::path::Path::new(program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if TEXT_BROWSERS.contains(&name.as_str()) {
            tried.push(format!(
                "{program} (a text browser needs this terminal; copy with y)"
            ));
            continue;
        }
        let Some(path) = find_program(program) else {
            tried.push(format!("{program} (not found)"));
            continue;
        };
        use std::os::unix::process::CommandExt as _;
        match std::process::Command::new(&path)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
        {
            Ok(mut child) => {
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
                return Ok(());
            }
            Err(e) => tried.push(format!("{program} ({e})")),
        }
    }
    Err(format!("no browser could be started: {}", tried.join(", ")))
}

/// OSC 52: the terminal (also over ssh and in tmux with set-clipboard) puts it on the clipboard.
fn copy_to_clipboard(text: &str) -> std::io::Result<()> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout().lock();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:18009/";

    #[test]
    fn browser_follows_the_convention() {
        let commands = browser_commands(
            Some("firefox --new-tab %s:w3m: :chromium --app=%s%% --x=%c"),
            URL,
        );
        assert_eq!(
            commands,
            [
                vec!["firefox".to_string(), "--new-tab".into(), URL.into()],
                vec!["w3m".into(), URL.into()],
                vec!["chromium".into(), format!("--app={URL}%"), "--x=:".into()],
                vec![
                    if cfg!(target_os = "macos") {
                        "open"
                    } else {
                        "xdg-open"
                    }
                    .into(),
                    URL.into()
                ],
            ]
        );
        // A URL with a `%s` in it is not expanded again, and nothing goes through a shell.
        let tricky = "http://x/?q=%s;rm -rf ~";
        let commands = browser_commands(Some("echo %s"), tricky);
        assert_eq!(commands[0], ["echo", tricky]);
        assert_eq!(browser_commands(None, URL).len(), 1);
    }
}
