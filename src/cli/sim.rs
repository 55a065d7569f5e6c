//! `control-room sim`: serve the simulated world headless until interrupted, and write the
//! `control-room.toml` that points control-room at it beside the simulator's kubeconfig.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use control_room_sim::{SimCluster, SimHandle, SimOptions, SimTuning};

/// Start the simulator, print where everything is, run until SIGINT or SIGTERM.
pub async fn run(opts: SimOptions, tuning: SimTuning) -> anyhow::Result<()> {
    let sim = control_room_sim::start_with(opts, tuning).await?;
    let config = write_config(&sim)?;
    println!("control-room sim: three simulated clusters are up");
    println!("  kubeconfig: {}", sim.kubeconfig_path().display());
    println!("  config:     {}", config.display());
    for c in sim.clusters() {
        let pods = sim.store(&c.name).map_or(0, |s| s.count("v1", "Pod"));
        println!(
            "  {:<7} {:<26} {}  ({pods} pods)",
            c.name, c.context, c.server
        );
    }
    if let Some(addr) = sim.metrics_addr() {
        println!("  metrics:    http://{addr}/metrics  (every cluster's ztunnel counters)");
    }
    println!(
        "try: kubectl --kubeconfig {} --context kind-trustusbank-vendor get pods -A",
        sim.kubeconfig_path().display()
    );
    println!("Ctrl-C to stop.");
    wait_for_signal().await?;
    sim.shutdown().await;
    Ok(())
}

/// `DIR/control-room.toml` beside the simulator's kubeconfig.
pub fn write_config(sim: &SimHandle) -> anyhow::Result<PathBuf> {
    let kubeconfig = sim.kubeconfig_path();
    let dir = kubeconfig
        .parent()
        .context("the simulator's kubeconfig has no directory")?;
    let path = dir.join("control-room.toml");
    std::fs::write(&path, control_room_toml(kubeconfig, &sim.clusters()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
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

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
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
