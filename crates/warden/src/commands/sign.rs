//! `warden sign` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden sign` (being built).
#[derive(Debug, Args)]
pub struct SignArgs {}

/// Runs `warden sign`.
pub fn run(_args: &SignArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden sign is being built")
}
