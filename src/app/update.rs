//! `update` is the only writer of the model: a plain function of (model, message).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::msg::{ClusterMsg, Effect, Msg};
use crate::model::{Model, Reachability};

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => return on_key(model, key),
        Msg::Resize(w, h) => model.size = (w, h),
        Msg::Tick(now) => model.now = now,
        Msg::Cluster(i, msg) => {
            if let Some(cluster) = model.clusters.get_mut(i) {
                on_cluster(cluster, msg);
            }
        }
    }
    Vec::new()
}

fn on_cluster(cluster: &mut crate::model::ClusterModel, msg: ClusterMsg) {
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
        ClusterMsg::Events(m) => cluster.apply_events(m),
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        model.quitting = true;
        return vec![Effect::Quit];
    }
    if model.show_help {
        // Any of these closes the overlay; other keys are swallowed so nothing happens behind it.
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
        ) {
            model.show_help = false;
        }
        return Vec::new();
    }
    let page = crate::ui::layout::page_rows(model);
    let count = model.clusters.len();
    match key.code {
        KeyCode::Char('q') => {
            model.quitting = true;
            return vec![Effect::Quit];
        }
        KeyCode::Char('?') => model.show_help = true,
        KeyCode::Char('z') => model.zoomed = !model.zoomed,
        KeyCode::Esc if model.zoomed => model.zoomed = false,
        KeyCode::Tab if count > 0 => model.focus = (model.focus + 1) % count,
        KeyCode::BackTab if count > 0 => model.focus = (model.focus + count - 1) % count,
        KeyCode::Char(c @ '1'..='9') => {
            let i = (c as usize) - ('1' as usize);
            if i < count {
                model.focus = i;
            }
        }
        KeyCode::Char('j') | KeyCode::Down => scroll(model, 1, page),
        KeyCode::Char('k') | KeyCode::Up => scroll(model, -1, page),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll(model, page as isize, page),
        KeyCode::PageUp => scroll(model, -(page as isize), page),
        KeyCode::Home | KeyCode::Char('g') => scroll(model, isize::MIN / 2, page),
        KeyCode::End | KeyCode::Char('G') => {
            if let Some(c) = model.clusters.get_mut(model.focus) {
                c.scroll_to_end(page);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn scroll(model: &mut Model, delta: isize, page: usize) {
    if let Some(c) = model.clusters.get_mut(model.focus) {
        c.scroll_by(delta, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorldMode;
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

    #[test]
    fn focus_keys() {
        let mut m = model();
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
}
