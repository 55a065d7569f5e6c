//! The player's beats against a hand-built model, keys applied through `update`.

use super::*;
use crate::model::chat::{ChatEntry, TraceEntry};
use crate::model::{
    ActLine, ActOutcome, DeploymentSummary, PodSummary, PolicySummary, ResourceMsg, WorldMode,
};
use crate::msg::alerts::{AlertRow, AlertState, Origin};
use crate::msg::exfil::ExfilMsg;

const CLEAN: &str = "currency-converter:1.0.0";
const RUGPULL: &str = "currency-converter:1.0.0-rugpull";
const PRINCIPAL: &str = "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";

fn model() -> Model {
    let clusters = vec![("vendor".to_string(), "kind-trustusbank-vendor".to_string())];
    let mut m = Model::new(WorldMode::Simulated, clusters, crate::sources::clock::now());
    set_tool(&mut m, CLEAN, PodPhase::Running, &[]);
    m.exfil.following = vec!["mock-attacker-1".into()];
    m
}

fn set_tool(m: &mut Model, image: &str, phase: PodPhase, policies: &[&str]) {
    let ready = phase == PodPhase::Running;
    let pod = PodSummary {
        namespace: "trustusbank-bank-vendors".into(),
        name: "currency-converter-abc-1".into(),
        ready: u16::from(ready),
        containers: 1,
        phase,
        restarts: 0,
        created: None,
        image: Some(image.into()),
        node: None,
        message: (!ready).then(|| "Back-off pulling image".to_string()),
        last_restart: None,
        ready_since: None,
    };
    let deployment = DeploymentSummary {
        namespace: "trustusbank-bank-vendors".into(),
        name: "currency-converter".into(),
        replicas: 1,
        status_replicas: 1,
        ready: i32::from(ready),
        updated: i32::from(ready),
        available: i32::from(ready),
        image: Some(image.into()),
        generation: 1,
        observed_generation: 1,
        unavailable_since: None,
        images: Vec::new(),
    };
    let c = &mut m.clusters[0];
    c.apply_pods(ResourceMsg::Reset(vec![pod]));
    c.apply_deployments(ResourceMsg::Reset(vec![deployment]));
    c.apply_policies(ResourceMsg::Reset(
        policies
            .iter()
            .map(|n| PolicySummary {
                namespace: "trustusbank-bank-vendors".into(),
                name: n.to_string(),
                action: "DENY".into(),
                sources: Vec::new(),
                created: None,
            })
            .collect(),
    ));
    m.refresh_act();
}

fn story(text: &str) -> Story {
    Story::parse(text, "t.toml").unwrap()
}

/// Applies what the player asked for through `update`, as `rehearse` does.
fn apply(m: &mut Model, poll: &Poll) -> Vec<crate::msg::Effect> {
    let mut effects = Vec::new();
    for msg in &poll.input {
        effects.extend(crate::app::update(m, msg.clone()));
    }
    effects
}

fn start_act(m: &mut Model, kind: ActKind) {
    crate::app::update(
        m,
        Msg::Act(crate::msg::ActMsg::Started {
            kind,
            program: format!("demo-scripts/{}.sh", kind.key()),
            log_path: None,
        }),
    );
}

fn finish_act(m: &mut Model, outcome: ActOutcome) {
    crate::app::update(
        m,
        Msg::Act(crate::msg::ActMsg::Finished {
            outcome,
            elapsed: Duration::from_millis(4200),
        }),
    );
}

#[test]
fn an_act_beat_waits_for_the_state_and_times_out_saying_why() {
    let mut m = model();
    set_tool(
        &mut m,
        "currency-converter:does-not-exist",
        PodPhase::Failing("ImagePullBackOff".into()),
        &[],
    );
    let t0 = Instant::now();
    let mut p = Player::new(
        story("[[beat]]\nname = \"ACT 2 shown\"\nact = 2\ntimeout = 5\n"),
        Mode::Rehearse,
        None,
        t0,
    );
    let poll = p.poll(&m, t0);
    assert!(poll.reports.is_empty());
    assert_eq!(
        poll.wake,
        Some(t0 + Duration::from_secs(5)),
        "woken for the timeout"
    );
    let poll = p.poll(&m, t0 + Duration::from_secs(5));
    let r = &poll.reports[0];
    assert!(!r.passed);
    assert!(
        r.detail
            .starts_with("timed out after 5 s — waiting for ACT 2: the header shows rolling out…"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("currency-converter rollout stuck: currency-converter-abc-1 ImagePullBackOff (Back-off pulling image)"), "{}", r.detail);
    assert!(!p.outcome().unwrap().passed());
}

#[test]
fn a_stage_left_at_act_3_is_told_to_reset_first() {
    let mut m = model();
    set_tool(&mut m, RUGPULL, PodPhase::Running, &["default-deny"]);
    let t0 = Instant::now();
    let s = story("[[beat]]\nname = \"ACT 1 shown\"\nact = 1\ntimeout = 1\n");
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    p.poll(&m, t0);
    let r = p.poll(&m, t0 + Duration::from_secs(1)).reports.remove(0);
    assert!(
        r.detail.contains("the header shows ACT 3 · defended"),
        "{}",
        r.detail
    );
    assert!(
        r.detail
            .ends_with("reset the stage first (r, or `control-room act reset`)"),
        "{}",
        r.detail
    );
}

#[test]
fn an_act_key_is_confirmed_then_the_act_must_show_and_its_script_end() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(
        "[[beat]]\nname = \"press u\"\npress = \"act_upgrade\"\n[[beat]]\nname = \"ACT 2 shown\"\nact = 2\n",
    );
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    let poll = p.poll(&m, t0);
    assert!(apply(&mut m, &poll).is_empty(), "u asks first");
    assert_eq!(m.confirming, Some(ActKind::Upgrade));
    let poll = p.poll(&m, t0);
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::RunAct(ActKind::Upgrade)],
        "y answered"
    );
    assert!(
        p.poll(&m, t0).reports.is_empty(),
        "not passed until the script starts"
    );
    start_act(&mut m, ActKind::Upgrade);
    let poll = p.poll(&m, t0);
    assert_eq!(poll.reports[0].name, "press u");
    assert!(poll.reports[0].passed);
    set_tool(&mut m, RUGPULL, PodPhase::Running, &[]);
    assert!(p.poll(&m, t0).reports.is_empty(), "the script still runs");
    finish_act(&mut m, ActOutcome::Exited(0));
    let poll = p.poll(&m, t0);
    assert!(poll.reports[0].passed, "{:?}", poll.reports);
    assert_eq!(
        poll.reports[0].detail,
        "ACT 2 · compromised · currency-converter:1.0.0-rugpull"
    );
    assert!(p.outcome().unwrap().passed());
}

#[test]
fn a_failed_script_fails_the_act_beat_at_once() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(
        "[[beat]]\nname = \"press u\"\npress = \"u\"\n[[beat]]\nname = \"ACT 2 shown\"\nact = 2\n",
    );
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    m.confirm_acts = false;
    let poll = p.poll(&m, t0);
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::RunAct(ActKind::Upgrade)]
    );
    start_act(&mut m, ActKind::Upgrade);
    set_tool(
        &mut m,
        "currency-converter:does-not-exist",
        PodPhase::Failing("ImagePullBackOff".into()),
        &[],
    );
    if let Some(run) = m.act_run.as_mut() {
        run.push(ActLine {
            text: "error: timed out waiting for the condition".into(),
            stderr: true,
        });
    }
    p.poll(&m, t0);
    finish_act(&mut m, ActOutcome::Exited(1));
    let poll = p.poll(&m, t0 + Duration::from_secs(1));
    let r = &poll.reports[0];
    assert_eq!((r.name.as_str(), r.passed), ("ACT 2 shown", false));
    assert!(
        r.detail
            .contains("act 2's script demo-scripts/upgrade.sh ended exit 1 after 4.2 s"),
        "{}",
        r.detail
    );
    assert!(
        r.detail
            .contains("last said: error: timed out waiting for the condition"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("ImagePullBackOff"), "{}", r.detail);
}

#[test]
fn the_autopilot_shows_the_confirmation_before_answering_it() {
    let mut m = model();
    let t0 = Instant::now();
    let mut p = Player::new(
        story(
            "[story]\nconfirm_pause = 2\n[[beat]]\nname = \"press p\"\npress = \"act_policies_on\"\n",
        ),
        Mode::Autopilot,
        None,
        t0,
    );
    let poll = p.poll(&m, t0);
    apply(&mut m, &poll);
    assert!(p.poll(&m, t0).input.is_empty(), "the question is on screen");
    let poll = p.poll(&m, t0 + Duration::from_secs(1));
    assert!(poll.input.is_empty(), "still showing the question");
    assert_eq!(poll.wake, Some(t0 + Duration::from_secs(2)));
    let poll = p.poll(&m, t0 + Duration::from_secs(2));
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::RunAct(ActKind::PoliciesOn)]
    );
}

fn answer(m: &mut Model, calls: &[&str], reply: &str) {
    for (i, c) in calls.iter().enumerate() {
        m.chat.push_trace(TraceEntry::call(
            m.now,
            &i.to_string(),
            c,
            &serde_json::json!({}),
            None,
        ));
    }
    m.chat.push_entry(ChatEntry {
        speaker: Speaker::Agent,
        text: reply.into(),
        at: m.now,
        latency_ms: None,
    });
    m.chat.pending = false;
    m.chat.exchanges += 1;
}

#[test]
fn a_prompt_goes_through_the_chat_box_and_its_exchange_is_read() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(concat!(
        "[[beat]]\nname = \"send\"\nprompt = \"canonical\"\n",
        "[[beat]]\nname = \"reply\"\nreply_contains = \"£4,287.55\"\n",
        "[[beat]]\nname = \"profile\"\ntrace_calls = \"get_profile\"\n",
        "[[beat]]\nname = \"exfil\"\nexfil = \"+1\"\n",
    ));
    let mut p = Player::new(s, Mode::Rehearse, Some("chatbot".into()), t0);
    let config = crate::config::Config::defaults();
    let chatbot = config
        .forwards
        .iter()
        .find(|f| f.name == "chatbot")
        .unwrap();
    let mut row = crate::model::forward::ForwardRow::from_config(chatbot);
    row.apply(
        crate::msg::ForwardMsg::Listening("127.0.0.1:18009".parse().unwrap()),
        m.now,
    );
    m.forwards.push(row);
    let poll = p.poll(&m, t0);
    let effects = apply(&mut m, &poll);
    assert_eq!(
        effects,
        [crate::msg::Effect::SendPrompt(
            crate::model::chat::CANONICAL_PROMPT.into()
        )]
    );
    assert!(!m.chat.focused, "Esc left the chat box");
    let poll = p.poll(&m, t0);
    assert!(poll.reports[0].passed, "sent");
    answer(
        &mut m,
        &["get_balance", "get_profile", "convert_currency"],
        "£4,287.55 ≈ $5,445.19",
    );
    let poll = p.poll(&m, t0);
    assert_eq!(
        poll.reports.iter().filter(|r| r.passed).count(),
        2,
        "{:?}",
        poll.reports
    );
    assert!(p.outcome().is_none(), "waiting for the exfil");
    crate::app::update(
        &mut m,
        Msg::Exfil(ExfilMsg::Event {
            at: chrono::Utc::now(),
            line: "EXFIL RECEIVED".into(),
            pod: "p".into(),
        }),
    );
    let poll = p.poll(&m, t0);
    assert_eq!(
        poll.reports[0].detail,
        "exfil +1 since the prompt (1 in all)"
    );
    assert!(p.outcome().unwrap().passed());
}

#[test]
fn a_prompt_waits_for_the_chatbot_forward() {
    let m = model();
    let t0 = Instant::now();
    let mut p = Player::new(
        story("[[beat]]\nname = \"send\"\nprompt = \"hi\"\ntimeout = 3\n"),
        Mode::Rehearse,
        Some("chatbot".into()),
        t0,
    );
    assert!(p.poll(&m, t0).input.is_empty());
    let r = p.poll(&m, t0 + Duration::from_secs(3)).reports.remove(0);
    assert!(
        r.detail.contains("the prompt did not reach the agent") || r.detail.contains("forward"),
        "{}",
        r.detail
    );
}

#[test]
fn trace_and_exfil_negatives_wait_for_the_exchange_and_fail_on_evidence() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(concat!(
        "[[beat]]\nname = \"send\"\nprompt = \"hello\"\n",
        "[[beat]]\nname = \"clean\"\ntrace_lacks = \"get_profile\"\n",
        "[[beat]]\nname = \"quiet\"\nexfil = \"unchanged\"\nhold = 2\n",
    ));
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    let poll = p.poll(&m, t0);
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::SendPrompt("hello".into())]
    );
    p.poll(&m, t0);
    assert!(
        p.poll(&m, t0).reports.is_empty(),
        "the exchange is not over"
    );
    answer(&mut m, &["get_balance"], "ok");
    let poll = p.poll(&m, t0 + Duration::from_secs(1));
    assert_eq!(poll.reports[0].detail, "it called get_balance");
    assert_eq!(poll.wake, Some(t0 + Duration::from_secs(3)), "the hold");
    assert!(p.poll(&m, t0 + Duration::from_secs(2)).reports.is_empty());
    let poll = p.poll(&m, t0 + Duration::from_secs(3));
    assert!(poll.reports[0].passed, "{:?}", poll.reports);

    // The same, but the exfil rises during the hold.
    let mut m = model();
    let s = story(
        "[[beat]]\nname = \"send\"\nprompt = \"hello\"\n[[beat]]\nname = \"quiet\"\nexfil = \"unchanged\"\n",
    );
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    let poll = p.poll(&m, t0);
    apply(&mut m, &poll);
    p.poll(&m, t0);
    answer(&mut m, &["get_profile"], "ok");
    p.poll(&m, t0);
    crate::app::update(
        &mut m,
        Msg::Exfil(ExfilMsg::Event {
            at: chrono::Utc::now(),
            line: "EXFIL RECEIVED".into(),
            pod: "p".into(),
        }),
    );
    let r = p.poll(&m, t0 + Duration::from_secs(1)).reports.remove(0);
    assert!(
        !r.passed
            && r.detail
                .starts_with("the exfil counter rose by 1 since the prompt"),
        "{}",
        r.detail
    );
}

#[test]
fn an_old_exfil_read_late_is_not_news() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(
        "[[beat]]\nname = \"send\"\nprompt = \"hello\"\n[[beat]]\nname = \"quiet\"\nexfil = \"unchanged\"\nhold = 1\n",
    );
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    let poll = p.poll(&m, t0);
    apply(&mut m, &poll);
    p.poll(&m, t0);
    // The follower reaches the last rehearsal's exfil only now: it happened an hour ago.
    let old = chrono::Utc::now() - chrono::Duration::hours(1);
    crate::app::update(
        &mut m,
        Msg::Exfil(ExfilMsg::Event {
            at: old,
            line: "EXFIL RECEIVED".into(),
            pod: "p".into(),
        }),
    );
    answer(&mut m, &["get_balance"], "ok");
    p.poll(&m, t0);
    let r = p.poll(&m, t0 + Duration::from_secs(1)).reports.remove(0);
    assert!(r.passed, "{}", r.detail);
    assert_eq!(
        r.detail,
        "no exfil since the prompt, 1 s after the reply (1 in all)"
    );
}

#[test]
fn an_alert_beat_matches_name_state_and_labels() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story(&format!(
        "[[beat]]\nname = \"deny\"\nalert = \"IstioAuthZDeny\"\nlabels = {{ source_principal = \"{PRINCIPAL}\" }}\ntimeout = 9\n"
    ));
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    let row = |state, principal: &str| AlertRow {
        name: "IstioAuthZDeny".into(),
        state,
        labels: [("source_principal".to_string(), principal.to_string())].into(),
        summary: String::new(),
        active_at: None,
        origin: Origin::Prometheus,
    };
    m.alerts.alerts = vec![
        row(AlertState::Pending, PRINCIPAL),
        row(AlertState::Firing, "spiffe://other"),
    ];
    assert!(
        p.poll(&m, t0).reports.is_empty(),
        "pending, or another principal, is not it"
    );
    let r = p.poll(&m, t0 + Duration::from_secs(9)).reports.remove(0);
    assert!(
        r.detail
            .contains("active: IstioAuthZDeny pending, IstioAuthZDeny firing"),
        "{}",
        r.detail
    );

    let mut p = Player::new(
        story(&format!(
            "[[beat]]\nname = \"deny\"\nalert = \"IstioAuthZDeny\"\nlabels = {{ source_principal = \"{PRINCIPAL}\" }}\n"
        )),
        Mode::Rehearse,
        None,
        t0,
    );
    m.alerts.alerts.push(row(AlertState::Firing, PRINCIPAL));
    let r = p.poll(&m, t0).reports.remove(0);
    assert_eq!(r.detail, format!("IstioAuthZDeny firing from {PRINCIPAL}"));
}

#[test]
fn rehearse_resets_after_a_failure_stopping_the_running_act_first() {
    let mut m = model();
    m.confirm_acts = false;
    let t0 = Instant::now();
    let s = story(concat!(
        "[reset]\npress = \"act_reset\"\nact = 1\n",
        "[[beat]]\nname = \"never\"\nalert = \"Nope\"\ntimeout = 1\n",
    ));
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    start_act(&mut m, ActKind::Upgrade);
    p.poll(&m, t0);
    let poll = p.poll(&m, t0 + Duration::from_secs(1));
    assert!(!poll.reports[0].passed);
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::CancelAct],
        "Ctrl+C stops the act"
    );
    assert!(
        p.poll(&m, t0 + Duration::from_secs(1)).input.is_empty(),
        "waits for it to stop"
    );
    finish_act(&mut m, ActOutcome::Cancelled);
    let poll = p.poll(&m, t0 + Duration::from_secs(2));
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::RunAct(ActKind::Reset)]
    );
    start_act(&mut m, ActKind::Reset);
    p.poll(&m, t0 + Duration::from_secs(2));
    finish_act(&mut m, ActOutcome::Exited(0));
    let poll = p.poll(&m, t0 + Duration::from_secs(3));
    assert_eq!(poll.reports[0].name, "reset");
    assert!(poll.reports[0].passed, "{:?}", poll.reports);
    let outcome = p.outcome().unwrap();
    assert_eq!(outcome.failed.unwrap().name, "never");
    assert!(outcome.reset.unwrap().passed);
}

#[test]
fn a_signal_ends_the_beat_and_still_resets() {
    let mut m = model();
    let t0 = Instant::now();
    let s = story("[reset]\npress = \"r\"\nact = 1\n[[beat]]\nname = \"wait\"\nact = 3\n");
    let mut p = Player::new(s, Mode::Rehearse, None, t0);
    p.poll(&m, t0);
    crate::app::update(&mut m, Msg::Signal(15));
    let poll = p.poll(&m, t0);
    assert_eq!(poll.reports[0].detail, "interrupted by signal 15");
    apply(&mut m, &poll);
    assert_eq!(m.confirming, Some(ActKind::Reset), "r pressed");
    let poll = p.poll(&m, t0);
    assert_eq!(
        apply(&mut m, &poll),
        [crate::msg::Effect::RunAct(ActKind::Reset)]
    );
    start_act(&mut m, ActKind::Reset);
    p.poll(&m, t0);
    finish_act(&mut m, ActOutcome::Exited(0));
    p.poll(&m, t0);
    let outcome = p.outcome().unwrap();
    assert_eq!(outcome.signal, Some(15));
    assert!(!outcome.passed());
    assert!(outcome.reset.unwrap().passed);
}

#[test]
fn the_autopilot_pauses_for_viewers_then_quits() {
    let mut m = model();
    let t0 = Instant::now();
    let mut p = Player::new(
        story("[[beat]]\nname = \"clean\"\nact = 1\npause = 3\n"),
        Mode::Autopilot,
        None,
        t0,
    );
    let poll = p.poll(&m, t0);
    assert!(poll.reports[0].passed);
    assert!(poll.input.is_empty(), "no q during the pause");
    assert_eq!(poll.wake, Some(t0 + Duration::from_secs(3)));
    let poll = p.poll(&m, t0 + Duration::from_secs(3));
    assert_eq!(apply(&mut m, &poll), [crate::msg::Effect::Quit]);
    p.poll(&m, t0 + Duration::from_secs(3));
    assert!(p.outcome().unwrap().passed());
}

#[test]
fn the_autopilots_q_is_pressed_again_when_an_overlay_took_it() {
    let mut m = model();
    let t0 = Instant::now();
    let mut p = Player::new(
        story("[[beat]]\nname = \"clean\"\nact = 1\n"),
        Mode::Autopilot,
        None,
        t0,
    );
    m.show_help = true;
    let poll = p.poll(&m, t0);
    assert!(apply(&mut m, &poll).is_empty(), "q closed the help");
    assert!(!m.show_help);
    assert!(p.poll(&m, t0).input.is_empty(), "not at once");
    let poll = p.poll(&m, t0 + QUIT_AGAIN);
    assert_eq!(apply(&mut m, &poll), [crate::msg::Effect::Quit]);
    p.poll(&m, t0 + QUIT_AGAIN);
    assert!(p.outcome().is_some());
}

#[test]
fn an_unreachable_tool_cluster_is_said() {
    let clusters = vec![("vendor".to_string(), "kind-trustusbank-vendor".to_string())];
    let mut m = Model::new(WorldMode::Live, clusters, crate::sources::clock::now());
    let at = m.now;
    crate::app::update(
        &mut m,
        Msg::Cluster(
            0,
            crate::msg::ClusterMsg::Unreachable {
                at,
                error: "connection refused".into(),
            },
        ),
    );
    let t0 = Instant::now();
    let mut p = Player::new(
        story("[[beat]]\nname = \"a\"\nact = 1\ntimeout = 1\n"),
        Mode::Rehearse,
        None,
        t0,
    );
    p.poll(&m, t0);
    let r = p.poll(&m, t0 + Duration::from_secs(1)).reports.remove(0);
    assert!(
        r.detail
            .ends_with("; vendor is unreachable: connection refused"),
        "{}",
        r.detail
    );
}
