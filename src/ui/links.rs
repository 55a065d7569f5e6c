//! The links pane (`L`): every port-forward with its local URL, cluster, target pod, state
//! and whether what is behind it answers — the control room's replacement for a dozen
//! background `kubectl port-forward`s and eight browser tabs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::{fit, pad};
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::forward::{ForwardRow, ForwardState};

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title(Span::styled(
            " links · port-forwards ",
            theme.style(Role::Title),
        ))
        .title_bottom(
            Line::from(Span::styled(
                " o/Enter open · y copy · j/k select · Esc close ",
                theme.style(Role::Muted),
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let url_w = 30.min(width / 3);
    let name_w = 15;
    let cluster_w = 8;
    let state_w = 14;
    let rest = width.saturating_sub(2 + name_w + url_w + cluster_w + state_w);
    let mut lines = vec![Line::styled(
        format!(
            "  {}{}{}{}{}",
            pad("NAME", name_w),
            pad("URL", url_w),
            pad("CLUSTER", cluster_w),
            pad("STATE", state_w),
            pad("TARGET → POD · PROBE", rest)
        ),
        theme.style(Role::Muted),
    )];
    if model.forwards.is_empty() {
        lines.push(Line::styled(
            "  no [[forward]] configured",
            theme.style(Role::Muted),
        ));
    }
    for (i, row) in model.forwards.iter().enumerate() {
        let selected = i == model.links_selected;
        let base = if selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Text)
        };
        let (state, state_role) = state_text(row);
        let url = row.url().unwrap_or_else(|| "—".to_string());
        let detail = detail_text(row);
        lines.push(Line::from(vec![
            Span::styled(if selected { "▶ " } else { "  " }, base),
            Span::styled(pad(&row.name, name_w), base),
            Span::styled(pad(&url, url_w), theme.style(Role::Accent)),
            Span::styled(pad(&row.cluster, cluster_w), theme.style(Role::Muted)),
            Span::styled(pad(&state, state_w), theme.style(state_role)),
            Span::styled(fit(&detail, rest, false), theme.style(Role::Text)),
        ]));
        if let Some((at, e)) = &row.last_error {
            lines.push(Line::styled(
                fit(&format!("    {} {e}", at.format("%H:%M:%S")), width, false),
                theme.style(Role::Danger),
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn state_text(row: &ForwardRow) -> (String, Role) {
    match row.state {
        ForwardState::Starting => ("starting".into(), Role::Muted),
        ForwardState::Failed => ("✖ not listening".into(), Role::Danger),
        ForwardState::Direct => ("direct".into(), Role::Info),
        ForwardState::Listening if row.active > 0 => (format!("● {} open", row.active), Role::Ok),
        ForwardState::Listening => ("● listening".into(), Role::Ok),
    }
}

fn detail_text(row: &ForwardRow) -> String {
    let pod = row
        .pod
        .as_deref()
        .map(|p| format!(" → {p}"))
        .unwrap_or_default();
    let probe = match &row.probe {
        Some((_, Ok(code))) => format!(" · HTTP {code}"),
        Some((_, Err(e))) => format!(" · down: {e}"),
        None => String::new(),
    };
    let traffic = if row.connections > 0 {
        format!(
            " · {} conn, {}↑ {}↓",
            row.connections,
            bytes(row.bytes_up),
            bytes(row.bytes_down)
        )
    } else {
        String::new()
    };
    format!("{}{pod}{probe}{traffic}", row.target)
}

fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n}B"),
        n if n < 1024 * 1024 => format!("{:.1}K", n as f64 / 1024.0),
        n => format!("{:.1}M", n as f64 / (1024.0 * 1024.0)),
    }
}
