//! Writes a generated poisoned table and its ground truth as CSV (for `bench/data/poison.sh`):
//! `cargo run --release -p warden-data --example poison_table -- TABLE.csv TRUTH.csv [ROWS] [SEED]`.

#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use warden_data::poison::synthetic::{GenSettings, generate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: poison_table TABLE.csv TRUTH.csv [ROWS] [SEED]");
        return ExitCode::from(2);
    }
    let mut settings = GenSettings::default();
    if let Some(rows) = args.get(2).and_then(|s| s.parse().ok()) {
        settings.rows = rows;
    }
    if let Some(seed) = args.get(3).and_then(|s| s.parse().ok()) {
        settings.seed = seed;
    }
    let table = generate(settings);
    for (path, text) in [(&args[0], table.to_csv()), (&args[1], table.truth_csv())] {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("poison_table: cannot write {path}: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
