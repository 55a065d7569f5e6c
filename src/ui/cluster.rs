//! A cluster pane: title with reachability and ready/total, then pods grouped by
//! namespace. Zoomed, it also shows the cluster's deployments and recent events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{age, fit, pad};
use super::layout::{Arrangement, ScreenAreas};
use crate::config::{Role, Theme};
use crate::model::cluster::NamespaceCount;
use crate::model::rows::Row;
use crate::model::{
    ClusterModel, DeploymentSummary, Model, PodPhase, PodSummary, PolicySummary, Reachability,
};

/// Pane inner width from which READY and STATUS get their roomy widths.
const WIDE_PANE: u16 = 70;

/// The pod name keeps this many columns (or its whole length) before TAG, RST and AGE
/// are shown.
const NAME_KEEPS: usize = 16;

pub fn draw_body(frame: &mut Frame, areas: &ScreenAreas, model: &Model, theme: &Theme) {
    if let Some(tabs) = areas.tabs {
        draw_tabs(frame, tabs, model, theme);
    }
    for &(i, area) in &areas.panes {
        let Some(cluster) = model.clusters.get(i) else {
            continue;
        };
        let focused = i == model.focus;
        if areas.arrangement == Arrangement::Zoomed {
            draw_zoomed(frame, area, cluster, model, theme);
        } else {
            draw_pane(frame, area, cluster, i, focused, model, theme);
        }
    }
}

pub(super) fn draw_tabs(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    // Each tab as wide as there is room for: its status in full, then only its mark, then
    // only its number and mark — the focused tab always in full.
    let width = usize::from(area.width);
    use crate::model::View;
    let on_a_pane = !matches!(model.view, View::Chat | View::Exfil | View::Alerts);
    let tab = |i: usize, c: &ClusterModel, detail: usize| -> Vec<Span<'static>> {
        let style = if i == model.focus && on_a_pane {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Text)
        };
        let (mark, role) = status_mark(c);
        let detail = if i == model.focus { 0 } else { detail };
        let (label, mark) = match detail {
            0 => (format!(" {} {} ", i + 1, c.name), format!("{mark} ")),
            1 => (
                format!(" {} {} ", i + 1, c.name),
                format!("{} ", mark.chars().next().unwrap_or(' ')),
            ),
            _ => (
                format!(" {}", i + 1),
                format!("{} ", mark.chars().next().unwrap_or(' ')),
            ),
        };
        vec![
            Span::styled(label, style),
            Span::styled(mark, theme.style(role)),
            Span::styled("│", theme.style(Role::Border)),
        ]
    };
    // On a small screen the story's own views follow the clusters, as Tab reaches them.
    let mut views = Vec::new();
    if super::layout::small_screen(model) {
        for (view, name) in [
            (View::Chat, "chat"),
            (View::Exfil, "exfil"),
            (View::Alerts, "alerts"),
        ] {
            let style = if model.view == view {
                theme.style(Role::Selection)
            } else {
                theme.style(Role::Muted)
            };
            views.push(Span::styled(format!(" {name} "), style));
            views.push(Span::styled("│", theme.style(Role::Border)));
        }
    }
    let views_width: usize = views.iter().map(|s| s.content.chars().count()).sum();
    let mut spans = Vec::new();
    for detail in 0..3 {
        spans = model
            .clusters
            .iter()
            .enumerate()
            .flat_map(|(i, c)| tab(i, c, detail))
            .collect();
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        if used + views_width <= width {
            break;
        }
    }
    spans.extend(views);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Short status for titles and tabs: ready/total, or why there is none.
fn status_mark(c: &ClusterModel) -> (String, Role) {
    match &c.reach {
        Reachability::Unreachable { .. } => ("✖ unreachable".to_string(), Role::Danger),
        Reachability::Connecting if !c.pods_synced => ("… connecting".to_string(), Role::Muted),
        _ if !c.pods_synced => ("… listing".to_string(), Role::Muted),
        _ if c.filter.is_some() => (
            format!("/ {} of {} pods", c.pods_shown(), c.pods_total()),
            if c.pods_shown() == 0 {
                Role::Muted
            } else {
                Role::Accent
            },
        ),
        _ => {
            let role = if c.pods_ready == c.pods_total() {
                Role::Ok
            } else {
                Role::Warn
            };
            (format!("● {}/{} ready", c.pods_ready, c.pods_total()), role)
        }
    }
}

fn pane_block<'a>(c: &'a ClusterModel, index: usize, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused {
        Role::BorderFocus
    } else {
        Role::Border
    };
    let (mark, role) = status_mark(c);
    let mut title = vec![
        Span::styled(format!(" {} ", index + 1), theme.style(Role::Muted)),
        Span::styled(c.name.as_str(), theme.style(Role::Title)),
    ];
    // Said first, so a narrow pane cuts the context, not the warning.
    if c.insecure {
        title.push(Span::styled(" ⚠ TLS unverified", theme.style(Role::Danger)));
    }
    title.push(Span::styled(
        format!(" · {} ", c.context),
        theme.style(Role::Muted),
    ));
    Block::bordered()
        .border_style(theme.style(border))
        .title_top(Line::from(title))
        .title_top(Line::from(Span::styled(format!(" {mark} "), theme.style(role))).right_aligned())
}

fn draw_pane(
    frame: &mut Frame,
    area: Rect,
    c: &ClusterModel,
    index: usize,
    focused: bool,
    model: &Model,
    theme: &Theme,
) {
    let block = pane_block(c, index, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = pod_lines(c, inner, focused, model, theme);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_zoomed(frame: &mut Frame, area: Rect, c: &ClusterModel, model: &Model, theme: &Theme) {
    let wide = area.width >= 110;
    let (pods_area, side) = if wide {
        let [l, r] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(area);
        (l, r)
    } else {
        let [t, b] =
            Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area);
        (t, b)
    };
    draw_pane(frame, pods_area, c, model.focus, true, model, theme);
    let [deploy_area, events_area] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(side);
    draw_deployments(frame, deploy_area, c, theme);
    draw_events(frame, events_area, c, model, theme);
}

fn draw_deployments(frame: &mut Frame, area: Rect, c: &ClusterModel, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title(Span::styled(
            format!(" deployments ({}) ", c.deployments.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let lines: Vec<Line> = c
        .deployments
        .values()
        .take(usize::from(inner.height))
        .map(|d| {
            let done = d.updated >= d.replicas
                && d.available >= d.replicas
                && d.observed_generation >= d.generation;
            let role = if done { Role::Ok } else { Role::Warn };
            let image = d
                .image
                .as_deref()
                .map(crate::msg::cluster::image_tag)
                .unwrap_or_default();
            let right = format!(" {}/{} {}", d.ready, d.replicas, image);
            let name_width = width.saturating_sub(right.chars().count());
            Line::from(vec![
                Span::styled(
                    pad(&format!("{}/{}", d.namespace, d.name), name_width),
                    theme.style(Role::Text),
                ),
                Span::styled(right, theme.style(role)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_events(frame: &mut Frame, area: Rect, c: &ClusterModel, model: &Model, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title(Span::styled(" recent events ", theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let lines: Vec<Line> = c
        .events
        .iter()
        .rev()
        .take(usize::from(inner.height))
        .map(|e| {
            let role = if e.warning { Role::Warn } else { Role::Muted };
            let when = age(e.last_seen, model.now);
            let head = format!("{when:>4} {} {} ", e.reason, e.object);
            let rest = fit(
                &e.message,
                width.saturating_sub(head.chars().count()),
                false,
            );
            Line::from(vec![
                Span::styled(head, theme.style(role)),
                Span::styled(rest, theme.style(Role::Text)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Column widths of the pod table for a pane of this inner width; every width includes
/// the space that separates the column from the next.
struct Columns {
    name: usize,
    ready: usize,
    status: usize,
    restarts: usize,
    age: usize,
    tag: usize,
}

impl Columns {
    /// Columns by priority: READY and STATUS always; then TAG, RST and AGE, each only
    /// while the name keeps [`NAME_KEEPS`] columns (or `longest`, the longest name shown,
    /// when that is shorter) — so they drop in the order AGE, RST, TAG. `tags` says whether
    /// any row shown has a tag at all.
    fn for_width(width: u16, longest: usize, tags: Option<usize>) -> Columns {
        let wide = width >= WIDE_PANE;
        let (ready, status) = if wide { (6, 18) } else { (4, 12) };
        let (restarts, age) = if wide { (5, 5) } else { (4, 4) };
        let width = usize::from(width);
        // The name's column includes its indent and its separator.
        let name_needs = 2 + longest.min(NAME_KEEPS) + 1;
        let mut left = width.saturating_sub(ready + status);
        let mut take = |want: usize| -> usize {
            if want > 0 && left >= want + name_needs {
                left -= want;
                want
            } else {
                0
            }
        };
        let tag = take(tags.map_or(0, |t| t.clamp(6, 15) + 1));
        let restarts = take(restarts);
        let age = take(age);
        Columns {
            name: left.max(8),
            ready,
            status,
            restarts,
            age,
            tag,
        }
    }
}

/// `s` in a column of `width`, the last of which stays blank as the separator.
fn cell(s: &str, width: usize) -> String {
    let mut out = pad(s, width.saturating_sub(1));
    out.push(' ');
    out
}

fn pod_lines<'a>(
    c: &'a ClusterModel,
    inner: Rect,
    focused: bool,
    model: &Model,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let mut lines = Vec::with_capacity(usize::from(inner.height));
    let width = usize::from(inner.width);
    let dim = matches!(c.reach, Reachability::Unreachable { .. });
    let height = usize::from(inner.height);
    let first = c.visible_from(height.saturating_sub(2));
    let cols = {
        // What the rows about to be shown need: their longest name and tag.
        let (mut longest, mut tags) = (0usize, None::<usize>);
        c.visit_rows(first, |i, row| {
            if i >= first + height {
                return std::ops::ControlFlow::Break(());
            }
            if let Row::Pod(p) = row {
                longest = longest.max(p.name.chars().count());
                if let Some(t) = p.tag() {
                    tags = Some(tags.unwrap_or(0).max(t.chars().count()));
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        Columns::for_width(inner.width, longest, tags)
    };

    match &c.reach {
        Reachability::Unreachable { since, error } => {
            lines.push(Line::styled(
                fit(
                    &format!("unreachable since {} — retrying", since.format("%H:%M:%S")),
                    width,
                    false,
                ),
                theme.style(Role::Danger),
            ));
            lines.push(Line::styled(
                fit(error, width, false),
                theme.style(Role::Muted),
            ));
        }
        _ if !c.pods_synced => {
            lines.push(Line::styled(
                fit(&format!("connecting to {} …", c.context), width, false),
                theme.style(Role::Muted),
            ));
            return lines;
        }
        _ => {
            if let Some(err) = &c.last_error {
                lines.push(Line::styled(
                    fit(&format!("watch: {err}"), width, false),
                    theme.style(Role::Warn),
                ));
            }
        }
    }

    let mut header = format!(
        "{}{}{}",
        cell("NAME", cols.name),
        cell(if cols.ready >= 6 { "READY" } else { "RDY" }, cols.ready),
        cell("STATUS", cols.status),
    );
    for (title, width) in [("RST", cols.restarts), ("AGE", cols.age), ("TAG", cols.tag)] {
        if width > 0 {
            header.push_str(&cell(title, width));
        }
    }
    lines.push(Line::styled(
        header,
        theme.style(if dim { Role::Unreachable } else { Role::Muted }),
    ));

    // Only what fits is built; rows before the first visible one are skipped a namespace at
    // a time (`visit_rows`), so a pane of tens of thousands of pods costs what it shows.
    let room = height.saturating_sub(lines.len());
    if c.filter.is_some() && c.row_count() == 0 {
        lines.push(Line::styled(
            fit(
                &format!("0 of {} pods match the filter", c.pods_total()),
                width,
                false,
            ),
            theme.style(Role::Muted),
        ));
        return lines;
    }
    let cursor = c.cursor.as_ref().filter(|_| focused && !dim);
    let selection = theme.style(Role::Selection);
    c.visit_rows(c.visible_from(room), |_, row| {
        if lines.len() >= height {
            return std::ops::ControlFlow::Break(());
        }
        let selected = cursor.is_some_and(|k| *k == row.key());
        let line = match row {
            Row::Policies(n) => Line::styled(
                fit(&format!("⛨ AuthorizationPolicies ({n})"), width, false),
                theme.style(if dim { Role::Unreachable } else { Role::Info }),
            ),
            Row::Policy(p) => policy_line(p, width, dim, theme),
            Row::Namespace(ns, count) => namespace_line(ns, &count, width, dim, theme),
            Row::Folded(ns, count) => folded_line(ns, &count, width, dim, theme),
            Row::Deployment(d) => deployment_line(d, width, dim, theme),
            Row::Pod(pod) => pod_line(pod, &cols, dim, model, theme),
        };
        lines.push(if selected {
            highlight(line, width, selection)
        } else {
            line
        });
        std::ops::ControlFlow::Continue(())
    });
    lines
}

/// The selected row: the selection role under the row's own colours, across the pane.
fn highlight(line: Line<'_>, width: usize, selection: Style) -> Line<'_> {
    let used: usize = line.spans.iter().map(|s| s.content.chars().count()).sum();
    let mut line = line;
    if used < width {
        line.spans.push(Span::raw(" ".repeat(width - used)));
    }
    line.style = selection;
    for span in &mut line.spans {
        span.style = selection.patch(Style {
            fg: span.style.fg,
            ..Style::default()
        });
        if selection.bg.is_none() {
            span.style = span.style.add_modifier(ratatui::style::Modifier::REVERSED);
        }
    }
    line
}

fn policy_line<'a>(p: &PolicySummary, width: usize, dim: bool, theme: &Theme) -> Line<'a> {
    let role = |r: Role| {
        if dim {
            theme.style(Role::Unreachable)
        } else {
            theme.style(r)
        }
    };
    let action_role = if p.action.starts_with("DENY") {
        Role::Danger
    } else {
        Role::Ok
    };
    let head = format!("  {}/{} ", p.namespace, p.name);
    let action = format!("{} ", p.action);
    let rest = width.saturating_sub(head.chars().count() + action.chars().count());
    Line::from(vec![
        Span::styled(fit(&head, width, false), role(Role::Text)),
        Span::styled(action, role(action_role)),
        Span::styled(fit(&p.sources.join(", "), rest, false), role(Role::Muted)),
    ])
}

fn deployment_line<'a>(d: &DeploymentSummary, width: usize, dim: bool, theme: &Theme) -> Line<'a> {
    let role = |r: Role| {
        if dim {
            theme.style(Role::Unreachable)
        } else {
            theme.style(r)
        }
    };
    let tag = d
        .image
        .as_deref()
        .map(crate::msg::cluster::image_tag)
        .unwrap_or_default();
    let (progress, progress_role) = if d.rolling_out() {
        (
            format!("⟳ {}/{} updated", d.updated.min(d.replicas), d.replicas),
            Role::Warn,
        )
    } else {
        (format!("{}/{} ready", d.ready, d.replicas), Role::Muted)
    };
    let right = format!(" {progress}");
    let left_room = width.saturating_sub(right.chars().count());
    // The tag is the story (`1.0.0` → `1.0.0-rugpull`): it is shown whole, up to a long
    // tag's worth, and the name gives way — first its `deploy/`, then its middle.
    let tag = fit(&tag, left_room.saturating_sub(8).min(24), false);
    let name_room = left_room.saturating_sub(tag.chars().count() + 1);
    let full = format!("  deploy/{} ", d.name);
    let name = if full.chars().count() <= name_room {
        full
    } else {
        format!("  {} ", fit(&d.name, name_room.saturating_sub(3), true))
    };
    let gap = left_room.saturating_sub(name.chars().count() + tag.chars().count());
    Line::from(vec![
        Span::styled(name, role(Role::Muted)),
        Span::styled(tag, role(Role::Accent)),
        Span::raw(" ".repeat(gap)),
        Span::styled(right, role(progress_role)),
    ])
}

fn namespace_line<'a>(
    ns: &str,
    count: &NamespaceCount,
    width: usize,
    dim: bool,
    theme: &Theme,
) -> Line<'a> {
    let right = format!(" {}/{}", count.ready, count.total);
    let left = fit(
        &format!("▾ {ns}"),
        width.saturating_sub(right.chars().count()),
        false,
    );
    let role = if dim {
        Role::Unreachable
    } else if count.ready == count.total {
        Role::Accent
    } else {
        Role::Warn
    };
    let gap = width.saturating_sub(left.chars().count() + right.chars().count());
    Line::from(vec![
        Span::styled(left, theme.style(Role::Accent).patch(theme.style(role))),
        Span::raw(" ".repeat(gap)),
        Span::styled(right, theme.style(role)),
    ])
}

/// A namespace folded away: `▸ kube-system        9/9 ready`, muted (all is well in it,
/// or it would not be folded).
fn folded_line<'a>(
    ns: &str,
    count: &NamespaceCount,
    width: usize,
    dim: bool,
    theme: &Theme,
) -> Line<'a> {
    let right = format!(" {}/{} ready", count.ready, count.total);
    let left = fit(
        &format!("▸ {ns}"),
        width.saturating_sub(right.chars().count()),
        false,
    );
    let role = if dim { Role::Unreachable } else { Role::Muted };
    let gap = width.saturating_sub(left.chars().count() + right.chars().count());
    Line::from(vec![
        Span::styled(left, theme.style(role)),
        Span::raw(" ".repeat(gap)),
        Span::styled(right, theme.style(role)),
    ])
}

fn phase_role(pod: &PodSummary) -> Role {
    match &pod.phase {
        PodPhase::Running if pod.is_ready() => Role::Ok,
        PodPhase::Running | PodPhase::Starting(_) => Role::Warn,
        PodPhase::Failing(_) => Role::Danger,
        PodPhase::Terminating => Role::Info,
        PodPhase::Done(_) | PodPhase::Unknown(_) => Role::Muted,
    }
}

fn pod_line<'a>(
    pod: &PodSummary,
    cols: &Columns,
    dim: bool,
    model: &Model,
    theme: &Theme,
) -> Line<'a> {
    let style = |role: Role| -> Style {
        if dim {
            theme.style(Role::Unreachable)
        } else {
            theme.style(role)
        }
    };
    let mut spans = Vec::with_capacity(7);
    let name_room = cols.name.saturating_sub(3);
    spans.push(Span::styled(
        format!(
            "  {}",
            cell(
                &fit(&pod.name, name_room, true),
                cols.name.saturating_sub(2)
            )
        ),
        style(Role::Text),
    ));
    let ready_role = if pod.ready == pod.containers {
        Role::Text
    } else {
        Role::Warn
    };
    spans.push(Span::styled(
        cell(&format!("{}/{}", pod.ready, pod.containers), cols.ready),
        style(ready_role),
    ));
    spans.push(Span::styled(
        cell(pod.phase.label(), cols.status),
        style(phase_role(pod)),
    ));
    let restart_role = if pod.restarts > 0 {
        Role::Warn
    } else {
        Role::Text
    };
    if cols.restarts > 0 {
        spans.push(Span::styled(
            cell(&pod.restarts.to_string(), cols.restarts),
            style(restart_role),
        ));
    }
    if cols.age > 0 {
        spans.push(Span::styled(
            cell(&age(pod.created, model.now), cols.age),
            style(Role::Muted),
        ));
    }
    if cols.tag > 0 {
        spans.push(Span::styled(
            cell(pod.tag().as_deref().unwrap_or(""), cols.tag),
            style(Role::Accent),
        ));
    }
    Line::from(spans)
}
