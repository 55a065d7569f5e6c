//! Real kubectl against the simulator. Skipped (with a notice) only when no `kubectl` is on
//! PATH. Each test isolates kubectl's discovery cache in its own temporary directory.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use control_room_sim::{self as sim, SimHandle, SimOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const VENDOR: &str = "kind-trustusbank-vendor";
const VENDOR_NS: &str = "trustusbank-bank-vendors";
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

fn kubectl_on_path() -> Option<PathBuf> {
    crate::tools::require("kubectl")
}

struct Kubectl {
    binary: PathBuf,
    dir: tempfile::TempDir,
    sim: SimHandle,
}

impl Kubectl {
    /// None (after saying so, see `tools`) when kubectl is not installed.
    async fn start() -> Option<Self> {
        let binary = kubectl_on_path()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = SimOptions {
            state_dir: dir.path().to_path_buf(),
            ..SimOptions::default()
        };
        let sim = sim::start(opts).await.expect("sim starts");
        Some(Self { binary, dir, sim })
    }

    fn command(&self, context: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--kubeconfig")
            .arg(self.sim.kubeconfig_path())
            .arg("--cache-dir")
            .arg(self.cache_dir())
            .arg("--context")
            .arg(context)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    async fn run(&self, context: &str, args: &[&str]) -> Output {
        tokio::time::timeout(COMMAND_TIMEOUT, self.command(context, args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .expect("kubectl runs")
    }

    /// Run and require success; returns stdout.
    async fn ok(&self, context: &str, args: &[&str]) -> String {
        let output = self.run(context, args).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn pod_names(&self, cluster: &str, namespace: Option<&str>) -> Vec<String> {
        let (pods, _) = self
            .sim
            .store(cluster)
            .unwrap()
            .list("v1", "Pod", namespace);
        pods.iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }
}

fn row<'a>(output: &'a str, first_column: &str) -> Option<&'a str> {
    output
        .lines()
        .find(|line| line.split_whitespace().next() == Some(first_column))
}

#[tokio::test]
async fn get_pods_all_namespaces_lists_the_world() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k.ok(VENDOR, &["get", "pods", "-A"]).await;
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAMESPACE") && header.contains("NAME"),
        "{out}"
    );
    let expected = k.pod_names("vendor", None);
    assert_eq!(out.lines().count(), expected.len() + 1, "{out}");
    for name in &expected {
        assert!(out.contains(name.as_str()), "{name} missing from:\n{out}");
    }
    // Another context reaches another cluster.
    let bank = k
        .ok(
            "kind-trustusbank-bank",
            &["get", "pods", "-n", "trustusbank-bank-agents"],
        )
        .await;
    assert!(bank.contains("support-bot-"), "{bank}");
    assert!(!bank.contains("currency-converter"), "{bank}");
}

#[tokio::test]
async fn get_deploy_shows_currency_converter_ready() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k.ok(VENDOR, &["get", "deploy", "-n", VENDOR_NS]).await;
    // The server prints Tables, as a real one does: READY and the rest come from it.
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{out}"
    );
    let line = row(&out, "currency-converter").unwrap_or_else(|| panic!("{out}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields[..4],
        ["currency-converter", "1/1", "1", "1"],
        "{line}"
    );
    // And the fields READY is computed from agree.
    let columns = "custom-columns=NAME:.metadata.name,READY:.status.readyReplicas,DESIRED:.spec.replicas,IMAGE:.spec.template.spec.containers[0].image";
    let out = k
        .ok(
            VENDOR,
            &["get", "deployments", "-n", VENDOR_NS, "-o", columns],
        )
        .await;
    let line = row(&out, "currency-converter").unwrap_or_else(|| panic!("{out}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields,
        ["currency-converter", "1", "1", "currency-converter:1.0.0"]
    );

    let json_out = k
        .ok(
            VENDOR,
            &[
                "get",
                "deploy",
                "currency-converter",
                "-n",
                VENDOR_NS,
                "-o",
                "json",
            ],
        )
        .await;
    let deploy: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(deploy["kind"], "Deployment");
    assert_eq!(deploy["status"]["availableReplicas"], 1);
}

#[tokio::test]
async fn get_authorization_policies_finds_none() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let output = k.run(VENDOR, &["get", "ap", "-A"]).await;
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No resources found"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn get_namespaces_with_labels() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k.ok(VENDOR, &["get", "ns", "--show-labels"]).await;
    let vendors = row(&out, VENDOR_NS).unwrap_or_else(|| panic!("{out}"));
    assert!(
        vendors.contains("istio.io/dataplane-mode=ambient"),
        "{vendors}"
    );
    assert!(
        vendors.contains("topology.istio.io/network=trustusbank-vendor"),
        "{vendors}"
    );
    let attacker = row(&out, "external-attacker").unwrap_or_else(|| panic!("{out}"));
    assert!(!attacker.contains("istio.io"), "{attacker}");
    assert!(row(&out, "istio-system").is_some());
}

#[tokio::test]
async fn selectors_and_errors_through_kubectl() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k
        .ok(
            VENDOR,
            &["get", "pods", "-A", "-l", "app=ztunnel", "--no-headers"],
        )
        .await;
    assert_eq!(out.lines().count(), 3, "{out}");
    let name = k
        .pod_names("vendor", Some(VENDOR_NS))
        .into_iter()
        .find(|n| n.starts_with("currency-converter-"))
        .unwrap();
    let selector = format!("metadata.name={name}");
    let out = k
        .ok(
            VENDOR,
            &[
                "get",
                "pods",
                "-A",
                "--field-selector",
                &selector,
                "--no-headers",
            ],
        )
        .await;
    assert_eq!(out.lines().count(), 1, "{out}");

    let output = k
        .run(VENDOR, &["get", "pod", "nope", "-n", VENDOR_NS])
        .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pods \"nope\" not found"), "{stderr}");

    let out = k.ok(VENDOR, &["api-resources", "--no-headers"]).await;
    assert!(
        row(&out, "authorizationpolicies").is_some_and(|l| l.contains(" ap ")),
        "{out}"
    );
    assert!(
        row(&out, "deployments").is_some_and(|l| l.contains(" deploy ")),
        "{out}"
    );

    // Discovery was cached where we said, not in ~/.kube.
    assert!(k.cache_dir().join("discovery").is_dir());
}

#[tokio::test]
async fn get_pods_watch_sees_store_changes() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let mut child = k
        .command(VENDOR, &["get", "pods", "-w", "-n", VENDOR_NS])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = async || -> String {
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!("no line from kubectl -w: {other:?}"),
        }
    };

    // Header and the current pods first.
    let initial = k.pod_names("vendor", Some(VENDOR_NS));
    let header = next_line().await;
    assert!(header.starts_with("NAME"), "{header}");
    for _ in 0..initial.len() {
        let line = next_line().await;
        assert!(
            initial.iter().any(|n| line.starts_with(n.as_str())),
            "{line}"
        );
    }

    // kubectl has listed and is now watching; give it a moment to open the watch, then change
    // a pod through the store and wait for kubectl to print it.
    let store = k.sim.store("vendor").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.active_watches() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "kubectl never opened its watch"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (pods, _) = store.list("v1", "Pod", Some(VENDOR_NS));
    let mut pod = pods
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "currency-converter")
        .unwrap();
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    pod["metadata"]["labels"]["rugpull"] = json!("true");
    store.update(pod).unwrap();
    let line = next_line().await;
    assert!(line.starts_with(&name), "{line}");

    // A brand-new pod shows up too.
    let mut fresh = store.get("v1", "Pod", Some(VENDOR_NS), &name).unwrap();
    fresh["metadata"] = json!({"name": "currency-converter-rugpull", "namespace": VENDOR_NS});
    store.create(fresh).unwrap();
    let line = next_line().await;
    assert!(line.starts_with("currency-converter-rugpull"), "{line}");

    child.kill().await.expect("kill kubectl");
    let _ = child.wait().await;
}
