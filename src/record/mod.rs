//! `--record FILE.cast`: the screen as an asciicast v2 recording, written while it is drawn.
//! The terminal's writer is teed ([`Tee`]): each frame's bytes, exactly as the terminal got
//! them, become one `o` event when the renderer flushes. After each frame a
//! [`Recorder`] (the app's frame observer) adds an `r` event when the size changed and the
//! `m` markers for what changed in the model ([`markers`]). A write that fails stops the
//! recording and is reported on screen; the TUI goes on.

pub mod cast;
pub mod markers;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;

use crate::app::FrameObserver;
use crate::model::Model;
use crate::msg::Msg;
pub use cast::{Cast, Header};
pub use markers::Marks;

/// A frame bigger than this is written out in parts (a terminal of 240×70 with every cell
/// styled is well under it).
const MAX_FRAME: usize = 1 << 20;

type Shared = Arc<Mutex<Cast<Box<dyn Write + Send>>>>;

/// A recording under way: the cast file, shared by the teed terminal writer and the
/// recorder that adds resizes and markers.
pub struct Recording {
    cast: Shared,
    path: PathBuf,
    size: (u16, u16),
}

impl Recording {
    /// Creates `path` (0600, never through a symlink) and writes the header for a terminal
    /// of `size`.
    pub fn create(path: &Path, size: (u16, u16)) -> anyhow::Result<Recording> {
        let file = crate::files::replace_private(path)
            .with_context(|| format!("cannot record to {}", path.display()))?;
        let env = ["TERM", "SHELL"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        let header = Header {
            width: size.0,
            height: size.1,
            timestamp: chrono::Utc::now().timestamp(),
            title: "control-room".to_string(),
            env,
        };
        Recording::start(Box::new(BufWriter::new(file)), path, &header)
    }

    fn start(
        out: Box<dyn Write + Send>,
        path: &Path,
        header: &Header,
    ) -> anyhow::Result<Recording> {
        let cast = Cast::start(out, header)
            .with_context(|| format!("cannot record to {}", path.display()))?;
        Ok(Recording {
            cast: Arc::new(Mutex::new(cast)),
            path: path.to_path_buf(),
            size: (header.width, header.height),
        })
    }

    /// `terminal`, with everything written to it also recorded.
    pub fn tee<W: Write>(&self, terminal: W) -> Tee<W> {
        Tee::new(terminal, Some(self))
    }

    /// The observer that adds resizes and markers after each frame.
    pub fn recorder(&self) -> Recorder {
        Recorder {
            cast: self.cast.clone(),
            marks: Marks::new(chrono::Utc::now()),
            size: self.size,
            path: self.path.clone(),
        }
    }

    /// Ends the recording: whatever is held is written and flushed.
    pub fn finish(&self) {
        let mut cast = self.cast.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut out) = cast.finish() {
            let _ = out.flush();
        }
    }
}

/// The terminal's writer, recording what the terminal accepted when a recording runs; a
/// frame becomes one `o` event on flush. Recording never changes what the terminal gets,
/// nor its errors; without a recording the bytes only pass through.
pub struct Tee<W> {
    terminal: W,
    frame: Vec<u8>,
    cast: Option<Shared>,
}

impl<W> Tee<W> {
    pub fn new(terminal: W, recording: Option<&Recording>) -> Tee<W> {
        Tee {
            terminal,
            frame: Vec::new(),
            cast: recording.map(|r| r.cast.clone()),
        }
    }

    fn record(&mut self) {
        let Some(cast) = &self.cast else {
            return;
        };
        if self.frame.is_empty() {
            return;
        }
        let mut cast = cast.lock().unwrap_or_else(PoisonError::into_inner);
        cast.output(&self.frame);
        self.frame.clear();
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.terminal.write(buf)?;
        if self.cast.is_none() {
            return Ok(n);
        }
        self.frame.extend_from_slice(&buf[..n]);
        if self.frame.len() > MAX_FRAME {
            self.record();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.terminal.flush();
        self.record();
        flushed
    }
}

/// After each frame: the size if it changed, the markers, and a failed write reported.
pub struct Recorder {
    cast: Shared,
    marks: Marks,
    size: (u16, u16),
    path: PathBuf,
}

impl FrameObserver for Recorder {
    fn before_frame(&mut self, model: &Model) {
        if model.size != self.size && model.size.0 > 0 && model.size.1 > 0 {
            self.size = model.size;
            let mut cast = self.cast.lock().unwrap_or_else(PoisonError::into_inner);
            cast.resize(model.size.0, model.size.1);
        }
    }

    fn after_frame(&mut self, model: &Model) -> Vec<Msg> {
        let labels = self.marks.changes(model);
        let mut cast = self.cast.lock().unwrap_or_else(PoisonError::into_inner);
        for label in labels {
            cast.marker(&label);
        }
        match cast.failure() {
            Some(why) => vec![Msg::RecordingFailed(format!(
                "recording to {} stopped: {why}",
                self.path.display()
            ))],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// What the terminal gets is untouched; the file gets it per flush, then the markers.
    #[test]
    fn a_teed_frame_is_one_event_followed_by_its_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.cast");
        let recording = Recording::create(&path, (80, 24)).unwrap();
        let mut terminal = recording.tee(Vec::new());
        let mut recorder = recording.recorder();
        let mut model = Model::new(
            crate::model::WorldMode::Simulated,
            Vec::new(),
            crate::sources::clock::now(),
        );
        model.size = (80, 24);
        model.act.reading.state = crate::model::ActState::Clean;
        recorder.before_frame(&model);
        terminal.write_all(b"\x1b[1;1H ACT 1 \xc2").unwrap();
        terminal.write_all(b"\xb7 clean").unwrap();
        terminal.flush().unwrap();
        assert!(recorder.after_frame(&model).is_empty());
        model.size = (120, 36);
        recorder.before_frame(&model);
        recording.finish();
        assert_eq!(terminal.terminal, b"\x1b[1;1H ACT 1 \xc2\xb7 clean");
        let lines = lines(&path);
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "\x1b[1;1H ACT 1 · clean");
        assert_eq!(lines[2][1], "m");
        assert_eq!(lines[2][2], "ACT 1 · clean");
        assert_eq!(lines[3][1], "r");
        assert_eq!(lines[3][2], "120x36");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// A disk that fills up mid-recording: the next frame reports it once, the terminal
    /// still gets every byte, and the header then says the recording stopped.
    #[test]
    fn a_failed_write_is_reported_once_and_the_screen_says_so() {
        struct FillsUp(usize);
        impl Write for FillsUp {
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
        let header = Header {
            width: 100,
            height: 30,
            timestamp: 0,
            title: "control-room".into(),
            env: Vec::new(),
        };
        let room = header.to_json().len() + 1;
        let path = Path::new("/tmp/full.cast");
        let recording = Recording::start(Box::new(FillsUp(room)), path, &header).unwrap();
        let mut terminal = recording.tee(Vec::new());
        let mut recorder = recording.recorder();
        let mut model = Model::new(
            crate::model::WorldMode::Simulated,
            Vec::new(),
            crate::sources::clock::now(),
        );
        model.size = (100, 30);
        recorder.before_frame(&model);
        terminal.write_all(b"frame one").unwrap();
        terminal.flush().unwrap();
        let msgs = recorder.after_frame(&model);
        assert!(
            matches!(
                msgs.as_slice(),
                [Msg::RecordingFailed(why)]
                    if why == "recording to /tmp/full.cast stopped: No space left on device"
            ),
            "{msgs:?}"
        );
        terminal.write_all(b" and two").unwrap();
        terminal.flush().unwrap();
        assert!(recorder.after_frame(&model).is_empty(), "reported once");
        assert_eq!(terminal.terminal, b"frame one and two");

        for msg in msgs {
            crate::app::update(&mut model, msg);
        }
        let theme = crate::config::Theme::builtin("default").unwrap();
        let mut screen =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
        screen.draw(|f| crate::ui::draw(f, &model, &theme)).unwrap();
        let text = crate::ui::buffer_text(screen.backend().buffer());
        assert!(
            text.lines().next().unwrap().contains("REC STOPPED"),
            "{text}"
        );
        assert!(
            text.contains("No space left on device"),
            "the footer says why:\n{text}"
        );
    }
}
