//! Starting the configured port-forwards against the world on screen.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::Msg;
use super::world::World;
use crate::config::Config;
use crate::model::WorldMode;
use crate::model::forward::ForwardRow;
use crate::msg::ForwardMsg;
use crate::sources::forward::{self, ForwardTarget};
use crate::sources::kubeconfig;

/// How often each link's URL is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(10);

/// Each forward's base URL (`http://127.0.0.1:PORT`, or its configured `url`) once it
/// listens, for sources that reach a service through a forward (the alert poller).
#[derive(Debug, Clone, Default)]
pub struct ForwardUrls(HashMap<String, watch::Receiver<Option<String>>>);

impl ForwardUrls {
    pub fn get(&self, name: &str) -> Option<watch::Receiver<Option<String>>> {
        self.0.get(name).cloned()
    }
}

/// Rows for the links pane and the tasks that keep every forward open. Against the
/// simulator the defaults' fixed local ports give way to free ones, so a rehearsal never
/// collides with a real demo's forwards on the same laptop.
pub async fn start(
    world: &World,
    config: &Config,
    tx: &mpsc::Sender<Msg>,
    probe_every: Option<Duration>,
) -> (Vec<ForwardRow>, JoinSet<()>) {
    let (rows, tasks, _) = start_with_urls(world, config, tx, probe_every).await;
    (rows, tasks)
}

/// [`start`], also handing out each forward's URL as it becomes known.
pub async fn start_with_urls(
    world: &World,
    config: &Config,
    tx: &mpsc::Sender<Msg>,
    probe_every: Option<Duration>,
) -> (Vec<ForwardRow>, JoinSet<()>, ForwardUrls) {
    let mut rows = Vec::new();
    let mut tasks = JoinSet::new();
    let mut urls = HashMap::new();
    let free_ports = world.mode == WorldMode::Simulated && !config.forwards_from_user;
    for (i, f) in config.forwards.iter().enumerate() {
        let mut row = ForwardRow::from_config(f);
        let (url_tx, url_rx) = watch::channel(f.url.clone());
        urls.insert(f.name.clone(), url_rx);
        let wrap = move |m: ForwardMsg| {
            if let ForwardMsg::Listening(addr) = &m {
                url_tx.send_replace(Some(format!("http://{addr}")));
            }
            Msg::Forward(i, m)
        };
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
    (rows, tasks, ForwardUrls(urls))
}
