//! Set-up shared by the simulator's integration tests: a simulator in its own directory, and
//! kube-rs clients built from nothing but the kubeconfig it writes — as any other tool would.

use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// A simulator in its own temp dir, with rollouts fast enough for tests.
pub async fn start() -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(80),
        ..SimTuning::default()
    };
    let sim = sim::start_with(opts, tuning).await.expect("sim starts");
    (dir, sim)
}

/// A kube-rs client for one simulated cluster (`edge`, `bank`, `vendor`), from the
/// simulator's kubeconfig and its `kind-trustusbank-<cluster>` context.
pub async fn client(sim: &SimHandle, cluster: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig_path()).expect("kubeconfig parses");
    let options = KubeConfigOptions {
        context: Some(format!("kind-trustusbank-{cluster}")),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("kubeconfig has the context");
    Client::try_from(config).expect("client")
}

/// The newest not-terminating pod with `app=<app>` in `namespace`.
pub fn pod_of(sim: &SimHandle, cluster: &str, namespace: &str, app: &str) -> String {
    let (pods, _) = sim
        .store(cluster)
        .expect("cluster exists")
        .list("v1", "Pod", Some(namespace));
    let mut pods: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    pods.sort_by_key(|p| {
        p["metadata"]["creationTimestamp"]
            .as_str()
            .map(str::to_string)
    });
    let pod = pods.last().unwrap_or_else(|| panic!("a pod of {app}"));
    pod["metadata"]["name"]
        .as_str()
        .expect("pods have names")
        .to_string()
}

/// Real kubectl against its own simulator, with its discovery cache in the test's own
/// directory. `None` (after a visible SKIPPED line, see `tools`) when kubectl is missing.
pub struct Kubectl {
    pub binary: std::path::PathBuf,
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
}

/// Longest any one kubectl command may take before the test fails.
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

impl Kubectl {
    /// With rollouts and the kubelet's back-offs fast enough for tests.
    pub async fn start() -> Option<Self> {
        Self::start_with(SimOptions::default(), fast_tuning()).await
    }

    /// `opts.state_dir` is chosen here.
    pub async fn start_with(opts: SimOptions, tuning: SimTuning) -> Option<Self> {
        let binary = crate::tools::require("kubectl")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = SimOptions {
            state_dir: dir.path().join("state"),
            ..opts
        };
        let sim = sim::start_with(opts, tuning).await.expect("sim starts");
        Some(Self { binary, dir, sim })
    }

    pub fn command(&self, context: &str, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg("--kubeconfig")
            .arg(self.sim.kubeconfig_path())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--context")
            .arg(context)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, context: &str, args: &[&str]) -> std::process::Output {
        tokio::time::timeout(KUBECTL_TIMEOUT, self.command(context, args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .expect("kubectl runs")
    }

    /// Run and require success; returns stdout.
    pub async fn ok(&self, context: &str, args: &[&str]) -> String {
        let output = self.run(context, args).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn store(&self, cluster: &str) -> sim::ClusterStore {
        self.sim.store(cluster).expect("cluster exists")
    }

    /// Wait until `check` holds, re-running it every 50 ms; fail after `what` took 30 s.
    pub async fn until(&self, what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Rollouts paced for tests.
pub fn fast_tuning() -> SimTuning {
    SimTuning {
        rollout_step: Duration::from_millis(80),
        ..SimTuning::default()
    }
}

/// The columns of a kubectl header line: names are separated by at least three spaces, and
/// a name holds single spaces at most (`NOMINATED NODE`).
pub fn columns(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The line whose first column is `first`.
pub fn row<'a>(output: &'a str, first: &str) -> Option<&'a str> {
    output
        .lines()
        .find(|line| line.split_whitespace().next() == Some(first))
}
