//! The asciicast v2 file: a header line, then one JSON array per event — `o` output, `r`
//! resize, `m` marker — timed in seconds since the recording began (monotonic). Every event
//! is flushed as it is written, so a crash keeps what was recorded. A write that fails ends
//! the recording (nothing more is written) and is reported once through [`Cast::failure`].
//!
//! Output is JSON text, so it must be UTF-8: a multi-byte character that arrives split
//! across two writes is held until it is whole (never split across events); bytes that can
//! never be UTF-8 are written as U+FFFD (the renderer only ever writes UTF-8).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use serde_json::json;

/// What the header says about the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub width: u16,
    pub height: u16,
    /// Unix time (seconds) when the recording began.
    pub timestamp: i64,
    pub title: String,
    /// `TERM` and `SHELL`, when set.
    pub env: Vec<(String, String)>,
}

impl Header {
    /// The header line (no newline).
    pub fn to_json(&self) -> String {
        let env: serde_json::Map<String, serde_json::Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "version": 2,
            "width": self.width,
            "height": self.height,
            "timestamp": self.timestamp,
            "title": self.title,
            "env": env,
        })
        .to_string()
    }
}

pub struct Cast<W: Write> {
    /// `None` once a write failed: the recording has stopped.
    out: Option<W>,
    clock: Box<dyn FnMut() -> Duration + Send>,
    /// The newest event's time: later events never go back before it.
    last: Duration,
    /// The start of a UTF-8 sequence whose remaining bytes have not been written yet.
    tail: Vec<u8>,
    failure: Option<String>,
}

impl<W: Write> Cast<W> {
    /// Writes the header to `out`; times are read off a monotonic clock from now on.
    pub fn start(out: W, header: &Header) -> io::Result<Cast<W>> {
        let started = Instant::now();
        Cast::start_with_clock(out, header, Box::new(move || started.elapsed()))
    }

    /// [`Cast::start`] with another clock (time since start), for tests.
    pub fn start_with_clock(
        mut out: W,
        header: &Header,
        clock: Box<dyn FnMut() -> Duration + Send>,
    ) -> io::Result<Cast<W>> {
        writeln!(out, "{}", header.to_json())?;
        out.flush()?;
        Ok(Cast {
            out: Some(out),
            clock,
            last: Duration::ZERO,
            tail: Vec::new(),
            failure: None,
        })
    }

    /// Bytes written to the terminal: one `o` event with every complete character.
    pub fn output(&mut self, bytes: &[u8]) {
        if self.out.is_none() {
            return;
        }
        let mut pending = std::mem::take(&mut self.tail);
        pending.extend_from_slice(bytes);
        let (text, tail) = complete_utf8(&pending);
        self.tail = tail.to_vec();
        if !text.is_empty() {
            self.event("o", &text);
        }
    }

    /// The terminal is now `width`×`height`.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.event("r", &format!("{width}x{height}"));
    }

    pub fn marker(&mut self, label: &str) {
        self.event("m", label);
    }

    /// Why the recording stopped, the first time it is asked after a failure.
    pub fn failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    /// Still writing (no write has failed).
    pub fn recording(&self) -> bool {
        self.out.is_some()
    }

    /// Writes out a held partial character (as U+FFFD: it will never be completed); the
    /// recording ends. The writer, unless a write failed.
    pub fn finish(&mut self) -> Option<W> {
        if !self.tail.is_empty() {
            let tail = std::mem::take(&mut self.tail);
            self.event("o", &String::from_utf8_lossy(&tail));
        }
        self.out.take()
    }

    fn event(&mut self, code: &str, data: &str) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let now = (self.clock)().max(self.last);
        self.last = now;
        let data = serde_json::Value::String(data.to_string());
        let written = writeln!(out, "[{:.6}, \"{code}\", {data}]", now.as_secs_f64())
            .and_then(|()| out.flush());
        if let Err(e) = written {
            self.failure = Some(e.to_string());
            self.out = None;
        }
    }
}

/// The longest prefix of `bytes` that is whole UTF-8 characters (invalid bytes become
/// U+FFFD), and the start of a character that may still be completed.
fn complete_utf8(bytes: &[u8]) -> (String, &[u8]) {
    let mut text = String::new();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                return (text, &[]);
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                text.push_str(&String::from_utf8_lossy(valid));
                match e.error_len() {
                    None => return (text, after),
                    Some(n) => {
                        text.push('\u{FFFD}');
                        rest = &after[n..];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn header() -> Header {
        Header {
            width: 80,
            height: 24,
            timestamp: 1_700_000_000,
            title: "control-room".into(),
            env: vec![("TERM".into(), "xterm-256color".into())],
        }
    }

    /// A cast into memory, on a clock that moves 10 ms per event.
    fn cast() -> Cast<Vec<u8>> {
        let mut t = Duration::ZERO;
        Cast::start_with_clock(
            Vec::new(),
            &header(),
            Box::new(move || {
                t += Duration::from_millis(10);
                t
            }),
        )
        .unwrap()
    }

    fn events(cast: &Cast<Vec<u8>>) -> Vec<serde_json::Value> {
        let text = std::str::from_utf8(cast.out.as_ref().unwrap()).unwrap();
        text.lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn output_bytes(events: &[serde_json::Value]) -> Vec<u8> {
        events
            .iter()
            .filter(|e| e[1] == "o")
            .flat_map(|e| e[2].as_str().unwrap().as_bytes().to_vec())
            .collect()
    }

    #[test]
    fn the_header_is_asciicast_v2() {
        let cast = cast();
        let text = String::from_utf8(cast.out.clone().unwrap()).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["version"], 2);
        assert_eq!(
            (first["width"].as_u64(), first["height"].as_u64()),
            (Some(80), Some(24))
        );
        assert_eq!(first["timestamp"], 1_700_000_000);
        assert_eq!(first["title"], "control-room");
        assert_eq!(first["env"]["TERM"], "xterm-256color");
    }

    #[test]
    fn a_character_split_across_writes_is_held_until_whole() {
        let mut cast = cast();
        let text = "£4,287.55 ≈ $5,445.19 ⠋";
        let bytes = text.as_bytes();
        // Every split point, including those inside the two- and three-byte characters.
        for cut in 0..=bytes.len() {
            let mut c = self::cast();
            c.output(&bytes[..cut]);
            c.output(&bytes[cut..]);
            let evs = events(&c);
            assert_eq!(output_bytes(&evs), bytes, "cut at {cut}");
            for e in &evs {
                assert!(!e[2].as_str().unwrap().contains('\u{FFFD}'), "cut at {cut}");
            }
        }
        // One byte at a time: nothing is written until a character is whole.
        for b in "≈".as_bytes() {
            cast.output(std::slice::from_ref(b));
        }
        let evs = events(&cast);
        assert_eq!(evs.len(), 1, "{evs:?}");
        assert_eq!(evs[0][2], "≈");
    }

    #[test]
    fn control_bytes_are_escaped_and_come_back_exact() {
        let mut cast = cast();
        let mut bytes: Vec<u8> = (0u8..0x20).collect();
        bytes.extend_from_slice(b"\x7f\x1b[38;5;196m\"quoted\" \\back\\ \x1b]52;c;aGk=\x07");
        cast.output(&bytes);
        let raw = String::from_utf8(cast.out.clone().unwrap()).unwrap();
        let line = raw.lines().nth(1).unwrap();
        assert!(
            !line.bytes().any(|b| b < 0x20),
            "no raw control byte in the file: {line:?}"
        );
        let evs = events(&cast);
        assert_eq!(output_bytes(&evs), bytes);
    }

    #[test]
    fn bytes_that_are_never_utf8_become_replacement_characters() {
        let mut cast = cast();
        cast.output(b"a\xffb\xe2\x89");
        cast.output(b"c");
        let evs = events(&cast);
        let text: String = evs.iter().map(|e| e[2].as_str().unwrap()).collect();
        assert_eq!(text, "a\u{FFFD}b\u{FFFD}c");
        // A character still incomplete at the end is not lost: it ends the file as U+FFFD.
        let mut held = self::cast();
        held.output(b"x\xe2\x89");
        let out = String::from_utf8(held.finish().unwrap()).unwrap();
        let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(last[2], "\u{FFFD}");
    }

    #[test]
    fn events_are_timed_monotonically_with_their_codes() {
        // A clock that goes back must not make the file go back.
        let times = Arc::new(Mutex::new(vec![30u64, 10, 20, 40]));
        let clock = times.clone();
        let mut cast = Cast::start_with_clock(
            Vec::new(),
            &header(),
            Box::new(move || Duration::from_millis(clock.lock().unwrap().remove(0))),
        )
        .unwrap();
        cast.output(b"one");
        cast.resize(120, 36);
        cast.marker("ACT 2 \u{b7} compromised");
        cast.output(b"two");
        let evs = events(&cast);
        let codes: Vec<&str> = evs.iter().map(|e| e[1].as_str().unwrap()).collect();
        assert_eq!(codes, ["o", "r", "m", "o"]);
        assert_eq!(evs[1][2], "120x36");
        assert_eq!(evs[2][2], "ACT 2 · compromised");
        let t: Vec<f64> = evs.iter().map(|e| e[0].as_f64().unwrap()).collect();
        assert_eq!(t, [0.03, 0.03, 0.03, 0.04]);
    }

    /// A disk that fills up: the recording stops, says why once, and writes nothing more.
    #[test]
    fn a_failed_write_stops_the_recording_and_is_reported_once() {
        /// Room for this many bytes.
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::other("No space left on device"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let room = header().to_json().len() + 1;
        let mut cast = Cast::start(Full(room), &header()).unwrap();
        assert!(cast.recording());
        cast.output(b"frame");
        assert!(!cast.recording());
        assert_eq!(cast.failure().as_deref(), Some("No space left on device"));
        assert_eq!(cast.failure(), None);
        cast.output(b"more");
        cast.marker("more");
        assert_eq!(cast.failure(), None);
    }
}
