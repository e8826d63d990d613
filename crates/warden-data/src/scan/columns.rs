//! Tables: every cell of every column is scanned (columns in parallel, batch by batch), and each
//! column gets a verdict from its match shares and its name.

use std::collections::BTreeMap;

use arrow_array::{Array, StringArray};
use rayon::prelude::*;
use serde::Serialize;
use warden_core::Location;
use warden_table::TableReader;

use super::{Collector, ScanOptions, finding_for};
use crate::pii::{Detection, Detector, Entity};

/// Running statistics of one column.
#[derive(Debug, Clone, Default)]
pub struct ColumnStats {
    /// Non-null, non-empty cells scanned.
    pub non_empty: u64,
    /// Per entity: cells with at least one match, and the sum of their best scores.
    pub entities: BTreeMap<Entity, (u64, f64)>,
}

/// The verdict for one table column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnVerdict {
    /// The file.
    pub path: String,
    /// The column name.
    pub column: String,
    /// Rows scanned (all rows, or the sample).
    pub rows_scanned: u64,
    /// Non-null, non-empty cells among them.
    pub non_empty: u64,
    /// The entity the column holds, when the evidence is strong enough.
    pub entity: Option<Entity>,
    /// Share of non-empty cells matching `entity` (0..1).
    pub share: f64,
    /// Confidence in the verdict (0..1): mean match score x (0.5 + share / 2), +0.15 when the
    /// column name suggests the same entity.
    pub confidence: f64,
    /// The entity the column name suggests, if any.
    pub name_hint: Option<Entity>,
    /// Cells matching each entity found in the column.
    pub matched_cells: BTreeMap<Entity, u64>,
    /// True when only a sample of rows was scanned (`--sample-rows`).
    pub sampled: bool,
}

/// Least share of matching cells for a verdict without a name hint.
const MIN_SHARE: f64 = 0.05;

/// Scans every batch of `reader`; returns rows scanned and one verdict per column.
pub(crate) fn scan_table(
    detector: &Detector,
    reader: TableReader,
    path: &str,
    opts: &ScanOptions,
    collector: &mut Collector,
) -> Result<(u64, Vec<ColumnVerdict>), String> {
    let schema = reader.schema();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let hints: Vec<Option<Entity>> = names.iter().map(|n| detector.column_hint(n)).collect();
    collector.set_columns(names.clone());
    let mut stats: Vec<ColumnStats> = vec![ColumnStats::default(); names.len()];
    let mut rows: u64 = 0;
    let mut sampled = false;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let mut take = batch.num_rows();
        if let Some(limit) = opts.sample_rows {
            let left = limit.saturating_sub(rows);
            if left < take as u64 {
                take = left as usize;
                sampled = true;
            }
        }
        if take == 0 {
            sampled = true;
            break;
        }
        let columns: Vec<StringArray> = batch
            .columns()
            .iter()
            .map(|c| warden_table::column_as_strings(c.as_ref()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let results: Vec<Vec<(usize, Vec<Detection>)>> = columns
            .par_iter()
            .enumerate()
            .map(|(c, array)| {
                (0..take)
                    .filter(|&r| array.is_valid(r))
                    .filter_map(|r| {
                        let found = detector.detect(array.value(r), hints[c], &opts.detect);
                        (!found.is_empty()).then_some((r, found))
                    })
                    .collect()
            })
            .collect();
        for (c, (array, found)) in columns.iter().zip(results).enumerate() {
            let st = &mut stats[c];
            st.non_empty += (0..take).filter(|&r| array.is_valid(r) && !array.value(r).is_empty()).count() as u64;
            for (r, detections) in found {
                let cell = array.value(r);
                let row = rows + r as u64;
                let mut best: BTreeMap<Entity, f32> = BTreeMap::new();
                for d in &detections {
                    let e = best.entry(d.entity).or_default();
                    *e = e.max(d.score);
                    collector.add(opts, Some(c), d.entity, || {
                        let mut loc = Location::file(path);
                        loc.row = Some(row);
                        loc.column = Some(names[c].clone());
                        finding_for(d, cell, loc, &format!("in column `{}`, row {row}", names[c]))
                    });
                }
                for (entity, score) in best {
                    let e = st.entities.entry(entity).or_default();
                    e.0 += 1;
                    e.1 += f64::from(score);
                }
            }
        }
        rows += take as u64;
        if sampled {
            break;
        }
    }
    let verdicts = names
        .iter()
        .zip(stats)
        .zip(&hints)
        .map(|((name, st), hint)| verdict(path, name, rows, &st, *hint, sampled))
        .collect();
    Ok((rows, verdicts))
}

/// The verdict for one column from its statistics.
pub fn verdict(path: &str, column: &str, rows: u64, st: &ColumnStats, hint: Option<Entity>, sampled: bool) -> ColumnVerdict {
    let best = st.entities.iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| (Some(*b.0) == hint).cmp(&(Some(*a.0) == hint))));
    let (mut entity, mut share, mut confidence) = (None, 0.0, 0.0);
    if let Some((&e, &(cells, score_sum))) = best {
        let s = cells as f64 / st.non_empty.max(1) as f64;
        if s >= MIN_SHARE || hint == Some(e) {
            entity = Some(e);
            share = s;
            let mean = score_sum / cells.max(1) as f64;
            confidence = (mean * (0.5 + s / 2.0) + if hint == Some(e) { 0.15 } else { 0.0 }).min(1.0);
        }
    }
    ColumnVerdict {
        path: path.to_owned(),
        column: column.to_owned(),
        rows_scanned: rows,
        non_empty: st.non_empty,
        entity,
        share: (share * 10_000.0).round() / 10_000.0,
        confidence: (confidence * 1000.0).round() / 1000.0,
        name_hint: hint,
        matched_cells: st.entities.iter().map(|(e, (c, _))| (*e, *c)).collect(),
        sampled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_needs_share_or_a_matching_name() {
        let mut st = ColumnStats { non_empty: 100, ..ColumnStats::default() };
        st.entities.insert(Entity::Email, (90, 81.0));
        st.entities.insert(Entity::Person, (2, 1.2));
        let v = verdict("t.csv", "contact", 100, &st, None, false);
        assert_eq!(v.entity, Some(Entity::Email));
        assert!((v.share - 0.9).abs() < 1e-9 && v.confidence > 0.8);
        let mut weak = ColumnStats { non_empty: 100, ..ColumnStats::default() };
        weak.entities.insert(Entity::Person, (1, 0.6));
        assert_eq!(verdict("t.csv", "notes", 100, &weak, None, false).entity, None);
        assert_eq!(verdict("t.csv", "name", 100, &weak, Some(Entity::Person), false).entity, Some(Entity::Person));
    }
}
