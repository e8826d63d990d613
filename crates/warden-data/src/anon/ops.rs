//! The operators applied to one value: redact, mask, replace, keyed pseudonyms (HMAC-SHA256),
//! format-preserving encryption (FF1 over AES-256) and generalisation.

use aes::Aes256;
use fpe::ff1::{FF1, FlexibleNumeralString};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::config::{DateGranularity, FpeAlphabet, Operator};
use crate::pii::validate::parse_date;

/// Keys derived from the user's key: one for pseudonyms, one for FPE.
#[derive(Clone)]
pub struct Keys {
    hmac: [u8; 32],
    fpe: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// Why a value could not be transformed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OpError {
    /// The key is too short.
    #[error("the anonymisation key must be at least 16 bytes (got {0})")]
    ShortKey(usize),
    /// An operator needing the key ran without one.
    #[error("this operator needs a key (--key-file, --key-env or [key] in the config)")]
    NoKey,
    /// FF1 needs at least 6 digits (radix 10) or 4 alphanumerics (radix 62) to encrypt.
    #[error("value has {got} encryptable characters; FPE needs at least {min}")]
    TooShortForFpe {
        /// Characters of the alphabet in the value.
        got: usize,
        /// Minimum for the alphabet.
        min: usize,
    },
    /// FF1 refused the input.
    #[error("FPE failed: {0}")]
    Fpe(String),
}

impl Keys {
    /// Derives the operator keys from key material (at least 16 bytes; surrounding whitespace ignored).
    pub fn derive(material: &[u8]) -> Result<Keys, OpError> {
        let trimmed = material.trim_ascii();
        if trimmed.len() < 16 {
            return Err(OpError::ShortKey(trimmed.len()));
        }
        let sub = |label: &[u8]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(label);
            h.update(trimmed);
            h.finalize().into()
        };
        Ok(Keys { hmac: sub(b"warden-anon-hmac-v1\0"), fpe: sub(b"warden-anon-ff1-v1\0") })
    }
}

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn radix_index(alphabet: FpeAlphabet, c: char) -> Option<u16> {
    match alphabet {
        FpeAlphabet::Digits => c.to_digit(10).map(|d| d as u16),
        FpeAlphabet::Alphanumeric => c.is_ascii_alphanumeric().then(|| ALNUM.iter().position(|&b| b == c as u8).map(|p| p as u16)).flatten(),
    }
}

/// FF1-encrypts (or decrypts) the alphabet characters of `value` in place; others stay put.
pub fn fpe(keys: &Keys, alphabet: FpeAlphabet, tweak: &str, value: &str, decrypt: bool) -> Result<String, OpError> {
    let (radix, min) = match alphabet {
        FpeAlphabet::Digits => (10u32, 6usize),
        FpeAlphabet::Alphanumeric => (62, 4),
    };
    let chars: Vec<char> = value.chars().collect();
    let positions: Vec<usize> = (0..chars.len()).filter(|&i| radix_index(alphabet, chars[i]).is_some()).collect();
    if positions.len() < min {
        return Err(OpError::TooShortForFpe { got: positions.len(), min });
    }
    let numerals: Vec<u16> = positions.iter().filter_map(|&i| radix_index(alphabet, chars[i])).collect();
    let ff1 = FF1::<Aes256>::new(&keys.fpe, radix).map_err(|e| OpError::Fpe(e.to_string()))?;
    let ns = FlexibleNumeralString::from(numerals);
    let out = if decrypt { ff1.decrypt(tweak.as_bytes(), &ns) } else { ff1.encrypt(tweak.as_bytes(), &ns) }
        .map_err(|e| OpError::Fpe(e.to_string()))?;
    let out: Vec<u16> = out.into();
    let mut result = chars;
    for (&pos, &n) in positions.iter().zip(&out) {
        result[pos] = match alphabet {
            FpeAlphabet::Digits => char::from(b'0' + n as u8),
            FpeAlphabet::Alphanumeric => char::from(ALNUM[usize::from(n)]),
        };
    }
    Ok(result.into_iter().collect())
}

/// HMAC-SHA256 pseudonym: `prefix` + the first `length` hex characters.
pub fn pseudonym(keys: &Keys, domain: &str, prefix: &str, length: usize, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&keys.hmac).expect("HMAC takes any key length");
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}", &hex[..length.min(64)])
}

/// Masks all but the last `keep_last` characters; separators (space, `-`, `.`, `@`) stay visible
/// so the shape survives (`4111 1111 1111 1111` -> `**** **** **** 1111`).
pub fn mask(value: &str, keep_last: usize, ch: char) -> String {
    let chars: Vec<char> = value.chars().collect();
    let significant: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_alphanumeric()).collect();
    let keep_from = significant.len().saturating_sub(keep_last);
    let hidden: std::collections::HashSet<usize> = significant[..keep_from].iter().copied().collect();
    chars.iter().enumerate().map(|(i, &c)| if hidden.contains(&i) { ch } else { c }).collect()
}

/// Generalises a date to year/month, or a number to a range. `None` when the value does not parse.
pub fn generalize(value: &str, to: Option<DateGranularity>, width: Option<u32>, bins: Option<&[i64]>) -> Option<String> {
    let v = value.trim();
    if let Some(level) = to {
        if let Some((y, m, _)) = parse_date(v) {
            return Some(match level {
                DateGranularity::Year => y.to_string(),
                DateGranularity::Month => format!("{y}-{m:02}"),
            });
        }
        return (v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.to_owned());
    }
    let n: f64 = v.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let n = n.floor() as i64;
    if let Some(edges) = bins {
        let idx = edges.iter().rposition(|&e| n >= e);
        return Some(match idx {
            None => format!("<{}", edges[0]),
            Some(i) if i + 1 == edges.len() => format!("{}+", edges[i]),
            Some(i) => format!("{}-{}", edges[i], edges[i + 1] - 1),
        });
    }
    let w = i64::from(width?);
    let lo = n.div_euclid(w) * w;
    Some(format!("{lo}-{}", lo + w - 1))
}

/// Applies `op` to a whole value. `Ok(None)` means null. `placeholder` is used by `replace`
/// without `with`. `Keep`, `Detect` and `Drop` are handled by the caller and return the value.
pub fn apply(op: &Operator, keys: Option<&Keys>, placeholder: &str, value: &str) -> Result<Option<String>, OpError> {
    Ok(match op {
        Operator::Keep | Operator::Detect | Operator::Drop => Some(value.to_owned()),
        Operator::Redact => None,
        Operator::Mask { keep_last, char } => Some(mask(value, *keep_last, *char)),
        Operator::Replace { with } => Some(with.clone().unwrap_or_else(|| placeholder.to_owned())),
        Operator::Pseudonymize { length, prefix, domain } => Some(pseudonym(keys.ok_or(OpError::NoKey)?, domain, prefix, *length, value)),
        Operator::Fpe { alphabet, tweak } => Some(fpe(keys.ok_or(OpError::NoKey)?, *alphabet, tweak, value, false)?),
        Operator::Generalize { to, width, bins } => generalize(value, *to, *width, bins.as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> Keys {
        Keys::derive(b"correct horse battery staple").unwrap()
    }

    #[test]
    fn fpe_preserves_format_and_round_trips() {
        let k = keys();
        let card = "4111-1111-1111-1111";
        let enc = fpe(&k, FpeAlphabet::Digits, "", card, false).unwrap();
        assert_ne!(enc, card);
        assert_eq!(enc.len(), card.len());
        assert_eq!(enc.matches('-').count(), 3);
        assert_eq!(fpe(&k, FpeAlphabet::Digits, "", &enc, true).unwrap(), card);
        assert!(matches!(fpe(&k, FpeAlphabet::Digits, "", "12345", false), Err(OpError::TooShortForFpe { .. })));
        let other = Keys::derive(b"another key of enough length").unwrap();
        assert_ne!(fpe(&other, FpeAlphabet::Digits, "", card, false).unwrap(), enc);
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let k = keys();
        assert_eq!(pseudonym(&k, "", "", 16, "jane@example.com"), pseudonym(&k, "", "", 16, "jane@example.com"));
        assert_ne!(pseudonym(&k, "", "", 16, "jane@example.com"), pseudonym(&k, "", "", 16, "john@example.com"));
        assert_ne!(pseudonym(&k, "a", "", 16, "x"), pseudonym(&k, "b", "", 16, "x"));
        assert_eq!(pseudonym(&k, "", "id_", 8, "x").len(), 11);
        assert_eq!(Keys::derive(b"short").unwrap_err(), OpError::ShortKey(5));
    }

    #[test]
    fn mask_and_generalize() {
        assert_eq!(mask("4111 1111 1111 1234", 4, '*'), "**** **** **** 1234");
        assert_eq!(generalize("1985-03-12", Some(DateGranularity::Year), None, None).as_deref(), Some("1985"));
        assert_eq!(generalize("12/03/1985", Some(DateGranularity::Month), None, None).as_deref(), Some("1985-03"));
        assert_eq!(generalize("37", None, Some(10), None).as_deref(), Some("30-39"));
        assert_eq!(generalize("70", None, None, Some(&[0, 18, 65])).as_deref(), Some("65+"));
        assert_eq!(generalize("17", None, None, Some(&[0, 18, 65])).as_deref(), Some("0-17"));
        assert_eq!(generalize("n/a", None, Some(10), None), None);
    }

    proptest! {
        #[test]
        fn fpe_round_trips_any_alphanumeric_value(v in "[0-9A-Za-z .-]{4,40}", tweak in "[a-z]{0,8}") {
            let k = keys();
            if let Ok(enc) = fpe(&k, FpeAlphabet::Alphanumeric, &tweak, &v, false) {
                prop_assert_eq!(enc.chars().count(), v.chars().count());
                prop_assert_eq!(fpe(&k, FpeAlphabet::Alphanumeric, &tweak, &enc, true).unwrap(), v);
            }
        }
    }
}
