//! Cells as the checks see them: every dataset is read as text (CSV, JSONL and Parquet alike) and
//! each cell is typed here, so "does this column hold integers" is a per-cell question whose
//! failures can be counted and shown, not a reader error.

use serde::{Deserialize, Serialize};

/// A typed view of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Missing: no value, an empty string, or a NaN.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A finite or infinite float that is not an integer literal.
    Float(f64),
    /// `true` or `false` (any case).
    Bool(bool),
    /// Anything else.
    Str(&'a str),
}

impl<'a> Cell<'a> {
    /// Types a text cell.
    pub fn classify(value: Option<&'a str>) -> Cell<'a> {
        let Some(text) = value else { return Cell::Null };
        let t = text.trim();
        if t.is_empty() {
            return Cell::Null;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Cell::Int(i);
        }
        // Rust's float parser also takes "inf"/"NaN"; a value must start like a number.
        if (t.as_bytes()[0].is_ascii_digit() || matches!(t.as_bytes()[0], b'-' | b'+' | b'.'))
            && let Ok(f) = t.parse::<f64>()
        {
            return if f.is_nan() { Cell::Null } else { Cell::Float(f) };
        }
        if t.eq_ignore_ascii_case("nan") {
            return Cell::Null;
        }
        if t.eq_ignore_ascii_case("true") {
            return Cell::Bool(true);
        }
        if t.eq_ignore_ascii_case("false") {
            return Cell::Bool(false);
        }
        Cell::Str(text)
    }

    /// The number, for integers and floats.
    pub fn number(self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// The declared or observed type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Every value is an integer.
    Integer,
    /// Every value is a number (integers included).
    Float,
    /// Every value is `true` or `false`.
    Boolean,
    /// Anything (every value satisfies it).
    String,
}

impl ColumnType {
    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::String => "string",
        }
    }

    /// True when a non-null cell satisfies this type.
    pub fn admits(self, cell: Cell<'_>) -> bool {
        match self {
            ColumnType::Integer => matches!(cell, Cell::Int(_)),
            ColumnType::Float => matches!(cell, Cell::Int(_) | Cell::Float(_)),
            ColumnType::Boolean => matches!(cell, Cell::Bool(_)),
            ColumnType::String => true,
        }
    }
}

/// Tallies of cell kinds, from which a column's type is inferred.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeTally {
    /// Integer cells.
    pub ints: u64,
    /// Non-integer numeric cells.
    pub floats: u64,
    /// Boolean cells.
    pub bools: u64,
    /// Other text cells.
    pub strings: u64,
}

impl TypeTally {
    /// Counts one non-null cell.
    pub fn add(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Null => {}
            Cell::Int(_) => self.ints += 1,
            Cell::Float(_) => self.floats += 1,
            Cell::Bool(_) => self.bools += 1,
            Cell::Str(_) => self.strings += 1,
        }
    }

    /// The narrowest type every counted cell satisfies (`None` when there were none).
    pub fn infer(&self) -> Option<ColumnType> {
        let total = self.ints + self.floats + self.bools + self.strings;
        if total == 0 {
            None
        } else if self.ints == total {
            Some(ColumnType::Integer)
        } else if self.ints + self.floats == total {
            Some(ColumnType::Float)
        } else if self.bools == total {
            Some(ColumnType::Boolean)
        } else {
            Some(ColumnType::String)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_from_text() {
        assert_eq!(Cell::classify(None), Cell::Null);
        assert_eq!(Cell::classify(Some("  ")), Cell::Null);
        assert_eq!(Cell::classify(Some("NaN")), Cell::Null);
        assert_eq!(Cell::classify(Some("-42")), Cell::Int(-42));
        assert_eq!(Cell::classify(Some("1e3")), Cell::Float(1000.0));
        assert_eq!(Cell::classify(Some("TRUE")), Cell::Bool(true));
        assert_eq!(Cell::classify(Some("inf")), Cell::Str("inf"));
        assert_eq!(Cell::classify(Some("1.2.3")), Cell::Str("1.2.3"));
        let mut t = TypeTally::default();
        t.add(Cell::Int(1));
        assert_eq!(t.infer(), Some(ColumnType::Integer));
        t.add(Cell::Float(1.5));
        assert_eq!(t.infer(), Some(ColumnType::Float));
        t.add(Cell::Str("x"));
        assert_eq!(t.infer(), Some(ColumnType::String));
        assert!(ColumnType::Float.admits(Cell::Int(3)) && !ColumnType::Integer.admits(Cell::Float(3.5)));
    }
}
