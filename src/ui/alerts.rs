//! The alert panel: the alerts Prometheus reports (severity colour, name, cluster, the
//! offending SPIFFE identity, workload, how long active, summary; newest first; a new firing
//! alert flashes), the deny-rate sparkline, and always where the data comes from and how old
//! it is. Without Prometheus it shows ztunnel's own deny counters, labelled as such; when
//! Prometheus fails after answering, its last alerts stay on top, marked stale.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::format::{fit, pad};
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::alerts::{AlertRow, AlertState, AlertsModel};

/// Rows the panel wants for its content, so the layout can size it (status line included).
pub fn wanted_rows(model: &Model) -> u16 {
    let alerts = &model.alerts;
    if alerts.showing_fallback() {
        // Status, the last good alerts (stale), the "direct scrape" heading, the counters.
        return 2
            + alerts.alerts.len().min(4) as u16
            + alerts.deny_counters.len().clamp(1, 3) as u16;
    }
    1 + alerts.alerts.len().clamp(1, 4) as u16
}

/// `firing 12s`, `pending 3s`.
fn state_text(alert: &AlertRow, model: &Model) -> String {
    let age = super::format::age(alert.active_at, model.now);
    match alert.active_at {
        Some(_) => format!("{} {age}", alert.state.as_str()),
        None => alert.state.as_str().to_string(),
    }
}

fn severity_role(alert: &AlertRow) -> Role {
    match alert.label("severity") {
        "critical" | "error" | "page" => Role::Danger,
        "warning" | "warn" => Role::Warn,
        _ => Role::Info,
    }
}

/// "last answer 3s ago", or what is wrong.
fn source_status(alerts: &AlertsModel, model: &Model) -> (String, Role) {
    let prom = &alerts.prometheus;
    if prom.describe.is_none() {
        return ("no Prometheus configured".into(), Role::Warn);
    }
    let last = prom.last_ok.map(|at| {
        format!(
            "last answer {} ago",
            super::format::age(Some(at), model.now)
        )
    });
    // Freshness first: a long error message may be cut, "stale" never is. The source
    // itself is named in the panel's title.
    match (&prom.error, last) {
        (Some((_, why)), Some(last)) => (format!("✗ stale · {last} · {why}"), Role::Danger),
        (Some((_, why)), None) => (format!("✗ {why}"), Role::Danger),
        (None, Some(last)) if alerts.stale(model.now) => (format!("stale · {last}"), Role::Warn),
        (None, Some(last)) => (last, Role::Muted),
        (None, None) => ("waiting for the first answer".into(), Role::Muted),
    }
}

/// ` · Prometheus (forward prometheus)` for titles.
fn source_title(alerts: &AlertsModel) -> String {
    match &alerts.prometheus.describe {
        Some(d) => format!("· Prometheus ({d}) "),
        None => String::new(),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    if area.height < 3 {
        draw_line(frame, area, model, theme);
        return;
    }
    let alerts = &model.alerts;
    let firing = alerts.firing();
    let denied: u64 = if alerts.showing_fallback() {
        alerts.deny_counters.iter().map(|c| c.denied).sum()
    } else {
        0
    };
    let border = if firing > 0 || denied > 0 {
        Role::Danger
    } else if alerts.pending() > 0 {
        Role::Warn
    } else {
        Role::Border
    };
    let counts = match (firing, alerts.pending()) {
        (0, 0) => String::new(),
        (f, 0) => format!("· {f} firing "),
        (0, p) => format!("· {p} pending "),
        (f, p) => format!("· {f} firing, {p} pending "),
    };
    let block = Block::bordered()
        .border_style(theme.style(border))
        .title(Line::from(vec![
            Span::styled(" alerts ", theme.style(Role::Title)),
            Span::styled(counts, theme.style(border)),
            Span::styled(source_title(alerts), theme.style(Role::Muted)),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [status_area, rows_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    draw_status(frame, status_area, model, theme);
    if alerts.showing_fallback() {
        // Prometheus failed after answering: its last alerts stay on top, marked stale,
        // the direct scrape below them says what ztunnel sees now.
        let kept = if alerts.alerts.is_empty() || rows_area.height < 2 {
            0
        } else {
            (alerts.alerts.len().min(4) as u16)
                .min(rows_area.height / 2)
                .max(1)
        };
        let [kept_area, fallback_area] =
            Layout::vertical([Constraint::Length(kept), Constraint::Min(0)]).areas(rows_area);
        if kept > 0 {
            draw_alerts(frame, kept_area, model, theme);
        }
        draw_fallback(frame, fallback_area, model, theme);
    } else {
        draw_alerts(frame, rows_area, model, theme);
    }
}

/// Where the data comes from and how fresh, with the deny-rate sparkline at the right.
fn draw_status(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let alerts = &model.alerts;
    let spark_width = if alerts.deny_rate.is_empty() || area.width < 60 {
        0
    } else {
        (area.width / 5).clamp(12, 32)
    };
    let [text_area, spark_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(spark_width)]).areas(area);
    let (status, role) = source_status(alerts, model);
    let mut spans = vec![Span::styled(status, theme.style(role))];
    if let Some(am) = &alerts.alertmanager.describe {
        let am_state = match &alerts.alertmanager.error {
            Some((_, why)) => format!(" · Alertmanager ({am}) ✗ {why}"),
            None if alerts.alertmanager.last_ok.is_some() => format!(" · Alertmanager ({am}) ok"),
            None => format!(" · Alertmanager ({am}) waiting"),
        };
        let role = if alerts.alertmanager.error.is_some() {
            Role::Danger
        } else {
            Role::Muted
        };
        spans.push(Span::styled(am_state, theme.style(role)));
    }
    let width = usize::from(text_area.width);
    let line = fit_spans(spans, width);
    frame.render_widget(Paragraph::new(line), text_area);
    if spark_width > 0 {
        let peak = alerts.deny_rate.iter().copied().fold(0.0_f64, f64::max);
        let label = format!(
            " denies/s {} ",
            short_rate(alerts.deny_rate.last().copied().unwrap_or(0.0))
        );
        let label_width = (label.chars().count() as u16).min(spark_width / 2);
        let [label_area, line_area] =
            Layout::horizontal([Constraint::Length(label_width), Constraint::Min(0)])
                .areas(spark_area);
        frame.render_widget(
            Paragraph::new(Span::styled(label, theme.style(Role::Muted))),
            label_area,
        );
        // Scale to integers for the widget; the newest points are the ones that fit.
        let scale = if peak > 0.0 { 1000.0 / peak } else { 0.0 };
        let take = usize::from(line_area.width);
        // No denies in a step draws as a muted baseline; any deny at least as the lowest
        // bar (1/8 of the height) in the danger colour.
        let points: Vec<Option<u64>> = alerts
            .deny_rate
            .iter()
            .skip(alerts.deny_rate.len().saturating_sub(take))
            .map(|v| (v.is_finite() && *v > 0.0).then(|| ((v * scale).round() as u64).max(125)))
            .collect();
        let role = if peak > 0.0 { Role::Danger } else { Role::Ok };
        frame.render_widget(
            Sparkline::default()
                .data(points)
                .max(1000)
                .absent_value_symbol("▁")
                .absent_value_style(theme.style(Role::Muted))
                .style(theme.style(role)),
            line_area,
        );
    }
}

fn short_rate(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        "0".into()
    } else if v < 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2}")
    }
}

fn draw_alerts(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let alerts = &model.alerts;
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    if alerts.alerts.is_empty() {
        let (text, role) = if alerts.prometheus.last_ok.is_some() {
            ("no alerts pending or firing", Role::Ok)
        } else if alerts.prometheus.configured() {
            ("no answer from Prometheus yet", Role::Muted)
        } else {
            (
                "set [alerts] forward or url to read Prometheus alerts",
                Role::Muted,
            )
        };
        lines.push(Line::styled(text, theme.style(role)));
    }
    let shown = if alerts.alerts.len() > rows {
        rows.saturating_sub(1)
    } else {
        rows
    };
    let stale = alerts.stale(model.now);
    for alert in alerts.alerts.iter().take(shown) {
        lines.push(alert_line(alert, model, theme, width, stale));
    }
    if alerts.alerts.len() > shown {
        lines.push(Line::styled(
            format!(
                "+{} more (status --json lists all)",
                alerts.alerts.len() - shown
            ),
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// One alert, columns dropped from the right as the width shrinks; the SPIFFE identity is
/// the last thing to go.
fn alert_line<'a>(
    alert: &AlertRow,
    model: &Model,
    theme: &Theme,
    width: usize,
    stale: bool,
) -> Line<'a> {
    let mut sev = theme.style(severity_role(alert));
    if alert.state == AlertState::Firing {
        sev = sev.add_modifier(Modifier::BOLD);
    }
    if model.alerts.flashing(alert, model.now) && model.now.timestamp() % 2 == 0 {
        sev = sev.add_modifier(Modifier::REVERSED);
    }
    let text = if stale {
        theme.style(Role::Unreachable)
    } else {
        theme.style(Role::Text)
    };
    let muted = theme.style(Role::Muted);
    let marker = if alert.state == AlertState::Firing {
        "●"
    } else {
        "○"
    };
    let principal = alert.label("source_principal");
    let cluster = alert.label("cluster");
    let workload = alert.label("source_workload");
    let mut cols: Vec<(String, Style)> = vec![
        (
            format!("{marker} {}", pad(&state_text(alert, model), 12)),
            sev,
        ),
        (pad(&alert.name, 22), sev),
    ];
    let mut used: usize = cols.iter().map(|(s, _)| s.chars().count() + 1).sum();
    let rest = width.saturating_sub(used);
    if !principal.is_empty() && rest > 10 {
        let p = fit(principal, rest.min(principal.chars().count()), true);
        used += p.chars().count() + 1;
        cols.push((p, text));
    }
    for (value, min_width, style) in [(cluster, 12, muted), (workload, 12, text)] {
        if value.is_empty() {
            continue;
        }
        let room = width.saturating_sub(used);
        if room < min_width {
            break;
        }
        let v = fit(value, room.min(value.chars().count()), false);
        used += v.chars().count() + 1;
        cols.push((v, style));
    }
    let room = width.saturating_sub(used);
    if !alert.summary.is_empty() && room > 10 {
        cols.push((fit(&alert.summary, room, false), muted));
    }
    let mut spans = Vec::with_capacity(cols.len() * 2);
    for (i, (s, style)) in cols.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(s, style));
    }
    Line::from(spans)
}

fn draw_fallback(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let alerts = &model.alerts;
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    let age = alerts
        .ztunnel
        .last_ok
        .map(|at| format!(" · read {} ago", super::format::age(Some(at), model.now)))
        .unwrap_or_default();
    let head = match &alerts.ztunnel.error {
        Some((_, why)) => (
            format!("ztunnel deny counters (direct scrape, not alerts) ✗ {why}{age}"),
            Role::Danger,
        ),
        None => (
            format!("ztunnel deny counters (direct scrape, not alerts){age}"),
            Role::Info,
        ),
    };
    lines.push(Line::styled(
        fit(&head.0, width, false),
        theme.style(head.1),
    ));
    if alerts.deny_counters.is_empty() && alerts.ztunnel.last_ok.is_some() {
        lines.push(Line::styled(
            "no connection denied or attempted towards watched destinations",
            theme.style(Role::Ok),
        ));
    }
    for c in alerts.deny_counters.iter().take(rows.saturating_sub(1)) {
        let role = if c.denied > 0 {
            Role::Danger
        } else {
            Role::Warn
        };
        let count = format!("{:>4} denied {:>4} tried", c.denied, c.attempts);
        let count_width = count.chars().count();
        // The identity first: it is what the deny is about; the workload is in it.
        let rest = format!(
            "{}  → {}  {}  {}",
            c.source_principal, c.destination, c.cluster, c.source_workload
        );
        lines.push(Line::from(vec![
            Span::styled(count, theme.style(role).add_modifier(Modifier::BOLD)),
            Span::raw("  "),
            Span::styled(
                fit(&rest, width.saturating_sub(count_width + 2), false),
                theme.style(Role::Text),
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The one-line form for small screens: counts, the newest alert, source health.
pub fn draw_line(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let alerts = &model.alerts;
    let width = usize::from(area.width);
    let mut spans = vec![Span::styled(" alerts ", theme.style(Role::Title))];
    if alerts.showing_fallback() {
        let denied: u64 = alerts.deny_counters.iter().map(|c| c.denied).sum();
        let role = if denied > 0 { Role::Danger } else { Role::Ok };
        spans.push(Span::styled(
            format!("ztunnel (no Prometheus): {denied} denied "),
            theme.style(role),
        ));
    } else if let Some(top) = alerts.alerts.first() {
        let mut style = theme.style(severity_role(top));
        if alerts.flashing(top, model.now) && model.now.timestamp() % 2 == 0 {
            style = style.add_modifier(Modifier::REVERSED);
        }
        spans.push(Span::styled(
            format!(
                "{} firing {} pending · {} {} {} ",
                alerts.firing(),
                alerts.pending(),
                top.name,
                state_text(top, model),
                top.label("source_principal")
            ),
            style,
        ));
    } else if alerts.prometheus.last_ok.is_some() {
        spans.push(Span::styled("none ", theme.style(Role::Ok)));
    }
    let (status, role) = source_status(alerts, model);
    spans.push(Span::styled(
        format!("· {status} {}", source_title(alerts)),
        theme.style(role),
    ));
    frame.render_widget(Paragraph::new(fit_spans(spans, width)), area);
}

/// Cut a line of spans to `width` columns.
fn fit_spans(spans: Vec<Span<'_>>, width: usize) -> Line<'_> {
    let mut out = Vec::with_capacity(spans.len());
    let mut left = width;
    for span in spans {
        if left == 0 {
            break;
        }
        let n = span.content.chars().count();
        if n <= left {
            left -= n;
            out.push(span);
        } else {
            out.push(Span::styled(fit(&span.content, left, false), span.style));
            left = 0;
        }
    }
    Line::from(out)
}
