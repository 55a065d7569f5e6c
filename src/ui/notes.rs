//! The presenter-notes screen (`control-room notes`): a big act title read off the clusters,
//! the clock and the time spent in the act against its budget, exfil and alert counts, the
//! next beat and its key, the act's notes and its beats. Readable from 80×24 up.

use chrono::{DateTime, FixedOffset};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::act::state_role;
use crate::config::{ActNotes, Notes, Role, Theme};
use crate::model::notes::{Budget, budget, happened, next_beat, seconds_in_act};
use crate::model::{ActState, Model, WorldMode};

/// Side by side (notes | beats) from this width.
const WIDE: u16 = 110;

/// What the notes screen shows besides the model.
#[derive(Debug, Clone, Copy)]
pub struct NotesScreen<'a> {
    pub notes: &'a Notes,
    /// The act the clusters are in, or were in before a rollout began.
    pub shown: ActState,
    /// When the notes started watching: an act's clock starts no earlier.
    pub watching_since: DateTime<FixedOffset>,
    /// Lines of the act's notes scrolled past (j/k): a small screen may not hold them all.
    pub scroll: u16,
}

/// Draws the notes screen; returns the scroll it could honour (no further than the last
/// line of the notes), for the caller to keep.
pub fn draw(frame: &mut Frame, model: &Model, screen: &NotesScreen, theme: &Theme) -> u16 {
    let shown = screen.shown;
    let elapsed = seconds_in_act(model, screen.watching_since);
    let act = screen.notes.act(shown);
    let next_rows = next_height(model, act, elapsed, frame.area().width);
    let [header, banner, status, next, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(next_rows),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, model, theme);
    draw_banner(frame, banner, model, shown, theme);
    draw_status(frame, status, model, act, elapsed, theme);
    draw_next(frame, next, model, act, elapsed, theme);
    let scroll = draw_body(frame, body, model, act, elapsed, screen.scroll, theme);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" q", theme.style(Role::Accent)),
            Span::styled(" quit  ", theme.style(Role::Muted)),
            Span::styled("j/k", theme.style(Role::Accent)),
            Span::styled(" scroll  ", theme.style(Role::Muted)),
            Span::styled(
                "· follows the clusters' act, not the control room's keys",
                theme.style(Role::Muted),
            ),
        ])),
        footer,
    );
    scroll
}

fn draw_header(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let badge = match model.mode {
        WorldMode::Simulated => Span::styled(" SIMULATED ", theme.style(Role::BadgeSim)),
        WorldMode::Live => Span::styled(" LIVE ", theme.style(Role::BadgeLive)),
    };
    let clock = format!(" {} ", model.now.format("%H:%M:%S"));
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(clock.len() as u16)])
            .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" control-room notes ", theme.style(Role::Title)),
            badge,
        ]))
        .style(theme.style(Role::Header)),
        left,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(clock, theme.style(Role::Title)))
            .style(theme.style(Role::Header)),
        right,
    );
}

/// `ACT 2 · compromised` spaced out in capitals, three rows high in the act's colour.
fn draw_banner(frame: &mut Frame, area: Rect, model: &Model, shown: ActState, theme: &Theme) {
    let reading = &model.act.reading;
    let title = match reading.state {
        ActState::RollingOut | ActState::Unknown if shown != reading.state => {
            format!("{} — {}", spaced(shown.label()), reading.state.label())
        }
        _ => spaced(reading.state.label()),
    };
    let title = if title.chars().count() > usize::from(area.width) {
        reading.state.label().to_uppercase()
    } else {
        title
    };
    // The act's own colour as the background: the one thing readable from across a stage.
    let style = theme
        .style(state_role(reading.state))
        .add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let detail = reading
        .detail
        .as_deref()
        .map(|d| super::format::fit(d, usize::from(area.width).saturating_sub(2), false))
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(vec![Line::from(""), Line::from(title), Line::from(detail)])
            .alignment(Alignment::Center)
            .style(style),
        area,
    );
}

/// `A C T  2  ·  C O M P R O M I S E D`: big enough to read from across a stage.
fn spaced(label: &str) -> String {
    let mut out = String::new();
    for word in label.to_uppercase().split(' ') {
        if !out.is_empty() {
            out.push_str("   ");
        }
        let letters: Vec<String> = word.chars().map(String::from).collect();
        out.push_str(&letters.join(" "));
    }
    out
}

fn mmss(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

pub fn budget_role(b: Budget) -> Role {
    match b {
        Budget::Within => Role::Ok,
        Budget::Over => Role::Warn,
        Budget::WellOver => Role::Danger,
    }
}

fn draw_status(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    act: Option<&ActNotes>,
    elapsed: u64,
    theme: &Theme,
) {
    let mut spans = vec![Span::raw(" ")];
    match act {
        Some(act) => {
            let b = budget(elapsed, act.budget);
            let over = match b {
                Budget::Within => String::new(),
                _ => format!(" +{}", mmss(elapsed.saturating_sub(act.budget))),
            };
            spans.push(Span::styled(
                format!("⏱ {} / {}{over}", mmss(elapsed), mmss(act.budget)),
                theme.style(budget_role(b)).add_modifier(Modifier::BOLD),
            ));
        }
        None => spans.push(Span::styled(
            format!("⏱ {}", mmss(elapsed)),
            theme.style(Role::Muted),
        )),
    }
    let exfil = &model.exfil;
    let this_act = exfil.since(model.act.since);
    spans.push(Span::styled("   exfil ", theme.style(Role::Muted)));
    spans.push(Span::styled(
        format!("{} ({this_act} this act)", exfil.total()),
        theme
            .style(if this_act > 0 { Role::Danger } else { Role::Ok })
            .add_modifier(Modifier::BOLD),
    ));
    let firing = model.alerts.firing();
    spans.push(Span::styled("   alerts ", theme.style(Role::Muted)));
    let mut names: Vec<&str> = model
        .alerts
        .alerts
        .iter()
        .filter(|a| a.state == crate::model::alerts::AlertState::Firing)
        .map(|a| a.name.as_str())
        .collect();
    names.dedup();
    let text = match firing {
        0 => "0 firing".to_string(),
        n => format!("{n} firing: {}", names.join(", ")),
    };
    spans.push(Span::styled(
        text,
        theme
            .style(if firing > 0 { Role::Danger } else { Role::Ok })
            .add_modifier(Modifier::BOLD),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Rows the next-beat box needs: its borders, the key line and the line to say, wrapped
/// (at most three rows of it).
fn next_height(model: &Model, act: Option<&ActNotes>, elapsed: u64, width: u16) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let say = act
        .and_then(|a| next_beat(a, elapsed, |w| happened(model, w)).map(|i| &a.beats[i]))
        .and_then(|b| b.say.as_deref())
        .map_or(0, |say| (say.chars().count() + 2).div_ceil(inner).min(3));
    3 + u16::try_from(say).unwrap_or(3)
}

fn draw_next(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    act: Option<&ActNotes>,
    elapsed: u64,
    theme: &Theme,
) {
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title(Span::styled(" next ", theme.style(Role::Title)));
    let beat = act.and_then(|a| next_beat(a, elapsed, |w| happened(model, w)).map(|i| &a.beats[i]));
    let lines = match beat {
        Some(beat) => {
            let mut first = vec![
                Span::styled(
                    format!(" {} ", beat.key),
                    theme
                        .style(Role::Accent)
                        .add_modifier(Modifier::BOLD | Modifier::REVERSED),
                ),
                Span::styled(
                    format!("  {}", beat.what),
                    theme.style(Role::Text).add_modifier(Modifier::BOLD),
                ),
            ];
            if beat.until.is_some() {
                first.push(Span::styled(
                    "  (waiting on the clusters)",
                    theme.style(Role::Muted),
                ));
            }
            let mut lines = vec![Line::from(first)];
            if let Some(say) = &beat.say {
                lines.push(Line::from(Span::styled(
                    format!("“{say}”"),
                    theme.style(Role::Info),
                )));
            }
            lines
        }
        None => vec![Line::from(Span::styled(
            match act {
                None => "waiting for the clusters to show an act",
                Some(_) => "no beats in this act",
            },
            theme.style(Role::Muted),
        ))],
    };
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

fn draw_body(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    act: Option<&ActNotes>,
    elapsed: u64,
    scroll: u16,
    theme: &Theme,
) -> u16 {
    let Some(act) = act else {
        return 0;
    };
    let next = next_beat(act, elapsed, |w| happened(model, w));
    let wide = area.width >= WIDE;
    // A narrow screen keeps its rows for the notes: the beats done are only counted, the
    // next one is in its own box, and only the one after it is listed.
    let done = next.unwrap_or(act.beats.len());
    let (first, listed) = if wide {
        (0, act.beats.len())
    } else {
        (done + 1, 1)
    };
    let key_width = act
        .beats
        .iter()
        .map(|b| b.key.chars().count())
        .max()
        .unwrap_or(0);
    let rows: Vec<Line> = act
        .beats
        .iter()
        .enumerate()
        .skip(first)
        .take(listed)
        .map(|(i, beat)| {
            let (mark, role) = match next {
                Some(n) if i < n => ("✔", Role::Muted),
                Some(n) if i == n => ("▶", Role::Accent),
                _ => (" ", Role::Text),
            };
            Line::from(vec![
                Span::styled(format!("{mark} {:>5} ", mmss(beat.at)), theme.style(role)),
                Span::styled(
                    super::format::pad(&beat.key, key_width),
                    theme.style(Role::Accent),
                ),
                Span::styled(format!(" {}", beat.what), theme.style(role)),
            ])
        })
        .collect();
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let beat_rows: usize = rows.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let [notes_area, beats_area] = if wide {
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area)
    } else {
        let height = match beat_rows {
            0 => 0,
            n => u16::try_from(n + 2).unwrap_or(u16::MAX),
        };
        Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(height.min(area.height / 2)),
        ])
        .areas(area)
    };
    let mut lines = Vec::new();
    // Bullets, no blank lines: a laptop's 24 rows hold an act's notes whole.
    for note in &act.notes {
        lines.push(Line::from(vec![
            Span::styled("• ", theme.style(Role::Accent)),
            Span::styled(note.clone(), theme.style(Role::Text)),
        ]));
    }
    // Rows the notes take, wrapped exactly as the paragraph wraps them.
    let notes = Paragraph::new(lines).wrap(Wrap { trim: true });
    let total = notes.line_count(notes_area.width.saturating_sub(2));
    let visible = usize::from(notes_area.height.saturating_sub(2));
    let most = u16::try_from(total.saturating_sub(visible)).unwrap_or(u16::MAX);
    let scroll = scroll.min(most);
    let more = match (scroll > 0, scroll < most) {
        (false, false) => "",
        (false, true) => "↓ more ",
        (true, true) => "↑↓ more ",
        (true, false) => "↑ more ",
    };
    frame.render_widget(
        notes.scroll((scroll, 0)).block(
            Block::bordered()
                .border_style(theme.style(Role::Border))
                .title(Span::styled(
                    format!(" notes · {} ", act.state.state().label()),
                    theme.style(Role::Title),
                ))
                .title_bottom(
                    Line::from(Span::styled(more, theme.style(Role::Muted))).right_aligned(),
                ),
        ),
        notes_area,
    );
    let title = if wide {
        " beats ".to_string()
    } else {
        format!(" then · {done} of {} beats done ", act.beats.len())
    };
    frame.render_widget(
        Paragraph::new(rows).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .border_style(theme.style(Role::Border))
                .title(Span::styled(title, theme.style(Role::Title))),
        ),
        beats_area,
    );
    scroll
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_colours_warn_then_danger() {
        assert_eq!(budget_role(budget(29, 30)), Role::Ok);
        assert_eq!(budget_role(budget(31, 30)), Role::Warn);
        assert_eq!(budget_role(budget(46, 30)), Role::Danger);
    }

    #[test]
    fn the_title_is_spaced_out() {
        assert_eq!(
            spaced("ACT 2 · compromised"),
            "A C T   2   ·   C O M P R O M I S E D"
        );
    }
}
