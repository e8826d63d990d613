//! The `data.validation.*` rules, one per kind of check.

use warden_core::{Finding, Location, Severity};

use crate::poison::Rule;

/// A kind of validation check; each maps to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A required column is absent.
    MissingColumn,
    /// A column not in the expectations, when extra columns are not allowed.
    ExtraColumn,
    /// Row count outside the expected range.
    RowCount,
    /// Value of the wrong type.
    Type,
    /// Missing value in a non-nullable column.
    Null,
    /// Share of missing values above the maximum.
    NullShare,
    /// Number outside [min, max].
    Range,
    /// Value outside the allowed set.
    Allowed,
    /// Repeated value in a unique column.
    Unique,
    /// Value not matching the regex.
    Regex,
    /// Length outside the bounds.
    Length,
    /// Uniqueness could not be checked to the end (memory bound reached).
    UniqueIncomplete,
}

macro_rules! rule {
    ($name:ident, $id:literal, $sev:ident, $title:literal, $desc:literal, $fix:expr) => {
        /// Validation rule.
        pub static $name: Rule = Rule {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            description: $desc,
            atlas: &[],
            remediation: $fix,
        };
    };
}

const FIX_DATA: &str = "Fix the upstream data or, if the change is intended, update the expectations file.";

rule!(MISSING_COLUMN, "data.validation.missing-column", Medium, "required column missing", "A column the expectations require is absent; downstream code will fail or silently use defaults.", "Restore the column upstream or update the expectations file.");
rule!(EXTRA_COLUMN, "data.validation.extra-column", Medium, "unexpected column", "A column not named in the expectations appeared while extra columns are not allowed; schema drift or leaked fields.", "Remove the column upstream or add it to the expectations file.");
rule!(ROW_COUNT, "data.validation.row-count", Medium, "row count outside the expected range", "Too few rows suggest a truncated export; too many suggest duplication or injection.", "Check the export job; update min_rows/max_rows if the volume changed on purpose.");
rule!(TYPE, "data.validation.type", Medium, "values of the wrong type", "Cells that do not parse as the column's declared type.", FIX_DATA);
rule!(NULL, "data.validation.null", Medium, "missing values in a non-nullable column", "A column declared `nullable = false` has missing cells (absent, empty or NaN).", FIX_DATA);
rule!(NULL_SHARE, "data.validation.null-share", Medium, "too many missing values", "The share of missing cells is above `max_null_share`.", FIX_DATA);
rule!(RANGE, "data.validation.range", Medium, "values outside the expected range", "Numbers below `min` or above `max`; out-of-range values are a common sign of unit changes, corruption or injected rows.", FIX_DATA);
rule!(ALLOWED, "data.validation.allowed-values", Medium, "values outside the allowed set", "Categorical values not in `allowed`.", FIX_DATA);
rule!(UNIQUE, "data.validation.unique", Medium, "repeated values in a unique column", "A column declared `unique = true` repeats values (compared by 64-bit hash of the trimmed text).", "Deduplicate upstream; duplicated keys break joins and leak rows across splits.");
rule!(REGEX, "data.validation.regex", Medium, "values not matching the expected pattern", "Values that do not match the column's `regex` in full.", FIX_DATA);
rule!(LENGTH, "data.validation.length", Medium, "values with an unexpected length", "Values shorter than `min_length` or longer than `max_length` characters.", FIX_DATA);
rule!(UNIQUE_INCOMPLETE, "data.validation.unique-incomplete", Low, "uniqueness checked only in part", "The set of seen values reached its memory bound, so later rows were not checked for repeats.", "Raise the bound (`--max-unique-values`) or check uniqueness in the database that owns the key.");

/// Every validation rule.
pub static RULES: &[&Rule] = &[
    &MISSING_COLUMN,
    &EXTRA_COLUMN,
    &ROW_COUNT,
    &TYPE,
    &NULL,
    &NULL_SHARE,
    &RANGE,
    &ALLOWED,
    &UNIQUE,
    &REGEX,
    &LENGTH,
    &UNIQUE_INCOMPLETE,
];

impl Check {
    /// The rule this check reports under.
    pub fn rule(self) -> &'static Rule {
        match self {
            Check::MissingColumn => &MISSING_COLUMN,
            Check::ExtraColumn => &EXTRA_COLUMN,
            Check::RowCount => &ROW_COUNT,
            Check::Type => &TYPE,
            Check::Null => &NULL,
            Check::NullShare => &NULL_SHARE,
            Check::Range => &RANGE,
            Check::Allowed => &ALLOWED,
            Check::Unique => &UNIQUE,
            Check::Regex => &REGEX,
            Check::Length => &LENGTH,
            Check::UniqueIncomplete => &UNIQUE_INCOMPLETE,
        }
    }
}

/// A finding of `check`.
pub fn finding(check: Check, message: String, location: Location, evidence: Option<String>) -> Finding {
    let mut f = check.rule().finding(message, location);
    f.evidence = evidence;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_namespaced() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert!(ids.iter().all(|id| id.starts_with("data.validation.")));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
