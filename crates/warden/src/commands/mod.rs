//! One module per subcommand; each returns an [`ExitStatus`].

mod rules;
mod scan;

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
    }
}
