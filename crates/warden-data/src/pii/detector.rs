//! [`Detector`]: runs every recognizer over one text (a line or a table cell) and returns scored,
//! non-overlapping [`Detection`]s.
//!
//! One `RegexSet` pass says which recognizers can match; only those run. Context words are found
//! with one Aho-Corasick pass, and only when some candidate exists.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::entity::Entity;
use super::names::{Dictionaries, LOCATION_CONTEXT, NameCandidate, PERSON_CONTEXT};
use super::recognizer::{RecognizerError, RecognizerSet, SHIPPED};

/// Bytes before a match searched for context words.
const WINDOW_BEFORE: usize = 48;
/// Bytes after a match searched for context words.
const WINDOW_AFTER: usize = 32;
/// How much a negative context word lowers a score.
const NEGATIVE_PENALTY: f32 = 0.5;
/// Texts longer than this are scanned in their first `MAX_TEXT_BYTES` only (bounded work per cell).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// One PII match in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// What was found.
    pub entity: Entity,
    /// The recognizer that found it.
    pub recognizer: &'static str,
    /// Byte offset of the start in the text.
    pub start: usize,
    /// Byte offset of the end in the text.
    pub end: usize,
    /// Confidence, 0..1.
    pub score: f32,
}

impl Detection {
    /// (start, end) as character offsets in `text`.
    pub fn char_span(&self, text: &str) -> (usize, usize) {
        if text.is_ascii() {
            return (self.start, self.end);
        }
        let start = text[..self.start].chars().count();
        (start, start + text[self.start..self.end].chars().count())
    }
}

/// Which detections to keep.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// Minimum score, 0..1 (default 0.5).
    pub threshold: f32,
    /// Only these entities (empty: all).
    pub entities: Vec<Entity>,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions { threshold: 0.5, entities: Vec::new() }
    }
}

impl DetectOptions {
    fn wants(&self, e: Entity) -> bool {
        self.entities.is_empty() || self.entities.contains(&e)
    }
}

/// Context-word ids for one recognizer (indices into the Aho-Corasick word list).
#[derive(Debug, Default, Clone)]
struct ContextIds {
    positive: Vec<usize>,
    negative: Vec<usize>,
}

/// The compiled recognizers, dictionaries and context-word automaton.
#[derive(Debug)]
pub struct Detector {
    set: RecognizerSet,
    dicts: Dictionaries,
    context: AhoCorasick,
    per_recognizer: Vec<ContextIds>,
    person_ctx: ContextIds,
    location_ctx: ContextIds,
    /// Leaked ids so detections can carry `&'static str` cheaply.
    ids: Vec<&'static str>,
}

static SHIPPED_DETECTOR: OnceLock<Detector> = OnceLock::new();

impl Detector {
    /// The detector built from the shipped recognizers (compiled once per process).
    pub fn shipped() -> &'static Detector {
        SHIPPED_DETECTOR.get_or_init(|| Detector::new(RecognizerSet::from_toml(SHIPPED).expect("shipped recognizers are valid")))
    }

    /// Builds a detector from a recognizer file's text.
    pub fn from_toml(text: &str) -> Result<Detector, RecognizerError> {
        Ok(Detector::new(RecognizerSet::from_toml(text)?))
    }

    fn new(set: RecognizerSet) -> Detector {
        let mut words: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut id_of = |w: &str| -> usize {
            *index.entry(w.to_owned()).or_insert_with(|| {
                words.push(w.to_owned());
                words.len() - 1
            })
        };
        let per_recognizer = set
            .recognizers
            .iter()
            .map(|r| ContextIds {
                positive: r.context.iter().map(|w| id_of(w)).collect(),
                negative: r.negative.iter().map(|w| id_of(w)).collect(),
            })
            .collect();
        let person_ctx = ContextIds { positive: PERSON_CONTEXT.iter().map(|w| id_of(w)).collect(), negative: Vec::new() };
        let location_ctx = ContextIds { positive: LOCATION_CONTEXT.iter().map(|w| id_of(w)).collect(), negative: Vec::new() };
        let context = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .expect("context words form a small automaton");
        let ids = set.recognizers.iter().map(|r| &*Box::leak(r.id.clone().into_boxed_str())).collect();
        Detector { set, dicts: Dictionaries::shipped(), context, per_recognizer, person_ctx, location_ctx, ids }
    }

    /// The recognizer set (for tests that check examples).
    pub fn recognizers(&self) -> &RecognizerSet {
        &self.set
    }

    /// The entity a column name hints at.
    pub fn column_hint(&self, column: &str) -> Option<Entity> {
        self.set.column_hint(column)
    }

    /// Finds PII in `text`. `hint` is the entity the column name suggests (tables), which counts as
    /// a context word for that entity.
    pub fn detect(&self, text: &str, hint: Option<Entity>, opts: &DetectOptions) -> Vec<Detection> {
        let mut text = text;
        if text.len() > MAX_TEXT_BYTES {
            let mut cut = MAX_TEXT_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
        }
        if text.len() < 2 {
            return Vec::new();
        }
        let bytes = text.as_bytes();
        let mut found: Vec<Detection> = Vec::new();
        let mut hits: Option<Vec<(usize, usize, usize)>> = None;
        for idx in self.set.prefilter.matches(bytes).iter() {
            let r = &self.set.recognizers[idx];
            if !opts.wants(r.entity) {
                continue;
            }
            for caps in r.regex.captures_iter(bytes) {
                let Some(m) = caps.get(1).or_else(|| caps.get(0)) else { continue };
                let (start, mut end) = (m.start(), m.end());
                while end > start && r.trim_end.contains(&bytes[end - 1]) {
                    end -= 1;
                }
                if end <= start || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    continue;
                }
                if part_of_longer_token(bytes, start, end, &r.no_adjacent) || !r.validator.check(&text[start..end]) {
                    continue;
                }
                let mut score = r.score;
                let hits = hits.get_or_insert_with(|| self.context_hits(text));
                let ctx = &self.per_recognizer[idx];
                // Negative words ("version", "order") only count before the match, and outweigh
                // any positive context.
                if near(bytes, hits, &ctx.negative, start, start) {
                    score -= NEGATIVE_PENALTY;
                } else if hint == Some(r.entity) || near(bytes, hits, &ctx.positive, start, end) {
                    score += r.boost;
                }
                found.push(Detection { entity: r.entity, recognizer: self.ids[idx], start, end, score: score.clamp(0.0, 1.0) });
            }
        }
        if opts.wants(Entity::Person) || opts.wants(Entity::Location) {
            let mut names: Vec<NameCandidate> = Vec::new();
            self.dicts.candidates(text, &mut names);
            for c in names.into_iter().filter(|c| opts.wants(c.entity)) {
                let hits = hits.get_or_insert_with(|| self.context_hits(text));
                let ctx = if c.entity == Entity::Person { &self.person_ctx } else { &self.location_ctx };
                let mut score = c.score;
                if hint == Some(c.entity) || near(bytes, hits, &ctx.positive, c.start, c.end) {
                    score += 0.35;
                }
                found.push(Detection { entity: c.entity, recognizer: c.id, start: c.start, end: c.end, score: score.min(1.0) });
            }
        }
        found.retain(|d| d.score >= opts.threshold);
        resolve_overlaps(found)
    }

    /// Every context word in `text` on word boundaries: (start, end, word id).
    fn context_hits(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let bytes = text.as_bytes();
        self.context
            .find_overlapping_iter(text)
            .filter(|m| {
                let before = m.start().checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(m.end()).copied();
                !before.is_some_and(|b| b.is_ascii_alphanumeric()) && !after.is_some_and(|b| b.is_ascii_alphanumeric())
            })
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect()
    }
}

/// True when the match continues a longer token: a `no_adjacent` char right outside it that is
/// itself followed (or preceded) by a letter or digit, as in `1.2.3.4.5` or `415-555-2671-99`.
fn part_of_longer_token(bytes: &[u8], start: usize, end: usize, no_adjacent: &[u8]) -> bool {
    if no_adjacent.is_empty() {
        return false;
    }
    let before = start >= 2 && no_adjacent.contains(&bytes[start - 1]) && bytes[start - 2].is_ascii_alphanumeric();
    let after = end + 1 < bytes.len() && no_adjacent.contains(&bytes[end]) && bytes[end + 1].is_ascii_alphanumeric();
    before || after
}

/// True when a word of `ids` is within the window around `start..end`, in the same sentence.
fn near(bytes: &[u8], hits: &[(usize, usize, usize)], ids: &[usize], start: usize, end: usize) -> bool {
    !ids.is_empty()
        && hits.iter().any(|&(hs, he, id)| {
            // The gap plus one byte on the far side, so a capital starting the next sentence counts.
            let between = if he <= start {
                Some(&bytes[he..(start + 1).min(bytes.len())])
            } else if hs >= end {
                Some(&bytes[end..(hs + 1).min(bytes.len())])
            } else {
                None
            };
            between.is_some_and(|gap| !sentence_break(gap))
                && he + WINDOW_BEFORE >= start
                && hs <= end + WINDOW_AFTER
                && ids.contains(&id)
        })
}

/// A sentence ends at `.`/`!`/`?`/`;` followed by a space and a capital (so `Tel. 030...` and
/// `Dr. ` before a digit do not end one), or at a line break.
fn sentence_break(gap: &[u8]) -> bool {
    gap.windows(3).any(|w| matches!(w[0], b'.' | b'!' | b'?' | b';') && w[1] == b' ' && w[2].is_ascii_uppercase())
        || gap.contains(&b'\n')
}

/// Keeps the best of overlapping detections: higher score first, then longer.
fn resolve_overlaps(mut found: Vec<Detection>) -> Vec<Detection> {
    if found.len() < 2 {
        return found;
    }
    found.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then((b.end - b.start).cmp(&(a.end - a.start))).then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Detection> = Vec::with_capacity(found.len());
    for d in found {
        if kept.iter().all(|k| d.end <= k.start || d.start >= k.end) {
            kept.push(d);
        }
    }
    kept.sort_by_key(|d| (d.start, d.end));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recognizer_example_and_counter_example_holds() {
        let det = Detector::shipped();
        let opts = DetectOptions::default();
        let mut failures = Vec::new();
        for r in &det.recognizers().recognizers {
            for ex in &r.examples {
                if !det.detect(ex, None, &opts).iter().any(|d| d.entity == r.entity) {
                    failures.push(format!("{}: example not found: {ex}", r.id));
                }
            }
            for ex in &r.counter_examples {
                let got = det.detect(ex, None, &opts);
                if got.iter().any(|d| d.entity == r.entity && d.recognizer == r.id) {
                    failures.push(format!("{}: counter-example matched: {ex} -> {got:?}", r.id));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn char_offsets_count_characters() {
        let det = Detector::shipped();
        let text = "Grüße an jane@example.de";
        let d = &det.detect(text, None, &DetectOptions::default())[0];
        assert_eq!(d.entity, Entity::Email);
        assert_eq!((d.start, d.end), (11, 26));
        assert_eq!(d.char_span(text), (9, 24));
    }

    #[test]
    fn column_hint_acts_as_context() {
        let det = Detector::shipped();
        let opts = DetectOptions::default();
        assert!(det.detect("536228726", None, &opts).is_empty());
        assert_eq!(det.detect("536228726", Some(Entity::UsSsn), &opts)[0].entity, Entity::UsSsn);
        assert!(det.detect("1985-03-12", None, &opts).is_empty());
        assert_eq!(det.detect("1985-03-12", Some(Entity::DateOfBirth), &opts)[0].entity, Entity::DateOfBirth);
    }
}
