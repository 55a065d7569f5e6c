//! The simulated registries: which image references resolve, and what containerd answers
//! the kubelet when one does not.
//!
//! The registries know every image the world runs (the walkthrough §2 workloads, kind's
//! control plane, the synthetic load) and the demo's own releases that no pod runs at start
//! (the rugpulled converter, the attacker's patch release). A pull of anything else fails as
//! it would against Docker Hub: a missing tag of a known repository is `NotFound`, an
//! unknown Docker Hub repository is `pull access denied`.

use std::collections::HashSet;

use crate::store::ClusterStore;

/// Tags that exist in the registries though no pod runs them when the world starts: the
/// release act 2 rolls out, and the mock-attacker's patch release.
const RELEASES: &[&str] = &["currency-converter:1.0.0-rugpull", "mock-attacker:1.0.1"];

/// The kinds whose pod templates or pods name images.
const WORKLOADS: &[(&str, &str)] = &[
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "DaemonSet"),
];

/// Every image reference that can be pulled, normalised (`docker.io/library/x:tag`).
#[derive(Debug, Default)]
pub struct Registry {
    images: HashSet<String>,
    /// Repositories of those images, for telling a missing tag from a missing repository.
    repositories: HashSet<String>,
}

impl Registry {
    pub fn new<'a>(images: impl IntoIterator<Item = &'a str>) -> Self {
        let mut registry = Self::default();
        for image in images {
            registry.add(image);
        }
        registry
    }

    /// The images the freshly built world runs, plus the demo's [`RELEASES`]. Read from the
    /// stored JSON without parsing it: a world at scale holds tens of thousands of pods.
    pub fn from_world(stores: &[ClusterStore]) -> Self {
        let mut registry = Self::new(RELEASES.iter().copied());
        for store in stores {
            for (api_version, kind) in WORKLOADS {
                store.for_each_json(api_version, kind, None, |body| {
                    for image in images_in(body) {
                        registry.add(image);
                    }
                });
            }
        }
        registry
    }

    pub fn add(&mut self, image: &str) {
        let reference = normalize(image);
        self.repositories.insert(repository(&reference).to_string());
        self.images.insert(reference);
    }

    pub fn knows(&self, image: &str) -> bool {
        self.images.contains(&normalize(image))
    }

    /// What the runtime says when `image` cannot be pulled: the part of the kubelet's
    /// `Failed to pull image "x": …` after the colon, and the container's waiting message.
    pub fn pull_error(&self, image: &str) -> String {
        let reference = normalize(image);
        let repo = repository(&reference);
        let resolve = format!(
            "failed to pull and unpack image \"{reference}\": failed to resolve reference \"{reference}\""
        );
        if repo.starts_with("docker.io/") && !self.repositories.contains(repo) {
            format!(
                "rpc error: code = Unknown desc = {resolve}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
            )
        } else {
            format!("rpc error: code = NotFound desc = {resolve}: {reference}: not found")
        }
    }
}

/// Every `"image":"…"` value in compact JSON (image references need no escapes).
fn images_in(body: &str) -> impl Iterator<Item = &str> {
    const KEY: &str = "\"image\":\"";
    body.match_indices(KEY).filter_map(move |(at, _)| {
        let rest = body.get(at + KEY.len()..)?;
        let end = rest.find('"')?;
        rest.get(..end).filter(|image| !image.contains('\\'))
    })
}

/// containerd's normalisation of a reference: Docker Hub's host and `library/` filled in, a
/// missing tag read as `latest` (`nginx` → `docker.io/library/nginx:latest`).
pub fn normalize(image: &str) -> String {
    let image = image.trim();
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };
    let (host, rest) = match path.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_string())
        }
        _ => ("docker.io", path.to_string()),
    };
    let host = if host == "index.docker.io" {
        "docker.io"
    } else {
        host
    };
    let rest = if host == "docker.io" && !rest.contains('/') {
        format!("library/{rest}")
    } else {
        rest
    };
    let mut out = format!("{host}/{rest}");
    match (tag, digest) {
        (Some(tag), _) => {
            out.push(':');
            out.push_str(tag);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
    out
}

/// `docker.io/library/nginx` of `docker.io/library/nginx:1.27`.
fn repository(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_containerd() {
        for (given, want) in [
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.27", "docker.io/library/nginx:1.27"),
            (
                "docker.io/redis:7.2.4-alpine",
                "docker.io/library/redis:7.2.4-alpine",
            ),
            ("grafana/grafana:11.1.0", "docker.io/grafana/grafana:11.1.0"),
            ("index.docker.io/library/x:1", "docker.io/library/x:1"),
            (
                "quay.io/prometheus/prometheus:v2.53.0",
                "quay.io/prometheus/prometheus:v2.53.0",
            ),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("x@sha256:abc", "docker.io/library/x@sha256:abc"),
        ] {
            assert_eq!(normalize(given), want, "{given}");
        }
        assert_eq!(repository("localhost:5000/app:1"), "localhost:5000/app");
    }

    #[test]
    fn images_are_read_from_stored_json() {
        let body = r#"{"spec":{"containers":[{"image":"a:1","name":"a"},{"name":"b","image":"b:2"}]},"status":{"containerStatuses":[{"image":"a:1"}]}}"#;
        assert_eq!(images_in(body).collect::<Vec<_>>(), ["a:1", "b:2", "a:1"]);
        assert_eq!(images_in(r#"{"image":"unterminated"#).count(), 0);
    }

    #[test]
    fn known_images_and_pull_errors() {
        let r = Registry::new(["currency-converter:1.0.0", "quay.io/a/b:1"]);
        assert!(r.knows("currency-converter:1.0.0"));
        assert!(r.knows("docker.io/library/currency-converter:1.0.0"));
        assert!(!r.knows("currency-converter:does-not-exist"));
        assert_eq!(
            r.pull_error("currency-converter:does-not-exist"),
            "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/currency-converter:does-not-exist\": failed to resolve reference \"docker.io/library/currency-converter:does-not-exist\": docker.io/library/currency-converter:does-not-exist: not found"
        );
        assert!(r.pull_error("nope:1").contains("pull access denied"));
        assert!(
            r.pull_error("quay.io/a/c:1")
                .ends_with("quay.io/a/c:1: not found")
        );
        // Junk never panics.
        for junk in ["", ":", "/", "@", "a/:b@", "::::"] {
            let _ = r.pull_error(junk);
            let _ = r.knows(junk);
        }
    }
}
