//! The anonymisation config file (TOML): operators per column and per detected entity, and where
//! the key comes from.
//!
//! ```toml
//! [key]
//! env = "WARDEN_ANON_KEY"        # or: file = "anon.key"  (at least 16 bytes; hex or raw)
//!
//! [defaults]
//! columns = "detect"             # unlisted columns: "detect" (find PII in cells) or "keep"
//! threshold = 0.5
//!
//! [entities]                     # applied to PII detected inside cells
//! email = { op = "pseudonymize" }
//! phone_number = { op = "mask", keep_last = 4 }
//! default = { op = "replace" }   # any other detected entity
//!
//! [columns]                      # whole-column operators
//! ssn = { op = "fpe" }
//! birth_date = { op = "generalize", to = "year" }
//! age = { op = "generalize", width = 10 }
//! internal_id = { op = "drop" }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::pii::Entity;

/// What to do with a value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operator {
    /// Leave it unchanged.
    Keep,
    /// Find PII inside the cell and apply the entity operators to each match (columns only).
    Detect,
    /// Remove it (null for a whole cell, nothing for a match inside text).
    Redact,
    /// Replace every character except the last `keep_last` alphanumerics' positions with `char`.
    Mask {
        /// Characters left visible at the end (default 4).
        #[serde(default = "default_keep_last")]
        keep_last: usize,
        /// The masking character (default `*`).
        #[serde(default = "default_mask_char")]
        char: char,
    },
    /// Replace with a placeholder (`<EMAIL>` for entities, `<REDACTED>` for columns by default).
    Replace {
        /// The placeholder text.
        with: Option<String>,
    },
    /// Keyed pseudonym: HMAC-SHA256(key, domain || value), hex, stable across files and runs.
    Pseudonymize {
        /// Hex characters kept (default 16, at most 64).
        #[serde(default = "default_length")]
        length: usize,
        /// Text written before the hex (default none).
        #[serde(default)]
        prefix: String,
        /// Separates namespaces: the same value in two domains gets two pseudonyms (default "").
        #[serde(default)]
        domain: String,
    },
    /// Format-preserving encryption (NIST FF1, AES-256), reversible with the key.
    Fpe {
        /// `digits` (radix 10) or `alphanumeric` (radix 62); other characters stay in place.
        #[serde(default)]
        alphabet: FpeAlphabet,
        /// Tweak (public, like a salt); the same tweak is needed to decrypt.
        #[serde(default)]
        tweak: String,
    },
    /// Coarser values: dates to year or month, numbers to ranges.
    Generalize {
        /// For dates: `year` or `month`.
        to: Option<DateGranularity>,
        /// For numbers: ranges of this width (`37` -> `30-39`).
        width: Option<u32>,
        /// For numbers: ascending bin edges (`[0, 18, 65]` -> `0-17`, `18-64`, `65+`).
        bins: Option<Vec<i64>>,
    },
    /// Remove the column from the output (columns only).
    Drop,
}

fn default_keep_last() -> usize {
    4
}
fn default_mask_char() -> char {
    '*'
}
fn default_length() -> usize {
    16
}

/// FF1 alphabets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FpeAlphabet {
    /// `0-9`.
    #[default]
    Digits,
    /// `0-9A-Za-z`.
    Alphanumeric,
}

/// Date generalisation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateGranularity {
    /// `1985-03-12` -> `1985`.
    Year,
    /// `1985-03-12` -> `1985-03`.
    Month,
}

/// Where the key comes from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    /// An environment variable holding the key.
    pub env: Option<String>,
    /// A file holding the key.
    pub file: Option<std::path::PathBuf>,
}

/// Defaults for what the config does not list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Operator for unlisted columns: `detect` or `keep` (default `detect`).
    #[serde(default = "default_columns")]
    pub columns: String,
    /// Detection threshold (default 0.5).
    #[serde(default = "default_threshold")]
    pub threshold: f32,
}

fn default_columns() -> String {
    "detect".into()
}
fn default_threshold() -> f32 {
    0.5
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults { columns: default_columns(), threshold: default_threshold() }
    }
}

/// A parsed, validated config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonConfig {
    /// Key source.
    #[serde(default)]
    pub key: KeySource,
    /// Defaults.
    #[serde(default)]
    pub defaults: Defaults,
    /// Operators for detected entities (`default` for the rest).
    #[serde(default)]
    pub entities: BTreeMap<String, Operator>,
    /// Operators per column name.
    #[serde(default)]
    pub columns: BTreeMap<String, Operator>,
}

/// Why a config is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML for this format.
    #[error("anonymize config: {0}")]
    Parse(#[from] toml::de::Error),
    /// Valid TOML, invalid meaning.
    #[error("anonymize config: {0}")]
    Invalid(String),
}

impl AnonConfig {
    /// Parses and validates a config.
    pub fn from_toml(text: &str) -> Result<AnonConfig, ConfigError> {
        let cfg: AnonConfig = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !matches!(self.defaults.columns.as_str(), "detect" | "keep") {
            return bad(format!("defaults.columns must be \"detect\" or \"keep\", not {:?}", self.defaults.columns));
        }
        if !(0.0..=1.0).contains(&self.defaults.threshold) {
            return bad("defaults.threshold must be between 0 and 1".into());
        }
        for (name, op) in &self.entities {
            if name != "default" {
                name.parse::<Entity>().map_err(|e| ConfigError::Invalid(e.to_string()))?;
            }
            if matches!(op, Operator::Detect | Operator::Drop) {
                return bad(format!("entities.{name}: `detect` and `drop` apply to columns only"));
            }
            check_op(&format!("entities.{name}"), op)?;
        }
        for (name, op) in &self.columns {
            check_op(&format!("columns.{name}"), op)?;
        }
        Ok(())
    }

    /// The operator for a detected entity (`[entities]`, then `default`, then `replace`).
    pub fn entity_operator(&self, entity: Entity) -> Operator {
        self.entities
            .get(entity.as_str())
            .or_else(|| self.entities.get("default"))
            .cloned()
            .unwrap_or(Operator::Replace { with: None })
    }

    /// The operator for a column.
    pub fn column_operator(&self, column: &str) -> Operator {
        self.columns.get(column).cloned().unwrap_or(if self.defaults.columns == "keep" { Operator::Keep } else { Operator::Detect })
    }

    /// True when some operator needs the key.
    pub fn needs_key(&self) -> bool {
        self.entities.values().chain(self.columns.values()).any(|op| matches!(op, Operator::Pseudonymize { .. } | Operator::Fpe { .. }))
    }
}

fn check_op(at: &str, op: &Operator) -> Result<(), ConfigError> {
    let bad = |m: &str| Err(ConfigError::Invalid(format!("{at}: {m}")));
    match op {
        Operator::Pseudonymize { length, .. } if *length == 0 || *length > 64 => bad("length must be 1..=64"),
        Operator::Generalize { to: None, width: None, bins: None } => bad("generalize needs `to`, `width` or `bins`"),
        Operator::Generalize { width: Some(0), .. } => bad("width must be positive"),
        Operator::Generalize { bins: Some(b), .. } if b.is_empty() || b.windows(2).any(|w| w[0] >= w[1]) => {
            bad("bins must be a non-empty ascending list")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = include_str!("config.rs").lines().filter_map(|l| l.strip_prefix("//! ")).skip_while(|l| !l.starts_with("[key]")).take_while(|l| !l.starts_with("```")).collect::<Vec<_>>().join("\n");
        let cfg = AnonConfig::from_toml(&text).unwrap();
        assert_eq!(cfg.column_operator("internal_id"), Operator::Drop);
        assert_eq!(cfg.column_operator("other"), Operator::Detect);
        assert_eq!(cfg.entity_operator(Entity::UsSsn), Operator::Replace { with: None });
        assert!(cfg.needs_key());
    }

    #[test]
    fn rejects_bad_configs() {
        assert!(AnonConfig::from_toml("[entities]\nfoo = { op = \"redact\" }").is_err());
        assert!(AnonConfig::from_toml("[entities]\nemail = { op = \"drop\" }").is_err());
        assert!(AnonConfig::from_toml("[columns]\nage = { op = \"generalize\" }").is_err());
        assert!(AnonConfig::from_toml("[columns]\nage = { op = \"shred\" }").is_err());
        assert!(AnonConfig::from_toml("[defaults]\ncolumns = \"drop\"").is_err());
    }
}
