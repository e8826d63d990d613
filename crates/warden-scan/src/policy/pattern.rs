//! Patterns over dotted Python paths (`module.qualname`), as written in policy files.
//!
//! A pattern is a sequence of dot-separated segments. A segment is a glob over one path segment:
//! `*` matches any run of characters within the segment, `?` one character, `[abc]`, `[a-z]` and
//! `[!a-z]` one character from (or not from) a set. The segment `**` matches any number of whole
//! segments, including none. `os.**` therefore matches `os.system` and `os.path.join`, and
//! `sklearn.**.[A-Z]*` matches every capitalised name anywhere under `sklearn`.

use std::fmt;

/// A compiled path pattern.
#[derive(Clone)]
pub(crate) struct Pattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
enum Segment {
    /// `**`: zero or more whole segments.
    AnySegments,
    /// A segment without wildcards, compared as a string.
    Literal(String),
    /// A segment with `*`, `?` or `[...]`.
    Glob(Vec<Token>),
}

#[derive(Clone, Debug)]
enum Token {
    Char(char),
    AnyRun,
    AnyChar,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl Pattern {
    /// Compiles `text`, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("empty pattern".to_owned());
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            if part.is_empty() {
                return Err(format!(
                    "pattern `{text}` has an empty segment (two dots, or a leading or trailing dot)"
                ));
            }
            if part == "**" {
                segments.push(Segment::AnySegments);
                continue;
            }
            if part.contains("**") {
                return Err(format!(
                    "pattern `{text}`: `**` must be a whole segment, as in `os.**`"
                ));
            }
            if let Some(bad) = part.chars().find(|c| {
                !(c.is_alphanumeric() || matches!(c, '_' | '*' | '?' | '[' | ']' | '!' | '-'))
            }) {
                return Err(format!("pattern `{text}`: unexpected character `{bad}`"));
            }
            if part.contains(['*', '?', '[']) {
                segments.push(Segment::Glob(
                    parse_glob(part).map_err(|e| format!("pattern `{text}`: {e}"))?,
                ));
            } else {
                segments.push(Segment::Literal(part.to_owned()));
            }
        }
        Ok(Pattern {
            text: text.to_owned(),
            segments,
        })
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern names exactly one path (no wildcard anywhere).
    pub(crate) fn is_literal(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The first segment, when it is a literal (used to index patterns).
    pub(crate) fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the pattern matches the path given as segments.
    pub(crate) fn matches(&self, path: &[&str]) -> bool {
        match_segments(&self.segments, path)
    }
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return path.is_empty();
    };
    match first {
        Segment::AnySegments => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Segment::Literal(lit) => {
            path.first().is_some_and(|p| p == lit) && match_segments(rest, &path[1..])
        }
        Segment::Glob(tokens) => {
            path.first()
                .is_some_and(|p| match_glob(tokens, &p.chars().collect::<Vec<_>>()))
                && match_segments(rest, &path[1..])
        }
    }
}

fn match_glob(tokens: &[Token], text: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::AnyRun => (0..=text.len()).any(|skip| match_glob(rest, &text[skip..])),
        Token::AnyChar => !text.is_empty() && match_glob(rest, &text[1..]),
        Token::Char(c) => text.first() == Some(c) && match_glob(rest, &text[1..]),
        Token::Class { negated, ranges } => {
            text.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&c));
                inside != *negated
            }) && match_glob(rest, &text[1..])
        }
    }
}

fn parse_glob(part: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if !matches!(tokens.last(), Some(Token::AnyRun)) {
                    tokens.push(Token::AnyRun);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '[' => {
                let negated = chars.next_if_eq(&'!').is_some();
                let mut ranges = Vec::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("unclosed `[` in `{part}`")),
                        Some(']') if !ranges.is_empty() => break,
                        Some(lo) => {
                            if chars.next_if_eq(&'-').is_some() {
                                let Some(hi) = chars.next().filter(|h| *h != ']') else {
                                    return Err(format!("unfinished range in `{part}`"));
                                };
                                if hi < lo {
                                    return Err(format!("backwards range `{lo}-{hi}` in `{part}`"));
                                }
                                ranges.push((lo, hi));
                            } else {
                                ranges.push((lo, lo));
                            }
                        }
                    }
                }
                tokens.push(Token::Class { negated, ranges });
            }
            ']' | '!' | '-' => tokens.push(Token::Char(c)),
            _ => tokens.push(Token::Char(c)),
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        let segments: Vec<&str> = path.split('.').collect();
        Pattern::parse(pattern).unwrap().matches(&segments)
    }

    #[test]
    fn double_star_spans_segments_but_not_nothing_after_a_module() {
        assert!(m("os.**", "os.system"));
        assert!(m("os.**", "os.path.join"));
        assert!(m("os.**", "os"));
        assert!(!m("os.**", "oss.system"));
        assert!(m("**.system", "a.b.system"));
    }

    #[test]
    fn single_star_stays_within_a_segment() {
        assert!(m("torch.*Storage", "torch.FloatStorage"));
        assert!(!m("torch.*Storage", "torch.cuda.FloatStorage"));
        assert!(m(
            "sklearn.**.[A-Z]*",
            "sklearn.linear_model._logistic.LogisticRegression"
        ));
        assert!(!m("sklearn.**.[A-Z]*", "sklearn.utils._joblib.load"));
        assert!(m(
            "sklearn.**._[A-Z]*",
            "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper"
        ));
        assert!(m("a.[!x]?", "a.yz"));
        assert!(!m("a.[!x]?", "a.xz"));
    }

    #[test]
    fn bad_patterns_are_rejected_with_a_reason() {
        for bad in [
            "",
            "os..system",
            ".os",
            "os.",
            "os.sys**",
            "os.[abc",
            "os.sys tem",
            "os.[z-a]",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Pattern::parse("os.system").unwrap().is_literal());
        assert!(!Pattern::parse("os.*").unwrap().is_literal());
    }
}
