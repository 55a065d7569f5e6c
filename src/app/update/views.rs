//! The triage views over the panes: opening them on the selected row, their keys, closing
//! them back to where the cursor was, and `y` — the kubectl command for what is on screen.

use crossterm::event::{KeyCode, KeyEvent};

use super::notice;
use crate::config::Action;
use crate::model::inspect::InspectModel;
use crate::model::rows::RowKey;
use crate::model::{Model, View};
use crate::msg::doctor::Verdict;
use crate::msg::{Effect, InspectMsg, InspectTarget};

/// What `Enter`/`d`, `e` and `l` act on: the focused pane's selected row.
pub(super) fn selected_target(model: &Model) -> Result<InspectTarget, String> {
    let cluster = model.focus;
    let Some(c) = model.clusters.get(cluster) else {
        return Err("no cluster is configured".into());
    };
    let Some((key, _)) = c.cursor_row() else {
        return Err(format!(
            "select a row in {} first ({}/{} move the selection)",
            c.name,
            model.keys.first(Action::Down),
            model.keys.first(Action::Up)
        ));
    };
    Ok(match key {
        RowKey::Pod((namespace, name)) => InspectTarget::Pod {
            cluster,
            namespace,
            name,
        },
        RowKey::Deployment((namespace, name)) => InspectTarget::Deployment {
            cluster,
            namespace,
            name,
        },
        RowKey::Namespace(namespace) | RowKey::Policy((namespace, _)) => {
            InspectTarget::Namespace { cluster, namespace }
        }
        RowKey::Policies => {
            return Err("the policies header has no object; select a policy or a pod".into());
        }
    })
}

/// Opens `view` (Detail or Events) on `target`, reusing the reader when it already reads it.
pub(super) fn open_inspect(model: &mut Model, view: View, target: InspectTarget) -> Vec<Effect> {
    let back = if model.view == View::Panes || model.view == View::Problems {
        Some(model.view)
    } else {
        model.view_back
    };
    model.view_back = back;
    model.view = view;
    if let Some(open) = model.inspect.as_mut()
        && open.target == target
    {
        open.scroll = 0;
        return Vec::new();
    }
    let id = model.next_request;
    model.next_request += 1;
    model.inspect = Some(InspectModel::new(id, target.clone()));
    vec![Effect::Inspect { id, target }]
}

/// `Enter`/`d`: the detail of the selected pod or deployment; on a foldable namespace's
/// row, it opens or closes.
pub(super) fn open_detail(model: &mut Model) -> Vec<Effect> {
    let focus = model.focus;
    if let Some(c) = model.clusters.get_mut(focus)
        && let Some((RowKey::Namespace(ns), _)) = c.cursor_row()
        && c.toggle_fold(&ns)
    {
        return Vec::new();
    }
    match selected_target(model) {
        Ok(t @ (InspectTarget::Pod { .. } | InspectTarget::Deployment { .. })) => {
            open_inspect(model, View::Detail, t)
        }
        Ok(InspectTarget::Namespace { namespace, .. }) => {
            let events = model.keys.first(Action::Events);
            notice(
                model,
                format!(
                    "{namespace}: describe works on pods and deployments; {events} shows the namespace's events"
                ),
            );
            Vec::new()
        }
        Err(why) => {
            notice(model, why);
            Vec::new()
        }
    }
}

/// `e`: the events of the selected object (a namespace's, for a namespace).
pub(super) fn open_events(model: &mut Model) -> Vec<Effect> {
    // From the detail view: the same object's events.
    if model.view == View::Detail
        && let Some(target) = model.inspect.as_ref().map(|i| i.target.clone())
    {
        return open_inspect(model, View::Events, target);
    }
    match selected_target(model) {
        Ok(t) => open_inspect(model, View::Events, t),
        Err(why) => {
            notice(model, why);
            Vec::new()
        }
    }
}

/// Back to where the view was opened from; the reader stops once no view needs it.
pub(super) fn close_view(model: &mut Model) -> Vec<Effect> {
    let back = model.view_back.take().unwrap_or(View::Panes);
    model.view = back;
    let mut effects = Vec::new();
    if !matches!(model.view, View::Detail | View::Events) && model.inspect.take().is_some() {
        effects.push(Effect::StopInspect);
    }
    effects
}

/// Opens one of the views that need no selection, or closes it when it is already open.
pub(super) fn toggle_view(model: &mut Model, view: View) -> Vec<Effect> {
    if model.view == view {
        return close_view(model);
    }
    let mut effects = Vec::new();
    if model.inspect.take().is_some() {
        effects.push(Effect::StopInspect);
    }
    model.view_back = None;
    model.view = view;
    model.view_scroll = 0;
    effects
}

/// `Enter` on a problem: its object selected in its pane, and its detail (or events) open;
/// Esc comes back to the list.
fn open_problem(model: &mut Model, view: View) -> Vec<Effect> {
    use crate::model::problems::Kind;
    let Some(p) = model.current_problems().nth(model.view_scroll).cloned() else {
        return Vec::new();
    };
    let cluster = p.key.cluster;
    if cluster < model.clusters.len() {
        model.focus = cluster;
    }
    let namespace = p.key.namespace.clone();
    let (row, target) = match p.key.kind {
        Kind::Cluster => {
            model.view = View::Panes;
            model.view_back = None;
            return Vec::new();
        }
        Kind::Pod => (
            Some(RowKey::Pod((namespace.clone(), p.key.name.clone()))),
            InspectTarget::Pod {
                cluster,
                namespace,
                name: p.key.name.clone(),
            },
        ),
        Kind::Deployment => (
            Some(RowKey::Deployment((namespace.clone(), p.key.name.clone()))),
            InspectTarget::Deployment {
                cluster,
                namespace,
                name: p.key.name.clone(),
            },
        ),
        Kind::DaemonSet => (None, InspectTarget::Namespace { cluster, namespace }),
        Kind::Event => match p.object.split_once('/') {
            Some(("pod", name)) => (
                Some(RowKey::Pod((namespace.clone(), name.to_string()))),
                InspectTarget::Pod {
                    cluster,
                    namespace,
                    name: name.to_string(),
                },
            ),
            Some(("deployment", name)) => (
                Some(RowKey::Deployment((namespace.clone(), name.to_string()))),
                InspectTarget::Deployment {
                    cluster,
                    namespace,
                    name: name.to_string(),
                },
            ),
            _ => (None, InspectTarget::Namespace { cluster, namespace }),
        },
    };
    let page = model.page_rows;
    if let (Some(row), Some(c)) = (row, model.clusters.get_mut(cluster)) {
        c.select(&row, page);
    }
    // A DaemonSet or an event about another kind has no detail here: its namespace's events.
    let view = if matches!(target, InspectTarget::Namespace { .. }) {
        View::Events
    } else {
        view
    };
    open_inspect(model, view, target)
}

pub(super) fn on_inspect(model: &mut Model, msg: InspectMsg) {
    if let Some(open) = model.inspect.as_mut() {
        open.apply(msg);
    }
}

/// Keys a view takes before the main screen's: scrolling it, and leaving it. `None` lets the
/// key through to the main screen (acts, chat, help, the other views).
/// A doctor run, unless one is under way (its results are coming).
pub(super) fn start_doctor(model: &mut Model) -> Vec<Effect> {
    if !model.doctor.enabled || model.doctor.running {
        return Vec::new();
    }
    let run = model.doctor.start(model.now);
    vec![Effect::RunDoctor(run)]
}

/// `D`: the doctor view, and a fresh run of every check.
pub(super) fn open_doctor(model: &mut Model) -> Vec<Effect> {
    let mut effects = Vec::new();
    if model.view != View::Doctor {
        effects = toggle_view(model, View::Doctor);
        model.doctor.detail = false;
        model.doctor.select_first_problem = true;
        if let Some(i) = model
            .doctor
            .results
            .iter()
            .position(|r| r.result != Verdict::Pass)
        {
            model.doctor.selected = i;
        }
    }
    if !model.doctor.enabled {
        notice(model, "the doctor cannot read the clusters here");
    }
    effects.extend(start_doctor(model));
    effects
}

/// Keys of the doctor view: move, Enter for the evidence and fix, `y` copies the fix, `D`
/// runs again, Esc closes the detail, then the view.
fn on_doctor_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Esc {
        if model.doctor.detail {
            model.doctor.detail = false;
            return Vec::new();
        }
        return close_view(model);
    }
    let Some(action) = model.keys.action(key) else {
        return Vec::new();
    };
    let count = model.doctor.results.len();
    let page = model.page_rows.max(1);
    if matches!(
        action,
        Action::Down
            | Action::Up
            | Action::Top
            | Action::Bottom
            | Action::PageDown
            | Action::PageUp
    ) {
        model.doctor.select_first_problem = false;
    }
    let d = &mut model.doctor;
    if d.detail {
        // In the detail the movement keys scroll it (drawing keeps the last page in view).
        match action {
            Action::Down => d.detail_scroll += 1,
            Action::Up => d.detail_scroll = d.detail_scroll.saturating_sub(1),
            Action::PageDown => d.detail_scroll += page,
            Action::PageUp => d.detail_scroll = d.detail_scroll.saturating_sub(page),
            Action::Top => d.detail_scroll = 0,
            _ => {}
        }
    }
    if d.detail {
        let lines = crate::ui::view_line_count(model);
        let d = &mut model.doctor;
        d.detail_scroll = d.detail_scroll.min(lines.saturating_sub(page));
    }
    let d = &mut model.doctor;
    match action {
        Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top if d.detail => {
        }
        Action::Quit if d.detail => d.detail = false,
        Action::Quit => return close_view(model),
        Action::Down if count > 0 => d.selected = (d.selected + 1).min(count - 1),
        Action::Up => d.selected = d.selected.saturating_sub(1),
        Action::Top => d.selected = 0,
        Action::Bottom => d.selected = count.saturating_sub(1),
        Action::PageDown if count > 0 => d.selected = (d.selected + model.page_rows).min(count - 1),
        Action::PageUp => d.selected = d.selected.saturating_sub(model.page_rows),
        Action::Detail => {
            d.detail = !d.detail;
            d.detail_scroll = 0;
        }
        Action::Doctor => return start_doctor(model),
        Action::CopyCommand => {
            let Some(r) = model.doctor.selected_result() else {
                notice(model, "no check selected");
                return Vec::new();
            };
            if r.fix.is_empty() {
                let text = format!("{} on {}: nothing to fix", r.id, r.cluster);
                notice(model, text);
                return Vec::new();
            }
            let fix = r.fix.join("\n");
            let text = format!("copied the fix for {} on {}", r.id, r.cluster);
            notice(model, text);
            return vec![Effect::CopyToClipboard(fix)];
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn on_view_key(model: &mut Model, key: &KeyEvent) -> Option<Vec<Effect>> {
    if model.view == View::Doctor {
        return Some(on_doctor_key(model, key));
    }
    if key.code == KeyCode::Esc {
        return Some(close_view(model));
    }
    let action = model.keys.action(key)?;
    if model.view == View::Problems {
        match action {
            Action::Detail => return Some(open_problem(model, View::Detail)),
            Action::Events => return Some(open_problem(model, View::Events)),
            _ => {}
        }
    }
    let page = model.page_rows as isize;
    let delta = match action {
        Action::Quit => return Some(close_view(model)),
        Action::Down => 1,
        Action::Up => -1,
        Action::PageDown => page,
        Action::PageUp => -page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        _ => return None,
    };
    // Within the lines the view has now, less the page that shows the last of them; a
    // list with a selection (problems) up to its last row.
    let lines = crate::ui::view_line_count(model);
    let last = if model.view == View::Problems {
        lines.saturating_sub(1)
    } else {
        lines.saturating_sub(model.page_rows)
    };
    let scroll = match model.view {
        View::Detail | View::Events => match model.inspect.as_mut() {
            Some(i) => &mut i.scroll,
            None => return Some(Vec::new()),
        },
        _ => &mut model.view_scroll,
    };
    *scroll = scroll.saturating_add_signed(delta).min(last);
    Some(Vec::new())
}

/// `y`: the kubectl command that shows what is on screen, copied (OSC 52).
pub(super) fn copy_command(model: &mut Model) -> Vec<Effect> {
    let command = match model.view {
        View::Panes => selected_target(model).map(|t| describe_command(model, &t)),
        View::Detail => inspect_target(model).map(|t| describe_command(model, &t)),
        View::Events => inspect_target(model).map(|t| events_command(model, &t)),
        View::Problems => problem_command(model),
        View::Timeline => Ok(every_cluster(
            model,
            "get events -A --sort-by=.lastTimestamp",
        )),
        View::Images => Ok(every_cluster(
            model,
            "get deployments,daemonsets -A -o wide",
        )),
        View::Exfil => attacker_logs_command(model),
        // The log view copies its own command (`update::logs`) before it gets here.
        View::Logs | View::Chat | View::Alerts | View::Doctor => {
            Err("nothing to copy here".to_string())
        }
    };
    match command {
        Ok(command) => {
            let lines = command.lines().count();
            if lines > 1 {
                notice(
                    model,
                    format!("copied {lines} kubectl commands, one per cluster"),
                );
            } else {
                notice(model, format!("copied: {command}"));
            }
            vec![Effect::CopyToClipboard(command)]
        }
        Err(why) => {
            notice(model, why);
            Vec::new()
        }
    }
}

fn problem_command(model: &Model) -> Result<String, String> {
    use crate::model::problems::Kind;
    let p = model
        .current_problems()
        .nth(model.view_scroll)
        .ok_or_else(|| "no problem selected".to_string())?;
    let ns = Some(p.key.namespace.as_str());
    let prefix = |ns| kubectl_prefix(model, p.key.cluster, ns);
    Ok(match p.key.kind {
        Kind::Cluster => format!("{} get --raw /version", prefix(None)),
        Kind::Pod => format!("{} describe pod {}", prefix(ns), shell_quote(&p.key.name)),
        Kind::Deployment => format!(
            "{} describe deployment {}",
            prefix(ns),
            shell_quote(&p.key.name)
        ),
        Kind::DaemonSet => format!(
            "{} describe daemonset {}",
            prefix(ns),
            shell_quote(&p.key.name)
        ),
        Kind::Event => format!(
            "{} get events --field-selector {}",
            prefix(ns),
            shell_quote(&format!("metadata.name={}", p.key.name))
        ),
    })
}

/// The exfil view: the attacker's log, as kubectl follows it.
fn attacker_logs_command(model: &Model) -> Result<String, String> {
    let attacker = &model.demo.attacker;
    let cluster = model
        .clusters
        .iter()
        .position(|c| c.name == attacker.cluster)
        .ok_or_else(|| format!("cluster `{}` is not configured", attacker.cluster))?;
    Ok(format!(
        "{} logs -f deploy/{}",
        kubectl_prefix(model, cluster, Some(&attacker.namespace)),
        shell_quote(&attacker.deployment)
    ))
}

/// One command per cluster, one per line.
fn every_cluster(model: &Model, rest: &str) -> String {
    (0..model.clusters.len())
        .map(|i| format!("{} {rest}", kubectl_prefix(model, i, None)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn inspect_target(model: &Model) -> Result<InspectTarget, String> {
    model
        .inspect
        .as_ref()
        .map(|i| i.target.clone())
        .ok_or_else(|| "nothing is open".to_string())
}

/// `kubectl --context 'ctx' -n ns`: the start of every command, quoted for a shell.
pub fn kubectl_prefix(model: &Model, cluster: usize, namespace: Option<&str>) -> String {
    let context = model
        .clusters
        .get(cluster)
        .map(|c| c.context.as_str())
        .unwrap_or_default();
    let mut out = format!("kubectl --context {}", shell_quote(context));
    if let Some(ns) = namespace {
        out.push_str(" -n ");
        out.push_str(&shell_quote(ns));
    }
    out
}

pub fn describe_command(model: &Model, target: &InspectTarget) -> String {
    let prefix = kubectl_prefix(model, target.cluster(), Some(target.namespace()));
    match target {
        InspectTarget::Pod { name, .. } => format!("{prefix} describe pod {}", shell_quote(name)),
        InspectTarget::Deployment { name, .. } => {
            format!("{prefix} describe deployment {}", shell_quote(name))
        }
        InspectTarget::Namespace { .. } => {
            format!("{prefix} get events --sort-by=.lastTimestamp")
        }
    }
}

pub fn events_command(model: &Model, target: &InspectTarget) -> String {
    let prefix = kubectl_prefix(model, target.cluster(), Some(target.namespace()));
    match target {
        InspectTarget::Pod { name, .. } => format!(
            "{prefix} get events --field-selector {}",
            shell_quote(&format!(
                "involvedObject.kind=Pod,involvedObject.name={name}"
            ))
        ),
        InspectTarget::Deployment { name, .. } => format!(
            "{prefix} get events --field-selector {}",
            shell_quote(&format!(
                "involvedObject.kind=Deployment,involvedObject.name={name}"
            ))
        ),
        InspectTarget::Namespace { .. } => {
            format!("{prefix} get events --sort-by=.lastTimestamp")
        }
    }
}

/// A word a POSIX shell reads back as itself: bare when it is plainly safe, else in single
/// quotes (a context name from a kubeconfig can hold anything).
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_quote("kind-trustusbank-bank"),
            "kind-trustusbank-bank"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quote(""), "''");
    }
}
