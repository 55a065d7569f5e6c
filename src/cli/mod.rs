//! The headless commands. Each builds the app through the one composition root
//! (`app::Runtime`) with only the sources its output needs, drives the `Model` through
//! `app::update` and prints from the model — so the screen and the command line can never
//! disagree.

pub mod act;
pub mod chat;
pub mod doctor;
pub mod forward;
pub mod logs;
pub mod notes;
pub mod problems;
pub mod rehearse;
pub mod sim;
pub mod status;

use std::process::ExitCode;

use crate::model::Model;

/// 128 + the signal that ended the command, else `otherwise`.
pub fn exit_code(model: &Model, otherwise: ExitCode) -> ExitCode {
    match model.exit_signal {
        Some(n) => ExitCode::from(u8::try_from(128 + n).unwrap_or(1)),
        None => otherwise,
    }
}
