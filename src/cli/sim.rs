//! `control-room sim`: serve the simulated world headless until a signal, and write the
//! `control-room.toml` that points control-room at it beside the simulator's kubeconfig —
//! both 0600 in a private directory, gone when the simulator stops.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use control_room_sim::{SimCluster, SimHandle, SimOptions, SimTuning};

/// Where the simulator keeps its kubeconfig and `control-room.toml`.
pub enum StateDir {
    /// A fresh private directory (mkdtemp, 0700) under `$XDG_RUNTIME_DIR` or the temp dir:
    /// removed when the simulator stops.
    Fresh(tempfile::TempDir),
    /// `--state-dir`: the user's; only the files written into it are removed at the end.
    Given(PathBuf),
}

impl StateDir {
    /// `--state-dir DIR` when given — an existing one must be ours and not group/other
    /// writable, a missing one is created 0700 — else a fresh private directory.
    pub fn choose(explicit: Option<PathBuf>) -> anyhow::Result<StateDir> {
        match explicit {
            Some(dir) => {
                crate::files::private_dir(&dir)
                    .map_err(|e| anyhow::anyhow!("refusing --state-dir {}: {e}", dir.display()))?;
                Ok(StateDir::Given(dir))
            }
            None => {
                let mut builder = tempfile::Builder::new();
                builder.prefix("control-room-sim-");
                // Spelled out: tempfile leaves directory modes to the umask.
                builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
                let dir = match std::env::var_os("XDG_RUNTIME_DIR")
                    .map(PathBuf::from)
                    .filter(|d| crate::files::check_private_dir(d).is_ok())
                {
                    Some(runtime) => builder.tempdir_in(runtime),
                    None => builder.tempdir(),
                }
                .context("creating a private directory for the simulator")?;
                crate::exit::remove_on_exit(dir.path());
                Ok(StateDir::Fresh(dir))
            }
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            StateDir::Fresh(dir) => dir.path(),
            StateDir::Given(dir) => dir,
        }
    }

    /// Leaves nothing of this run: a fresh directory goes whole; from a given one the
    /// kubeconfig and config go (they point at ports nobody serves any more).
    pub fn clean_up(self) {
        match self {
            StateDir::Fresh(dir) => {
                crate::exit::forget_dir(dir.path());
                let _ = dir.close();
            }
            StateDir::Given(dir) => {
                for name in ["kubeconfig", "control-room.toml"] {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
        }
    }
}

/// Start the simulator, print where everything is, serve until SIGINT, SIGTERM or SIGHUP;
/// exits with 128 + the signal's number, leaving nothing behind.
pub async fn run(
    explicit: Option<PathBuf>,
    mut opts: SimOptions,
    tuning: SimTuning,
) -> anyhow::Result<std::process::ExitCode> {
    let ending =
        crate::sources::signals::Ending::catch().context("installing the signal handlers")?;
    let dir = StateDir::choose(explicit)?;
    opts.state_dir = dir.path().to_path_buf();
    let sim = match control_room_sim::start_with(opts, tuning).await {
        Ok(sim) => sim,
        Err(e) => {
            dir.clean_up();
            return Err(e);
        }
    };
    let config = match write_config(&sim) {
        Ok(config) => config,
        Err(e) => {
            sim.shutdown().await;
            dir.clean_up();
            return Err(e);
        }
    };
    // Written once, errors ignored: whoever reads this may stop reading (`| head`), and a
    // closed stdout must not take the simulator down with it.
    let mut banner = String::new();
    banner.push_str("control-room sim: three simulated clusters are up\n");
    banner.push_str(&format!(
        "  directory:  {} (private; removed when this stops)\n",
        dir.path().display()
    ));
    banner.push_str(&format!(
        "  kubeconfig: {}\n",
        sim.kubeconfig_path().display()
    ));
    banner.push_str(&format!("  config:     {}\n", config.display()));
    for c in sim.clusters() {
        let pods = sim.store(&c.name).map_or(0, |s| s.count("v1", "Pod"));
        banner.push_str(&format!(
            "  {:<7} {:<26} {}  ({pods} pods)\n",
            c.name, c.context, c.server
        ));
    }
    if let Some(addr) = sim.metrics_addr() {
        banner.push_str(&format!(
            "  metrics:    http://{addr}/metrics  (every cluster's ztunnel counters)\n"
        ));
    }
    banner.push_str(&format!(
        "try: kubectl --kubeconfig {} --context kind-trustusbank-vendor get pods -A\n",
        sim.kubeconfig_path().display()
    ));
    banner.push_str("Ctrl-C to stop.\n");
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    let signal = ending.first().await;
    sim.shutdown().await;
    dir.clean_up();
    Ok(std::process::ExitCode::from(
        u8::try_from(128 + signal).unwrap_or(1),
    ))
}

/// `DIR/control-room.toml` beside the simulator's kubeconfig.
pub fn write_config(sim: &SimHandle) -> anyhow::Result<PathBuf> {
    let kubeconfig = sim.kubeconfig_path();
    let dir = kubeconfig
        .parent()
        .context("the simulator's kubeconfig has no directory")?;
    let text = control_room_toml(kubeconfig, &sim.clusters());
    crate::files::write_private(dir, "control-room.toml", text.as_bytes())
        .with_context(|| format!("writing {}", dir.join("control-room.toml").display()))
}

/// `control-room.toml` pointing at `kubeconfig`.
pub fn control_room_toml(kubeconfig: &Path, clusters: &[SimCluster]) -> String {
    let mut out = String::from(
        "# Written by `control-room sim`: points control-room at this simulated world.\n",
    );
    out.push_str(&format!(
        "kubeconfig = {}\nsimulated = true\n",
        toml_string(&kubeconfig.to_string_lossy())
    ));
    for c in clusters {
        out.push_str(&format!(
            "\n[[cluster]]\nname = {}\ncontext = {}\n",
            toml_string(&c.name),
            toml_string(&c.context)
        ));
    }
    out
}

/// A TOML basic string with everything that needs escaping escaped.
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_string_escapes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), r#""x\ny""#);
    }

    #[test]
    fn toml_parses_back() {
        let clusters = [SimCluster {
            name: "edge".into(),
            context: "kind-trustusbank-edge".into(),
            server: "http://127.0.0.1:1".into(),
        }];
        let text = control_room_toml(Path::new("/tmp/we\"ird\\dir/kubeconfig"), &clusters);
        let doc: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(
            doc["kubeconfig"].as_str(),
            Some("/tmp/we\"ird\\dir/kubeconfig")
        );
        assert_eq!(
            doc["cluster"][0]["context"].as_str(),
            Some("kind-trustusbank-edge")
        );
    }
}
