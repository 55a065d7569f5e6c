//! The `?` overlay: every key, and where the log file and kubeconfig are.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::config::{Role, Theme};
use crate::model::Model;

pub const KEYS: &[(&str, &str)] = &[
    ("r", "act 1 · reset-demo (asks y/Enter)"),
    ("u", "act 2 · upgrade-banking-app (asks y/Enter)"),
    ("p", "act 3 · policies-on (asks y/Enter)"),
    ("i", "type in the chat box (Enter send, Esc leave)"),
    ("Ctrl+P", "(in the chat box) the customer prompt"),
    ("t", "show / hide the tool-call trace"),
    ("m", "mask / show the PII of the stolen record"),
    ("a", "show / hide the act log"),
    ("L", "links: port-forwards (o open, y copy)"),
    ("Ctrl+C", "cancel the running act"),
    ("1 2 3 …", "focus a cluster pane"),
    ("Tab / Shift+Tab", "next / previous pane"),
    ("j k ↓ ↑", "scroll (PgUp/PgDn a page, g/G top/bottom)"),
    ("z", "zoom the focused pane (Esc leaves)"),
    ("?", "this help (Esc closes)"),
    ("q", "quit (asks while an act runs)"),
];

pub fn draw(frame: &mut Frame, screen: Rect, model: &Model, theme: &Theme) {
    let width = screen.width.saturating_sub(4).min(76);
    let height = (KEYS.len() as u16 + 8).min(screen.height.saturating_sub(2));
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);

    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>16}  "), theme.style(Role::Accent)),
                Span::styled(*what, theme.style(Role::Text)),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled("log file    ", theme.style(Role::Muted)),
        Span::styled(model.log_path.as_str(), theme.style(Role::Text)),
    ]));
    lines.push(Line::from(vec![
        Span::styled("kubeconfig  ", theme.style(Role::Muted)),
        Span::styled(model.kubeconfig_path.as_str(), theme.style(Role::Text)),
    ]));
    let block = Block::bordered()
        .title(Span::styled(" keys ", theme.style(Role::Title)))
        .border_style(theme.style(Role::BorderFocus));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
