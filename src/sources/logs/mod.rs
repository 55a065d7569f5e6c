//! Pod logs for the log view and `control-room logs`, and the pieces every log reader shares
//! (the exfil counter's too): bounded line reading ([`lines`]) and resuming by timestamp
//! ([`cursor`]).
//!
//! A request is one pod ([`pod`]: by name, or a Deployment's newest Ready pod; its
//! replacement offered when a rollout takes it away) or a label selector across every
//! cluster ([`select`]: each matching container its own stream, pods that come and go
//! followed). Either way each container is read by a [`stream::Stream`], which follows,
//! reconnects and resumes without repeating or losing a line. The task is aborted when the
//! view closes or reads something else; every message carries the request's id.

pub mod cursor;
pub mod lines;
mod pod;
pub mod save;
mod select;
pub mod stream;

use tokio::sync::mpsc;

use super::clients::ClientPool;
use crate::msg::Msg;
use crate::msg::logs::{LogMsg, LogNews, LogRequest};

/// Reads `request` until the receiver goes, the reads end, or the task is aborted.
pub async fn run(pool: ClientPool, id: u64, request: LogRequest, tx: mpsc::Sender<Msg>) {
    let send = Sender { id, tx };
    match request {
        LogRequest::Pod { target, window } => pod::run(pool, send, target, window).await,
        LogRequest::Selector {
            selector,
            namespace,
            container,
            previous,
            window,
        } => {
            let spec = select::Spec {
                selector,
                namespace,
                container,
                previous,
                window,
            };
            select::run(pool, send, spec).await
        }
    }
}

/// The request's id on every message.
#[derive(Clone)]
pub struct Sender {
    id: u64,
    tx: mpsc::Sender<Msg>,
}

impl Sender {
    pub fn new(id: u64, tx: mpsc::Sender<Msg>) -> Sender {
        Sender { id, tx }
    }

    /// False once nobody listens.
    pub async fn news(&self, news: LogNews) -> bool {
        self.tx
            .send(Msg::Logs(LogMsg { id: self.id, news }))
            .await
            .is_ok()
    }
}
