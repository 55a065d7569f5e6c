//! Real kubectl writing to the simulator, as the demo's acts do: `set image` and
//! `rollout status` (act 2), `apply -f` of AuthorizationPolicies with kubectl's default
//! validation (act 3), server-side apply, `patch`, `delete`, `scale`. Skipped (with a notice)
//! only when no `kubectl` is on PATH. Each test has its own simulator and discovery cache.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use control_room_sim::{self as sim, ClusterStore, SimHandle, SimOptions, SimTuning};
use serde_json::Value;
use tokio::process::Command;

const VENDOR: &str = "kind-trustusbank-vendor";
const VENDOR_NS: &str = "trustusbank-bank-vendors";
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

const POLICIES: &str = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: default-deny, namespace: trustusbank-bank-vendors}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-gw-to-vendor, namespace: trustusbank-bank-vendors}
spec:
  action: ALLOW
  rules:
    - from:
        - source:
            principals: [cluster.local/ns/trustusbank-platform/sa/trustusbank-agentgw]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-vendor-to-attacker, namespace: external-attacker}
spec:
  action: DENY
  rules:
    - from:
        - source:
            principals: [cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter]
"#;

fn kubectl_on_path() -> Option<PathBuf> {
    crate::tools::require("kubectl")
}

/// `kubectl.1.NN` next to the dispatcher, when this machine has it.
fn versioned_kubectl(minor: u32) -> Option<PathBuf> {
    let dispatcher = std::fs::canonicalize(kubectl_on_path()?).ok()?;
    let candidate = dispatcher.parent()?.join(format!("kubectl.1.{minor}"));
    candidate.is_file().then_some(candidate)
}

struct Kubectl {
    binary: PathBuf,
    dir: tempfile::TempDir,
    sim: SimHandle,
}

impl Kubectl {
    async fn start() -> Option<Self> {
        Self::start_with_step(Duration::from_millis(80)).await
    }

    async fn start_with_step(rollout_step: Duration) -> Option<Self> {
        let binary = kubectl_on_path()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = SimOptions {
            state_dir: dir.path().join("state"),
            ..SimOptions::default()
        };
        let tuning = SimTuning {
            rollout_step,
            ..SimTuning::default()
        };
        let sim = sim::start_with(opts, tuning).await.expect("sim starts");
        std::fs::write(dir.path().join("policies.yaml"), POLICIES).unwrap();
        Some(Self { binary, dir, sim })
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    async fn run_with(&self, binary: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(binary);
        cmd.arg("--kubeconfig")
            .arg(self.sim.kubeconfig_path())
            .arg("--cache-dir")
            .arg(self.cache_dir(binary))
            .arg("--context")
            .arg(VENDOR)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .expect("kubectl runs")
    }

    /// One discovery cache per kubectl binary, inside the test's own directory.
    fn cache_dir(&self, binary: &Path) -> PathBuf {
        let name = binary
            .file_name()
            .map_or("kubectl".into(), |n| n.to_string_lossy());
        self.dir.path().join(format!("cache-{name}"))
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.binary.clone(), args).await
    }

    /// Run, require success, return stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn store(&self) -> ClusterStore {
        self.sim.store("vendor").expect("vendor store")
    }

    fn currency_pods(&self) -> Vec<Value> {
        self.store()
            .list("v1", "Pod", Some(VENDOR_NS))
            .0
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "currency-converter")
            .collect()
    }

    async fn until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !check(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The last word of each line: `created`, `unchanged`, `configured`…
fn verdicts(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn set_image_rolls_out_and_rollout_status_completes() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let old: Vec<String> = k
        .currency_pods()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(old.len(), 1);
    let out = k
        .ok(&[
            "set",
            "image",
            "deployment/currency-converter",
            "currency-converter=currency-converter:1.0.0-rugpull",
            "-n",
            VENDOR_NS,
        ])
        .await;
    assert!(out.contains("image updated"), "{out}");
    // With fast test steps the rollout may be over before kubectl looks: only the verdict is
    // certain here (the progress lines are checked at presenter pace below).
    let out = k
        .ok(&[
            "rollout",
            "status",
            "deployment/currency-converter",
            "-n",
            VENDOR_NS,
            "--timeout=60s",
        ])
        .await;
    assert!(
        out.trim_end()
            .ends_with("deployment \"currency-converter\" successfully rolled out"),
        "{out}"
    );

    // The old pod may still be terminating when rollout status returns, as on a real cluster.
    k.until("only rugpull pods left", |k| {
        let pods = k.currency_pods();
        !pods.is_empty()
            && pods.iter().all(|p| {
                !old.iter().any(|o| p["metadata"]["name"] == o.as_str())
                    && p["status"]["phase"] == "Running"
                    && p["status"]["containerStatuses"][0]["image"]
                        == "currency-converter:1.0.0-rugpull"
            })
    })
    .await;
    let d = k
        .store()
        .get(
            "apps/v1",
            "Deployment",
            Some(VENDOR_NS),
            "currency-converter",
        )
        .unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );

    // The same image again: no rollout, and rollout status is done at once.
    let rv = k.store().resource_version();
    k.ok(&[
        "set",
        "image",
        "deployment/currency-converter",
        "currency-converter=currency-converter:1.0.0-rugpull",
        "-n",
        VENDOR_NS,
    ])
    .await;
    let out = k
        .ok(&[
            "rollout",
            "status",
            "deployment/currency-converter",
            "-n",
            VENDOR_NS,
            "--timeout=10s",
        ])
        .await;
    assert_eq!(
        out.trim(),
        "deployment \"currency-converter\" successfully rolled out"
    );
    let (sets, _) = k.store().list("apps/v1", "ReplicaSet", Some(VENDOR_NS));
    assert_eq!(
        sets.iter()
            .filter(|r| r["metadata"]["labels"]["app"] == "currency-converter")
            .count(),
        2
    );
    assert_eq!(
        k.store().resource_version(),
        rv,
        "a no-op set image writes nothing"
    );

    // And back (the demo's reset): the original ReplicaSet comes back as revision 3.
    k.ok(&[
        "set",
        "image",
        "deployment/currency-converter",
        "currency-converter=currency-converter:1.0.0",
        "-n",
        VENDOR_NS,
    ])
    .await;
    k.ok(&[
        "rollout",
        "status",
        "deployment/currency-converter",
        "-n",
        VENDOR_NS,
        "--timeout=60s",
    ])
    .await;
    let (sets, _) = k.store().list("apps/v1", "ReplicaSet", Some(VENDOR_NS));
    let revisions: Vec<(i64, String)> = sets
        .iter()
        .filter(|r| r["metadata"]["labels"]["app"] == "currency-converter")
        .map(|r| {
            (
                r["spec"]["replicas"].as_i64().unwrap(),
                r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert!(revisions.contains(&(1, "3".to_string())), "{revisions:?}");
    assert!(revisions.contains(&(0, "2".to_string())), "{revisions:?}");
}

#[tokio::test]
async fn rollout_status_follows_progress_at_presenter_pace() {
    // Two-second phases: the new pod needs three seconds to be ready, far longer than kubectl
    // takes to start watching, so its progress lines are certain to show.
    let step = Duration::from_secs(2);
    let Some(k) = Kubectl::start_with_step(step).await else {
        return;
    };
    k.ok(&[
        "set",
        "image",
        "deployment/currency-converter",
        "currency-converter=currency-converter:1.0.0-rugpull",
        "-n",
        VENDOR_NS,
    ])
    .await;
    let out = k
        .ok(&[
            "rollout",
            "status",
            "deployment/currency-converter",
            "-n",
            VENDOR_NS,
            "--timeout=60s",
        ])
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 2, "{out}");
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l
                .starts_with("Waiting for deployment \"currency-converter\" rollout to finish: ")),
        "{out}"
    );
    assert_eq!(
        lines[lines.len() - 1],
        "deployment \"currency-converter\" successfully rolled out"
    );
}

/// Act 3 with whichever kubectl binary: default validation, no `--validate=false`.
async fn apply_policies_with(k: &Kubectl, binary: &Path) {
    let file = k.file("policies.yaml");
    let args = ["apply", "-f", file.as_str()];
    let out = k.run_with(binary, &args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        verdicts(&String::from_utf8_lossy(&out.stdout)),
        ["created"; 3]
    );
    let out = k.run_with(binary, &args).await;
    assert_eq!(
        verdicts(&String::from_utf8_lossy(&out.stdout)),
        ["unchanged"; 3]
    );
    let changed = POLICIES.replace("action: DENY", "action: AUDIT");
    let changed_file = k.file("changed.yaml");
    std::fs::write(&changed_file, changed).unwrap();
    let out = k.run_with(binary, &["apply", "-f", &changed_file]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        verdicts(&String::from_utf8_lossy(&out.stdout)),
        ["unchanged", "unchanged", "configured"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let stored = k
        .store()
        .get(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Some("external-attacker"),
            "deny-vendor-to-attacker",
        )
        .unwrap();
    assert_eq!(stored["spec"]["action"], "AUDIT");
    let last_applied =
        stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert!(
        last_applied.ends_with("}\n") && last_applied.contains("AUDIT"),
        "{last_applied}"
    );
    let out = k.run_with(binary, &["delete", "-f", &file]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn apply_authorization_policies_with_default_validation() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    apply_policies_with(&k, &k.binary.clone()).await;
    let out = k.ok(&["get", "ap", "-A"]).await;
    assert!(out.trim().is_empty(), "deleted again: {out}");
    // kubectl before 1.29 checks field validation through OpenAPI v2 (protobuf) instead.
    for minor in [27, 33] {
        match versioned_kubectl(minor) {
            Some(binary) => apply_policies_with(&k, &binary).await,
            None => crate::tools::skip(&format!(
                "`kubectl.1.{minor}` beside the kubectl dispatcher (Debian's kubernetes-client)"
            )),
        }
    }
}

#[tokio::test]
async fn server_side_apply_patches_and_deletes() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let file = k.file("policies.yaml");
    let out = k.ok(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(verdicts(&out), ["serverside-applied"; 3]);
    let out = k.ok(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(verdicts(&out), ["serverside-applied"; 3]);
    let out = k.ok(&["get", "ap", "-A", "--no-headers"]).await;
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        names,
        [
            "deny-vendor-to-attacker",
            "allow-gw-to-vendor",
            "default-deny"
        ]
    );

    // Merge and JSON patches on a custom resource and a Deployment.
    let out = k
        .ok(&[
            "patch",
            "ap",
            "default-deny",
            "-n",
            VENDOR_NS,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"action":"DENY"}}"#,
        ])
        .await;
    assert!(out.contains("patched"), "{out}");
    k.ok(&[
        "patch",
        "ap",
        "default-deny",
        "-n",
        VENDOR_NS,
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels","value":{"act":"3"}}]"#,
    ])
    .await;
    let ap = k
        .store()
        .get(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Some(VENDOR_NS),
            "default-deny",
        )
        .unwrap();
    assert_eq!(
        (
            ap["spec"]["action"].as_str(),
            ap["metadata"]["labels"]["act"].as_str()
        ),
        (Some("DENY"), Some("3"))
    );
    k.ok(&[
        "patch",
        "deployment",
        "currency-converter",
        "-n",
        VENDOR_NS,
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"vendor"}}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "deployment",
        "currency-converter",
        "-n",
        VENDOR_NS,
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/revisionHistoryLimit","value":5}]"#,
    ])
    .await;
    let d = k
        .store()
        .get(
            "apps/v1",
            "Deployment",
            Some(VENDOR_NS),
            "currency-converter",
        )
        .unwrap();
    assert_eq!(
        (
            d["metadata"]["labels"]["tier"].as_str(),
            d["spec"]["revisionHistoryLimit"].as_i64()
        ),
        (Some("vendor"), Some(5))
    );

    // Strategic merge on a custom resource: refused as by a real server.
    let out = k
        .run(&[
            "patch",
            "ap",
            "default-deny",
            "-n",
            VENDOR_NS,
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"action":"ALLOW"}}"#,
        ])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{stderr}"
    );

    // delete -f, then again with --ignore-not-found --wait=true.
    let out = k.ok(&["delete", "-f", &file]).await;
    assert_eq!(out.lines().count(), 3, "{out}");
    let out = k
        .ok(&["delete", "-f", &file, "--ignore-not-found", "--wait=true"])
        .await;
    assert!(out.trim().is_empty(), "{out}");
    let out = k.run(&["delete", "-f", &file]).await;
    assert!(
        !out.status.success(),
        "deleting what is gone fails without --ignore-not-found"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("NotFound"));

    // delete --all in one namespace leaves the other's.
    k.ok(&["apply", "-f", &file]).await;
    let out = k.ok(&["delete", "ap", "--all", "-n", VENDOR_NS]).await;
    assert_eq!(out.lines().count(), 2, "{out}");
    let out = k.ok(&["get", "ap", "-A", "--no-headers"]).await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("deny-vendor-to-attacker"), "{out}");
}

#[tokio::test]
async fn scale_adds_and_removes_pods() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k
        .ok(&[
            "scale",
            "deployment/currency-converter",
            "--replicas=2",
            "-n",
            VENDOR_NS,
        ])
        .await;
    assert!(out.contains("scaled"), "{out}");
    k.until("two running pods", |k| {
        let pods = k.currency_pods();
        pods.len() == 2 && pods.iter().all(|p| p["status"]["phase"] == "Running")
    })
    .await;
    k.ok(&[
        "rollout",
        "status",
        "deployment/currency-converter",
        "-n",
        VENDOR_NS,
        "--timeout=30s",
    ])
    .await;
    k.ok(&[
        "scale",
        "deployment/currency-converter",
        "--replicas=1",
        "-n",
        VENDOR_NS,
    ])
    .await;
    k.until("back to one pod", |k| k.currency_pods().len() == 1)
        .await;
    let out = k
        .ok(&[
            "get",
            "deployment",
            "currency-converter",
            "-n",
            VENDOR_NS,
            "-o",
            "jsonpath={.status.readyReplicas}/{.spec.replicas}",
        ])
        .await;
    assert_eq!(out, "1/1");
}

/// kubectl's typed `create` commands send protobuf: the kinds they make are decoded, the
/// objects stored as a real server stores them; a kind the simulator does not decode is
/// still a 415.
#[tokio::test]
async fn typed_create_commands_send_protobuf_and_are_understood() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    k.ok(&["create", "namespace", "made-by-kubectl"]).await;
    k.ok(&[
        "-n",
        "made-by-kubectl",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=key=value",
    ])
    .await;
    k.ok(&[
        "-n",
        "made-by-kubectl",
        "create",
        "configmap",
        "c",
        "--from-literal=k=v",
    ])
    .await;
    k.ok(&["-n", "made-by-kubectl", "create", "serviceaccount", "sa"])
        .await;
    let store = k.store();
    let secret = store
        .get("v1", "Secret", Some("made-by-kubectl"), "s")
        .expect("the secret");
    assert_eq!(secret["data"]["key"], "dmFsdWU=");
    assert_eq!(secret["type"], "Opaque");
    let cm = store
        .get("v1", "ConfigMap", Some("made-by-kubectl"), "c")
        .expect("the config map");
    assert_eq!(cm["data"]["k"], "v");
    assert!(
        store
            .get("v1", "ServiceAccount", Some("made-by-kubectl"), "sa")
            .is_some()
    );
    let out = k
        .run(&[
            "-n",
            "made-by-kubectl",
            "create",
            "deployment",
            "d",
            "--image=x",
        ])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown format"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
