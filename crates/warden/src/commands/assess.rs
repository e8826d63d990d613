//! `warden assess` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden assess` (being built).
#[derive(Debug, Args)]
pub struct AssessArgs {}

/// Runs `warden assess`.
pub fn run(_args: &AssessArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden assess is being built")
}
