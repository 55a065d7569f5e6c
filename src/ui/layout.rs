//! Where each pane goes for a given terminal size: side by side when wide, stacked when
//! narrow but tall, a grid for four to nine clusters, tabbed when small; zoom gives the
//! focused pane the whole body.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::model::Model;

/// Below this height stacked panes get too short to be useful.
const STACKED_MIN_HEIGHT: u16 = 40;
/// A pane narrower than this cannot show a pod row.
const PANE_MIN_WIDTH: u16 = 40;
/// A grid cell keeps 8 rows of pods, inside its border.
const GRID_MIN_HEIGHT: u16 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrangement {
    SideBySide,
    Stacked,
    /// Four to nine clusters: `cols` × `rows` (the last row may hold fewer, wider panes).
    Grid {
        cols: u16,
        rows: u16,
    },
    Tabbed,
    Zoomed,
}

#[derive(Debug, Clone)]
pub struct ScreenAreas {
    pub header: Rect,
    pub footer: Rect,
    /// Tab bar, only in tabbed and zoomed arrangements.
    pub tabs: Option<Rect>,
    /// One rect per cluster pane drawn, with the cluster index it shows.
    pub panes: Vec<(usize, Rect)>,
    /// Where the panes (and their tab bar) go; a triage view takes all of it.
    pub body: Rect,
    /// The act script's output, below the panes while there is a run to show.
    pub act_log: Option<Rect>,
    /// The chat strip: always on a tall screen, on demand (`i`) on a small one.
    pub chat: Option<Rect>,
    /// The alert panel between the panes and the chat strip, when there is room for it.
    pub alerts: Option<Rect>,
    /// The story strip above the footer, on a screen too small for the chat strip.
    pub strip: Option<Rect>,
    pub arrangement: Arrangement,
}

/// How the panes share `body` on a screen of `area`.
pub fn arrangement(area: Rect, body: Rect, model: &Model) -> Arrangement {
    let side_by_side_min = model.side_by_side_min_width;
    let n = model.clusters.len().max(1) as u16;
    if model.zoomed {
        return Arrangement::Zoomed;
    }
    if n == 1 || area.width >= side_by_side_min.max(PANE_MIN_WIDTH * n) {
        return Arrangement::SideBySide;
    }
    if n >= 4 {
        // The fewest rows whose panes are wide enough, while each keeps its 8 rows.
        for rows in 2..=n {
            let cols = n.div_ceil(rows);
            if body.width / cols >= PANE_MIN_WIDTH && body.height / rows >= GRID_MIN_HEIGHT {
                return Arrangement::Grid { cols, rows };
            }
        }
    }
    if area.height >= STACKED_MIN_HEIGHT.max(10 * n + 4) {
        Arrangement::Stacked
    } else {
        Arrangement::Tabbed
    }
}

pub fn screen(area: Rect, model: &Model) -> ScreenAreas {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    use crate::model::View;
    // A triage view takes the chat strip's room too; typing brings the strip back (but not
    // over the chat's own view).
    let show_chat = (model.chat.focused && model.view != View::Chat)
        || (body.height >= 30 && model.view == View::Panes);
    // Too small for the chat: the story strip keeps act, exfil, alerts and chat in sight.
    let (body, strip) = if small_screen(model) && body.height >= 4 {
        let [b, s] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
        (b, Some(s))
    } else {
        (body, None)
    };
    let (body, chat) = if show_chat && body.height >= 12 {
        let height = if body.height >= 40 { 12 } else { 8 };
        let [b, c] = Layout::vertical([Constraint::Min(0), Constraint::Length(height)]).areas(body);
        (b, Some(c))
    } else {
        (body, None)
    };
    // Alerts stay on screen in every arrangement: a panel when there is room, else a line.
    let panel = 2 + super::alerts::wanted_rows(model);
    let (body, alerts) = if !model.zoomed && body.height >= panel + 20 {
        let [b, a] = Layout::vertical([Constraint::Min(0), Constraint::Length(panel)]).areas(body);
        (b, Some(a))
    } else if body.height >= 8 && strip.is_none() {
        let [b, a] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
        (b, Some(a))
    } else {
        (body, None)
    };
    let (body, act_log) = if model.act_run.is_some() && model.show_act_log && body.height >= 12 {
        let log_height = (body.height / 3).clamp(5, 14);
        let [b, l] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(log_height)]).areas(body);
        (b, Some(l))
    } else {
        (body, None)
    };
    let arrangement = arrangement(area, body, model);
    let n = model.clusters.len();
    let (tabs, panes) = match arrangement {
        Arrangement::Grid { cols, rows } => {
            let row_rects = Layout::vertical(vec![
                Constraint::Ratio(1, u32::from(rows));
                usize::from(rows)
            ])
            .split(body);
            let mut panes = Vec::with_capacity(n);
            for (r, row) in row_rects.iter().enumerate() {
                let first = r * usize::from(cols);
                let here = n.saturating_sub(first).min(usize::from(cols));
                if here == 0 {
                    break;
                }
                let cells =
                    Layout::horizontal(vec![Constraint::Ratio(1, here as u32); here]).split(*row);
                panes.extend(cells.iter().enumerate().map(|(c, rect)| (first + c, *rect)));
            }
            (None, panes)
        }
        Arrangement::SideBySide => {
            let rects =
                Layout::horizontal(vec![Constraint::Ratio(1, n.max(1) as u32); n]).split(body);
            (None, rects.iter().copied().enumerate().collect())
        }
        Arrangement::Stacked => {
            let rects =
                Layout::vertical(vec![Constraint::Ratio(1, n.max(1) as u32); n]).split(body);
            (None, rects.iter().copied().enumerate().collect())
        }
        Arrangement::Tabbed | Arrangement::Zoomed => {
            let [tabs, pane] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
            (
                Some(tabs),
                vec![(model.focus.min(n.saturating_sub(1)), pane)],
            )
        }
    };
    ScreenAreas {
        header,
        footer,
        tabs,
        panes,
        body,
        act_log,
        chat,
        alerts,
        strip,
        arrangement,
    }
}

/// A screen too small for the chat strip (80×24, 100×30): the story strip stands in for
/// it, and `Tab` reaches the chat, exfil and alert views past the clusters.
pub fn small_screen(model: &Model) -> bool {
    model.size.1.saturating_sub(2) < 30
}

/// Rows of pod list visible in the focused pane, or of the open view: what PgUp/PgDn
/// move by.
pub fn page_rows(model: &Model) -> usize {
    let (w, h) = model.size;
    let areas = screen(Rect::new(0, 0, w, h), model);
    if model.view != crate::model::View::Panes {
        // Inside the view's border.
        return usize::from(areas.body.height.saturating_sub(2)).max(1);
    }
    areas
        .panes
        .iter()
        .find(|(i, _)| *i == model.focus)
        .map(|(_, r)| usize::from(r.height.saturating_sub(3)))
        .unwrap_or(1)
        .max(1)
}
