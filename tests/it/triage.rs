//! Triage through the real app on the simulator, the cluster broken and healed with the
//! kubectl a user types: `!` lists it, `Enter` describes it as `kubectl describe` does,
//! `control-room problems` agrees and exits 1, restoring it empties the list; `/` narrows
//! every pane; `Ctrl+D` deletes only after the question, and never when read-only.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use control_room::app::Parts;
use control_room::app::world::World;
use control_room::model::View;
use control_room::model::rows::RowKey;
use control_room_sim::{self as sim, EXIT_AFTER, SimHandle, SimOptions, SimTuning};
use crossterm::event::{KeyCode, KeyModifiers};

use crate::support::{Harness, SIZE, all_synced, config_in, pod_of, tools};

const BANK: &str = "kind-trustusbank-bank";
const MCP_NS: &str = "trustusbank-bank-mcp";
const BROKEN_IMAGE: &str = "account-mcp:does-not-exist";
const GOOD_IMAGE: &str = "account-mcp:1.0.0";

/// Back-offs short enough that ErrImagePull turns into ImagePullBackOff, and a crash loop
/// restarts, within a test's patience.
async fn start_sim(dir: &Path) -> SimHandle {
    let opts = SimOptions {
        state_dir: dir.join("sim"),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(80),
        kubelet_backoff: Duration::from_millis(500),
        ..SimTuning::default()
    };
    sim::start_with(opts, tuning).await.expect("sim starts")
}

/// Real kubectl against the simulator, with a discovery cache of this test's own.
struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(sim: &SimHandle, dir: &Path) -> Option<Kubectl> {
        Some(Kubectl {
            binary: tools::require("kubectl")?,
            kubeconfig: sim.kubeconfig_path().to_path_buf(),
            cache: dir.join("kube-cache"),
        })
    }

    async fn run(&self, context: &str, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(context)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        cmd.output().await.expect("kubectl runs")
    }

    async fn ok(&self, context: &str, args: &[&str]) -> String {
        let out = self.run(context, args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn set_image(&self, image: &str) {
        self.ok(
            BANK,
            &[
                "-n",
                MCP_NS,
                "set",
                "image",
                "deploy/account-mcp",
                &format!("account-mcp={image}"),
            ],
        )
        .await;
    }
}

/// `control-room problems --json` on the simulator's kubeconfig, as a script runs it.
async fn problems_command(home: &Path, kubeconfig: &Path) -> (Option<i32>, serde_json::Value) {
    let config = home.join("problems.toml");
    std::fs::write(
        &config,
        format!("kubeconfig = {:?}\n", kubeconfig.display().to_string()),
    )
    .expect("config");
    let mut cmd = crate::support::command(home);
    cmd.arg("--config")
        .arg(&config)
        .args(["--live", "problems", "--json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("problems runs"))
        .await
        .expect("joined");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "problems --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_image_on_bank_is_a_problem_until_it_is_restored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let Some(kubectl) = Kubectl::new(&sim, dir.path()) else {
        sim.shutdown().await;
        return;
    };
    let kubeconfig = sim.kubeconfig_path().to_path_buf();
    let mut h = Harness::on_sim(sim, &config_in(dir.path())).await;
    h.until(Duration::from_secs(20), "every cluster listed", |m, _| {
        all_synced(m) && m.clusters.iter().all(|c| c.fully_synced())
    })
    .await;
    assert_eq!(h.app.model.current_problems().count(), 0, "a clean world");

    kubectl.set_image(BROKEN_IMAGE).await;
    h.key('!').await;
    let screen = h
        .until(
            Duration::from_secs(30),
            "ImagePullBackOff on bank in `!`",
            |m, s| m.view == View::Problems && s.contains("ImagePullBackOff"),
        )
        .await;
    let row = screen
        .lines()
        .find(|l| l.contains("ImagePullBackOff"))
        .expect("the row");
    assert!(
        row.contains("bank") && row.contains("pod/account-mcp-"),
        "{row}"
    );
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|l| l.contains("! 1 problem")),
        "the header counts it:\n{screen}"
    );

    // Enter: its detail, the Waiting reason from the pod itself.
    let broken = h
        .app
        .model
        .current_problems()
        .next()
        .map(|p| p.key.name.clone())
        .expect("a problem");
    h.press(KeyCode::Enter, KeyModifiers::NONE).await;
    let screen = h
        .until(
            Duration::from_secs(10),
            "the detail with the Waiting reason",
            |m, s| {
                m.view == View::Detail
                    && s.contains("State:            Waiting")
                    && s.contains("Reason:         ImagePullBackOff")
            },
        )
        .await;
    assert!(
        screen.contains(&format!("Name:           {broken}")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Image:            {BROKEN_IMAGE}")),
        "{screen}"
    );
    assert_eq!(
        h.app.model.clusters[1].cursor,
        Some(RowKey::Pod((MCP_NS.into(), broken.clone()))),
        "the pane's selection is on it"
    );

    // The headless command sees the same, and says so with its status.
    let (code, json) = problems_command(dir.path(), &kubeconfig).await;
    assert_eq!(code, Some(1), "{json}");
    let listed = json["problems"].as_array().expect("problems");
    assert!(
        listed.iter().any(|p| p["cluster"] == "bank"
            && p["what"] == "ImagePullBackOff"
            && p["object"] == format!("pod/{broken}").as_str()),
        "{json}"
    );

    // Restored: the rollout completes, the broken pod goes, the list is empty.
    h.press(KeyCode::Esc, KeyModifiers::NONE).await;
    kubectl.set_image(GOOD_IMAGE).await;
    let screen = h
        .until(Duration::from_secs(60), "no problems", |m, s| {
            m.view == View::Problems
                && m.current_problems().count() == 0
                && s.contains("no problems")
        })
        .await;
    assert!(screen.contains("nothing to look at"), "{screen}");
    let (code, json) = problems_command(dir.path(), &kubeconfig).await;
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["problems"], serde_json::json!([]));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_filter_narrows_every_pane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let world = World::from_sim(sim).expect("world");
    let parts = Parts {
        clusters: true,
        clock: true,
        ..Parts::none()
    };
    let mut h = Harness::start(world, &config_in(dir.path()), parts, SIZE).await;
    h.until(Duration::from_secs(20), "every cluster listed", |m, _| {
        all_synced(m)
    })
    .await;
    h.key('/').await;
    for c in "currency".chars() {
        h.key(c).await;
    }
    let screen = h
        .until(Duration::from_secs(5), "the filter applied", |m, _| {
            m.active_filter() == Some("currency")
        })
        .await;
    let m = &h.app.model;
    let shown: Vec<(&str, usize)> = m
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.pods_shown()))
        .collect();
    assert_eq!(shown, [("edge", 0), ("bank", 0), ("vendor", 1)], "{screen}");
    for c in &m.clusters[..2] {
        assert!(
            screen.contains(&format!("/ 0 of {} pods", c.pods_total())),
            "{} says 0 of …:\n{screen}",
            c.name
        );
    }
    // The pinned deployment's row, and its pod (a narrow pane cuts the pod's name).
    assert!(screen.contains("deploy/currency-converter"), "{screen}");
    assert!(screen.matches("currency-co").count() >= 2, "{screen}");
    assert!(screen.contains("/ 1 of "), "{screen}");
    h.press(KeyCode::Esc, KeyModifiers::NONE).await;
    let screen = h
        .until(Duration::from_secs(5), "the filter cleared", |m, _| {
            m.active_filter().is_none()
        })
        .await;
    assert!(screen.contains("ready"), "{screen}");
    h.shutdown().await;
}

/// The value of the first `key:` line, in `kubectl describe`'s output or on the screen (its
/// pane borders trimmed).
fn described(text: &str, key: &str) -> Option<String> {
    let edge = |c: char| c == '│' || c.is_whitespace();
    text.lines().find_map(|l| {
        let rest = l.trim_matches(edge).strip_prefix(&format!("{key}:"))?;
        Some(rest.trim_matches(edge).to_string())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_view_says_what_kubectl_describe_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let Some(kubectl) = Kubectl::new(&sim, dir.path()) else {
        sim.shutdown().await;
        return;
    };
    // A crash-looping container: restarts, a last state, a waiting reason.
    let patch =
        serde_json::json!({"spec": {"template": {"metadata": {"annotations": {EXIT_AFTER: "1"}}}}});
    kubectl
        .ok(
            BANK,
            &[
                "-n",
                MCP_NS,
                "patch",
                "deploy/account-mcp",
                "-p",
                &patch.to_string(),
            ],
        )
        .await;
    let mut h = Harness::on_sim(sim, &config_in(dir.path())).await;
    h.until(Duration::from_secs(20), "every cluster listed", |m, _| {
        all_synced(m)
    })
    .await;
    h.until(Duration::from_secs(60), "the new pod restarting", |m, _| {
        m.clusters[1]
            .pods_in(MCP_NS)
            .any(|p| p.name.starts_with("account-mcp-") && p.restarts >= 2)
    })
    .await;
    let name = pod_of(h.sim(), "bank", MCP_NS, "account-mcp");
    h.key('2').await;
    let page = h.app.model.page_rows;
    assert!(h.app.model.clusters[1].select(&RowKey::Pod((MCP_NS.into(), name.clone())), page));
    h.press(KeyCode::Enter, KeyModifiers::NONE).await;

    // The state moves between Running and CrashLoopBackOff: compare one reading of each
    // taken in the same moment, until they agree on every field.
    let fields = [
        "Namespace",
        "Status",
        "IP",
        "QoS Class",
        "Image",
        "State",
        "Reason",
        "Last State",
        "Exit Code",
        "Ready",
        "Restart Count",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let screen = h
            .until(Duration::from_secs(10), "the detail", |m, s| {
                m.view == View::Detail && s.contains("Restart Count:")
            })
            .await;
        let describe = kubectl
            .ok(BANK, &["-n", MCP_NS, "describe", "pod", &name])
            .await;
        let screen_again = h.draw();
        let mut mismatches = Vec::new();
        for key in fields {
            let want = described(&describe, key);
            let got = described(&screen, key);
            if want != got || described(&screen_again, key) != got {
                mismatches.push(format!("{key}: describe {want:?}, screen {got:?}"));
            }
        }
        // Node is `name/hostIP` in describe; the owner chain begins with describe's.
        let node =
            described(&describe, "Node").and_then(|n| n.split('/').next().map(str::to_string));
        if node != described(&screen, "Node") {
            mismatches.push(format!(
                "Node: {node:?} vs {:?}",
                described(&screen, "Node")
            ));
        }
        let owner = described(&describe, "Controlled By").unwrap_or_default();
        if !described(&screen, "Controlled By")
            .is_some_and(|o| o.starts_with(&owner) && o.contains("→ Deployment/account-mcp"))
        {
            mismatches.push(format!(
                "Controlled By: {owner:?} vs {:?}",
                described(&screen, "Controlled By")
            ));
        }
        for label in ["app=account-mcp", "pod-template-hash="] {
            if !(describe.contains(label) && screen.contains(label)) {
                mismatches.push(format!("label {label}"));
            }
        }
        if mismatches.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never agreed: {mismatches:#?}\n--- describe\n{describe}\n--- screen\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The events kubectl describe lists are the view's, newest first there.
    let describe = kubectl
        .ok(BANK, &["-n", MCP_NS, "describe", "pod", &name])
        .await;
    for reason in ["Scheduled", "BackOff"] {
        assert!(describe.contains(reason), "{describe}");
    }
    h.key('e').await;
    h.until(Duration::from_secs(10), "the events", |m, s| {
        m.view == View::Events && s.contains("Scheduled") && s.contains("BackOff")
    })
    .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_d_deletes_the_selected_pod_and_read_only_refuses() {
    for read_only in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = start_sim(dir.path()).await;
        let mut config = config_in(dir.path());
        config.ui.read_only = read_only;
        let mut h = Harness::on_sim(sim, &config).await;
        h.until(Duration::from_secs(20), "every cluster listed", |m, _| {
            all_synced(m)
        })
        .await;
        let name = pod_of(h.sim(), "bank", MCP_NS, "account-mcp");
        h.key('2').await;
        let page = h.app.model.page_rows;
        assert!(h.app.model.clusters[1].select(&RowKey::Pod((MCP_NS.into(), name.clone())), page));
        h.ctrl('d').await;
        if read_only {
            let screen = h
                .until(Duration::from_secs(5), "the refusal", |_, s| {
                    s.contains("read-only")
                })
                .await;
            assert!(h.app.model.confirming_delete.is_none(), "{screen}");
            h.key('y').await;
            h.settle(Duration::from_millis(500)).await;
            assert_eq!(
                pod_of(h.sim(), "bank", MCP_NS, "account-mcp"),
                name,
                "nothing deleted"
            );
            h.shutdown().await;
            continue;
        }
        let screen = h
            .until(Duration::from_secs(5), "the question", |_, s| {
                s.contains("Delete pod")
            })
            .await;
        assert!(
            screen.contains(&name) && screen.contains("cluster bank") && screen.contains(BANK),
            "{screen}"
        );
        h.key('y').await;
        h.until(Duration::from_secs(20), "the pod replaced", |m, _| {
            let pods: Vec<_> = m.clusters[1]
                .pods_in(MCP_NS)
                .filter(|p| p.name.starts_with("account-mcp-"))
                .collect();
            !pods.iter().any(|p| p.name == name) && pods.iter().any(|p| p.is_ready())
        })
        .await;
        h.shutdown().await;
    }
}

/// The same triage in the shipped binary on a terminal, against `control-room sim` running
/// beside it — as an operator would rehearse it: break the image with kubectl, `!`, Enter.
#[test]
fn triage_in_the_shipped_binary() {
    let Some(kubectl) = tools::require("kubectl") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let state = home.path().join("crsim");
    let (_sim, _) = crate::cli::start_sim(home.path(), &state);
    let config = state.join("control-room.toml");
    let mut tui = crate::support::pty::Tui::start(
        home.path(),
        &["--config", &config.display().to_string()],
        &[],
        (120, 36),
    );
    tui.until(Duration::from_secs(30), "every pane listed", |s| {
        s.contains("vendor") && s.matches(" ready").count() >= 3 && s.contains("no problems")
    });
    let out = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(state.join("kubeconfig"))
        .args(["--context", BANK, "--cache-dir"])
        .arg(home.path().join("kube-cache"))
        .args(["-n", MCP_NS, "set", "image", "deploy/account-mcp"])
        .arg(format!("account-mcp={BROKEN_IMAGE}"))
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tui.keys("!");
    let screen = tui.until(Duration::from_secs(60), "the pull failure listed", |s| {
        s.contains("problems ·") && (s.contains("ImagePullBackOff") || s.contains("ErrImagePull"))
    });
    assert!(screen.contains("bank    pod/account-mcp-"), "{screen}");
    tui.keys("\r");
    let screen = tui.until(Duration::from_secs(15), "the detail", |s| {
        s.contains("State:            Waiting")
            && s.contains(&format!("Image:            {BROKEN_IMAGE}"))
    });
    assert!(
        screen.contains("Reason:         ImagePullBackOff")
            || screen.contains("Reason:         ErrImagePull"),
        "{screen}"
    );
    tui.keys("\x1b");
    tui.until(Duration::from_secs(5), "back to the list", |s| {
        s.contains("problems ·")
    });
    tui.keys("q");
    tui.keys("q");
    assert_eq!(tui.wait(Duration::from_secs(15)), 0);
}
