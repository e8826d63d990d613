//! [`AppState`]: what every handler shares, built once at start-up.

use std::ops::Deref;
use std::sync::Arc;

use url::Url;

use crate::audit::AuditLog;
use crate::authz::Authorizer;
use crate::config::ServerConfig;
use crate::keys::ServerKeys;
use crate::metrics::Metrics;
use crate::store::Store;

/// The application state, cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

/// The shared parts of the application.
pub struct AppInner {
    /// Settings as resolved at start.
    pub config: ServerConfig,
    /// The URL users reach us at.
    pub public_url: Url,
    /// The database.
    pub store: Store,
    /// Cedar schema and policies.
    pub authz: Authorizer,
    /// The server's own keys.
    pub keys: ServerKeys,
    /// The tamper-evident audit log.
    pub audit: AuditLog,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Outgoing HTTP (OIDC provider, webhooks); no redirects followed.
    pub http: reqwest::Client,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: AppInner) -> AppState {
        AppState(Arc::new(inner))
    }

    /// Whether cookies must carry `Secure`: over https, and on loopback (browsers treat
    /// `http://localhost` as a secure context, so `Secure` cookies work there too).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
            || matches!(self.public_url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    }
}

impl Deref for AppState {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}
