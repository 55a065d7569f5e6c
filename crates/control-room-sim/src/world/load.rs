//! Scale knobs: synthetic `load-NNNN` namespaces that bring each cluster up to a pod count,
//! and background churn that keeps pods flapping between ready and not ready.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::store::ids::IdGen;
use crate::store::{ClusterStore, timestamp};
use crate::world::builder::Builder;
use crate::world::workloads::PodTemplate;

/// Synthetic namespaces hold this many deployments of [`LOAD_REPLICAS`] pods each.
const LOAD_DEPLOYMENTS_PER_NAMESPACE: usize = 10;
const LOAD_REPLICAS: u32 = 10;
/// Namespace prefix of the synthetic load (churn prefers these pods).
pub const LOAD_PREFIX: &str = "load-";
/// Churn works in ticks of this length.
const CHURN_TICK: Duration = Duration::from_millis(100);

/// Add load namespaces until the cluster holds at least `target` pods.
pub fn add_load(b: &mut Builder<'_>, store: &ClusterStore, target: usize) -> anyhow::Result<()> {
    let mut missing = target.saturating_sub(store.count("v1", "Pod"));
    let mut ns_index = 1;
    while missing > 0 {
        let namespace = format!("{LOAD_PREFIX}{ns_index:04}");
        let age = 100 * 60 - ns_index as i64;
        b.namespace(
            &namespace,
            &[("control-room.sim/load", "true".to_string())],
            age,
        )?;
        for d in 0..LOAD_DEPLOYMENTS_PER_NAMESPACE {
            if missing == 0 {
                break;
            }
            let replicas = LOAD_REPLICAS.min(u32::try_from(missing).unwrap_or(LOAD_REPLICAS));
            let app = format!("app-{d:02}");
            let t = PodTemplate {
                app: &app,
                container: "app",
                image: "registry.example.com/load/app:1.0.0",
                port: 8080,
                host_network: false,
                extra_labels: &[],
                ambient: false,
            };
            b.deployment(&namespace, &t, replicas, age - 10 - d as i64)?;
            missing -= replicas as usize;
        }
        ns_index += 1;
    }
    Ok(())
}

/// Start `per_sec` pod updates per second spread over all clusters; None when `per_sec` is 0.
pub fn spawn_churn(stores: Vec<ClusterStore>, per_sec: f64) -> Option<JoinHandle<()>> {
    if !(per_sec.is_finite() && per_sec > 0.0) {
        return None;
    }
    Some(tokio::spawn(churn_loop(stores, per_sec)))
}

/// Pods churn picks from: the synthetic load when there is any (so the demo's named workloads
/// stay steady), otherwise every pod.
fn churn_targets(stores: &[ClusterStore]) -> Vec<(usize, String, String)> {
    let mut all = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        let (pods, _) = store.list("v1", "Pod", None);
        for pod in pods {
            let meta = pod.get("metadata");
            let field = |k: &str| {
                meta.and_then(|m| m.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            if let (Some(ns), Some(name)) = (field("namespace"), field("name")) {
                all.push((i, ns, name));
            }
        }
    }
    let load: Vec<_> = all
        .iter()
        .filter(|(_, ns, _)| ns.starts_with(LOAD_PREFIX))
        .cloned()
        .collect();
    if load.is_empty() { all } else { load }
}

async fn churn_loop(stores: Vec<ClusterStore>, per_sec: f64) {
    let targets = churn_targets(&stores);
    if targets.is_empty() {
        return;
    }
    let mut ids = IdGen::from_label("churn");
    let mut ticker = tokio::time::interval(CHURN_TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0.0_f64;
    loop {
        ticker.tick().await;
        owed += per_sec * CHURN_TICK.as_secs_f64();
        let due = owed.floor();
        owed -= due;
        let now = timestamp(chrono::Utc::now());
        for n in 0..due as u64 {
            let pick = ids.below(targets.len() as u64) as usize;
            let (store, ns, name) = &targets[pick];
            churn_one(&stores[*store], ns, name, &now);
            if n % 200 == 199 {
                // Big rates: let the servers breathe between batches.
                tokio::task::yield_now().await;
            }
        }
    }
}

fn churn_one(store: &ClusterStore, namespace: &str, name: &str, now: &str) {
    let Some(mut pod) = store.get("v1", "Pod", Some(namespace), name) else {
        return;
    };
    toggle_readiness(&mut pod, now);
    if let Err(err) = store.update_stored(pod) {
        // A concurrent writer won the race; the next tick picks again.
        tracing::debug!(%err, namespace, name, "churn update skipped");
    }
}

fn set(obj: &mut Map<String, Value>, key: &str, value: Value) {
    obj.insert(key.to_string(), value);
}

/// Flip a pod between ready and not ready; going unready counts as a container restart.
pub fn toggle_readiness(pod: &mut Value, now: &str) {
    let was_ready = pod
        .pointer("/status/containerStatuses/0/ready")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let ready = !was_ready;
    let mut unready_names = Vec::new();
    if let Some(statuses) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for status in statuses.iter_mut().filter_map(Value::as_object_mut) {
            set(status, "ready", json!(ready));
            if !ready {
                let restarts = status
                    .get("restartCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                set(status, "restartCount", json!(restarts + 1));
                set(status, "state", json!({"running": {"startedAt": now}}));
                if let Some(name) = status.get("name").and_then(Value::as_str) {
                    unready_names.push(name.to_string());
                }
            }
        }
    }
    if let Some(conditions) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        for condition in conditions.iter_mut().filter_map(Value::as_object_mut) {
            let is_readiness = matches!(
                condition.get("type").and_then(Value::as_str),
                Some("Ready" | "ContainersReady")
            );
            if !is_readiness {
                continue;
            }
            set(
                condition,
                "status",
                json!(if ready { "True" } else { "False" }),
            );
            set(condition, "lastTransitionTime", json!(now));
            if ready {
                condition.remove("reason");
                condition.remove("message");
            } else {
                set(condition, "reason", json!("ContainersNotReady"));
                let names = unready_names.join(" ");
                set(
                    condition,
                    "message",
                    json!(format!("containers with unready status: [{names}]")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggle_flips_and_counts_restarts() {
        let mut pod = json!({"status": {
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0}],
        }});
        toggle_readiness(&mut pod, "2025-01-01T00:00:00Z");
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
        assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 1);
        assert_eq!(pod["status"]["conditions"][0]["status"], "False");
        assert_eq!(pod["status"]["conditions"][1]["status"], "True");
        toggle_readiness(&mut pod, "2025-01-01T00:00:01Z");
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
        assert_eq!(pod["status"]["conditions"][0]["status"], "True");
        // Junk never panics.
        toggle_readiness(&mut json!({"status": {"containerStatuses": [1, "x"]}}), "t");
        toggle_readiness(&mut json!("not an object"), "t");
    }
}
