//! The detail view (`Enter`/`d`), in the spirit of `kubectl describe` and with its field
//! names, and the events view (`e`): full messages, wrapped, newest first. Both draw from
//! what the inspect source keeps live, and say so when the object went or reading failed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{age, when, wrap};
use crate::config::{Role, Theme};
use crate::model::inspect::InspectModel;
use crate::model::{EventSummary, Model, View};
use crate::msg::inspect::{Condition, ContainerDetail, DeploymentDetail, PodDetail};

/// Width of the field names (`Restart Count:` and its indent fit).
const KEY_WIDTH: usize = 16;

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let Some(inspect) = model.inspect.as_ref() else {
        return;
    };
    let cluster = model
        .clusters
        .get(inspect.target.cluster())
        .map(|c| c.name.as_str())
        .unwrap_or("?");
    let what = if model.view == View::Events {
        "events of "
    } else {
        ""
    };
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(
                format!(" {what}{} ", inspect.target.describe()),
                theme.style(Role::Title),
            ),
            Span::styled(
                format!("· {cluster} · {} ", inspect.target.namespace()),
                theme.style(Role::Muted),
            ),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = lines(model, usize::from(inner.width), theme);
    let height = usize::from(inner.height);
    let scroll = inspect.scroll.min(lines.len().saturating_sub(height));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

/// Every line of the open view at this width (what scrolling moves over).
pub fn lines(model: &Model, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let Some(inspect) = model.inspect.as_ref() else {
        return Vec::new();
    };
    let mut out = status_lines(inspect, theme);
    if model.view == View::Events {
        out.extend(event_lines(inspect, model, width, theme));
        return out;
    }
    if let Some(pod) = &inspect.pod {
        pod_lines(&mut out, pod, model, width, theme);
    } else if let Some(d) = &inspect.deployment {
        deployment_lines(&mut out, d, model, width, theme);
    } else if !inspect.gone && inspect.trouble.is_none() {
        out.push(Line::styled("reading…", theme.style(Role::Muted)));
    }
    out.push(Line::styled("Events:", theme.style(Role::Header)));
    if inspect.events.is_empty() {
        out.push(events_none(inspect, theme));
    } else {
        for e in &inspect.events {
            let role = if e.warning { Role::Warn } else { Role::Text };
            let head = format!(
                "  {:<5} {:<8} {:<18} ",
                age(e.last_seen, model.now),
                if e.warning { "Warning" } else { "Normal" },
                counted(e)
            );
            let indent = head.chars().count();
            let wrapped = wrap(&e.message, width.saturating_sub(indent).max(20));
            for (i, part) in wrapped.into_iter().enumerate() {
                let lead = if i == 0 {
                    head.clone()
                } else {
                    " ".repeat(indent)
                };
                out.push(Line::from(vec![
                    Span::styled(lead, theme.style(role)),
                    Span::styled(part, theme.style(Role::Text)),
                ]));
            }
        }
    }
    out
}

fn counted(e: &EventSummary) -> String {
    if e.count > 1 {
        format!("{} ×{}", e.reason, e.count)
    } else {
        e.reason.clone()
    }
}

fn events_none(inspect: &InspectModel, theme: &Theme) -> Line<'static> {
    let text = if inspect.events_synced {
        "  <none> (API servers keep events for an hour by default)"
    } else {
        "  reading…"
    };
    Line::styled(text, theme.style(Role::Muted))
}

/// Gone or failing: said first, so the reader knows what the rest is worth.
fn status_lines(inspect: &InspectModel, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if inspect.gone {
        out.push(Line::styled(
            format!(
                "✖ {} is gone (deleted, or replaced by a rollout); the last state seen is below",
                inspect.target.describe()
            ),
            theme.style(Role::Danger),
        ));
    }
    if let Some(why) = &inspect.trouble {
        out.push(Line::styled(
            format!("⚠ reading failed, retrying: {why}"),
            theme.style(Role::Warn),
        ));
    }
    out
}

fn field(
    out: &mut Vec<Line<'static>>,
    indent: usize,
    key: &str,
    value: String,
    role: Role,
    theme: &Theme,
) {
    let key = if key.is_empty() {
        " ".repeat(indent)
    } else {
        format!("{}{key}:", " ".repeat(indent))
    };
    // Values line up: one column for the object's fields, one for its containers'.
    let column = if indent == 0 {
        KEY_WIDTH
    } else {
        KEY_WIDTH + 6
    };
    let pad = column.max(key.chars().count() + 1);
    out.push(Line::from(vec![
        Span::styled(format!("{key:<pad$}"), theme.style(Role::Muted)),
        Span::styled(value, theme.style(role)),
    ]));
}

fn pod_lines(
    out: &mut Vec<Line<'static>>,
    p: &PodDetail,
    model: &Model,
    width: usize,
    theme: &Theme,
) {
    let t = Role::Text;
    field(out, 0, "Name", p.name.clone(), t, theme);
    field(out, 0, "Namespace", p.namespace.clone(), t, theme);
    field(
        out,
        0,
        "Node",
        p.node.clone().unwrap_or_else(|| "<none>".into()),
        t,
        theme,
    );
    field(out, 0, "Start Time", when(p.started, model.now), t, theme);
    let labels: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if labels.is_empty() {
        field(out, 0, "Labels", "<none>".into(), t, theme);
    }
    for (i, l) in labels.into_iter().enumerate() {
        field(out, 0, if i == 0 { "Labels" } else { "" }, l, t, theme);
    }
    let status_role = match p.status.as_str() {
        "Running" | "Succeeded" => Role::Ok,
        "Pending" | "Terminating" => Role::Warn,
        _ => Role::Danger,
    };
    field(out, 0, "Status", p.status.clone(), status_role, theme);
    field(
        out,
        0,
        "IP",
        p.ip.clone().unwrap_or_else(|| "<none>".into()),
        t,
        theme,
    );
    let owners = if p.owners.is_empty() {
        "<none>".to_string()
    } else {
        p.owners.join(" → ")
    };
    field(out, 0, "Controlled By", owners, t, theme);
    let (init, main): (Vec<_>, Vec<_>) = p.containers.iter().partition(|c| c.init);
    if !init.is_empty() {
        out.push(Line::styled("Init Containers:", theme.style(Role::Header)));
        for c in init {
            container_lines(out, c, model, width, theme);
        }
    }
    out.push(Line::styled("Containers:", theme.style(Role::Header)));
    for c in main {
        container_lines(out, c, model, width, theme);
    }
    condition_lines(out, &p.conditions, width, theme);
    field(
        out,
        0,
        "QoS Class",
        p.qos.clone().unwrap_or_else(|| "<none>".into()),
        t,
        theme,
    );
}

fn container_lines(
    out: &mut Vec<Line<'static>>,
    c: &ContainerDetail,
    model: &Model,
    width: usize,
    theme: &Theme,
) {
    let t = Role::Text;
    out.push(Line::styled(
        format!("  {}:", c.name),
        theme.style(Role::Accent),
    ));
    field(out, 4, "Image", c.image.clone(), t, theme);
    let state_role = match (c.state.as_str(), c.reason.as_deref()) {
        ("Running", _) => Role::Ok,
        ("Terminated", Some("Completed")) => Role::Muted,
        ("Waiting", Some("ContainerCreating" | "PodInitializing") | None) => Role::Warn,
        _ => Role::Danger,
    };
    field(out, 4, "State", c.state.clone(), state_role, theme);
    if let Some(r) = &c.reason {
        field(out, 6, "Reason", r.clone(), state_role, theme);
    }
    if let Some(m) = &c.message {
        for (i, part) in wrap(m, width.saturating_sub(KEY_WIDTH + 4).max(20))
            .into_iter()
            .enumerate()
        {
            field(out, 6, if i == 0 { "Message" } else { "" }, part, t, theme);
        }
    }
    if let Some(code) = c.exit_code {
        field(out, 6, "Exit Code", code.to_string(), t, theme);
    }
    if c.since.is_some() {
        let key = if c.state == "Running" {
            "Started"
        } else {
            "Finished"
        };
        field(out, 6, key, when(c.since, model.now), t, theme);
    }
    if let Some((reason, code, at)) = &c.last_termination {
        field(out, 4, "Last State", "Terminated".into(), Role::Warn, theme);
        field(out, 6, "Reason", reason.clone(), Role::Warn, theme);
        field(out, 6, "Exit Code", code.to_string(), t, theme);
        field(out, 6, "Finished", when(*at, model.now), t, theme);
    }
    let ready_role = if c.ready { Role::Ok } else { Role::Warn };
    field(
        out,
        4,
        "Ready",
        if c.ready { "True" } else { "False" }.into(),
        ready_role,
        theme,
    );
    let restart_role = if c.restarts > 0 { Role::Warn } else { t };
    field(
        out,
        4,
        "Restart Count",
        c.restarts.to_string(),
        restart_role,
        theme,
    );
}

fn condition_lines(
    out: &mut Vec<Line<'static>>,
    conditions: &[Condition],
    width: usize,
    theme: &Theme,
) {
    out.push(Line::styled("Conditions:", theme.style(Role::Header)));
    if conditions.is_empty() {
        out.push(Line::styled("  <none>", theme.style(Role::Muted)));
        return;
    }
    out.push(Line::styled(
        format!("  {:<26} {:<7} {}", "Type", "Status", "Reason"),
        theme.style(Role::Muted),
    ));
    for c in conditions {
        let role = if c.status == "True" {
            Role::Text
        } else {
            Role::Warn
        };
        out.push(Line::styled(
            format!(
                "  {:<26} {:<7} {}",
                c.kind,
                c.status,
                c.reason.as_deref().unwrap_or("")
            ),
            theme.style(role),
        ));
        if let Some(m) = c
            .message
            .as_deref()
            .filter(|m| !m.is_empty() && c.status != "True")
        {
            for part in wrap(m, width.saturating_sub(6).max(20)) {
                out.push(Line::styled(
                    format!("    {part}"),
                    theme.style(Role::Muted),
                ));
            }
        }
    }
}

fn deployment_lines(
    out: &mut Vec<Line<'static>>,
    d: &DeploymentDetail,
    model: &Model,
    width: usize,
    theme: &Theme,
) {
    let t = Role::Text;
    field(out, 0, "Name", d.name.clone(), t, theme);
    field(out, 0, "Namespace", d.namespace.clone(), t, theme);
    field(
        out,
        0,
        "CreationTimestamp",
        when(d.created, model.now),
        t,
        theme,
    );
    field(out, 0, "Selector", d.selector.clone(), t, theme);
    let short = d.available < d.desired || d.updated < d.desired;
    field(
        out,
        0,
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            d.desired, d.updated, d.total, d.available, d.unavailable
        ),
        if short { Role::Warn } else { Role::Ok },
        theme,
    );
    field(
        out,
        0,
        "Ready",
        format!("{}/{}", d.ready, d.desired),
        t,
        theme,
    );
    field(out, 0, "StrategyType", d.strategy.clone(), t, theme);
    if let Some(r) = &d.rolling {
        field(out, 0, "RollingUpdateStrategy", r.clone(), t, theme);
    }
    for (i, image) in d.images.iter().enumerate() {
        field(
            out,
            0,
            if i == 0 { "Images" } else { "" },
            image.clone(),
            Role::Accent,
            theme,
        );
    }
    condition_lines(out, &d.conditions, width, theme);
    out.push(Line::styled("ReplicaSets:", theme.style(Role::Header)));
    if d.replica_sets.is_empty() {
        out.push(Line::styled("  <none>", theme.style(Role::Muted)));
    }
    for rs in &d.replica_sets {
        let role = if rs.desired == 0 {
            Role::Muted
        } else if rs.ready < rs.desired {
            Role::Warn
        } else {
            Role::Ok
        };
        out.push(Line::styled(
            format!(
                "  {} (rev {}) {}/{} ready · {} · {}",
                rs.name,
                rs.revision.as_deref().unwrap_or("?"),
                rs.ready,
                rs.desired,
                rs.images.join(", "),
                age(rs.created, model.now)
            ),
            theme.style(role),
        ));
    }
}

fn event_lines(
    inspect: &InspectModel,
    model: &Model,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if inspect.events.is_empty() {
        out.push(events_none(inspect, theme));
        return out;
    }
    for e in &inspect.events {
        let role = if e.warning { Role::Warn } else { Role::Info };
        out.push(Line::from(vec![
            Span::styled(
                format!("{:>5} ", age(e.last_seen, model.now)),
                theme.style(Role::Muted),
            ),
            Span::styled(
                format!("{:<8}", if e.warning { "Warning" } else { "Normal" }),
                theme.style(role),
            ),
            Span::styled(format!("{} ", counted(e)), theme.style(role)),
            Span::styled(e.object.clone(), theme.style(Role::Muted)),
        ]));
        for part in wrap(&e.message, width.saturating_sub(6).max(20)) {
            out.push(Line::styled(
                format!("      {part}"),
                theme.style(Role::Text),
            ));
        }
    }
    out
}
