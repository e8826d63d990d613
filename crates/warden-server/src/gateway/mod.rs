//! The inference gateway's side of warden: the block list a gateway in front of a deployment
//! checks before serving a client, the ingestion of the deployment's inference events into the
//! streaming attack detectors of `warden-monitor`, and the ingestion of drift reports.
//!
//! - [`blocks`]: block and lift clients ([`block_client`], [`is_blocked`]), callable by playbooks.
//! - [`memory`]: what one instance keeps in memory (cached block decisions, detectors).
//! - [`ingest`]: `POST /api/v1/deployments/{id}/events` (JSON lines, bounded) fed to one
//!   `warden_monitor` [`Monitor`](warden_monitor::detect::Monitor) per deployment; alerts become
//!   findings (source `traffic`) about `client:<deployment>:<client>`.
//! - [`profile`]: the reference profile of normal inputs per deployment (input anomalies).
//! - [`drift`]: `warden drift --format json` reports on models, deployments and datasets; a
//!   drifting one becomes a `drift.dataset-drift` finding.
//! - [`api`] and [`pages`]: the JSON API and the web UI.
//!
//! Every finding raised here goes to incident intake after its transaction commits.

pub mod api;
pub mod blocks;
pub mod drift;
pub mod ingest;
pub mod memory;
pub mod pages;
pub mod profile;

use warden_core::Rule;

pub use blocks::{BlockRequest, BlockStatus, BlockView, block_client, client_subject, is_blocked};

use crate::routes::Route;

/// Every rule whose findings this area raises: the detectors' (`monitor.*`, from
/// `warden-monitor`) and the drift rule.
pub fn rules() -> Vec<&'static Rule> {
    warden_monitor::detect::RULES.iter().copied().chain([&drift::DATASET_DRIFT]).collect()
}

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    let mut routes = api::routes();
    routes.extend(pages::routes());
    routes
}
