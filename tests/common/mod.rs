//! Set-up shared by the simulator's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use kube::Client;
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

/// A kube-rs client for one simulated cluster (`edge`, `bank`, `vendor`), built the way
/// the app builds its own.
pub async fn client(sim: &SimHandle, cluster: &str) -> Client {
    let (kubeconfig, _) = control_room::sources::kubeconfig::load(Some(sim.kubeconfig_path()))
        .expect("kubeconfig parses");
    control_room::sources::kubeconfig::client(&kubeconfig, &format!("kind-trustusbank-{cluster}"))
        .await
        .expect("client")
}

/// The newest not-terminating pod with `app=<app>` in `namespace`.
pub fn pod_of(sim: &SimHandle, cluster: &str, namespace: &str, app: &str) -> String {
    let (pods, _) = sim
        .store(cluster)
        .unwrap()
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
    pod["metadata"]["name"].as_str().unwrap().to_string()
}
