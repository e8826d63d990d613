//! The in-memory table the poisoning detectors work on: numeric columns as `f64` and
//! categorical columns as dictionary codes, so every detector shares one compact layout.

use std::collections::HashMap;

/// One column's cells.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; `None` is a missing cell (NaN is stored as `None` too).
    Numeric(Vec<Option<f64>>),
    /// Category codes into `dictionary`; `None` is a missing cell.
    Categorical {
        /// One code per row.
        codes: Vec<Option<u32>>,
        /// The distinct values, indexed by code.
        dictionary: Vec<String>,
    },
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column name from the dataset header.
    pub name: String,
    /// The cells.
    pub data: ColumnData,
}

impl Column {
    /// A numeric column; non-finite values become missing.
    pub fn numeric(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        let values = values.into_iter().map(|v| v.filter(|x| x.is_finite())).collect();
        Column { name: name.into(), data: ColumnData::Numeric(values) }
    }

    /// A categorical column built from text cells (dictionary in first-seen order).
    pub fn categorical<S: AsRef<str>>(name: impl Into<String>, values: &[Option<S>]) -> Self {
        let mut builder = CategoricalBuilder::default();
        for v in values {
            builder.push(v.as_ref().map(AsRef::as_ref));
        }
        Column { name: name.into(), data: builder.finish() }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell at `row` as text (`None` when missing), for messages and ids.
    pub fn text(&self, row: usize) -> Option<String> {
        match &self.data {
            ColumnData::Numeric(v) => v[row].map(format_number),
            ColumnData::Categorical { codes, dictionary } => codes[row].map(|c| dictionary[c as usize].clone()),
        }
    }
}

/// Formats a number the way CSV writers do: integers without a fractional part.
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// Builds a categorical column cell by cell.
#[derive(Debug, Default)]
pub struct CategoricalBuilder {
    codes: Vec<Option<u32>>,
    dictionary: Vec<String>,
    index: HashMap<String, u32>,
}

impl CategoricalBuilder {
    /// Appends one cell.
    pub fn push(&mut self, value: Option<&str>) {
        let code = value.map(|v| match self.index.get(v) {
            Some(&c) => c,
            None => {
                let c = self.dictionary.len() as u32;
                self.dictionary.push(v.to_owned());
                self.index.insert(v.to_owned(), c);
                c
            }
        });
        self.codes.push(code);
    }

    /// The finished column data.
    pub fn finish(self) -> ColumnData {
        ColumnData::Categorical { codes: self.codes, dictionary: self.dictionary }
    }
}

/// A labelled table: feature columns plus the label and optional id column.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTable {
    /// Feature columns, all of length `rows`.
    pub features: Vec<Column>,
    /// Class index per row (`None` when the label cell is missing).
    pub labels: Vec<Option<u32>>,
    /// Class names, indexed by class.
    pub classes: Vec<String>,
    /// The label column name.
    pub label_name: String,
    /// Row ids for reports (the `--id` column), when given.
    pub ids: Option<Vec<String>>,
}

impl LabelledTable {
    /// Builds a table from columns, taking `label` as the label and `id` (if any) as row ids;
    /// every other column is a feature unless `features` names a subset.
    pub fn from_columns(
        columns: Vec<Column>,
        label: &str,
        id: Option<&str>,
        features: Option<&[String]>,
    ) -> Result<Self, String> {
        let rows = columns.first().map_or(0, Column::len);
        if columns.iter().any(|c| c.len() != rows) {
            return Err("columns have different lengths".into());
        }
        let find = |name: &str| columns.iter().position(|c| c.name == name);
        let label_at = find(label).ok_or_else(|| format!("no label column `{label}`"))?;
        let id_at = match id {
            Some(name) => Some(find(name).ok_or_else(|| format!("no id column `{name}`"))?),
            None => None,
        };
        if let Some(wanted) = features {
            for name in wanted {
                if find(name).is_none() {
                    return Err(format!("no feature column `{name}`"));
                }
                if name == label || Some(name.as_str()) == id {
                    return Err(format!("`{name}` cannot be both a feature and the label or id"));
                }
            }
        }
        let label_col = &columns[label_at];
        let (labels, classes) = match &label_col.data {
            ColumnData::Categorical { codes, dictionary } => (codes.clone(), dictionary.clone()),
            ColumnData::Numeric(values) => {
                let mut builder = CategoricalBuilder::default();
                for v in values {
                    builder.push(v.map(format_number).as_deref());
                }
                (builder.codes, builder.dictionary)
            }
        };
        let ids = id_at.map(|at| (0..rows).map(|r| columns[at].text(r).unwrap_or_default()).collect());
        let features = columns
            .into_iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != label_at
                    && Some(*i) != id_at
                    && features.is_none_or(|wanted| wanted.contains(&c.name))
            })
            .map(|(_, c)| c)
            .collect::<Vec<_>>();
        if features.is_empty() {
            return Err("no feature columns left besides the label and id".into());
        }
        // Features in name order, so results do not depend on the file's column order
        // (JSONL objects have no fixed key order).
        let mut features = features;
        features.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(LabelledTable { features, labels, classes, label_name: label.to_owned(), ids })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// How a row is named in reports: its id when an id column was given, else its 0-based index.
    pub fn row_name(&self, row: usize) -> String {
        match &self.ids {
            Some(ids) => ids[row].clone(),
            None => row.to_string(),
        }
    }
}
