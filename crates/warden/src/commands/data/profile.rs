//! `warden data profile` (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;

/// Arguments of `warden data profile` (being built).
#[derive(Debug, Args)]
pub struct ProfileArgs {}

/// Runs `warden data profile`.
pub fn run(_args: &ProfileArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data profile is being built")
}
