//! Running one act: spawn in its own process group, stream stdout and stderr as they come,
//! write everything to the run's log file, and on cancel or timeout end the whole group —
//! SIGTERM, then SIGKILL — so nothing is left behind.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::lines::send_lines;
use crate::msg::{ActKind, ActLine, ActMsg, ActOutcome, Msg};

/// How long a process group gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// Everything needed to run any act against the current world.
#[derive(Debug, Clone)]
pub struct ActEnvironment {
    pub commands: HashMap<ActKind, Vec<String>>,
    /// Added to the inherited environment: KUBECONFIG and the per-cluster contexts.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Each run writes `<log_dir>/<time>-<act>.log` (0600 in a 0700 directory); `None`
    /// when there is no state directory to keep it in.
    pub log_dir: Option<PathBuf>,
}

/// A relative program is looked up from the working directory, then from the source tree
/// this binary was built from (so `cargo run` finds `demo-scripts/` from anywhere).
pub fn resolve_program(program: &str) -> PathBuf {
    let path = Path::new(program);
    if path.is_absolute() || !program.contains('/') || path.exists() {
        return path.to_path_buf();
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if built_from.exists() {
        built_from
    } else {
        path.to_path_buf()
    }
}

/// Runs `kind` to the end, reporting on `events`; `cancel` resolving stops it.
pub async fn run_act(
    env: &ActEnvironment,
    kind: ActKind,
    events: mpsc::Sender<ActMsg>,
    cancel: impl Future<Output = ()>,
) -> ActOutcome {
    let on_event = async |event: ActMsg| {
        let _ = events.send(event).await;
    };
    let started = Instant::now();
    let argv = env.commands.get(&kind).cloned().unwrap_or_default();
    let Some((program, args)) = argv.split_first() else {
        let outcome =
            ActOutcome::FailedToStart(format!("no command configured for act {}", kind.key()));
        on_event(ActMsg::Started {
            kind,
            program: String::new(),
            log_path: None,
        })
        .await;
        on_event(ActMsg::Finished {
            outcome: outcome.clone(),
            elapsed: started.elapsed(),
        })
        .await;
        return outcome;
    };
    let resolved = resolve_program(program);
    let (mut log, log_path) = match &env.log_dir {
        Some(dir) => open_log(dir, kind),
        None => (None, None),
    };
    if let Some(log) = log.as_mut() {
        let _ = writeln!(
            log,
            "# act {} · {} {}",
            kind.key(),
            resolved.display(),
            args.join(" ")
        );
        let _ = writeln!(log, "# started {}", chrono::Local::now().to_rfc3339());
    }
    on_event(ActMsg::Started {
        kind,
        program: resolved.display().to_string(),
        log_path: log_path.clone(),
    })
    .await;

    let mut command = Command::new(&resolved);
    command
        .args(args)
        .envs(env.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            let outcome = ActOutcome::FailedToStart(format!("{}: {e}", resolved.display()));
            finish_log(log.as_mut(), &outcome, started.elapsed());
            on_event(ActMsg::Finished {
                outcome: outcome.clone(),
                elapsed: started.elapsed(),
            })
            .await;
            return outcome;
        }
    };
    let pgid = child.id().and_then(|id| i32::try_from(id).ok());
    if let Some(pgid) = pgid {
        // Should the program die (a panic), its hook stops this group too.
        crate::exit::act_started(pgid);
    }

    // Both pipes feed one channel so lines keep the order they were produced in per stream.
    let (line_tx, mut line_rx) = mpsc::channel::<ActLine>(1024);
    for (stream, stderr) in [
        (
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            false,
        ),
        (
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            true,
        ),
    ] {
        let Some(stream) = stream else { continue };
        tokio::spawn(send_lines(stream, line_tx.clone(), move |text| ActLine {
            stderr,
            text,
        }));
    }
    drop(line_tx);

    let deadline = tokio::time::sleep(env.timeout);
    tokio::pin!(deadline);
    tokio::pin!(cancel);
    let mut ended: Option<ActOutcome> = None;
    let mut exited = false;
    let mut lines_open = true;
    while !exited || lines_open {
        tokio::select! {
            line = line_rx.recv(), if lines_open => match line {
                Some(line) => {
                    if let Some(log) = log.as_mut() {
                        let _ = writeln!(log, "{}{}", if line.stderr { "[stderr] " } else { "" }, line.text);
                    }
                    on_event(ActMsg::Line(line)).await;
                }
                None => lines_open = false,
            },
            status = child.wait(), if !exited => {
                exited = true;
                if ended.is_none() {
                    ended = Some(match status {
                        Ok(s) => exit_outcome(s),
                        Err(e) => ActOutcome::FailedToStart(e.to_string()),
                    });
                }
                // Whatever the script left running in its group goes with it: no orphans,
                // and no pipe held open by a grandchild.
                if let Some(pgid) = pgid {
                    signal_group(pgid, libc::SIGKILL);
                }
            },
            _ = &mut deadline, if ended.is_none() => {
                ended = Some(ActOutcome::TimedOut);
                stop_group(pgid, &mut child).await;
            },
            _ = &mut cancel, if ended.is_none() => {
                ended = Some(ActOutcome::Cancelled);
                stop_group(pgid, &mut child).await;
            },
        }
    }
    if let Some(pgid) = pgid {
        crate::exit::act_ended(pgid);
    }
    let outcome = ended.unwrap_or(ActOutcome::Exited(-1));
    finish_log(log.as_mut(), &outcome, started.elapsed());
    on_event(ActMsg::Finished {
        outcome: outcome.clone(),
        elapsed: started.elapsed(),
    })
    .await;
    outcome
}

fn exit_outcome(status: std::process::ExitStatus) -> ActOutcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ActOutcome::Exited(code),
        (None, Some(sig)) => ActOutcome::Signalled(sig),
        (None, None) => ActOutcome::Exited(-1),
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group id yields ESRCH, which is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// SIGTERM to the group, then SIGKILL if the leader is still there after the grace time.
async fn stop_group(pgid: Option<i32>, child: &mut tokio::process::Child) {
    let Some(pgid) = pgid else {
        let _ = child.start_kill();
        return;
    };
    signal_group(pgid, libc::SIGTERM);
    if tokio::time::timeout(TERM_GRACE, child.wait())
        .await
        .is_err()
    {
        signal_group(pgid, libc::SIGKILL);
    }
    // Stragglers that ignored SIGTERM after the leader left.
    signal_group(pgid, libc::SIGKILL);
}

fn open_log(dir: &Path, kind: ActKind) -> (Option<std::fs::File>, Option<String>) {
    if let Err(e) = crate::files::private_dir(dir) {
        tracing::warn!(error = %e, "cannot keep the act's output");
        return (None, None);
    }
    let name = format!(
        "{}-{}.log",
        chrono::Local::now().format("%Y%m%d-%H%M%S%.3f"),
        kind.key()
    );
    let path = dir.join(name);
    match crate::files::create_private(&path) {
        Ok(f) => (Some(f), Some(path.display().to_string())),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the act log");
            (None, None)
        }
    }
}

fn finish_log(log: Option<&mut std::fs::File>, outcome: &ActOutcome, elapsed: Duration) {
    if let Some(log) = log {
        let _ = writeln!(
            log,
            "# {} after {:.1}s",
            outcome.describe(),
            elapsed.as_secs_f64()
        );
    }
}

/// A run started for the TUI; dropping it does not stop the script, `cancel` does.
pub struct RunningAct {
    cancel: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAct {
    /// Until the run has ended (its process group gone, its last message sent).
    pub fn running(&self) -> bool {
        !self.task.is_finished()
    }

    pub fn cancel(&mut self) {
        if let Some(tx) = self.cancel.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts `kind` in the background, reporting as `Msg::Act`.
pub fn spawn_act(env: ActEnvironment, kind: ActKind, tx: mpsc::Sender<Msg>) -> RunningAct {
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let cancelled = async {
            // A dropped sender is not a cancel: the run goes on.
            if cancel_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let (events_tx, mut events) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if tx.send(Msg::Act(event)).await.is_err() {
                    return;
                }
            }
        });
        run_act(&env, kind, events_tx, cancelled).await;
    });
    RunningAct {
        cancel: Some(cancel_tx),
        task,
    }
}
