//! The headless commands. Each builds the app through the one composition root
//! (`app::Runtime`) with only the sources its output needs, drives the `Model` through
//! `app::update` and prints from the model — so the screen and the command line can never
//! disagree.

pub mod act;
pub mod chat;
pub mod forward;
pub mod sim;
pub mod status;
