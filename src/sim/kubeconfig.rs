//! The files that point kubectl, kube-rs and control-room at the simulated world.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// What the written files need to know about one cluster.
pub struct ClusterEntry<'a> {
    /// `trustusbank-edge`
    pub cluster_name: &'a str,
    /// `kind-trustusbank-edge`
    pub context: &'a str,
    /// `edge`
    pub short: &'a str,
    /// `http://127.0.0.1:PORT`
    pub server: &'a str,
}

const USER: &str = "sim-user";
/// Not a secret: the simulator accepts any request. Present because real kubeconfigs carry
/// credentials and clients behave more like they do against kind with one.
const TOKEN: &str = "control-room-sim-token";

/// kubeconfig YAML for the clusters; the first one is the current context.
pub fn kubeconfig_yaml(clusters: &[ClusterEntry<'_>]) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for c in clusters {
        out.push_str(&format!(
            "- name: {}\n  cluster:\n    server: {}\n",
            c.cluster_name, c.server
        ));
    }
    out.push_str("contexts:\n");
    for c in clusters {
        out.push_str(&format!(
            "- name: {}\n  context:\n    cluster: {}\n    user: {USER}\n",
            c.context, c.cluster_name
        ));
    }
    if let Some(first) = clusters.first() {
        out.push_str(&format!("current-context: {}\n", first.context));
    }
    out.push_str(&format!(
        "preferences: {{}}\nusers:\n- name: {USER}\n  user:\n    token: {TOKEN}\n"
    ));
    out
}

/// `control-room.toml` pointing at `kubeconfig`.
pub fn control_room_toml(kubeconfig: &Path, clusters: &[ClusterEntry<'_>]) -> String {
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
            toml_string(c.short),
            toml_string(c.context)
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

/// Write both files into `dir` (created if missing); returns (kubeconfig, control-room.toml).
pub fn write_files(
    dir: &Path,
    clusters: &[ClusterEntry<'_>],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    let kubeconfig = dir.join("kubeconfig");
    let config = dir.join("control-room.toml");
    std::fs::write(&kubeconfig, kubeconfig_yaml(clusters))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    std::fs::write(&config, control_room_toml(&kubeconfig, clusters))
        .with_context(|| format!("writing {}", config.display()))?;
    Ok((kubeconfig, config))
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
        let entries = [ClusterEntry {
            cluster_name: "trustusbank-edge",
            context: "kind-trustusbank-edge",
            short: "edge",
            server: "http://127.0.0.1:1",
        }];
        let text = control_room_toml(Path::new("/tmp/we\"ird\\dir/kubeconfig"), &entries);
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
