//! The log view and `control-room logs`, through the real app on the simulator: `l` on the
//! mock-attacker after act 2 shows the exfil block; `p` on a crash-looping pod shows the
//! last lines of its previous run; a cut connection resumes without repeating or losing a
//! line; `logs -l app=ztunnel` prints every cluster's lines, prefixed (coloured in a
//! terminal only); `logs -l … -f` follows pods that come and go; snapshots of the view.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use control_room::app::update;
use control_room::config::{Role, Theme};
use control_room::model::rows::RowKey;
use control_room::model::{Model, PodPhase, PodSummary, ResourceMsg, View, WorldMode};
use control_room::msg::logs::{ContainerName, LogMsg, LogNews, StreamInfo};
use control_room::msg::{ClusterMsg, Msg};
use control_room::sources::logs::stream::log_line;
use control_room::ui;
use control_room_sim::{EXIT_AFTER, ExfilEvent, SimHandle, SimOptions, SimTuning};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use serde_json::json;

use crate::support::{self, Harness, all_synced, command, pty::Tui, style_at};

const ATTACKER_NS: &str = "external-attacker";

/// The log view's text: every line of the ring the model holds, for exact counts.
fn ring_texts(m: &Model) -> Vec<String> {
    m.logs
        .as_ref()
        .map(|l| l.ring.from(0).map(|(_, l)| l.text.clone()).collect())
        .unwrap_or_default()
}

/// Filters the panes to `pod`, focuses `cluster` and moves the cursor onto the pod's row,
/// with keys as a person would.
async fn select_pod(h: &mut Harness, cluster: usize, pod: &str) {
    h.key('/').await;
    for c in pod.chars() {
        h.key(c).await;
    }
    h.press(KeyCode::Enter, KeyModifiers::NONE).await;
    h.key(char::from(b'1' + cluster as u8)).await;
    for _ in 0..10 {
        h.key('j').await;
        h.settle(Duration::from_millis(60)).await;
        let on = h.app.model.clusters[cluster]
            .cursor_row()
            .is_some_and(|(k, _)| matches!(k, RowKey::Pod((_, ref n)) if n == pod));
        if on {
            return;
        }
    }
    panic!("the cursor never reached pod {pod}:\n{}", h.draw());
}

/// The shipped app on a fresh simulator, every cluster listed.
async fn app_on(sim: SimHandle, work: &std::path::Path) -> Harness {
    let mut h = Harness::on_sim(sim, &support::config_in(work)).await;
    h.until(Duration::from_secs(20), "panes populated", |m, _| {
        all_synced(m)
    })
    .await;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l_on_the_attacker_after_act_2_shows_the_exfil_block() {
    let (work, sim) = support::start().await;
    let mut h = app_on(sim, work.path()).await;
    // Act 2 as its script does it (`kubectl set image`), through the API: the rugpulled
    // converter phones home as soon as its pod is Ready.
    let vendor = support::client(h.sim(), "vendor").await;
    let deployments: Api<Deployment> = Api::namespaced(vendor, "trustusbank-bank-vendors");
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "currency-converter", "image": "currency-converter:1.0.0-rugpull"}
    ]}}}});
    deployments
        .patch(
            "currency-converter",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("set image");
    h.until(Duration::from_secs(60), "act 2", |m, _| {
        m.act.reading.state == control_room::model::ActState::Compromised
    })
    .await;
    // The customer's prompt, as the presenter sends it: the fooled agent hands the profile
    // to the rugpulled tool, which sends it to the attacker.
    h.key('i').await;
    h.ctrl('p').await;
    h.press(KeyCode::Enter, KeyModifiers::NONE).await;
    h.press(KeyCode::Esc, KeyModifiers::NONE).await;
    h.until(Duration::from_secs(60), "exfil counted", |m, _| {
        m.exfil.total() >= 1
    })
    .await;
    let pod = support::pod_of(h.sim(), "vendor", ATTACKER_NS, "mock-attacker");
    select_pod(&mut h, 2, &pod).await;
    h.key('l').await;
    let screen = h
        .until(Duration::from_secs(20), "the exfil block", |m, s| {
            m.view == View::Logs && s.contains("EXFIL RECEIVED") && s.contains("stolen_data")
        })
        .await;
    assert!(screen.contains(&format!("logs {pod}")), "{screen}");
    assert!(screen.contains("● following"), "{screen}");
    assert!(
        screen.contains("\"stolen_at_tool\""),
        "the record follows:\n{screen}"
    );

    // `y`: the kubectl command for what is on screen.
    h.key('y').await;
    h.settle(Duration::from_millis(100)).await;
    let copied = h.clipboard.lock().unwrap().last().cloned();
    assert_eq!(
        copied,
        Some(format!(
            "kubectl --context kind-trustusbank-vendor -n external-attacker logs {pod} -c mock-attacker -f"
        ))
    );
    // `s`: the buffer in a private file, its path said.
    h.key('s').await;
    let screen = h
        .until(Duration::from_secs(10), "saved", |m, _| {
            m.logs.as_ref().and_then(|l| l.saved.as_ref()).is_some()
        })
        .await;
    let saved = h
        .app
        .model
        .logs
        .as_ref()
        .and_then(|l| l.saved.clone())
        .unwrap();
    assert!(
        screen.contains("saved "),
        "the notice names the file:\n{screen}"
    );
    assert!(saved.starts_with(&h.saved_logs.path().display().to_string()));
    assert_eq!(support::mode(std::path::Path::new(&saved)), 0o600);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("EXFIL RECEIVED"), "{text}");
    assert!(
        text.lines().all(|l| l.starts_with("20")),
        "stamped lines:\n{text}"
    );

    // Esc: back to the panes, the cursor still on the attacker.
    h.press(KeyCode::Esc, KeyModifiers::NONE).await;
    h.until(Duration::from_secs(5), "back", |m, _| m.view == View::Panes)
        .await;
    assert!(h.app.model.logs.is_none());
    let at = h.app.model.clusters[2].cursor_row().map(|(k, _)| k);
    assert_eq!(at, Some(RowKey::Pod((ATTACKER_NS.into(), pod))));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_replaces_the_pod_says_so_and_o_follows_the_new_one() {
    let (work, sim) = support::start().await;
    let mut h = app_on(sim, work.path()).await;
    let ns = "trustusbank-bank-vendors";
    let old = support::pod_of(h.sim(), "vendor", ns, "currency-converter");
    select_pod(&mut h, 2, &old).await;
    h.key('l').await;
    h.until(Duration::from_secs(20), "the converter's log", |_, s| {
        s.contains("starting container currency-converter")
    })
    .await;
    let vendor = support::client(h.sim(), "vendor").await;
    let deployments: Api<Deployment> = Api::namespaced(vendor, ns);
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "currency-converter", "image": "currency-converter:1.0.0-rugpull"}
    ]}}}});
    deployments
        .patch(
            "currency-converter",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("set image");
    let screen = h
        .until(
            Duration::from_secs(30),
            "the replacement offered",
            |m, _| {
                m.logs
                    .as_ref()
                    .and_then(|l| l.replaced_by.as_ref())
                    .is_some()
            },
        )
        .await;
    assert!(
        screen.contains("a rollout replaced this pod — o follows currency-converter-"),
        "{screen}"
    );
    let new = h
        .app
        .model
        .logs
        .as_ref()
        .and_then(|l| l.replaced_by.clone())
        .unwrap();
    assert_ne!(new, old);
    h.key('o').await;
    let screen = h
        .until(Duration::from_secs(20), "the new pod's log", |m, s| {
            m.logs.as_ref().and_then(|l| l.pod.as_deref()) == Some(new.as_str())
                && s.contains("image currency-converter:1.0.0-rugpull")
        })
        .await;
    assert!(screen.contains(&format!("logs {new}")), "{screen}");
    assert!(screen.contains("● following"), "{screen}");
    h.shutdown().await;
}

/// A simulator whose kubelet backs off crashes in a fifth of a second.
async fn fast_kubelet() -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().join("sim"),
        ..SimOptions::default()
    };
    let tuning = SimTuning {
        rollout_step: Duration::from_millis(80),
        kubelet_backoff: Duration::from_millis(200),
        ..SimTuning::default()
    };
    let sim = control_room_sim::start_with(opts, tuning)
        .await
        .expect("sim starts");
    (dir, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_on_a_crash_looping_pod_shows_its_previous_run() {
    let (work, sim) = fast_kubelet().await;
    let mut h = app_on(sim, work.path()).await;
    let vendor = support::client(h.sim(), "vendor").await;
    let deployments: Api<Deployment> = Api::namespaced(vendor, ATTACKER_NS);
    let crasher: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "crasher"},
        "spec": {"selector": {"matchLabels": {"app": "crasher"}},
                 "template": {"metadata": {"labels": {"app": "crasher"},
                                           "annotations": {EXIT_AFTER: "0.3"}},
                              "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &crasher)
        .await
        .expect("create");
    h.until(Duration::from_secs(30), "the crash loop", |m, _| {
        m.clusters[2]
            .pods
            .values()
            .any(|p| p.name.starts_with("crasher-") && p.restarts >= 2)
    })
    .await;
    let pod = support::pod_of(h.sim(), "vendor", ATTACKER_NS, "crasher");
    select_pod(&mut h, 2, &pod).await;
    h.key('l').await;
    let screen = h
        .until(Duration::from_secs(20), "the current run", |m, s| {
            m.view == View::Logs && s.contains("starting container app")
        })
        .await;
    assert!(screen.contains(&format!("logs {pod}")), "{screen}");
    h.key('p').await;
    let screen = h
        .until(Duration::from_secs(20), "the previous run", |m, s| {
            m.logs.as_ref().is_some_and(|l| l.previous()) && s.contains("exiting with status 1")
        })
        .await;
    assert!(screen.contains("previous run"), "{screen}");
    let texts = ring_texts(&h.app.model);
    assert_eq!(
        texts.last().map(String::as_str),
        Some("exiting with status 1"),
        "its last line: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("starting container app"))
    );
    // `p` again: the current run, followed.
    h.key('p').await;
    h.until(Duration::from_secs(20), "the current run again", |m, _| {
        m.logs
            .as_ref()
            .is_some_and(|l| !l.previous() && l.request.window().follow)
    })
    .await;
    h.shutdown().await;
}

fn steal(sim: &SimHandle, n: u32) {
    sim.exfil().record(ExfilEvent {
        at: Utc::now(),
        source: "10.30.1.7".into(),
        tool: "acme-fx/currency-converter".into(),
        data: json!({"name": format!("Customer {n}")}),
    });
}

/// Until the view holds `n` exfil lines, then a moment more: exactly `n`, none twice.
async fn exactly(h: &mut Harness, n: usize, what: &str) {
    h.until(Duration::from_secs(30), what, |m, _| {
        ring_texts(m)
            .iter()
            .filter(|t| t.contains("EXFIL RECEIVED"))
            .count()
            >= n
    })
    .await;
    h.settle(Duration::from_millis(1500)).await;
    let texts = ring_texts(&h.app.model);
    let events = texts
        .iter()
        .filter(|t| t.contains("EXFIL RECEIVED"))
        .count();
    assert_eq!(events, n, "{what}: every line once:\n{texts:#?}");
    let mut seen = std::collections::HashSet::new();
    for t in texts.iter().filter(|t| t.contains("\"name\"")) {
        assert!(seen.insert(t.clone()), "{what}: {t} twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_resumes_from_the_last_timestamp() {
    let (work, sim) = support::start().await;
    let mut h = app_on(sim, work.path()).await;
    let pod = support::pod_of(h.sim(), "vendor", ATTACKER_NS, "mock-attacker");
    select_pod(&mut h, 2, &pod).await;
    h.key('l').await;
    h.until(Duration::from_secs(20), "the log", |_, s| {
        s.contains("mock-attacker listening")
    })
    .await;
    // A burst: lines of one write share their stamp, as a real runtime's may.
    for n in 0..3 {
        steal(h.sim(), n);
    }
    exactly(&mut h, 3, "three events read").await;
    h.sim().stop_cluster("vendor").await.expect("stop");
    let screen = h
        .until(Duration::from_secs(20), "the cut said", |_, s| {
            s.contains("reading failed, retrying from the last line read")
        })
        .await;
    assert!(
        screen.contains("EXFIL RECEIVED"),
        "the lines read stay:\n{screen}"
    );
    // Written while nobody could read: picked up on the resumed read.
    for n in 3..5 {
        steal(h.sim(), n);
    }
    h.sim().restart_cluster("vendor").await.expect("restart");
    exactly(&mut h, 5, "resumed: the two new ones, nothing twice").await;
    let screen = h.draw();
    assert!(!screen.contains("reading failed"), "{screen}");
    assert!(screen.contains("● following"), "{screen}");
    h.shutdown().await;
}

#[test]
fn logs_l_prints_every_clusters_lines_prefixed() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = command(home.path())
        .args(["--sim", "logs", "-l", "app=ztunnel", "--tail", "3"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for cluster in ["edge", "bank", "vendor"] {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{cluster}/ztunnel-")))
            .collect();
        assert!(lines.len() >= 3, "{cluster}: {stdout}");
        assert!(
            lines.iter().all(|l| l.contains(" INFO ")),
            "{cluster}: ztunnel's lines after the prefix: {lines:?}"
        );
    }
    assert!(
        stdout.lines().all(|l| ["edge/", "bank/", "vendor/"]
            .iter()
            .any(|p| l.starts_with(p))),
        "every line prefixed:\n{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "no colour into a pipe:\n{stdout}"
    );

    // Nothing matched, a pod that is not there, a target that is not one.
    let none = command(home.path())
        .args(["--sim", "logs", "-l", "app=nothing-like-this"])
        .output()
        .expect("runs");
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no pod matches"));
    let missing = command(home.path())
        .args(["--sim", "logs", "vendor/external-attacker/no-such-pod"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    for bad in [
        vec!["logs", "moon/ns/pod"],
        vec!["logs", "just-a-pod"],
        vec!["logs"],
    ] {
        let out = command(home.path())
            .arg("--sim")
            .args(&bad)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let usage = command(home.path())
        .args(["logs", "-l", "app=x", "--since", "yesterday"])
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn logs_colours_the_clusters_only_on_a_terminal_and_never_with_no_color() {
    let home = tempfile::tempdir().expect("tempdir");
    let args = ["--sim", "logs", "-l", "app=ztunnel", "--tail", "1"];
    let mut tui = Tui::start(home.path(), &args, &[], (200, 50));
    assert_eq!(tui.wait(Duration::from_secs(60)), 0);
    let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
    for (colour, cluster) in [("36", "edge"), ("35", "bank"), ("33", "vendor")] {
        assert!(
            raw.contains(&format!("\u{1b}[{colour}m{cluster}/ztunnel-")),
            "{cluster} in its colour:\n{raw:?}"
        );
    }
    let mut plain = Tui::start(home.path(), &args, &[("NO_COLOR", "1")], (200, 50));
    assert_eq!(plain.wait(Duration::from_secs(60)), 0);
    let raw = String::from_utf8_lossy(&plain.raw()).into_owned();
    assert!(raw.contains("edge/ztunnel-"), "{raw:?}");
    assert!(!raw.contains("\u{1b}["), "NO_COLOR: {raw:?}");
}

/// A line the command wrote: on stderr or not, and its text.
type Said = (bool, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_l_f_follows_pods_that_come_and_go() {
    let (_work, sim) = support::start().await;
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = command(home.path())
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(["logs", "-l", "app=newcomer", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let (tx, rx) = std::sync::mpsc::channel::<Said>();
    for (is_err, pipe) in [
        (
            false,
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ),
        (true, Box::new(child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send((is_err, line));
            }
        });
    }
    let mut seen: Vec<Said> = Vec::new();
    let wait_for = |seen: &mut Vec<Said>, what: &str, done: &dyn Fn(&[Said]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(seen) {
            assert!(Instant::now() < deadline, "{what}; seen {seen:#?}");
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.push(line);
            }
        }
    };
    // Nothing matches yet: it waits. A Deployment appears on bank.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bank = support::client(&sim, "bank").await;
    let deployments: Api<Deployment> = Api::namespaced(bank, "trustusbank-bank-agents");
    let newcomer: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "newcomer"},
        "spec": {"selector": {"matchLabels": {"app": "newcomer"}},
                 "template": {"metadata": {"labels": {"app": "newcomer"}},
                              "spec": {"containers": [{"name": "app", "image": "mock-attacker:1.0.0"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &newcomer)
        .await
        .expect("create");
    wait_for(&mut seen, "the new pod's first line, prefixed", &|s| {
        s.iter().any(|(err, l)| {
            !err && l.starts_with("bank/newcomer-") && l.contains("starting container app")
        })
    });
    assert!(
        seen.iter()
            .any(|(err, l)| *err && l.starts_with("+ bank/newcomer-")),
        "announced on stderr: {seen:#?}"
    );
    deployments
        .delete("newcomer", &DeleteParams::default())
        .await
        .expect("delete");
    wait_for(&mut seen, "the pod's end said", &|s| {
        s.iter()
            .any(|(err, l)| *err && l.starts_with("- bank/newcomer-"))
    });
    // Still following (nothing else matches) until a signal: 128 + SIGINT.
    assert!(child.try_wait().unwrap().is_none());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(130));
    drop(sim);
}

// --- The view drawn from a fixed model ------------------------------------------------------

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-01T14:05:09+00:00").expect("time")
}

fn key(m: &mut Model, code: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn news(m: &mut Model, news: LogNews) {
    let id = m.logs.as_ref().map_or(0, |l| l.id);
    update(m, Msg::Logs(LogMsg { id, news }));
}

/// The attacker's log open in the view after act 2: the alarm, the stolen record, and a
/// few lines a hostile or broken program might write.
fn fixed_model() -> Model {
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now());
    let pod = PodSummary {
        namespace: ATTACKER_NS.into(),
        name: "mock-attacker-6spb4ht2z5-gmrs2".into(),
        ready: 1,
        containers: 1,
        phase: PodPhase::Running,
        restarts: 0,
        created: Some(now().to_utc() - chrono::Duration::minutes(40)),
        image: Some("mock-attacker:1.0.0".into()),
        node: None,
        message: None,
        last_restart: None,
        ready_since: None,
    };
    update(&mut m, Msg::Cluster(2, ClusterMsg::Reachable));
    update(
        &mut m,
        Msg::Cluster(2, ClusterMsg::Pods(ResourceMsg::Reset(vec![pod]))),
    );
    key(&mut m, KeyCode::Char('3'));
    key(&mut m, KeyCode::Char('j'));
    key(&mut m, KeyCode::Char('j'));
    key(&mut m, KeyCode::Char('l'));
    assert_eq!(m.view, View::Logs);
    news(
        &mut m,
        LogNews::Pod {
            name: "mock-attacker-6spb4ht2z5-gmrs2".into(),
            containers: vec![ContainerName {
                name: "mock-attacker".into(),
                init: false,
            }],
            chosen: Some("mock-attacker".into()),
            default: None,
        },
    );
    news(
        &mut m,
        LogNews::Stream {
            stream: 0,
            info: StreamInfo {
                cluster: 2,
                namespace: ATTACKER_NS.into(),
                pod: "mock-attacker-6spb4ht2z5-gmrs2".into(),
                container: "mock-attacker".into(),
                several: false,
            },
        },
    );
    let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).expect("t").to_utc());
    let mut raw: Vec<(&str, Vec<u8>)> = vec![
        ("2026-12-01T13:25:09.000Z", b"starting container mock-attacker (image mock-attacker:1.0.0) of pod external-attacker/mock-attacker-6spb4ht2z5-gmrs2 on trustusbank-vendor-worker2".to_vec()),
        ("2026-12-01T13:25:09.013Z", b"mock-attacker listening on :8080".to_vec()),
        ("2026-12-01T14:04:51.207Z", "🚨 EXFIL RECEIVED at 2026-12-01 14:04:51 UTC from 10.30.1.7".as_bytes().to_vec()),
    ];
    let record = serde_json::to_string_pretty(&json!({
        "stolen_at_tool": "acme-fx/currency-converter",
        "stolen_data": {"name": "Jane Doe", "dob": "1987-03-14", "address": "42 King Street, Manchester M2 4WU"}
    }))
    .unwrap();
    for l in record.lines() {
        raw.push(("2026-12-01T14:04:51.207Z", l.as_bytes().to_vec()));
    }
    raw.push((
        "2026-12-01T14:04:58.000Z",
        b"\x1b]52;c;ZXZpbA==\x07clipboard \x1b[2Ahidden \x1b[31mred\x1b[0m".to_vec(),
    ));
    raw.push((
        "2026-12-01T14:04:59.000Z",
        b"not utf-8: \xff\xfe then\ttab".to_vec(),
    ));
    let lines = raw
        .into_iter()
        .map(|(t, bytes)| log_line(0, at(t), &bytes, 0))
        .chain(std::iter::once(log_line(
            0,
            at("2026-12-01T14:05:00.000Z"),
            "x".repeat(300).as_bytes(),
            120_000,
        )))
        .collect();
    news(&mut m, LogNews::Lines { stream: 0, lines });
    m
}

fn render(m: &mut Model, w: u16, h: u16) -> Buffer {
    m.size = (w, h);
    let theme = Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| ui::draw(f, m, &theme)).expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    ui::buffer_text(buffer)
}

fn search(m: &mut Model, text: &str) {
    key(m, KeyCode::Char('/'));
    for c in text.chars() {
        key(m, KeyCode::Char(c));
    }
    key(m, KeyCode::Enter);
}

#[test]
fn the_log_view_80x24_after_a_rollout_took_the_pod() {
    let mut m = fixed_model();
    news(
        &mut m,
        LogNews::Ended {
            stream: 0,
            why: "pod mock-attacker-6spb4ht2z5-gmrs2 is gone".into(),
        },
    );
    news(
        &mut m,
        LogNews::Replaced {
            by: "mock-attacker-6spb4ht2z5-k8x2q".into(),
        },
    );
    insta::assert_snapshot!(text(&render(&mut m, 80, 24)));
}

#[test]
fn the_log_view_120x36_wrapped_with_timestamps_and_a_search() {
    let mut m = fixed_model();
    key(&mut m, KeyCode::Char('w'));
    key(&mut m, KeyCode::Char('t'));
    search(&mut m, "exfil");
    insta::assert_snapshot!(text(&render(&mut m, 120, 36)));
}

#[test]
fn the_log_view_200x60_paused_with_lines_dropped() {
    let mut m = fixed_model();
    m.size = (200, 60);
    // More than the ring holds: the oldest fall out, counted.
    let base = DateTime::parse_from_rfc3339("2026-12-01T14:05:01Z")
        .unwrap()
        .to_utc();
    let lines = (0..50_100)
        .map(|i| {
            let text = format!(
                "10.30.1.{} - - \"GET /healthz HTTP/1.1\" 200 2 \"kube-probe/1.33\" #{i}",
                i % 250
            );
            log_line(
                0,
                Some(base + chrono::Duration::milliseconds(i)),
                text.as_bytes(),
                0,
            )
        })
        .collect();
    news(&mut m, LogNews::Lines { stream: 0, lines });
    key(&mut m, KeyCode::PageUp);
    key(&mut m, KeyCode::Char('k'));
    insta::assert_snapshot!(text(&render(&mut m, 200, 60)));
}

#[test]
fn the_log_views_help_lists_its_own_keys() {
    let mut m = fixed_model();
    key(&mut m, KeyCode::Char('?'));
    let screen = text(&render(&mut m, 120, 36));
    assert!(screen.contains("keys of the log view"), "{screen}");
    for words in [
        "previous run",
        "save the buffer",
        "newer / older match",
        "wrap",
    ] {
        assert!(screen.contains(words), "{words}:\n{screen}");
    }
    key(&mut m, KeyCode::Esc);
    assert!(!m.show_help);
    assert_eq!(m.view, View::Logs, "Esc closed the help, not the view");
}

#[test]
fn matches_are_highlighted_and_no_control_character_is_drawn() {
    let mut m = fixed_model();
    key(&mut m, KeyCode::Char('t'));
    key(&mut m, KeyCode::Char('w'));
    // The OSC 52 sequence is gone from the text: nothing can match inside it.
    search(&mut m, "52;c");
    assert_eq!(
        m.logs
            .as_ref()
            .and_then(|l| l.search.as_ref())
            .map(|s| s.lines),
        Some(0)
    );
    search(&mut m, "EXFIL");
    let buffer = render(&mut m, 160, 40);
    let got = style_at(&buffer, "EXFIL");
    assert!(got.add_modifier.contains(Modifier::REVERSED), "{got:?}");
    let theme = Theme::builtin("default").expect("theme");
    assert_eq!(got.fg, theme.style(Role::Accent).fg, "the current match");
    // The stamp is muted, the text is text.
    let stamp = style_at(&buffer, "14:04:51.207");
    assert_eq!(stamp.fg, theme.style(Role::Muted).fg);
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let symbol = buffer[(x, y)].symbol();
            assert!(
                !symbol.chars().any(|c| c.is_control()),
                "a control character at {x},{y}: {symbol:?}"
            );
        }
    }
    let screen = text(&buffer);
    assert!(screen.contains("␛clipboard ␛hidden ␛red␛"), "{screen}");
    assert!(screen.contains("not utf-8: �� then tab"), "{screen}");
    assert!(screen.contains("117 KiB cut]"), "{screen}");
}
