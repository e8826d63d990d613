//! Pattern recognizers loaded from data (`recognizers.toml`, embedded), compiled into one
//! `RegexSet` pre-filter plus one regex per recognizer.

use std::collections::BTreeMap;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use super::entity::Entity;
use super::validate::Validator;

/// The recognizers shipped with warden.
pub const SHIPPED: &str = include_str!("recognizers.toml");

/// Why a recognizer file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecognizerError {
    /// The file is not valid TOML for this format.
    #[error("recognizer file: {0}")]
    Parse(#[from] toml::de::Error),
    /// A pattern does not compile.
    #[error("recognizer `{id}`: bad pattern: {source}")]
    Pattern {
        /// The recognizer.
        id: String,
        /// The regex error.
        source: Box<regex::Error>,
    },
    /// A field has a value outside what the format allows.
    #[error("recognizer `{id}`: {message}")]
    Invalid {
        /// The recognizer.
        id: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    recognizer: Vec<RawRecognizer>,
    #[serde(default)]
    hints: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecognizer {
    id: String,
    entity: String,
    pattern: String,
    validator: String,
    score: f32,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default = "default_boost")]
    boost: f32,
    #[serde(default)]
    negative: Vec<String>,
    #[serde(default)]
    no_adjacent: String,
    #[serde(default)]
    trim_end: String,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
}

fn default_boost() -> f32 {
    0.35
}

/// One compiled pattern recognizer.
#[derive(Debug)]
pub struct Recognizer {
    /// Unique id, such as `credit-card`.
    pub id: String,
    /// The entity it reports.
    pub entity: Entity,
    /// The compiled pattern (bytes, ASCII semantics).
    pub regex: Regex,
    /// Checksum / structure check applied to each candidate.
    pub validator: Validator,
    /// Confidence of a validated match without context.
    pub score: f32,
    /// Lower-case words that raise the score when near the match.
    pub context: Vec<String>,
    /// How much a context word raises the score.
    pub boost: f32,
    /// Lower-case words that lower the score when near the match.
    pub negative: Vec<String>,
    /// Characters that, between the match and another alphanumeric, mean it is part of a longer token.
    pub no_adjacent: Vec<u8>,
    /// Characters trimmed from the end of a match.
    pub trim_end: Vec<u8>,
    /// Texts that must produce this entity.
    pub examples: Vec<String>,
    /// Texts that must not.
    pub counter_examples: Vec<String>,
}

/// A loaded recognizer set: the recognizers, their `RegexSet` pre-filter and column-name hints.
#[derive(Debug)]
pub struct RecognizerSet {
    /// The recognizers, in file order (the `RegexSet` index is the position here).
    pub recognizers: Vec<Recognizer>,
    /// One pass over a text tells which recognizers can match at all.
    pub prefilter: RegexSet,
    /// Column-name words per entity.
    pub hints: Vec<(Entity, Vec<String>)>,
}

/// Size limit for each compiled regex (bounded memory on user-supplied recognizer files).
const REGEX_SIZE_LIMIT: usize = 8 << 20;

impl RecognizerSet {
    /// Parses and compiles a recognizer file.
    pub fn from_toml(text: &str) -> Result<RecognizerSet, RecognizerError> {
        let raw: RawFile = toml::from_str(text)?;
        let mut recognizers = Vec::with_capacity(raw.recognizer.len());
        for r in raw.recognizer {
            let invalid = |message: String| RecognizerError::Invalid { id: r.id.clone(), message };
            let entity: Entity = r.entity.parse().map_err(|e: super::entity::ParseEntityError| invalid(e.to_string()))?;
            let validator = Validator::from_name(&r.validator).ok_or_else(|| invalid(format!("unknown validator `{}`", r.validator)))?;
            if !(0.0..=1.0).contains(&r.score) || !(0.0..=1.0).contains(&r.boost) {
                return Err(invalid("score and boost must be within 0..1".into()));
            }
            let regex = build(&r.pattern).map_err(|source| RecognizerError::Pattern { id: r.id.clone(), source: Box::new(source) })?;
            recognizers.push(Recognizer {
                id: r.id,
                entity,
                regex,
                validator,
                score: r.score,
                context: r.context.iter().map(|w| w.to_lowercase()).collect(),
                boost: r.boost,
                negative: r.negative.iter().map(|w| w.to_lowercase()).collect(),
                no_adjacent: r.no_adjacent.into_bytes(),
                trim_end: r.trim_end.into_bytes(),
                examples: r.examples,
                counter_examples: r.counter_examples,
            });
        }
        let prefilter = RegexSetBuilder::new(recognizers.iter().map(|r| r.regex.as_str()))
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .build()
            .map_err(|source| RecognizerError::Pattern { id: "<set>".into(), source: Box::new(source) })?;
        let mut hints = Vec::new();
        for (name, words) in raw.hints {
            let entity: Entity = name
                .parse()
                .map_err(|e: super::entity::ParseEntityError| RecognizerError::Invalid { id: "hints".into(), message: e.to_string() })?;
            hints.push((entity, words.iter().map(|w| w.to_lowercase()).collect()));
        }
        Ok(RecognizerSet { recognizers, prefilter, hints })
    }

    /// The entity a column name hints at, if any (`customer_email` -> email).
    pub fn column_hint(&self, column: &str) -> Option<Entity> {
        let words = split_identifier(column);
        let joined: String = words.concat();
        // A whole-name match wins over a word match (`creditcard` before `card`).
        self.hints
            .iter()
            .find(|(_, hints)| hints.contains(&joined))
            .or_else(|| self.hints.iter().find(|(_, hints)| hints.iter().any(|h| words.iter().any(|w| w == h))))
            .map(|(e, _)| *e)
    }
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).size_limit(REGEX_SIZE_LIMIT).build()
}

/// Splits `firstName`, `first_name`, `First-Name` into lower-case words.
pub fn split_identifier(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_set_compiles_and_hints_columns() {
        let set = RecognizerSet::from_toml(SHIPPED).unwrap();
        assert!(set.recognizers.len() >= 25);
        assert_eq!(set.column_hint("customer_email"), Some(Entity::Email));
        assert_eq!(set.column_hint("phoneNumber"), Some(Entity::PhoneNumber));
        assert_eq!(set.column_hint("DOB"), Some(Entity::DateOfBirth));
        assert_eq!(set.column_hint("amount"), None);
    }

    #[test]
    fn bad_files_are_errors() {
        let bad = "[[recognizer]]\nid='x'\nentity='nope'\npattern='a'\nvalidator='none'\nscore=0.5\n";
        assert!(RecognizerSet::from_toml(bad).is_err());
        let bad = "[[recognizer]]\nid='x'\nentity='email'\npattern='('\nvalidator='none'\nscore=0.5\n";
        assert!(RecognizerSet::from_toml(bad).is_err());
        assert_eq!(split_identifier("firstName_2"), vec!["first", "name", "2"]);
    }
}
