//! The expectations file (TOML or JSON) `warden data validate` checks a dataset against, and how
//! a saved profile turns into one (the profile file carries its derived expectations, so it can be
//! passed to `--expectations` as is).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::QualityError;
use super::cell::ColumnType;
use super::profile::Profile;

/// Table-level expectations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableExpectations {
    /// Fewest data rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// Most data rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    /// Columns that must be present (besides those under `[columns]` with `required = true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_columns: Vec<String>,
    /// When false, a column not named in `required_columns` or `[columns]` is a failure.
    #[serde(default = "yes")]
    pub allow_extra_columns: bool,
}

fn yes() -> bool {
    true
}

/// Expectations on one column; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnExpectations {
    /// Whether the column must be present (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Type every non-null value must have.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub column_type: Option<ColumnType>,
    /// When false, any missing cell is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Largest share of missing cells (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_null_share: Option<f64>,
    /// Smallest numeric value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest numeric value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The only values allowed (compared as trimmed text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// Whether every non-null value must be distinct.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// A regular expression every non-null value must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Shortest value, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Longest value, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// A whole expectations file. A profile file is one too: it adds the `profile` section, which
/// validation ignores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Table-level expectations.
    #[serde(default)]
    pub table: TableExpectations,
    /// Per-column expectations, by column name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnExpectations>,
    /// The profile these expectations were derived from, when the file is a saved profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

impl Expectations {
    /// Parses TOML, or JSON when the text starts with `{`; then checks the values make sense.
    pub fn parse(text: &str) -> Result<Self, QualityError> {
        let parsed: Expectations = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| QualityError::Expectations(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| QualityError::Expectations(e.to_string()))?
        };
        parsed.check()?;
        Ok(parsed)
    }

    fn check(&self) -> Result<(), QualityError> {
        let bad = |msg: String| Err(QualityError::Expectations(msg));
        if let (Some(lo), Some(hi)) = (self.table.min_rows, self.table.max_rows)
            && lo > hi
        {
            return bad(format!("table: min_rows {lo} is above max_rows {hi}"));
        }
        for (name, c) in &self.columns {
            if let (Some(lo), Some(hi)) = (c.min, c.max)
                && (lo > hi || lo.is_nan() || hi.is_nan())
            {
                return bad(format!("column `{name}`: min {lo} is above max {hi}"));
            }
            if let (Some(lo), Some(hi)) = (c.min_length, c.max_length)
                && lo > hi
            {
                return bad(format!("column `{name}`: min_length {lo} is above max_length {hi}"));
            }
            if let Some(share) = c.max_null_share
                && !(0.0..=1.0).contains(&share)
            {
                return bad(format!("column `{name}`: max_null_share {share} is not between 0 and 1"));
            }
        }
        Ok(())
    }

    /// Baseline expectations from a profile, with tolerance so a fresh sample of the same data
    /// passes (documented in docs: row count x0.5 to x2, numeric range widened by 10% of its
    /// width, null share up to twice the observed plus 1 point, allowed values when a column has
    /// at most 20 distinct values that repeat, uniqueness when every value was distinct, the
    /// shape regex when every string value had one shape, lengths from half the shortest to 1.5x
    /// the longest).
    pub fn from_profile(profile: &Profile) -> Self {
        let mut columns = BTreeMap::new();
        for col in &profile.columns {
            let non_null = profile.rows - col.nulls;
            let mut e = ColumnExpectations {
                required: true,
                column_type: col.column_type,
                max_null_share: Some(((2.0 * col.null_share + 0.01) * 1e4).ceil().min(1e4) / 1e4),
                ..ColumnExpectations::default()
            };
            if let Some(num) = &col.numeric {
                let slack = 0.1 * (num.max - num.min);
                let (mut lo, mut hi) = (num.min - slack, num.max + slack);
                if col.column_type == Some(ColumnType::Integer) {
                    (lo, hi) = (lo.floor(), hi.ceil());
                }
                e.min = Some(lo);
                e.max = Some(hi);
            }
            let categorical = matches!(col.column_type, Some(ColumnType::String | ColumnType::Boolean));
            if let Some(values) = &col.values
                && categorical
                && (values.len() as u64) * 2 <= non_null
            {
                e.allowed = Some(values.clone());
            }
            if col.distinct_exact && col.distinct == non_null && non_null >= 10 {
                e.unique = true;
            }
            if e.allowed.is_none() {
                if let Some(p) = col.pattern.as_ref().filter(|p| p.share >= 1.0) {
                    e.regex = Some(p.regex.clone());
                }
                if col.column_type == Some(ColumnType::String) {
                    e.min_length = col.min_length.map(|l| l / 2);
                    e.max_length = col.max_length.map(|l| (l * 3).div_ceil(2));
                }
            }
            columns.insert(col.name.clone(), e);
        }
        Expectations {
            table: TableExpectations {
                min_rows: Some(profile.rows / 2),
                max_rows: Some(profile.rows.saturating_mul(2)),
                required_columns: Vec::new(),
                allow_extra_columns: false,
            },
            columns,
            profile: Some(profile.clone()),
        }
    }

    /// The file as TOML.
    pub fn to_toml(&self) -> Result<String, QualityError> {
        toml::to_string(self).map_err(|e| QualityError::Expectations(e.to_string()))
    }

    /// The file as pretty JSON.
    pub fn to_json(&self) -> Result<String, QualityError> {
        serde_json::to_string_pretty(self).map_err(|e| QualityError::Expectations(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_and_rejects_nonsense() {
        let e = Expectations::parse(
            "[table]\nmin_rows = 1\nallow_extra_columns = false\n[columns.age]\ntype = \"integer\"\nmin = 0\nmax = 130\n[columns.email]\nregex = '^\\S+@\\S+$'\nunique = true\n",
        )
        .unwrap();
        assert_eq!(e.columns["age"].column_type, Some(ColumnType::Integer));
        assert!(e.columns["email"].unique && e.columns["email"].required);
        assert!(!e.table.allow_extra_columns);
        assert!(Expectations::parse("[columns.a]\nmin = 5\nmax = 1\n").is_err());
        assert!(Expectations::parse("[columns.a]\ntypo = 1\n").is_err());
        assert!(Expectations::parse("{\"columns\": {\"a\": {\"type\": \"float\"}}}").is_ok());
    }
}
