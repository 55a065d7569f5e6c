//! The log-generator pod, when asked for (`SimOptions::big_log_mb`, `log_lines_per_sec`):
//! a flog Deployment in its own `load-logs` namespace on bank, away from the demo's panes.
//! What it writes is [`crate::services::loggen`].

use crate::services::loggen::{APP, IMAGE, NAMESPACE};
use crate::world::builder::Builder;
use crate::world::workloads::PodTemplate;

/// How long before the simulator started the generator was deployed: its log is spread
/// over this time.
const AGE_SECS: i64 = 90 * 60;

/// Add the namespace, the Deployment with its pod, and its ServiceAccount.
pub fn add(b: &mut Builder<'_>) -> anyhow::Result<()> {
    b.namespace(NAMESPACE, &[], AGE_SECS + 60)?;
    b.service_account(NAMESPACE, "default", AGE_SECS + 60)?;
    b.service_account(NAMESPACE, APP, AGE_SECS)?;
    let t = PodTemplate {
        app: APP,
        container: "flog",
        image: IMAGE,
        port: 8080,
        host_network: false,
        extra_labels: &[],
        ambient: false,
    };
    b.deployment(NAMESPACE, &t, 1, AGE_SECS)?;
    Ok(())
}
