//! Which kubeconfig to read and how to build a client for one of its contexts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Read {
        path: String,
        source: kube::config::KubeconfigError,
    },
    #[error("no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config): {0}")]
    Default(kube::config::KubeconfigError),
    #[error("context {context:?}: {source}")]
    Context {
        context: String,
        source: kube::config::KubeconfigError,
    },
    #[error("context {context:?}: cannot build a client: {source}")]
    Client {
        context: String,
        source: kube::Error,
    },
}

/// The kubeconfig to use: an explicit file, else `$KUBECONFIG` / `~/.kube/config`.
pub fn load(explicit: Option<&Path>) -> Result<(Kubeconfig, String), KubeconfigError> {
    match explicit {
        Some(path) => Kubeconfig::read_from(path)
            .map(|k| (k, path.display().to_string()))
            .map_err(|source| KubeconfigError::Read {
                path: path.display().to_string(),
                source,
            }),
        None => {
            let shown = std::env::var("KUBECONFIG")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| {
                    dirs::home_dir()
                        .unwrap_or_else(|| PathBuf::from("~"))
                        .join(".kube/config")
                        .display()
                        .to_string()
                });
            Kubeconfig::read()
                .map(|k| (k, shown))
                .map_err(KubeconfigError::Default)
        }
    }
}

pub fn has_context(kubeconfig: &Kubeconfig, context: &str) -> bool {
    kubeconfig.contexts.iter().any(|c| c.name == context)
}

/// A client for one context. Connecting is bounded so a dead cluster answers quickly;
/// reads are not, because watches are long polls.
pub async fn client(
    kubeconfig: &Kubeconfig,
    context: &str,
) -> Result<kube::Client, KubeconfigError> {
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
        .await
        .map_err(|source| KubeconfigError::Context {
            context: context.to_string(),
            source,
        })?;
    config.connect_timeout = Some(Duration::from_secs(3));
    kube::Client::try_from(config).map_err(|source| KubeconfigError::Client {
        context: context.to_string(),
        source,
    })
}

/// One line a person can read: the API server's own message for API errors, the client's
/// words otherwise.
pub fn describe_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => {
            format!("{} ({})", status.message, status.code)
        }
        other => other.to_string(),
    }
}
