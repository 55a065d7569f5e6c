//! The demo scripts, plain bash + kubectl, against the simulator from the command line —
//! each run twice (they must be idempotent) with its effect checked through the API — and
//! `control-room act` running them headless.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};

use crate::support::tools;

fn has_kubectl() -> bool {
    tools::require("kubectl").is_some()
}

async fn start(dir: &Path) -> SimHandle {
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(100),
        ..SimTuning::default()
    };
    sim::start_with(
        SimOptions {
            state_dir: dir.join("sim"),
            ..SimOptions::default()
        },
        tuning,
    )
    .await
    .expect("sim starts")
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo-scripts")
        .join(name)
}

/// Runs a script the way a presenter would: only KUBECONFIG set (default contexts).
async fn run(sim: &SimHandle, dir: &Path, name: &str) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(script(name));
    cmd.env("KUBECONFIG", sim.kubeconfig_path())
        .env("KUBECACHEDIR", dir.join("kube-cache"))
        .env("ROLLOUT_TIMEOUT", "60s")
        .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("script finishes")
        .expect("script runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn tool_images(sim: &SimHandle) -> Vec<String> {
    let store = sim.store("vendor").expect("vendor");
    let (pods, _) = store.list("v1", "Pod", Some("trustusbank-bank-vendors"));
    let mut images: Vec<String> = pods
        .iter()
        .filter(|p| {
            p["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("currency-converter-"))
        })
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter_map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    images.sort();
    images
}

fn policies(sim: &SimHandle) -> Vec<String> {
    let store = sim.store("vendor").expect("vendor");
    let (list, _) = store.list("security.istio.io/v1", "AuthorizationPolicy", None);
    let mut names: Vec<String> = list
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap_or(""),
                p["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_script_does_its_act_and_can_run_twice() {
    if !has_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(dir.path()).await;

    for _ in 0..2 {
        let (ok, out) = run(&sim, dir.path(), "upgrade-banking-app.sh").await;
        assert!(ok, "upgrade failed:\n{out}");
        assert!(out.contains("successfully rolled out"), "{out}");
        assert_eq!(tool_images(&sim), ["currency-converter:1.0.0-rugpull"]);
    }
    for _ in 0..2 {
        let (ok, out) = run(&sim, dir.path(), "policies-on.sh").await;
        assert!(ok, "policies-on failed:\n{out}");
        assert_eq!(
            policies(&sim),
            [
                "external-attacker/deny-vendor-to-attacker",
                "trustusbank-bank-vendors/allow-gw-to-vendor",
                "trustusbank-bank-vendors/default-deny"
            ]
        );
    }
    for _ in 0..2 {
        let (ok, out) = run(&sim, dir.path(), "reset-demo.sh").await;
        assert!(ok, "reset failed:\n{out}");
        assert!(policies(&sim).is_empty(), "{out}");
        assert_eq!(tool_images(&sim), ["currency-converter:1.0.0"]);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_fails_loudly_when_the_cluster_is_wrong() {
    if !has_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(dir.path()).await;
    let mut cmd = tokio::process::Command::new(script("upgrade-banking-app.sh"));
    cmd.env("KUBECONFIG", sim.kubeconfig_path())
        .env("KUBECACHEDIR", dir.path().join("kube-cache"))
        .env("VENDOR_CONTEXT", "kind-trustusbank-edge");
    let out = cmd.output().await.expect("runs");
    assert!(
        !out.status.success(),
        "the edge cluster has no currency-converter"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    sim.shutdown().await;
}

#[test]
fn act_command_runs_a_script_headless_with_its_exit_status() {
    if !has_kubectl() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("acts.toml");
    std::fs::write(
        &config,
        "[acts.upgrade]\ncommand = [\"bash\", \"-c\", \"echo \\\"ctx=$VENDOR_CONTEXT\\\"; kubectl --context \\\"$VENDOR_CONTEXT\\\" get deploy -n trustusbank-bank-vendors -o name; echo oops >&2; exit 7\"]\n",
    )
    .expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_control-room"))
        .args(["act", "upgrade", "--sim", "--config"])
        .arg(&config)
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("KUBECACHEDIR", home.path().join("kube-cache"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("ctx=kind-trustusbank-vendor"), "{stdout}");
    assert!(
        stdout.contains("deployment.apps/currency-converter"),
        "the script reached the in-process sim:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("oops") && stderr.contains("exit 7"),
        "{stderr}"
    );
}
