//! `!`: every cluster's problems in one list, newest first, with the selected one ready for
//! `Enter`. Only the visible rows are built; the list itself is kept by `update`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{age, fit, pad};
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::problems::Severity;

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let total = model.current_problems().count();
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(" problems ", theme.style(Role::Title)),
            Span::styled(
                format!("· {total} across {} clusters ", model.clusters.len()),
                theme.style(Role::Muted),
            ),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    if total == 0 {
        let lines = vec![
            Line::styled("✔ nothing to look at in any cluster", theme.style(Role::Ok)),
            Line::styled(
                "  every pod ready or done, every workload at its replicas, no Warning event in 15 minutes, every cluster answering",
                theme.style(Role::Muted),
            ),
        ];
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let width = usize::from(inner.width);
    let cluster_w = model
        .clusters
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 12)
        + 1;
    let since_w = 5;
    let what_w = if width >= 110 { 24 } else { 17 };
    // The object first; its namespace where there is room for it.
    let namespace_w = if width >= 150 { 30 } else { 0 };
    let object_w = if width >= 150 {
        48
    } else if width >= 110 {
        40
    } else {
        28
    };
    let message_w = width.saturating_sub(cluster_w + namespace_w + object_w + what_w + since_w + 1);
    let rows = usize::from(inner.height) - 1;
    let selected = model.view_scroll.min(total - 1);
    let top = (selected + 1).saturating_sub(rows);
    let mut lines = vec![Line::styled(
        format!(
            "{}{}{}{}{:>since_w$} {}",
            pad("CLUSTER", cluster_w),
            pad("OBJECT", object_w),
            pad(if namespace_w > 0 { "NAMESPACE" } else { "" }, namespace_w),
            pad("WHAT", what_w),
            "SINCE",
            "LAST MESSAGE"
        ),
        theme.style(Role::Header),
    )];
    for (i, p) in model.current_problems().enumerate().skip(top).take(rows) {
        let cluster = model
            .clusters
            .get(p.key.cluster)
            .map(|c| c.name.as_str())
            .unwrap_or("?");
        let object = &p.object;
        let role = match p.severity {
            Severity::Danger => Role::Danger,
            Severity::Warn => Role::Warn,
        };
        let mut spans = vec![
            Span::styled(pad(cluster, cluster_w), theme.style(Role::Accent)),
            Span::styled(
                pad(&fit(object, object_w - 1, true), object_w),
                theme.style(Role::Text),
            ),
            Span::styled(pad(&p.what, what_w), theme.style(role)),
            Span::styled(
                format!("{:>since_w$} ", age(Some(p.since), model.now)),
                theme.style(Role::Muted),
            ),
            Span::styled(fit(&p.message, message_w, false), theme.style(Role::Text)),
        ];
        if i == selected {
            let sel = theme.style(Role::Selection);
            for s in &mut spans {
                s.style = s.style.patch(sel);
            }
            // The selection runs to the edge.
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            spans.push(Span::styled(" ".repeat(width.saturating_sub(used)), sel));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
