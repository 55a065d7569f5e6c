//! Outside programs a test needs (kubectl, promtool, prometheus, a Python with a2a-sdk …).
//!
//! A test that cannot find one says so *visibly* — a `SKIPPED …` line written straight to
//! the terminal, past the test harness's output capture — and names what it needed; under
//! `CONTROL_ROOM_REQUIRE_TOOLS=1` (which `.ci/run` sets, after installing them all) a
//! missing tool fails the test instead. No test returns early without that line.
//!
//! One file, used by both crates' test binaries and the simulator's Prometheus unit tests
//! (the others include it by path); each uses part of it.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Set by `.ci/run`: every outside tool must be there.
pub const REQUIRE: &str = "CONTROL_ROOM_REQUIRE_TOOLS";

fn required() -> bool {
    std::env::var_os(REQUIRE).is_some_and(|v| v == "1")
}

/// The running test's name, as libtest names its thread.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// Says that the running test skips, and why, where a person reads `cargo test`'s output —
/// or fails it when tools are required.
pub fn skip(what: &str) {
    let test = test_name();
    assert!(
        !required(),
        "{test} needs {what}, and {REQUIRE}=1 says every tool must be here"
    );
    // Straight to the process's stderr: libtest captures `eprintln!`, not this.
    let _ = writeln!(
        std::io::stderr(),
        "\nSKIPPED {test}: needs {what}; CI installs it and requires it ({REQUIRE}=1)"
    );
}

/// `program` on `PATH`, or `None` after [`skip`].
pub fn require(program: &str) -> Option<PathBuf> {
    match on_path(program) {
        Some(path) => Some(path),
        None => {
            skip(&format!("`{program}` on PATH"));
            None
        }
    }
}

/// A program named by an environment variable (`CONTROL_ROOM_PROMTOOL`), else `program`
/// on `PATH`; `None` after [`skip`].
pub fn require_with_override(variable: &str, program: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if Path::new(&path).is_file() => Some(PathBuf::from(path)),
        Some(path) => {
            skip(&format!(
                "`{}` (from ${variable}), which does not exist",
                Path::new(&path).display()
            ));
            None
        }
        None => require(program),
    }
}

/// A file an environment variable names (a venv's interpreter set up by `.ci/run`), or
/// `None` after [`skip`] saying how to get it.
pub fn require_env(variable: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if Path::new(&path).is_file() => Some(PathBuf::from(path)),
        Some(path) => {
            skip(&format!(
                "{what} at ${variable} = {}, which does not exist",
                Path::new(&path).display()
            ));
            None
        }
        None => {
            skip(&format!("{what} (set ${variable}; .ci/run does)"));
            None
        }
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
