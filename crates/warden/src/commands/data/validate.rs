//! `warden data validate` (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;

/// Arguments of `warden data validate` (being built).
#[derive(Debug, Args)]
pub struct ValidateArgs {}

/// Runs `warden data validate`.
pub fn run(_args: &ValidateArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data validate is being built")
}
