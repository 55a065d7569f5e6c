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
