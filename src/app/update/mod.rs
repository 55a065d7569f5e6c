//! `update` is the only writer of the model: a plain function of (model, message).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

mod chat;
mod filter;
mod logs;
#[cfg(test)]
mod triage_tests;
mod views;

use chat::{on_chat_event, on_chat_key, send_prompt};

use crate::config::Action;
use crate::model::forward::ForwardRow;
use crate::model::{ActRun, ClusterModel, Model, Reachability, View};
use crate::msg::{ActKind, ActMsg, ClusterMsg, Effect, ExfilMsg, Msg};

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    model.unchanged = false;
    match msg {
        Msg::Key(key) => return on_key(model, key),
        Msg::Resize(w, h) => model.size = (w, h),
        Msg::PageRows(rows) => model.page_rows = rows.max(1),
        Msg::Prompt(text) => return send_prompt(model, text),
        Msg::RunAct(kind) => return start_act(model, kind),
        Msg::Interrupt => return interrupt(model),
        Msg::Signal(number) => return ended_by_signal(model, number),
        Msg::Tick(now) => {
            model.now = now;
            model.problems.prune(now.with_timezone(&chrono::Utc));
            if model.doctor.due(now) {
                return views::start_doctor(model);
            }
        }
        Msg::RunDoctor => return views::start_doctor(model),
        Msg::Doctor(msg) => model.doctor.apply(msg, model.now),
        Msg::Cluster(i, msg) => {
            if let Some(cluster) = model.clusters.get_mut(i) {
                model
                    .problems
                    .observe(i, &msg, model.now.with_timezone(&chrono::Utc));
                let tool_cluster = cluster.name == model.demo.tool.cluster;
                on_cluster(cluster, msg);
                if tool_cluster {
                    model.refresh_act();
                }
            }
        }
        Msg::Act(msg) => on_act(model, msg),
        Msg::Forward(i, msg) => {
            let now = model.now;
            if let Some(row) = model.forwards.get_mut(i) {
                row.apply(msg, now);
            }
        }
        Msg::Notice(text) => notice(model, text),
        Msg::Chat(event) => on_chat_event(model, event),
        Msg::Exfil(msg) => on_exfil(model, msg),
        Msg::Alerts(msg) => {
            if !model.alerts.apply(msg, model.now) {
                model.unchanged = true;
            }
        }
        Msg::Inspect(msg) => views::on_inspect(model, msg),
        Msg::Logs(msg) => logs::on_logs(model, msg),
        Msg::ReadLogs(request) => return logs::read_logs(model, request),
        Msg::RecordingFailed(why) => {
            notice(model, why.clone());
            model.recording_stopped = Some(why);
        }
    }
    Vec::new()
}

fn on_exfil(model: &mut Model, msg: ExfilMsg) {
    let exfil = &mut model.exfil;
    match msg {
        ExfilMsg::Following { pods } => {
            exfil.following = pods;
            exfil.trouble = None;
        }
        ExfilMsg::Event { at, line, .. } => {
            exfil.events.push(at);
            exfil.last_source = line.rsplit("from ").next().map(str::to_string);
            exfil.last_record.clear();
            exfil.flash_since = Some(model.now);
        }
        ExfilMsg::Record { lines } => exfil.last_record = lines,
        ExfilMsg::Trouble(e) => exfil.trouble = Some(e),
        ExfilMsg::Note(n) => exfil.note = Some(n),
        ExfilMsg::CaughtUp => exfil.caught_up = true,
    }
}

fn on_cluster(cluster: &mut ClusterModel, msg: ClusterMsg) {
    match msg {
        ClusterMsg::Reachable => {
            cluster.reach = Reachability::Reachable;
        }
        ClusterMsg::Unreachable { at, error } => {
            // Keep the first moment it went away: "unreachable since" must not reset on every retry.
            cluster.reach = match &cluster.reach {
                Reachability::Unreachable { since, .. } => Reachability::Unreachable {
                    since: *since,
                    error,
                },
                _ => Reachability::Unreachable { since: at, error },
            };
        }
        ClusterMsg::WatchError(e) => cluster.last_error = Some(e),
        ClusterMsg::Pods(m) => {
            cluster.last_error = None;
            cluster.apply_pods(m);
        }
        ClusterMsg::Deployments(m) => cluster.apply_deployments(m),
        ClusterMsg::DaemonSets(m) => cluster.apply_daemonsets(m),
        ClusterMsg::Events(m) => cluster.apply_events(m),
        ClusterMsg::Policies(m) => cluster.apply_policies(m),
    }
}

fn on_act(model: &mut Model, msg: ActMsg) {
    match msg {
        ActMsg::Started {
            kind,
            program,
            log_path,
        } => {
            let mut run = ActRun::new(kind, program, model.now);
            run.log_path = log_path;
            model.act_run = Some(run);
            model.act_runs += 1;
            model.show_act_log = true;
        }
        ActMsg::Line(line) => {
            if let Some(run) = model.act_run.as_mut() {
                run.push(line);
            }
        }
        ActMsg::Finished { outcome, elapsed } => {
            if let Some(run) = model.act_run.as_mut() {
                run.outcome = Some((outcome, elapsed));
                run.cancelling = false;
            }
        }
    }
}

/// Ctrl+C (or SIGINT/SIGTERM) stops a running act first; only an idle control room quits on it.
fn interrupt(model: &mut Model) -> Vec<Effect> {
    if let Some(run) = model.act_run.as_mut().filter(|r| r.running()) {
        run.cancelling = true;
        return vec![Effect::CancelAct];
    }
    model.quitting = true;
    vec![Effect::Quit]
}

/// A signal ends the program whatever it is doing: the act goes first (its whole group),
/// then everything else. The first signal decides the exit status.
fn ended_by_signal(model: &mut Model, number: i32) -> Vec<Effect> {
    model.exit_signal.get_or_insert(number);
    model.quitting = true;
    let mut effects = Vec::new();
    if let Some(run) = model.act_run.as_mut().filter(|r| r.running()) {
        run.cancelling = true;
        effects.push(Effect::CancelAct);
    }
    effects.push(Effect::Quit);
    effects
}

fn notice(model: &mut Model, text: impl Into<String>) {
    model.notice = Some((text.into(), model.now));
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return interrupt(model);
    }
    if let Some(kind) = model.confirming {
        model.confirming = None;
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => start_act(model, kind),
            _ => {
                notice(model, format!("act {} not run", kind.number()));
                Vec::new()
            }
        };
    }
    if let Some((cluster, namespace, name)) = model.confirming_delete.take() {
        if matches!(
            key.code,
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter
        ) {
            return vec![Effect::DeletePod {
                cluster,
                namespace,
                name,
            }];
        }
        notice(model, format!("pod {name} not deleted"));
        return Vec::new();
    }
    if model.confirming_quit {
        model.confirming_quit = false;
        if matches!(
            key.code,
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter
        ) {
            model.quitting = true;
            return vec![Effect::CancelAct, Effect::Quit];
        }
        return Vec::new();
    }
    if model.show_links {
        return on_links_key(model, key);
    }
    if model.filter_input.is_some() {
        return filter::on_key(model, &key);
    }
    if model.chat.focused {
        return on_chat_key(model, key);
    }
    if model.show_help {
        // Any of these closes the overlay; other keys are swallowed so nothing happens behind it.
        let action = model.keys.action(&key);
        let closes = matches!(action, Some(Action::Help | Action::Quit));
        if closes || matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
            model.show_help = false;
        }
        let last = crate::ui::help_max_scroll(model);
        match action {
            Some(Action::Down) => model.help_scroll = (model.help_scroll + 1).min(last),
            Some(Action::Up) => model.help_scroll = model.help_scroll.saturating_sub(1),
            _ => {}
        }
        return Vec::new();
    }
    if model.view == View::Logs {
        return logs::on_key(model, &key);
    }
    if model.view != View::Panes
        && let Some(effects) = views::on_view_key(model, &key)
    {
        return effects;
    }
    let page = model.page_rows;
    let count = model.clusters.len();
    if let KeyCode::Char(c @ '1'..='9') = key.code
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        let i = (c as usize) - ('1' as usize);
        if i < count {
            model.focus = i;
        }
        return Vec::new();
    }
    let Some(action) = model.keys.action(&key) else {
        // Esc undoes what is on: the zoom first, then the filter.
        if key.code == KeyCode::Esc {
            if model.zoomed {
                model.zoomed = false;
            } else {
                filter::clear(model);
            }
        }
        return Vec::new();
    };
    match action {
        Action::Quit => {
            if model.act_running() {
                model.confirming_quit = true;
                return Vec::new();
            }
            model.quitting = true;
            return vec![Effect::Quit];
        }
        Action::ActReset => return ask_act(model, ActKind::Reset),
        Action::ActUpgrade => return ask_act(model, ActKind::Upgrade),
        Action::ActPoliciesOn => return ask_act(model, ActKind::PoliciesOn),
        Action::ActLog => model.show_act_log = !model.show_act_log,
        Action::Links => model.show_links = true,
        Action::Chat => model.chat.focused = true,
        Action::Trace => model.chat.show_trace = !model.chat.show_trace,
        Action::Mask => model.exfil.masked = !model.exfil.masked,
        Action::Help => {
            model.show_help = true;
            model.help_scroll = 0;
        }
        Action::Zoom => model.zoomed = !model.zoomed,
        Action::NextPane => return cycle(model, true),
        Action::PrevPane => return cycle(model, false),
        Action::Down => move_cursor(model, 1, page),
        Action::Up => move_cursor(model, -1, page),
        Action::PageDown => move_cursor(model, page as isize, page),
        Action::PageUp => move_cursor(model, -(page as isize), page),
        Action::Top => {
            if let Some(c) = model.clusters.get_mut(model.focus) {
                c.cursor_to_end(false, page);
            }
        }
        Action::Bottom => {
            if let Some(c) = model.clusters.get_mut(model.focus) {
                c.cursor_to_end(true, page);
            }
        }
        Action::Detail => return views::open_detail(model),
        Action::Events => return views::open_events(model),
        Action::CopyCommand => return views::copy_command(model),
        Action::Problems => return views::toggle_view(model, View::Problems),
        Action::Timeline => return views::toggle_view(model, View::Timeline),
        Action::Images => return views::toggle_view(model, View::Images),
        Action::Doctor => return views::open_doctor(model),
        Action::Filter => return filter::open(model),
        Action::DeletePod => return ask_delete(model),
        Action::Fold => {
            let all = !model.clusters.iter().any(|c| c.unfold_all);
            for c in &mut model.clusters {
                c.set_unfold_all(all);
            }
            notice(
                model,
                if all {
                    "every namespace unfolded"
                } else {
                    "platform namespaces folded"
                },
            );
        }
        Action::Logs => return logs::open_logs(model),
    }
    Vec::new()
}

fn on_links_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let count = model.forwards.len();
    let selected = model.forwards.get(model.links_selected);
    match key.code {
        KeyCode::Esc | KeyCode::Char('L') | KeyCode::Char('q') => model.show_links = false,
        KeyCode::Char('j') | KeyCode::Down if count > 0 => {
            model.links_selected = (model.links_selected + 1).min(count - 1);
        }
        KeyCode::Char('k') | KeyCode::Up => {
            model.links_selected = model.links_selected.saturating_sub(1)
        }
        KeyCode::Char('o') | KeyCode::Enter => match selected.and_then(ForwardRow::url) {
            Some(url) => {
                notice(model, format!("opening {url}"));
                return vec![Effect::OpenUrl(url)];
            }
            None => notice(model, "this link has no local address yet"),
        },
        KeyCode::Char('y') => match selected.and_then(ForwardRow::url) {
            Some(url) => {
                notice(model, format!("copied {url}"));
                return vec![Effect::CopyToClipboard(url)];
            }
            None => notice(model, "this link has no local address yet"),
        },
        _ => {}
    }
    Vec::new()
}

/// Said when a write key is pressed in a read-only control room.
fn refuse_write(model: &mut Model, what: &str) {
    notice(
        model,
        format!("read-only: {what} is off (--read-only or [ui] read_only)"),
    );
}

fn ask_act(model: &mut Model, kind: ActKind) -> Vec<Effect> {
    if model.read_only {
        refuse_write(model, &format!("act {}", kind.number()));
        return Vec::new();
    }
    if model.act_running() {
        notice(
            model,
            "an act is already running — wait for it or Ctrl+C to cancel it",
        );
        return Vec::new();
    }
    if model.confirm_acts {
        model.confirming = Some(kind);
        return Vec::new();
    }
    start_act(model, kind)
}

fn start_act(model: &mut Model, kind: ActKind) -> Vec<Effect> {
    if model.read_only {
        refuse_write(model, &format!("act {}", kind.number()));
        return Vec::new();
    }
    if model.act_running() {
        notice(model, "an act is already running");
        return Vec::new();
    }
    model.show_act_log = true;
    vec![Effect::RunAct(kind)]
}

/// `Ctrl+D`: the selected pod (in a pane, or the one the detail view shows), after a y/Enter
/// that names the cluster and the pod.
fn ask_delete(model: &mut Model) -> Vec<Effect> {
    if model.read_only {
        refuse_write(model, "deleting pods");
        return Vec::new();
    }
    let target = match (model.view, model.inspect.as_ref()) {
        (View::Detail | View::Events, Some(i)) => Ok(i.target.clone()),
        _ => views::selected_target(model),
    };
    match target {
        Ok(crate::msg::InspectTarget::Pod {
            cluster,
            namespace,
            name,
        }) => {
            model.confirming_delete = Some((cluster, namespace, name));
        }
        Ok(_) => notice(model, "Ctrl+D deletes a pod: select a pod row"),
        Err(why) => notice(model, why),
    }
    Vec::new()
}

/// `Tab`/`Shift+Tab`: the next or previous cluster pane; on a small screen the chat, exfil
/// and alert views follow the clusters in the same round.
fn cycle(model: &mut Model, forward: bool) -> Vec<Effect> {
    let clusters = model.clusters.len();
    let extra: &[View] = if crate::ui::layout::small_screen(model) {
        &[View::Chat, View::Exfil, View::Alerts]
    } else {
        &[]
    };
    let stops = clusters + extra.len();
    if stops == 0 {
        return Vec::new();
    }
    let here = match extra.iter().position(|v| *v == model.view) {
        Some(i) => clusters + i,
        None => model.focus.min(clusters.saturating_sub(1)),
    };
    let next = if forward {
        (here + 1) % stops
    } else {
        (here + stops - 1) % stops
    };
    let mut effects = Vec::new();
    if model.inspect.take().is_some() {
        effects.push(Effect::StopInspect);
    }
    model.view_back = None;
    if next < clusters {
        model.focus = next;
        model.view = View::Panes;
    } else {
        model.view = extra[next - clusters];
    }
    effects
}

fn move_cursor(model: &mut Model, delta: isize, page: usize) {
    if let Some(c) = model.clusters.get_mut(model.focus) {
        c.move_cursor(delta, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chat::{CANONICAL_PROMPT, MAX_PROMPT_CHARS, Speaker};
    use crate::model::{ActLine, ActOutcome, WorldMode};
    use crate::msg::ChatEvent;
    use chrono::{DateTime, FixedOffset};

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn model() -> Model {
        let clusters = ["edge", "bank", "vendor"]
            .iter()
            .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
            .collect();
        Model::new(WorldMode::Simulated, clusters, t("2026-11-27T10:00:00Z"))
    }

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn ctrl_c() -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
    }

    fn started(m: &mut Model) {
        update(
            m,
            Msg::Act(ActMsg::Started {
                kind: ActKind::Upgrade,
                program: "u.sh".into(),
                log_path: None,
            }),
        );
    }

    /// The recording failing is news for the presenter, not an error that ends the TUI.
    #[test]
    fn a_failed_recording_is_shown_and_kept() {
        let mut m = model();
        let effects = update(
            &mut m,
            Msg::RecordingFailed("recording to x stopped: full".into()),
        );
        assert!(effects.is_empty());
        assert_eq!(
            m.recording_stopped.as_deref(),
            Some("recording to x stopped: full")
        );
        assert_eq!(
            m.notice.as_ref().map(|(t, _)| t.as_str()),
            Some("recording to x stopped: full")
        );
    }

    #[test]
    fn focus_keys() {
        let mut m = model();
        // Big enough for every panel, so Tab is for the clusters alone.
        update(&mut m, Msg::Resize(200, 60));
        update(&mut m, key(KeyCode::Char('3')));
        assert_eq!(m.focus, 2);
        update(&mut m, key(KeyCode::Tab));
        assert_eq!(m.focus, 0);
        update(&mut m, key(KeyCode::BackTab));
        assert_eq!(m.focus, 2);
        update(&mut m, key(KeyCode::Char('9')));
        assert_eq!(m.focus, 2);
    }

    #[test]
    fn help_swallows_keys_and_quit_quits() {
        let mut m = model();
        update(&mut m, key(KeyCode::Char('?')));
        assert!(m.show_help);
        assert!(update(&mut m, key(KeyCode::Char('2'))).is_empty());
        assert_eq!(m.focus, 0);
        update(&mut m, key(KeyCode::Esc));
        assert!(!m.show_help);
        assert_eq!(update(&mut m, key(KeyCode::Char('q'))), vec![Effect::Quit]);
    }

    #[test]
    fn unreachable_keeps_first_since() {
        let mut m = model();
        let down = |at: &str| {
            Msg::Cluster(
                1,
                ClusterMsg::Unreachable {
                    at: t(at),
                    error: "refused".into(),
                },
            )
        };
        update(&mut m, down("2026-11-27T10:00:05Z"));
        update(&mut m, down("2026-11-27T10:00:09Z"));
        assert_eq!(
            m.clusters[1].reach,
            Reachability::Unreachable {
                since: t("2026-11-27T10:00:05Z"),
                error: "refused".into()
            }
        );
        update(&mut m, Msg::Cluster(1, ClusterMsg::Reachable));
        assert_eq!(m.clusters[1].reach, Reachability::Reachable);
        update(&mut m, Msg::Cluster(7, ClusterMsg::Reachable));
    }

    #[test]
    fn zoom_toggles() {
        let mut m = model();
        update(&mut m, key(KeyCode::Char('z')));
        assert!(m.zoomed);
        update(&mut m, key(KeyCode::Esc));
        assert!(!m.zoomed);
    }

    #[test]
    fn acts_ask_first_then_run() {
        let mut m = model();
        assert!(update(&mut m, key(KeyCode::Char('u'))).is_empty());
        assert_eq!(m.confirming, Some(ActKind::Upgrade));
        assert_eq!(
            update(&mut m, key(KeyCode::Char('y'))),
            vec![Effect::RunAct(ActKind::Upgrade)]
        );
        assert_eq!(m.confirming, None);

        update(&mut m, key(KeyCode::Char('p')));
        assert!(update(&mut m, key(KeyCode::Esc)).is_empty(), "Esc declines");
        assert!(m.notice.is_some());

        m.confirm_acts = false;
        assert_eq!(
            update(&mut m, key(KeyCode::Char('r'))),
            vec![Effect::RunAct(ActKind::Reset)]
        );
    }

    #[test]
    fn a_second_act_is_refused_while_one_runs() {
        let mut m = model();
        m.confirm_acts = false;
        started(&mut m);
        assert!(update(&mut m, key(KeyCode::Char('p'))).is_empty());
        assert!(
            m.notice
                .as_ref()
                .is_some_and(|(n, _)| n.contains("already running"))
        );
    }

    #[test]
    fn ctrl_c_cancels_a_running_act_before_quitting() {
        let mut m = model();
        started(&mut m);
        assert_eq!(update(&mut m, ctrl_c()), vec![Effect::CancelAct]);
        assert!(!m.quitting);
        update(
            &mut m,
            Msg::Act(ActMsg::Finished {
                outcome: ActOutcome::Cancelled,
                elapsed: std::time::Duration::from_secs(1),
            }),
        );
        assert_eq!(update(&mut m, ctrl_c()), vec![Effect::Quit]);
    }

    #[test]
    fn quit_while_running_asks() {
        let mut m = model();
        started(&mut m);
        assert!(update(&mut m, key(KeyCode::Char('q'))).is_empty());
        assert!(m.confirming_quit);
        assert_eq!(
            update(&mut m, key(KeyCode::Char('y'))),
            vec![Effect::CancelAct, Effect::Quit]
        );
    }

    fn type_text(m: &mut Model, text: &str) {
        for c in text.chars() {
            update(m, key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn chat_box_types_sends_and_remembers() {
        let mut m = model();
        update(&mut m, key(KeyCode::Char('i')));
        assert!(m.chat.focused);
        type_text(&mut m, "hello q");
        assert_eq!(
            m.chat.prompt(),
            "hello q",
            "q types, it does not quit while typing"
        );
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)),
        );
        type_text(&mut m, "second line");
        assert_eq!(m.chat.prompt(), "hello q\nsecond line");
        assert_eq!(
            update(&mut m, key(KeyCode::Enter)),
            vec![Effect::SendPrompt("hello q\nsecond line".into())]
        );
        assert!(m.chat.pending && m.chat.prompt().is_empty());
        assert_eq!(
            m.chat.transcript.last().map(|e| e.speaker),
            Some(crate::model::chat::Speaker::Customer)
        );
        assert!(
            update(&mut m, key(KeyCode::Enter)).is_empty(),
            "empty prompt is not sent"
        );
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)),
        );
        assert_eq!(m.chat.prompt(), CANONICAL_PROMPT);
        assert!(
            update(&mut m, key(KeyCode::Enter)).is_empty(),
            "one exchange at a time"
        );
        update(
            &mut m,
            Msg::Chat(ChatEvent::Text {
                text: "£4,287.55".into(),
                append: false,
            }),
        );
        update(
            &mut m,
            Msg::Chat(ChatEvent::Done {
                latency: std::time::Duration::from_millis(1200),
            }),
        );
        assert!(!m.chat.pending);
        assert_eq!(
            m.chat.transcript.last().and_then(|e| e.latency_ms),
            Some(1200)
        );
        m.chat.set_prompt("");
        update(&mut m, key(KeyCode::Up));
        assert_eq!(
            m.chat.prompt(),
            "hello q\nsecond line",
            "Up recalls the history"
        );
        update(&mut m, key(KeyCode::Esc));
        assert!(!m.chat.focused);
    }

    #[test]
    fn the_suspicious_hop_is_marked() {
        let mut m = model();
        let call = |name: &str, args: serde_json::Value| {
            Msg::Chat(ChatEvent::ToolCall {
                id: "1".into(),
                name: name.into(),
                args,
                author: Some("support-bot".into()),
            })
        };
        update(
            &mut m,
            call("get_balance", serde_json::json!({"account_id": "12345"})),
        );
        update(
            &mut m,
            call("get_profile", serde_json::json!({"account_id": "12345"})),
        );
        update(
            &mut m,
            call(
                "convert_currency",
                serde_json::json!({"amount": 1, "customer_profile": {"name": "x"}}),
            ),
        );
        let marks: Vec<bool> = m.chat.trace.iter().map(|t| t.suspicious).collect();
        assert_eq!(marks, [false, true, true]);
        update(&mut m, Msg::Chat(ChatEvent::Error("HTTP 500".into())));
        assert_eq!(
            m.chat.transcript.last().map(|e| e.speaker),
            Some(crate::model::chat::Speaker::Error)
        );
    }

    #[test]
    fn a_megabyte_paste_is_bounded() {
        let mut m = model();
        update(&mut m, key(KeyCode::Char('i')));
        for _ in 0..(1024 * 1024) {
            update(&mut m, key(KeyCode::Char('x')));
        }
        let chars: usize = m.chat.input.iter().map(|l| l.chars().count()).sum();
        assert!(chars < MAX_PROMPT_CHARS, "{chars}");
        assert!(chars > MAX_PROMPT_CHARS - 10);
    }

    #[test]
    fn act_output_is_a_bounded_tail() {
        let mut m = model();
        started(&mut m);
        for i in 0..(crate::model::act::ACT_LOG_LINES + 50) {
            update(
                &mut m,
                Msg::Act(ActMsg::Line(ActLine {
                    stderr: i % 2 == 0,
                    text: format!("line {i}"),
                })),
            );
        }
        let run = m.act_run.as_ref().expect("run");
        assert_eq!(run.lines.len(), crate::model::act::ACT_LOG_LINES);
        assert_eq!(run.dropped, 50);
        assert_eq!(run.lines.back().map(|l| l.text.as_str()), Some("line 549"));
    }

    #[test]
    fn a_headless_prompt_goes_the_way_enter_sends_it() {
        let mut m = model();
        assert_eq!(
            update(&mut m, Msg::Prompt("  hello  ".into())),
            vec![Effect::SendPrompt("hello".into())]
        );
        assert!(m.chat.pending);
        assert_eq!(m.chat.history, ["hello"]);
        assert_eq!(
            m.chat
                .transcript
                .last()
                .map(|e| (e.speaker, e.text.as_str())),
            Some((Speaker::Customer, "hello"))
        );
        assert!(
            update(&mut m, Msg::Prompt("again".into())).is_empty(),
            "one exchange at a time"
        );
        assert!(update(&mut m, Msg::Prompt("   ".into())).is_empty());
        update(&mut m, Msg::Chat(ChatEvent::Error("boom".into())));
        assert_eq!(m.chat.exchanges, 1);
        assert!(!m.chat.pending);
    }

    #[test]
    fn run_act_skips_the_question_and_interrupt_cancels_then_quits() {
        let mut m = model();
        assert!(m.confirm_acts);
        assert_eq!(
            update(&mut m, Msg::RunAct(ActKind::Reset)),
            vec![Effect::RunAct(ActKind::Reset)]
        );
        assert_eq!(m.confirming, None);
        started(&mut m);
        assert!(update(&mut m, Msg::RunAct(ActKind::Reset)).is_empty());
        assert_eq!(update(&mut m, Msg::Interrupt), vec![Effect::CancelAct]);
        update(
            &mut m,
            Msg::Act(ActMsg::Finished {
                outcome: ActOutcome::Cancelled,
                elapsed: std::time::Duration::from_secs(1),
            }),
        );
        assert_eq!(update(&mut m, Msg::Interrupt), vec![Effect::Quit]);
        assert!(m.quitting);
    }

    #[test]
    fn pages_move_by_the_rows_the_last_frame_showed() {
        let mut m = model();
        let pods = (0..100)
            .map(|i| crate::model::PodSummary {
                namespace: "n".into(),
                name: format!("p{i:03}"),
                ready: 1,
                containers: 1,
                phase: crate::model::PodPhase::Running,
                restarts: 0,
                created: None,
                image: None,
                node: None,
                message: None,
                last_restart: None,
                ready_since: None,
            })
            .collect();
        update(
            &mut m,
            Msg::Cluster(0, ClusterMsg::Pods(crate::model::ResourceMsg::Reset(pods))),
        );
        update(&mut m, Msg::PageRows(17));
        update(&mut m, key(KeyCode::Char('j')));
        let at = |m: &Model| m.clusters[0].cursor_row().map(|(_, i)| i);
        assert_eq!(at(&m), Some(0), "the first key selects the first row");
        update(&mut m, key(KeyCode::PageDown));
        assert_eq!(at(&m), Some(17));
        assert_eq!(m.clusters[0].scroll, 1, "the page follows the cursor");
        update(&mut m, key(KeyCode::Char(' ')));
        assert_eq!(at(&m), Some(34));
        update(&mut m, key(KeyCode::PageUp));
        assert_eq!(at(&m), Some(17));
        update(&mut m, key(KeyCode::Char('G')));
        assert_eq!(at(&m), Some(100), "the last of 101 rows");
        update(&mut m, key(KeyCode::Char('g')));
        assert_eq!(at(&m), Some(0));
        update(&mut m, Msg::PageRows(0));
        assert_eq!(m.page_rows, 1, "a page is at least a row");
    }

    #[test]
    fn remapped_keys_drive_update_and_the_old_key_is_free() {
        let mut m = model();
        m.confirm_acts = false;
        m.keys = crate::config::Keymap::with_overrides(&[
            ("act_upgrade".into(), vec!["F2".into()]),
            ("quit".into(), vec!["Ctrl+Q".into()]),
        ])
        .expect("keymap");
        assert!(update(&mut m, key(KeyCode::Char('u'))).is_empty());
        assert_eq!(
            update(&mut m, key(KeyCode::F(2))),
            vec![Effect::RunAct(ActKind::Upgrade)]
        );
        assert!(
            update(&mut m, key(KeyCode::Char('q'))).is_empty(),
            "q is free now"
        );
        assert_eq!(
            update(
                &mut m,
                Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL))
            ),
            vec![Effect::Quit]
        );
        // Digits still focus, whatever the map.
        update(&mut m, key(KeyCode::Char('2')));
        assert_eq!(m.focus, 1);
    }
}
