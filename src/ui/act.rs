//! The act: the indicator in the header (read off the clusters), the act-log pane with the
//! running script's output, and the confirmation prompts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::fit;
use crate::config::{Role, Theme};
use crate::model::{ActKind, ActRun, ActState, Model};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn state_role(state: ActState) -> Role {
    match state {
        ActState::Clean => Role::Ok,
        ActState::Compromised => Role::Danger,
        ActState::Defended => Role::Info,
        ActState::RollingOut => Role::Warn,
        ActState::Unknown => Role::Muted,
    }
}

/// The header's act area: `ACT 2 · compromised since 14:05:09`, and the running script.
pub fn header_spans(model: &Model, theme: &Theme) -> Vec<Span<'static>> {
    let reading = &model.act.reading;
    let mut spans = vec![
        Span::raw("  "),
        Span::styled(
            format!(" {} ", reading.state.label()),
            theme
                .style(state_role(reading.state))
                .patch(theme.style(Role::Title)),
        ),
    ];
    if let Some(detail) = &reading.detail {
        spans.push(Span::styled(format!(" {detail}"), theme.style(Role::Muted)));
    }
    spans.push(Span::styled(
        format!(" since {}", model.act.since.format("%H:%M:%S")),
        theme.style(Role::Muted),
    ));
    if let Some(run) = model.act_run.as_ref().filter(|r| r.running()) {
        spans.push(Span::styled(
            format!(
                "   {} act {} {} {}",
                spinner(run, model),
                run.kind.number(),
                run.kind.key(),
                elapsed(run, model)
            ),
            theme.style(Role::Warn),
        ));
    }
    spans
}

fn spinner(run: &ActRun, model: &Model) -> &'static str {
    let secs = (model.now - run.started).num_seconds().max(0) as usize;
    SPINNER[secs % SPINNER.len()]
}

fn elapsed(run: &ActRun, model: &Model) -> String {
    match &run.outcome {
        Some((_, d)) => format!("{:.1}s", d.as_secs_f64()),
        None => format!("{}s", (model.now - run.started).num_seconds().max(0)),
    }
}

pub fn draw_log(frame: &mut Frame, area: Rect, run: &ActRun, model: &Model, theme: &Theme) {
    let (status, role) = match &run.outcome {
        None if run.cancelling => (
            format!(
                "{} cancelling… {}",
                spinner(run, model),
                elapsed(run, model)
            ),
            Role::Warn,
        ),
        None => (
            format!(
                "{} running {}  (Ctrl+C cancels)",
                spinner(run, model),
                elapsed(run, model)
            ),
            Role::Warn,
        ),
        Some((outcome, _)) => {
            let role = if outcome.success() {
                Role::Ok
            } else {
                Role::Danger
            };
            (
                format!("{} after {}", outcome.describe(), elapsed(run, model)),
                role,
            )
        }
    };
    let program = run.program.rsplit('/').next().unwrap_or(&run.program);
    let mut block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title_top(Line::from(vec![
            Span::styled(
                format!(" act {} · {} ", run.kind.number(), run.kind.key()),
                theme.style(Role::Title),
            ),
            Span::styled(format!("{program} "), theme.style(Role::Muted)),
        ]))
        .title_top(
            Line::from(Span::styled(format!(" {status} "), theme.style(role))).right_aligned(),
        );
    if let Some(path) = &run.log_path {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" log: {path} "),
                theme.style(Role::Muted),
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    let skip = run.lines.len().saturating_sub(height);
    if skip > 0 || run.dropped > 0 {
        // The first row says how much is above; the full output is in the log file.
        let hidden = skip + run.dropped + 1;
        lines.push(Line::styled(
            format!("… {hidden} earlier lines"),
            theme.style(Role::Muted),
        ));
    }
    let skip = run
        .lines
        .len()
        .saturating_sub(height.saturating_sub(lines.len()));
    for line in run.lines.iter().skip(skip) {
        if line.stderr {
            lines.push(Line::from(vec![
                Span::styled("! ", theme.style(Role::Warn)),
                Span::styled(
                    fit(&line.text, width.saturating_sub(2), false),
                    theme.style(Role::Warn),
                ),
            ]));
        } else {
            lines.push(Line::styled(
                fit(&line.text, width, false),
                theme.style(Role::Text),
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What the act does, as the confirmation asks it: "Run act 2: upgrade the banking app?"
fn script_name(kind: ActKind) -> &'static str {
    match kind {
        ActKind::Reset => "reset the demo",
        ActKind::Upgrade => "upgrade the banking app",
        ActKind::PoliciesOn => "turn the policies on",
    }
}

/// A small centred question box.
pub fn draw_question(frame: &mut Frame, screen: Rect, title: &str, question: &str, theme: &Theme) {
    let width = (question.chars().count() as u16 + 6)
        .max(40)
        .min(screen.width.saturating_sub(2));
    // A long question (a pod name, a context) wraps rather than being cut.
    let text_width = usize::from(width.saturating_sub(3)).max(1);
    let question_rows = super::format::wrap(question, text_width).len() as u16;
    let [row] = Layout::vertical([Constraint::Length(question_rows + 4)])
        .flex(Flex::Center)
        .areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
        .border_style(theme.style(Role::BorderFocus));
    let mut lines: Vec<Line> = super::format::wrap(question, text_width)
        .into_iter()
        .map(|l| Line::styled(format!(" {l}"), theme.style(Role::Text)))
        .collect();
    lines.extend([Line::from(vec![
        Span::styled(" y", theme.style(Role::Accent)),
        Span::styled("/", theme.style(Role::Muted)),
        Span::styled("Enter", theme.style(Role::Accent)),
        Span::styled(" yes   ", theme.style(Role::Muted)),
        Span::styled("n", theme.style(Role::Accent)),
        Span::styled("/", theme.style(Role::Muted)),
        Span::styled("Esc", theme.style(Role::Accent)),
        Span::styled(" no", theme.style(Role::Muted)),
    ])]);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn draw_prompts(frame: &mut Frame, model: &Model, theme: &Theme) {
    if let Some(kind) = model.confirming {
        let question = format!("Run act {}: {}?", kind.number(), script_name(kind));
        draw_question(
            frame,
            frame.area(),
            &format!("act {}", kind.number()),
            &question,
            theme,
        );
    } else if let Some((cluster, namespace, name)) = &model.confirming_delete {
        let (cluster, context) = model
            .clusters
            .get(*cluster)
            .map(|c| (c.name.as_str(), c.context.as_str()))
            .unwrap_or(("?", "?"));
        let question =
            format!("Delete pod {name} in {namespace}, cluster {cluster} (context {context})?");
        draw_question(frame, frame.area(), "delete pod", &question, theme);
    } else if model.confirming_quit {
        draw_question(
            frame,
            frame.area(),
            "quit",
            "An act is running. Stop it and quit?",
            theme,
        );
    }
}
