//! `warden serve`: the platform. An axum application over one database (SQLite by default,
//! PostgreSQL for several instances) that keeps the inventory of AI assets and their lineage, a
//! model registry whose uploads are scanned and encrypted at rest, users, API keys and single
//! sign-on, Cedar access policies, suspicious-access alerts, and a tamper-evident audit log.
//!
//! Entry points: [`app::start`] runs a server from a [`config::ServerConfig`]; [`routes::table`]
//! lists every route with the action it needs; [`gate::gate`] is the one gate every route passes
//! (authentication, CSRF, Cedar, audit).
//!
//! Invariants: no route is reachable except through the gate (the router is built from the route
//! table only, and a test walks it); every state change is appended to the audit log in the same
//! transaction as the change; secrets (passwords, session tokens, API keys, TOTP seeds, server
//! keys) are never stored or logged in the clear; capability crates are called as libraries
//! (`warden-scan` for uploads, `warden-integrity` for encryption at rest, `warden-audit` for the
//! log's cryptography) and never call back.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = warden_server::config::ServerConfig::new("127.0.0.1:0".parse()?, "/var/lib/warden".into());
//! let server = warden_server::app::start(config).await?;
//! if let Some(link) = server.bootstrap_link() {
//!     println!("create the first administrator at {link}");
//! }
//! server.wait().await?;
//! # Ok(()) }
//! ```

pub mod actor;
pub mod alerts;
pub mod app;
pub mod audit;
pub mod authz;
pub mod config;
pub mod error;
pub mod extract;
pub mod findings;
pub mod gate;
pub mod gateway;
pub mod identity;
pub mod incidents;
pub mod inventory;
pub mod keys;
pub mod metrics;
pub mod playbooks;
pub mod registry;
pub mod routes;
pub mod state;
pub mod store;
pub mod system;
pub mod ui;
