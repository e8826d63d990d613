//! A webhook receiver: records every request (any method, any path) and answers from a
//! programmable sequence of replies, so delivery, signing and retry logic can be tested.
//!
//! ```no_run
//! use std::time::Duration;
//! use warden_testkit::webhook::{Reply, WebhookReceiver};
//!
//! # async fn example() -> warden_testkit::Result<()> {
//! let hooks = WebhookReceiver::start();
//! hooks.push_replies([Reply::status(500), Reply::status(503)]); // then 200 (the default reply)
//! // ... configure the server under test to deliver to hooks.url("/alerts") and raise an alert ...
//! let deliveries = hooks.wait_for(3, Duration::from_secs(10)).await?;
//! assert_eq!(deliveries[2].body_json()["rule_id"], "scan.pickle.dangerous-global");
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::server::{BackgroundServer, Listener};

/// One request as received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// When it arrived.
    pub received_at: Instant,
}

impl ReceivedRequest {
    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `Value::Null` if it is not JSON, so assertions on fields fail clearly.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
    /// How long to wait before answering (the request is recorded on arrival).
    pub delay: Duration,
}

impl Reply {
    /// `200 ok`, at once.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// `status`, at once, with a short body.
    pub fn status(status: u16) -> Self {
        Self { status, body: format!("warden-testkit webhook receiver: {status}\n"), delay: Duration::ZERO }
    }

    /// Never answers in practice (a day), so the sender's timeout fires.
    pub fn hang() -> Self {
        Self::ok().after(Duration::from_secs(24 * 3600))
    }

    /// The same reply, sent after `delay`.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The same reply with `body`.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
}

/// A running receiver; dropping it stops the server.
#[derive(Debug)]
pub struct WebhookReceiver {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<ReceiverState>,
    /// The number of requests received, for waiting without polling.
    count: watch::Sender<usize>,
}

#[derive(Debug)]
struct ReceiverState {
    received: Vec<ReceivedRequest>,
    replies: VecDeque<Reply>,
    default_reply: Reply,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ReceiverState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WebhookReceiver {
    /// Starts a receiver as a task on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime, or if no port on 127.0.0.1 can be bound: a test cannot go on.
    pub fn start() -> Self {
        Self::try_start(false).unwrap_or_else(|e| panic!("starting the webhook receiver: {e}"))
    }

    /// Starts a receiver on its own thread and runtime, for synchronous tests.
    ///
    /// # Panics
    /// If no port on 127.0.0.1 can be bound.
    pub fn start_blocking() -> Self {
        Self::try_start(true).unwrap_or_else(|e| panic!("starting the webhook receiver: {e}"))
    }

    fn try_start(own_runtime: bool) -> Result<Self> {
        let listener = Listener::bind()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ReceiverState {
                received: Vec::new(),
                replies: VecDeque::new(),
                default_reply: Reply::ok(),
            }),
            count: watch::channel(0).0,
        });
        let router = Router::new()
            .fallback(receive)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let server = if own_runtime {
            BackgroundServer::spawn_blocking(listener, router, "warden-testkit-webhook")?
        } else {
            BackgroundServer::spawn(listener, router)?
        };
        Ok(Self { shared, server })
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// Queues replies for the next requests, in order; once used up, the default reply is sent.
    pub fn push_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().replies.extend(replies);
    }

    /// Answers the next `n` requests with `status`, then as before.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.push_replies(std::iter::repeat_n(Reply::status(status), n));
    }

    /// The reply once the queue is empty (`200` unless changed).
    pub fn set_default_reply(&self, reply: Reply) {
        self.shared.lock().default_reply = reply;
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared.lock().received.clone()
    }

    /// Forgets the requests received so far.
    pub fn clear(&self) {
        self.shared.lock().received.clear();
        self.shared.count.send_replace(0);
    }

    /// Waits until at least `n` requests have arrived and returns all of them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<ReceivedRequest>> {
        let mut count = self.shared.count.subscribe();
        let arrived = tokio::time::timeout(timeout, count.wait_for(|received| *received >= n)).await;
        match arrived {
            Ok(Ok(_)) => Ok(self.received()),
            _ => Err(self.timeout_error(n, timeout)),
        }
    }

    /// [`WebhookReceiver::wait_for`] for synchronous tests (do not call it on a runtime thread).
    pub fn wait_for_blocking(&self, n: usize, timeout: Duration) -> Result<Vec<ReceivedRequest>> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return Ok(received);
            }
            if Instant::now() >= deadline {
                return Err(self.timeout_error(n, timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn timeout_error(&self, expected: usize, timeout: Duration) -> Error {
        Error::WebhookTimeout { expected, received: self.shared.lock().received.len(), timeout }
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = ReceivedRequest {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
        received_at: Instant::now(),
    };
    let reply = {
        let mut state = shared.lock();
        state.received.push(request);
        shared.count.send_replace(state.received.len());
        state.replies.pop_front().unwrap_or_else(|| state.default_reply.clone())
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, reply.body).into_response()
}
