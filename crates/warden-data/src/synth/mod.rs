//! A deterministic generator of labelled PII text and tables, for tests and benchmarks.
//!
//! Records are sentences from templates in six locales (en_US, en_GB, de_DE, fr_FR, es_ES,
//! nl_NL) with entity slots; every inserted value is labelled with its character span. Hard
//! negatives are mixed in unlabelled: card numbers failing Luhn, SSNs in never-issued ranges,
//! version strings, order and tracking ids, dates without birth context, 9-digit numbers
//! without passport context. About a fifth of names and places are drawn from lists that are not
//! in warden's dictionaries, so recall on names is measured honestly.

pub mod values;

use serde::Serialize;

use crate::pii::Entity;
use values::Rng;

/// A labelled span, in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Start character offset.
    pub start: usize,
    /// End character offset (exclusive).
    pub end: usize,
    /// The entity.
    pub entity: Entity,
}

/// One generated text with its labels.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledText {
    /// The locale the record was written for.
    pub locale: &'static str,
    /// The text (one line, no newline).
    pub text: String,
    /// The PII spans in it.
    pub spans: Vec<Span>,
}

/// The locales the generator writes.
pub const LOCALES: [&str; 6] = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL"];

const GIVEN: &[&str] = &[
    "James", "Mary", "Robert", "Jennifer", "Michael", "Sarah", "Emma", "Oliver", "Lukas", "Sophie", "Jürgen", "Sabine",
    "Camille", "Julien", "Élodie", "Javier", "Lucía", "Carmen", "Giulia", "Marco", "Daan", "Sanne", "Femke", "Priya",
    "Rahul", "Fatima", "Omar", "Wei", "Hiroshi", "Ana",
];
const GIVEN_OOV: &[&str] = &["Zbigniew", "Oluwaseun", "Siobhan", "Dragan", "Aino", "Bogdan", "Eilidh", "Thandiwe", "Kealoha", "Radomir"];
const FAMILY: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Miller", "Taylor", "Müller", "Schmidt", "Fischer", "Dubois", "Moreau", "Lefebvre",
    "Fernández", "López", "Rossi", "Bianchi", "Jansen", "Bakker", "Visser", "Sharma", "Patel", "Wang", "Tanaka", "Hassan",
    "Silva", "O'Brien",
];
const FAMILY_OOV: &[&str] = &["Kowalczyk", "Adeyemi", "Gallagher", "Petrovic", "Virtanen", "Ionescu", "Nakashima", "Okonkwo", "Halvorsen"];
const PLACES: &[&str] = &[
    "London", "Manchester", "Berlin", "Hamburg", "München", "Paris", "Lyon", "Madrid", "Barcelona", "Amsterdam",
    "Rotterdam", "New York", "San Francisco", "Chicago", "Toronto", "Germany", "France", "Spain", "Netherlands",
    "United States", "Buenos Aires", "Tokyo", "Mumbai",
];
const PLACES_OOV: &[&str] = &["Tampere", "Ljubljana", "Tartu", "Gdansk", "Aarhus", "Bergamo"];

/// Builds a text while recording spans in characters.
struct Builder {
    text: String,
    chars: usize,
    spans: Vec<Span>,
}

impl Builder {
    fn lit(&mut self, s: &str) {
        self.text.push_str(s);
        self.chars += s.chars().count();
    }

    fn pii(&mut self, entity: Entity, value: &str) {
        let start = self.chars;
        self.lit(value);
        self.spans.push(Span { start, end: self.chars, entity });
    }

    /// Fills a template: `{entity}` slots are labelled, `{~kind}` slots are unlabelled negatives.
    fn fill(&mut self, template: &str, rng: &mut Rng, locale: &'static str, person: &(String, String)) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            self.lit(&rest[..open]);
            let Some(close) = rest[open..].find('}') else { break };
            let slot = &rest[open + 1..open + close];
            rest = &rest[open + close + 1..];
            if let Some(neg) = slot.strip_prefix('~') {
                self.lit(&negative(neg, rng));
                continue;
            }
            let entity: Entity = slot.parse().unwrap_or(Entity::Url);
            let value = match entity {
                Entity::Person => format!("{} {}", person.0, person.1),
                Entity::Email => {
                    let dom = rng.pick(&["example.com", "mail.de", "posteo.net", "outlook.fr", "correo.es", "ziggo.nl"]);
                    format!("{}.{}@{dom}", values::ascii_fold(&person.0), values::ascii_fold(&person.1))
                }
                Entity::PhoneNumber => values::phone(rng, locale),
                Entity::CreditCard => values::credit_card(rng),
                Entity::Iban => values::iban(rng),
                Entity::UsSsn => values::us_ssn(rng),
                Entity::UkNino => values::uk_nino(rng),
                Entity::Passport => values::passport(rng),
                Entity::IpAddress => values::ip(rng),
                Entity::MacAddress => values::mac(rng),
                Entity::Url => values::url(rng),
                Entity::DateOfBirth => values::date(rng),
                Entity::Location => {
                    if rng.chance(0.2) { rng.pick(PLACES_OOV).to_owned() } else { rng.pick(PLACES).to_owned() }
                }
                Entity::CryptoWallet => values::crypto_wallet(rng),
                Entity::Secret => values::secret(rng),
            };
            self.pii(entity, &value);
        }
        self.lit(rest);
    }
}

/// Unlabelled look-alikes.
fn negative(kind: &str, rng: &mut Rng) -> String {
    match kind {
        "badcard" => values::luhn_failing_card(rng),
        "badssn" => values::invalid_ssn(rng),
        "version" => format!("{}.{}.{}.{}", rng.range(1, 9), rng.range(0, 20), rng.range(0, 30), rng.range(0, 200)),
        "semver" => format!("{}.{}.{}", rng.range(0, 9), rng.range(0, 30), rng.range(0, 99)),
        "order" => format!("ORD-{}-{}", rng.range(2019, 2025), rng.digits(6)),
        "ordernum" => format!("{}-{}-{}", rng.digits(3), rng.digits(3), rng.digits(4)),
        "date" => values::date(rng),
        "nine" => format!("{}{}", rng.range(1, 9), rng.digits(8)),
        "tracking" => format!("1Z{}{}", rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", 6), rng.digits(10)),
        "amount" => format!("{},{:03}.{:02}", rng.range(1, 999), rng.range(0, 999), rng.range(0, 99)),
        "hash" => rng.chars(b"0123456789abcdef", 40),
        "uuid" => format!("{}-{}-4{}-a{}-{}", rng.chars(b"0123456789abcdef", 8), rng.chars(b"0123456789abcdef", 4), rng.chars(b"0123456789abcdef", 3), rng.chars(b"0123456789abcdef", 3), rng.chars(b"0123456789abcdef", 12)),
        "time" => format!("{:02}:{:02}:{:02}", rng.range(0, 23), rng.range(0, 59), rng.range(0, 59)),
        _ => rng.digits(6),
    }
}

/// Sentences with PII slots (labelled) and negative slots (`{~kind}`, unlabelled).
const TEMPLATES: &[&str] = &[
    "Please contact {person} at {email} or call {phone_number}.",
    "Customer {person} paid with card {credit_card} on {~date}.",
    "Wire the refund to IBAN {iban} (account holder {person}).",
    "Applicant SSN: {us_ssn}, date of birth {date_of_birth}.",
    "Employee {person}, NI number {uk_nino}, lives in {location}.",
    "Passport number {passport} was scanned at the {location} office.",
    "Login from {ip_address} failed for user {email}.",
    "Device {mac_address} joined the network at {~time}.",
    "See {url} for the order status of {~order}.",
    "Donations to bitcoin wallet {crypto_wallet} are welcome.",
    "Config leaked: api_key = {secret}",
    "{person} was born on {date_of_birth} in {location}.",
    "Mobile: {phone_number}, e-mail {email}",
    "Dear {person}, your parcel to {location} has tracking number {~tracking}.",
    "Reach me on {phone_number} after 6pm.",
    "Token {secret} was committed by {person}.",
    "Geburtsdatum: {date_of_birth}, Telefon {phone_number}",
    "Née le {date_of_birth} à {location}, tél. {phone_number}",
    "Fecha de nacimiento {date_of_birth}; teléfono {phone_number}.",
    "Server {ip_address} forwarded the request to {ip_address}.",
    "The card on file is {credit_card}.",
    "Her social security number is {us_ssn}.",
];

/// Texts with only hard negatives (no labels).
const NEGATIVE_TEMPLATES: &[&str] = &[
    "Upgraded the agent to version {~version} and the CLI to {~semver}.",
    "Order {~order} ships on {~date} with invoice {~ordernum}.",
    "Card number {~badcard} was rejected by the payment processor.",
    "The test fixture uses placeholder id {~badssn}.",
    "Ticket {~nine} was closed; tracking {~tracking}.",
    "Total due: {~amount} EUR, reference {~uuid}.",
    "Commit {~hash} fixed the build at {~time}.",
    "Release notes for build {~version}: performance improvements.",
    "Meeting moved to {~date}, room 4.12.",
    "Part number {~ordernum} is out of stock.",
];

/// Generates `n` labelled records from `seed` (same seed, same records).
pub fn labelled_texts(n: usize, seed: u64) -> Vec<LabelledText> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| labelled_text(&mut rng)).collect()
}

fn person(rng: &mut Rng) -> (String, String) {
    let given = if rng.chance(0.2) { rng.pick(GIVEN_OOV) } else { rng.pick(GIVEN) };
    let family = if rng.chance(0.2) { rng.pick(FAMILY_OOV) } else { rng.pick(FAMILY) };
    (given.to_owned(), family.to_owned())
}

/// One record: one or two sentences, sometimes with a hard negative sentence.
pub fn labelled_text(rng: &mut Rng) -> LabelledText {
    let locale = LOCALES[rng.below(LOCALES.len())];
    let mut b = Builder { text: String::new(), chars: 0, spans: Vec::new() };
    let sentences = 1 + rng.below(2);
    for i in 0..sentences {
        if i > 0 {
            b.lit(" ");
        }
        let p = person(rng);
        let template = if rng.chance(0.3) { rng.pick(NEGATIVE_TEMPLATES) } else { rng.pick(TEMPLATES) };
        b.fill(template, rng, locale, &p);
    }
    LabelledText { locale, text: b.text, spans: b.spans }
}

/// Column names of [`table_row`].
pub const TABLE_COLUMNS: [&str; 9] = ["id", "full_name", "email", "phone", "city", "dob", "card_number", "amount", "notes"];

/// One table row for [`TABLE_COLUMNS`], deterministic in `(seed, row)`.
pub fn table_row(seed: u64, row: u64) -> Vec<String> {
    let mut rng = Rng::new(seed.wrapping_mul(0x100_0000_01b3) ^ row);
    let locale = LOCALES[rng.below(LOCALES.len())];
    let (g, f) = person(&mut rng);
    let email = format!("{}.{}@example.com", values::ascii_fold(&g), values::ascii_fold(&f));
    let city = if rng.chance(0.2) { rng.pick(PLACES_OOV) } else { rng.pick(PLACES) };
    let notes = match rng.below(4) {
        0 => format!("called from {}", values::phone(&mut rng, locale)),
        1 => format!("upgraded agent to version {}", negative("version", &mut rng)),
        2 => "no issues".to_owned(),
        _ => format!("order {}", negative("order", &mut rng)),
    };
    vec![
        row.to_string(),
        format!("{g} {f}"),
        email,
        values::phone(&mut rng, locale),
        city.to_owned(),
        format!("{}-{:02}-{:02}", rng.range(1940, 2005), rng.range(1, 12), rng.range(1, 28)),
        values::credit_card(&mut rng),
        format!("{}.{:02}", rng.range(1, 5000), rng.range(0, 99)),
        notes,
    ]
}

/// Quotes one CSV field (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests;
