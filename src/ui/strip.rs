//! The story strip: on a screen too small for the chat, exfil and alert panels, one line
//! that keeps the story in sight — the act, the exfil count (red when it rose in this act),
//! what is firing, and the last thing said in the chat.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::fit;
use crate::config::{Action, Role, Theme};
use crate::model::Model;
use crate::model::alerts::AlertState;
use crate::model::chat::Speaker;

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let width = usize::from(area.width);
    // The long forms while the chat line keeps some room, the short ones below that.
    let mut spans = story(model, theme, false);
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if width.saturating_sub(used) < 24 {
        spans = story(model, theme, true);
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let (text, role) = chat_line(model);
    spans.push(Span::styled(
        fit(&text, width.saturating_sub(used), false),
        theme.style(role),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Act, exfil and alerts, each followed by a separator.
fn story(model: &Model, theme: &Theme, short: bool) -> Vec<Span<'static>> {
    let sep = || Span::styled(" │ ", theme.style(Role::Border));
    let state = model.act.reading.state;
    let label = state.label();
    let label = if short {
        label.split(" · ").next().unwrap_or(label)
    } else {
        label
    };
    let mut out = vec![
        Span::styled(
            format!(" {label}"),
            theme
                .style(super::act::state_role(state))
                .patch(theme.style(Role::Title)),
        ),
        sep(),
    ];
    let exfil = &model.exfil;
    let this_act = exfil.since(model.act.since);
    let (text, role) = match (this_act, short) {
        (0, _) => (format!("exfil {}", exfil.total()), Role::Muted),
        (n, false) => (
            format!("exfil {} (+{n} this act)", exfil.total()),
            Role::Danger,
        ),
        (n, true) => (format!("exfil {} +{n}", exfil.total()), Role::Danger),
    };
    out.push(Span::styled(text, theme.style(role)));
    out.push(sep());
    let firing: Vec<&str> = model
        .alerts
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.name.as_str())
        .collect();
    let suffix = if short { "" } else { " firing" };
    let (text, role) = match firing.as_slice() {
        [] if short => ("no alerts".to_string(), Role::Muted),
        [] => ("no alerts firing".to_string(), Role::Muted),
        [one] => (format!("● {one}{suffix}"), Role::Danger),
        [first, rest @ ..] => (format!("● {first} +{}{suffix}", rest.len()), Role::Danger),
    };
    out.push(Span::styled(text, theme.style(role)));
    out.push(sep());
    out
}

/// The last thing said in the chat, first line, with who said it.
fn chat_line(model: &Model) -> (String, Role) {
    match model.chat.transcript.last() {
        Some(entry) => {
            let who = match entry.speaker {
                Speaker::Customer => "customer",
                Speaker::Agent => model.chat.agent.as_deref().unwrap_or("agent"),
                Speaker::Error => "error",
            };
            let first = entry
                .text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let role = if entry.speaker == Speaker::Error {
                Role::Danger
            } else {
                Role::Text
            };
            (format!("{who}: {first}"), role)
        }
        None => (
            format!("{} to chat", model.keys.first(Action::Chat)),
            Role::Muted,
        ),
    }
}
