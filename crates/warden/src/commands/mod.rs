//! One module per subcommand; each returns an [`ExitStatus`].

pub mod assess;
pub mod atlas;
pub mod audit;
pub mod data;
pub mod decrypt;
pub mod drift;
pub mod encrypt;
pub mod fairness;
pub mod hash;
pub mod keygen;
pub mod monitor;
mod rules;
mod scan;
pub mod serve;
pub mod sign;
pub mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: nothing at or above the threshold.
    Success,
    /// 1: findings at or above the threshold.
    Findings,
    /// 2: the command failed.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Findings => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&args, &cli.global),
        Command::Rules(args) => rules::run(&args),
        Command::Hash(args) => hash::run(&args, &cli.global),
        Command::Sign(args) => sign::run(&args, &cli.global),
        Command::Verify(args) => verify::run(&args, &cli.global),
        Command::Keygen(args) => keygen::run(&args, &cli.global),
        Command::Encrypt(args) => encrypt::run(&args, &cli.global),
        Command::Decrypt(args) => decrypt::run(&args, &cli.global),
        Command::Data(args) => data::run(&args, &cli.global),
        Command::Drift(args) => drift::run(&args, &cli.global),
        Command::Fairness(args) => fairness::run(&args, &cli.global),
        Command::Monitor(args) => monitor::run(&args, &cli.global),
        Command::Assess(args) => assess::run(&args, &cli.global),
        Command::Atlas(args) => atlas::run(&args, &cli.global),
        Command::Serve(args) => serve::run(&args, &cli.global),
        Command::Audit(args) => audit::run(&args, &cli.global),
    }
}
