//! `warden decrypt` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden decrypt` (being built).
#[derive(Debug, Args)]
pub struct DecryptArgs {}

/// Runs `warden decrypt`.
pub fn run(_args: &DecryptArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden decrypt is being built")
}
