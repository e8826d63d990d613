//! Shipped short names for ATLAS technique ids and OWASP Top 10 ids (`data/taxonomy.yaml`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// Names for the ids the rules use, in warden's own words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    techniques: BTreeMap<String, String>,
    owasp: BTreeMap<String, String>,
}

impl Taxonomy {
    /// Our short name for an ATLAS technique id.
    pub fn technique(&self, id: &str) -> Option<&str> {
        self.techniques.get(id).map(String::as_str)
    }

    /// The name of an OWASP ML or LLM Top 10 id.
    pub fn owasp(&self, id: &str) -> Option<&str> {
        self.owasp.get(id).map(String::as_str)
    }

    /// Every technique id with a shipped name.
    pub fn technique_ids(&self) -> impl Iterator<Item = &str> {
        self.techniques.keys().map(String::as_str)
    }
}

/// The shipped taxonomy.
pub fn shipped() -> &'static Taxonomy {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    // Shipped in the binary and parsed by the rules tests.
    TAXONOMY.get_or_init(|| serde_saphyr::from_str(include_str!("../data/taxonomy.yaml")).expect("data/taxonomy.yaml is valid"))
}

/// The OWASP list an id belongs to.
pub fn owasp_list(id: &str) -> &'static str {
    if id.starts_with("LLM") { "OWASP Top 10 for LLM Applications 2025" } else { "OWASP Machine Learning Security Top 10" }
}
