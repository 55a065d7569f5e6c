//! The triage views — detail, events, problems, timeline, images, the filter and the delete
//! question — from a fixed model, at the sizes operators use: 80×24, 120×36 and 200×60.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use control_room::app::update;
use control_room::config::Theme;
use control_room::model::{
    DeploymentSummary, EventSummary, Model, PodPhase, PodSummary, ResourceMsg, View, WorldMode,
};
use control_room::msg::cluster::DaemonSetSummary;
use control_room::msg::inspect::{InspectMsg, InspectNews};
use control_room::msg::{ClusterMsg, Effect, Msg};
use control_room::sources::inspect::pod_detail;
use control_room::ui;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 36), (200, 60)];

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-01T14:05:09+00:00").expect("time")
}

fn ago(secs: i64) -> Option<DateTime<Utc>> {
    Some(now().with_timezone(&Utc) - Duration::seconds(secs))
}

fn pod(ns: &str, name: &str, phase: PodPhase, image: &str, mins: i64) -> PodSummary {
    PodSummary {
        namespace: ns.into(),
        name: name.into(),
        ready: u16::from(phase == PodPhase::Running),
        containers: 1,
        phase,
        restarts: 0,
        created: ago(mins * 60),
        image: Some(image.into()),
        node: Some("worker".into()),
        message: None,
        last_restart: None,
        ready_since: None,
    }
}

fn deployment(ns: &str, name: &str, image: &str, ready: i32) -> DeploymentSummary {
    DeploymentSummary {
        namespace: ns.into(),
        name: name.into(),
        replicas: 1,
        status_replicas: 1,
        ready,
        updated: 1,
        available: ready,
        image: Some(image.into()),
        images: vec![image.into()],
        generation: 1,
        observed_generation: 1,
        unavailable_since: ago(120),
    }
}

fn event(
    ns: &str,
    name: &str,
    warning: bool,
    reason: &str,
    object: &str,
    msg: &str,
    secs: i64,
) -> EventSummary {
    EventSummary {
        namespace: ns.into(),
        name: name.into(),
        warning,
        reason: reason.into(),
        object: object.into(),
        message: msg.into(),
        count: if warning { 7 } else { 1 },
        last_seen: ago(secs),
    }
}

const BANK_NS: &str = "trustusbank-bank-mcp";
const BROKEN: &str = "account-mcp-7f9c8d6b5-k2j4h";
const VENDOR_NS: &str = "trustusbank-bank-vendors";

/// Mid-triage: bank's account-mcp cannot pull its image, vendor's tool went rugpull while
/// we watched, edge's ztunnel runs an older image than the others'.
fn model() -> Model {
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now());
    let msg = |m: &mut Model, i: usize, c: ClusterMsg| {
        update(m, Msg::Cluster(i, c));
    };
    for i in 0..3 {
        msg(&mut m, i, ClusterMsg::Reachable);
    }
    let mut broken = pod(
        BANK_NS,
        BROKEN,
        PodPhase::Failing("ImagePullBackOff".into()),
        "account-mcp:does-not-exist",
        3,
    );
    broken.message = Some("Back-off pulling image \"account-mcp:does-not-exist\"".into());
    msg(
        &mut m,
        0,
        ClusterMsg::Pods(ResourceMsg::Reset(vec![
            pod(
                "istio-system",
                "ztunnel-4xk2p",
                PodPhase::Running,
                "ztunnel:1.27.0",
                180,
            ),
            pod(
                "trustusbank-bank-frontend",
                "chatbot-7c9d8f6b4-m2n3b",
                PodPhase::Running,
                "chatbot:1.0.0",
                160,
            ),
        ])),
    );
    msg(
        &mut m,
        1,
        ClusterMsg::Pods(ResourceMsg::Reset(vec![
            pod(
                "istio-system",
                "ztunnel-9fj3d",
                PodPhase::Running,
                "ztunnel:1.27.1",
                180,
            ),
            pod(
                BANK_NS,
                "account-mcp-5c6d7e8f9-q1w2e",
                PodPhase::Running,
                "account-mcp:1.0.0",
                150,
            ),
            broken,
        ])),
    );
    msg(
        &mut m,
        2,
        ClusterMsg::Pods(ResourceMsg::Reset(vec![
            pod(
                "istio-system",
                "ztunnel-2kd9s",
                PodPhase::Running,
                "ztunnel:1.27.1",
                180,
            ),
            pod(
                VENDOR_NS,
                "currency-converter-8a7b6c5d4-p9o8i",
                PodPhase::Running,
                "currency-converter:1.0.0-rugpull",
                2,
            ),
        ])),
    );
    for (i, tag) in [(0, "1.27.0"), (1, "1.27.1"), (2, "1.27.1")] {
        msg(
            &mut m,
            i,
            ClusterMsg::DaemonSets(ResourceMsg::Reset(vec![DaemonSetSummary {
                namespace: "istio-system".into(),
                name: "ztunnel".into(),
                images: vec![format!("docker.io/istio/ztunnel:{tag}")],
                desired: 3,
                ready: 3,
            }])),
        );
    }
    msg(
        &mut m,
        1,
        ClusterMsg::Deployments(ResourceMsg::Reset(vec![
            deployment(BANK_NS, "account-mcp", "account-mcp:does-not-exist", 1),
            deployment(BANK_NS, "ticket-mcp", "ticket-mcp:1.0.0", 0),
        ])),
    );
    // First seen clean, then the swap.
    msg(
        &mut m,
        2,
        ClusterMsg::Deployments(ResourceMsg::Reset(vec![deployment(
            VENDOR_NS,
            "currency-converter",
            "ghcr.io/acme/currency-converter:1.0.0",
            1,
        )])),
    );
    msg(
        &mut m,
        2,
        ClusterMsg::Deployments(ResourceMsg::Applied(deployment(
            VENDOR_NS,
            "currency-converter",
            "ghcr.io/acme/currency-converter:1.0.0-rugpull",
            1,
        ))),
    );
    msg(
        &mut m,
        1,
        ClusterMsg::Events(ResourceMsg::Reset(vec![
            event(
                BANK_NS,
                "e1",
                true,
                "BackOff",
                &format!("pod/{BROKEN}"),
                "Back-off pulling image \"account-mcp:does-not-exist\"",
                20,
            ),
            event(
                BANK_NS,
                "e2",
                true,
                "Failed",
                &format!("pod/{BROKEN}"),
                "Failed to pull image \"account-mcp:does-not-exist\": rpc error: code = NotFound desc = failed to pull and unpack image: not found",
                60,
            ),
            event(
                BANK_NS,
                "e3",
                false,
                "Scheduled",
                &format!("pod/{BROKEN}"),
                "Successfully assigned trustusbank-bank-mcp/account-mcp-7f9c8d6b5-k2j4h to bank-worker",
                180,
            ),
        ])),
    );
    msg(
        &mut m,
        2,
        ClusterMsg::Events(ResourceMsg::Reset(vec![
            event(
                VENDOR_NS,
                "e4",
                false,
                "Pulled",
                "pod/currency-converter-8a7b6c5d4-p9o8i",
                "Container image \"currency-converter:1.0.0-rugpull\" already present on machine",
                100,
            ),
            event(
                VENDOR_NS,
                "e5",
                true,
                "Unhealthy",
                "pod/currency-converter-8a7b6c5d4-p9o8i",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                40,
            ),
        ])),
    );
    m
}

fn render(model: &mut Model, w: u16, h: u16) -> String {
    update(model, Msg::Resize(w, h));
    model.page_rows = ui::layout::page_rows(model);
    let theme = Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| ui::draw(f, model, &theme)).expect("draw");
    ui::buffer_text(terminal.backend().buffer())
}

fn press(m: &mut Model, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(m, Msg::Key(KeyEvent::new(code, modifiers)))
}

fn keys(m: &mut Model, text: &str) {
    for c in text.chars() {
        press(m, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

/// The detail of the broken pod, as its source would have read it from the API server.
fn open_broken_detail(m: &mut Model) {
    keys(m, "!");
    let effects = press(m, KeyCode::Enter, KeyModifiers::NONE);
    let Some(Effect::Inspect { id, .. }) = effects.first() else {
        panic!("Enter on a problem asks for its object: {effects:?}");
    };
    let id = *id;
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": BROKEN, "namespace": BANK_NS, "uid": "u-1",
            "creationTimestamp": "2026-12-01T14:02:09Z",
            "labels": {"app": "account-mcp", "pod-template-hash": "7f9c8d6b5"},
        },
        "spec": {"nodeName": "bank-worker", "containers": [{"name": "account-mcp", "image": "account-mcp:does-not-exist"}]},
        "status": {
            "phase": "Pending", "podIP": "10.20.1.17", "qosClass": "BestEffort",
            "startTime": "2026-12-01T14:02:09Z",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [account-mcp]"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "containerStatuses": [{
                "name": "account-mcp", "image": "account-mcp:does-not-exist", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"account-mcp:does-not-exist\""}}
            }]
        }
    }))
    .expect("a pod");
    let detail = pod_detail(
        &pod,
        vec![
            "ReplicaSet/account-mcp-7f9c8d6b5".into(),
            "Deployment/account-mcp".into(),
        ],
    );
    update(
        m,
        Msg::Inspect(InspectMsg {
            id,
            news: InspectNews::Pod(Box::new(detail)),
        }),
    );
    let events = m.clusters[1].events.iter().cloned().collect();
    update(
        m,
        Msg::Inspect(InspectMsg {
            id,
            news: InspectNews::Events(ResourceMsg::Reset(events)),
        }),
    );
}

fn snapshots(name: &str, mut setup: impl FnMut(&mut Model)) {
    for (w, h) in SIZES {
        let mut m = model();
        setup(&mut m);
        let screen = render(&mut m, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
    }
}

#[test]
fn problems_view() {
    snapshots("problems", |m| keys(m, "!"));
    let mut m = model();
    keys(&mut m, "!");
    let screen = render(&mut m, 120, 36);
    // The broken pod once (its Failed and BackOff events are said by it), the deployment
    // with no ready pod, a warning about a pod that is fine now.
    for needle in [
        "ImagePullBackOff",
        BROKEN,
        "deployment/ticket-mcp",
        "0/1 ready",
        "Unhealthy ×7",
    ] {
        assert!(screen.contains(needle), "{needle} in:\n{screen}");
    }
    assert!(!screen.contains("Failed ×7"), "{screen}");
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|h| h.contains("! 3 problems")),
        "{screen}"
    );
}

#[test]
fn detail_view_of_a_pod_that_cannot_pull() {
    snapshots("detail", open_broken_detail);
    let mut m = model();
    open_broken_detail(&mut m);
    assert_eq!(m.view, View::Detail);
    let screen = render(&mut m, 200, 60);
    for needle in [
        "Status:         Pending",
        "State:            Waiting",
        "Reason:         ImagePullBackOff",
        "Controlled By:  ReplicaSet/account-mcp-7f9c8d6b5 → Deployment/account-mcp",
        "QoS Class:      BestEffort",
    ] {
        assert!(screen.contains(needle), "{needle} in:\n{screen}");
    }
}

#[test]
fn events_view() {
    snapshots("events", |m| {
        open_broken_detail(m);
        keys(m, "e");
    });
}

#[test]
fn timeline_view() {
    snapshots("timeline", |m| keys(m, "E"));
}

#[test]
fn images_view() {
    snapshots("images", |m| keys(m, "I"));
    let mut m = model();
    keys(&mut m, "I");
    let screen = render(&mut m, 200, 60);
    assert!(
        screen.contains("currency-converter:1.0.0-rugpull (was 1.0.0)"),
        "{screen}"
    );
    assert!(
        screen.contains("1 differ between clusters"),
        "the ztunnels:\n{screen}"
    );
}

#[test]
fn filter_box_and_filtered_panes() {
    snapshots("filter", |m| keys(m, "/currency"));
}

#[test]
fn delete_question_names_cluster_and_pod() {
    snapshots("delete", |m| {
        keys(m, "2jjj");
        press(m, KeyCode::Char('d'), KeyModifiers::CONTROL);
    });
}

#[test]
fn views_survive_tiny_and_huge_terminals() {
    for open in ["!", "E", "I", "/x"] {
        let mut m = model();
        keys(&mut m, open);
        for (w, h) in [(1, 1), (10, 3), (40, 10), (300, 100)] {
            render(&mut m, w, h);
        }
    }
    let mut m = model();
    open_broken_detail(&mut m);
    for (w, h) in [(1, 1), (10, 3), (40, 10), (300, 100)] {
        render(&mut m, w, h);
        keys(&mut m, "e");
        render(&mut m, w, h);
    }
}

/// Six clusters at 200×50: a 3×2 grid, every title and every pod on screen.
#[test]
fn six_clusters_in_a_grid_200x50() {
    let names = ["edge", "bank", "vendor", "eu-west", "us-east", "ap-south"];
    let clusters = names
        .iter()
        .map(|n| (n.to_string(), format!("kind-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now());
    for (i, name) in names.iter().enumerate() {
        update(&mut m, Msg::Cluster(i, ClusterMsg::Reachable));
        let pods = (0..3)
            .map(|p| {
                pod(
                    "payments",
                    &format!("payments-{name}-{p}"),
                    PodPhase::Running,
                    "payments:2.1.0",
                    30,
                )
            })
            .collect();
        update(
            &mut m,
            Msg::Cluster(i, ClusterMsg::Pods(ResourceMsg::Reset(pods))),
        );
    }
    let screen = render(&mut m, 200, 50);
    for (i, name) in names.iter().enumerate() {
        assert!(
            screen.contains(&format!(" {} {name} · kind-{name}", i + 1)),
            "{name}:\n{screen}"
        );
        for p in 0..3 {
            assert!(
                screen.contains(&format!("payments-{name}-{p}")),
                "{name} pod {p}:\n{screen}"
            );
        }
    }
    insta::assert_snapshot!("six_clusters_200x50", screen);
    // Nine still make a grid at 240×70; at 80×24 there is only room for tabs.
    let mut m9 = Model::new(
        WorldMode::Simulated,
        (0..9)
            .map(|i| (format!("c{i}"), format!("ctx{i}")))
            .collect(),
        now(),
    );
    let screen = render(&mut m9, 240, 70);
    assert_eq!(screen.matches("· ctx").count(), 9, "{screen}");
    let screen = render(&mut m9, 80, 24);
    assert!(
        screen.contains("1 c0") && screen.contains("│ 9"),
        "the tab bar:\n{screen}"
    );
}

/// 80×24 mid-act-2: the story strip under the pane says the act, the exfil rise, the
/// firing alert and the last chat line; Tab reaches the chat, exfil and alert views.
#[test]
fn the_story_strip_on_a_small_screen() {
    use control_room::model::alerts::{AlertRow, AlertState, AlertsMsg, Origin};
    use control_room::msg::{ChatEvent, ExfilMsg};
    let mut m = model();
    let at = now() - Duration::seconds(5);
    update(
        &mut m,
        Msg::Exfil(ExfilMsg::Event {
            at: at.with_timezone(&Utc),
            line: "EXFIL RECEIVED from 10.30.1.7".into(),
            pod: "mock-attacker-1".into(),
        }),
    );
    update(
        &mut m,
        Msg::Alerts(AlertsMsg::Prometheus {
            at: now().with_timezone(&Utc),
            result: Ok(vec![AlertRow {
                name: "IstioAuthZDeny".into(),
                state: AlertState::Firing,
                labels: Default::default(),
                summary: String::new(),
                active_at: Some(at.with_timezone(&Utc)),
                origin: Origin::Prometheus,
            }]),
        }),
    );
    update(&mut m, Msg::Prompt("What is my balance?".into()));
    update(
        &mut m,
        Msg::Chat(ChatEvent::Text {
            text: "£4,287.55 ≈ $5,445.19 at today's rate".into(),
            append: false,
        }),
    );
    let screen = render(&mut m, 80, 24);
    let strip = screen.lines().rev().nth(1).unwrap_or("");
    for needle in ["ACT 2", "exfil 1 +1", "● IstioAuthZDeny", "£4,287.55"] {
        assert!(
            strip.contains(needle),
            "{needle} in the strip: {strip}\n{screen}"
        );
    }
    insta::assert_snapshot!("strip_80x24", screen);
    keys(&mut m, "3");
    for (view, name) in [
        (View::Chat, "chat_view"),
        (View::Exfil, "exfil_view"),
        (View::Alerts, "alerts_view"),
    ] {
        press(&mut m, KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(m.view, view);
        let screen = render(&mut m, 80, 24);
        insta::assert_snapshot!(format!("{name}_80x24"), screen);
    }
}

// ---- the doctor view ----

use control_room::msg::doctor::{CheckResult, DoctorMsg, Evidence, Verdict};

fn ev(object: &str, field: &str, value: &str) -> Evidence {
    Evidence {
        object: object.into(),
        field: field.into(),
        value: value.into(),
    }
}

fn result(
    id: &'static str,
    cluster: &str,
    verdict: Verdict,
    evidence: Vec<Evidence>,
    fix: &[&str],
) -> CheckResult {
    CheckResult {
        id,
        title: control_room::msg::doctor::ORDER
            .iter()
            .find(|i| **i == id)
            .map_or("a check", |_| match id {
                "remote-secrets" => "istio-remote-secret-<peer> for every peer, none for strangers",
                "trust-domain" => "trust domain is cluster.local",
                "prometheus" => "Prometheus answers",
                "demo-start" => "the demo is at its start (clean image, no policies)",
                _ => "context exists, answers, reports its version",
            }),
        result: verdict,
        cluster: cluster.into(),
        clusters: vec![cluster.into()],
        evidence,
        fix: fix.iter().map(|f| f.to_string()).collect(),
    }
}

/// A doctor run with one of each result: a missing remote secret, a wire value with an
/// escape sequence in it, a cluster that did not answer, the demo mid-act.
fn with_doctor(m: &mut Model, open: bool) {
    m.doctor.enabled = true;
    m.doctor.cluster_order = vec!["edge".into(), "bank".into(), "vendor".into()];
    let effects = if open {
        press(m, KeyCode::Char('D'), KeyModifiers::SHIFT)
    } else {
        update(m, Msg::RunDoctor)
    };
    let Some(Effect::RunDoctor(run)) = effects.first().cloned() else {
        panic!("RunDoctor asks for a run: {effects:?}");
    };
    let results = vec![
        result(
            "contexts",
            "edge",
            Verdict::Pass,
            vec![ev(
                "context kind-trustusbank-edge",
                "/version gitVersion",
                "v1.32.0",
            )],
            &[],
        ),
        result(
            "contexts",
            "bank",
            Verdict::Pass,
            vec![ev(
                "context kind-trustusbank-bank",
                "/version gitVersion",
                "v1.32.0",
            )],
            &[],
        ),
        result(
            "contexts",
            "vendor",
            Verdict::Fail,
            vec![ev("cluster vendor", "answer", "no answer within 4s")],
            &[],
        ),
        result(
            "remote-secrets",
            "edge",
            Verdict::Fail,
            vec![ev(
                "Secret istio-system/istio-remote-secret-trustusbank-bank (edge)",
                "metadata.name",
                "absent",
            )],
            &[
                "kubectl --context kind-trustusbank-vendor -n istio-system get secret istio-remote-secret-trustusbank-bank -o 'jsonpath={.data.trustusbank-bank}' | base64 -d > trustusbank-bank.kubeconfig",
                "kubectl --context kind-trustusbank-edge -n istio-system label secret istio-remote-secret-trustusbank-bank istio/multiCluster=true",
            ],
        ),
        result(
            "trust-domain",
            "bank",
            Verdict::Fail,
            vec![ev(
                "ServiceMeshController managed-istio (bank)",
                "spec.trustDomain",
                "bank.local\u{1b}[2J",
            )],
            &[
                r#"kubectl --context kind-trustusbank-bank patch servicemeshcontroller managed-istio --type=merge -p '{"spec":{"trustDomain":"cluster.local"}}'"#,
            ],
        ),
        result(
            "trust-domain",
            "vendor",
            Verdict::Unknown,
            vec![ev("cluster vendor", "answer", "no answer within 4s")],
            &[],
        ),
        result(
            "prometheus",
            "bank",
            Verdict::Pass,
            vec![ev(
                "forward prometheus /-/ready",
                "answer",
                "200 Prometheus Server is Ready.",
            )],
            &[],
        ),
        result(
            "demo-start",
            "vendor",
            Verdict::Warn,
            vec![ev(
                "Deployment trustusbank-bank-vendors/currency-converter (vendor)",
                "spec.template.spec.containers[currency-converter].image",
                "currency-converter:1.0.0-rugpull",
            )],
            &[
                "kubectl --context kind-trustusbank-vendor -n trustusbank-bank-vendors set image deploy/currency-converter currency-converter=currency-converter:1.0.0",
            ],
        ),
    ];
    for r in results {
        update(m, Msg::Doctor(DoctorMsg::Checked(run, r)));
    }
    update(m, Msg::Doctor(DoctorMsg::Finished(run)));
}

fn doctor_snapshots(name: &str, mut setup: impl FnMut(&mut Model)) {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut m = model();
        setup(&mut m);
        let screen = render(&mut m, w, h);
        assert!(
            !screen.contains('\u{1b}'),
            "no escape from the wire reaches the screen:\n{screen}"
        );
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
    }
}

#[test]
fn doctor_view_and_its_detail() {
    doctor_snapshots("doctor", |m| with_doctor(m, true));
    doctor_snapshots("doctor_detail", |m| {
        with_doctor(m, true);
        // The view opened on the first check that did not pass (vendor's contexts).
        keys(m, "j");
        press(m, KeyCode::Enter, KeyModifiers::NONE);
    });
    let mut m = model();
    with_doctor(&mut m, false);
    let effects = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT)),
    );
    assert_eq!(m.view, View::Doctor);
    assert!(
        matches!(effects.as_slice(), [Effect::RunDoctor(2)]),
        "D runs the checks again: {effects:?}"
    );
    // The badge counts what failed.
    let screen = render(&mut m, 160, 48);
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|l| l.contains("doctor 3 ✗")),
        "{screen}"
    );
    // Opened on the first check that did not pass; one down is the remote secret. Enter
    // on it, y copies its fix; Esc back to the list, Esc to the panes.
    assert_eq!(m.doctor.selected, 2, "the first failure is selected");
    keys(&mut m, "j");
    press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
    assert!(m.doctor.detail);
    let effects = press(&mut m, KeyCode::Char('y'), KeyModifiers::NONE);
    match effects.as_slice() {
        [Effect::CopyToClipboard(text)] => {
            assert!(
                text.starts_with(
                    "kubectl --context kind-trustusbank-vendor -n istio-system get secret"
                ),
                "{text}"
            );
            assert_eq!(text.lines().count(), 2, "{text}");
        }
        other => panic!("y copies the fix: {other:?}"),
    }
    press(&mut m, KeyCode::Esc, KeyModifiers::NONE);
    assert!(!m.doctor.detail);
    assert_eq!(m.view, View::Doctor);
    press(&mut m, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(m.view, View::Panes);
    for (w, h) in [(1, 1), (10, 3), (40, 10), (300, 100)] {
        keys(&mut m, "D");
        render(&mut m, w, h);
        press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
        render(&mut m, w, h);
        press(&mut m, KeyCode::Esc, KeyModifiers::NONE);
        press(&mut m, KeyCode::Esc, KeyModifiers::NONE);
    }
}

#[test]
fn a_long_fix_scrolls_in_the_doctor_detail() {
    let mut m = model();
    m.doctor.enabled = true;
    let effects = press(&mut m, KeyCode::Char('D'), KeyModifiers::SHIFT);
    let Some(Effect::RunDoctor(run)) = effects.first().cloned() else {
        panic!("D runs the doctor: {effects:?}");
    };
    let long: Vec<String> = (1..=40)
        .map(|i| format!("kubectl --context kind-trustusbank-vendor step {i}"))
        .collect();
    let fix: Vec<&str> = long.iter().map(String::as_str).collect();
    let r = result(
        "collector-allowlist",
        "vendor",
        Verdict::Fail,
        vec![ev(
            "ConfigMap gloo-mesh/gloo-telemetry-collector-config (vendor)",
            "data.relay",
            "absent",
        )],
        &fix,
    );
    update(&mut m, Msg::Doctor(DoctorMsg::Checked(run, r)));
    update(&mut m, Msg::Doctor(DoctorMsg::Finished(run)));
    press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
    let top = render(&mut m, 80, 24);
    assert!(top.contains("step 1\n") || top.contains("step 1 "), "{top}");
    assert!(!top.contains("step 40"), "{top}");
    for _ in 0..100 {
        press(&mut m, KeyCode::Char('j'), KeyModifiers::NONE);
    }
    let bottom = render(&mut m, 80, 24);
    assert!(
        bottom.contains("step 40"),
        "the last line of the fix can be reached:\n{bottom}"
    );
    // Up from the bottom moves at once (the scroll stops at the last page).
    press(&mut m, KeyCode::Char('k'), KeyModifiers::NONE);
    let up = render(&mut m, 80, 24);
    assert_ne!(up, bottom);
}
