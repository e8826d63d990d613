//! `warden atlas` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden atlas` (being built).
#[derive(Debug, Args)]
pub struct AtlasArgs {}

/// Runs `warden atlas`.
pub fn run(_args: &AtlasArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden atlas is being built")
}
