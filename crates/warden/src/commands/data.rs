//! `warden data` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden data` (being built).
#[derive(Debug, Args)]
pub struct DataArgs {}

/// Runs `warden data`.
pub fn run(_args: &DataArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data is being built")
}
