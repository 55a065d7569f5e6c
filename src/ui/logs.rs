//! The log view (`l`): the pod's lines as they come, following or paused, wrapped or cut
//! (`←`/`→` move sideways), with timestamps on demand and search matches highlighted; what
//! the reader last said (reconnecting, the container waiting to restart, the pod gone and
//! the one that replaced it) above them, and the buffer's state below.
//!
//! Only what is on screen is built: the lines from the first one shown until the rows are
//! full, each wrapped on its own — never the whole ring. The rows a line takes are counted
//! by the same walk that draws it ([`LogLayout::rows`]), so `update` scrolls by what the
//! screen shows.

use chrono::{DateTime, FixedOffset, Offset as _, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthChar as _;

use super::format::fit;
use crate::config::{Role, Theme};
use crate::model::Model;
use crate::model::logs::{Geometry, LogsModel, Search};
use crate::msg::logs::LogLine;

/// Tab stops every this many columns.
const TAB: usize = 8;
/// Banner lines above the log at most.
const MAX_BANNERS: usize = 3;

/// How lines are laid out at the current size: what the view draws and `update` scrolls by.
#[derive(Debug, Clone, Copy)]
pub struct LogLayout {
    /// Rows of log lines.
    pub height: usize,
    /// Columns of a row.
    pub width: usize,
    pub wrap: bool,
    pub stamps: bool,
}

impl LogLayout {
    /// Rows `line` takes: 1 unless wrapping.
    pub fn rows(&self, line: &LogLine) -> usize {
        if !self.wrap {
            return 1;
        }
        let mut rows = 1;
        let mut col = 0;
        let mut line_col = 0;
        let width = self.width.max(1);
        // The same walk as `line_rows`, counting instead of drawing.
        for (c, _) in chars(line, self.stamps, None, Utc.fix()) {
            let w = char_width(c, line_col);
            line_col += w;
            if col + w > width && col > 0 {
                rows += 1;
                col = 0;
            }
            col += w;
        }
        rows
    }
}

/// The log view's layout for the model's size and state.
pub fn layout(model: &Model) -> LogLayout {
    let (w, h) = model.size;
    let areas = super::layout::screen(Rect::new(0, 0, w, h), model);
    let inner_h = usize::from(areas.body.height.saturating_sub(2));
    let banners = model.logs.as_ref().map_or(0, |l| banners(l, model).len());
    let (wrap, stamps) = model
        .logs
        .as_ref()
        .map_or((false, false), |l| (l.wrap, l.timestamps));
    LogLayout {
        height: inner_h.saturating_sub(banners + 1),
        width: usize::from(areas.body.width.saturating_sub(2)),
        wrap,
        stamps,
    }
}

/// What a character takes on screen at column `col` (a tab: to the next stop).
fn char_width(c: char, col: usize) -> usize {
    if c == '\t' {
        TAB - col % TAB
    } else {
        c.width().unwrap_or(0)
    }
}

/// Which part of a line a character is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Stamp,
    Text,
    Match,
    Cut,
}

/// The characters of `line` as drawn, each with its part: the stamp when shown, the text
/// (its search matches marked), the mark of a cut line.
fn chars<'a>(
    line: &'a LogLine,
    stamps: bool,
    search: Option<&'a Search>,
    offset: FixedOffset,
) -> impl Iterator<Item = (char, Part)> + 'a {
    let stamp = stamps.then(|| stamp(line.at, offset));
    let stamp_chars = stamp
        .into_iter()
        .flat_map(|s| s.chars().collect::<Vec<_>>())
        .map(|c| (c, Part::Stamp));
    let ranges: Vec<(usize, usize)> = search
        .map(|s| s.ranges(&line.text).collect())
        .unwrap_or_default();
    let text = line.text.char_indices().map(move |(i, c)| {
        let hit = ranges.iter().any(|(a, b)| *a <= i && i < *b);
        (c, if hit { Part::Match } else { Part::Text })
    });
    let cut = (line.cut > 0)
        .then(|| format!(" …[{} cut]", bytes(line.cut)))
        .into_iter()
        .flat_map(|s| s.chars().collect::<Vec<_>>())
        .map(|c| (c, Part::Cut));
    stamp_chars.chain(text).chain(cut)
}

/// `14:05:09.123 ` in the presenter's time zone; a line without a stamp gets blanks.
fn stamp(at: Option<DateTime<Utc>>, offset: FixedOffset) -> String {
    match at {
        Some(at) => format!("{} ", at.with_timezone(&offset).format("%H:%M:%S%.3f")),
        None => format!("{:13}", ""),
    }
}

fn bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the reader said that the reader of the screen must know first, most serious first.
fn banners(logs: &LogsModel, model: &Model) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    if let Some(why) = &logs.refused {
        out.push((Role::Danger, format!("✖ {why}")));
    }
    if let Some(s) = logs.stream() {
        if let Some(why) = &s.ended
            && logs.window_follows()
        {
            let text = match &logs.replaced_by {
                Some(by) => format!("✖ a rollout replaced this pod — o follows {by} · {why}"),
                None => format!("✖ {why}"),
            };
            out.push((Role::Danger, text));
        }
        if let Some(why) = &s.trouble {
            out.push((
                Role::Warn,
                format!("⚠ reading failed, retrying from the last line read: {why}"),
            ));
        }
        if let Some(note) = &s.note {
            out.push((Role::Info, format!("… {note}")));
        }
    } else if logs.replaced_by.is_some()
        && let Some(by) = &logs.replaced_by
    {
        out.push((
            Role::Danger,
            format!("a rollout replaced the pod with {by} — o follows it"),
        ));
    }
    for (cluster, why) in &logs.cluster_trouble {
        let name = model
            .clusters
            .get(*cluster)
            .map_or("?", |c| c.name.as_str());
        out.push((Role::Warn, format!("⚠ {name}: {why}")));
    }
    out.truncate(MAX_BANNERS);
    out
}

impl LogsModel {
    /// The view's read follows the pod (not a previous run, read once).
    fn window_follows(&self) -> bool {
        self.request.window().follow
    }
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, theme: &Theme) {
    let Some(logs) = model.logs.as_ref() else {
        return;
    };
    let cluster = logs
        .target()
        .and_then(|t| model.clusters.get(t.cluster))
        .map_or("?", |c| c.name.as_str());
    let namespace = logs.target().map_or("", |t| t.namespace.as_str());
    let pod = logs.pod.as_deref().unwrap_or("…");
    let mut what = format!(" logs {pod} ");
    if let Some(c) = &logs.container {
        what.push_str(&format!("· {c} "));
    }
    let run = if logs.previous() {
        Span::styled(" previous run ", theme.style(Role::Warn))
    } else {
        Span::raw("")
    };
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocus))
        .title_top(Line::from(vec![
            Span::styled(what, theme.style(Role::Title)),
            run,
            Span::styled(
                format!("· {cluster} · {namespace} "),
                theme.style(Role::Muted),
            ),
        ]))
        .title_top(
            Line::from(Span::styled(
                " Esc back · ? keys ",
                theme.style(Role::Muted),
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let banners = banners(logs, model);
    let lay = layout(model);
    let mut rows: Vec<Line> = banners
        .iter()
        .map(|(role, text)| Line::styled(fit(text, width, false), theme.style(*role)))
        .collect();
    let height = usize::from(inner.height).saturating_sub(rows.len() + 1);
    let body = if logs.picker.is_some() {
        picker_rows(logs, height, theme)
    } else {
        log_rows(logs, model, lay, height, theme)
    };
    rows.extend(body);
    while rows.len() < usize::from(inner.height).saturating_sub(1) {
        rows.push(Line::raw(""));
    }
    rows.truncate(usize::from(inner.height).saturating_sub(1));
    rows.push(status_line(logs, lay, width, theme));
    frame.render_widget(Paragraph::new(rows), inner);
}

/// The rows of log lines on screen.
fn log_rows(
    logs: &LogsModel,
    model: &Model,
    lay: LogLayout,
    height: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    if height == 0 {
        return Vec::new();
    }
    if logs.ring.is_empty() {
        let ended = logs.stream().and_then(|s| s.ended.as_ref()).is_some();
        let text = if logs.refused.is_some() {
            ""
        } else if ended || (logs.previous() && logs.stream().is_some()) {
            "(no lines)"
        } else {
            "reading…"
        };
        return vec![Line::styled(text, theme.style(Role::Muted))];
    }
    let lay = LogLayout { height, ..lay };
    let rows_of = move |l: &LogLine| lay.rows(l);
    let g = Geometry {
        height,
        rows: &rows_of,
    };
    let top = logs.shown_top(&g);
    let offset = *model.now.offset();
    let current = logs
        .search
        .as_ref()
        .and_then(|s| s.current.map(|(at, _)| at));
    let mut out: Vec<Line<'static>> = Vec::new();
    for (seq, line) in logs.ring.from(top) {
        if out.len() >= height {
            break;
        }
        let styles = Styles::new(theme, current == Some(seq));
        out.extend(line_rows(line, logs, lay, offset, &styles));
    }
    if logs.follow && out.len() > height {
        // Following: the newest row at the bottom, a tall first line cut at the top.
        out.drain(..out.len() - height);
    }
    out.truncate(height);
    out
}

struct Styles {
    stamp: Style,
    text: Style,
    hit: Style,
    cut: Style,
}

impl Styles {
    fn new(theme: &Theme, current: bool) -> Styles {
        let hit = if current {
            theme
                .style(Role::Accent)
                .add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        } else {
            theme.style(Role::Focus).add_modifier(Modifier::REVERSED)
        };
        Styles {
            stamp: theme.style(Role::Muted),
            text: theme.style(Role::Text),
            hit,
            cut: theme.style(Role::Muted),
        }
    }

    fn of(&self, part: Part) -> Style {
        match part {
            Part::Stamp => self.stamp,
            Part::Text => self.text,
            Part::Match => self.hit,
            Part::Cut => self.cut,
        }
    }
}

/// One log line as screen rows: wrapped, or cut to the width after the sideways scroll
/// (`›` marks more to the right). Tabs become spaces to the next stop.
fn line_rows(
    line: &LogLine,
    logs: &LogsModel,
    lay: LogLayout,
    offset: FixedOffset,
    styles: &Styles,
) -> Vec<Line<'static>> {
    let width = lay.width.max(1);
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut run = String::new();
    let mut run_part = Part::Text;
    let mut col = 0usize;
    // Columns of the whole line (for the sideways scroll).
    let mut line_col = 0usize;
    let skip = if lay.wrap { 0 } else { logs.hscroll };
    let mut more = false;
    let flush = |rows: &mut Vec<Vec<Span<'static>>>, run: &mut String, part: Part| {
        if !run.is_empty()
            && let Some(row) = rows.last_mut()
        {
            row.push(Span::styled(std::mem::take(run), styles.of(part)));
        }
    };
    for (c, part) in chars(line, lay.stamps, logs.search.as_ref(), offset) {
        let w = char_width(c, line_col);
        line_col += w;
        if line_col <= skip {
            continue;
        }
        // A tab, or a wide character straddling the left edge, shows as blanks.
        let blank = c == '\t' || line_col - w < skip;
        let w = w.min(line_col - skip);
        if col + w > width && col > 0 {
            if !lay.wrap {
                more = true;
                break;
            }
            flush(&mut rows, &mut run, run_part);
            rows.push(Vec::new());
            col = 0;
        }
        if part != run_part {
            flush(&mut rows, &mut run, run_part);
            run_part = part;
        }
        if blank {
            run.extend(std::iter::repeat_n(' ', w));
        } else {
            run.push(c);
        }
        col += w;
    }
    flush(&mut rows, &mut run, run_part);
    if more && let Some(row) = rows.last_mut() {
        // Room for the mark: drop what the last column held.
        let mut cols: usize = row.iter().map(|s| s.width()).sum();
        while cols >= width {
            let Some(last) = row.last_mut() else { break };
            let mut text = last.content.to_string();
            let Some(c) = text.pop() else {
                row.pop();
                continue;
            };
            cols -= c.width().unwrap_or(0).max(usize::from(c == '\t'));
            if text.is_empty() {
                row.pop();
            } else {
                last.content = text.into();
            }
        }
        row.push(Span::styled("›", styles.cut));
    }
    rows.into_iter().map(Line::from).collect()
}

fn picker_rows(logs: &LogsModel, height: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled(
        "Which container? j/k move · Enter reads it · Esc back",
        theme.style(Role::Header),
    )];
    let at = logs.picker.unwrap_or(0);
    let skip = at.saturating_sub(height.saturating_sub(2));
    for (i, c) in logs.containers.iter().enumerate().skip(skip) {
        if out.len() >= height {
            break;
        }
        let mark = if Some(&c.name) == logs.container.as_ref() {
            " (reading)"
        } else {
            ""
        };
        let init = if c.init { " (init)" } else { "" };
        let text = format!("  {}{init}{mark}", c.name);
        let style = if i == at {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Text)
        };
        out.push(Line::styled(text, style));
    }
    out
}

/// The last row: how much is held and dropped, follow or paused, the search.
fn status_line(logs: &LogsModel, lay: LogLayout, width: usize, theme: &Theme) -> Line<'static> {
    let muted = theme.style(Role::Muted);
    if let Some(input) = &logs.search_input {
        return Line::from(vec![
            Span::styled("/", theme.style(Role::Accent)),
            Span::styled(format!("{input}▏"), theme.style(Role::Text)),
            Span::styled("  Enter search · Esc cancel · re: for a regex", muted),
        ]);
    }
    // Most important first; what does not fit is left out whole, the state on the right
    // always shown.
    let mut parts: Vec<Span<'static>> = Vec::new();
    if let Some(e) = &logs.search_error {
        parts.push(Span::styled(format!(" · {e}"), theme.style(Role::Danger)));
    } else if let Some(s) = &logs.search {
        let at = match s.current {
            Some((_, rank)) => format!("{rank} of {}", count(s.lines as u64)),
            None => format!("{} lines", count(s.lines as u64)),
        };
        parts.push(Span::styled(
            format!(" · /{} {at} n/N", s.text),
            theme.style(Role::Focus),
        ));
    }
    if logs.ring.dropped > 0 {
        parts.push(Span::styled(
            format!(" · {} older dropped", count(logs.ring.dropped)),
            theme.style(Role::Warn),
        ));
    }
    if logs.cut_lines > 0 {
        parts.push(Span::styled(
            format!(
                " · {} cut at {} KiB",
                count(logs.cut_lines),
                crate::model::logs::LINE_CAP / 1024
            ),
            muted,
        ));
    }
    if logs.not_utf8_lines > 0 {
        parts.push(Span::styled(
            format!(" · {} not UTF-8 (�)", count(logs.not_utf8_lines)),
            muted,
        ));
    }
    if lay.wrap {
        parts.push(Span::styled(" · wrap", muted));
    } else if logs.hscroll > 0 {
        parts.push(Span::styled(
            format!(" · from column {}", logs.hscroll + 1),
            muted,
        ));
    }
    let rows_of = move |l: &LogLine| lay.rows(l);
    let g = Geometry {
        height: lay.height.max(1),
        rows: &rows_of,
    };
    let right = if logs.picker.is_some() {
        Span::styled(" choose a container ", theme.style(Role::Accent))
    } else if logs.previous() {
        Span::styled(
            " previous run, read once · p current ",
            theme.style(Role::Warn),
        )
    } else if logs.stream().and_then(|s| s.ended.as_ref()).is_some() {
        Span::styled(" ended ", theme.style(Role::Danger))
    } else if logs.follow {
        Span::styled(" ● following ", theme.style(Role::Ok))
    } else {
        let below = logs.below(&g);
        let new = if below > 0 {
            format!("{} newer below · ", count(below))
        } else {
            String::new()
        };
        Span::styled(
            format!(" ❚❚ paused · {new}G follows "),
            theme.style(Role::Warn),
        )
    };
    let kept = if logs.ring.dropped > 0 { " kept" } else { "" };
    let mut left = vec![Span::styled(
        format!(" {} lines{kept}", count(logs.ring.len() as u64)),
        theme.style(Role::Text),
    )];
    let mut used = left[0].width() + right.width();
    for part in parts {
        if used + part.width() <= width {
            used += part.width();
            left.push(part);
        }
    }
    if used < width {
        left.push(Span::raw(" ".repeat(width - used)));
    }
    left.push(right);
    Line::from(left)
}

/// The footer's hints while the view is open.
pub fn hints() -> Vec<(String, &'static str)> {
    [
        ("j/k", "scroll"),
        ("G", "follow"),
        ("/", "search"),
        ("n/N", "match"),
        ("w", "wrap"),
        ("t", "time"),
        ("p", "previous"),
        ("c", "container"),
        ("s", "save"),
        ("y", "copy"),
        ("Esc", "back"),
    ]
    .into_iter()
    .map(|(k, w)| (k.to_string(), w))
    .collect()
}

/// Every key of the view, for the `?` overlay.
pub fn help_keys() -> Vec<(String, String)> {
    [
        ("j k ↓ ↑", "scroll a line (up pauses following)"),
        ("PgDn PgUp Space", "scroll a page (Ctrl+F / Ctrl+B too)"),
        ("g Home", "the oldest line kept"),
        ("G End", "the newest lines, following again"),
        ("← →", "scroll sideways (when not wrapping)"),
        ("/", "search (smart case; re: for a regex), Enter applies"),
        ("n N", "newer / older match"),
        ("w", "wrap long lines"),
        ("t", "timestamps"),
        ("c", "choose another container"),
        (
            "p",
            "the previous run of the container / back to the current",
        ),
        (
            "o Enter",
            "follow the pod a rollout put in place of this one",
        ),
        ("s", "save the buffer under the state dir"),
        ("y", "copy the kubectl logs command"),
        ("Esc q", "back to where the view was opened"),
        ("?", "this help"),
    ]
    .into_iter()
    .map(|(k, w)| (k.to_string(), w.to_string()))
    .collect()
}
