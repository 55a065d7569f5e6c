//! `E`: the events of every cluster merged by time, newest first, one line each, warnings
//! in the warning role. New events arrive at the top while the view is at its top.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{fit, pad};
use crate::config::{Action, Role, Theme};
use crate::model::{EventSummary, Model};

/// Every cluster's kept events, newest first, with the cluster's index.
pub fn merged(model: &Model) -> Vec<(usize, &EventSummary)> {
    let mut all: Vec<(usize, &EventSummary)> = model
        .clusters
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.events.iter().map(move |e| (i, e)))
        .collect();
    // Stable: events of the same second keep their arrival order (newest first).
    all.reverse();
    all.sort_by_key(|(_, e)| std::cmp::Reverse(e.last_seen));
    all
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let events = merged(model);
    let warnings = events.iter().filter(|(_, e)| e.warning).count();
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(" timeline ", theme.style(Role::Title)),
            Span::styled(
                format!(
                    "· {} events, {warnings} warnings, {} clusters ",
                    events.len(),
                    model.clusters.len()
                ),
                theme.style(Role::Muted),
            ),
            if model.view_scroll == 0 {
                Span::styled("· following ", theme.style(Role::Ok))
            } else {
                Span::styled(
                    format!("· paused ({} follows) ", model.keys.first(Action::Top)),
                    theme.style(Role::Warn),
                )
            },
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    if events.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no events yet in any cluster",
                theme.style(Role::Muted),
            )),
            inner,
        );
        return;
    }
    let width = usize::from(inner.width);
    let cluster_w = model
        .clusters
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(4, 12)
        + 1;
    // The namespace only where there is room for it.
    let with_namespace = width >= 160;
    let object_w = if width >= 160 {
        56
    } else if width >= 110 {
        36
    } else {
        24
    };
    let reason_w = if width >= 160 { 22 } else { 17 };
    let rows = usize::from(inner.height);
    let top = model.view_scroll.min(events.len().saturating_sub(rows));
    let offset = *model.now.offset();
    let lines: Vec<Line> = events
        .iter()
        .skip(top)
        .take(rows)
        .map(|(i, e)| {
            let role = if e.warning { Role::Warn } else { Role::Text };
            let when = e
                .last_seen
                .map(|t| t.with_timezone(&offset).format("%H:%M:%S").to_string())
                .unwrap_or_else(|| "--:--:--".into());
            let cluster = model
                .clusters
                .get(*i)
                .map(|c| c.name.as_str())
                .unwrap_or("?");
            let reason = if e.count > 1 {
                format!("{} ×{}", e.reason, e.count)
            } else {
                e.reason.clone()
            };
            let object = if with_namespace {
                format!("{}/{}", e.namespace, e.object)
            } else {
                e.object.clone()
            };
            let used = 9 + cluster_w + reason_w + object_w;
            Line::from(vec![
                Span::styled(format!("{when} "), theme.style(Role::Muted)),
                Span::styled(pad(cluster, cluster_w), theme.style(Role::Accent)),
                Span::styled(pad(&reason, reason_w), theme.style(role)),
                Span::styled(
                    pad(&fit(&object, object_w - 1, true), object_w),
                    theme.style(Role::Muted),
                ),
                Span::styled(
                    fit(&e.message, width.saturating_sub(used), false),
                    theme.style(role),
                ),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
