//! Checksums and structural checks that turn a regex candidate into a confident match.
//!
//! Each validator takes the matched text and says whether it is a real instance of its entity.
//! Recognizers (`recognizers.toml`) name their validator; unknown names are rejected when the
//! recognizer set loads.

use std::net::{Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// The validators a recognizer may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Accept any regex match.
    None,
    /// E-mail: a dotted domain with an alphabetic TLD and sane local part.
    Email,
    /// Luhn checksum plus a known card issuer prefix and length.
    Luhn,
    /// IBAN: known country, that country's length, mod-97 == 1.
    Iban,
    /// US SSN: area not 000/666/9xx, group not 00, serial not 0000, not a known fake.
    UsSsn,
    /// UK NINO: valid prefix letters.
    UkNino,
    /// IPv4 (no leading zeros) or IPv6, parsed with std.
    Ip,
    /// MAC address: one separator style, not all zero / broadcast.
    Mac,
    /// Bitcoin base58check (P2PKH / P2SH) or bech32/bech32m (segwit).
    Bitcoin,
    /// Ethereum address; EIP-55 checksum checked when the address is mixed case.
    Ethereum,
    /// Phone number valid for its region (libphonenumber metadata).
    Phone,
    /// A calendar date that exists and is plausibly a birth date (1900..=2025).
    Date,
    /// Shannon entropy of at least 3.0 bits per char and a digit or mixed case.
    Entropy,
}

impl Validator {
    /// Parses a validator name from the recognizer file.
    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "none" => Validator::None,
            "email" => Validator::Email,
            "luhn" => Validator::Luhn,
            "iban" => Validator::Iban,
            "us_ssn" => Validator::UsSsn,
            "uk_nino" => Validator::UkNino,
            "ip" => Validator::Ip,
            "mac" => Validator::Mac,
            "bitcoin" => Validator::Bitcoin,
            "ethereum" => Validator::Ethereum,
            "phone" => Validator::Phone,
            "date" => Validator::Date,
            "entropy" => Validator::Entropy,
            _ => return None,
        })
    }

    /// True when `text` passes this validator.
    pub fn check(self, text: &str) -> bool {
        match self {
            Validator::None => true,
            Validator::Email => email(text),
            Validator::Luhn => card(text),
            Validator::Iban => iban(text),
            Validator::UsSsn => us_ssn(text),
            Validator::UkNino => uk_nino(text),
            Validator::Ip => ip(text),
            Validator::Mac => mac(text),
            Validator::Bitcoin => bitcoin(text),
            Validator::Ethereum => ethereum(text),
            Validator::Phone => phone(text),
            Validator::Date => date(text),
            Validator::Entropy => high_entropy(text),
        }
    }
}

fn digits(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// E-mail structure beyond the regex: no leading/trailing/double dots, TLD of letters.
pub fn email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Luhn mod-10 over the digits of `text`.
pub fn luhn(text: &str) -> bool {
    let ds = digits(text);
    if ds.len() < 2 {
        return false;
    }
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card: Luhn plus an issuer prefix whose lengths match.
pub fn card(text: &str) -> bool {
    let ds: String = text.chars().filter(char::is_ascii_digit).collect();
    let n = ds.len();
    let p = |k: usize| ds.get(..k).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    let issuer = (ds.starts_with('4') && matches!(n, 13 | 16 | 19)) // Visa
        || ((51..=55).contains(&p(2)) && n == 16) // Mastercard
        || ((2221..=2720).contains(&p(4)) && n == 16)
        || (matches!(p(2), 34 | 37) && n == 15) // Amex
        || ((p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3))) && (16..=19).contains(&n)) // Discover
        || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&n)) // JCB
        || ((matches!(p(2), 36 | 38 | 39) || (300..=305).contains(&p(3))) && (14..=19).contains(&n)) // Diners
        || ((62..=62).contains(&p(2)) && (16..=19).contains(&n)); // UnionPay
    issuer && !ds.bytes().all(|b| b == ds.as_bytes()[0]) && luhn(&ds)
}

/// IBAN length per country (ISO 13616 registry).
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22),
        ("BH", 22), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22),
        ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18), ("FO", 18), ("FR", 27),
        ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28),
        ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20),
        ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("MC", 27), ("MD", 24),
        ("ME", 22), ("MK", 19), ("MR", 27), ("MT", 31), ("MU", 30), ("NL", 18), ("NO", 15), ("PK", 24),
        ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("SA", 24), ("SC", 31),
        ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24),
        ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
    ];
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

/// IBAN: country length and ISO 7064 mod-97.
pub fn iban(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if compact.len() < 5 || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    if iban_length(&compact[..2]) != Some(compact.len()) {
        return false;
    }
    let rearranged = compact[4..].bytes().chain(compact[..4].bytes());
    let mut rem: u32 = 0;
    for b in rearranged {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// US SSN: never-issued areas, groups and serials, and famous fakes.
pub fn us_ssn(text: &str) -> bool {
    let ds = digits(text);
    if ds.len() != 9 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| ds[r].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    let all_same = ds.iter().all(|&d| d == ds[0]);
    let fakes = [78_051_120u32, 219_099_999, 123_456_789];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !all_same && !fakes.contains(&num(0..9))
}

/// UK NINO: first letter not D F I Q U V, second not D F I O Q U V, prefix not BG GB KN NK NT TN ZZ.
pub fn uk_nino(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let b = compact.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let prefix = &compact[..2];
    !b"DFIQUV".contains(&b[0])
        && !b"DFIOQUV".contains(&b[1])
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix)
        && b[2..8].iter().all(u8::is_ascii_digit)
        && b"ABCD".contains(&b[8])
}

/// IPv4 (std parser: no leading zeros, octets <= 255) or IPv6.
pub fn ip(text: &str) -> bool {
    if text.contains(':') {
        return text.parse::<Ipv6Addr>().is_ok_and(|a| !a.is_unspecified());
    }
    text.parse::<Ipv4Addr>().is_ok_and(|a| !a.is_unspecified() && !a.is_broadcast())
}

/// MAC address with one separator style; not all-zero or broadcast.
pub fn mac(text: &str) -> bool {
    let seps: Vec<char> = text.chars().filter(|c| !c.is_ascii_hexdigit()).collect();
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    let one_style = seps.windows(2).all(|w| w[0] == w[1]);
    one_style && hex.len() == 12 && hex != "000000000000" && hex != "ffffffffffff"
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes() {
        let mut carry = BASE58.iter().position(|&b| b == c)? as u32;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&b| b == b'1').count();
    let mut full = vec![0u8; zeros];
    full.extend(out);
    Some(full)
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for &v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn bech32_valid(text: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = text.to_ascii_lowercase();
    if lower != text && text.to_ascii_uppercase() != text {
        return false;
    }
    let Some((hrp, data)) = lower.rsplit_once('1') else { return false };
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let mut values: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|b| b & 31));
    for c in data.bytes() {
        match CHARSET.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    let m = bech32_polymod(&values);
    m == 1 || m == 0x2bc8_30a3 // bech32 or bech32m
}

/// Bitcoin address: base58check with version 0x00/0x05, or segwit bech32(m) with `bc` prefix.
pub fn bitcoin(text: &str) -> bool {
    if text.to_ascii_lowercase().starts_with("bc1") {
        return bech32_valid(text);
    }
    let Some(raw) = base58_decode(text) else { return false };
    if raw.len() != 25 || !matches!(raw[0], 0x00 | 0x05) {
        return false;
    }
    let check = Sha256::digest(Sha256::digest(&raw[..21]));
    check[..4] == raw[21..]
}

/// Ethereum address; mixed-case addresses must pass EIP-55.
pub fn ethereum(text: &str) -> bool {
    let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) else { return false };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.bytes().all(|b| b == b'0') {
        return false;
    }
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    if !(has_upper && has_lower) {
        return true;
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    hex.bytes().enumerate().all(|(i, b)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        if b.is_ascii_digit() { true } else { b.is_ascii_uppercase() == (nibble >= 8) }
    })
}

/// Regions tried for national numbers starting with a trunk `0` (parsing is the costly part of
/// phone validation, so only regions whose numbers can look like this are tried).
const TRUNK_ZERO_REGIONS: [phonenumber::country::Id; 6] = {
    use phonenumber::country::Id::*;
    [GB, DE, FR, NL, IT, IN]
};
/// Regions tried for other national numbers.
const OTHER_REGIONS: [phonenumber::country::Id; 4] = {
    use phonenumber::country::Id::*;
    [US, ES, IT, IN]
};

/// Phone number valid in some region: international form parsed as such, national forms tried
/// against the regions warden's locales cover.
pub fn phone(text: &str) -> bool {
    let ds = digits(text);
    if !(7..=15).contains(&ds.len()) || ds.iter().all(|&d| d == ds[0]) {
        return false;
    }
    let trimmed = text.trim();
    if trimmed.starts_with('+') || trimmed.starts_with("00") {
        let normalized = if let Some(rest) = trimmed.strip_prefix("00") { format!("+{rest}") } else { trimmed.to_owned() };
        return phonenumber::parse(None, &normalized).is_ok_and(|n| phonenumber::is_valid(&n));
    }
    let regions: &[phonenumber::country::Id] = if trimmed.starts_with('0') { &TRUNK_ZERO_REGIONS } else { &OTHER_REGIONS };
    regions
        .iter()
        .any(|region| phonenumber::parse(Some(*region), trimmed).is_ok_and(|n| phonenumber::is_valid(&n)))
}

/// Days in `month` of `year` (proleptic Gregorian).
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Parses common date spellings into (year, month, day): ISO `1985-03-12`, `12/03/1985`,
/// `12.03.1985`, `March 12, 1985`, `12 March 1985`. Ambiguous day/month orders accept either.
pub fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let t = text.trim().trim_end_matches('.');
    let parts: Vec<&str> = t.split(['-', '/', '.', ' ', ',']).filter(|p| !p.is_empty()).collect();
    if parts.len() != 3 {
        return None;
    }
    let month_name = |s: &str| {
        let l = s.to_ascii_lowercase();
        MONTHS.iter().position(|m| l.starts_with(m)).map(|i| i as u32 + 1)
    };
    let num = |s: &str| s.parse::<u32>().ok();
    let ok = |y: u32, m: u32, d: u32| (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m);
    let (a, b, c) = (parts[0], parts[1], parts[2]);
    let candidates: Vec<(u32, u32, u32)> = if a.len() == 4 && a.bytes().all(|b| b.is_ascii_digit()) {
        vec![(num(a)?, num(b).or_else(|| month_name(b))?, num(c)?)]
    } else if let Some(m) = month_name(a) {
        vec![(num(c)?, m, num(b)?)]
    } else if let Some(m) = month_name(b) {
        vec![(num(c)?, m, num(a)?)]
    } else {
        let (x, y, z) = (num(a)?, num(b)?, num(c)?);
        vec![(z, y, x), (z, x, y)]
    };
    candidates.into_iter().find(|&(y, m, d)| (1000..=9999).contains(&y) && ok(y, m, d))
}

/// A real calendar date in a plausible birth-year range.
pub fn date(text: &str) -> bool {
    parse_date(text).is_some_and(|(y, _, _)| (1900..=2025).contains(&y))
}

/// Shannon entropy in bits per character.
pub fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts.iter().filter(|&&c| c > 0).map(|&c| {
        let p = f64::from(c) / n;
        -p * p.log2()
    }).sum()
}

/// A random-looking token: entropy >= 3.0 and both letters and digits (or mixed case).
pub fn high_entropy(text: &str) -> bool {
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    let has_upper = text.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = text.bytes().any(|b| b.is_ascii_lowercase());
    entropy(text) >= 3.0 && ((has_digit && (has_upper || has_lower)) || (has_upper && has_lower))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_issuers() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5500-0000-0000-0004"));
        assert!(card("378282246310005"));
        assert!(!card("4111 1111 1111 1112"));
        assert!(!card("1234567812345670")); // passes Luhn, no issuer
    }

    #[test]
    fn iban_checks_length_and_mod97() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("GB82WEST12345698765433"));
        assert!(!iban("DE89 3704 0044 0532 0130"));
        assert!(!iban("XX89370400440532013000"));
    }

    #[test]
    fn ssn_invalid_ranges() {
        assert!(us_ssn("536-22-8726"));
        for bad in ["000-12-3456", "666-12-3456", "912-12-3456", "536-00-8726", "536-22-0000", "078-05-1120", "111-11-1111"] {
            assert!(!us_ssn(bad), "{bad}");
        }
    }

    #[test]
    fn nino_prefixes() {
        assert!(uk_nino("AB 12 34 56 C"));
        assert!(!uk_nino("GB123456C"));
        assert!(!uk_nino("DA123456C"));
        assert!(!uk_nino("AB123456E"));
    }

    #[test]
    fn wallets() {
        assert!(bitcoin("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(!bitcoin("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"));
        assert!(bitcoin("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(!bitcoin("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdz"));
        assert!(ethereum("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(!ethereum("0x5aAeb6053f3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(ethereum("0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae"));
    }

    #[test]
    fn phones_validated_by_libphonenumber() {
        assert!(phone("+1 415 555 2671"));
        assert!(phone("+44 7911 123456"));
        assert!(phone("+49 30 12345678"));
        assert!(phone("(415) 555-2671"));
        assert!(!phone("+1 000 000 0000"));
        assert!(!phone("1234567"));
    }

    #[test]
    fn dates_and_ips() {
        assert_eq!(parse_date("1985-03-12"), Some((1985, 3, 12)));
        assert_eq!(parse_date("March 12, 1985"), Some((1985, 3, 12)));
        assert_eq!(parse_date("31/12/1985"), Some((1985, 12, 31)));
        assert!(parse_date("1985-02-30").is_none());
        assert!(ip("192.168.1.20") && ip("2001:db8::1"));
        assert!(!ip("256.1.1.1") && !ip("01.2.3.4"));
        assert!(mac("00:1A:2B:3C:4D:5E") && !mac("00:1A-2B:3C:4D:5E"));
    }
}
