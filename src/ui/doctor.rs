//! `D`: the preflight doctor, one line per check and cluster with its result glyph; Enter
//! opens the selected check's evidence and fix. Every string from the wire is made inert
//! before it is drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{fit, pad, wrap};
use crate::config::{Action, Role, Theme};
use crate::model::Model;
use crate::model::doctor::DoctorModel;
use crate::msg::doctor::{CheckResult, Verdict};
use crate::text::inert;

pub fn role(v: Verdict) -> Role {
    match v {
        Verdict::Pass => Role::Ok,
        Verdict::Warn | Verdict::Unknown => Role::Warn,
        Verdict::Fail => Role::Danger,
    }
}

/// `doctor ✓`, `doctor 2 ✗` …: the header badge (`D2✗` on a narrow screen), `None` when
/// the doctor cannot run here.
pub fn badge(d: &DoctorModel, key: &str, wide: bool) -> Option<(String, Role)> {
    if !d.enabled {
        return None;
    }
    let name = if wide { "doctor " } else { key };
    if d.results.is_empty() {
        return Some((format!(" {name}… "), Role::Muted));
    }
    let (fail, unknown, warn) = (
        d.count(Verdict::Fail),
        d.count(Verdict::Unknown),
        d.count(Verdict::Warn),
    );
    let gap = if wide { " " } else { "" };
    Some(if fail > 0 {
        (format!(" {name}{fail}{gap}✗ "), Role::Danger)
    } else if unknown > 0 {
        (format!(" {name}{unknown}{gap}? "), Role::Warn)
    } else if warn > 0 {
        (format!(" {name}{warn}{gap}! "), Role::Warn)
    } else {
        (format!(" {name}✓ "), Role::Ok)
    })
}

fn summary(d: &DoctorModel) -> String {
    let state = if d.running {
        "running…".to_string()
    } else {
        match d.finished {
            Some(at) => format!("checked {}", at.format("%H:%M:%S")),
            None => "not run yet".into(),
        }
    };
    format!(
        "· {} pass · {} warn · {} fail · {} unknown · {state} ",
        d.count(Verdict::Pass),
        d.count(Verdict::Warn),
        d.count(Verdict::Fail),
        d.count(Verdict::Unknown)
    )
}

/// What a line says after its title: the first thing wrong, or the first thing seen.
fn gist(r: &CheckResult) -> String {
    let e = match r.result {
        Verdict::Pass => r.evidence.first(),
        _ => r
            .evidence
            .iter()
            .find(|e| !e.value.is_empty())
            .or(r.evidence.first()),
    };
    // What is wrong leads where the line is short: the value, then where it was read.
    e.map(|e| match r.result {
        Verdict::Pass => inert(&format!("{} {} = {}", e.object, e.field, e.value)),
        _ => inert(&format!("{} · {} {}", e.value, e.object, e.field)),
    })
    .unwrap_or_default()
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let d = &model.doctor;
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(" doctor ", theme.style(Role::Title)),
            Span::styled(summary(d), theme.style(Role::Muted)),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if d.results.is_empty() {
        let text = if d.enabled {
            "running every check…"
        } else {
            "the doctor cannot read the clusters here"
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.style(Role::Muted))),
            inner,
        );
        return;
    }
    match (d.detail, d.selected_result()) {
        (true, Some(r)) => draw_detail(frame, inner, r, model, theme),
        _ => draw_list(frame, inner, d, theme),
    }
}

fn draw_list(frame: &mut Frame, area: Rect, d: &DoctorModel, theme: &Theme) {
    let width = usize::from(area.width);
    let id_w = 20;
    let cluster_w = d
        .results
        .iter()
        .map(|r| r.cluster.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 12)
        + 1;
    // The title where there is room; the gist of the evidence always.
    let title_w = if width >= 140 { 58 } else { 0 };
    let gist_w = width.saturating_sub(2 + id_w + cluster_w + title_w);
    let rows = usize::from(area.height).saturating_sub(1);
    let selected = d.selected.min(d.results.len().saturating_sub(1));
    let top = (selected + 1).saturating_sub(rows);
    let mut lines = vec![Line::styled(
        format!(
            "  {}{}{}{}",
            pad("CHECK", id_w),
            pad("CLUSTER", cluster_w),
            pad(if title_w > 0 { "WHAT" } else { "" }, title_w),
            "EVIDENCE"
        ),
        theme.style(Role::Header),
    )];
    for (i, r) in d.results.iter().enumerate().skip(top).take(rows) {
        let mut spans = vec![
            Span::styled(
                format!("{} ", r.result.glyph()),
                theme.style(role(r.result)),
            ),
            Span::styled(pad(r.id, id_w), theme.style(Role::Text)),
            Span::styled(
                pad(&inert(&r.cluster), cluster_w),
                theme.style(Role::Accent),
            ),
        ];
        if title_w > 0 {
            spans.push(Span::styled(
                pad(&fit(r.title, title_w - 1, false), title_w),
                theme.style(Role::Muted),
            ));
        }
        spans.push(Span::styled(
            fit(&gist(r), gist_w, false),
            theme.style(Role::Text),
        ));
        if i == selected {
            let sel = theme.style(Role::Selection);
            for s in &mut spans {
                s.style = s.style.patch(sel);
            }
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            spans.push(Span::styled(" ".repeat(width.saturating_sub(used)), sel));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The lines of a check's detail at `width`.
pub fn detail_lines(
    r: &CheckResult,
    model: &Model,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("{} {} ", r.result.glyph(), r.result.word()),
                theme.style(role(r.result)),
            ),
            Span::styled(
                format!("{} on {}", r.id, inert(&r.cluster)),
                theme.style(Role::Title),
            ),
        ]),
        Line::styled(r.title.to_string(), theme.style(Role::Muted)),
        Line::styled(
            format!("reads: {}", inert(&r.clusters.join(", "))),
            theme.style(Role::Muted),
        ),
        Line::raw(""),
        Line::styled("EVIDENCE", theme.style(Role::Header)),
    ];
    for e in &r.evidence {
        let text = inert(&format!("{}  {} = {}", e.object, e.field, e.value));
        for (i, part) in wrap(&text, width.saturating_sub(4)).into_iter().enumerate() {
            let lead = if i == 0 { "  · " } else { "    " };
            lines.push(Line::styled(
                format!("{lead}{part}"),
                theme.style(Role::Text),
            ));
        }
    }
    lines.push(Line::raw(""));
    if r.fix.is_empty() {
        lines.push(Line::styled("nothing to run", theme.style(Role::Muted)));
    } else {
        let copy = model.keys.first(Action::CopyCommand);
        lines.push(Line::styled(
            format!("FIX (printed, never run · {copy} copies)"),
            theme.style(Role::Header),
        ));
        for f in &r.fix {
            for (i, part) in wrap(&inert(f), width.saturating_sub(4))
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 { "  $ " } else { "    " };
                lines.push(Line::styled(
                    format!("{lead}{part}"),
                    theme.style(Role::Accent),
                ));
            }
        }
    }
    lines
}

fn draw_detail(frame: &mut Frame, area: Rect, r: &CheckResult, model: &Model, theme: &Theme) {
    let lines = detail_lines(r, model, usize::from(area.width), theme);
    let last = lines.len().saturating_sub(usize::from(area.height));
    let top = model.doctor.detail_scroll.min(last);
    let shown: Vec<Line> = lines.into_iter().skip(top).collect();
    frame.render_widget(Paragraph::new(shown), area);
}
