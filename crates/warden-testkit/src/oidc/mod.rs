//! A small OpenID Connect provider for tests of a relying party: discovery, JWKS, the
//! authorization-code flow with PKCE (S256 only), the token and userinfo endpoints.
//!
//! Tests have no human to log in, so `/authorize` signs in the user named by the `login_hint`
//! parameter (matched against `sub`, `email` or `preferred_username`), or the default user (the
//! first one, see [`OidcProvider::set_default_user`]), and redirects straight back with a code.
//! Everything else is checked as a strict provider would: the client id, the exact registered
//! redirect URI, `scope` containing `openid`, `state`, `nonce`, the PKCE challenge and verifier,
//! single-use codes that expire, client authentication by `client_secret_basic` or
//! `client_secret_post`. [`IdTokenFault`]s make the provider issue ID tokens a relying party must
//! reject.
//!
//! ```no_run
//! use warden_testkit::oidc::{IdTokenFault, OidcProvider, OidcUser};
//!
//! # async fn example() -> warden_testkit::Result<()> {
//! let alice = OidcUser::new("alice", "alice@example.com").with_groups(["security-engineers"]);
//! let idp = OidcProvider::start(vec![alice])?;
//! // Configure the server under test with idp.issuer(), idp.client_id(), idp.client_secret();
//! // once its port is known:
//! idp.set_redirect_uri("http://127.0.0.1:8080/auth/callback");
//! // ... drive the login; then check the relying party sent a PKCE challenge:
//! let authorize = idp.last_authorize_request().expect("the server redirected to the provider");
//! assert!(authorize.uses_pkce_s256());
//! // Negative test: the next ID token is expired.
//! idp.set_fault(Some(IdTokenFault::Expired));
//! # Ok(())
//! # }
//! ```

mod endpoints;
mod keys;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::server::{BackgroundServer, Listener};

/// A user the provider can sign in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OidcUser {
    /// The stable subject identifier (`sub`).
    pub sub: String,
    /// `email`.
    pub email: String,
    /// `email_verified`.
    pub email_verified: bool,
    /// `name`.
    pub name: String,
    /// `preferred_username`.
    pub preferred_username: String,
    /// The `groups` claim.
    pub groups: Vec<String>,
}

impl OidcUser {
    /// A user with a verified email, whose name and username are `sub`, in no groups.
    pub fn new(sub: impl Into<String>, email: impl Into<String>) -> Self {
        let sub = sub.into();
        Self {
            email: email.into(),
            email_verified: true,
            name: sub.clone(),
            preferred_username: sub.clone(),
            groups: Vec::new(),
            sub,
        }
    }

    /// Sets the `groups` claim.
    #[must_use]
    pub fn with_groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the display `name`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    fn answers_to(&self, hint: &str) -> bool {
        self.sub == hint || self.email == hint || self.preferred_username == hint
    }
}

/// A defect the provider puts into the ID tokens it issues, for tests that the relying party
/// rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenFault {
    /// `aud` names another client.
    WrongAudience,
    /// `exp` (and `iat`) lie in the past.
    Expired,
    /// Signed by a key that is not in the JWKS, under the published key's `kid`.
    BadSignature,
    /// `nonce` is not the one the relying party sent.
    WrongNonce,
    /// `iss` is not the provider's issuer.
    WrongIssuer,
}

/// The ID token signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048 (the one every relying party must support).
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl SigningAlg {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// An `/authorize` request as received, valid or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The parameters in the order received.
    pub params: Vec<(String, String)>,
}

/// A `/token` request as received, valid or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// How the client tried to authenticate.
    pub client_auth: ClientAuth,
    /// The form parameters in the order received (with `client_secret` for `client_secret_post`).
    pub params: Vec<(String, String)>,
}

/// The client authentication method of a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: an `Authorization: Basic` header.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
    /// Both at once (rejected).
    Both,
    /// Neither (rejected).
    None,
}

impl AuthorizeRequest {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// Whether the request carried a `code_challenge` with `code_challenge_method=S256`.
    pub fn uses_pkce_s256(&self) -> bool {
        self.param("code_challenge").is_some() && self.param("code_challenge_method") == Some("S256")
    }
}

impl TokenRequest {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A running provider; dropping it stops the server.
pub struct OidcProvider {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider").field("issuer", &self.shared.issuer).finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Default client id, until [`OidcProvider::set_client`].
    pub const DEFAULT_CLIENT_ID: &str = "warden-test-client";
    /// Default client secret, until [`OidcProvider::set_client`].
    pub const DEFAULT_CLIENT_SECRET: &str = "warden-test-secret";
    /// Default redirect URI, until [`OidcProvider::set_redirect_uri`].
    pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";

    /// Starts the provider as a task on the current tokio runtime (call it from async tests;
    /// with a current-thread runtime, do not block the thread while talking to it).
    pub fn start(users: Vec<OidcUser>) -> Result<Self> {
        let (listener, shared) = Self::prepare(users)?;
        let server = BackgroundServer::spawn(listener, endpoints::router(Arc::clone(&shared)))?;
        Ok(Self { shared, server })
    }

    /// Starts the provider on its own thread and runtime, for synchronous tests.
    pub fn start_blocking(users: Vec<OidcUser>) -> Result<Self> {
        let (listener, shared) = Self::prepare(users)?;
        let router = endpoints::router(Arc::clone(&shared));
        let server = BackgroundServer::spawn_blocking(listener, router, "warden-testkit-oidc")?;
        Ok(Self { shared, server })
    }

    fn prepare(users: Vec<OidcUser>) -> Result<(Listener, Arc<Shared>)> {
        let keys = keys::Keys::generate()?;
        let listener = Listener::bind()?;
        let issuer = listener.base_url();
        let state = Mutex::new(ProviderState::new(users));
        Ok((listener, Arc::new(Shared { issuer, keys, state })))
    }

    /// The issuer: the base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// The socket address the provider listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// `ISSUER/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The registered client id.
    pub fn client_id(&self) -> String {
        self.shared.lock().config.client_id.clone()
    }

    /// The registered client secret.
    pub fn client_secret(&self) -> String {
        self.shared.lock().config.client_secret.clone()
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> String {
        self.shared.lock().config.redirect_uri.clone()
    }

    /// Registers the client's credentials.
    pub fn set_client(&self, client_id: impl Into<String>, client_secret: impl Into<String>) {
        let mut state = self.shared.lock();
        state.config.client_id = client_id.into();
        state.config.client_secret = client_secret.into();
    }

    /// Registers the one redirect URI `/authorize` accepts (compared exactly).
    pub fn set_redirect_uri(&self, redirect_uri: impl Into<String>) {
        self.shared.lock().config.redirect_uri = redirect_uri.into();
    }

    /// Adds a user.
    pub fn add_user(&self, user: OidcUser) {
        self.shared.lock().users.push(user);
    }

    /// The user signed in when `/authorize` has no `login_hint` (`None`: such requests are
    /// denied with `login_required`).
    pub fn set_default_user(&self, sub: Option<&str>) {
        self.shared.lock().config.default_user = sub.map(str::to_owned);
    }

    /// Makes every ID token issued from now on carry `fault` (`None`: well-formed tokens again).
    pub fn set_fault(&self, fault: Option<IdTokenFault>) {
        self.shared.lock().config.fault = fault;
    }

    /// The algorithm ID tokens are signed with from now on (RS256 by default).
    pub fn set_signing_alg(&self, alg: SigningAlg) {
        self.shared.lock().config.alg = alg;
    }

    /// How long an authorization code can be exchanged (60 s by default).
    pub fn set_code_lifetime(&self, lifetime: Duration) {
        self.shared.lock().config.code_lifetime = lifetime;
    }

    /// Every `/authorize` request so far, oldest first.
    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        self.shared.lock().authorize_requests.clone()
    }

    /// The latest `/authorize` request.
    pub fn last_authorize_request(&self) -> Option<AuthorizeRequest> {
        self.shared.lock().authorize_requests.last().cloned()
    }

    /// Every `/token` request so far, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.lock().token_requests.clone()
    }

    /// The latest `/token` request.
    pub fn last_token_request(&self) -> Option<TokenRequest> {
        self.shared.lock().token_requests.last().cloned()
    }
}

/// What the endpoints share.
struct Shared {
    issuer: String,
    keys: keys::Keys,
    state: Mutex<ProviderState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ProviderState> {
        // A panicking assertion elsewhere must not take the provider down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Config {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    default_user: Option<String>,
    fault: Option<IdTokenFault>,
    alg: SigningAlg,
    code_lifetime: Duration,
    token_lifetime: Duration,
}

struct ProviderState {
    config: Config,
    users: Vec<OidcUser>,
    codes: HashMap<String, IssuedCode>,
    access_tokens: HashMap<String, IssuedAccessToken>,
    authorize_requests: Vec<AuthorizeRequest>,
    token_requests: Vec<TokenRequest>,
}

impl ProviderState {
    fn new(users: Vec<OidcUser>) -> Self {
        let config = Config {
            client_id: OidcProvider::DEFAULT_CLIENT_ID.to_owned(),
            client_secret: OidcProvider::DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uri: OidcProvider::DEFAULT_REDIRECT_URI.to_owned(),
            default_user: users.first().map(|u| u.sub.clone()),
            fault: None,
            alg: SigningAlg::default(),
            code_lifetime: Duration::from_secs(60),
            token_lifetime: Duration::from_secs(3600),
        };
        Self {
            config,
            users,
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            authorize_requests: Vec::new(),
            token_requests: Vec::new(),
        }
    }
}

/// An authorization code and what it was issued for.
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
    scope: String,
    user: OidcUser,
    expires: Instant,
    /// Set by the first exchange attempt: codes are single-use even when the attempt fails.
    redeemed: bool,
    /// Revoked if the code is presented again (RFC 6749 section 4.1.2).
    access_token: Option<String>,
}

struct IssuedAccessToken {
    user: OidcUser,
    expires: Instant,
}
