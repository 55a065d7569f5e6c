//! News from one port-forward: listening, each connection opened and closed, failures, probes.

use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardMsg {
    Listening(SocketAddr),
    /// The local port could not be bound (busy, no permission): this forward only.
    BindFailed(String),
    Opened {
        pod: String,
    },
    Closed {
        up: u64,
        down: u64,
    },
    /// A connection could not reach a pod (no Ready pod, port-forward refused …);
    /// `opened` tells whether an `Opened` for it was sent before.
    Failed {
        opened: bool,
        error: String,
    },
    /// The local URL answered (HTTP status) or not (error).
    Probe(Result<u16, String>),
}
