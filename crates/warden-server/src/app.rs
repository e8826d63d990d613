//! Start-up and shutdown: open the database (migrating it), load the keys and policies, issue the
//! bootstrap token, listen, and stop gracefully.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::audit::AuditLog;
use crate::authz::Authorizer;
use crate::config::ServerConfig;
use crate::keys::ServerKeys;
use crate::metrics::Metrics;
use crate::state::{AppInner, AppState};
use crate::store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("cannot create the data directory `{path}`: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The server keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// The shipped or stored policies are broken.
    #[error("access policies: {0}")]
    Policies(String),
    /// The listen address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else during start-up.
    #[error("{0}")]
    Other(String),
}

/// A started server.
pub struct RunningServer {
    /// The address it listens on (the port is real even when 0 was asked for).
    pub addr: SocketAddr,
    /// The URL users reach it at.
    pub url: url::Url,
    /// The one-time token that creates the first administrator, when there is none yet.
    pub bootstrap_token: Option<String>,
    /// The application state (for tests and embedding).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The bootstrap link to print.
    pub fn bootstrap_link(&self) -> Option<String> {
        self.bootstrap_token.as_ref().map(|t| format!("{}bootstrap?token={t}", self.url))
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server stops (after [`shutdown_signal`] or an error).
    pub async fn wait(self) -> std::io::Result<()> {
        let _keep = self.shutdown;
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Builds the application state: database, keys, policies, audit log.
pub async fn build_state(config: ServerConfig, public_url: url::Url) -> Result<AppState, StartError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
    let store = Store::open(&config.database_url()).await?;
    let origin = config.audit_origin.clone().unwrap_or_else(|| default_origin(&public_url));
    let keys = ServerKeys::load_or_create(&config.data_dir, &origin)?;
    let signer = warden_audit::CheckpointSigner::new(&keys.audit_signer).map_err(|e| StartError::Other(format!("audit key: {e}")))?;
    let metrics = Metrics::new();
    let audit = AuditLog::start(store.clone(), signer, metrics.audit_size.clone(), metrics.audit_appends.clone());
    let authz = Authorizer::new().map_err(|e| StartError::Policies(e.to_string()))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| StartError::Other(format!("HTTP client: {e}")))?;
    let state = AppState::new(AppInner { config, public_url, store, authz, keys, audit, metrics, http });
    crate::authz::api::load_latest(&state).await.map_err(|e| StartError::Policies(e.to_string()))?;
    Ok(state)
}

/// A checkpoint origin (signed-note key name) from the public URL: `host[:port]/warden-audit`.
fn default_origin(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("localhost").trim_matches(['[', ']']).replace(':', "-");
    match url.port() {
        Some(port) => format!("{host}-{port}/warden-audit"),
        None => format!("{host}/warden-audit"),
    }
}

/// Starts the server on `config.listen`; returns once it accepts connections.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let public_url = match &config.public_url {
        Some(url) => url.clone(),
        None => {
            let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
            let host = if addr.is_ipv6() && !addr.ip().is_unspecified() { format!("[{host}]") } else { host };
            url::Url::parse(&format!("http://{host}:{}/", addr.port())).map_err(|e| StartError::Other(e.to_string()))?
        }
    };
    let preset = config.bootstrap_token.clone();
    let state = build_state(config, public_url.clone()).await?;
    let bootstrap_token = crate::identity::bootstrap::issue_token(&state, preset.as_deref()).await.map_err(|e| StartError::Other(e.to_string()))?;
    tokio::spawn(crate::authz::api::watch(state.clone()));
    tokio::spawn(housekeeping(state.clone()));
    crate::playbooks::start(&state).await.map_err(|e| StartError::Other(format!("playbooks: {e}")))?;
    let app = with_layers(crate::routes::router(state.clone()), &state);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = rx => {}
                    () = shutdown_signal() => {}
                }
            })
            .await
    });
    tracing::info!(%addr, url = %public_url, "warden server listening");
    Ok(RunningServer { addr, url: public_url, bootstrap_token, state, shutdown: Some(tx), task })
}

/// Security headers on every response, and the default body limit.
fn with_layers(router: axum::Router, state: &AppState) -> axum::Router {
    let csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let mut router = router
        .layer(DefaultBodyLimit::max(16 << 20))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    if state.public_url.scheme() == "https" {
        router = router.layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")));
    }
    router
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Removes expired sessions and half-finished single sign-ons every minute, and once an hour the
/// leftovers of uploads a crash interrupted.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tick.tick().await;
        if minutes.is_multiple_of(60)
            && let Err(err) = sweep_uploads(&state).await
        {
            tracing::warn!(%err, "sweeping upload leftovers failed");
        }
        minutes += 1;
        let now = crate::store::now_ms();
        if let Err(err) = crate::incidents::intake::sweep(&state).await {
            tracing::warn!(%err, "the incident intake sweep failed");
        }
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(state.store.writer()).await;
        let logins = sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1").bind(now - 600_000).execute(state.store.writer()).await;
        if let Err(err) = sessions.and(logins) {
            tracing::warn!(%err, "housekeeping failed");
        }
    }
}

/// Deletes temporary upload files older than a day (an upload that old died with its process;
/// other instances sharing the directory never hold one that long) and encrypted blobs older than
/// an hour that no version row names (a crash between writing the blob and committing the row).
async fn sweep_uploads(state: &AppState) -> Result<(), String> {
    let now = std::time::SystemTime::now();
    let older_than = |path: &std::path::Path, age: Duration| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|d| d > age))
    };
    if let Ok(entries) = std::fs::read_dir(state.config.data_dir.join("tmp")) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) && older_than(&entry.path(), Duration::from_secs(24 * 3600)) {
                tracing::info!(path = %entry.path().display(), "removing an abandoned upload");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let Ok(assets) = std::fs::read_dir(state.config.data_dir.join("blobs")) else { return Ok(()) };
    for asset in assets.flatten() {
        let Ok(blobs) = std::fs::read_dir(asset.path()) else { continue };
        for blob in blobs.flatten() {
            let path = blob.path();
            let Some(version_id) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".age")) else { continue };
            if !older_than(&path, Duration::from_secs(3600)) {
                continue;
            }
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_versions WHERE id = $1")
                .bind(version_id)
                .fetch_one(&state.store.read)
                .await
                .map_err(|e| e.to_string())?;
            if rows == 0 {
                tracing::warn!(path = %path.display(), "removing an encrypted blob no version refers to");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_valid_key_names() {
        let url = url::Url::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(default_origin(&url), "127.0.0.1-8080/warden-audit");
        let url = url::Url::parse("https://warden.example.com/").unwrap();
        assert_eq!(default_origin(&url), "warden.example.com/warden-audit");
        let url = url::Url::parse("http://[::1]:9/").unwrap();
        assert_eq!(default_origin(&url), "--1-9/warden-audit");
    }
}
