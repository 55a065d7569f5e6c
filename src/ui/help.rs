//! The `?` overlay: every key, and where the log file and kubeconfig are.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::config::{Action, Keymap, Role, Theme};
use crate::model::Model;

/// Every key, read off the keymap (the remappable ones) and the fixed ones beside them.
fn keys(map: &Keymap) -> Vec<(String, String)> {
    let line = |a: Action| (map.all(a), a.describe().to_string());
    vec![
        line(Action::ActReset),
        line(Action::ActUpgrade),
        line(Action::ActPoliciesOn),
        line(Action::Chat),
        (
            "Ctrl+P".into(),
            "(in the chat box) the customer prompt".into(),
        ),
        line(Action::Trace),
        line(Action::Mask),
        line(Action::ActLog),
        line(Action::Links),
        ("Ctrl+C".into(), "cancel the running act".into()),
        ("1 2 3 …".into(), "focus a cluster pane".into()),
        (
            format!(
                "{} / {}",
                map.all(Action::NextPane),
                map.all(Action::PrevPane)
            ),
            "next / previous pane".into(),
        ),
        (
            format!("{} {}", map.all(Action::Down), map.all(Action::Up)),
            format!(
                "scroll ({}/{} a page, {}/{} top/bottom)",
                map.first(Action::PageUp),
                map.first(Action::PageDown),
                map.first(Action::Top),
                map.first(Action::Bottom)
            ),
        ),
        line(Action::Zoom),
        line(Action::Help),
        line(Action::Quit),
    ]
}

pub fn draw(frame: &mut Frame, screen: Rect, model: &Model, theme: &Theme) {
    let width = screen.width.saturating_sub(4).min(76);
    // The log view's keys are its own, like the chat box's: shown while it is open.
    let (keys, title) = if model.view == crate::model::View::Logs {
        (super::logs::help_keys(), " keys of the log view ")
    } else {
        (keys(&model.keys), " keys ")
    };
    let height = (keys.len() as u16 + 8).min(screen.height.saturating_sub(2));
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);

    let mut lines: Vec<Line> = keys
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>16}  "), theme.style(Role::Accent)),
                Span::styled(what, theme.style(Role::Text)),
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
        .title(Span::styled(title, theme.style(Role::Title)))
        .border_style(theme.style(Role::BorderFocus));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
