//! The headless commands. Each drives a `Model` through `app::update` with the same sources
//! the TUI uses and prints from the model, so the screen and the command line never disagree.

pub mod sim;
