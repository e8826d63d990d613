//! `warden data validate`: checks batches of rows against [`Expectations`] as they stream past,
//! keeping per check a failure count and the first few example rows (0-based). Memory is bounded:
//! uniqueness keeps one 64-bit hash (plus the first row) per distinct value, up to a cap.

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::{Regex, RegexBuilder};
use warden_core::{Finding, Location};

use super::QualityError;
use super::cell::{Cell, ColumnType};
use super::expect::{ColumnExpectations, Expectations};
use super::rules::{self, Check};
use super::sketch::hash_text;

/// Bounds of one validation run.
#[derive(Debug, Clone, Copy)]
pub struct ValidateSettings {
    /// Example rows kept per failed check.
    pub examples: usize,
    /// Distinct values remembered per `unique` column; past it the check stops and says so.
    pub max_unique_values: usize,
}

impl Default for ValidateSettings {
    fn default() -> Self {
        ValidateSettings { examples: 5, max_unique_values: 5_000_000 }
    }
}

#[derive(Debug, Default)]
struct Failure {
    count: u64,
    examples: Vec<(u64, String)>,
}

#[derive(Debug)]
struct ColumnCheck {
    name: String,
    exp: ColumnExpectations,
    regex: Option<Regex>,
    allowed: Option<HashSet<String>>,
    seen: Option<HashMap<u64, u64>>,
    unique_stopped_at: Option<u64>,
    nulls: u64,
    failures: BTreeMap<Check, Failure>,
}

/// Streams rows through the checks.
#[derive(Debug)]
pub struct Validator {
    expectations: Expectations,
    header: Vec<String>,
    checks: Vec<Option<ColumnCheck>>,
    rows: u64,
    settings: ValidateSettings,
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl Validator {
    /// Prepares the checks for a dataset with columns `header` (compiles regexes).
    pub fn new(expectations: Expectations, header: &[String], settings: ValidateSettings) -> Result<Self, QualityError> {
        let mut checks = Vec::new();
        let mut bound = HashSet::new();
        for name in header {
            let Some(exp) = expectations.columns.get(name).filter(|_| bound.insert(name.clone())) else {
                checks.push(None);
                continue;
            };
            let regex = match &exp.regex {
                Some(re) => Some(
                    RegexBuilder::new(&format!("^(?:{re})$"))
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| QualityError::Expectations(format!("column `{name}`: bad regex: {e}")))?,
                ),
                None => None,
            };
            checks.push(Some(ColumnCheck {
                name: name.clone(),
                exp: exp.clone(),
                regex,
                allowed: exp.allowed.as_ref().map(|v| v.iter().map(|s| s.trim().to_owned()).collect()),
                seen: exp.unique.then(HashMap::new),
                unique_stopped_at: None,
                nulls: 0,
                failures: BTreeMap::new(),
            }));
        }
        Ok(Validator { expectations, header: header.to_vec(), checks, rows: 0, settings })
    }

    /// Checks one batch given as columns of text cells, in header order.
    pub fn push_batch(&mut self, columns: &[Vec<Option<&str>>]) {
        let n = columns.first().map_or(0, Vec::len) as u64;
        for (check, cells) in self.checks.iter_mut().zip(columns) {
            let Some(check) = check else { continue };
            for (i, value) in cells.iter().enumerate() {
                check.push(self.rows + i as u64, *value, &self.settings);
            }
        }
        self.rows += n;
    }

    /// The findings for the dataset at `path`.
    pub fn finish(self, path: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        let table = &self.expectations.table;
        let at = |column: Option<&str>, row: Option<u64>| {
            let mut l = Location::file(path);
            l.column = column.map(str::to_owned);
            l.row = row;
            l
        };
        let mut wanted: Vec<&str> = table.required_columns.iter().map(String::as_str).collect();
        wanted.extend(self.expectations.columns.iter().filter(|(_, c)| c.required).map(|(n, _)| n.as_str()));
        wanted.sort_unstable();
        wanted.dedup();
        for name in wanted {
            if !self.header.iter().any(|h| h == name) {
                findings.push(rules::finding(
                    Check::MissingColumn,
                    format!("required column `{name}` is missing"),
                    at(Some(name), None),
                    None,
                ));
            }
        }
        if !table.allow_extra_columns {
            for name in &self.header {
                let known = table.required_columns.contains(name) || self.expectations.columns.contains_key(name);
                if !known {
                    findings.push(rules::finding(
                        Check::ExtraColumn,
                        format!("column `{name}` is not in the expectations and extra columns are not allowed"),
                        at(Some(name), None),
                        None,
                    ));
                }
            }
        }
        let too_few = table.min_rows.filter(|&m| self.rows < m).map(|m| format!("at least {m}"));
        let too_many = table.max_rows.filter(|&m| self.rows > m).map(|m| format!("at most {m}"));
        if let Some(bound) = too_few.or(too_many) {
            findings.push(rules::finding(
                Check::RowCount,
                format!("the table has {} rows; expected {bound}", self.rows),
                at(None, None),
                None,
            ));
        }
        for check in self.checks.into_iter().flatten() {
            if let Some(max) = check.exp.max_null_share {
                let share = if self.rows > 0 { check.nulls as f64 / self.rows as f64 } else { 0.0 };
                if share > max {
                    findings.push(rules::finding(
                        Check::NullShare,
                        format!(
                            "column `{}`: {} of {} cells ({:.2}%) are missing; at most {:.2}% expected",
                            check.name,
                            check.nulls,
                            self.rows,
                            share * 100.0,
                            max * 100.0
                        ),
                        at(Some(&check.name), None),
                        None,
                    ));
                }
            }
            if let Some(stopped) = check.unique_stopped_at {
                findings.push(rules::finding(
                    Check::UniqueIncomplete,
                    format!(
                        "column `{}`: uniqueness was checked only up to row {stopped} ({} distinct values remembered)",
                        check.name, self.settings.max_unique_values
                    ),
                    at(Some(&check.name), Some(stopped)),
                    None,
                ));
            }
            for (kind, failure) in &check.failures {
                let rows: Vec<String> = failure.examples.iter().map(|(r, _)| r.to_string()).collect();
                let message = format!(
                    "column `{}`: {} of {} rows ({:.2}%) {} (e.g. rows {})",
                    check.name,
                    failure.count,
                    self.rows,
                    failure.count as f64 * 100.0 / self.rows.max(1) as f64,
                    describe(*kind, &check.exp),
                    rows.join(", ")
                );
                let evidence =
                    failure.examples.iter().map(|(r, v)| format!("row {r}: {v}")).collect::<Vec<_>>().join("\n");
                let first = failure.examples.first().map(|(r, _)| *r);
                findings.push(rules::finding(*kind, message, at(Some(&check.name), first), Some(evidence)));
            }
        }
        findings
    }
}

fn describe(kind: Check, exp: &ColumnExpectations) -> String {
    let opt = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
    match kind {
        Check::Type => format!("are not of type {}", exp.column_type.map_or("?", ColumnType::as_str)),
        Check::Null => "are missing in a non-nullable column".into(),
        Check::Range => match (exp.min, exp.max) {
            (Some(_), Some(_)) => format!("are outside [{}, {}]", opt(exp.min), opt(exp.max)),
            (Some(_), None) => format!("are below the minimum {}", opt(exp.min)),
            _ => format!("are above the maximum {}", opt(exp.max)),
        },
        Check::Allowed => "hold a value outside the allowed set".into(),
        Check::Unique => "repeat an earlier value in a unique column".into(),
        Check::Regex => format!("do not match `{}`", exp.regex.as_deref().unwrap_or_default()),
        Check::Length => format!(
            "have a length outside [{}, {}] characters",
            exp.min_length.unwrap_or(0),
            exp.max_length.map_or_else(|| "any".to_owned(), |m| m.to_string())
        ),
        _ => kind.rule().title.to_owned(),
    }
}

impl ColumnCheck {
    fn fail(&mut self, kind: Check, row: u64, value: &str, settings: &ValidateSettings) {
        let f = self.failures.entry(kind).or_default();
        f.count += 1;
        if f.examples.len() < settings.examples {
            f.examples.push((row, excerpt(value)));
        }
    }

    fn push(&mut self, row: u64, value: Option<&str>, settings: &ValidateSettings) {
        let cell = Cell::classify(value);
        let Some(text) = value.map(str::trim).filter(|_| cell != Cell::Null) else {
            self.nulls += 1;
            if self.exp.nullable == Some(false) {
                self.fail(Check::Null, row, "(missing)", settings);
            }
            return;
        };
        if self.exp.column_type.is_some_and(|t| !t.admits(cell)) {
            self.fail(Check::Type, row, text, settings);
        }
        if let Some(x) = cell.number()
            && (self.exp.min.is_some_and(|m| x < m) || self.exp.max.is_some_and(|m| x > m))
        {
            self.fail(Check::Range, row, text, settings);
        }
        if self.allowed.as_ref().is_some_and(|a| !a.contains(text)) {
            self.fail(Check::Allowed, row, text, settings);
        }
        if self.regex.as_ref().is_some_and(|re| !re.is_match(text)) {
            self.fail(Check::Regex, row, text, settings);
        }
        if self.exp.min_length.is_some() || self.exp.max_length.is_some() {
            let len = text.chars().count() as u64;
            if self.exp.min_length.is_some_and(|m| len < m) || self.exp.max_length.is_some_and(|m| len > m) {
                self.fail(Check::Length, row, text, settings);
            }
        }
        if let Some(seen) = &mut self.seen {
            let h = hash_text(text);
            match seen.get(&h) {
                Some(&first) => {
                    let shown = format!("{} (first seen at row {first})", excerpt(text));
                    self.fail(Check::Unique, row, &shown, settings);
                }
                None if seen.len() >= settings.max_unique_values => {
                    self.seen = None;
                    self.unique_stopped_at = Some(row);
                }
                None => {
                    seen.insert(h, row);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expect: &str, header: &[&str], cols: &[Vec<Option<&str>>]) -> Vec<Finding> {
        let header: Vec<String> = header.iter().map(|s| (*s).to_owned()).collect();
        let mut v = Validator::new(Expectations::parse(expect).unwrap(), &header, ValidateSettings::default()).unwrap();
        v.push_batch(cols);
        v.finish("t.csv")
    }

    #[test]
    fn each_check_reports_counts_and_example_rows() {
        let found = run(
            "[table]\nmin_rows = 10\nallow_extra_columns = false\n\
             [columns.age]\ntype = \"integer\"\nmin = 0\nmax = 120\nnullable = false\n\
             [columns.code]\nregex = '[A-Z]{2}'\nunique = true\n\
             [columns.color]\nallowed = [\"red\", \"blue\"]\n[columns.gone]\n",
            &["age", "code", "color", "extra"],
            &[
                vec![Some("30"), Some("x"), Some("200"), None],
                vec![Some("AB"), Some("AB"), Some("abc"), Some("CD")],
                vec![Some("red"), Some("blue"), Some("green"), Some("red")],
                vec![Some("1"), Some("2"), Some("3"), Some("4")],
            ],
        );
        let ids: Vec<&str> = found.iter().map(|f| f.rule_id.as_str()).collect();
        for want in [
            "data.validation.missing-column",
            "data.validation.extra-column",
            "data.validation.row-count",
            "data.validation.type",
            "data.validation.range",
            "data.validation.null",
            "data.validation.regex",
            "data.validation.unique",
            "data.validation.allowed-values",
        ] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
        let range = found.iter().find(|f| f.rule_id.as_str() == "data.validation.range").unwrap();
        assert_eq!(range.location.row, Some(2));
        assert!(range.message.contains("1 of 4 rows"), "{}", range.message);
        let unique = found.iter().find(|f| f.rule_id.as_str() == "data.validation.unique").unwrap();
        assert!(unique.evidence.as_deref().unwrap().contains("first seen at row 0"));
    }

    #[test]
    fn clean_data_passes() {
        let found = run(
            "[columns.n]\ntype = \"float\"\nmin = 0\n",
            &["n"],
            &[vec![Some("1"), Some("2.5"), None]],
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
