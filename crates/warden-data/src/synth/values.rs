//! Values for each entity, valid by construction (checksums computed, phone numbers in ranges
//! libphonenumber accepts), and a small deterministic RNG.

use sha2::{Digest, Sha256};

/// SplitMix64: tiny, deterministic, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of `items`.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    /// `n` random characters from `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(alphabet[self.below(alphabet.len())])).collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Appends the Luhn check digit to `body`.
pub fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A valid card number (Visa, Mastercard or Amex), formatted with spaces, dashes or not at all.
pub fn credit_card(rng: &mut Rng) -> String {
    let (prefix, len) = match rng.below(3) {
        0 => ("4".to_owned(), 16),
        1 => (format!("5{}", rng.range(1, 5)), 16),
        _ => (rng.pick(&["34", "37"]).to_owned(), 15),
    };
    let body = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let number = luhn_complete(&body);
    let sep: &str = rng.pick(&["", " ", "-"]);
    if sep.is_empty() || len == 15 {
        return number;
    }
    number.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect::<Vec<_>>().join(sep)
}

/// The same card with its last digit changed: fails Luhn (a hard negative).
pub fn luhn_failing_card(rng: &mut Rng) -> String {
    let good = luhn_complete(&format!("4{}", rng.digits(14)));
    let last = good.as_bytes()[15] - b'0';
    format!("{}{}", &good[..15], (last + 1 + rng.range(0, 7) as u8) % 10)
}

/// A valid IBAN for DE, GB, FR, ES or NL, grouped by four or compact.
pub fn iban(rng: &mut Rng) -> String {
    let (country, bban) = match rng.below(5) {
        0 => ("DE", rng.digits(18)),
        1 => ("GB", format!("{}{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), rng.digits(14))),
        2 => ("FR", format!("{}{}{}", rng.digits(10), rng.chars(UPPER_DIGITS, 11), rng.digits(2))),
        3 => ("ES", rng.digits(20)),
        _ => ("NL", format!("{}{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), rng.digits(10))),
    };
    let numeric: String = format!("{bban}{country}00")
        .bytes()
        .map(|b| if b.is_ascii_digit() { char::from(b).to_string() } else { (u32::from(b - b'A') + 10).to_string() })
        .collect();
    let rem = numeric.bytes().fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
    let compact = format!("{country}{:02}{bban}", 98 - rem);
    if rng.chance(0.5) {
        compact
    } else {
        compact.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect::<Vec<_>>().join(" ")
    }
}

/// A US SSN outside the never-issued ranges, `AAA-GG-SSSS`.
pub fn us_ssn(rng: &mut Rng) -> String {
    let mut area = rng.range(1, 899);
    if area == 666 {
        area = 667;
    }
    format!("{area:03}-{:02}-{:04}", rng.range(1, 99), rng.range(1, 9999))
}

/// A US SSN in a never-issued range (hard negative).
pub fn invalid_ssn(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("000-{:02}-{:04}", rng.range(1, 99), rng.range(1, 9999)),
        1 => format!("666-{:02}-{:04}", rng.range(1, 99), rng.range(1, 9999)),
        2 => format!("9{:02}-{:02}-{:04}", rng.range(0, 99), rng.range(1, 99), rng.range(1, 9999)),
        _ => format!("{:03}-00-{:04}", rng.range(1, 665), rng.range(1, 9999)),
    }
}

/// A UK National Insurance number, spaced or compact.
pub fn uk_nino(rng: &mut Rng) -> String {
    let first = rng.chars(b"ABCEGHJKLMNOPRSTWXYZ", 1);
    let mut second = rng.chars(b"ABCEGHJKLMNPRSTWXYZ", 1);
    if matches!(format!("{first}{second}").as_str(), "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ") {
        second = "A".into();
    }
    let d = rng.digits(6);
    let suffix = rng.chars(b"ABCD", 1);
    if rng.chance(0.5) {
        format!("{first}{second}{d}{suffix}")
    } else {
        format!("{first}{second} {} {} {} {suffix}", &d[..2], &d[2..4], &d[4..])
    }
}

/// A passport-like number (letter(s) + digits, or 9 digits).
pub fn passport(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("{}{}", rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ", 1), rng.digits(7)),
        1 => format!("{}{}", rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ", 2), rng.digits(7)),
        _ => format!("{}{}", rng.range(1, 9), rng.digits(8)),
    }
}

/// A phone number valid for `locale`, international or national format.
pub fn phone(rng: &mut Rng, locale: &str) -> String {
    let intl = rng.chance(0.5);
    match locale {
        "en_US" => {
            let area = rng.pick(&["201", "212", "213", "305", "312", "404", "415", "503", "512", "617", "646", "702", "713", "718", "917"]);
            let exch = format!("{}{}", rng.range(2, 9), rng.digits(2)).replace("11", "21").replace("55", "57");
            let line = rng.digits(4);
            if intl { format!("+1 {area} {exch} {line}") } else { format!("({area}) {exch}-{line}") }
        }
        "en_GB" => {
            let rest = format!("7{}{}", rng.range(1, 3), rng.digits(2));
            let sub = rng.digits(6);
            if intl { format!("+44 {rest} {sub}") } else { format!("0{rest} {sub}") }
        }
        "de_DE" => {
            let sub = format!("{}{}", rng.range(2, 9), rng.digits(7));
            if intl { format!("+49 30 {sub}") } else { format!("030 {sub}") }
        }
        "fr_FR" => {
            let d = format!("6{}{}", rng.pick(&["0", "1", "2", "4", "5", "6", "7", "8"]), rng.digits(7));
            let pairs = format!("{} {} {} {}", &d[1..3], &d[3..5], &d[5..7], &d[7..9]);
            if intl { format!("+33 {} {pairs}", &d[..1]) } else { format!("0{} {pairs}", &d[..1]) }
        }
        "es_ES" => {
            let d = format!("6{}", rng.digits(8));
            if intl { format!("+34 {} {} {}", &d[..3], &d[3..6], &d[6..]) } else { format!("{} {} {}", &d[..3], &d[3..6], &d[6..]) }
        }
        _ => {
            let d = format!("{}{}", rng.range(1, 5), rng.digits(7));
            if intl { format!("+31 6 {d}") } else { format!("06-{d}") }
        }
    }
}

/// An IPv4 (75%) or IPv6 address.
pub fn ip(rng: &mut Rng) -> String {
    if rng.chance(0.75) {
        format!("{}.{}.{}.{}", rng.range(11, 223), rng.range(0, 255), rng.range(0, 255), rng.range(1, 254))
    } else {
        let g: Vec<String> = (0..4).map(|_| format!("{:x}", rng.range(1, 0xffff))).collect();
        format!("2001:db8:{}:{}::{}:{}", g[0], g[1], g[2], g[3])
    }
}

/// A MAC address with colons or dashes.
pub fn mac(rng: &mut Rng) -> String {
    let sep = if rng.chance(0.5) { ":" } else { "-" };
    (0..6).map(|_| format!("{:02x}", rng.range(1, 255))).collect::<Vec<_>>().join(sep)
}

/// A URL.
pub fn url(rng: &mut Rng) -> String {
    let host = rng.pick(&["example", "shop-online", "news-daily", "acme-corp", "my-blog", "travel-deals"]);
    let tld = rng.pick(&["com", "org", "de", "co.uk", "fr", "io"]);
    let path = rng.pick(&["", "/login", "/account/settings", "/p/12345", "/search?q=shoes"]);
    let scheme = rng.pick(&["https://", "http://", "https://www."]);
    format!("{scheme}{host}.{tld}{path}")
}

/// A birth date in one of several spellings.
pub fn date(rng: &mut Rng) -> String {
    let (y, m, d) = (rng.range(1940, 2005), rng.range(1, 12), rng.range(1, 28));
    const MONTHS: [&str; 12] =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    match rng.below(4) {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{d:02}/{m:02}/{y}"),
        2 => format!("{d}. {} {y}", MONTHS[m as usize - 1]),
        _ => format!("{} {d}, {y}", MONTHS[m as usize - 1]),
    }
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_encode(data: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new();
    for &byte in data {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros).chain(digits.iter().rev().map(|&d| char::from(BASE58[usize::from(d)]))).collect()
}

/// A Bitcoin P2PKH/P2SH address (valid base58check) or an Ethereum address.
pub fn crypto_wallet(rng: &mut Rng) -> String {
    if rng.chance(0.6) {
        let mut raw = vec![if rng.chance(0.5) { 0x00 } else { 0x05 }];
        raw.extend((0..20).map(|_| rng.below(256) as u8));
        let check = Sha256::digest(Sha256::digest(&raw));
        raw.extend_from_slice(&check[..4]);
        base58_encode(&raw)
    } else {
        format!("0x{}", rng.chars(b"0123456789abcdef", 40))
    }
}

/// A secret in a provider's format.
pub fn secret(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("AKIA{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        1 => format!("ghp_{}", rng.chars(ALNUM, 36)),
        2 => format!("xoxb-{}-{}-{}", rng.digits(12), rng.digits(13), rng.chars(ALNUM, 24)),
        3 => format!("sk_live_{}", rng.chars(ALNUM, 24)),
        4 => format!("AIza{}", rng.chars(ALNUM, 35)),
        5 => format!("sk-proj-{}", rng.chars(ALNUM, 40)),
        6 => format!("eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}", rng.chars(ALNUM, 30), rng.chars(ALNUM, 43)),
        _ => "-----BEGIN RSA PRIVATE KEY-----".to_owned(),
    }
}

/// ASCII-folds a name for an e-mail local part.
pub fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' | 'É' => Some('e'),
            'í' | 'ì' | 'î' | 'ï' => Some('i'),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => Some('o'),
            'ú' | 'ù' | 'û' | 'ü' => Some('u'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            'ß' => Some('s'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}
