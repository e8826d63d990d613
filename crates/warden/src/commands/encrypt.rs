//! `warden encrypt` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden encrypt` (being built).
#[derive(Debug, Args)]
pub struct EncryptArgs {}

/// Runs `warden encrypt`.
pub fn run(_args: &EncryptArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden encrypt is being built")
}
