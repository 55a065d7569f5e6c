//! control-room: a terminal control room for the TrustUsBank three-cluster demo.
//!
//! Data flows one way: `sources` send `Msg`s, `app::update` is the only writer of the
//! `model`, `ui` draws from `&Model`. The simulator is its own crate (`control_room_sim`), reached
//! only through its start/handle API and over HTTP.

// Unit tests may unwrap; nothing else may (the workspace lints deny it).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod actions;
pub mod app;
pub mod cli;
pub mod config;
pub mod exit;
pub mod files;
pub mod model;
pub mod msg;
pub mod record;
pub mod sources;
pub mod story;
pub mod text;
pub mod ui;
