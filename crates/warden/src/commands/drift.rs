//! `warden drift` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden drift` (being built).
#[derive(Debug, Args)]
pub struct DriftArgs {}

/// Runs `warden drift`.
pub fn run(_args: &DriftArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden drift is being built")
}
