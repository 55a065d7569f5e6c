//! `control-room doctor` against the simulator, every pitfall injected with the kubectl a
//! person types: a fresh world passes everything and exits 0; each break makes exactly its
//! own check fail (or warn) with evidence naming the object, and the fix hint, run as
//! printed (only `--kubeconfig`/`--cache-dir` added to each kubectl), makes it pass again.
//! A cluster whose API server accepts connections and never answers leaves its checks
//! unknown and the doctor still finishes within 10 s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use control_room_sim::{self as sim, SimHandle, SimOptions, SimTuning};
use serde_json::Value;

use crate::support::tools;

const EDGE: &str = "kind-trustusbank-edge";
const BANK: &str = "kind-trustusbank-bank";
const VENDOR: &str = "kind-trustusbank-vendor";
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A simulator, real kubectl against it, and the shipped binary's `doctor` on its kubeconfig.
struct Bench {
    _dir: tempfile::TempDir,
    sim: SimHandle,
    kubectl: PathBuf,
    cache: PathBuf,
    home: PathBuf,
    /// Where fixes run: files they write land here; `demo-scripts` is linked in.
    work: PathBuf,
}

type Row = (String, String, String);

impl Bench {
    async fn new() -> Option<Bench> {
        let kubectl = tools::require("kubectl")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = SimOptions {
            state_dir: dir.path().join("sim"),
            ..SimOptions::default()
        };
        let tuning = SimTuning {
            rollout_step: Duration::from_millis(60),
            ..SimTuning::default()
        };
        let sim = sim::start_with(opts, tuning).await.expect("sim starts");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        std::os::unix::fs::symlink(
            Path::new(REPO).join("demo-scripts"),
            work.join("demo-scripts"),
        )
        .expect("link demo-scripts");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        Some(Bench {
            cache: dir.path().join("kube-cache"),
            sim,
            kubectl,
            home,
            work,
            _dir: dir,
        })
    }

    fn kubeconfig(&self) -> PathBuf {
        self.sim.kubeconfig_path().to_path_buf()
    }

    /// The kubectl a test types, with this test's kubeconfig and discovery cache.
    fn kubectl_prefix(&self) -> String {
        format!(
            "{} --kubeconfig {} --cache-dir {}",
            self.kubectl.display(),
            self.kubeconfig().display(),
            self.cache.display()
        )
    }

    async fn sh(&self, line: &str) -> std::process::Output {
        let line = line.replace(
            "kubectl --context ",
            &format!("{} --context ", self.kubectl_prefix()),
        );
        let work = self.work.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(&line)
                .current_dir(work)
                .env("SOLO_ISTIO_LICENSE_KEY", "test-license-not-a-real-key")
                .output()
                .expect("sh runs")
        })
        .await
        .expect("joined")
    }

    /// Runs one line (kubectl commands as a person types them), which must succeed.
    async fn run(&self, line: &str) -> String {
        let out = self.sh(line).await;
        assert!(
            out.status.success(),
            "{line}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `control-room doctor --json` on `kubeconfig`: exit code, results, how long it took.
    async fn doctor_on(&self, kubeconfig: &Path) -> (Option<i32>, Vec<Value>, Duration) {
        let config = self.home.join("doctor.toml");
        std::fs::write(
            &config,
            format!("kubeconfig = {:?}\n", kubeconfig.display().to_string()),
        )
        .expect("config");
        let mut cmd = crate::support::command(&self.home);
        cmd.arg("--config")
            .arg(&config)
            .args(["--live", "doctor", "--json"]);
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("doctor runs"))
            .await
            .expect("joined");
        let took = started.elapsed();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor --json printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let rows = json.as_array().cloned().expect("an array");
        (out.status.code(), rows, took)
    }

    async fn doctor(&self) -> (Option<i32>, Vec<Value>) {
        let (code, rows, _) = self.doctor_on(&self.kubeconfig()).await;
        (code, rows)
    }

    /// Runs the doctor until `want` holds (a rollout or istiod catching up), at most ~15 s.
    async fn doctor_until(
        &self,
        what: &str,
        want: impl Fn(&[Value]) -> bool,
    ) -> (Option<i32>, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (code, rows) = self.doctor().await;
            if want(&rows) {
                return (code, rows);
            }
            if Instant::now() > deadline {
                panic!(
                    "doctor never showed {what}: {}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

fn not_passing(rows: &[Value]) -> BTreeSet<Row> {
    rows.iter()
        .filter(|r| r["result"] != "pass")
        .map(|r| {
            (
                r["id"].as_str().unwrap_or("").to_string(),
                r["cluster"].as_str().unwrap_or("").to_string(),
                r["result"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn row<'a>(rows: &'a [Value], id: &str, cluster: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["id"] == id && r["cluster"] == cluster)
        .unwrap_or_else(|| panic!("no {id} on {cluster}"))
}

fn set(rows: &[(&str, &str, &str)]) -> BTreeSet<Row> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// One pitfall: how to inject it, which checks it makes fail (or warn), and a string the
/// evidence of the first of them must name.
struct Pitfall {
    name: &'static str,
    inject: Vec<String>,
    expect: Vec<(&'static str, &'static str, &'static str)>,
    names: &'static str,
    exit: i32,
}

fn k(context: &str, args: &str) -> String {
    format!("kubectl --context {context} {args}")
}

async fn break_and_fix(bench: &Bench, p: Pitfall) {
    for line in &p.inject {
        bench.run(line).await;
    }
    let want = set(&p.expect);
    let (code, rows) = bench
        .doctor_until(p.name, |rows| not_passing(rows) == want)
        .await;
    assert_eq!(code, Some(p.exit), "{}: exit code", p.name);
    let (id, cluster, _) = p.expect[0];
    let first = row(&rows, id, cluster);
    let evidence = first["evidence"].to_string();
    assert!(
        evidence.contains(p.names),
        "{}: the evidence names {}: {evidence}",
        p.name,
        p.names
    );
    // Every fix of every check that does not pass, in order, as printed.
    let mut fixes: Vec<String> = Vec::new();
    for (id, cluster, _) in &p.expect {
        for f in row(&rows, id, cluster)["fix"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let f = f.as_str().unwrap_or("").to_string();
            if !fixes.contains(&f) {
                fixes.push(f);
            }
        }
    }
    assert!(!fixes.is_empty(), "{}: a fix is printed", p.name);
    for f in &fixes {
        bench.run(f).await;
    }
    let (code, _) = bench
        .doctor_until(&format!("{} fixed", p.name), |rows| {
            not_passing(rows).is_empty()
        })
        .await;
    assert_eq!(code, Some(0), "{}: fixed, doctor exits 0", p.name);
}

async fn fresh(bench: &Bench) {
    let (code, rows) = bench.doctor().await;
    assert_eq!(
        not_passing(&rows),
        BTreeSet::new(),
        "a fresh world passes every check"
    );
    assert_eq!(code, Some(0));
    let ids: BTreeSet<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    for id in control_room::msg::doctor::ORDER {
        assert!(ids.contains(id), "check {id} ran");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesh_pitfalls_are_found_and_their_fixes_work() {
    let Some(bench) = Bench::new().await else {
        return;
    };
    fresh(&bench).await;
    let worker = bench
        .run(&k(BANK, "get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath={.items[0].metadata.name}"))
        .await;
    let pitfalls = vec![
        Pitfall {
            name: "a missing remote secret",
            inject: vec![k(
                VENDOR,
                "-n istio-system delete secret istio-remote-secret-trustusbank-edge",
            )],
            expect: vec![("remote-secrets", "vendor", "fail")],
            names: "istio-remote-secret-trustusbank-edge",
            exit: 1,
        },
        Pitfall {
            name: "a remote secret for a cluster that is not configured",
            inject: vec![
                k(
                    BANK,
                    "-n istio-system create secret generic istio-remote-secret-trustusbank-old --from-literal=trustusbank-old=x",
                ),
                k(
                    BANK,
                    "-n istio-system label secret istio-remote-secret-trustusbank-old istio/multiCluster=true",
                ),
            ],
            expect: vec![("remote-secrets", "bank", "fail")],
            names: "istio-remote-secret-trustusbank-old",
            exit: 1,
        },
        Pitfall {
            name: "a namespace without its network",
            inject: vec![k(
                VENDOR,
                "label ns trustusbank-bank-vendors topology.istio.io/network-",
            )],
            expect: vec![("network-labels", "vendor", "fail")],
            names: "Namespace trustusbank-bank-vendors",
            exit: 1,
        },
        Pitfall {
            name: "the attacker in the mesh",
            inject: vec![k(
                VENDOR,
                "label ns external-attacker istio.io/dataplane-mode=ambient",
            )],
            expect: vec![("network-labels", "vendor", "fail")],
            names: "Namespace external-attacker",
            exit: 1,
        },
        Pitfall {
            name: "a per-cluster trust domain",
            inject: vec![k(
                VENDOR,
                r#"patch servicemeshcontroller managed-istio --type=merge -p '{"spec":{"trustDomain":"vendor.local"}}'"#,
            )],
            expect: vec![("trust-domain", "vendor", "fail")],
            names: "ServiceMeshController managed-istio",
            exit: 1,
        },
        Pitfall {
            name: "a zero-endpoint ServiceEntry",
            inject: vec![k(
                EDGE,
                "-n istio-system delete workloadentry autogen.trustusbank-bank.trustusbank-bank-agents.fraud-bot",
            )],
            expect: vec![("autogen-endpoints", "edge", "fail")],
            names: "autogen.trustusbank-bank-agents.fraud-bot",
            exit: 1,
        },
        Pitfall {
            name: "a Service not global",
            inject: vec![k(
                VENDOR,
                "-n trustusbank-bank-vendors label svc currency-converter istio.io/global-",
            )],
            expect: vec![("global-services", "vendor", "fail")],
            names: "Service trustusbank-bank-vendors/currency-converter",
            exit: 1,
        },
        Pitfall {
            // After a Docker restart: bank's worker has a new address; the peers still send
            // to the old one, so the chatbot's path to support-bot breaks too.
            name: "a node address shifted",
            inject: vec![k(
                BANK,
                &format!(
                    r#"patch node {worker} --subresource=status --type=merge -p '{{"status":{{"addresses":[{{"type":"InternalIP","address":"172.22.0.77"}},{{"type":"Hostname","address":"{worker}"}}]}}}}'"#
                ),
            )],
            // The collectors on edge and vendor send to bank's old address too (M11).
            expect: vec![
                ("eastwest-gateway", "bank", "fail"),
                ("collector-allowlist", "edge", "fail"),
                ("collector-allowlist", "vendor", "fail"),
                ("agent-card", "bank", "fail"),
            ],
            names: "Gateway istio-eastwest/peer-bank (edge)",
            exit: 1,
        },
    ];
    for p in pitfalls {
        break_and_fix(&bench, p).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_pitfalls_are_found_and_their_fixes_work() {
    let Some(bench) = Bench::new().await else {
        return;
    };
    fresh(&bench).await;
    let relay = bench
        .run(&k(
            VENDOR,
            "-n gloo-mesh get configmap gloo-telemetry-collector-config -o jsonpath={.data.relay}",
        ))
        .await;
    let without: String = relay
        .lines()
        .filter(|l| !l.contains("istio_tcp_connections_failed_total"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, relay, "the allow-list had the deny metric");
    let patch = serde_json::json!({"data": {"relay": without}}).to_string();
    let pitfalls = vec![
        Pitfall {
            name: "a cluster not registered",
            inject: vec![k(
                BANK,
                "-n gloo-mesh delete kubernetescluster trustusbank-vendor",
            )],
            expect: vec![("gloo-registration", "bank", "fail")],
            names: "KubernetesCluster gloo-mesh/trustusbank-vendor",
            exit: 1,
        },
        Pitfall {
            name: "the alert rules gone",
            inject: vec![k(
                BANK,
                "-n trustusbank-observability delete prometheusrule trustusbank-mesh-security",
            )],
            expect: vec![("alert-rules", "bank", "fail")],
            names: "IstioAuthZDeny",
            exit: 1,
        },
        Pitfall {
            name: "Prometheus down",
            inject: vec![k(
                BANK,
                "-n trustusbank-observability scale deploy/prometheus --replicas=0",
            )],
            expect: vec![("prometheus", "bank", "fail")],
            names: "Deployment trustusbank-observability/prometheus",
            exit: 1,
        },
        Pitfall {
            name: "the deny metric dropped by the collector",
            inject: vec![format!(
                "{} -n gloo-mesh patch configmap gloo-telemetry-collector-config --type=merge -p {}",
                k(VENDOR, ""),
                control_room_quote(&patch)
            )],
            expect: vec![("collector-allowlist", "vendor", "fail")],
            names: "ConfigMap gloo-mesh/gloo-telemetry-collector-config (vendor)",
            exit: 1,
        },
        Pitfall {
            name: "Alertmanager scaled to zero",
            inject: vec![k(
                BANK,
                "-n trustusbank-observability scale deploy/alertmanager --replicas=0",
            )],
            expect: vec![("alertmanager", "bank", "fail")],
            names: "Deployment trustusbank-observability/alertmanager",
            exit: 1,
        },
    ];
    for p in pitfalls {
        break_and_fix(&bench, p).await;
    }
}

fn control_room_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_demo_pitfalls_are_found_and_their_fixes_work() {
    let Some(bench) = Bench::new().await else {
        return;
    };
    fresh(&bench).await;
    let pitfalls = vec![
        Pitfall {
            // The chatbot's path to support-bot: its ServiceEntry on edge loses its endpoint.
            name: "support-bot unreachable from the chatbot",
            inject: vec![k(
                EDGE,
                "-n istio-system delete workloadentry autogen.trustusbank-bank.trustusbank-bank-agents.support-bot",
            )],
            expect: vec![
                ("autogen-endpoints", "edge", "fail"),
                ("agent-card", "bank", "fail"),
            ],
            names: "autogen.trustusbank-bank-agents.support-bot",
            exit: 1,
        },
        Pitfall {
            name: "an MCP server gone",
            inject: vec![k(
                BANK,
                "-n trustusbank-bank-agents delete remotemcpserver ticket-mcp",
            )],
            expect: vec![("agent-tools", "bank", "fail")],
            names: "RemoteMCPServer trustusbank-bank-agents/ticket-mcp",
            exit: 1,
        },
        Pitfall {
            name: "agentregistry down",
            inject: vec![k(
                BANK,
                "-n trustusbank-platform scale deploy/agentregistry --replicas=0",
            )],
            expect: vec![("agentregistry", "bank", "fail")],
            names: "Deployment trustusbank-platform/agentregistry",
            exit: 1,
        },
        Pitfall {
            name: "the demo mid-act",
            inject: vec![
                k(
                    VENDOR,
                    "-n trustusbank-bank-vendors set image deploy/currency-converter currency-converter=currency-converter:1.0.0-rugpull",
                ),
                format!(
                    "{} apply -f demo-scripts/manifests/vendor-authorization-policies.yaml",
                    k(VENDOR, "")
                ),
            ],
            expect: vec![("demo-start", "vendor", "warn")],
            names: "currency-converter:1.0.0-rugpull",
            exit: 0,
        },
        Pitfall {
            name: "the license Secret gone",
            inject: vec![k(
                VENDOR,
                "-n istio-system delete secret solo-istio-license",
            )],
            expect: vec![("license", "vendor", "fail")],
            names: "Secret istio-system/solo-istio-license (vendor)",
            exit: 1,
        },
    ];
    for p in pitfalls {
        break_and_fix(&bench, p).await;
    }
    // Presence only: the license's value never appears in what the doctor prints.
    let (_, rows) = bench.doctor().await;
    let printed = serde_json::to_string(&rows).expect("json");
    assert!(!printed.contains("test-license-not-a-real-key"));
    assert!(!printed.contains("sim-dummy-license"));
}

/// A TCP listener that accepts and never answers: an API server that hangs.
fn hanging_listener() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            match stream {
                Ok(s) => held.push(s),
                Err(_) => return,
            }
        }
    });
    (addr, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_cluster_leaves_its_checks_unknown_within_ten_seconds() {
    let Some(bench) = Bench::new().await else {
        return;
    };
    let (addr, _listener) = hanging_listener();
    // The sim's kubeconfig, with edge's server moved to the listener that never answers.
    let text = std::fs::read_to_string(bench.kubeconfig()).expect("kubeconfig");
    let mut doc: Value = serde_saphyr::from_str(&text).expect("yaml");
    let edge_cluster = doc["contexts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == EDGE))
        .and_then(|c| c["context"]["cluster"].as_str())
        .expect("edge's cluster")
        .to_string();
    for c in doc["clusters"].as_array_mut().expect("clusters") {
        if c["name"] == edge_cluster.as_str() {
            c["cluster"]["server"] = Value::String(format!("https://{addr}"));
        }
    }
    let hung = bench.home.join("hung-kubeconfig.json");
    std::fs::write(&hung, doc.to_string()).expect("write");
    let (code, rows, took) = bench.doctor_on(&hung).await;
    assert!(took < Duration::from_secs(10), "the doctor took {took:?}");
    assert_eq!(code, Some(1), "edge does not answer: contexts fails");
    assert_eq!(row(&rows, "contexts", "edge")["result"], "fail");
    for r in &rows {
        let involves_edge = r["clusters"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c == "edge"));
        let id = r["id"].as_str().unwrap_or("");
        if !involves_edge {
            assert_eq!(
                r["result"], "pass",
                "{id} on {} does not read edge: {r}",
                r["cluster"]
            );
        } else if id != "contexts" && id != "agent-card" {
            assert_eq!(
                r["result"], "unknown",
                "{id} on {} reads edge: {r}",
                r["cluster"]
            );
        } else {
            assert_ne!(r["result"], "pass", "{id} on {}: {r}", r["cluster"]);
        }
    }
    for id in [
        "remote-secrets",
        "network-labels",
        "trust-domain",
        "license",
    ] {
        assert_eq!(row(&rows, id, "edge")["result"], "unknown", "{id} on edge");
    }
}

/// The header badge in the real app: `doctor ✓` on a fresh world, `doctor 1 ✗` once the
/// license is deleted and `D` pressed, `doctor ✓` again after the fix — found by the
/// minute's re-run, without a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_badge_follows_a_break_and_its_fix() {
    use control_room::msg::Msg;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, DeleteParams, PostParams};

    let (dir, sim) = crate::support::start().await;
    let vendor = crate::support::client(&sim, "vendor").await;
    let config = crate::support::config_in(dir.path());
    let mut h = crate::support::Harness::on_sim(sim, &config).await;
    let first = |s: &str| s.lines().next().unwrap_or("").to_string();
    h.key('D').await;
    h.until(Duration::from_secs(20), "doctor ✓", |m, s| {
        m.doctor.done() && first(s).contains("doctor ✓")
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(vendor, "istio-system");
    let kept = secrets
        .get("solo-istio-license")
        .await
        .expect("the license");
    secrets
        .delete("solo-istio-license", &DeleteParams::default())
        .await
        .expect("deleted");
    h.key('D').await;
    let screen = h
        .until(Duration::from_secs(20), "doctor 1 ✗", |m, s| {
            m.doctor.done() && first(s).contains("doctor 1 ✗")
        })
        .await;
    assert!(
        screen.contains("license"),
        "the doctor view lists it:\n{screen}"
    );
    let mut again = Secret {
        data: kept.data.clone(),
        type_: kept.type_.clone(),
        ..Secret::default()
    };
    again.metadata.name = Some("solo-istio-license".into());
    secrets
        .create(&PostParams::default(), &again)
        .await
        .expect("restored");
    // A minute later the doctor runs by itself.
    let later = control_room::sources::clock::now() + chrono::Duration::seconds(61);
    h.app.apply_now(Msg::Tick(later));
    assert!(h.app.model.doctor.running, "the minute's re-run started");
    h.until(Duration::from_secs(20), "doctor ✓ again", |m, s| {
        m.doctor.done() && first(s).contains("doctor ✓")
    })
    .await;
    h.shutdown().await;
}

/// A kind whose CRD is not installed cannot be read: its check is `unknown` (not `fail`,
/// not `pass`), says which kind, and the doctor still exits 0 for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_not_served_leaves_its_check_unknown() {
    let Some(bench) = Bench::new().await else {
        return;
    };
    bench
        .run(&k(BANK, "delete crd remotemcpservers.kagent.dev"))
        .await;
    let (code, rows) = bench
        .doctor_until("agent-tools unknown", |rows| {
            not_passing(rows) == set(&[("agent-tools", "bank", "unknown")])
        })
        .await;
    assert_eq!(code, Some(0), "unknown alone does not fail the pre-flight");
    let evidence = row(&rows, "agent-tools", "bank")["evidence"].to_string();
    assert!(
        evidence.contains("RemoteMCPServer") && evidence.contains("not served"),
        "{evidence}"
    );
}

/// An API server whose RBAC refuses every read but `/version` (a context whose user has no
/// rights): `contexts` passes, that cluster's other checks are `unknown` saying forbidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_forbids_reads_leaves_its_checks_unknown() {
    use axum::http::{StatusCode, Uri};
    let Some(bench) = Bench::new().await else {
        return;
    };
    async fn answer(uri: Uri) -> (StatusCode, [(&'static str, &'static str); 1], String) {
        let json = [("content-type", "application/json")];
        if uri.path() == "/version" {
            return (
                StatusCode::OK,
                json,
                r#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#.into(),
            );
        }
        let status = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{} is forbidden: User \"demo\" cannot list resource", uri.path()),
            "reason": "Forbidden", "code": 403,
        });
        (StatusCode::FORBIDDEN, json, status.to_string())
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(answer)).await;
    });
    let text = std::fs::read_to_string(bench.kubeconfig()).expect("kubeconfig");
    let mut doc: Value = serde_saphyr::from_str(&text).expect("yaml");
    let vendor_cluster = doc["contexts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == VENDOR))
        .and_then(|c| c["context"]["cluster"].as_str())
        .expect("vendor's cluster")
        .to_string();
    for c in doc["clusters"].as_array_mut().expect("clusters") {
        if c["name"] == vendor_cluster.as_str() {
            c["cluster"]["server"] = Value::String(format!("http://{addr}"));
        }
    }
    let forbidden = bench.home.join("forbidden-kubeconfig.json");
    std::fs::write(&forbidden, doc.to_string()).expect("write");
    let (_, rows, took) = bench.doctor_on(&forbidden).await;
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(row(&rows, "contexts", "vendor")["result"], "pass");
    for id in [
        "remote-secrets",
        "network-labels",
        "trust-domain",
        "license",
        "demo-start",
    ] {
        let r = row(&rows, id, "vendor");
        assert_eq!(r["result"], "unknown", "{id} on vendor: {r}");
        assert!(r["evidence"].to_string().contains("forbidden"), "{id}: {r}");
    }
    server.abort();
}
