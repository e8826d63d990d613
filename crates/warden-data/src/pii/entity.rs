//! The PII entity types warden recognises, with their rule ids and severities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use warden_core::Severity;

/// A kind of personal data or secret. Its rule id is `pii.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// An e-mail address.
    Email,
    /// A phone number valid for its country (libphonenumber metadata).
    PhoneNumber,
    /// A payment card number passing Luhn with a known issuer prefix.
    CreditCard,
    /// An International Bank Account Number passing mod-97 with its country's length.
    Iban,
    /// A US Social Security Number outside the never-issued ranges.
    UsSsn,
    /// A UK National Insurance number.
    UkNino,
    /// A passport number (only reported beside a context word).
    Passport,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A MAC (EUI-48) address.
    MacAddress,
    /// A URL.
    Url,
    /// A date next to a birth context word.
    DateOfBirth,
    /// A person's name (dictionary of given and family names).
    Person,
    /// A city or country (dictionary).
    Location,
    /// A cryptocurrency wallet address (BTC base58check / bech32, ETH).
    CryptoWallet,
    /// An API key, token, password or private key.
    Secret,
}

impl Entity {
    /// Every entity, in rule-id order.
    pub const ALL: [Entity; 15] = [
        Entity::Email,
        Entity::PhoneNumber,
        Entity::CreditCard,
        Entity::Iban,
        Entity::UsSsn,
        Entity::UkNino,
        Entity::Passport,
        Entity::IpAddress,
        Entity::MacAddress,
        Entity::Url,
        Entity::DateOfBirth,
        Entity::Person,
        Entity::Location,
        Entity::CryptoWallet,
        Entity::Secret,
    ];

    /// The snake_case name used in rule ids, configs and `--entities`.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Email => "email",
            Entity::PhoneNumber => "phone_number",
            Entity::CreditCard => "credit_card",
            Entity::Iban => "iban",
            Entity::UsSsn => "us_ssn",
            Entity::UkNino => "uk_nino",
            Entity::Passport => "passport",
            Entity::IpAddress => "ip_address",
            Entity::MacAddress => "mac_address",
            Entity::Url => "url",
            Entity::DateOfBirth => "date_of_birth",
            Entity::Person => "person",
            Entity::Location => "location",
            Entity::CryptoWallet => "crypto_wallet",
            Entity::Secret => "secret",
        }
    }

    /// The finding rule id, `pii.<entity>`.
    pub fn rule_id(self) -> String {
        format!("pii.{}", self.as_str())
    }

    /// The placeholder the `replace` operator writes, such as `<EMAIL>`.
    pub fn placeholder(self) -> String {
        format!("<{}>", self.as_str().to_ascii_uppercase())
    }

    /// How serious a leak of this kind is.
    pub fn severity(self) -> Severity {
        match self {
            Entity::Secret => Severity::High,
            Entity::CreditCard | Entity::Iban | Entity::UsSsn | Entity::UkNino | Entity::Passport => Severity::High,
            Entity::Email
            | Entity::PhoneNumber
            | Entity::DateOfBirth
            | Entity::Person
            | Entity::CryptoWallet => Severity::Medium,
            Entity::IpAddress | Entity::MacAddress | Entity::Location => Severity::Low,
            Entity::Url => Severity::Info,
        }
    }

    /// A human title for findings and SARIF rules.
    pub fn title(self) -> &'static str {
        match self {
            Entity::Email => "e-mail address in data",
            Entity::PhoneNumber => "phone number in data",
            Entity::CreditCard => "payment card number in data",
            Entity::Iban => "IBAN in data",
            Entity::UsSsn => "US Social Security Number in data",
            Entity::UkNino => "UK National Insurance number in data",
            Entity::Passport => "passport number in data",
            Entity::IpAddress => "IP address in data",
            Entity::MacAddress => "MAC address in data",
            Entity::Url => "URL in data",
            Entity::DateOfBirth => "date of birth in data",
            Entity::Person => "person name in data",
            Entity::Location => "location in data",
            Entity::CryptoWallet => "cryptocurrency wallet address in data",
            Entity::Secret => "secret or API key in data",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string naming no entity.
#[derive(Debug, thiserror::Error)]
#[error("unknown PII entity `{0}` (expected one of: {list})", list = Entity::ALL.map(Entity::as_str).join(", "))]
pub struct ParseEntityError(pub String);

impl FromStr for Entity {
    type Err = ParseEntityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().trim_start_matches("pii.").replace('-', "_");
        Entity::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| ParseEntityError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_round_trip_through_names_and_rule_ids() {
        for e in Entity::ALL {
            assert_eq!(e.as_str().parse::<Entity>().unwrap(), e);
            assert_eq!(e.rule_id().parse::<Entity>().unwrap(), e);
        }
        assert_eq!("phone-number".parse::<Entity>().unwrap(), Entity::PhoneNumber);
        assert!("ssn".parse::<Entity>().is_err());
        assert_eq!(Entity::Email.placeholder(), "<EMAIL>");
    }
}
