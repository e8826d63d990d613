//! `warden hash` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden hash` (being built).
#[derive(Debug, Args)]
pub struct HashArgs {}

/// Runs `warden hash`.
pub fn run(_args: &HashArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden hash is being built")
}
