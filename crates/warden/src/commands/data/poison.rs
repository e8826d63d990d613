//! `warden data poison` (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;

/// Arguments of `warden data poison` (being built).
#[derive(Debug, Args)]
pub struct PoisonArgs {}

/// Runs `warden data poison`.
pub fn run(_args: &PoisonArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data poison is being built")
}
