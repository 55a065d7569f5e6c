//! Whole-screen snapshots from a fixed model at the sizes presenters use.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use control_room::app::update;
use control_room::config::{Role, Theme};
use control_room::model::{
    ActKind, ActLine, ActOutcome, DeploymentSummary, EventSummary, Model, PodPhase, PodSummary,
    ResourceMsg, WorldMode,
};
use control_room::msg::{ActMsg, ClusterMsg, ExfilMsg, Msg};
use control_room::sources::cluster::summarize;

use crate::support::style_at;
use control_room::ui;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-27T14:05:09+00:00").expect("time")
}

fn pod(
    ns: &str,
    name: &str,
    phase: PodPhase,
    ready: bool,
    restarts: u32,
    mins: i64,
    tag: Option<&str>,
) -> PodSummary {
    PodSummary {
        namespace: ns.into(),
        name: name.into(),
        ready: u16::from(ready),
        containers: 1,
        phase,
        restarts,
        created: Some(now().with_timezone(&Utc) - Duration::minutes(mins)),
        image: tag.map(|t| format!("{}:{t}", name.split('-').next().unwrap_or(name))),
        node: None,
        message: None,
        last_restart: None,
        ready_since: None,
    }
}

fn running(ns: &str, name: &str, mins: i64) -> PodSummary {
    pod(ns, name, PodPhase::Running, true, 0, mins, None)
}

/// The demo's three clusters, mid-act-2: vendor rolling out the rugpull image, bank down.
fn fixed_model() -> Model {
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now());
    m.log_path = "/home/presenter/.local/state/control-room/control-room.log".into();
    m.kubeconfig_path = "/tmp/control-room-sim/kubeconfig".into();

    let edge = vec![
        running("istio-system", "istiod-5d8c9b7f6d-q2w8e", 180),
        running("istio-system", "ztunnel-4xk2p", 180),
        running("istio-system", "ztunnel-9fj3d", 180),
        running("istio-system", "ztunnel-tt7wq", 180),
        running("gloo-mesh", "gloo-mesh-agent-6f7d8c9b5-lk2j3", 170),
        pod(
            "trustusbank-bank-frontend",
            "chatbot-7c9d8f6b4-m2n3b",
            PodPhase::Running,
            true,
            0,
            160,
            Some("1.0.0"),
        ),
    ];
    let vendor = vec![
        running("istio-system", "istiod-6b7c8d9f5-a1s2d", 180),
        running("istio-system", "ztunnel-2kd9s", 180),
        pod(
            "trustusbank-bank-vendors",
            "currency-converter-5f6d7c8b9-x2k4q",
            PodPhase::Running,
            true,
            0,
            150,
            Some("1.0.0"),
        ),
        pod(
            "trustusbank-bank-vendors",
            "currency-converter-8a7b6c5d4-p9o8i",
            PodPhase::Starting("ContainerCreating".into()),
            false,
            0,
            0,
            Some("1.0.0-rugpull"),
        ),
        pod(
            "external-attacker",
            "mock-attacker-6c5d4e3f2-zz9y8",
            PodPhase::Failing("CrashLoopBackOff".into()),
            false,
            4,
            90,
            Some("1.0.0"),
        ),
    ];
    let bank = vec![running(
        "trustusbank-bank-agents",
        "support-bot-6d5c4b3a2-h7g6f",
        140,
    )];

    for (i, pods) in [edge, bank, vendor].into_iter().enumerate() {
        update(&mut m, Msg::Cluster(i, ClusterMsg::Reachable));
        update(
            &mut m,
            Msg::Cluster(i, ClusterMsg::Pods(ResourceMsg::Reset(pods))),
        );
    }
    update(
        &mut m,
        Msg::Cluster(
            1,
            ClusterMsg::Unreachable {
                at: DateTime::parse_from_rfc3339("2026-11-27T14:04:51+00:00").expect("time"),
                error: "Connection refused (os error 111)".into(),
            },
        ),
    );
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Deployments(ResourceMsg::Reset(vec![DeploymentSummary {
                namespace: "trustusbank-bank-vendors".into(),
                name: "currency-converter".into(),
                replicas: 1,
                status_replicas: 2,
                ready: 1,
                updated: 1,
                available: 1,
                image: Some("currency-converter:1.0.0-rugpull".into()),
                generation: 2,
                observed_generation: 2,
                unavailable_since: None,
                images: Vec::new(),
            }])),
        ),
    );
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Events(ResourceMsg::Applied(EventSummary {
                namespace: "trustusbank-bank-vendors".into(),
                name: "cc.1".into(),
                warning: false,
                reason: "Pulling".into(),
                object: "pod/currency-converter-8a7b6c5d4-p9o8i".into(),
                message: "Pulling image \"currency-converter:1.0.0-rugpull\"".into(),
                count: 1,
                last_seen: Some(now().with_timezone(&Utc) - Duration::seconds(3)),
            })),
        ),
    );
    m
}

/// Act 3 moments later: policies in the vendor pane, the script's output below the panes.
fn act3_model() -> Model {
    let mut m = fixed_model();
    update(&mut m, Msg::Cluster(1, ClusterMsg::Reachable));
    // The rugpull rollout has settled: the old pod is gone, the new one Ready.
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Pods(ResourceMsg::Deleted((
                "trustusbank-bank-vendors".into(),
                "currency-converter-5f6d7c8b9-x2k4q".into(),
            ))),
        ),
    );
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Pods(ResourceMsg::Applied(pod(
                "trustusbank-bank-vendors",
                "currency-converter-8a7b6c5d4-p9o8i",
                PodPhase::Running,
                true,
                0,
                2,
                Some("1.0.0-rugpull"),
            ))),
        ),
    );
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Deployments(ResourceMsg::Reset(vec![DeploymentSummary {
                namespace: "trustusbank-bank-vendors".into(),
                name: "currency-converter".into(),
                replicas: 1,
                status_replicas: 1,
                ready: 1,
                updated: 1,
                available: 1,
                image: Some("currency-converter:1.0.0-rugpull".into()),
                generation: 2,
                observed_generation: 2,
                unavailable_since: None,
                images: Vec::new(),
            }])),
        ),
    );
    let policies = vec![
        summarize::policy(
            Some("trustusbank-bank-vendors"),
            Some("default-deny"),
            Some(&serde_json::json!({})),
            None,
        ),
        summarize::policy(
            Some("external-attacker"),
            Some("deny-vendor-to-attacker"),
            Some(
                &serde_json::json!({"action": "DENY", "rules": [{"from": [{"source": {
                "principals": ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]}}]}]}),
            ),
            None,
        ),
    ];
    update(
        &mut m,
        Msg::Cluster(2, ClusterMsg::Policies(ResourceMsg::Reset(policies))),
    );
    update(
        &mut m,
        Msg::Act(ActMsg::Started {
            kind: ActKind::PoliciesOn,
            program: "/demo/demo-scripts/policies-on.sh".into(),
            log_path: Some("/home/presenter/.local/state/control-room/acts/20261127-140500.000-policies-on.log".into()),
        }),
    );
    for (stderr, text) in [
        (
            false,
            "==> act 3 · policies on: applying AuthorizationPolicies on kind-trustusbank-vendor",
        ),
        (
            false,
            "authorizationpolicy.security.istio.io/default-deny created",
        ),
        (
            false,
            "authorizationpolicy.security.istio.io/deny-vendor-to-attacker created",
        ),
        (true, "Warning: a deprecated field was set"),
        (false, "==> act 3 ready"),
    ] {
        update(
            &mut m,
            Msg::Act(ActMsg::Line(ActLine {
                stderr,
                text: text.into(),
            })),
        );
    }
    update(
        &mut m,
        Msg::Act(ActMsg::Finished {
            outcome: ActOutcome::Exited(0),
            elapsed: std::time::Duration::from_millis(2400),
        }),
    );
    with_alerts(&mut m);
    m
}

/// Act 3's alerts as Prometheus reports them: both rules firing for the converter, the
/// deny rate rising.
fn with_alerts(m: &mut Model) {
    use control_room::model::alerts::{AlertRow, AlertState, AlertsMsg, Origin};
    let at = now().with_timezone(&Utc);
    let alert = |name: &str, severity: &str, summary: &str, secs: i64| AlertRow {
        name: name.into(),
        state: AlertState::Firing,
        labels: [
            ("alertname", name),
            ("cluster", "trustusbank-vendor"),
            ("severity", severity),
            (
                "source_principal",
                "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter",
            ),
            ("source_workload", "currency-converter"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        summary: summary.into(),
        active_at: Some(at - Duration::seconds(secs)),
        origin: Origin::Prometheus,
    };
    for msg in [
        AlertsMsg::Sources {
            prometheus: Some("forward prometheus".into()),
            alertmanager: None,
            poll_secs: 2,
            timeout_secs: 5,
        },
        AlertsMsg::Prometheus {
            at: at - Duration::seconds(1),
            result: Ok(vec![
                alert(
                    "IstioAuthZDeny",
                    "critical",
                    "Istio AuthZ denied a connection — possible attack in progress",
                    12,
                ),
                alert(
                    "BankToAttackerAttempt",
                    "warning",
                    "A bank workload tried to reach the attacker's namespace",
                    95,
                ),
            ]),
        },
        AlertsMsg::DenyRate {
            at,
            result: Ok((0..61)
                .map(|i| if i > 50 { (i - 50) as f64 * 0.01 } else { 0.0 })
                .collect()),
        },
    ] {
        update(m, Msg::Alerts(msg));
    }
}

fn render(model: &mut Model, w: u16, h: u16) -> String {
    ui::buffer_text(&render_buffer(model, w, h, "default"))
}

fn render_buffer(model: &mut Model, w: u16, h: u16, theme: &str) -> Buffer {
    model.size = (w, h);
    let theme = Theme::builtin(theme).expect("built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| ui::draw(f, model, &theme)).expect("draw");
    terminal.backend().buffer().clone()
}

/// The cell shows the role: its colours are the role's (modifiers may add to them).
fn assert_role(buffer: &Buffer, needle: &str, theme: &str, role: Role) {
    let want = Theme::builtin(theme).expect("theme").style(role);
    let got = style_at(buffer, needle);
    assert_eq!(
        (got.fg, got.bg),
        (want.fg.or(got.fg), want.bg.or(got.bg)),
        "{needle:?} in theme {theme} should be drawn as {role:?} ({want:?}), is {got:?}"
    );
    assert!(
        got.add_modifier.contains(want.add_modifier),
        "{needle:?} should carry {role:?}'s modifiers {:?}, has {:?}",
        want.add_modifier,
        got.add_modifier
    );
}

fn key(m: &mut Model, c: char) {
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    );
}

#[test]
fn screen_160x48() {
    let mut m = fixed_model();
    key(&mut m, '3');
    insta::assert_snapshot!(render(&mut m, 160, 48));
}

#[test]
fn screen_80x24_tabbed() {
    let mut m = fixed_model();
    key(&mut m, '3');
    insta::assert_snapshot!(render(&mut m, 80, 24));
}

#[test]
fn screen_240x70_zoomed_vendor() {
    let mut m = fixed_model();
    key(&mut m, '3');
    key(&mut m, 'z');
    insta::assert_snapshot!(render(&mut m, 240, 70));
}

#[test]
fn screen_100x48_stacked() {
    let mut m = fixed_model();
    insta::assert_snapshot!(render(&mut m, 100, 48));
}

#[test]
fn help_overlay_80x24() {
    let mut m = fixed_model();
    key(&mut m, '?');
    insta::assert_snapshot!(render(&mut m, 80, 24));
}

#[test]
fn act3_with_policies_and_act_log_160x48() {
    let mut m = act3_model();
    key(&mut m, '3');
    let screen = render(&mut m, 160, 48);
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|h| h.contains("ACT 3 · defended")),
        "a settled act 3:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn act_confirmation_80x24() {
    let mut m = fixed_model();
    key(&mut m, 'u');
    insta::assert_snapshot!(render(&mut m, 80, 24));
}

#[test]
fn tiny_and_huge_terminals_do_not_panic() {
    let mut m = fixed_model();
    for (w, h) in [(1, 1), (10, 3), (40, 10), (80, 24), (300, 100)] {
        render(&mut m, w, h);
        key(&mut m, 'z');
        render(&mut m, w, h);
        key(&mut m, 'z');
    }
}

#[test]
fn alerts_from_ztunnel_without_prometheus_120x40() {
    use control_room::model::alerts::{AlertsMsg, DenyCounter};
    let mut m = fixed_model();
    let at = now().with_timezone(&Utc);
    for msg in [
        AlertsMsg::Sources {
            prometheus: Some("forward prometheus".into()),
            alertmanager: None,
            poll_secs: 2,
            timeout_secs: 5,
        },
        AlertsMsg::Prometheus {
            at,
            result: Err(
                "cannot connect to 127.0.0.1:18002: Connection refused (os error 111)".into(),
            ),
        },
        AlertsMsg::Ztunnel {
            at: at - Duration::seconds(3),
            result: Ok(vec![DenyCounter {
                cluster: "trustusbank-vendor".into(),
                source_workload: "currency-converter".into(),
                source_principal:
                    "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"
                        .into(),
                destination: "mock-attacker.external-attacker".into(),
                denied: 4,
                attempts: 6,
            }]),
        },
    ] {
        update(&mut m, Msg::Alerts(msg));
    }
    insta::assert_snapshot!(render(&mut m, 120, 40));
}

/// Act 2 moments after the prompt: the stolen record reached the attacker.
fn exfil_model() -> Model {
    let mut m = fixed_model();
    // The act (a rollout) began at `now`; the record arrived in it.
    let at = now().with_timezone(&Utc);
    for msg in [
        ExfilMsg::Following {
            pods: vec!["mock-attacker-6c5d4e3f2-zz9y8".into()],
        },
        ExfilMsg::Event {
            pod: "mock-attacker-6c5d4e3f2-zz9y8".into(),
            at,
            line: "EXFIL RECEIVED from 10.30.1.7".into(),
        },
        ExfilMsg::Record {
            lines: vec![
                "{".into(),
                "  \"name\": \"Alex Carter\",".into(),
                "}".into(),
            ],
        },
    ] {
        update(&mut m, Msg::Exfil(msg));
    }
    m
}

/// Colour carries meaning on these screens; the text snapshots cannot see it, so each
/// meaningful role is pinned at a cell, in every built-in theme.
#[test]
fn meaning_is_in_the_colours() {
    for (theme, _) in control_room::config::BUILTIN_THEMES {
        // The lost cluster's pane is greyed, its notice in the danger role.
        let mut m = fixed_model();
        let screen = render_buffer(&mut m, 160, 48, theme);
        assert_role(&screen, "support-bot", theme, Role::Unreachable);
        assert_role(&screen, "unreachable since", theme, Role::Danger);
        assert_role(&screen, "chatbot", theme, Role::Text);

        // A rising exfil counter is red; so is "this act".
        let mut m = exfil_model();
        let screen = render_buffer(&mut m, 160, 48, theme);
        assert_role(&screen, "1 this act", theme, Role::Danger);
        let number = style_at(&screen, "▀█");
        let danger = Theme::builtin(theme).expect("theme").style(Role::Danger);
        assert_eq!(
            number.fg,
            danger.fg.or(number.fg),
            "the big number is red in {theme}"
        );
        assert!(
            number.add_modifier.contains(Modifier::REVERSED),
            "a fresh rise flashes in {theme}"
        );

        // A firing critical alert is drawn in the danger role, bold.
        let mut m = act3_model();
        let screen = render_buffer(&mut m, 160, 48, theme);
        assert_role(&screen, "IstioAuthZDeny", theme, Role::Danger);
        assert!(
            style_at(&screen, "IstioAuthZDeny")
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_role(&screen, "BankToAttackerAttempt", theme, Role::Warn);
    }
}
