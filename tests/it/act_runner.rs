//! The act runner with real child processes: output streaming, failure, cancel, timeout,
//! a flood of output, and no process left behind.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use control_room::actions::{ActEnvironment, run_act};
use control_room::msg::{ActKind, ActLine, ActMsg, ActOutcome};
use tokio::sync::mpsc;

fn env(dir: &Path, script: &str, timeout: Duration) -> ActEnvironment {
    let path = dir.join("act.sh");
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{script}\n")).expect("write script");
    let mut commands = HashMap::new();
    commands.insert(
        ActKind::Upgrade,
        vec!["bash".to_string(), path.display().to_string()],
    );
    ActEnvironment {
        commands,
        env: vec![("ACT_TEST_VALUE".into(), "from-control-room".into())],
        timeout,
        log_dir: Some(dir.join("logs")),
    }
}

/// Runs the act, collecting every event; `cancel_after` cancels it after that long.
async fn run(
    env: &ActEnvironment,
    cancel_after: Option<Duration>,
) -> (ActOutcome, Vec<ActLine>, Option<String>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut lines = Vec::new();
        let mut log = None;
        while let Some(e) = rx.recv().await {
            match e {
                ActMsg::Line(l) => lines.push(l),
                ActMsg::Started { log_path, .. } => log = log_path,
                ActMsg::Finished { .. } => {}
            }
        }
        (lines, log)
    });
    let cancel = async move {
        match cancel_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        run_act(env, ActKind::Upgrade, tx, cancel),
    )
    .await
    .expect("the runner itself never hangs");
    let (lines, log) = collect.await.expect("collector");
    (outcome, lines, log)
}

/// Whether `pid` is gone within a few seconds (a killed group dies at once, but its last
/// member may take a moment to be reaped).
async fn gone(pid: i32) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; a zombie is reaped by init soon, so also read its state.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
}

fn grandchild_pid(lines: &[ActLine]) -> i32 {
    lines
        .iter()
        .find_map(|l| l.text.strip_prefix("bg "))
        .and_then(|p| p.trim().parse().ok())
        .expect("script printed its background pid")
}

#[tokio::test]
async fn streams_stdout_and_stderr_with_the_environment_and_logs_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(
        dir.path(),
        "echo out-1\necho err-1 >&2\necho \"value $ACT_TEST_VALUE\"\nexit 0",
        Duration::from_secs(10),
    );
    let (outcome, lines, log) = run(&env, None).await;
    assert_eq!(outcome, ActOutcome::Exited(0));
    assert!(
        lines.contains(&ActLine {
            stderr: false,
            text: "out-1".into()
        }),
        "{lines:?}"
    );
    assert!(
        lines.contains(&ActLine {
            stderr: true,
            text: "err-1".into()
        }),
        "{lines:?}"
    );
    assert!(lines.contains(&ActLine {
        stderr: false,
        text: "value from-control-room".into()
    }));
    let log = std::fs::read_to_string(log.expect("log path")).expect("log file");
    assert!(
        log.contains("out-1") && log.contains("[stderr] err-1") && log.contains("exit 0"),
        "{log}"
    );
}

#[tokio::test]
async fn a_failing_script_reports_its_status_and_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(
        dir.path(),
        "echo 'error: deployments.apps \"x\" not found' >&2\nexit 3",
        Duration::from_secs(10),
    );
    let (outcome, lines, _) = run(&env, None).await;
    assert_eq!(outcome, ActOutcome::Exited(3));
    assert_eq!(outcome.exit_code(), 3);
    assert!(
        lines
            .iter()
            .any(|l| l.stderr && l.text.contains("not found")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_missing_program_fails_to_start_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = env(dir.path(), "true", Duration::from_secs(10));
    env.commands.insert(
        ActKind::Upgrade,
        vec![dir.path().join("nope.sh").display().to_string()],
    );
    let (outcome, _, _) = run(&env, None).await;
    assert!(
        matches!(&outcome, ActOutcome::FailedToStart(e) if e.contains("nope.sh")),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code(), 127);
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A background grandchild that ignores SIGTERM and a foreground sleep: both must go.
    let script = "trap '' TERM\n(trap '' TERM; sleep 300) &\necho \"bg $!\"\nsleep 300";
    let env = env(dir.path(), script, Duration::from_secs(60));
    let (outcome, lines, _) = run(&env, Some(Duration::from_millis(500))).await;
    assert_eq!(outcome, ActOutcome::Cancelled);
    let pid = grandchild_pid(&lines);
    assert!(
        gone(pid).await,
        "background child {pid} survived the cancel"
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(
        dir.path(),
        "sleep 300 &\necho \"bg $!\"\nsleep 300",
        Duration::from_millis(700),
    );
    let (outcome, lines, _) = run(&env, None).await;
    assert_eq!(outcome, ActOutcome::TimedOut);
    assert_eq!(outcome.exit_code(), 124);
    let pid = grandchild_pid(&lines);
    assert!(
        gone(pid).await,
        "background child {pid} survived the timeout"
    );
}

#[tokio::test]
async fn leftovers_of_a_finished_script_are_cleaned_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(
        dir.path(),
        "sleep 300 &\necho \"bg $!\"\nexit 0",
        Duration::from_secs(10),
    );
    let (outcome, lines, _) = run(&env, None).await;
    assert_eq!(outcome, ActOutcome::Exited(0));
    let pid = grandchild_pid(&lines);
    assert!(gone(pid).await, "background child {pid} outlived its act");
}

#[tokio::test]
async fn a_flood_of_output_arrives_whole_and_lands_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(dir.path(), "seq 1 100000", Duration::from_secs(30));
    let (outcome, lines, log) = run(&env, None).await;
    assert_eq!(outcome, ActOutcome::Exited(0));
    assert_eq!(lines.len(), 100_000);
    assert_eq!(lines.last().map(|l| l.text.as_str()), Some("100000"));
    let log = std::fs::read_to_string(log.expect("log")).expect("log file");
    assert_eq!(log.lines().filter(|l| !l.starts_with('#')).count(), 100_000);
}
