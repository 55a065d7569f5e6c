//! The log view (`l`): opening it on the selected pod (or a deployment's newest Ready pod),
//! its own keys — like the chat box's, they are the view's and not the keymap's — the
//! reader's news, and closing it back to where it was opened from. Headless `logs` opens a
//! reader the same way, without the view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::notice;
use super::views::{kubectl_prefix, selected_target, shell_quote};
use crate::model::logs::{Geometry, LogsModel, MAX_SEARCH_CHARS};
use crate::model::{Model, View};
use crate::msg::logs::{LogLine, LogMsg, LogRequest, PodLogTarget, PodRef};
use crate::msg::{Effect, InspectTarget};

/// Columns `←`/`→` move a view that does not wrap.
const HSCROLL: usize = 8;

/// `l`: the log of the selected pod, or of the selected deployment's newest Ready pod; in
/// the detail or events view, of the object it shows.
pub(super) fn open_logs(model: &mut Model) -> Vec<Effect> {
    let target = match model.view {
        View::Detail | View::Events => model
            .inspect
            .as_ref()
            .map(|i| i.target.clone())
            .ok_or_else(|| "nothing is open".to_string()),
        _ => selected_target(model),
    };
    let (cluster, namespace, pod) = match target {
        Ok(InspectTarget::Pod {
            cluster,
            namespace,
            name,
        }) => (cluster, namespace, PodRef::Pod(name)),
        Ok(InspectTarget::Deployment {
            cluster,
            namespace,
            name,
        }) => (cluster, namespace, PodRef::NewestReadyOf(name)),
        Ok(InspectTarget::Namespace { namespace, .. }) => {
            notice(
                model,
                format!("{namespace}: logs are a pod's; select a pod or a deployment"),
            );
            return Vec::new();
        }
        Err(why) => {
            notice(model, why);
            return Vec::new();
        }
    };
    let target = PodLogTarget {
        cluster,
        namespace,
        pod,
        container: None,
        previous: false,
    };
    let id = next_id(model);
    let mut logs = LogsModel::new(id, LogsModel::view_request(target));
    logs.back = Some((model.view, model.view_back));
    let request = logs.request.clone();
    model.logs = Some(logs);
    model.view = View::Logs;
    model.view_back = None;
    vec![Effect::FollowLogs { id, request }]
}

/// Headless `logs`: a reader as `l` starts one, with no view.
pub(super) fn read_logs(model: &mut Model, request: LogRequest) -> Vec<Effect> {
    let id = next_id(model);
    model.logs = Some(LogsModel::new(id, request.clone()));
    vec![Effect::FollowLogs { id, request }]
}

pub(super) fn on_logs(model: &mut Model, msg: LogMsg) {
    if let Some(said) = model.logs.as_mut().and_then(|l| l.apply(msg)) {
        notice(model, said);
    }
}

fn next_id(model: &mut Model) -> u64 {
    let id = model.next_request;
    model.next_request += 1;
    id
}

/// Back to where the view was opened from; the reader stops.
fn close(model: &mut Model) -> Vec<Effect> {
    let back = model.logs.take().and_then(|l| l.back);
    let (view, view_back) = back.unwrap_or((View::Panes, None));
    model.view = view;
    model.view_back = view_back;
    let mut effects = vec![Effect::StopLogs];
    // The detail view it came from reads on; nothing else needs the inspect reader.
    if !matches!(model.view, View::Detail | View::Events) && model.inspect.take().is_some() {
        effects.push(Effect::StopInspect);
    }
    effects
}

/// The same view on another container, run or pod: a new reader, the view's looks kept.
fn switch(model: &mut Model, change: impl FnOnce(&mut PodLogTarget)) -> Vec<Effect> {
    let Some(logs) = model.logs.as_ref() else {
        return Vec::new();
    };
    let Some(mut target) = logs.target().cloned() else {
        return Vec::new();
    };
    // A deployment's pod, once looked up, is read by name from now on.
    if let Some(pod) = &logs.pod {
        target.pod = PodRef::Pod(pod.clone());
    }
    if target.container.is_none() {
        target.container = logs.container.clone();
    }
    change(&mut target);
    let id = next_id(model);
    let Some(logs) = model.logs.as_ref() else {
        return Vec::new();
    };
    let next = logs.switched(id, target);
    let request = next.request.clone();
    model.logs = Some(next);
    vec![Effect::FollowLogs { id, request }]
}

/// Every key while the log view is open.
pub(super) fn on_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    let layout = crate::ui::logs::layout(model);
    let rows = move |l: &LogLine| layout.rows(l);
    let g = Geometry {
        height: layout.height.max(1),
        rows: &rows,
    };
    let page = layout.height.max(1) as i64;
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let Some(logs) = model.logs.as_mut() else {
        return close(model);
    };
    if let Some(input) = logs.search_input.as_mut() {
        match key.code {
            KeyCode::Esc => logs.search_input = None,
            KeyCode::Enter => {
                let text = logs.search_input.take().unwrap_or_default();
                logs.search_error = logs.set_search(&text, &g).err();
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) if plain && input.chars().count() < MAX_SEARCH_CHARS => {
                input.push(c);
            }
            _ => {}
        }
        return Vec::new();
    }
    if let Some(at) = logs.picker {
        let count = logs.containers.len();
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                logs.picker = Some((at + 1).min(count.saturating_sub(1)));
            }
            KeyCode::Char('k') | KeyCode::Up => logs.picker = Some(at.saturating_sub(1)),
            KeyCode::Enter => {
                let Some(name) = logs.containers.get(at).map(|c| c.name.clone()) else {
                    return Vec::new();
                };
                return switch(model, |t| {
                    t.container = Some(name);
                    t.previous = false;
                });
            }
            KeyCode::Esc | KeyCode::Char('q') => {
                // Back to the container being read, or out when none is yet.
                if logs.stream().is_some() {
                    logs.picker = None;
                } else {
                    return close(model);
                }
            }
            KeyCode::Char('?') => model.show_help = true,
            _ => {}
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => return close(model),
        KeyCode::Char('?') => model.show_help = true,
        KeyCode::Char('j') | KeyCode::Down => logs.scroll(1, &g),
        KeyCode::Char('k') | KeyCode::Up => logs.scroll(-1, &g),
        KeyCode::Char('f') if ctrl => logs.scroll(page, &g),
        KeyCode::Char('b') if ctrl => logs.scroll(-page, &g),
        KeyCode::PageDown | KeyCode::Char(' ') => logs.scroll(page, &g),
        KeyCode::PageUp => logs.scroll(-page, &g),
        KeyCode::Char('g') | KeyCode::Home => logs.to_top(),
        KeyCode::Char('G') | KeyCode::End => logs.follow_again(),
        KeyCode::Left if !logs.wrap => logs.hscroll = logs.hscroll.saturating_sub(HSCROLL),
        KeyCode::Right if !logs.wrap => logs.hscroll = logs.hscroll.saturating_add(HSCROLL),
        KeyCode::Char('/') if plain => {
            logs.search_input = Some(String::new());
            logs.search_error = None;
        }
        KeyCode::Char('n') | KeyCode::Char('N') if plain => {
            let newer = key.code == KeyCode::Char('n');
            if logs.search.is_none() {
                notice(model, "no search: / searches");
            } else if !logs.next_match(newer, &g) {
                let which = if newer { "newer" } else { "older" };
                notice(model, format!("no {which} match"));
            }
        }
        KeyCode::Char('w') if plain => {
            logs.wrap = !logs.wrap;
            logs.hscroll = 0;
        }
        KeyCode::Char('t') if plain => logs.timestamps = !logs.timestamps,
        KeyCode::Char('c') if plain => {
            if logs.containers.len() > 1 {
                let at = logs
                    .containers
                    .iter()
                    .position(|c| Some(&c.name) == logs.container.as_ref());
                logs.picker = Some(at.unwrap_or(0));
            } else {
                notice(model, "this pod has one container");
            }
        }
        KeyCode::Char('p') if plain => {
            if logs.container.is_none() {
                notice(model, "choose a container first");
                return Vec::new();
            }
            return switch(model, |t| t.previous = !t.previous);
        }
        KeyCode::Char('s') if plain => {
            if logs.ring.is_empty() {
                notice(model, "nothing to save yet");
                return Vec::new();
            }
            return vec![Effect::SaveLog { id: logs.id }];
        }
        KeyCode::Char('o') | KeyCode::Enter if logs.replaced_by.is_some() => {
            let by = logs.replaced_by.clone().unwrap_or_default();
            return switch(model, |t| {
                t.pod = PodRef::Pod(by);
                t.previous = false;
            });
        }
        KeyCode::Char('y') if plain => return copy_command(model),
        _ => {}
    }
    Vec::new()
}

/// `y`: `kubectl --context … -n … logs POD -c C [--previous] [-f]`, copied (OSC 52).
fn copy_command(model: &mut Model) -> Vec<Effect> {
    let Some(logs) = model.logs.as_ref() else {
        return Vec::new();
    };
    let (Some(target), Some(pod)) = (logs.target(), logs.pod.as_ref()) else {
        notice(model, "the pod is not known yet");
        return Vec::new();
    };
    let mut command = format!(
        "{} logs {}",
        kubectl_prefix(model, target.cluster, Some(&target.namespace)),
        shell_quote(pod)
    );
    if let Some(c) = &logs.container {
        command.push_str(&format!(" -c {}", shell_quote(c)));
    }
    if target.previous {
        command.push_str(" --previous");
    } else {
        command.push_str(" -f");
    }
    notice(model, format!("copied: {command}"));
    vec![Effect::CopyToClipboard(command)]
}

#[cfg(test)]
mod tests {
    use super::super::update;
    use crate::model::{Model, View, WorldMode};
    use crate::msg::logs::{ContainerName, LogLine, LogMsg, LogNews, PodRef, StreamInfo};
    use crate::msg::{ClusterMsg, Effect, LogRequest, Msg};
    use chrono::DateTime;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn ch(c: char) -> Msg {
        key(KeyCode::Char(c))
    }

    fn model() -> Model {
        let clusters = ["edge", "bank", "vendor"]
            .iter()
            .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
            .collect();
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z").expect("time");
        let mut m = Model::new(WorldMode::Simulated, clusters, now);
        m.size = (120, 36);
        let pod = crate::model::PodSummary {
            namespace: "external-attacker".into(),
            name: "mock-attacker-1".into(),
            ready: 1,
            containers: 2,
            phase: crate::model::PodPhase::Running,
            restarts: 0,
            created: None,
            image: None,
            node: None,
            message: None,
            last_restart: None,
            ready_since: None,
        };
        update(
            &mut m,
            Msg::Cluster(
                2,
                ClusterMsg::Pods(crate::model::ResourceMsg::Reset(vec![pod])),
            ),
        );
        update(&mut m, ch('3'));
        update(&mut m, ch('j'));
        update(&mut m, ch('j'));
        m
    }

    fn news(m: &mut Model, news: LogNews) {
        let id = m.logs.as_ref().map_or(0, |l| l.id);
        update(m, Msg::Logs(LogMsg { id, news }));
    }

    fn lines(m: &mut Model, n: usize) {
        let lines = (0..n)
            .map(|i| LogLine {
                stream: 0,
                at: None,
                text: format!("line {i}"),
                cut: 0,
                not_utf8: false,
            })
            .collect();
        news(m, LogNews::Lines { stream: 0, lines });
    }

    fn request_of(effects: &[Effect]) -> Option<(u64, LogRequest)> {
        effects.iter().find_map(|e| match e {
            Effect::FollowLogs { id, request } => Some((*id, request.clone())),
            _ => None,
        })
    }

    #[test]
    fn l_opens_the_pod_asks_for_a_container_and_esc_goes_back() {
        let mut m = model();
        let effects = update(&mut m, ch('l'));
        let (id, request) = request_of(&effects).expect("a reader");
        assert_eq!(m.view, View::Logs);
        let LogRequest::Pod { target, window } = request else {
            panic!("one pod");
        };
        assert_eq!(target.pod, PodRef::Pod("mock-attacker-1".into()));
        assert_eq!((target.cluster, target.container.clone()), (2, None));
        assert_eq!((window.follow, window.tail), (true, Some(500)));
        news(
            &mut m,
            LogNews::Pod {
                name: "mock-attacker-1".into(),
                containers: vec![
                    ContainerName {
                        name: "app".into(),
                        init: false,
                    },
                    ContainerName {
                        name: "sidecar".into(),
                        init: false,
                    },
                ],
                chosen: None,
                default: Some("sidecar".into()),
            },
        );
        let logs = m.logs.as_ref().expect("open");
        assert_eq!(
            logs.picker,
            Some(1),
            "the default container is offered first"
        );
        update(&mut m, ch('k'));
        let effects = update(&mut m, key(KeyCode::Enter));
        let (next, request) = request_of(&effects).expect("the chosen container");
        assert!(next > id);
        let LogRequest::Pod { target, .. } = request else {
            panic!("one pod");
        };
        assert_eq!(target.container.as_deref(), Some("app"));
        // Stale news of the first request is dropped.
        update(
            &mut m,
            Msg::Logs(LogMsg {
                id,
                news: LogNews::Refused("old".into()),
            }),
        );
        assert_eq!(m.logs.as_ref().and_then(|l| l.refused.clone()), None);
        let effects = update(&mut m, key(KeyCode::Esc));
        assert_eq!(effects, vec![Effect::StopLogs]);
        assert_eq!(m.view, View::Panes);
        assert!(m.logs.is_none());
        assert!(
            m.clusters[2].cursor_row().is_some(),
            "the cursor is where it was"
        );
    }

    fn opened() -> Model {
        let mut m = model();
        update(&mut m, ch('l'));
        news(
            &mut m,
            LogNews::Pod {
                name: "mock-attacker-1".into(),
                containers: vec![ContainerName {
                    name: "app".into(),
                    init: false,
                }],
                chosen: Some("app".into()),
                default: None,
            },
        );
        news(
            &mut m,
            LogNews::Stream {
                stream: 0,
                info: StreamInfo {
                    cluster: 2,
                    namespace: "external-attacker".into(),
                    pod: "mock-attacker-1".into(),
                    container: "app".into(),
                    several: false,
                },
            },
        );
        m
    }

    #[test]
    fn the_views_keys_are_its_own() {
        let mut m = opened();
        lines(&mut m, 300);
        assert!(update(&mut m, ch('u')).is_empty(), "u is not act 2 here");
        assert_eq!(m.confirming, None);
        update(&mut m, ch('k'));
        assert!(
            !m.logs.as_ref().expect("open").follow,
            "scrolling up pauses"
        );
        update(&mut m, ch('G'));
        assert!(m.logs.as_ref().expect("open").follow);
        update(&mut m, ch('w'));
        update(&mut m, ch('t'));
        let logs = m.logs.as_ref().expect("open");
        assert!(logs.wrap && logs.timestamps);
        // `/` types a search: keys are text until Enter.
        for c in "/line 29q".chars() {
            update(&mut m, ch(c));
        }
        assert_eq!(m.view, View::Logs, "q typed into the search");
        update(&mut m, key(KeyCode::Backspace));
        update(&mut m, key(KeyCode::Enter));
        let search = m
            .logs
            .as_ref()
            .and_then(|l| l.search.as_ref())
            .expect("search");
        assert_eq!(search.lines, 11, "line 29, 290 … 299");
        update(&mut m, ch('N'));
        assert!(m.logs.as_ref().and_then(|l| l.search.as_ref()).is_some());
        // `p`: the previous run, read once; `p` again: the current one, followed.
        let effects = update(&mut m, ch('p'));
        let (_, request) = request_of(&effects).expect("previous");
        let LogRequest::Pod { target, window } = request else {
            panic!("one pod");
        };
        assert!(target.previous && !window.follow);
        assert_eq!(target.container.as_deref(), Some("app"));
        let logs = m.logs.as_ref().expect("open");
        assert!(logs.wrap && logs.timestamps, "the view's looks are kept");
        assert!(logs.ring.is_empty(), "a new buffer");
        let effects = update(&mut m, ch('y'));
        assert_eq!(
            effects,
            vec![Effect::CopyToClipboard(
                "kubectl --context kind-trustusbank-vendor -n external-attacker logs mock-attacker-1 -c app --previous".into()
            )]
        );
        update(&mut m, ch('p'));
        let effects = update(&mut m, ch('y'));
        assert!(matches!(&effects[..], [Effect::CopyToClipboard(c)] if c.ends_with("-c app -f")));
        assert_eq!(update(&mut m, ch('q')), vec![Effect::StopLogs]);
    }

    #[test]
    fn a_replacing_pod_is_offered_and_followed() {
        let mut m = opened();
        lines(&mut m, 3);
        news(
            &mut m,
            LogNews::Ended {
                stream: 0,
                why: "pod mock-attacker-1 is gone".into(),
            },
        );
        news(
            &mut m,
            LogNews::Replaced {
                by: "mock-attacker-2".into(),
            },
        );
        let effects = update(&mut m, ch('o'));
        let (_, request) = request_of(&effects).expect("the new pod");
        let LogRequest::Pod { target, window } = request else {
            panic!("one pod");
        };
        assert_eq!(target.pod, PodRef::Pod("mock-attacker-2".into()));
        assert_eq!(target.container.as_deref(), Some("app"));
        assert!(window.follow);
    }

    #[test]
    fn saving_asks_the_runner_and_the_path_is_said() {
        let mut m = opened();
        assert!(update(&mut m, ch('s')).is_empty(), "nothing to save yet");
        lines(&mut m, 2);
        let id = m.logs.as_ref().map(|l| l.id).expect("open");
        assert_eq!(update(&mut m, ch('s')), vec![Effect::SaveLog { id }]);
        news(
            &mut m,
            LogNews::Saved {
                path: "/state/logs/x.log".into(),
                lines: 2,
            },
        );
        assert_eq!(
            m.notice.as_ref().map(|(n, _)| n.as_str()),
            Some("saved 2 lines to /state/logs/x.log")
        );
    }

    #[test]
    fn a_namespace_row_has_no_log() {
        let mut m = model();
        update(&mut m, ch('g'));
        assert!(update(&mut m, ch('l')).is_empty());
        assert_eq!(m.view, View::Panes);
        assert!(m.notice.is_some());
    }
}
