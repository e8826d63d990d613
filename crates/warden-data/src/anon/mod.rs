//! `warden data anonymize`: writes an anonymised copy of a table with operators per column and
//! per detected entity, keeping the input's format, compression and (untouched columns') schema.
//!
//! Transformed columns are written as strings (a pseudonym or `30-39` is not an integer);
//! dropped columns disappear; everything else is byte-for-byte the same value and type. The
//! output is written to a temporary file and renamed, so a failed run leaves nothing behind.
//! `reverse` decrypts FPE columns (with the same key and config) and passes the rest through.

pub mod config;
pub mod kanon;
pub mod ops;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;
use warden_table::{ReadOptions, TableFormat, TableWriter};

use crate::pii::{DetectOptions, Detector, Entity};
pub use config::{AnonConfig, Operator};
pub use kanon::{KAnonReport, KAnonymity};
pub use ops::{Keys, OpError};

/// Settings beyond the config file.
#[derive(Debug, Clone, Default)]
pub struct AnonOptions {
    /// Decrypt FPE columns instead of anonymising.
    pub reverse: bool,
    /// Quasi-identifier columns for the k-anonymity report (empty: no report).
    pub quasi_identifiers: Vec<String>,
    /// Sensitive column for l-diversity.
    pub sensitive: Option<String>,
    /// The k to compare against (default 5 when zero).
    pub k_target: u64,
}

/// What happened to one column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnSummary {
    /// The column.
    pub column: String,
    /// The operator applied (`keep`, `detect`, `fpe`...; `drop`ped columns are absent from the output).
    pub operator: String,
    /// Cells whose value changed.
    pub cells_changed: u64,
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnonSummary {
    /// Input format (`csv`, `jsonl`, `parquet`), kept for the output.
    pub format: String,
    /// Input compression, kept for the output.
    pub compression: String,
    /// Rows written.
    pub rows: u64,
    /// Per column.
    pub columns: Vec<ColumnSummary>,
    /// Detected entities replaced inside `detect` columns.
    pub entities_replaced: BTreeMap<Entity, u64>,
    /// The k-anonymity report, when quasi-identifiers were given.
    pub k_anonymity: Option<KAnonReport>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum AnonError {
    /// Reading or writing the table failed.
    #[error(transparent)]
    Table(#[from] warden_table::TableError),
    /// An operator failed on a value.
    #[error("row {row}, column `{column}`: {source}")]
    Value {
        /// 0-based data row.
        row: u64,
        /// The column.
        column: String,
        /// The cause.
        source: OpError,
    },
    /// The request does not fit the data.
    #[error("{0}")]
    Invalid(String),
}

fn op_name(op: &Operator) -> &'static str {
    match op {
        Operator::Keep => "keep",
        Operator::Detect => "detect",
        Operator::Redact => "redact",
        Operator::Mask { .. } => "mask",
        Operator::Replace { .. } => "replace",
        Operator::Pseudonymize { .. } => "pseudonymize",
        Operator::Fpe { .. } => "fpe",
        Operator::Generalize { .. } => "generalize",
        Operator::Drop => "drop",
    }
}

/// Column plan: the operator, the output field, whether reversing.
struct Plan {
    op: Operator,
    hint: Option<Entity>,
    decrypt: bool,
}

/// Anonymises `input` into `output` (same format and compression).
pub fn anonymize_file(input: &Path, output: &Path, cfg: &AnonConfig, keys: Option<&Keys>, opts: &AnonOptions) -> Result<AnonSummary, AnonError> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize())
        && a == b
    {
        return Err(AnonError::Invalid("the output must not be the input file".into()));
    }
    if cfg.needs_key() && keys.is_none() {
        return Err(AnonError::Invalid("the config uses pseudonymize or fpe: give a key (--key-file, --key-env or [key])".into()));
    }
    // CSV has no types: read every column as text so values are written back unchanged.
    let mut reader = warden_table::open(input, &ReadOptions { infer_types: true, ..ReadOptions::default() })?;
    if reader.format() == TableFormat::Csv {
        reader = warden_table::open(input, &ReadOptions::default())?;
    }
    let (format, compression) = (reader.format(), reader.compression());
    let in_schema = reader.schema();
    let detector = Detector::shipped();
    let plans: Vec<Plan> = in_schema
        .fields()
        .iter()
        .map(|f| {
            let configured = cfg.column_operator(f.name());
            let is_text = matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            let op = match configured {
                Operator::Fpe { .. } if opts.reverse => configured,
                Operator::Drop if !opts.reverse => Operator::Drop,
                _ if opts.reverse => Operator::Keep,
                Operator::Detect if !is_text => Operator::Keep,
                other => other,
            };
            Plan { op, hint: detector.column_hint(f.name()), decrypt: opts.reverse }
        })
        .collect();
    let out_fields: Vec<Field> = in_schema
        .fields()
        .iter()
        .zip(&plans)
        .filter(|(_, p)| p.op != Operator::Drop)
        .map(|(f, p)| if p.op == Operator::Keep { f.as_ref().clone() } else { Field::new(f.name(), DataType::Utf8, true) })
        .collect();
    let out_schema = Arc::new(Schema::new(out_fields));
    let qi_idx = indices(&out_schema, &opts.quasi_identifiers)?;
    let sensitive_idx = match &opts.sensitive {
        Some(s) => Some(indices(&out_schema, std::slice::from_ref(s))?[0]),
        None => None,
    };
    let mut kanon = KAnonymity::default();
    let mut writer = TableWriter::create(output, format, compression, out_schema.clone())?;
    let mut changed = vec![0u64; plans.len()];
    let mut entities_replaced: BTreeMap<Entity, u64> = BTreeMap::new();
    let detect = DetectOptions { threshold: cfg.defaults.threshold, entities: Vec::new() };
    let mut rows: u64 = 0;
    for batch in reader {
        let batch = batch?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(out_schema.fields().len());
        for (c, plan) in plans.iter().enumerate() {
            match &plan.op {
                Operator::Drop => continue,
                Operator::Keep => columns.push(batch.column(c).clone()),
                op => {
                    let name = in_schema.field(c).name();
                    let strings = warden_table::column_as_strings(batch.column(c).as_ref()).map_err(|e| AnonError::Invalid(e.to_string()))?;
                    let mut out: Vec<Option<String>> = Vec::with_capacity(strings.len());
                    for r in 0..strings.len() {
                        if strings.is_null(r) {
                            out.push(None);
                            continue;
                        }
                        let value = strings.value(r);
                        let err = |source| AnonError::Value { row: rows + r as u64, column: name.clone(), source };
                        let new = match op {
                            _ if value.is_empty() => Some(String::new()),
                            Operator::Detect => Some(detect_and_replace(detector, cfg, keys, value, plan.hint, &detect, &mut entities_replaced).map_err(err)?),
                            Operator::Fpe { alphabet, tweak } if plan.decrypt => {
                                Some(ops::fpe(keys.ok_or(OpError::NoKey).map_err(err)?, *alphabet, tweak, value, true).map_err(err)?)
                            }
                            op => ops::apply(op, keys, "<REDACTED>", value).map_err(err)?,
                        };
                        if new.as_deref() != Some(value) {
                            changed[c] += 1;
                        }
                        out.push(new);
                    }
                    columns.push(Arc::new(StringArray::from(out)));
                }
            }
        }
        let out_batch = RecordBatch::try_new(out_schema.clone(), columns).map_err(|e| AnonError::Invalid(e.to_string()))?;
        if !qi_idx.is_empty() {
            track(&mut kanon, &out_batch, &qi_idx, sensitive_idx)?;
        }
        writer.write(&out_batch)?;
        rows += out_batch.num_rows() as u64;
    }
    writer.finish()?;
    Ok(AnonSummary {
        format: format.name().to_owned(),
        compression: format!("{compression:?}").to_lowercase(),
        rows,
        columns: in_schema
            .fields()
            .iter()
            .zip(&plans)
            .zip(changed)
            .map(|((f, p), n)| ColumnSummary { column: f.name().clone(), operator: op_name(&p.op).to_owned(), cells_changed: n })
            .collect(),
        entities_replaced,
        k_anonymity: (!qi_idx.is_empty()).then(|| {
            kanon.report(opts.quasi_identifiers.clone(), opts.sensitive.clone(), if opts.k_target == 0 { 5 } else { opts.k_target })
        }),
    })
}

fn indices(schema: &Schema, names: &[String]) -> Result<Vec<usize>, AnonError> {
    names
        .iter()
        .map(|n| schema.index_of(n).map_err(|_| AnonError::Invalid(format!("column `{n}` is not in the output (dropped or misspelt)"))))
        .collect()
}

fn track(kanon: &mut KAnonymity, batch: &RecordBatch, qi: &[usize], sensitive: Option<usize>) -> Result<(), AnonError> {
    let as_strings = |i: usize| warden_table::column_as_strings(batch.column(i).as_ref()).map_err(|e| AnonError::Invalid(e.to_string()));
    let qi_cols: Vec<StringArray> = qi.iter().map(|&i| as_strings(i)).collect::<Result<_, _>>()?;
    let sens = sensitive.map(as_strings).transpose()?;
    let cell = |a: &StringArray, r: usize| (!a.is_null(r)).then(|| a.value(r).to_owned());
    for r in 0..batch.num_rows() {
        kanon.add(qi_cols.iter().map(|a| cell(a, r)).collect(), sens.as_ref().map(|s| cell(s, r)));
    }
    Ok(())
}

/// Replaces each detected entity in `value` with its operator's output.
pub fn detect_and_replace(
    detector: &Detector,
    cfg: &AnonConfig,
    keys: Option<&Keys>,
    value: &str,
    hint: Option<Entity>,
    opts: &DetectOptions,
    counts: &mut BTreeMap<Entity, u64>,
) -> Result<String, OpError> {
    let found = detector.detect(value, hint, opts);
    if found.is_empty() {
        return Ok(value.to_owned());
    }
    let mut out = value.to_owned();
    for d in found.iter().rev() {
        let op = cfg.entity_operator(d.entity);
        let span = &value[d.start..d.end];
        let replacement = match ops::apply(&op, keys, &d.entity.placeholder(), span)? {
            Some(s) => s,
            None if op == Operator::Redact => String::new(),
            None => d.entity.placeholder(),
        };
        out.replace_range(d.start..d.end, &replacement);
        *counts.entry(d.entity).or_default() += 1;
    }
    Ok(out)
}
