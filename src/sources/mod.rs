//! Async tasks that watch the outside world and report as `Msg`s. They never touch the
//! model; each owns its reconnect/backoff and reports its own health.

pub mod a2a;
pub mod alerts;
pub mod backoff;
pub mod clients;
pub mod clock;
pub mod cluster;
pub mod doctor;
pub mod exfil;
pub mod exposition;
pub mod forward;
pub mod inspect;
pub mod kubeconfig;
pub mod logs;
pub mod prom_api;
pub mod signals;
pub mod terminal;
