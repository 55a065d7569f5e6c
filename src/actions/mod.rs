//! Act scripts as child processes: explicit argv, no shell, output streamed line by line,
//! every line kept in a log file, cancel and timeout kill the whole process group.

mod lines;
mod runner;

pub use runner::{ActEnvironment, RunningAct, resolve_program, run_act, spawn_act};
