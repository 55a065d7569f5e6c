//! Log lines as they come off the wire: bytes, each line capped at [`LINE_CAP`] (the rest of
//! an over-long line is read and thrown away, never buffered), decoded lossily, and made safe
//! to put on a terminal.

use std::borrow::Cow;

use futures::{AsyncBufRead, AsyncBufReadExt};

/// The longest line kept, timestamp included; the rest of a longer one is dropped.
pub const LINE_CAP: usize = 64 * 1024;

/// One line, without its newline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawLine {
    /// At most the reader's cap.
    pub bytes: Vec<u8>,
    /// Bytes past the cap, read and dropped.
    pub dropped: usize,
}

/// Reads newline-terminated lines from a log stream in bounded memory.
pub struct LineReader<R> {
    inner: R,
    cap: usize,
    /// The line being read: kept here, so a `next_line` dropped halfway loses nothing.
    partial: RawLine,
    /// Every byte read so far, dropped ones and newlines included (what `limitBytes` counts).
    pub read: u64,
    /// Bytes of an unfinished last line at the end of the stream, not returned: the stream
    /// was cut inside it, and a resumed read gets it whole.
    pub unfinished: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, cap: usize) -> Self {
        Self {
            inner,
            cap,
            partial: RawLine::default(),
            read: 0,
            unfinished: 0,
        }
    }

    /// The next whole line, `None` at the end of the stream. Cancel-safe: what was read
    /// of a line stays for the next call.
    pub async fn next_line(&mut self) -> std::io::Result<Option<RawLine>> {
        loop {
            let line = &mut self.partial;
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                self.unfinished = line.bytes.len() + line.dropped;
                return Ok(None);
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let part = &available[..newline.unwrap_or(available.len())];
            let room = self.cap.saturating_sub(line.bytes.len());
            let keep = room.min(part.len());
            line.bytes.extend_from_slice(&part[..keep]);
            line.dropped += part.len() - keep;
            let used = newline.map_or(available.len(), |i| i + 1);
            self.inner.consume_unpin(used);
            self.read += used as u64;
            if newline.is_some() {
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
        }
    }
}

/// `bytes` as text, invalid UTF-8 replaced with `�`; true when there was any. A line cut at
/// the cap may end inside a character: that tail is dropped, not counted as invalid.
pub fn decode(bytes: &[u8], cut: bool) -> (String, bool) {
    let bytes = if cut { whole_chars(bytes) } else { bytes };
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => (s.to_string(), false),
        Cow::Owned(s) => (s, true),
    }
}

/// `b` without an incomplete UTF-8 sequence at its end.
fn whole_chars(b: &[u8]) -> &[u8] {
    for back in 1..=b.len().min(4) {
        let byte = b[b.len() - back];
        if byte & 0xC0 != 0x80 {
            let width = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if width > back {
                &b[..b.len() - back]
            } else {
                b
            };
        }
    }
    b
}

/// `s` with nothing a terminal would act on: C0 controls (tab aside) become their visible
/// pictures (`␛`), DEL `␡`, C1 controls `�`. The text stays readable as data.
pub fn printable(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| (c.is_control() && c != '\t') || c == '\u{7f}';
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' => '\t',
                '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('�'),
                '\u{7f}' => '\u{2421}',
                c if c.is_control() => '�',
                c => c,
            })
            .collect(),
    )
}

/// `s` cut to at most `max` bytes on a character boundary, `…` marking a cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(
        input: &[u8],
        cap: usize,
        chunk: usize,
    ) -> (Vec<RawLine>, LineReader<impl AsyncBufRead + Unpin>) {
        // Arbitrary chunking, as a network delivers it.
        let chunks: Vec<std::io::Result<Vec<u8>>> =
            input.chunks(chunk.max(1)).map(|c| Ok(c.to_vec())).collect();
        let stream = futures::TryStreamExt::into_async_read(futures::stream::iter(chunks));
        let mut reader = LineReader::new(stream, cap);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.expect("read") {
            out.push(line);
        }
        (out, reader)
    }

    #[tokio::test]
    async fn lines_are_capped_and_the_rest_counted() {
        for chunk in [1, 3, 7, 1000] {
            let (got, reader) = lines(b"short\n0123456789abcdef\n\nend", 8, chunk).await;
            let want = [("short", 0), ("01234567", 8), ("", 0)];
            assert_eq!(got.len(), 3, "chunk {chunk}");
            for (line, (bytes, dropped)) in got.iter().zip(want) {
                assert_eq!(line.bytes, bytes.as_bytes());
                assert_eq!(line.dropped, dropped);
            }
            assert_eq!(reader.unfinished, 3, "the cut last line is not returned");
            assert_eq!(reader.read, 27, "every byte, the unfinished line too");
        }
    }

    #[test]
    fn decoding_is_lossy_and_a_cut_character_is_not_an_error() {
        assert_eq!(decode(b"ok", false), ("ok".to_string(), false));
        assert_eq!(decode(b"a\xffb", false), ("a\u{fffd}b".to_string(), true));
        let fox = "🦊".as_bytes();
        assert_eq!(decode(&fox[..3], true), (String::new(), false));
        assert!(decode(&fox[..3], false).1);
        assert_eq!(decode(fox, true), ("🦊".to_string(), false));
    }

    #[test]
    fn nothing_a_terminal_acts_on_survives() {
        let s = printable("a\u{1b}[31mred\u{7}\tb\u{7f}\u{9b}c\r");
        assert_eq!(s, "a␛[31mred␇\tb␡�c␍");
        assert!(matches!(printable("plain 🚨"), Cow::Borrowed(_)));
        assert!(!s.chars().any(|c| c.is_control() && c != '\t'));
    }

    #[test]
    fn shortening_marks_the_cut() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 5), "ab…");
        assert_eq!(shorten("ééé", 5), "é…");
    }
}
