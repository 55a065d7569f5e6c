//! The stolen record the mock-attacker prints after each event line: a JSON object over
//! several lines, collected until its braces balance, within a bound of lines and bytes.

/// Lines of one record kept for the screen.
pub const RECORD_LINES: usize = 100;
/// Bytes of one record kept for the screen (a longer line is shortened to fit).
pub const RECORD_BYTES: usize = 16 * 1024;
/// A record that has not closed after this many lines is given up on (it is not JSON).
const GIVE_UP_LINES: usize = 1000;

/// The record being read, if any.
#[derive(Debug, Clone, Default)]
pub struct Record {
    open: bool,
    lines: Vec<String>,
    bytes: usize,
    /// Lines read but not kept (over the bound).
    dropped: usize,
    depth: i64,
    opened_brace: bool,
}

impl Record {
    /// An event line: a new record follows it. Returns the one still open, if it had lines.
    pub fn event(&mut self) -> Option<Vec<String>> {
        let done = self.finish();
        self.open = true;
        done
    }

    /// Any other line (already made printable). Returns the record once it is complete.
    pub fn line(&mut self, text: &str) -> Option<Vec<String>> {
        if !self.open {
            return None;
        }
        for c in text.chars() {
            match c {
                '{' => {
                    self.depth += 1;
                    self.opened_brace = true;
                }
                '}' => self.depth -= 1,
                _ => {}
            }
        }
        let room = RECORD_BYTES.saturating_sub(self.bytes);
        if self.lines.len() < RECORD_LINES && room > 0 {
            let kept = crate::sources::logs::lines::shorten(text, room);
            self.bytes += kept.len();
            self.lines.push(kept);
        } else {
            self.dropped += 1;
        }
        // The record is a JSON object: it ends where its braces balance.
        let closed = text.trim_start().starts_with('}')
            && (self.opened_brace && self.depth <= 0 || !self.opened_brace && self.depth < 0);
        if closed || self.lines.len() + self.dropped >= GIVE_UP_LINES {
            return self.finish();
        }
        None
    }

    fn finish(&mut self) -> Option<Vec<String>> {
        let was = std::mem::take(self);
        if !was.open || was.lines.is_empty() {
            return None;
        }
        let mut lines = was.lines;
        if was.dropped > 0 {
            lines.push(format!("… {} more lines not shown", was.dropped));
        }
        Some(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_ends_where_its_braces_balance() {
        let mut r = Record::default();
        assert_eq!(r.line("before any event"), None);
        assert_eq!(r.event(), None);
        assert_eq!(r.line("{"), None);
        assert_eq!(r.line("  \"stolen_data\": {"), None);
        assert_eq!(r.line("  },"), None);
        assert_eq!(
            r.line("}"),
            Some(vec![
                "{".into(),
                "  \"stolen_data\": {".into(),
                "  },".into(),
                "}".into()
            ])
        );
        assert_eq!(r.line("after"), None);
    }

    #[test]
    fn a_new_event_sends_the_unfinished_record() {
        let mut r = Record::default();
        r.event();
        r.line("{");
        assert_eq!(r.event(), Some(vec!["{".to_string()]));
    }

    #[test]
    fn records_are_bounded_in_lines_and_bytes() {
        let mut r = Record::default();
        r.event();
        r.line("{");
        let long = "x".repeat(RECORD_BYTES * 2);
        r.line(&long);
        for _ in 0..RECORD_LINES * 3 {
            r.line("  \"k\": 1,");
        }
        let lines = r.line("}").expect("closed");
        assert!(lines.len() <= RECORD_LINES + 1);
        let bytes: usize = lines[..lines.len() - 1].iter().map(String::len).sum();
        assert!(bytes <= RECORD_BYTES, "{bytes}");
        assert!(lines[1].ends_with('…'));
        assert!(
            lines
                .last()
                .is_some_and(|l| l.contains("more lines not shown"))
        );

        // Never closing: given up on, bounded all the same.
        let mut r = Record::default();
        r.event();
        let gave_up = (0..GIVE_UP_LINES).find_map(|_| r.line("{ not json"));
        assert!(gave_up.is_some_and(|l| l.len() <= RECORD_LINES + 1));
    }
}
