//! `warden data`: dataset security subcommands (PII discovery and anonymisation, validation,
//! profiling, poisoning detection).

mod anonymize;
mod poison;
mod profile;
mod scan;
mod validate;

use clap::{Args, Subcommand};

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Find personal data and secrets in datasets and text files.
    Scan(scan::ScanArgs),
    /// Write an anonymised copy of a dataset (operators per entity type from a config file).
    Anonymize(anonymize::AnonymizeArgs),
    /// Check a dataset against a declarative expectations file.
    Validate(validate::ValidateArgs),
    /// Profile a dataset (types, nulls, ranges, distinct values); the profile can serve as expectations.
    Profile(profile::ProfileArgs),
    /// Find poisoned rows in a labelled table: label issues, outliers, duplicates, backdoor triggers.
    Poison(poison::PoisonArgs),
}

/// Runs `warden data <subcommand>`.
pub fn run(args: &DataArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        DataCommand::Scan(a) => scan::run(a, global),
        DataCommand::Anonymize(a) => anonymize::run(a, global),
        DataCommand::Validate(a) => validate::run(a, global),
        DataCommand::Profile(a) => profile::run(a, global),
        DataCommand::Poison(a) => poison::run(a, global),
    }
}
