//! The triage keys through `update`: what each opens, where Esc goes, the filter box, the
//! problems list's Enter, deletes and read-only.

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::update;
use crate::model::problems::Kind;
use crate::model::rows::RowKey;
use crate::model::{Model, PodPhase, PodSummary, ResourceMsg, View, WorldMode};
use crate::msg::inspect::{InspectMsg, InspectNews};
use crate::msg::{ActKind, ClusterMsg, Effect, InspectTarget, Msg};

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("time")
}

fn pod(ns: &str, name: &str, phase: PodPhase) -> PodSummary {
    let ready = u16::from(phase == PodPhase::Running);
    PodSummary {
        namespace: ns.into(),
        name: name.into(),
        ready,
        containers: 1,
        phase,
        restarts: 0,
        created: Some(t("2026-12-01T09:00:00Z").to_utc()),
        image: Some(format!("registry.example/{name}:1.0.0")),
        node: None,
        message: None,
        last_restart: None,
        ready_since: None,
    }
}

/// Three clusters; bank has a pod failing to pull its image.
fn model() -> Model {
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, t("2026-12-01T10:00:00Z"));
    let pods = |list: Vec<PodSummary>| ClusterMsg::Pods(ResourceMsg::Reset(list));
    update(
        &mut m,
        Msg::Cluster(0, pods(vec![pod("web", "frontend-1", PodPhase::Running)])),
    );
    let mut broken = pod(
        "trustusbank-bank",
        "account-mcp-2",
        PodPhase::Failing("ImagePullBackOff".into()),
    );
    broken.message = Some("Back-off pulling image \"account-mcp:does-not-exist\"".into());
    update(
        &mut m,
        Msg::Cluster(
            1,
            pods(vec![
                pod("trustusbank-bank", "account-mcp-1", PodPhase::Running),
                broken,
            ]),
        ),
    );
    update(
        &mut m,
        Msg::Cluster(
            2,
            pods(vec![pod(
                "trustusbank-bank-vendors",
                "currency-converter-1",
                PodPhase::Running,
            )]),
        ),
    );
    m
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        update(m, ch(c));
    }
}

#[test]
fn enter_describes_the_selected_pod_and_esc_comes_back_to_it() {
    let mut m = model();
    update(&mut m, ch('2'));
    assert!(
        update(&mut m, key(KeyCode::Enter)).is_empty(),
        "nothing selected yet"
    );
    assert!(
        m.notice
            .as_ref()
            .is_some_and(|(n, _)| n.contains("select a row"))
    );
    update(&mut m, ch('j'));
    update(&mut m, ch('j'));
    let effects = update(&mut m, key(KeyCode::Enter));
    let target = InspectTarget::Pod {
        cluster: 1,
        namespace: "trustusbank-bank".into(),
        name: "account-mcp-1".into(),
    };
    assert_eq!(
        effects,
        vec![Effect::Inspect {
            id: 1,
            target: target.clone()
        }]
    );
    assert_eq!(m.view, View::Detail);
    // News for another request is not this view's.
    update(
        &mut m,
        Msg::Inspect(InspectMsg {
            id: 99,
            news: InspectNews::Gone,
        }),
    );
    assert!(!m.inspect.as_ref().is_some_and(|i| i.gone));
    update(
        &mut m,
        Msg::Inspect(InspectMsg {
            id: 1,
            news: InspectNews::Gone,
        }),
    );
    assert!(m.inspect.as_ref().is_some_and(|i| i.gone));
    // e switches to the same object's events without a second reader.
    assert!(update(&mut m, ch('e')).is_empty());
    assert_eq!(m.view, View::Events);
    assert_eq!(update(&mut m, key(KeyCode::Esc)), vec![Effect::StopInspect]);
    assert_eq!(m.view, View::Panes);
    assert_eq!(
        m.clusters[1].cursor,
        Some(RowKey::Pod((
            "trustusbank-bank".into(),
            "account-mcp-1".into()
        ))),
        "the cursor is where it was"
    );
    // On a namespace row, e shows the namespace's events; d says what it describes.
    update(&mut m, ch('g'));
    assert!(update(&mut m, ch('d')).is_empty());
    let effects = update(&mut m, ch('e'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Inspect {
            target: InspectTarget::Namespace { cluster: 1, .. },
            ..
        }]
    ));
}

#[test]
fn y_copies_the_kubectl_command_for_the_selection() {
    let mut m = model();
    update(&mut m, ch('3'));
    update(&mut m, ch('j'));
    update(&mut m, ch('j'));
    assert_eq!(
        update(&mut m, ch('y')),
        vec![Effect::CopyToClipboard(
            "kubectl --context kind-trustusbank-vendor -n trustusbank-bank-vendors describe pod currency-converter-1".into()
        )]
    );
    update(&mut m, ch('e'));
    assert_eq!(
        update(&mut m, ch('y')),
        vec![Effect::CopyToClipboard(
            "kubectl --context kind-trustusbank-vendor -n trustusbank-bank-vendors get events --field-selector involvedObject.kind=Pod,involvedObject.name=currency-converter-1".into()
        )]
    );
}

#[test]
fn one_filter_for_every_pane_typed_live_and_cleared_by_esc() {
    let mut m = model();
    update(&mut m, ch('/'));
    type_text(&mut m, "currency");
    assert_eq!(m.active_filter(), Some("currency"));
    let shown: Vec<(usize, usize)> = m
        .clusters
        .iter()
        .map(|c| (c.pods_shown(), c.pods_total()))
        .collect();
    assert_eq!(shown, [(0, 1), (0, 2), (1, 1)]);
    assert_eq!(m.focus, 0, "digits type in the box, they do not focus");
    update(&mut m, key(KeyCode::Enter));
    assert!(m.filter_input.is_none());
    assert_eq!(m.active_filter(), Some("currency"), "Enter keeps it");
    // A regex that does not compile keeps the last good filter and says why.
    update(&mut m, ch('/'));
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    type_text(&mut m, "re:(acc");
    assert!(
        m.filter_error
            .as_ref()
            .is_some_and(|e| e.contains("regular expression"))
    );
    type_text(&mut m, "ount|front)");
    assert_eq!(m.filter_error, None);
    let shown: Vec<usize> = m.clusters.iter().map(|c| c.pods_shown()).collect();
    assert_eq!(shown, [1, 2, 0]);
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.active_filter(), None);
    assert!(m.clusters.iter().all(|c| c.filter.is_none()));
}

#[test]
fn problems_list_every_cluster_and_enter_opens_the_object() {
    let mut m = model();
    let problems: Vec<(usize, String)> = m
        .current_problems()
        .map(|p| (p.key.cluster, p.what.clone()))
        .collect();
    assert_eq!(problems, [(1, "ImagePullBackOff".to_string())]);
    update(&mut m, ch('!'));
    assert_eq!(m.view, View::Problems);
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Inspect {
            id: 1,
            target: InspectTarget::Pod {
                cluster: 1,
                namespace: "trustusbank-bank".into(),
                name: "account-mcp-2".into(),
            }
        }]
    );
    assert_eq!((m.view, m.focus), (View::Detail, 1));
    assert_eq!(
        m.clusters[1].cursor,
        Some(RowKey::Pod((
            "trustusbank-bank".into(),
            "account-mcp-2".into()
        )))
    );
    assert_eq!(update(&mut m, key(KeyCode::Esc)), vec![Effect::StopInspect]);
    assert_eq!(m.view, View::Problems, "back to the list it came from");
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.view, View::Panes);

    // The pod comes good: the list empties.
    update(
        &mut m,
        Msg::Cluster(
            1,
            ClusterMsg::Pods(ResourceMsg::Applied(pod(
                "trustusbank-bank",
                "account-mcp-2",
                PodPhase::Running,
            ))),
        ),
    );
    assert_eq!(m.current_problems().count(), 0);
    // A cluster that goes away is one.
    let now = m.now;
    update(
        &mut m,
        Msg::Cluster(
            2,
            ClusterMsg::Unreachable {
                at: now,
                error: "connection refused".into(),
            },
        ),
    );
    let p = m.current_problems().next().expect("unreachable");
    assert_eq!(
        (p.key.kind, p.what.as_str()),
        (Kind::Cluster, "unreachable")
    );
}

#[test]
fn ctrl_d_asks_naming_cluster_and_pod_and_read_only_refuses_writes() {
    let mut m = model();
    update(&mut m, ch('2'));
    update(&mut m, ch('j'));
    update(&mut m, ch('j'));
    let ctrl_d = Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    assert!(update(&mut m, ctrl_d.clone()).is_empty());
    assert_eq!(
        m.confirming_delete,
        Some((1, "trustusbank-bank".into(), "account-mcp-1".into()))
    );
    assert!(
        update(&mut m, ch('n')).is_empty(),
        "anything but y/Enter declines"
    );
    assert!(m.confirming_delete.is_none());
    update(&mut m, ctrl_d.clone());
    assert_eq!(
        update(&mut m, ch('y')),
        vec![Effect::DeletePod {
            cluster: 1,
            namespace: "trustusbank-bank".into(),
            name: "account-mcp-1".into(),
        }]
    );

    m.read_only = true;
    assert!(update(&mut m, ctrl_d).is_empty());
    assert!(m.confirming_delete.is_none());
    assert!(
        m.notice
            .as_ref()
            .is_some_and(|(n, _)| n.starts_with("read-only"))
    );
    m.confirm_acts = false;
    assert!(update(&mut m, ch('u')).is_empty(), "acts are writes too");
    assert!(update(&mut m, Msg::RunAct(ActKind::Upgrade)).is_empty());
    assert!(m.notice.as_ref().is_some_and(|(n, _)| n.contains("act 2")));
}

#[test]
fn views_scroll_within_their_lines() {
    let mut m = model();
    update(&mut m, Msg::Resize(120, 36));
    update(&mut m, ch('I'));
    assert_eq!(m.view, View::Images);
    for _ in 0..50 {
        update(&mut m, ch('j'));
    }
    assert_eq!(m.view_scroll, 0, "no workloads listed: nothing to scroll");
    update(&mut m, ch('I'));
    assert_eq!(m.view, View::Panes, "the view's key closes it");
}

#[test]
fn on_a_small_screen_tab_reaches_chat_exfil_and_alerts() {
    let mut m = model();
    update(&mut m, Msg::Resize(80, 24));
    let mut seen = Vec::new();
    for _ in 0..7 {
        update(&mut m, key(KeyCode::Tab));
        seen.push((m.view, m.focus));
    }
    assert_eq!(
        seen,
        [
            (View::Panes, 1),
            (View::Panes, 2),
            (View::Chat, 2),
            (View::Exfil, 2),
            (View::Alerts, 2),
            (View::Panes, 0),
            (View::Panes, 1),
        ]
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert_eq!(m.view, View::Alerts, "Shift+Tab goes round the other way");
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.view, View::Panes);
    // A big screen shows them all already: Tab is for the clusters only.
    update(&mut m, Msg::Resize(200, 60));
    for _ in 0..3 {
        update(&mut m, key(KeyCode::Tab));
        assert_eq!(m.view, View::Panes);
    }
}
