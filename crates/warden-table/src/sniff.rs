//! Format and compression sniffing from content bytes.

/// A tabular file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Comma- (or `;`, tab, `|`) separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// The lowercase name (`csv`, `jsonl`, `parquet`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
        }
    }
}

impl std::fmt::Display for TableFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A whole-file compression wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952), possibly multi-member.
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Sniffs the compression from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

impl TableFormat {
    /// Sniffs the format from the first (decompressed) bytes: `PAR1` magic is Parquet, a first
    /// line that is a JSON object is JSONL, anything else is CSV.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(b"PAR1") {
            return Self::Parquet;
        }
        let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
        let body = &body[start..];
        if body.first() != Some(&b'{') {
            return Self::Csv;
        }
        let line = match body.iter().position(|&b| b == b'\n') {
            Some(end) => &body[..end],
            // A first line longer than the sniffed head: an opening brace is enough.
            None => return Self::Jsonl,
        };
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) if v.is_object() => Self::Jsonl,
            _ => Self::Csv,
        }
    }
}

/// Picks the CSV delimiter from the header line: the candidate that occurs most, comma on ties.
pub(crate) fn csv_delimiter(head: &[u8]) -> u8 {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = &head[..line_end];
    let mut best = (b',', 0usize);
    for cand in [b',', b';', b'\t', b'|'] {
        let mut in_quotes = false;
        let mut n = 0;
        for &b in line {
            if b == b'"' {
                in_quotes = !in_quotes;
            } else if b == cand && !in_quotes {
                n += 1;
            }
        }
        if n > best.1 {
            best = (cand, n);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_from_content() {
        assert_eq!(TableFormat::sniff(b"PAR1...."), TableFormat::Parquet);
        assert_eq!(TableFormat::sniff(b"{\"a\":1}\n{\"a\":2}\n"), TableFormat::Jsonl);
        assert_eq!(TableFormat::sniff(b"\xef\xbb\xbf  {\"a\":1}\n"), TableFormat::Jsonl);
        assert_eq!(TableFormat::sniff(b"a,b\n1,2\n"), TableFormat::Csv);
        assert_eq!(TableFormat::sniff(b"{not json\n"), TableFormat::Csv);
        assert_eq!(TableFormat::sniff(b"[1,2]\n"), TableFormat::Csv);
    }

    #[test]
    fn sniffs_compression_and_delimiters() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(Compression::sniff(b"a,b"), Compression::None);
        assert_eq!(csv_delimiter(b"a;b;c\n1;2;3"), b';');
        assert_eq!(csv_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(csv_delimiter(b"\"x;y\",b\n"), b',');
        assert_eq!(csv_delimiter(b"single\n"), b',');
    }
}
