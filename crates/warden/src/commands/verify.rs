//! `warden verify` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden verify` (being built).
#[derive(Debug, Args)]
pub struct VerifyArgs {}

/// Runs `warden verify`.
pub fn run(_args: &VerifyArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden verify is being built")
}
