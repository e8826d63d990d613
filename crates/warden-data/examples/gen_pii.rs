//! Writes warden's deterministic labelled PII data for benchmarks:
//!
//! ```text
//! cargo run --release -p warden-data --example gen_pii -- OUT_DIR [RECORDS] [TABLE_ROWS] [SEED]
//! ```
//!
//! - `OUT_DIR/labelled.jsonl`: one `{"locale", "text", "spans": [{"start","end","entity"}]}` per
//!   record (character offsets);
//! - `OUT_DIR/labelled.txt`: the same texts, one per line (line N = record N-1);
//! - `OUT_DIR/people.csv`: a table of TABLE_ROWS rows (`warden_data::synth::TABLE_COLUMNS`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use warden_data::synth::{TABLE_COLUMNS, csv_field, labelled_texts, table_row};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        return Err(std::io::Error::other("usage: gen_pii OUT_DIR [RECORDS] [TABLE_ROWS] [SEED]"));
    };
    let number = |i: usize, default: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (records, rows, seed) = (number(1, 5000), number(2, 0), number(3, 2026));
    std::fs::create_dir_all(&dir)?;
    let mut jsonl = BufWriter::new(std::fs::File::create(dir.join("labelled.jsonl"))?);
    let mut txt = BufWriter::new(std::fs::File::create(dir.join("labelled.txt"))?);
    for rec in labelled_texts(records as usize, seed) {
        writeln!(jsonl, "{}", serde_json::to_string(&rec).map_err(std::io::Error::other)?)?;
        writeln!(txt, "{}", rec.text)?;
    }
    jsonl.flush()?;
    txt.flush()?;
    if rows > 0 {
        let mut csv = BufWriter::new(std::fs::File::create(dir.join("people.csv"))?);
        writeln!(csv, "{}", TABLE_COLUMNS.join(","))?;
        for r in 0..rows {
            let cells: Vec<String> = table_row(seed, r).iter().map(|c| csv_field(c)).collect();
            writeln!(csv, "{}", cells.join(","))?;
        }
        csv.flush()?;
    }
    Ok(())
}
