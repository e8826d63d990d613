//! Server settings, resolved once by the binary from flags and environment and trusted afterwards.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use crate::incidents::rules::RuleSet;

/// Everything `warden serve` needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Where the SQLite database, the server keys and the registry's encrypted blobs live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `None` is `sqlite://<data_dir>/warden.db`.
    pub database_url: Option<String>,
    /// The URL users reach the server at (links, cookies' `Secure`, OIDC redirect); `None` is
    /// `http://<listen address>`.
    pub public_url: Option<Url>,
    /// Peers whose `X-Forwarded-For` is believed (load balancers, reverse proxies).
    pub trusted_proxies: Vec<IpNet>,
    /// Single sign-on, when configured.
    pub oidc: Option<OidcConfig>,
    /// Largest model upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// How long a browser session lasts.
    pub session_ttl: Duration,
    /// A bootstrap token chosen by the operator (automation); `None` generates one.
    pub bootstrap_token: Option<String>,
    /// Thresholds of the suspicious-access detectors.
    pub alerts: AlertThresholds,
    /// The name checkpoints of the audit log are signed under (the log's origin line).
    pub audit_origin: Option<String>,
    /// The incident rules in force (checked with [`RuleSet::parse`]); `None` is the shipped rules.
    pub incident_rules: Option<Arc<RuleSet>>,
}

impl ServerConfig {
    /// Defaults for a server on `listen` keeping its state in `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            database_url: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            oidc: None,
            max_upload_bytes: 4 << 30,
            session_ttl: Duration::from_secs(12 * 3600),
            bootstrap_token: None,
            alerts: AlertThresholds::default(),
            audit_origin: None,
            incident_rules: None,
        }
    }

    /// The incident rules in force: the operator's, or the shipped ones.
    pub fn incident_rules(&self) -> &RuleSet {
        self.incident_rules.as_deref().unwrap_or_else(|| crate::incidents::rules::shipped())
    }

    /// The incident rules in force, described for people.
    pub fn incident_rules_in_force(&self) -> crate::incidents::rules::RulesInForce {
        let origin = if self.incident_rules.is_some() { "operator" } else { "shipped" };
        crate::incidents::rules::RulesInForce::of(self.incident_rules(), origin)
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("warden.db").display()))
    }
}

/// An OpenID Connect provider for single sign-on (authorization code + PKCE).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: Url,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret (read from a file or the environment, never a flag value).
    pub client_secret: String,
    /// Shown on the login button.
    pub display_name: String,
    /// Roles given to a user the provider signs in for the first time.
    pub default_roles: Vec<String>,
    /// Provider groups (the `groups` claim) mapped to warden roles.
    pub group_roles: BTreeMap<String, String>,
}

/// When sign-in and download activity becomes an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertThresholds {
    /// Failed logins for one user name or from one address within `window` that raise an alert.
    pub failed_logins: u32,
    /// Model downloads by one principal within `window` that raise an alert.
    pub downloads: u32,
    /// The sliding window of both counters.
    pub window: Duration,
    /// Hours (UTC, `start..end`) outside which access raises an alert; `None` disables it.
    pub allowed_hours: Option<(u8, u8)>,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds { failed_logins: 5, downloads: 20, window: Duration::from_secs(600), allowed_hours: None }
    }
}
