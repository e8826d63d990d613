//! `warden data scan` (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;

/// Arguments of `warden data scan` (being built).
#[derive(Debug, Args)]
pub struct ScanArgs {}

/// Runs `warden data scan`.
pub fn run(_args: &ScanArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden data scan is being built")
}
