//! Drawing: a pure function of `&Model` and `&Theme`, one module per pane.
//! Nothing here does I/O or waits; rows are built only for what is visible.

mod act;
mod alerts;
mod chat;
mod cluster;
mod detail;
pub mod doctor;
mod exfil;
mod format;
mod header;
mod help;
mod images;
pub mod layout;
mod links;
pub mod logs;
pub mod notes;
mod problems;
mod strip;
mod timeline;

use ratatui::Frame;

use crate::config::Theme;
use crate::model::Model;

pub use format::age;

pub fn draw(frame: &mut Frame, model: &Model, theme: &Theme) {
    let areas = layout::screen(frame.area(), model);
    header::draw(frame, areas.header, model, theme);
    draw_view(frame, &areas, model, theme);
    if let Some(area) = areas.chat {
        // The counter stands beside the conversation: the two halves of the story.
        let [counter, talk] = ratatui::layout::Layout::horizontal([
            ratatui::layout::Constraint::Length(30.min(area.width / 3)),
            ratatui::layout::Constraint::Min(0),
        ])
        .areas(area);
        exfil::draw(frame, counter, model, theme);
        chat::draw(frame, talk, model, theme);
    }
    if let Some(area) = areas.alerts {
        alerts::draw(frame, area, model, theme);
    }
    if let Some(area) = areas.strip {
        strip::draw(frame, area, model, theme);
    }
    if let (Some(area), Some(run)) = (areas.act_log, model.act_run.as_ref()) {
        act::draw_log(frame, area, run, model, theme);
    }
    header::draw_footer(frame, areas.footer, model, theme);
    if model.show_links {
        let body = ratatui::layout::Rect {
            y: areas.header.bottom(),
            height: areas.footer.y.saturating_sub(areas.header.bottom()),
            ..frame.area()
        };
        links::draw(frame, body, model, theme);
    }
    if model.show_help {
        help::draw(frame, frame.area(), model, theme);
    }
    act::draw_prompts(frame, model, theme);
}

/// The body: the cluster panes, or the triage view that is open over them.
fn draw_view(frame: &mut Frame, areas: &layout::ScreenAreas, model: &Model, theme: &Theme) {
    use crate::model::View;
    match model.view {
        View::Panes => cluster::draw_body(frame, areas, model, theme),
        View::Detail | View::Events => detail::draw(frame, areas.body, model, theme),
        View::Problems => problems::draw(frame, areas.body, model, theme),
        View::Timeline => timeline::draw(frame, areas.body, model, theme),
        View::Images => images::draw(frame, areas.body, model, theme),
        View::Doctor => doctor::draw(frame, areas.body, model, theme),
        View::Logs => logs::draw(frame, areas.body, model, theme),
        View::Chat | View::Exfil | View::Alerts => {
            // Below the tab bar that reaches them, when there is one.
            let mut area = areas.body;
            if let Some(tabs) = areas.tabs {
                cluster::draw_tabs(frame, tabs, model, theme);
                area.y = tabs.bottom();
                area.height = areas.body.bottom().saturating_sub(tabs.bottom());
            }
            match model.view {
                View::Chat => chat::draw(frame, area, model, theme),
                View::Exfil => exfil::draw(frame, area, model, theme),
                _ => alerts::draw(frame, area, model, theme),
            }
        }
    }
}

/// How far the `?` overlay scrolls (it does on a short screen).
pub fn help_max_scroll(model: &Model) -> usize {
    help::max_scroll(model)
}

/// How many lines the open view has at the current size: `update` keeps its scroll within
/// them (a view that scrolls past its end would need as many keys to come back).
pub fn view_line_count(model: &Model) -> usize {
    use crate::model::View;
    let (w, h) = model.size;
    let areas = layout::screen(ratatui::layout::Rect::new(0, 0, w, h), model);
    let width = usize::from(areas.body.width.saturating_sub(2));
    match model.view {
        View::Detail | View::Events => detail::lines(model, width, &Theme::default()).len(),
        View::Problems => model.current_problems().count(),
        // Less the header row.
        View::Timeline => timeline::merged(model).len(),
        View::Images => images::lines(model).len() + 1,
        View::Doctor => match (model.doctor.detail, model.doctor.selected_result()) {
            (true, Some(r)) => doctor::detail_lines(r, model, width, &Theme::default()).len(),
            _ => model.doctor.results.len(),
        },
        View::Panes | View::Logs | View::Chat | View::Exfil | View::Alerts => 0,
    }
}

/// The screen as plain text, one line per row: for snapshots and headless checks.
pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::with_capacity(usize::from(area.width + 1) * usize::from(area.height));
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            if let Some(cell) = buffer.cell((x, y)) {
                line.push_str(cell.symbol());
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
