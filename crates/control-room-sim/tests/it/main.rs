//! The simulator's integration tests, one binary (one link), one module per surface. Every
//! test starts its own simulator on free ports with its own state directory.

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod big_log;
mod chat;
mod kube_rs;
mod kubectl;
mod logs;
mod portforward;
mod support;
mod tables;
mod tools;
mod triage;
mod triage_kube_rs;
mod writes;
mod writes_kube_rs;
mod writes_kubectl;
