//! The `warden` command-line interface: parses arguments, sets up logging, runs one command and
//! turns its outcome into an exit code. All real work lives in the library crates.

mod cli;
mod commands;
mod logging;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::ExitStatus;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(&cli.global);
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitStatus::Success.into();
            }
            #[allow(clippy::print_stderr)]
            {
                eprintln!("warden: error: {err:#}");
            }
            ExitStatus::Error.into()
        }
    }
}
