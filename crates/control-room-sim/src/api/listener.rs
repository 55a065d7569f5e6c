//! Serving one cluster on its loopback port, and killing it like a crashed API server.
//!
//! `axum::serve` owns the per-connection tasks, so a stop cannot reach them directly. Instead
//! every accepted socket is wrapped in [`StopAwareIo`], which fails all reads and writes once
//! the run's stop signal fires: hyper then drops the connection, open watches included.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::router::{ServerCtx, router};
use crate::store::ClusterStore;

/// One cluster's listener lifecycle. The store outlives any number of stop/restart cycles.
pub struct ClusterServer {
    store: ClusterStore,
    port: u16,
    bookmark_interval: Duration,
    /// The programs behind the pods (port-forward), shared by all three clusters.
    services: Arc<crate::services::Services>,
    run: Mutex<Option<Run>>,
}

struct Run {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ClusterServer {
    pub fn new(
        store: ClusterStore,
        port: u16,
        bookmark_interval: Duration,
        services: Arc<crate::services::Services>,
    ) -> Self {
        Self {
            store,
            port,
            bookmark_interval,
            services,
            run: Mutex::new(None),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &ClusterStore {
        &self.store
    }

    fn run_slot(&self) -> std::sync::MutexGuard<'_, Option<Run>> {
        self.run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start serving on an already-bound listener. No-op (the listener is dropped) if a run is
    /// already active.
    pub fn serve(&self, listener: TcpListener) {
        let mut slot = self.run_slot();
        if slot.is_some() {
            return;
        }
        let (stop, stop_rx) = watch::channel(false);
        let ctx = Arc::new(ServerCtx {
            store: self.store.clone(),
            address: format!("127.0.0.1:{}", self.port),
            bookmark_interval: self.bookmark_interval,
            stop: stop_rx.clone(),
            services: self.services.clone(),
        });
        let listener = StopAwareListener {
            inner: listener,
            stop: stop_rx,
        };
        let cluster = self.store.cluster().to_string();
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router(ctx)).await {
                tracing::warn!(%cluster, %err, "simulated API server ended");
            }
        });
        *slot = Some(Run { stop, task });
    }

    pub fn is_running(&self) -> bool {
        self.run_slot().is_some()
    }

    /// Close the listener and abort every open connection. Idempotent.
    pub async fn stop(&self) {
        let run = self.run_slot().take();
        if let Some(run) = run {
            let _ = run.stop.send(true);
            run.task.abort();
            // Wait until the serve future (and with it the listening socket) is dropped, so a
            // restart can bind the port again straight away.
            let _ = run.task.await;
            tracing::info!(
                cluster = self.store.cluster(),
                port = self.port,
                "cluster stopped"
            );
        }
    }

    /// Serve again on the same port. Idempotent.
    pub async fn restart(&self) -> anyhow::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("rebinding 127.0.0.1:{}", self.port))?;
        self.serve(listener);
        tracing::info!(
            cluster = self.store.cluster(),
            port = self.port,
            "cluster restarted"
        );
        Ok(())
    }

    /// Signal without waiting (for Drop paths that cannot await).
    pub fn stop_now(&self) {
        if let Some(run) = self.run_slot().take() {
            let _ = run.stop.send(true);
            run.task.abort();
        }
    }
}

struct StopAwareListener {
    inner: TcpListener,
    stop: watch::Receiver<bool>,
}

impl axum::serve::Listener for StopAwareListener {
    type Io = StopAwareIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Watch events are small writes that must not sit in Nagle's buffer.
                    let _ = stream.set_nodelay(true);
                    return (StopAwareIo::new(stream, self.stop.clone()), addr);
                }
                Err(err) => {
                    // Usually EMFILE; back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that errors out once its server run is stopped.
pub struct StopAwareIo {
    inner: TcpStream,
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    stopped: bool,
}

impl StopAwareIo {
    fn new(inner: TcpStream, mut stop: watch::Receiver<bool>) -> Self {
        Self {
            inner,
            stop: Box::pin(async move {
                let _ = stop.wait_for(|s| *s).await;
            }),
            stopped: false,
        }
    }

    /// Polling the stop future also registers this connection's waker with it, so an idle
    /// connection wakes up to die.
    fn is_stopped(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.stopped && self.stop.as_mut().poll(cx).is_ready() {
            self.stopped = true;
        }
        self.stopped
    }
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "simulated API server stopped",
    )
}

impl AsyncRead for StopAwareIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_stopped(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StopAwareIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_stopped(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_stopped(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
