//! Small text helpers shared by panes.

use chrono::{DateTime, FixedOffset, Utc};

/// kubectl-style age: `45s`, `12m`, `5h`, `3d`.
pub fn age(created: Option<DateTime<Utc>>, now: DateTime<FixedOffset>) -> String {
    let Some(created) = created else {
        return "-".to_string();
    };
    let secs = (now.with_timezone(&Utc) - created).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 120 * 60 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Cuts `s` to at most `width` columns, marking the cut with `…`. Keeps the tail when
/// `keep_tail` is set (pod names differ in their last characters).
pub fn fit(s: &str, width: usize, keep_tail: bool) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    if width == 1 {
        return "…".to_string();
    }
    if keep_tail && width > 8 {
        let tail = 5.min(width - 3);
        let head = width - 1 - tail;
        let head_part: String = s.chars().take(head).collect();
        let tail_part: String = s.chars().skip(count - tail).collect();
        format!("{head_part}…{tail_part}")
    } else {
        let head_part: String = s.chars().take(width - 1).collect();
        format!("{head_part}…")
    }
}

/// `s` padded with spaces (or cut) to exactly `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let cut = fit(s, width, false);
    let n = cut.chars().count();
    format!("{cut}{}", " ".repeat(width.saturating_sub(n)))
}

/// `text` broken into lines of at most `width` columns: at spaces where it can, inside a
/// word where it must. Wide characters count as two; an empty text is one empty line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar as _;
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0usize;
        for word in paragraph.split(' ') {
            let word_width: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
            let gap = usize::from(used > 0);
            if used + gap + word_width <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                used += gap + word_width;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > width && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// A time as the presenter's clock shows it, with how long ago: `10:02:03 (12m ago)`.
pub fn when(at: Option<DateTime<Utc>>, now: DateTime<FixedOffset>) -> String {
    match at {
        Some(t) => format!(
            "{} ({} ago)",
            t.with_timezone(now.offset()).format("%Y-%m-%d %H:%M:%S"),
            age(Some(t), now)
        ),
        None => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z").expect("t");
        let at = |s: &str| {
            Some(
                DateTime::parse_from_rfc3339(s)
                    .expect("t")
                    .with_timezone(&Utc),
            )
        };
        assert_eq!(age(at("2026-11-27T09:59:15Z"), now), "45s");
        assert_eq!(age(at("2026-11-27T09:48:00Z"), now), "12m");
        assert_eq!(age(at("2026-11-27T05:00:00Z"), now), "5h");
        assert_eq!(age(at("2026-11-20T10:00:00Z"), now), "7d");
        assert_eq!(age(at("2026-11-28T10:00:00Z"), now), "0s");
        assert_eq!(age(None, now), "-");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("abc", 5, true), "abc");
        assert_eq!(
            fit("currency-converter-7d9f8c6b5-x2k4q", 20, true),
            "currency-conve…x2k4q"
        );
        assert_eq!(fit("currency-converter", 8, false), "currenc…");
        assert_eq!(fit("ab", 0, false), "");
        assert_eq!(pad("ab", 4), "ab  ");
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(wrap("a\nb", 4), ["a", "b"]);
        assert_eq!(wrap("日本語です", 4), ["日本", "語で", "す"]);
        assert_eq!(wrap("x", 0), ["x"]);
    }
}
