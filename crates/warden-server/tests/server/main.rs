//! The server's integration tests, one module per area, in one test binary: every module starts
//! real servers (SQLite, or PostgreSQL with `WARDEN_TEST_DB=postgres`) and talks HTTP to them.
//! One binary instead of one per file: each links the whole server, and a dozen such links
//! filled the CI machine's disk and took minutes each on two cores.

mod common;
mod playbooks_support;

mod browser;
mod cluster;
mod gateway;
mod identity;
mod incidents;
mod inventory;
mod matrix;
mod oidc;
mod openapi;
mod platform;
mod playbooks;
mod registry;
