//! Inference events (`{ts, client_id, input, output}`) and their bounded JSON parser.

use serde::Deserialize;

/// Bounds on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    /// Longest event line in bytes.
    pub max_line_bytes: usize,
    /// Longest input vector.
    pub max_dims: usize,
    /// Most output classes.
    pub max_classes: usize,
    /// Longest client id in bytes.
    pub max_client_id: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        Self { max_line_bytes: 1 << 20, max_dims: 4096, max_classes: 1024, max_client_id: 256 }
    }
}

/// A model input: a numeric vector or a text.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A feature vector.
    Vector(Vec<f64>),
    /// A text prompt or record.
    Text(String),
}

/// A model output: class probabilities or a bare label.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Probabilities (or scores) per class.
    Probabilities(Vec<f64>),
    /// Only the predicted label.
    Label(String),
}

/// One inference request and its response.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch (or any monotone clock).
    pub ts: f64,
    /// Who sent the request.
    pub client_id: String,
    /// What was sent.
    pub input: Input,
    /// What the model answered, if recorded.
    pub output: Option<Output>,
}

/// Why an event line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not valid JSON or not the event shape.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// A bound in [`EventLimits`] was exceeded.
    #[error("event {0} exceeds the limit of {1}")]
    Limit(&'static str, usize),
}

/// A JSON number array or a string, read without serde's buffering `untagged` machinery.
enum NumbersOrText {
    Numbers(Vec<f64>),
    Text(String),
    Number(f64),
}

impl<'de> Deserialize<'de> for NumbersOrText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = NumbersOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of numbers, a string or a number")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(4096));
                while let Some(x) = seq.next_element::<f64>()? {
                    v.push(x);
                }
                Ok(NumbersOrText::Numbers(v))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(NumbersOrText::Text(s.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(NumbersOrText::Text(s))
            }
            fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<Self::Value, E> {
                Ok(NumbersOrText::Number(x))
            }
            fn visit_i64<E: serde::de::Error>(self, x: i64) -> Result<Self::Value, E> {
                Ok(NumbersOrText::Number(x as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, x: u64) -> Result<Self::Value, E> {
                Ok(NumbersOrText::Number(x as f64))
            }
        }
        d.deserialize_any(Visit)
    }
}

#[derive(Deserialize)]
struct RawEvent {
    ts: NumbersOrText,
    client_id: String,
    input: NumbersOrText,
    #[serde(default)]
    output: Option<NumbersOrText>,
}

/// Parses one JSON event line within `limits`. `ts` is seconds (a number) or an RFC 3339 UTC
/// timestamp (`2026-01-01T00:00:00Z`, fractional seconds allowed).
pub fn parse_event(line: &[u8], limits: &EventLimits) -> Result<Event, EventError> {
    if line.len() > limits.max_line_bytes {
        return Err(EventError::Limit("line length", limits.max_line_bytes));
    }
    let raw: RawEvent = serde_json::from_slice(line).map_err(|e| EventError::Invalid(e.to_string()))?;
    if raw.client_id.len() > limits.max_client_id {
        return Err(EventError::Limit("client_id length", limits.max_client_id));
    }
    let ts = match raw.ts {
        NumbersOrText::Number(t) if t.is_finite() => t,
        NumbersOrText::Number(_) | NumbersOrText::Numbers(_) => return Err(EventError::Invalid("ts is not a finite number or a timestamp".into())),
        NumbersOrText::Text(s) => parse_rfc3339(&s).ok_or_else(|| EventError::Invalid(format!("ts {s:?} is not RFC 3339")))?,
    };
    let input = match raw.input {
        NumbersOrText::Numbers(v) if v.len() > limits.max_dims => return Err(EventError::Limit("input dimensions", limits.max_dims)),
        NumbersOrText::Numbers(v) if v.iter().any(|x| !x.is_finite()) => return Err(EventError::Invalid("input has a non-finite value".into())),
        NumbersOrText::Numbers(v) => Input::Vector(v),
        NumbersOrText::Text(s) => Input::Text(s),
        NumbersOrText::Number(_) => return Err(EventError::Invalid("input must be an array of numbers or a string".into())),
    };
    let output = match raw.output {
        None => None,
        Some(NumbersOrText::Numbers(p)) if p.len() > limits.max_classes => {
            return Err(EventError::Limit("output classes", limits.max_classes));
        }
        Some(NumbersOrText::Numbers(p)) => Some(Output::Probabilities(p)),
        Some(NumbersOrText::Text(l)) => Some(Output::Label(l)),
        Some(NumbersOrText::Number(n)) => Some(Output::Label(n.to_string())),
    };
    Ok(Event { ts, client_id: raw.client_id, input, output })
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)`.
fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (format!("0.{}", &r[..end]).parse::<f64>().ok()?, &r[end..])
        }
        None => (0.0, rest),
    };
    if !matches!(zone, "Z" | "z" | "+00:00") {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + se) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vector_text_and_timestamps() {
        let l = EventLimits::default();
        let e = parse_event(br#"{"ts":1.5,"client_id":"c","input":[1,2],"output":[0.2,0.8]}"#, &l).unwrap();
        assert_eq!(e.input, Input::Vector(vec![1.0, 2.0]));
        assert_eq!(e.output, Some(Output::Probabilities(vec![0.2, 0.8])));
        let e = parse_event(br#"{"ts":"1970-01-02T00:00:01.5Z","client_id":"c","input":"hi","output":"cat"}"#, &l).unwrap();
        assert_eq!(e.ts, 86_401.5);
        assert_eq!(e.output, Some(Output::Label("cat".into())));
        assert!(parse_event(br#"{"ts":1,"client_id":"c"}"#, &l).is_err());
        let tight = EventLimits { max_dims: 1, ..l };
        assert_eq!(parse_event(br#"{"ts":1,"client_id":"c","input":[1,2]}"#, &tight), Err(EventError::Limit("input dimensions", 1)));
    }
}
