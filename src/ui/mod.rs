//! Drawing: a pure function of `&Model` and `&Theme`, one module per pane.
//! Nothing here does I/O or waits; rows are built only for what is visible.

mod act;
mod alerts;
mod chat;
mod cluster;
mod exfil;
mod format;
mod header;
mod help;
pub mod layout;
mod links;

use ratatui::Frame;

use crate::config::Theme;
use crate::model::Model;

pub use format::age;

pub fn draw(frame: &mut Frame, model: &Model, theme: &Theme) {
    let areas = layout::screen(frame.area(), model);
    header::draw(frame, areas.header, model, theme);
    cluster::draw_body(frame, &areas, model, theme);
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
