//! `warden fairness`: group fairness metrics (Fairlearn's names and values), the four-fifths
//! rule, reweighing weights and per-group threshold suggestions.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use warden_core::render::{ToolInfo, sarif, table};
use warden_core::Report;
use warden_monitor::fairness::{self, FairnessReport, Outcome, is_positive};
use warden_table::ReadOptions;

use super::ExitStatus;
use crate::cli::{GlobalArgs, SeverityArg};
use crate::output;

/// Report formats of `warden fairness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FairnessFormat {
    /// Metrics and findings as tables.
    Table,
    /// The metrics document (Fairlearn's names) with a `findings` array.
    Json,
    /// The findings as SARIF 2.1.0.
    Sarif,
}

/// Arguments of `warden fairness`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.")]
pub struct FairnessArgs {
    /// The dataset with true labels, predictions and sensitive attributes.
    pub data: PathBuf,
    /// Column of true labels.
    #[arg(long, value_name = "COL")]
    pub y_true: String,
    /// Column of predicted labels.
    #[arg(long, value_name = "COL")]
    pub y_pred: String,
    /// Sensitive attribute column (repeat for intersectional groups).
    #[arg(long = "sensitive", value_name = "COL", required = true)]
    pub sensitive: Vec<String>,
    /// Score column: suggests per-group thresholds equalising true positive rates.
    #[arg(long, value_name = "COL")]
    pub score: Option<String>,
    /// The positive label (default: 1, 1.0, true or yes).
    #[arg(long)]
    pub pos_label: Option<String>,
    /// Write the dataset with a Kamiran & Calders `reweighing_weight` column to FILE (same format
    /// and compression as the input).
    #[arg(long, value_name = "FILE")]
    pub reweigh_output: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FairnessFormat,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "medium")]
    pub fail_on: SeverityArg,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `warden fairness`.
pub fn run(args: &FairnessArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    // Inferred types, so a Parquet input keeps its schema in --reweigh-output.
    let reader = warden_table::open(&args.data, &ReadOptions { infer_types: true, ..ReadOptions::default() }).with_context(|| format!("reading `{}`", args.data.display()))?;
    let (format, compression, schema) = (reader.format(), reader.compression(), reader.schema());
    let batches = reader.collect::<Result<Vec<_>, _>>().with_context(|| format!("reading `{}`", args.data.display()))?;
    let labels = |col: &str| warden_monitor::columns::labels(&batches, col).with_context(|| format!("column `{col}`"));
    let pos = args.pos_label.as_deref();
    let y_true = labels(&args.y_true)?;
    let y_pred = labels(&args.y_pred)?;
    let sensitive: Vec<Vec<Option<String>>> = args.sensitive.iter().map(|c| labels(c)).collect::<Result<_, _>>()?;
    let scores: Option<Vec<f64>> = match &args.score {
        Some(col) => Some(
            labels(col)?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_deref()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .with_context(|| format!("row {}: score column `{col}` is not a number", i + 1))
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        None => None,
    };
    let mut outcomes = Vec::with_capacity(y_true.len());
    let mut groups = Vec::with_capacity(y_true.len());
    for i in 0..y_true.len() {
        let (Some(t), Some(p)) = (&y_true[i], &y_pred[i]) else {
            anyhow::bail!("row {}: missing label or prediction", i + 1);
        };
        outcomes.push(Outcome { y_true: is_positive(t, pos), y_pred: is_positive(p, pos) });
        groups.push(sensitive.iter().map(|col| col[i].clone().unwrap_or_default()).collect::<Vec<_>>());
    }
    let report = fairness::fairness(&args.sensitive, &groups, &outcomes, scores.as_deref())?;
    if let Some(path) = &args.reweigh_output {
        let weights = fairness::reweighing_weights(&groups, &outcomes);
        write_weights(path, format, compression, &schema, &batches, &weights)?;
    }
    let findings = Report { findings: fairness::findings(&report, &args.data.display().to_string()), files: Vec::new() };
    output::write(args.output.as_deref(), &render(&report, &findings, args.format)?)?;
    let fail = args.fail_on.threshold();
    Ok(if fail.is_some_and(|t| findings.has_at_or_above(t)) { ExitStatus::Findings } else { ExitStatus::Success })
}

fn write_weights(
    path: &std::path::Path,
    format: warden_table::TableFormat,
    compression: warden_table::Compression,
    schema: &warden_table::SchemaRef,
    batches: &[warden_table::RecordBatch],
    weights: &[f64],
) -> anyhow::Result<()> {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("reweighing_weight", DataType::Float64, false));
    let out_schema = Arc::new(Schema::new(fields));
    let mut writer = warden_table::TableWriter::create(path, format, compression, out_schema.clone())?;
    let mut offset = 0;
    for b in batches {
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols.push(Arc::new(Float64Array::from(weights[offset..offset + b.num_rows()].to_vec())));
        offset += b.num_rows();
        writer.write(&RecordBatch::try_new(out_schema.clone(), cols)?)?;
    }
    writer.finish()?;
    Ok(())
}

fn pct(x: f64) -> String {
    if x.is_nan() { "n/a".into() } else { format!("{x:.4}") }
}

fn render(report: &FairnessReport, findings: &Report, format: FairnessFormat) -> anyhow::Result<String> {
    Ok(match format {
        FairnessFormat::Json => {
            let mut doc = serde_json::to_value(report)?;
            doc["findings"] = serde_json::to_value(&findings.findings)?;
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        FairnessFormat::Sarif => {
            let tool = ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules: warden_monitor::rule::rule_infos() };
            sarif::to_string(findings, &tool)? + "\n"
        }
        FairnessFormat::Table => {
            let mut s = format!("sensitive features: {}\n\n", report.sensitive_features.join(", "));
            s.push_str(&format!(
                "{:<24} {:>8} {:>14} {:>18} {:>19} {:>9} {:>16}\n",
                "group", "count", "selection_rate", "true_positive_rate", "false_positive_rate", "accuracy", "disparate_impact"
            ));
            let overall = std::iter::once(&report.overall);
            for g in overall.chain(&report.by_group) {
                let name = if g.group.is_empty() { "(overall)".to_owned() } else { g.group.join(",") };
                s.push_str(&format!(
                    "{:<24} {:>8} {:>14} {:>18} {:>19} {:>9} {:>16}\n",
                    name,
                    g.count,
                    pct(g.selection_rate),
                    pct(g.true_positive_rate),
                    pct(g.false_positive_rate),
                    pct(g.accuracy),
                    g.disparate_impact.map_or("-".into(), pct)
                ));
            }
            for (k, v) in [
                ("demographic_parity_difference", report.demographic_parity_difference),
                ("demographic_parity_ratio", report.demographic_parity_ratio),
                ("equalized_odds_difference", report.equalized_odds_difference),
                ("equalized_odds_ratio", report.equalized_odds_ratio),
                ("equal_opportunity_difference", report.equal_opportunity_difference),
                ("equal_opportunity_ratio", report.equal_opportunity_ratio),
            ] {
                s.push_str(&format!("\n{k:<30} {}", pct(v)));
            }
            s.push_str(&format!(
                "\nfour-fifths rule               {}\n",
                if report.four_fifths_rule_satisfied { "satisfied" } else { "violated" }
            ));
            if let Some(t) = &report.threshold_suggestions {
                s.push_str("\nsuggested thresholds (equal opportunity):\n");
                for x in t {
                    s.push_str(&format!(
                        "  {:<22} threshold {:.4}  tpr {:.4}  selection_rate {:.4}\n",
                        x.group.join(","),
                        x.threshold,
                        x.true_positive_rate,
                        x.selection_rate
                    ));
                }
            }
            s.push('\n');
            s + &table::to_string(findings)
        }
    })
}

