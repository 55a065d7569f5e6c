//! The `?` overlay: every key, and where the log file and kubeconfig are.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::config::{Action, Keymap, Role, Theme};
use crate::model::Model;

/// Every key, read off the keymap (the remappable ones) and the fixed ones beside them.
pub fn keys(map: &Keymap) -> Vec<(String, String)> {
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
                "select ({}/{} a page, {}/{} top/bottom)",
                map.first(Action::PageUp),
                map.first(Action::PageDown),
                map.first(Action::Top),
                map.first(Action::Bottom)
            ),
        ),
        line(Action::Zoom),
        line(Action::Detail),
        line(Action::Events),
        line(Action::Logs),
        line(Action::CopyCommand),
        line(Action::Filter),
        line(Action::Problems),
        line(Action::Timeline),
        line(Action::Images),
        line(Action::DeletePod),
        line(Action::Fold),
        ("Esc".into(), "back from a view; clears the filter".into()),
        line(Action::Help),
        line(Action::Quit),
    ]
}

/// The keys the overlay lists, and its title: the log view's keys are its own, like the
/// chat box's, and are what it shows while that view is open.
fn shown(model: &Model) -> (Vec<(String, String)>, &'static str) {
    if model.view == crate::model::View::Logs {
        (super::logs::help_keys(), " keys of the log view ")
    } else {
        (keys(&model.keys), " keys ")
    }
}

/// Lines of the overlay: the keys, a blank, the two paths.
pub fn line_count(model: &Model) -> usize {
    shown(model).0.len() + 3
}

/// How far the overlay scrolls at the model's screen size (0 when it all fits).
pub fn max_scroll(model: &Model) -> usize {
    let height = (shown(model).0.len() as u16 + 5).min(model.size.1.saturating_sub(2));
    line_count(model).saturating_sub(usize::from(height.saturating_sub(2)))
}

pub fn draw(frame: &mut Frame, screen: Rect, model: &Model, theme: &Theme) {
    let width = screen.width.saturating_sub(4).min(84);
    let (keys, title) = shown(model);
    let height = (keys.len() as u16 + 5).min(screen.height.saturating_sub(2));
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);

    let mut lines: Vec<Line> = keys
        .into_iter()
        .skip(model.help_scroll)
        .map(|(k, what)| {
            // One line each, so the list scrolls by entries; a long remapped key is cut.
            let room = usize::from(width.saturating_sub(2)).saturating_sub(18);
            Line::from(vec![
                Span::styled(
                    format!("{:>16}  ", super::format::fit(&k, 16, false)),
                    theme.style(Role::Accent),
                ),
                Span::styled(
                    super::format::fit(&what, room, false),
                    theme.style(Role::Text),
                ),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("log file    ", theme.style(Role::Muted)),
        Span::styled(model.log_path.as_str(), theme.style(Role::Text)),
    ]));
    lines.push(Line::from(vec![
        Span::styled("kubeconfig  ", theme.style(Role::Muted)),
        Span::styled(model.kubeconfig_path.as_str(), theme.style(Role::Text)),
    ]));
    // On a short screen the list scrolls; the title says so.
    let inner_rows = usize::from(height.saturating_sub(2));
    let more = line_count(model).saturating_sub(model.help_scroll) > inner_rows;
    let mut block = Block::bordered()
        .title(Span::styled(title, theme.style(Role::Title)))
        .border_style(theme.style(Role::BorderFocus));
    if more || model.help_scroll > 0 {
        let hint = format!(
            " {}/{} more ",
            model.keys.first(Action::Down),
            model.keys.first(Action::Up)
        );
        block = block
            .title_top(Line::from(Span::styled(hint, theme.style(Role::Muted))).right_aligned());
    }
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
