//! `I`: every Deployment and DaemonSet, the image(s) it runs in each cluster side by side.
//! A workload whose clusters disagree is marked, and an image that changed while we
//! watched says what it was — the rug-pull of act 2 shows here at a glance.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{fit, pad};
use crate::config::{Role, Theme};
use crate::model::Model;

/// One cluster's images for a workload: now, and when first seen.
pub type Cell<'a> = (&'a [String], Option<&'a [String]>);

/// One workload across the clusters: per cluster, its images now and when first seen.
pub struct ImageRow<'a> {
    pub namespace: &'a str,
    /// `deployment/x` or `daemonset/x`.
    pub object: String,
    pub cells: Vec<Option<Cell<'a>>>,
}

impl ImageRow<'_> {
    /// Present in more than one cluster, not with the same images everywhere.
    pub fn differs(&self) -> bool {
        let mut present = self.cells.iter().flatten().map(|(now, _)| *now);
        match present.next() {
            Some(first) => present.any(|other| other != first),
            None => false,
        }
    }

    pub fn changed(&self) -> bool {
        self.cells
            .iter()
            .flatten()
            .any(|(now, first)| first.is_some_and(|f| f != *now))
    }
}

/// What the view lists: a namespace header, then its workloads.
pub enum ImageLine<'a> {
    Namespace(&'a str),
    Workload(ImageRow<'a>),
}

/// Every workload of every cluster under its namespace, by name.
pub fn lines(model: &Model) -> Vec<ImageLine<'_>> {
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for row in rows(model) {
        if last != Some(row.namespace) {
            last = Some(row.namespace);
            out.push(ImageLine::Namespace(row.namespace));
        }
        out.push(ImageLine::Workload(row));
    }
    out
}

/// Every workload of every cluster, by namespace and name.
pub fn rows(model: &Model) -> Vec<ImageRow<'_>> {
    let n = model.clusters.len();
    let mut by_name: BTreeMap<(&str, String), ImageRow> = BTreeMap::new();
    for (i, c) in model.clusters.iter().enumerate() {
        let workloads = c
            .deployments
            .values()
            .map(|d| {
                let object = format!("deployment/{}", d.name);
                (d.namespace.as_str(), object, d.images.as_slice())
            })
            .chain(c.daemonsets.values().map(|d| {
                let object = format!("daemonset/{}", d.name);
                (d.namespace.as_str(), object, d.images.as_slice())
            }));
        for (namespace, object, images) in workloads {
            let first = c
                .first_images
                .get(&(namespace.to_string(), object.clone()))
                .map(Vec::as_slice);
            let row = by_name
                .entry((namespace, object.clone()))
                .or_insert_with(|| ImageRow {
                    namespace,
                    object,
                    cells: vec![None; n],
                });
            row.cells[i] = Some((images, first));
        }
    }
    by_name.into_values().collect()
}

/// An image in `width` columns: whole when it fits, else without its registry and path,
/// and cut from the left so the tag — what differs — stays.
fn show_image(image: &str, width: usize) -> String {
    if image.chars().count() <= width {
        return image.to_string();
    }
    let short = image.rsplit('/').next().unwrap_or(image);
    let count = short.chars().count();
    if count <= width {
        return short.to_string();
    }
    // The tag alone, when the name does not fit: the workload's row names it already.
    if let Some((_, tag)) = short.rsplit_once(':')
        && tag.chars().count() < width
    {
        return format!(":{tag}");
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let tail: String = short.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let lines = lines(model);
    let workloads = lines
        .iter()
        .filter(|l| matches!(l, ImageLine::Workload(_)))
        .count();
    let (mut differing, mut changed) = (0, 0);
    for l in &lines {
        if let ImageLine::Workload(r) = l {
            differing += usize::from(r.differs());
            changed += usize::from(r.changed());
        }
    }
    let changed_role = if changed > 0 {
        Role::Danger
    } else {
        Role::Muted
    };
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(" images ", theme.style(Role::Title)),
            Span::styled(
                format!("· {workloads} workloads · {differing} differ between clusters · "),
                theme.style(Role::Muted),
            ),
            Span::styled(
                format!("{changed} changed while watched "),
                theme.style(changed_role),
            ),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let n = model.clusters.len().max(1);
    let name_w = (width / (n + 1)).clamp(20, 44);
    let cell_w = width.saturating_sub(name_w) / n;
    let mut header = vec![Span::styled(
        pad("WORKLOAD", name_w),
        theme.style(Role::Header),
    )];
    for c in &model.clusters {
        header.push(Span::styled(
            pad(&c.name.to_uppercase(), cell_w),
            theme.style(Role::Header),
        ));
    }
    let mut out = vec![Line::from(header)];
    let body_rows = usize::from(inner.height) - 1;
    let top = model.view_scroll.min(lines.len().saturating_sub(body_rows));
    for line in lines.iter().skip(top).take(body_rows) {
        let row = match line {
            ImageLine::Namespace(ns) => {
                out.push(Line::styled(format!("▾ {ns}"), theme.style(Role::Title)));
                continue;
            }
            ImageLine::Workload(row) => row,
        };
        out.push(workload_line(row, name_w, cell_w, theme));
    }
    if lines.is_empty() {
        out.push(Line::styled(
            "no Deployments or DaemonSets yet",
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(out), inner);
}

fn workload_line(row: &ImageRow, name_w: usize, cell_w: usize, theme: &Theme) -> Line<'static> {
    let differs = row.differs();
    let name_role = if row.changed() {
        Role::Danger
    } else if differs {
        Role::Warn
    } else {
        Role::Text
    };
    // Deployments by name; DaemonSets marked.
    let short = match row.object.split_once('/') {
        Some(("daemonset", name)) => format!("{name} (ds)"),
        Some((_, name)) => name.to_string(),
        None => row.object.clone(),
    };
    let mut spans = vec![Span::styled(
        pad(
            &format!("  {}", fit(&short, name_w.saturating_sub(3), true)),
            name_w,
        ),
        theme.style(name_role),
    )];
    for cell in &row.cells {
        let (text, role) = match cell {
            None => ("—".to_string(), Role::Muted),
            Some((now, first)) => {
                // What it was, by tag, is said whole; the images get the rest of the room.
                let was = first.filter(|f| f != now).map(|was| {
                    let tags: Vec<&str> = was
                        .iter()
                        .map(|i| i.rsplit(':').next().unwrap_or(i))
                        .collect();
                    format!(" (was {})", tags.join(" "))
                });
                let show = |room: usize| -> Vec<String> {
                    let each = room / now.len().max(1);
                    now.iter().map(|i| show_image(i, each)).collect()
                };
                let room = cell_w.saturating_sub(1);
                let mut shown =
                    show(room.saturating_sub(was.as_ref().map_or(0, |w| w.chars().count())));
                // No room for both: the image now wins (the colour says it changed).
                let was = if shown.iter().any(|s| s.starts_with('…')) {
                    shown = show(room);
                    was.map(|_| String::new())
                } else {
                    was
                };
                let text = shown.join(" ");
                match was {
                    Some(was) => (format!("{text}{was}"), Role::Danger),
                    None if differs => (text, Role::Warn),
                    None => (text, Role::Text),
                }
            }
        };
        spans.push(Span::styled(
            pad(&fit(&text, cell_w.saturating_sub(1), false), cell_w),
            theme.style(role),
        ));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_keep_their_tag_when_cut() {
        assert_eq!(show_image("nginx:1.27", 20), "nginx:1.27");
        assert_eq!(
            show_image("ghcr.io/acme/currency-converter:1.0.0-rugpull", 34),
            "currency-converter:1.0.0-rugpull"
        );
        assert_eq!(
            show_image("ghcr.io/acme/currency-converter:1.0.0-rugpull", 12),
            "…0.0-rugpull"
        );
        assert_eq!(show_image("x/abc", 0), "");
    }
}
