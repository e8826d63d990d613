//! Person names and locations from dictionaries shipped inside the crate (`dict/*.txt`).
//!
//! Names are found by shape plus dictionary: a known given name followed by a capitalised word
//! (a known family name scores higher), a title (`Mr`, `Frau`, `Mme`...) before capitalised words,
//! or an unknown capitalised word before a known family name. Locations are known cities and
//! countries, multi-word names included. Single known names score low and need context.

use std::collections::HashSet;

use super::entity::Entity;

const GIVEN: &str = include_str!("dict/given_names.txt");
const FAMILY: &str = include_str!("dict/family_names.txt");
const CITIES: &str = include_str!("dict/cities.txt");
const COUNTRIES: &str = include_str!("dict/countries.txt");
const STOPWORDS: &str = include_str!("dict/person_stopwords.txt");
const TITLES: &[&str] = &[
    "Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Sir", "Herr", "Frau", "Mme", "Mlle", "Monsieur", "Madame", "Sr", "Sra",
    "Señor", "Señora", "Sig", "Signora", "Dhr", "Mevr",
];

/// Person context words (lower case).
pub const PERSON_CONTEXT: &[&str] = &[
    "name", "mr", "mrs", "ms", "dr", "dear", "hi", "hello", "contact", "customer", "patient", "signed", "regards",
    "called", "named", "employee", "user", "client", "applicant", "guest", "cordialement", "grüße", "saludos",
];
/// Location context words (lower case).
pub const LOCATION_CONTEXT: &[&str] =
    &["in", "city", "lives", "live", "living", "located", "address", "moved", "based", "near", "town", "country", "wohnt", "habite", "vive"];

/// The loaded dictionaries.
#[derive(Debug)]
pub struct Dictionaries {
    given: HashSet<&'static str>,
    family: HashSet<&'static str>,
    places: HashSet<&'static str>,
    longest_place: usize,
    stop: HashSet<&'static str>,
}

/// A dictionary candidate before context scoring (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameCandidate {
    /// Person or location.
    pub entity: Entity,
    /// Byte start.
    pub start: usize,
    /// Byte end.
    pub end: usize,
    /// Score before context.
    pub score: f32,
    /// Recognizer id for evidence.
    pub id: &'static str,
}

fn words(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().filter(|l| !l.starts_with('#')).flat_map(str::split_whitespace)
}

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
}

impl Dictionaries {
    /// Loads the shipped dictionaries.
    pub fn shipped() -> Dictionaries {
        let places: HashSet<&'static str> = lines(CITIES).chain(lines(COUNTRIES)).collect();
        let longest_place = places.iter().map(|p| p.split(' ').count()).max().unwrap_or(1);
        Dictionaries {
            given: words(GIVEN).collect(),
            family: words(FAMILY).filter(|w| w.chars().count() >= 3).collect(),
            places,
            longest_place,
            stop: words(STOPWORDS).collect(),
        }
    }

    /// True when `word` is a known given name (used by the generator's tests).
    pub fn is_given(&self, word: &str) -> bool {
        self.given.contains(word)
    }

    /// Candidates in `text`, byte offsets.
    pub fn candidates(&self, text: &str, out: &mut Vec<NameCandidate>) {
        // Cheap exit: no upper-case letter, no name.
        if !text.chars().any(char::is_uppercase) {
            return;
        }
        let tokens = tokenize(text);
        let word = |t: &Token| &text[t.start..t.end];
        let capital = |t: &Token| {
            let w = word(t);
            let mut cs = w.chars();
            cs.next().is_some_and(char::is_uppercase) && cs.any(char::is_lowercase)
        };
        let adjacent = |a: &Token, b: &Token| &text[a.end..b.start] == " ";
        let name_like = |t: &Token| capital(t) && !self.stop.contains(word(t)) && !self.places.contains(word(t));
        let mut place_until = 0;
        for (i, t) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1).filter(|n| adjacent(t, n));
            let w = word(t);
            // Locations, longest first.
            for len in (1..=self.longest_place.min(tokens.len() - i)).rev() {
                let last = &tokens[i + len - 1];
                let span = &text[t.start..last.end];
                if (len == 1 || tokens[i..i + len].windows(2).all(|p| adjacent(&p[0], &p[1]))) && self.places.contains(span) {
                    out.push(NameCandidate { entity: Entity::Location, start: t.start, end: last.end, score: 0.6, id: "location-dictionary" });
                    place_until = place_until.max(last.end);
                    break;
                }
            }
            if !capital(t) || t.start < place_until {
                continue;
            }
            let w_trim = w.trim_end_matches('.');
            if TITLES.contains(&w_trim) {
                if let Some(n1) = tokens.get(i + 1).filter(|n| name_like(n) && text[t.end..n.start].trim_start_matches('.') == " ") {
                    let end = tokens.get(i + 2).filter(|n2| adjacent(n1, n2) && name_like(n2)).map_or(n1.end, |n2| n2.end);
                    out.push(NameCandidate { entity: Entity::Person, start: n1.start, end, score: 0.85, id: "person-title" });
                }
                continue;
            }
            if self.stop.contains(w) {
                continue;
            }
            if self.given.contains(w) {
                match next.filter(|n| name_like(n)) {
                    Some(n1) => {
                        let mut end = n1.end;
                        let mut score = if self.family.contains(word(n1)) { 0.9 } else { 0.65 };
                        if let Some(n2) = tokens.get(i + 2).filter(|n2| adjacent(n1, n2) && name_like(n2) && self.family.contains(word(n2))) {
                            end = n2.end;
                            score = 0.9;
                        }
                        out.push(NameCandidate { entity: Entity::Person, start: t.start, end, score, id: "person-given-family" });
                    }
                    None => out.push(NameCandidate { entity: Entity::Person, start: t.start, end: t.end, score: 0.4, id: "person-given" }),
                }
            } else if let Some(n1) = next.filter(|n| self.family.contains(word(n)) && name_like(t)) {
                out.push(NameCandidate { entity: Entity::Person, start: t.start, end: n1.end, score: 0.6, id: "person-family" });
            } else if self.family.contains(w) {
                out.push(NameCandidate { entity: Entity::Person, start: t.start, end: t.end, score: 0.3, id: "person-family" });
            } else if let Some(n1) = next.filter(|n| name_like(t) && name_like(n) && !self.given.contains(word(n))) {
                // Two unknown capitalised words: a name only with context ("Dear ...", "holder ...").
                out.push(NameCandidate { entity: Entity::Person, start: t.start, end: n1.end, score: 0.3, id: "person-shape" });
            }
        }
    }
}

/// Words: runs of letters, with inner apostrophes and hyphens (`O'Brien`, `Jean-Luc`).
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let joiner = (c == '\'' || c == '-') && start.is_some() && chars.peek().is_some_and(|(_, n)| n.is_alphabetic());
        if c.is_alphabetic() || joiner {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            tokens.push(Token { start: s, end: i });
        }
    }
    if let Some(s) = start {
        tokens.push(Token { start: s, end: text.len() });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Entity, String, f32)> {
        let mut out = Vec::new();
        Dictionaries::shipped().candidates(text, &mut out);
        out.into_iter().map(|c| (c.entity, text[c.start..c.end].to_owned(), c.score)).collect()
    }

    #[test]
    fn names_and_places() {
        let got = found("Maria Garcia moved from Buenos Aires to New York last year.");
        assert!(got.iter().any(|(e, s, sc)| *e == Entity::Person && s == "Maria Garcia" && *sc >= 0.9));
        assert!(got.iter().any(|(e, s, _)| *e == Entity::Location && s == "Buenos Aires"));
        assert!(got.iter().any(|(e, s, _)| *e == Entity::Location && s == "New York"));
        let got = found("Dear Mr. Zbigniew Kowalczyk, thanks");
        assert!(got.iter().any(|(e, s, _)| *e == Entity::Person && s == "Zbigniew Kowalczyk"), "{got:?}");
        let got = found("The Hospital opened on Thomas Street");
        assert!(!got.iter().any(|(e, _, sc)| *e == Entity::Person && *sc >= 0.5), "{got:?}");
        assert!(found("no capitals here").is_empty());
    }
}
