//! The app's integration tests: one binary (one link), one module per surface. Most build
//! the real app through its runtime (`support::Harness`) against the in-process simulator;
//! some drive the shipped binary; some check real components (kubectl, Prometheus).

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod a2a_client;
mod a2a_servers;
mod act_runner;
mod acts;
mod alert_rules;
mod alerts_panel;
mod alerts_prometheus;
mod binary;
mod chat;
mod cli;
mod config;
mod demo_scripts;
mod doctor;
mod exfil;
mod forwards;
mod inert;
mod logs;
mod notes;
mod panes;
mod record;
mod rehearse;
mod snapshots;
mod support;
mod triage;
mod view_snapshots;
