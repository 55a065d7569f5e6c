//! Text from the wire made inert before it reaches a terminal or a log: a pod name, an agent's
//! reply, a tool's result or a script's output can carry escape sequences (OSC 52 clipboard
//! writes, cursor moves that hide lines, title changes). The TUI is safe already — ratatui
//! drops control characters cell by cell — so this is for what is printed as it is: the
//! headless commands, their `--json`, and the log file.

use std::fmt::Write as _;
use std::io;

/// Stands for a removed escape sequence, so the reader sees that something was there.
const ESCAPE_MARK: char = '␛';

/// `text` with every control character made visible and harmless: `\n` and `\t` stay; an
/// escape sequence (ESC or 8-bit CSI/OSC/DCS…, with its parameters and string) becomes one
/// `␛`; other C0 characters become their Control Pictures (`␍` for CR, so a carriage return
/// cannot overwrite a line); DEL becomes `␡`; other C1 characters `�`.
pub fn inert(text: &str) -> String {
    if !text.chars().any(needs_care) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => {
                out.push(ESCAPE_MARK);
                match chars.peek().copied() {
                    Some('[') => {
                        chars.next();
                        skip_csi(&mut chars);
                    }
                    Some(']' | 'P' | 'X' | '^' | '_') => {
                        chars.next();
                        skip_string(&mut chars);
                    }
                    // A two-character sequence (ESC 7, ESC c …).
                    Some(_) => {
                        chars.next();
                    }
                    None => {}
                }
            }
            '\u{9b}' => {
                out.push(ESCAPE_MARK);
                skip_csi(&mut chars);
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                out.push(ESCAPE_MARK);
                skip_string(&mut chars);
            }
            '\u{7f}' => out.push('␡'),
            c if (c as u32) < 0x20 => {
                // U+2400 CONTROL PICTURE FOR NULL onwards, in order.
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�'));
            }
            c if ('\u{80}'..='\u{9f}').contains(&c) => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

fn needs_care(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}'
}

/// CSI parameters and intermediates up to and including the final byte (0x40–0x7e).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        // Anything outside a sequence's alphabet ends it too (a broken sequence).
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

/// An OSC/DCS/SOS/PM/APC string up to BEL or ST (`ESC \` or 0x9c).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Pretty JSON with DEL and C1 escaped too (`\u007f`, `\u009b`): serde_json escapes only
/// C0, and a terminal that shows the JSON would still obey an 8-bit CSI.
pub fn json_pretty(value: &impl serde::Serialize) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        InertFormatter(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut ser)?;
    // serde_json writes only valid UTF-8.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

struct InertFormatter(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for InertFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(|c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c))
        {
            writer.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().unwrap_or('\u{7f}');
            let mut escaped = String::new();
            let _ = write!(escaped, "\\u{:04x}", c as u32);
            writer.write_all(escaped.as_bytes())?;
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // Everything else as the pretty formatter does it.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// A writer that makes what passes through it inert (the log file): whole UTF-8 text per
/// write, which is how the log's non-blocking writer hands over each event.
pub struct InertWriter<W>(pub W);

impl<W: io::Write> io::Write for InertWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(inert(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_passes_unchanged() {
        let text = "£4,287.55 ≈ $5,445.19\n\tsupport-bot → account-mcp";
        assert_eq!(inert(text), text);
    }

    #[test]
    fn escape_sequences_and_controls_are_made_visible() {
        // OSC 52 writes the clipboard; CSI moves the cursor up and clears the line.
        let poisoned =
            "ok\u{1b}]52;c;ZXZpbA==\u{7}then\u{1b}[2A\u{1b}[2Khidden\r\u{7f}x\u{9b}31mred\u{85}";
        assert_eq!(inert(poisoned), "ok␛then␛␛hidden␍␡x␛red�");
        assert_eq!(
            inert("a\u{1b}]0;title\u{1b}\\b"),
            "a␛b",
            "ST-terminated OSC"
        );
        assert_eq!(inert("bell\u{7}"), "bell␇");
        assert_eq!(inert("\u{1b}"), "␛");
        assert_eq!(inert("\u{1b}[31"), "␛", "a cut sequence is dropped whole");
        assert!(!inert(poisoned).chars().any(needs_care));
    }

    #[test]
    fn json_escapes_del_and_c1_too() {
        let v = serde_json::json!({"reply": "x\u{7f}\u{9b}31m\u{1b}[2J"});
        let text = json_pretty(&v).unwrap();
        assert!(text.contains(r#""x\u007f\u009b31m\u001b[2J""#), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn the_log_writer_passes_inert_text() {
        use std::io::Write as _;
        let mut w = InertWriter(Vec::new());
        w.write_all(b"error=\"\x1b]52;c;eA==\x07\" \xff\n").unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), "error=\"␛\" �\n");
    }
}
