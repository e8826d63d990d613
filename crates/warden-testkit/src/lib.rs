//! Fixtures for warden's integration tests, which drive real servers: a throwaway PostgreSQL
//! cluster ([`postgres`]), an OpenID Connect provider ([`oidc`]) and a webhook receiver
//! ([`webhook`]).
//!
//! A dev-dependency only: nothing here is hardened for production, and it depends on no other
//! warden crate, so any crate's tests can use it. The HTTP fixtures listen on 127.0.0.1 with a
//! port chosen by the OS and stop when dropped; each offers `start` (a task on the caller's tokio
//! runtime) and `start_blocking` (a thread with its own runtime, for synchronous tests).
//!
//! ```no_run
//! use warden_testkit::oidc::{OidcProvider, OidcUser};
//! use warden_testkit::postgres::PgCluster;
//! use warden_testkit::webhook::WebhookReceiver;
//!
//! # async fn example() -> warden_testkit::Result<()> {
//! let database_url = PgCluster::shared()?.new_database("login_creates_a_session")?;
//! let idp = OidcProvider::start(vec![OidcUser::new("alice", "alice@example.com")])?;
//! let hooks = WebhookReceiver::start();
//! // ... start the server under test with database_url, idp.issuer() and hooks.url() ...
//! # Ok(())
//! # }
//! ```

mod error;
pub mod oidc;
pub mod postgres;
mod server;
pub mod webhook;

pub use error::{Error, Result};
