//! The log view's state (and `control-room logs`', which prints from the same): the lines
//! read so far in a bounded ring — at most [`MAX_LINES`] lines and [`MAX_BYTES`] of text,
//! what falls out counted — the streams they came from and what each last said, and for
//! the view: whether it follows, where it is scrolled, wrap and timestamps, the search, the
//! container picker, a pod that replaced the one being read.
//!
//! Scrolling is by log line, not by screen row, so a paused view stays on its lines while
//! new ones arrive and old ones fall out; how many rows a line takes is the view's business
//! ([`crate::ui`] passes it in), so nothing here re-wraps the ring.

use std::collections::{BTreeMap, VecDeque};

use super::View;
use crate::msg::logs::{
    ContainerName, LogLine, LogMsg, LogNews, LogRequest, LogWindow, PodLogTarget, PodRef,
    StreamInfo,
};

/// Lines kept at most.
pub const MAX_LINES: usize = 50_000;
/// Bytes of text kept at most (a ring of long lines holds fewer of them).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// The longest line kept, in bytes; the rest of a longer one is read and dropped.
pub const LINE_CAP: usize = 16 * 1024;
/// How far back the view starts: the last lines of the log, as `kubectl logs --tail`.
pub const FIRST_LINES: i64 = 500;
/// Longest search: a pasted novel must not make every line's check crawl.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Lines in arrival order, each with a sequence number that never changes: a line's
/// number is how many lines came before it, dropped ones included.
#[derive(Debug, Clone)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    /// The number of `lines[0]`.
    first: u64,
    /// Lines that fell out (the ring was full, of lines or of bytes).
    pub dropped: u64,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Default for LogRing {
    fn default() -> Self {
        LogRing::new(MAX_LINES, MAX_BYTES)
    }
}

fn cost(line: &LogLine) -> usize {
    line.text.len() + std::mem::size_of::<LogLine>()
}

impl LogRing {
    pub fn new(max_lines: usize, max_bytes: usize) -> LogRing {
        LogRing {
            lines: VecDeque::new(),
            first: 0,
            dropped: 0,
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes,
        }
    }

    /// Appends `line`; every line that falls out to make room is passed to `dropped`.
    pub fn push(&mut self, line: LogLine, mut dropped: impl FnMut(u64, &LogLine)) {
        self.bytes += cost(&line);
        self.lines.push_back(line);
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= cost(&old);
            dropped(self.first, &old);
            self.first += 1;
            self.dropped += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The number of the oldest line kept.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// One past the number of the newest line.
    pub fn end(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.lines.get(i)
    }

    /// Lines from number `seq` on (from the oldest kept, if it fell out).
    pub fn from(&self, seq: u64) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> + '_ {
        let start = seq.max(self.first);
        let skip = usize::try_from(start - self.first).unwrap_or(usize::MAX);
        self.lines
            .iter()
            .skip(skip)
            .enumerate()
            .map(move |(i, l)| (start + i as u64, l))
    }

    /// Lines before number `seq`, newest first.
    pub fn before(&self, seq: u64) -> impl Iterator<Item = (u64, &LogLine)> + '_ {
        let end = seq.min(self.end());
        let take = usize::try_from(end.saturating_sub(self.first)).unwrap_or(0);
        self.lines
            .iter()
            .take(take)
            .enumerate()
            .rev()
            .map(|(i, l)| (self.first + i as u64, l))
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    Plain(regex::Regex),
    Regex(regex::Regex),
}

/// `/` in the view: plain text, or `re:` and a regular expression; case matters only when
/// the text has a capital letter in it (smart case).
#[derive(Debug, Clone)]
pub struct Search {
    /// As typed.
    pub text: String,
    matcher: Matcher,
    /// Lines kept that match.
    pub lines: usize,
    /// The match `n`/`N` went to: its line number, and how many matching lines are at or
    /// before it.
    pub current: Option<(u64, usize)>,
}

impl Search {
    /// `None` for an empty search; an error for a bad regular expression.
    pub fn parse(text: &str) -> Result<Option<Search>, String> {
        let text: String = text.chars().take(MAX_SEARCH_CHARS).collect();
        let (pattern, regex) = match text.strip_prefix("re:") {
            Some(p) => (p.to_string(), true),
            None => (regex::escape(&text), false),
        };
        if pattern.is_empty() || (!regex && text.trim().is_empty()) {
            return Ok(None);
        }
        let smart = !text.chars().any(char::is_uppercase);
        let built = regex::RegexBuilder::new(&pattern)
            .case_insensitive(smart)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("not a regular expression: {e}"))?;
        let matcher = if regex {
            Matcher::Regex(built)
        } else {
            Matcher::Plain(built)
        };
        Ok(Some(Search {
            text,
            matcher,
            lines: 0,
            current: None,
        }))
    }

    fn regex(&self) -> &regex::Regex {
        match &self.matcher {
            Matcher::Plain(r) | Matcher::Regex(r) => r,
        }
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_match(text)
    }

    /// Byte ranges of the matches in `text` (none empty).
    pub fn ranges<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.regex()
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .map(|m| (m.start(), m.end()))
    }
}

/// What one stream (a container of a pod) last said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamState {
    pub info: StreamInfo,
    pub trouble: Option<String>,
    pub note: Option<String>,
    /// Why it ended, once it did.
    pub ended: Option<String>,
}

/// How the view's lines are laid out: what `update` needs to scroll by pages and to know
/// what is on screen, measured by the view at the current size.
pub struct Geometry<'a> {
    /// Rows of log lines the view shows.
    pub height: usize,
    /// Rows one line takes (1 unless wrapping).
    pub rows: &'a dyn Fn(&LogLine) -> usize,
}

#[derive(Debug, Clone)]
pub struct LogsModel {
    /// Matches the reader's messages; anything else is for an earlier request.
    pub id: u64,
    pub request: LogRequest,
    /// Where Esc goes: the view and its own way back, as they were when this opened.
    pub back: Option<(View, Option<View>)>,
    /// The pod being read, once known (a Deployment's newest Ready pod, looked up).
    pub pod: Option<String>,
    pub containers: Vec<ContainerName>,
    /// The container read, once known.
    pub container: Option<String>,
    /// The picker is open, on this entry of `containers`.
    pub picker: Option<usize>,
    /// The container the pod names as its default (`kubectl.kubernetes.io/default-container`).
    pub default_container: Option<String>,
    pub streams: BTreeMap<u32, StreamState>,
    pub ring: LogRing,
    /// Lines cut at [`LINE_CAP`], and lines that were not UTF-8.
    pub cut_lines: u64,
    pub not_utf8_lines: u64,
    /// The view shows the newest lines as they come; scrolling up pauses it.
    pub follow: bool,
    /// The first line shown while paused.
    pub top: u64,
    /// Columns skipped on the left while not wrapping.
    pub hscroll: usize,
    pub wrap: bool,
    pub timestamps: bool,
    pub search: Option<Search>,
    /// `/` typed, not yet applied.
    pub search_input: Option<String>,
    pub search_error: Option<String>,
    /// A rollout put this pod in place of the one read.
    pub replaced_by: Option<String>,
    /// Nothing will come: why.
    pub refused: Option<String>,
    pub cluster_trouble: BTreeMap<usize, String>,
    /// Every stream of a read without follow ended.
    pub done: bool,
    /// Where `s` last saved the buffer.
    pub saved: Option<String>,
}

impl LogsModel {
    pub fn new(id: u64, request: LogRequest) -> LogsModel {
        let container = match &request {
            LogRequest::Pod { target, .. } => target.container.clone(),
            LogRequest::Selector { container, .. } => container.clone(),
        };
        let pod = match &request {
            LogRequest::Pod {
                target:
                    PodLogTarget {
                        pod: PodRef::Pod(name),
                        ..
                    },
                ..
            } => Some(name.clone()),
            _ => None,
        };
        LogsModel {
            id,
            request,
            back: None,
            pod,
            containers: Vec::new(),
            container,
            picker: None,
            default_container: None,
            streams: BTreeMap::new(),
            ring: LogRing::default(),
            cut_lines: 0,
            not_utf8_lines: 0,
            follow: true,
            top: 0,
            hscroll: 0,
            wrap: false,
            timestamps: false,
            search: None,
            search_input: None,
            search_error: None,
            replaced_by: None,
            refused: None,
            cluster_trouble: BTreeMap::new(),
            done: false,
            saved: None,
        }
    }

    /// The view's own request for one pod: the last [`FIRST_LINES`] lines, then follow;
    /// a previous container is read once.
    pub fn view_request(target: PodLogTarget) -> LogRequest {
        let window = LogWindow {
            follow: !target.previous,
            tail: Some(FIRST_LINES),
            since_seconds: None,
        };
        LogRequest::Pod { target, window }
    }

    pub fn target(&self) -> Option<&PodLogTarget> {
        match &self.request {
            LogRequest::Pod { target, .. } => Some(target),
            LogRequest::Selector { .. } => None,
        }
    }

    pub fn previous(&self) -> bool {
        match &self.request {
            LogRequest::Pod { target, .. } => target.previous,
            LogRequest::Selector { previous, .. } => *previous,
        }
    }

    /// The same pod read another way (another container, its previous run, a replacing
    /// pod): a new request that keeps how the view looks and where it goes back to.
    pub fn switched(&self, id: u64, target: PodLogTarget) -> LogsModel {
        let same_pod = self.target().is_some_and(|t| t.pod == target.pod);
        let mut next = LogsModel::new(id, LogsModel::view_request(target));
        next.back = self.back;
        next.wrap = self.wrap;
        next.timestamps = self.timestamps;
        next.search = self.search.clone().map(|mut s| {
            s.lines = 0;
            s.current = None;
            s
        });
        if same_pod {
            next.containers = self.containers.clone();
            next.pod = next.pod.or_else(|| self.pod.clone());
        }
        next
    }

    /// Folds in one message from the reader; returns a notice for the footer, if any.
    pub fn apply(&mut self, msg: LogMsg) -> Option<String> {
        if msg.id != self.id {
            return None;
        }
        match msg.news {
            LogNews::Pod {
                name,
                containers,
                chosen,
                default,
            } => {
                self.pod = Some(name);
                if chosen.is_none() && containers.len() > 1 {
                    let at = default
                        .as_ref()
                        .and_then(|d| containers.iter().position(|c| &c.name == d));
                    self.picker = Some(at.unwrap_or(0));
                }
                self.containers = containers;
                self.default_container = default;
                if chosen.is_some() {
                    self.container = chosen;
                }
            }
            LogNews::Stream { stream, info } => {
                self.streams.insert(
                    stream,
                    StreamState {
                        info,
                        trouble: None,
                        note: None,
                        ended: None,
                    },
                );
            }
            LogNews::Lines { lines, .. } => {
                for line in lines {
                    self.push(line);
                }
            }
            LogNews::Connected { stream } => {
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.trouble = None;
                    s.note = None;
                }
            }
            LogNews::Trouble { stream, why } => {
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.trouble = Some(why);
                }
            }
            LogNews::Note { stream, text } => {
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.note = Some(text);
                }
            }
            LogNews::Ended { stream, why } => {
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.ended = Some(why);
                    s.trouble = None;
                }
            }
            LogNews::Replaced { by } => self.replaced_by = Some(by),
            LogNews::Refused(why) => self.refused = Some(why),
            LogNews::ClusterTrouble { cluster, why } => {
                self.cluster_trouble.insert(cluster, why);
            }
            LogNews::Done => self.done = true,
            LogNews::Saved { path, lines } => {
                let said = format!("saved {lines} lines to {path}");
                self.saved = Some(path);
                return Some(said);
            }
            LogNews::SaveFailed(why) => return Some(format!("could not save the log: {why}")),
        }
        None
    }

    /// Keeps `line`, counting what falls out, in the search too.
    pub fn push(&mut self, line: LogLine) {
        self.cut_lines += u64::from(line.cut > 0);
        self.not_utf8_lines += u64::from(line.not_utf8);
        let search = &mut self.search;
        if let Some(s) = search.as_mut()
            && s.is_match(&line.text)
        {
            s.lines += 1;
        }
        self.ring.push(line, |seq, old| {
            if let Some(s) = search.as_mut()
                && s.is_match(&old.text)
            {
                s.lines = s.lines.saturating_sub(1);
                s.current = match s.current {
                    Some((at, _)) if at == seq => None,
                    Some((at, rank)) => Some((at, rank.saturating_sub(1))),
                    None => None,
                };
            }
        });
    }

    /// The stream of the one-pod view (the only one).
    pub fn stream(&self) -> Option<&StreamState> {
        self.streams.values().next_back()
    }

    /// The first line shown when following: the newest lines, bottom-aligned.
    pub fn bottom_top(&self, g: &Geometry) -> u64 {
        let mut used = 0;
        let mut top = self.ring.end();
        for (seq, line) in self.ring.before(self.ring.end()) {
            let rows = (g.rows)(line).max(1);
            if used > 0 && used + rows > g.height {
                break;
            }
            used += rows;
            top = seq;
            if used >= g.height {
                break;
            }
        }
        top
    }

    /// The first line shown.
    pub fn shown_top(&self, g: &Geometry) -> u64 {
        let bottom = self.bottom_top(g);
        if self.follow {
            bottom
        } else {
            self.top
                .clamp(self.ring.first(), bottom.max(self.ring.first()))
        }
    }

    /// One past the last line shown, from `top`.
    pub fn shown_end(&self, top: u64, g: &Geometry) -> u64 {
        let mut used = 0;
        let mut end = top;
        for (seq, line) in self.ring.from(top) {
            if used >= g.height {
                break;
            }
            used += (g.rows)(line).max(1);
            end = seq + 1;
        }
        end
    }

    /// Moves by `delta` lines; moving up (or anywhere, while following) pauses the view.
    pub fn scroll(&mut self, delta: i64, g: &Geometry) {
        let top = self.shown_top(g);
        let bottom = self.bottom_top(g).max(self.ring.first());
        let moved = top
            .saturating_add_signed(delta)
            .clamp(self.ring.first(), bottom);
        if delta < 0 || !self.follow {
            self.follow = false;
            self.top = moved;
        }
    }

    pub fn to_top(&mut self) {
        self.follow = false;
        self.top = self.ring.first();
    }

    /// `G`: the newest lines again, following.
    pub fn follow_again(&mut self) {
        self.follow = true;
    }

    /// Lines that arrived below what a paused view shows.
    pub fn below(&self, g: &Geometry) -> u64 {
        let top = self.shown_top(g);
        self.ring.end().saturating_sub(self.shown_end(top, g))
    }

    /// Applies the search typed: highlights, counts, and goes to the newest match unless
    /// one is on screen already. An empty search clears it.
    pub fn set_search(&mut self, text: &str, g: &Geometry) -> Result<(), String> {
        let Some(mut search) = Search::parse(text)? else {
            self.search = None;
            return Ok(());
        };
        search.lines = self
            .ring
            .from(0)
            .filter(|(_, l)| search.is_match(&l.text))
            .count();
        self.search = Some(search);
        self.go_to_match(false, g);
        Ok(())
    }

    /// `n` (newer, `forward`) / `N` (older): the next matching line from the current match
    /// (or from what is on screen). False when there is none that way.
    pub fn next_match(&mut self, forward: bool, g: &Geometry) -> bool {
        self.go_to_match(forward, g)
    }

    fn go_to_match(&mut self, forward: bool, g: &Geometry) -> bool {
        let Some(search) = self.search.as_ref() else {
            return false;
        };
        let top = self.shown_top(g);
        let end = self.shown_end(top, g);
        let current = search.current.map(|(at, _)| at);
        let found = match (forward, current) {
            (true, Some(at)) => self
                .ring
                .from(at + 1)
                .find(|(_, l)| search.is_match(&l.text)),
            (false, Some(at)) => self.ring.before(at).find(|(_, l)| search.is_match(&l.text)),
            // The first search: the newest match, on screen if there is one there.
            (_, None) => self
                .ring
                .before(end)
                .find(|(_, l)| search.is_match(&l.text))
                .or_else(|| {
                    self.ring
                        .from(end)
                        .rev()
                        .find(|(_, l)| search.is_match(&l.text))
                }),
        };
        let Some((seq, _)) = found.map(|(seq, l)| (seq, l.text.len())) else {
            return false;
        };
        let rank = self
            .ring
            .from(0)
            .take_while(|(s, _)| *s <= seq)
            .filter(|(_, l)| search.is_match(&l.text))
            .count();
        if let Some(s) = self.search.as_mut() {
            s.current = Some((seq, rank));
        }
        if seq < top || seq >= end {
            // Off screen: a third of the way down, paused there.
            self.follow = false;
            let bottom = self.bottom_top(g).max(self.ring.first());
            self.top = seq
                .saturating_sub((g.height / 3) as u64)
                .clamp(self.ring.first(), bottom);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> LogLine {
        LogLine {
            stream: 0,
            at: None,
            text: text.into(),
            cut: 0,
            not_utf8: false,
        }
    }

    fn one_row(_: &LogLine) -> usize {
        1
    }

    fn model() -> LogsModel {
        let target = PodLogTarget {
            cluster: 0,
            namespace: "ns".into(),
            pod: PodRef::Pod("p".into()),
            container: Some("c".into()),
            previous: false,
        };
        LogsModel::new(1, LogsModel::view_request(target))
    }

    #[test]
    fn the_ring_keeps_fifty_thousand_lines_and_counts_the_rest() {
        let mut m = model();
        for i in 0..(MAX_LINES + 1234) {
            m.push(line(&format!("line {i}")));
        }
        assert_eq!(m.ring.len(), MAX_LINES);
        assert_eq!(m.ring.dropped, 1234);
        assert_eq!(m.ring.first(), 1234);
        assert_eq!(m.ring.get(1234).map(|l| l.text.as_str()), Some("line 1234"));
        assert_eq!(m.ring.get(1233), None, "fell out");
        assert_eq!(
            m.ring
                .before(m.ring.end())
                .next()
                .map(|(s, l)| (s, l.text.clone())),
            Some((51_233, "line 51233".to_string()))
        );
    }

    #[test]
    fn the_ring_is_bounded_in_bytes_too() {
        let mut ring = LogRing::new(1000, 10 * 1024);
        for _ in 0..100 {
            ring.push(line(&"x".repeat(1024)), |_, _| {});
        }
        assert!(ring.bytes() <= 10 * 1024, "{}", ring.bytes());
        assert!(ring.len() < 10);
        assert_eq!(ring.dropped as usize + ring.len(), 100);
    }

    #[test]
    fn a_paused_view_stays_on_its_lines_and_g_follows_again() {
        let mut m = model();
        for i in 0..100 {
            m.push(line(&format!("{i}")));
        }
        let g = Geometry {
            height: 10,
            rows: &one_row,
        };
        assert_eq!(m.shown_top(&g), 90, "following: the last page");
        m.scroll(-5, &g);
        assert!(!m.follow, "scrolling up pauses");
        assert_eq!(m.shown_top(&g), 85);
        for i in 100..120 {
            m.push(line(&format!("{i}")));
        }
        assert_eq!(m.shown_top(&g), 85, "new lines do not move a paused view");
        assert_eq!(m.below(&g), 25);
        m.scroll(1000, &g);
        assert_eq!(m.shown_top(&g), 110, "down to the end, no further");
        assert!(!m.follow, "only G follows again");
        m.follow_again();
        m.push(line("121"));
        assert_eq!(m.shown_top(&g), 111);
        m.to_top();
        assert_eq!(m.shown_top(&g), 0);
    }

    #[test]
    fn tall_lines_fill_the_page_from_the_bottom() {
        let mut m = model();
        for i in 0..10 {
            m.push(line(&format!("{i}")));
        }
        let rows = |l: &LogLine| if l.text == "8" { 4 } else { 1 };
        let g = Geometry {
            height: 6,
            rows: &rows,
        };
        // 9 (1 row) + 8 (4 rows) + 7 (1 row) = 6 rows.
        assert_eq!(m.bottom_top(&g), 7);
        assert_eq!(m.shown_end(7, &g), 10);
    }

    #[test]
    fn search_counts_goes_to_matches_and_follows_the_ring() {
        let mut m = model();
        for i in 0..100 {
            let text = if i % 10 == 3 {
                format!("{i} EXFIL RECEIVED")
            } else {
                format!("{i} ok")
            };
            m.push(line(&text));
        }
        let g = Geometry {
            height: 5,
            rows: &one_row,
        };
        m.set_search("exfil", &g).expect("search");
        let s = m.search.as_ref().expect("search set");
        assert_eq!(s.lines, 10, "smart case: lower case matches any case");
        assert_eq!(s.current, Some((93, 10)), "the newest match, off screen");
        assert!(!m.follow);
        assert!(m.next_match(false, &g));
        assert_eq!(m.search.as_ref().and_then(|s| s.current), Some((83, 9)));
        assert!(m.next_match(true, &g));
        assert!(!m.next_match(true, &g), "no newer match");
        m.set_search("Exfil", &g).expect("search");
        assert_eq!(
            m.search.as_ref().map(|s| s.lines),
            Some(0),
            "a capital: exact case"
        );
        m.set_search("re:^[0-9]+3 EX", &g).expect("regex");
        assert_eq!(m.search.as_ref().map(|s| s.lines), Some(9));
        assert!(m.set_search("re:(", &g).is_err());
        m.set_search("", &g).expect("clears");
        assert!(m.search.is_none());
    }

    #[test]
    fn search_counts_stay_right_as_lines_fall_out() {
        let mut m = model();
        m.ring = LogRing::new(10, MAX_BYTES);
        m.set_search(
            "hit",
            &Geometry {
                height: 5,
                rows: &one_row,
            },
        )
        .expect("search");
        for i in 0..25 {
            m.push(line(if i % 2 == 0 { "hit" } else { "miss" }));
        }
        let kept = m.ring.from(0).filter(|(_, l)| l.text == "hit").count();
        assert_eq!(m.search.as_ref().map(|s| s.lines), Some(kept));
    }
}
