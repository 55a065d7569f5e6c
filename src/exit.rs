//! What must happen however the program ends: the terminal restored, the running act's
//! process group stopped, the directories this run created removed.
//!
//! Orderly exits (q, Ctrl+C, a signal) do this through the normal teardown — the runtime
//! cancels the act and waits for it, the world removes its directory. A panic cannot wait
//! for that: its hook ([`install_panic_hook`]) reads what this module was told and does the
//! same at once, from any thread, then exits non-zero. That is why this is process-wide
//! state and not passed in: a panic hook has no other way to know.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The TUI owns the terminal (raw mode, alternate screen).
static TERMINAL: AtomicBool = AtomicBool::new(false);
/// The running act's process group, 0 when none runs.
static ACT_GROUP: AtomicI32 = AtomicI32::new(0);
/// Directories this run created and must not leave behind.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Where the log file is, to name it in the panic message.
static LOG: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Exit status for a panic (Rust's own for a panicking main).
pub const PANIC_EXIT: i32 = 101;

pub fn terminal_taken() {
    TERMINAL.store(true, Ordering::SeqCst);
}

pub fn terminal_restored() {
    TERMINAL.store(false, Ordering::SeqCst);
}

/// The act runner started a script in its own process group.
pub fn act_started(pgid: i32) {
    ACT_GROUP.store(pgid, Ordering::SeqCst);
}

/// The act's group is gone (only clears the group it was told about).
pub fn act_ended(pgid: i32) {
    let _ = ACT_GROUP.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// Remove `dir` if the program dies before it does so itself.
pub fn remove_on_exit(dir: &Path) {
    DIRS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(dir.to_path_buf());
}

/// `dir` was removed (or handed over) in the orderly way.
pub fn forget_dir(dir: &Path) {
    DIRS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|d| d != dir);
}

pub fn log_file(path: Option<&Path>) {
    *LOG.lock().unwrap_or_else(PoisonError::into_inner) = path.map(Path::to_path_buf);
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group yields ESRCH, which is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// Everything a dying process owes the presenter, in the order that matters: the terminal
/// first (so the message can be read), then the act's processes, then the files.
fn clean_up_now() {
    if TERMINAL.swap(false, Ordering::SeqCst) {
        ratatui::restore();
    }
    let pgid = ACT_GROUP.swap(0, Ordering::SeqCst);
    if pgid > 0 {
        signal_group(pgid, libc::SIGTERM);
        std::thread::sleep(Duration::from_millis(300));
        signal_group(pgid, libc::SIGKILL);
    }
    let dirs = std::mem::take(&mut *DIRS.lock().unwrap_or_else(PoisonError::into_inner));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A panic anywhere — main thread or a tokio task — restores the terminal, stops the act's
/// process group, removes this run's directories, writes the panic to the log and (after
/// the restore, so it is readable) to stderr, and exits non-zero. A task's panic would
/// otherwise be swallowed by its runtime and leave the TUI drawing on a cooked terminal.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        clean_up_now();
        let text = crate::text::inert(&info.to_string());
        let log_path = LOG.lock().unwrap_or_else(PoisonError::into_inner).clone();
        // Straight to the file: the log's writer thread would not get to it before exit.
        if let Some(path) = &log_path
            && let Ok(mut file) = crate::files::append_private(path)
        {
            let _ = writeln!(
                file,
                "{} ERROR control-room panicked: {text}",
                chrono::Utc::now().to_rfc3339()
            );
        }
        let log = log_path
            .map(|p| format!(" (log: {})", p.display()))
            .unwrap_or_default();
        let _ = writeln!(std::io::stderr(), "control-room panicked{log}: {text}");
        std::process::exit(PANIC_EXIT);
    }));
}
