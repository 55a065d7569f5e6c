//! The kubeconfig that points kubectl, kube-rs and any other client at the simulated world.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// What the written files need to know about one cluster.
pub struct ClusterEntry<'a> {
    /// `trustusbank-edge`
    pub cluster_name: &'a str,
    /// `kind-trustusbank-edge`
    pub context: &'a str,
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

/// Write `dir/kubeconfig` (the directory is created 0700 if missing); returns its absolute
/// path. The file is 0600, written to a fresh temporary (never through a symlink) and renamed
/// into place: a kubeconfig can name an exec plugin, so nobody else may prepare or read it.
pub fn write_kubeconfig(dir: &Path, clusters: &[ClusterEntry<'_>]) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let dir = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    let kubeconfig = dir.join("kubeconfig");
    let tmp = dir.join(format!(".kubeconfig.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut f| f.write_all(kubeconfig_yaml(clusters).as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, &kubeconfig));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", kubeconfig.display()));
    }
    Ok(kubeconfig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_names_every_cluster_and_the_first_is_current() {
        let entries = [
            ClusterEntry {
                cluster_name: "trustusbank-edge",
                context: "kind-trustusbank-edge",
                server: "http://127.0.0.1:1",
            },
            ClusterEntry {
                cluster_name: "trustusbank-bank",
                context: "kind-trustusbank-bank",
                server: "http://127.0.0.1:2",
            },
        ];
        let yaml = kubeconfig_yaml(&entries);
        let doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(doc["current-context"], "kind-trustusbank-edge");
        assert_eq!(
            doc["clusters"][1]["cluster"]["server"],
            "http://127.0.0.1:2"
        );
        assert_eq!(doc["contexts"][1]["context"]["cluster"], "trustusbank-bank");
    }
}
