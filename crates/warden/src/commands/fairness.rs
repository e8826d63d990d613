//! `warden fairness` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden fairness` (being built).
#[derive(Debug, Args)]
pub struct FairnessArgs {}

/// Runs `warden fairness`.
pub fn run(_args: &FairnessArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden fairness is being built")
}
