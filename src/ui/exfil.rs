//! The exfil counter: a big number read from the mock-attacker's log, red and flashing when
//! it rises, how many arrived in this act, and the last stolen record (`m` masks the PII).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::fit;
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::exfil::mask_line;

const DIGITS: [[&str; 3]; 10] = [
    ["█▀█", "█ █", "█▄█"],
    [" ▀█", "  █", "  █"],
    ["▀▀█", "█▀▀", "█▄▄"],
    ["▀▀█", " ▀█", "▄▄█"],
    ["█ █", "▀▀█", "  █"],
    ["█▀▀", "▀▀█", "▄▄█"],
    ["█▀▀", "█▀█", "█▄█"],
    ["▀▀█", "  █", "  █"],
    ["█▀█", "█▀█", "█▄█"],
    ["█▀█", "▀▀█", "▄▄█"],
];

/// `n` in three rows of block digits.
fn big(n: usize) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for c in n.to_string().chars() {
        let d = c.to_digit(10).unwrap_or(0) as usize;
        for (row, glyph) in rows.iter_mut().zip(DIGITS[d]) {
            row.push_str(glyph);
            row.push(' ');
        }
    }
    rows
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let exfil = &model.exfil;
    let total = exfil.total();
    let this_act = exfil.since(model.act.since);
    let mut number_style = theme.style(if total > 0 { Role::Danger } else { Role::Ok });
    if exfil.flashing(model.now) {
        number_style = number_style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
    }
    let block = Block::bordered()
        .border_style(theme.style(if total > 0 {
            Role::Danger
        } else {
            Role::Border
        }))
        .title(Span::styled(
            " exfil · mock-attacker ",
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = big(total)
        .into_iter()
        .map(|r| Line::styled(format!(" {r}"), number_style))
        .collect();
    let when = exfil
        .last_at()
        .map(|t| {
            format!(
                " · last {}",
                t.with_timezone(&model.now.timezone()).format("%H:%M:%S")
            )
        })
        .unwrap_or_default();
    lines.push(Line::styled(
        fit(&format!("{this_act} this act{when}"), width, false),
        theme.style(if this_act > 0 {
            Role::Danger
        } else {
            Role::Muted
        }),
    ));
    match (&exfil.trouble, exfil.following.len()) {
        (Some(t), _) => lines.push(Line::styled(
            fit(&format!("log: {t}"), width, false),
            theme.style(Role::Warn),
        )),
        (None, 0) => lines.push(Line::styled(
            fit("waiting for the attacker's log", width, false),
            theme.style(Role::Muted),
        )),
        (None, 1) => {}
        (None, n) => lines.push(Line::styled(
            fit(&format!("following {n} pods"), width, false),
            theme.style(Role::Muted),
        )),
    }
    if let Some(note) = &exfil.note {
        lines.push(Line::styled(
            fit(&format!("note: {note}"), width, false),
            theme.style(Role::Warn),
        ));
    }
    if let Some(source) = &exfil.last_source {
        lines.push(Line::styled(
            fit(&format!("from {source}"), width, false),
            theme.style(Role::Muted),
        ));
    }
    for line in &exfil.last_record {
        let shown = if exfil.masked {
            mask_line(line)
        } else {
            line.clone()
        };
        lines.push(Line::styled(
            fit(&shown, width, false),
            theme.style(Role::Text),
        ));
    }
    if !exfil.last_record.is_empty() {
        lines.push(Line::styled(
            if exfil.masked {
                "m shows the PII"
            } else {
                "m masks the PII"
            },
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_digits_are_three_rows_wide_per_digit() {
        let rows = big(20);
        assert_eq!(rows[0], "▀▀█ █▀█ ");
        assert!(rows.iter().all(|r| r.chars().count() == 8));
    }
}
