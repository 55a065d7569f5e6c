//! The shipped `control-room` binary in a pseudo-terminal, its output fed to a VT parser, so
//! a test reads the screen a person would see — and the raw bytes (OSC 52, the alternate
//! screen) that never show.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub const BIN: &str = env!("CARGO_BIN_EXE_control-room");

/// What the terminal has received so far.
struct Seen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    /// Reading ended (the program closed the pty).
    closed: bool,
}

pub struct Tui {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    seen: Arc<Mutex<Seen>>,
    // Kept open: dropping the master hangs up the terminal.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

/// The environment of a person's fresh session: their own home and state, no kubeconfig,
/// a colour terminal.
pub fn isolated(cmd: &mut CommandBuilder, home: &Path) {
    cmd.env_clear();
    for var in ["PATH", "LANG", "LC_ALL"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("HOME", home);
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env("XDG_STATE_HOME", home.join("state"));
    cmd.env("XDG_RUNTIME_DIR", home.join("run"));
    cmd.env("KUBECONFIG", home.join("no-such-kubeconfig"));
    cmd.env("TERM", "xterm-256color");
    let _ = std::fs::create_dir_all(home.join("run"));
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700));
}

impl Tui {
    /// `control-room ARGS` on a `cols`×`rows` terminal in `home`; `env` is added.
    pub fn start(
        home: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        (cols, rows): (u16, u16),
    ) -> Tui {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        isolated(&mut cmd, home);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(home);
        let child = pair.slave.spawn_command(cmd).expect("control-room starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let seen = Arc::new(Mutex::new(Seen {
            parser: vt100::Parser::new(
                std::num::NonZeroU16::new(rows.max(1)).expect("at least one row"),
                std::num::NonZeroU16::new(cols.max(1)).expect("at least one column"),
                0,
            ),
            raw: Vec::new(),
            closed: false,
        }));
        let feed = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut seen = feed.lock().unwrap_or_else(PoisonError::into_inner);
                        seen.parser.process(&buf[..n]);
                        seen.raw.extend_from_slice(&buf[..n]);
                    }
                }
            }
            feed.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        });
        Tui {
            child,
            writer,
            seen,
            _master: pair.master,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn screen(&self) -> String {
        self.with(|s| s.parser.screen().contents())
    }

    pub fn raw(&self) -> Vec<u8> {
        self.with(|s| s.raw.clone())
    }

    pub fn alternate_screen(&self) -> bool {
        self.with(|s| s.parser.screen().alternate_screen())
    }

    /// Every cell's foreground colour that is not the terminal's default.
    pub fn coloured_cells(&self) -> usize {
        self.with(|s| {
            let screen = s.parser.screen();
            let (rows, cols) = screen.size();
            let (rows, cols) = (rows.get(), cols.get());
            (0..rows)
                .flat_map(|r| (0..cols).map(move |c| (r, c)))
                .filter(|(r, c)| {
                    screen.cell(*r, *c).is_some_and(|cell| {
                        cell.fgcolor() != vt100::Color::Default
                            || cell.bgcolor() != vt100::Color::Default
                    })
                })
                .count()
        })
    }

    /// Types `text` (raw bytes: `\r` is Enter, `\x1b` Esc, `\x10` Ctrl+P).
    pub fn keys(&mut self, text: &str) {
        self.writer
            .write_all(text.as_bytes())
            .expect("keys reach the pty");
        self.writer.flush().expect("flush");
        // One key per read: a terminal sends them apart, and a parser may read them so. A
        // lone Esc needs longer, or the next key reads as Alt+key.
        let pause = if text.ends_with('\x1b') { 250 } else { 30 };
        std::thread::sleep(Duration::from_millis(pause));
    }

    /// Waits until the screen satisfies `done`, or panics showing it.
    pub fn until(&self, within: Duration, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            let closed = self.with(|s| s.closed);
            assert!(
                Instant::now() < deadline && !closed,
                "waiting for {what}{}; screen:\n{screen}",
                if closed {
                    " (the program closed its terminal)"
                } else {
                    ""
                }
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal is now `cols`×`rows` (the program gets SIGWINCH, as from a window).
    pub fn resize(&mut self, (cols, rows): (u16, u16)) {
        self._master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("the pty resizes");
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.parser.screen_mut().set_size(
            std::num::NonZeroU16::new(rows.max(1)).expect("at least one row"),
            std::num::NonZeroU16::new(cols.max(1)).expect("at least one column"),
        );
    }

    pub fn pid(&self) -> i32 {
        self.child
            .process_id()
            .and_then(|p| i32::try_from(p).ok())
            .expect("a pid")
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe {
            libc::kill(self.pid(), signal);
        }
    }

    /// Waits for the program to end: its exit code, or 128 + the signal that killed it.
    pub fn wait(&mut self, within: Duration) -> u32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader take in the last bytes.
                let until = Instant::now() + Duration::from_secs(2);
                while !self.with(|s| s.closed) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return status.exit_code();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "control-room did not exit within {within:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Processes whose command line contains `needle` (a unique act command), from /proc.
pub fn processes_with(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            // A zombie has an empty command line and is no longer running.
            text.contains(needle)
                .then_some(format!("{} {text}", e.file_name().to_string_lossy()))
        })
        .collect()
}
