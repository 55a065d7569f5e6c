//! Starting the configured port-forwards against the world on screen.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Msg;
use super::world::World;
use crate::config::Config;
use crate::model::WorldMode;
use crate::model::forward::ForwardRow;
use crate::sources::forward::{self, ForwardMsg, ForwardTarget};
use crate::sources::kubeconfig;

/// How often each link's URL is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(10);

/// Rows for the links pane and the tasks that keep every forward open. Against the
/// simulator the defaults' fixed local ports give way to free ones, so a rehearsal never
/// collides with a real demo's forwards on the same laptop.
pub async fn start(
    world: &World,
    config: &Config,
    tx: &mpsc::Sender<Msg>,
    probe_every: Option<Duration>,
) -> (Vec<ForwardRow>, JoinSet<()>) {
    let mut rows = Vec::new();
    let mut tasks = JoinSet::new();
    let free_ports = world.mode == WorldMode::Simulated && !config.forwards_from_user;
    for (i, f) in config.forwards.iter().enumerate() {
        let mut row = ForwardRow::from_config(f);
        let wrap = move |m: ForwardMsg| Msg::Forward(i, m);
        if let Some(url) = &f.url {
            if let Some(every) = probe_every {
                tasks.spawn(forward::probe(url.clone(), every, tx.clone(), wrap));
            }
            rows.push(row);
            continue;
        }
        let Some(cluster) = world.clusters.iter().find(|c| c.name == f.cluster) else {
            row.last_error = Some((
                crate::sources::clock::now(),
                format!("cluster `{}` is not configured", f.cluster),
            ));
            row.state = crate::model::forward::ForwardState::Failed;
            rows.push(row);
            continue;
        };
        match kubeconfig::client(&world.kubeconfig, &cluster.context).await {
            Ok(client) => {
                let target = ForwardTarget {
                    client,
                    config: f.clone(),
                    local_port: if free_ports { None } else { f.local_port },
                    probe_every,
                };
                tasks.spawn(forward::run(target, tx.clone(), wrap));
            }
            Err(e) => {
                row.last_error = Some((crate::sources::clock::now(), e.to_string()));
                row.state = crate::model::forward::ForwardState::Failed;
            }
        }
        rows.push(row);
    }
    (rows, tasks)
}
