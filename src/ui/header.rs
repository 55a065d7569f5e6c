//! Header (title, world badge, act area, clock) and footer (key hints).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::{Action, Role, Theme};
use crate::model::{Model, View, WorldMode};

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

    if let Some(filter) = model.active_filter() {
        left.push(Span::styled(
            format!("  / {}", super::format::fit(filter, 30, false)),
            theme.style(Role::Accent),
        ));
    }
    // The problem badge and the clock stay whole; the left side gives way on a narrow screen.
    let (badge_text, badge_role) = problem_badge(model, area.width >= 100);
    let mut right = Vec::new();
    // Nothing marks a recording that works (it would be in the video); one that stopped
    // does, on the side that is never cut.
    if model.recording_stopped.is_some() {
        right.push(Span::styled(" REC STOPPED ", theme.style(Role::Danger)));
    }
    let doctor_key = model.keys.first(Action::Doctor);
    if let Some((text, role)) = super::doctor::badge(&model.doctor, &doctor_key, area.width >= 100)
    {
        right.push(Span::styled(text, theme.style(role)));
    }
    right.extend([
        Span::styled(badge_text, theme.style(badge_role)),
        Span::styled(format!(" {clock} "), theme.style(Role::Header)),
    ]);
    let right_width: u16 = right.iter().map(|s| s.content.chars().count() as u16).sum();
    let [left_area, right_area] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Min(0),
        ratatui::layout::Constraint::Length(right_width.min(area.width)),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(left)).style(theme.style(Role::Header)),
        left_area,
    );
    frame.render_widget(
        Paragraph::new(Line::from(right).right_aligned()).style(theme.style(Role::Header)),
        right_area,
    );
}

/// `! 3 problems` (danger when any is a failure), or that there are none: always shown, so
/// a problem in a cluster nobody is looking at is seen.
fn problem_badge(model: &Model, wide: bool) -> (String, Role) {
    let mut count = 0usize;
    let mut danger = false;
    for p in model.current_problems() {
        count += 1;
        danger |= p.severity == crate::model::problems::Severity::Danger;
    }
    let key = model.keys.first(Action::Problems);
    let role = if danger { Role::Danger } else { Role::Warn };
    if !wide {
        return match count {
            0 => (" ✔ ".to_string(), Role::Ok),
            n => (format!(" {key}{n} "), role),
        };
    }
    match count {
        0 => (" ✔ no problems ".to_string(), Role::Ok),
        1 => (format!(" {key} 1 problem "), role),
        n => (format!(" {key} {n} problems "), role),
    }
}

/// The footer's hints, read off the keymap: `r act 1  u act 2 … q quit` on the panes, the
/// open view's own keys over a view. Help comes last and is always shown.
fn hints(model: &Model) -> Vec<(String, &'static str)> {
    let keys = &model.keys;
    let k = |a| keys.first(a);
    let scroll = (format!("{}/{}", k(Action::Down), k(Action::Up)), "scroll");
    match model.view {
        View::Panes => vec![
            (k(Action::ActReset), "act 1"),
            (k(Action::ActUpgrade), "act 2"),
            (k(Action::ActPoliciesOn), "act 3"),
            (k(Action::Chat), "chat"),
            ("1-9".to_string(), "focus"),
            (k(Action::NextPane), "next"),
            (format!("{}/{}", k(Action::Down), k(Action::Up)), "select"),
            (k(Action::Detail), "describe"),
            (k(Action::Logs), "logs"),
            (k(Action::Filter), "filter"),
            (k(Action::Problems), "problems"),
            (k(Action::Doctor), "doctor"),
            (k(Action::Zoom), "zoom"),
            (k(Action::Links), "links"),
            (k(Action::Quit), "quit"),
        ],
        View::Detail => vec![
            ("Esc".into(), "back"),
            scroll,
            (k(Action::Events), "events"),
            (k(Action::Logs), "logs"),
            (k(Action::CopyCommand), "copy kubectl"),
            (k(Action::DeletePod), "delete pod"),
        ],
        View::Events => vec![
            ("Esc".into(), "back"),
            scroll,
            (k(Action::Detail), "describe"),
            (k(Action::CopyCommand), "copy kubectl"),
        ],
        View::Problems => vec![
            ("Esc".into(), "back"),
            (format!("{}/{}", k(Action::Down), k(Action::Up)), "select"),
            (k(Action::Detail), "open"),
            (k(Action::Events), "events"),
            (k(Action::CopyCommand), "copy kubectl"),
            (k(Action::Timeline), "timeline"),
            (k(Action::Images), "images"),
        ],
        View::Doctor => vec![
            ("Esc".into(), "back"),
            (format!("{}/{}", k(Action::Down), k(Action::Up)), "select"),
            (k(Action::Detail), "evidence + fix"),
            (k(Action::CopyCommand), "copy fix"),
            (k(Action::Doctor), "run again"),
        ],
        View::Chat | View::Exfil | View::Alerts => vec![
            ("Esc".into(), "back"),
            (k(Action::NextPane), "next"),
            (k(Action::Chat), "chat"),
            (k(Action::Trace), "trace"),
            (k(Action::Mask), "mask"),
            (k(Action::CopyCommand), "copy kubectl"),
        ],
        // The log view's keys are its own, like the chat box's.
        View::Logs => super::logs::hints(),
        View::Timeline | View::Images => vec![
            ("Esc".into(), "back"),
            scroll,
            (k(Action::CopyCommand), "copy kubectl"),
            (k(Action::Problems), "problems"),
            (k(Action::Timeline), "timeline"),
            (k(Action::Images), "images"),
        ],
    }
}

/// How long a notice stays in the footer.
const NOTICE_SECS: i64 = 6;

pub fn draw_footer(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    if let Some(text) = &model.filter_input {
        let mut spans = vec![
            Span::styled(" / ", theme.style(Role::Accent)),
            Span::styled(format!("{text}▏"), theme.style(Role::Text)),
        ];
        match &model.filter_error {
            Some(why) => spans.push(Span::styled(format!("  {why}"), theme.style(Role::Danger))),
            None => spans.push(Span::styled(
                "  Enter keep · Esc clear · re: for a regex · name, namespace, status, image",
                theme.style(Role::Muted),
            )),
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    if let Some((text, at)) = &model.notice
        && (model.now - *at).num_seconds() < NOTICE_SECS
    {
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), theme.style(Role::Warn))),
            area,
        );
        return;
    }
    // Whole hints only: what does not fit is left out, never cut in half; help stays.
    let help = (model.keys.first(Action::Help), "help");
    let help_width = help.0.chars().count() + help.1.len() + 3;
    let mut room = usize::from(area.width).saturating_sub(1 + help_width);
    let mut spans = vec![Span::raw(" ")];
    let hints = hints(model);
    let mut shown = Vec::new();
    for (key, what) in hints {
        let width = key.chars().count() + what.chars().count() + 3;
        if width > room {
            break;
        }
        room -= width;
        shown.push((key, what));
    }
    shown.push(help);
    for (key, what) in shown {
        spans.push(Span::styled(key, theme.style(Role::Accent)));
        spans.push(Span::styled(format!(" {what}  "), theme.style(Role::Muted)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
