//! Header (title, world badge, act area, clock) and footer (key hints).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::{Action, Keymap, Role, Theme};
use crate::model::{Model, WorldMode};

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let badge = match model.mode {
        WorldMode::Simulated => Span::styled(" SIMULATED ", theme.style(Role::BadgeSim)),
        WorldMode::Live => Span::styled(" LIVE ", theme.style(Role::BadgeLive)),
    };
    let clock = model.now.format("%H:%M:%S").to_string();
    let mut left = vec![
        Span::styled(" control-room ", theme.style(Role::Title)),
        badge,
    ];
    left.extend(super::act::header_spans(model, theme));
    let left_width: usize = left.iter().map(|s| s.content.chars().count()).sum();
    let gap = usize::from(area.width).saturating_sub(left_width + clock.len() + 1);
    let mut spans = left;
    spans.push(Span::raw(" ".repeat(gap)));
    spans.push(Span::styled(clock, theme.style(Role::Header)));
    spans.push(Span::raw(" "));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.style(Role::Header)),
        area,
    );
}

/// The footer's hints, read off the keymap: `r act 1  u act 2 … q quit`.
fn hints(keys: &Keymap) -> Vec<(String, &'static str)> {
    let k = |a| keys.first(a);
    vec![
        (k(Action::ActReset), "act 1"),
        (k(Action::ActUpgrade), "act 2"),
        (k(Action::ActPoliciesOn), "act 3"),
        (k(Action::Chat), "chat"),
        ("1-9".to_string(), "focus"),
        (k(Action::NextPane), "next"),
        (format!("{}/{}", k(Action::Down), k(Action::Up)), "scroll"),
        (k(Action::Zoom), "zoom"),
        (k(Action::Links), "links"),
        (k(Action::Help), "help"),
        (k(Action::Quit), "quit"),
    ]
}

/// How long a notice stays in the footer.
const NOTICE_SECS: i64 = 6;

pub fn draw_footer(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    if let Some((text, at)) = &model.notice
        && (model.now - *at).num_seconds() < NOTICE_SECS
    {
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), theme.style(Role::Warn))),
            area,
        );
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    let hints = if model.view == crate::model::View::Logs {
        super::logs::hints()
    } else {
        hints(&model.keys)
    };
    for (key, what) in hints {
        spans.push(Span::styled(key, theme.style(Role::Accent)));
        spans.push(Span::styled(format!(" {what}  "), theme.style(Role::Muted)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
