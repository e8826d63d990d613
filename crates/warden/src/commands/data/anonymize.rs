//! `warden data anonymize` (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;

/// Arguments of `warden data anonymize` (being built).
#[derive(Debug, Args)]
pub struct AnonymizeArgs {}

/// Runs `warden data anonymize`.
pub fn run(_args: &AnonymizeArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data anonymize is being built")
}
