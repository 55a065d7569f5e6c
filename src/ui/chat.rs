//! The chat strip: the conversation with the agent (who, when, how long), the prompt box,
//! and the trace of tool calls — the suspicious hop in the danger colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::format::fit;
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::chat::Speaker;

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let chat = &model.chat;
    let (talk, trace) = if chat.show_trace {
        let [l, r] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(area);
        (l, Some(r))
    } else {
        (area, None)
    };
    let input_height = (chat.input.len().clamp(1, 3) + 2) as u16;
    let [log_area, input_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(input_height)]).areas(talk);
    draw_conversation(frame, log_area, model, theme);
    draw_input(frame, input_area, model, theme);
    if let Some(trace) = trace {
        draw_trace(frame, trace, model, theme);
    }
}

fn draw_conversation(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let chat = &model.chat;
    let agent = chat.agent.as_deref().unwrap_or("agent");
    let status = if chat.pending { " answering… " } else { "" };
    let block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title(Line::from(vec![
            Span::styled(format!(" chat · {agent} "), theme.style(Role::Title)),
            Span::styled(status, theme.style(Role::Warn)),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    for entry in &chat.transcript {
        let (who, role) = match entry.speaker {
            Speaker::Customer => ("customer", Role::Accent),
            Speaker::Agent => (agent, Role::Ok),
            Speaker::Error => ("error", Role::Danger),
        };
        let latency = entry
            .latency_ms
            .map(|ms| format!(" · {:.1}s", ms as f64 / 1000.0))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {who}", entry.at.format("%H:%M:%S")),
                theme.style(role),
            ),
            Span::styled(latency, theme.style(Role::Muted)),
        ]));
        let text_role = if entry.speaker == Speaker::Error {
            Role::Danger
        } else {
            Role::Text
        };
        for line in entry.text.lines() {
            lines.push(Line::styled(format!("  {line}"), theme.style(text_role)));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "i to type, Ctrl+P for the customer prompt, Enter sends",
            theme.style(Role::Muted),
        ));
    }
    // Newest at the bottom: scroll so the end is visible (wrapping is off, one row per line).
    let skip = lines.len().saturating_sub(usize::from(inner.height));
    let width = usize::from(inner.width);
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(skip)
        .map(|l| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            if text.chars().count() > width {
                Line::styled(
                    fit(&text, width, false),
                    l.spans.first().map(|s| s.style).unwrap_or_default(),
                )
            } else {
                l
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn draw_input(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let chat = &model.chat;
    let border = if chat.focused {
        Role::BorderFocus
    } else {
        Role::Border
    };
    let hint = if chat.focused {
        " Enter send · Alt+Enter newline · ↑↓ history · Ctrl+P prompt · Esc leave "
    } else {
        " i type "
    };
    let block = Block::bordered()
        .border_style(theme.style(border))
        .title(Span::styled(" prompt ", theme.style(Role::Title)))
        .title_bottom(Line::from(Span::styled(hint, theme.style(Role::Muted))).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height).max(1);
    let first = chat.cursor.0.saturating_sub(rows - 1);
    let lines: Vec<Line> = chat
        .input
        .iter()
        .skip(first)
        .take(rows)
        .map(|l| Line::styled(l.as_str(), theme.style(Role::Text)))
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if chat.focused {
        let x = inner.x
            + u16::try_from(chat.cursor.1)
                .unwrap_or(u16::MAX)
                .min(inner.width.saturating_sub(1));
        let y = inner.y
            + u16::try_from(chat.cursor.0 - first)
                .unwrap_or(0)
                .min(inner.height.saturating_sub(1));
        frame.set_cursor_position((x, y));
    }
}

fn draw_trace(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title(Span::styled(
            " trace · tool calls (t hides) ",
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let skip = model
        .chat
        .trace
        .len()
        .saturating_sub(usize::from(inner.height));
    let lines: Vec<Line> = model
        .chat
        .trace
        .iter()
        .skip(skip)
        .map(|t| {
            let role = if t.suspicious {
                Role::Danger
            } else if t.arrow == "→" {
                Role::Accent
            } else {
                Role::Muted
            };
            let mark = if t.suspicious { "⚠ " } else { "" };
            let head = format!("{} {mark}{} ", t.arrow, t.name);
            let rest = fit(&t.detail, width.saturating_sub(head.chars().count()), false);
            Line::from(vec![
                Span::styled(head, theme.style(role)),
                Span::styled(rest, theme.style(Role::Text)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
