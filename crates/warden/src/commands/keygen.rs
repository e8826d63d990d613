//! `warden keygen` (being built).

use clap::Args;

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden keygen` (being built).
#[derive(Debug, Args)]
pub struct KeygenArgs {}

/// Runs `warden keygen`.
pub fn run(_args: &KeygenArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("warden keygen is being built")
}
