//! control-room: a terminal control room for the TrustUsBank three-cluster demo.
//!
//! Data flows one way: `sources` send `Msg`s, `app::update` is the only writer of the
//! `model`, `ui` draws from `&Model`. `sim` is a separate world reached only over HTTP.

pub mod actions;
pub mod app;
pub mod config;
pub mod model;
pub mod sim;
pub mod sources;
pub mod ui;
