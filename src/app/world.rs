//! Which clusters to talk to: the configured contexts of a real kubeconfig (live), or an
//! in-process simulator and the kubeconfig it writes. Past this point the same code runs.

use std::path::Path;

use anyhow::Context as _;

use std::time::Duration;

use kube::config::Kubeconfig;

use crate::actions::ActEnvironment;
use crate::model::ActKind;

use crate::config::{ClusterConfig, Config};
use crate::model::WorldMode;
use crate::sources::kubeconfig;
use control_room_sim::{SimHandle, SimOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Live when every configured context exists in the kubeconfig, else simulated.
    Auto,
    Sim,
    Live,
}

pub struct World {
    pub mode: WorldMode,
    pub kubeconfig: Kubeconfig,
    pub kubeconfig_path: String,
    pub clusters: Vec<ClusterConfig>,
    /// The in-process simulator, when one was started; dropping the world stops it.
    pub sim: Option<SimHandle>,
    /// The simulator's private directory (0700, fresh per run), when this world made it:
    /// removed on close, and by the panic hook should the program die first.
    sim_dir: Option<tempfile::TempDir>,
    /// Contexts whose cluster skips TLS verification (`insecure-skip-tls-verify`).
    pub insecure: Vec<String>,
}

/// What [`World::decide`] chose, from local files only: the world before any network I/O,
/// enough for a screen to name its clusters while the world opens.
pub enum Opening {
    Live {
        kubeconfig: Box<Kubeconfig>,
        path: String,
    },
    Simulated,
}

impl Opening {
    /// The mode and clusters (name, context) the world will have once open.
    pub fn provisional(&self, config: &Config) -> (WorldMode, Vec<(String, String)>) {
        match self {
            Opening::Live { .. } => (
                live_mode(config),
                config
                    .clusters
                    .iter()
                    .map(|c| (c.name.clone(), c.context.clone()))
                    .collect(),
            ),
            Opening::Simulated => (WorldMode::Simulated, control_room_sim::topology()),
        }
    }
}

fn live_mode(config: &Config) -> WorldMode {
    if config.simulated {
        WorldMode::Simulated
    } else {
        WorldMode::Live
    }
}

impl World {
    pub async fn open(
        config: &Config,
        kubeconfig_flag: Option<&Path>,
        choice: Choice,
    ) -> anyhow::Result<World> {
        let opening = Self::decide(config, kubeconfig_flag, choice)?;
        Self::open_decided(config, opening).await
    }

    /// Live or simulated, from the flags, the config and the kubeconfig file: no network.
    pub fn decide(
        config: &Config,
        kubeconfig_flag: Option<&Path>,
        choice: Choice,
    ) -> anyhow::Result<Opening> {
        let explicit = kubeconfig_flag.or(config.kubeconfig.as_deref());
        let loaded = kubeconfig::load(explicit);
        let live_ready = match &loaded {
            Ok((kc, _)) => config
                .clusters
                .iter()
                .all(|c| kubeconfig::has_context(kc, &c.context)),
            Err(_) => false,
        };
        let go_live = match choice {
            Choice::Live => true,
            Choice::Sim => false,
            Choice::Auto => live_ready,
        };
        if go_live {
            let (kubeconfig, path) = loaded?;
            return Ok(Opening::Live {
                kubeconfig: Box::new(kubeconfig),
                path,
            });
        }
        if choice == Choice::Auto {
            match &loaded {
                Ok(_) => tracing::info!(
                    "configured contexts not all in the kubeconfig; starting the simulator"
                ),
                Err(e) => {
                    tracing::info!(error = %e, "no usable kubeconfig; starting the simulator")
                }
            }
        }
        Ok(Opening::Simulated)
    }

    /// Opens what [`World::decide`] chose: starts the simulator when it chose one.
    pub async fn open_decided(config: &Config, opening: Opening) -> anyhow::Result<World> {
        match opening {
            Opening::Live {
                kubeconfig,
                path: kubeconfig_path,
            } => {
                let insecure = insecure_contexts(&kubeconfig);
                Ok(World {
                    mode: live_mode(config),
                    kubeconfig: *kubeconfig,
                    kubeconfig_path,
                    clusters: config.clusters.clone(),
                    sim: None,
                    sim_dir: None,
                    insecure,
                })
            }
            Opening::Simulated => Self::simulated().await,
        }
    }

    async fn simulated() -> anyhow::Result<World> {
        // mkdtemp: a fresh 0700 directory nobody else could have prepared.
        let dir = tempfile::Builder::new()
            .prefix("control-room-sim-")
            // Spelled out: tempfile leaves directory modes to the umask.
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .context("creating a private directory for the simulator")?;
        crate::exit::remove_on_exit(dir.path());
        let sim = control_room_sim::start(SimOptions {
            state_dir: dir.path().to_path_buf(),
            ..SimOptions::default()
        })
        .await?;
        let mut world = Self::from_sim(sim)?;
        world.sim_dir = Some(dir);
        Ok(world)
    }

    /// A simulator someone already started (the tests tune theirs): the world owns it from
    /// here and stops it on [`World::close`]; its directory is left to whoever made it.
    pub fn from_sim(sim: SimHandle) -> anyhow::Result<World> {
        let path = sim.kubeconfig_path().to_path_buf();
        let (kubeconfig, kubeconfig_path) = kubeconfig::load(Some(&path))?;
        let clusters = sim
            .clusters()
            .into_iter()
            .map(|c| ClusterConfig {
                name: c.name,
                context: c.context,
            })
            .collect();
        let insecure = insecure_contexts(&kubeconfig);
        Ok(World {
            mode: WorldMode::Simulated,
            kubeconfig,
            kubeconfig_path,
            clusters,
            sim: Some(sim),
            sim_dir: None,
            insecure,
        })
    }

    /// What act scripts need to act on this world: the configured commands, and the
    /// environment that points kubectl at these clusters (`KUBECONFIG`, `EDGE_CONTEXT` …).
    pub fn act_environment(&self, config: &Config) -> ActEnvironment {
        let acts = &config.acts;
        let commands = [
            (ActKind::Reset, acts.reset.command.clone()),
            (ActKind::Upgrade, acts.upgrade.command.clone()),
            (ActKind::PoliciesOn, acts.policies_on.command.clone()),
        ]
        .into_iter()
        .collect();
        let mut env = vec![("KUBECONFIG".to_string(), self.kubeconfig_path.clone())];
        for c in &self.clusters {
            let name: String = c
                .name
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() {
                        ch.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            env.push((format!("{name}_CONTEXT"), c.context.clone()));
        }
        env.extend(acts.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        ActEnvironment {
            commands,
            env,
            timeout: Duration::from_secs(acts.timeout_secs),
            log_dir: acts
                .log_dir
                .clone()
                .or_else(|| crate::config::state_dir().map(|d| d.join("acts"))),
        }
    }

    /// Stops the simulator (if any) and removes its state directory.
    pub async fn close(mut self) {
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        if let Some(dir) = self.sim_dir.take() {
            crate::exit::forget_dir(dir.path());
            if let Err(e) = dir.close() {
                tracing::warn!(error = %e, "could not remove the simulator's directory");
            }
        }
    }
}

/// The contexts whose cluster entry says `insecure-skip-tls-verify: true`: anyone on the path
/// can pose as that API server, which the screen must say.
fn insecure_contexts(kubeconfig: &Kubeconfig) -> Vec<String> {
    kubeconfig
        .contexts
        .iter()
        .filter_map(|named| {
            let cluster_name = &named.context.as_ref()?.cluster;
            let cluster = kubeconfig
                .clusters
                .iter()
                .find(|c| &c.name == cluster_name)?
                .cluster
                .as_ref()?;
            cluster
                .insecure_skip_tls_verify
                .unwrap_or(false)
                .then(|| named.name.clone())
        })
        .collect()
}
