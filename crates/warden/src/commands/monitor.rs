//! `warden monitor` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden monitor` (being built).
#[derive(Debug, Args)]
pub struct MonitorArgs {}

/// Runs `warden monitor`.
pub fn run(_args: &MonitorArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden monitor is being built")
}
