//! JSONL: one JSON object per line. Columns are the keys seen in the first `infer_rows` lines
//! (in first-seen order); keys that first appear later are ignored. Nested values become their
//! compact JSON text.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::Value;

use crate::decompress::{ByteStream, LineGuard};
use crate::{ReadOptions, TableError};

/// The streaming JSONL batch reader.
pub(crate) struct JsonlReader {
    path: PathBuf,
    lines: std::io::BufReader<LineGuard<ByteStream>>,
    schema: SchemaRef,
    index: std::collections::HashMap<String, usize>,
    batch_rows: usize,
    line_no: u64,
    buf: Vec<u8>,
}

/// A JSON object's members in file order (serde_json's `Map` sorts keys without its
/// `preserve_order` feature, which would change every other crate's output).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn parse_object(path: &Path, line_no: u64, line: &[u8]) -> Result<Option<Vec<(String, Value)>>, TableError> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Ok(None);
    }
    match serde_json::from_slice::<Members>(trimmed) {
        Ok(m) => Ok(Some(m.0)),
        Err(e) => Err(TableError::malformed(path, "jsonl", Some(line_no), e.to_string())),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Nothing,
    Int,
    Float,
    Bool,
    Text,
}

fn widen(seen: Seen, v: &Value) -> Seen {
    let this = match v {
        Value::Null => return seen,
        Value::Bool(_) => Seen::Bool,
        Value::Number(n) if n.is_i64() => Seen::Int,
        Value::Number(_) => Seen::Float,
        _ => Seen::Text,
    };
    match (seen, this) {
        (Seen::Nothing, t) => t,
        (a, b) if a == b => a,
        (Seen::Int, Seen::Float) | (Seen::Float, Seen::Int) => Seen::Float,
        _ => Seen::Text,
    }
}

pub(crate) fn build(
    path: &Path,
    sample: &[u8],
    complete: bool,
    stream: ByteStream,
    opts: &ReadOptions,
) -> Result<(SchemaRef, JsonlReader), TableError> {
    let mut names: Vec<String> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut lines = sample.split(|&b| b == b'\n').peekable();
    let mut rows = 0;
    let mut line_no = 0;
    while let Some(line) = lines.next() {
        line_no += 1;
        // The last piece of an incomplete sample may be a cut line.
        if lines.peek().is_none() && !complete {
            break;
        }
        let Some(obj) = parse_object(path, line_no, line)? else { continue };
        for (k, v) in &obj {
            let i = match index.get(k) {
                Some(&i) => i,
                None => {
                    if names.len() >= opts.limits.max_columns {
                        return Err(TableError::limit(path, "column count", opts.limits.max_columns as u64));
                    }
                    index.insert(k.clone(), names.len());
                    names.push(k.clone());
                    seen.push(Seen::Nothing);
                    names.len() - 1
                }
            };
            seen[i] = widen(seen[i], v);
        }
        rows += 1;
        if rows >= opts.infer_rows.max(1) {
            break;
        }
    }
    if names.is_empty() && line_no <= 1 && !complete {
        return Err(TableError::limit(path, "line length", opts.limits.max_line_bytes as u64));
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&seen)
        .map(|(n, s)| {
            let dt = match s {
                Seen::Int if opts.infer_types => DataType::Int64,
                Seen::Float if opts.infer_types => DataType::Float64,
                Seen::Bool if opts.infer_types => DataType::Boolean,
                _ => DataType::Utf8,
            };
            Field::new(n, dt, true)
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let reader = JsonlReader {
        path: path.to_owned(),
        lines: std::io::BufReader::with_capacity(256 * 1024, LineGuard::new(stream, opts.limits.max_line_bytes)),
        schema: schema.clone(),
        index,
        batch_rows: opts.batch_rows.max(1),
        line_no: 0,
        buf: Vec::new(),
    };
    Ok((schema, reader))
}

enum ColumnBuilder {
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

impl ColumnBuilder {
    fn new(dt: &DataType, cap: usize) -> Self {
        match dt {
            DataType::Int64 => Self::Int(Int64Builder::with_capacity(cap)),
            DataType::Float64 => Self::Float(Float64Builder::with_capacity(cap)),
            DataType::Boolean => Self::Bool(BooleanBuilder::with_capacity(cap)),
            _ => Self::Text(StringBuilder::with_capacity(cap, cap * 8)),
        }
    }

    fn append_null(&mut self) {
        match self {
            Self::Int(b) => b.append_null(),
            Self::Float(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::Text(b) => b.append_null(),
        }
    }

    /// Appends `v`, or returns the expected type's name when `v` does not fit.
    fn append(&mut self, v: &Value) -> Result<(), &'static str> {
        if v.is_null() {
            self.append_null();
            return Ok(());
        }
        match self {
            Self::Int(b) => b.append_value(v.as_i64().ok_or("an integer")?),
            Self::Float(b) => b.append_value(v.as_f64().ok_or("a number")?),
            Self::Bool(b) => b.append_value(v.as_bool().ok_or("a boolean")?),
            Self::Text(b) => match v {
                Value::String(s) => b.append_value(s),
                other => b.append_value(other.to_string()),
            },
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::Text(b) => Arc::new(b.finish()),
        }
    }
}

impl JsonlReader {
    /// Reads the next batch, `None` at the end of the stream.
    pub(crate) fn next_batch(&mut self) -> Result<Option<RecordBatch>, TableError> {
        let fields = self.schema.fields();
        let mut builders: Vec<ColumnBuilder> =
            fields.iter().map(|f| ColumnBuilder::new(f.data_type(), self.batch_rows)).collect();
        let mut filled = vec![false; fields.len()];
        let mut rows = 0;
        while rows < self.batch_rows {
            self.buf.clear();
            let n = self.lines.read_until(b'\n', &mut self.buf).map_err(|e| TableError::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            self.line_no += 1;
            let Some(obj) = parse_object(&self.path, self.line_no, &self.buf)? else { continue };
            filled.iter_mut().for_each(|f| *f = false);
            for (k, v) in &obj {
                if let Some(&i) = self.index.get(k) {
                    builders[i].append(v).map_err(|want| {
                        TableError::malformed(
                            &self.path,
                            "jsonl",
                            Some(self.line_no),
                            format!("field {k:?} is not {want} (the type inferred from the first rows)"),
                        )
                    })?;
                    filled[i] = true;
                }
            }
            for (b, f) in builders.iter_mut().zip(&filled) {
                if !f {
                    b.append_null();
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let columns = builders.iter_mut().map(ColumnBuilder::finish).collect();
        RecordBatch::try_new(self.schema.clone(), columns)
            .map(Some)
            .map_err(|e| TableError::malformed(&self.path, "jsonl", Some(self.line_no), e.to_string()))
    }
}
