//! SIGINT, SIGTERM and SIGHUP (a terminal window closed) as messages: the app winds down in
//! its own order — the act's process group stopped, the terminal restored, the world closed
//! — and exits with 128 + the signal's number.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::msg::Msg;

/// The signals a person or a session manager sends to end a program.
pub const ENDING: [(i32, &str); 3] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
];

/// Sends `Msg::Signal(n)` for each of [`ENDING`] until the receiver goes away. A handler
/// that cannot be installed is logged; the default action (exit) stays for that signal.
pub fn spawn(tx: mpsc::Sender<Msg>) -> Vec<tokio::task::JoinHandle<()>> {
    ENDING
        .iter()
        .filter_map(
            |&(number, name)| match signal(SignalKind::from_raw(number)) {
                Ok(mut stream) => {
                    let tx = tx.clone();
                    Some(tokio::spawn(async move {
                        while stream.recv().await.is_some() {
                            tracing::info!(signal = name, "received; winding down");
                            if tx.send(Msg::Signal(number)).await.is_err() {
                                return;
                            }
                        }
                    }))
                }
                Err(e) => {
                    tracing::warn!(signal = name, error = %e, "cannot handle the signal");
                    None
                }
            },
        )
        .collect()
}

/// The ending signals, caught from now on (the headless simulator, which has no message
/// loop): installed before anything is started, so a signal that comes early still finds
/// its handler and the run still cleans up.
pub struct Ending(Vec<(i32, tokio::signal::unix::Signal)>);

impl Ending {
    pub fn catch() -> std::io::Result<Ending> {
        let mut streams = Vec::new();
        for &(number, _) in &ENDING {
            streams.push((number, signal(SignalKind::from_raw(number))?));
        }
        Ok(Ending(streams))
    }

    /// Waits for the first of them; its number.
    pub async fn first(mut self) -> i32 {
        let waits = self
            .0
            .iter_mut()
            .map(|(number, s)| {
                let number = *number;
                Box::pin(async move {
                    s.recv().await;
                    number
                })
            })
            .collect::<Vec<_>>();
        let (number, _, _) = futures::future::select_all(waits).await;
        number
    }
}
