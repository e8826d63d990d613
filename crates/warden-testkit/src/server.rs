//! Serving an axum router on 127.0.0.1 in the background, either on the caller's tokio runtime or
//! on a thread that owns its own runtime (for synchronous tests).

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::thread::JoinHandle;

use axum::Router;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// A running server; dropping it stops accepting connections.
#[derive(Debug)]
pub(crate) struct BackgroundServer {
    addr: SocketAddr,
    stop: Stop,
}

#[derive(Debug)]
enum Stop {
    Task(tokio::task::AbortHandle),
    Thread { shutdown: Option<oneshot::Sender<()>>, thread: Option<JoinHandle<()>> },
}

impl BackgroundServer {
    /// Serves `router` as a task of the current tokio runtime.
    pub(crate) fn spawn(listener: Listener, router: Router) -> Result<Self> {
        let handle = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let Listener { listener: std_listener, addr } = listener;
        let _entered = handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| Error::io(format!("registering the listener on {addr}"), e))?;
        let task = handle.spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!("test server on {addr} stopped: {e}");
            }
        });
        Ok(Self { addr, stop: Stop::Task(task.abort_handle()) })
    }

    /// Serves `router` on a new thread running its own single-threaded tokio runtime.
    pub(crate) fn spawn_blocking(listener: Listener, router: Router, name: &str) -> Result<Self> {
        let Listener { listener: std_listener, addr } = listener;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("building a tokio runtime for a test server", e))?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => listener,
                        Err(e) => return tracing::warn!("test server on {addr}: {e}"),
                    };
                    // Not a graceful shutdown: a reply a test made hang must not block the drop.
                    tokio::select! {
                        served = axum::serve(listener, router).into_future() => {
                            if let Err(e) = served {
                                tracing::warn!("test server on {addr} stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels the connection tasks still running.
            })
            .map_err(|e| Error::io("starting a test server thread", e))?;
        Ok(Self { addr, stop: Stop::Thread { shutdown: Some(shutdown), thread: Some(thread) } })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        base_url(self.addr)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        match &mut self.stop {
            Stop::Task(task) => task.abort(),
            Stop::Thread { shutdown, thread } => {
                if let Some(shutdown) = shutdown.take() {
                    let _ = shutdown.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// A socket bound to 127.0.0.1 with a port chosen by the OS, so the base URL is known before the
/// router that needs it is built.
#[derive(Debug)]
pub(crate) struct Listener {
    listener: StdListener,
    addr: SocketAddr,
}

impl Listener {
    pub(crate) fn bind() -> Result<Self> {
        let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("binding a test server to 127.0.0.1:0", e))?;
        listener.set_nonblocking(true).map_err(|e| Error::io("making the test listener non-blocking", e))?;
        let addr = listener.local_addr().map_err(|e| Error::io("reading the test listener's address", e))?;
        Ok(Self { listener, addr })
    }

    pub(crate) fn base_url(&self) -> String {
        base_url(self.addr)
    }
}
