//! The catalogue of scan rules. Each format module declares its own [`Rule`] statics and lists
//! them in a `RULES` slice; [`all`] gathers them for `warden rules` and SARIF.

use warden_core::render::RuleInfo;

/// A scan rule (the shared shape from `warden-core`).
pub use warden_core::Rule;

/// ATLAS: AI Supply Chain Compromise: Model.
pub const ATLAS_SUPPLY_CHAIN_MODEL: &str = "AML.T0010.003";
/// ATLAS: User Execution: Unsafe AI Artifacts.
pub const ATLAS_UNSAFE_ARTIFACT: &str = "AML.T0011.000";
/// ATLAS: Manipulate AI Model / Embed Malware.
pub const ATLAS_EMBED_MALWARE: &str = "AML.T0018.002";
/// ATLAS: Denial of AI Service.
pub const ATLAS_DENIAL_OF_SERVICE: &str = "AML.T0029";

/// Every rule warden-scan can report, sorted by id.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = [
        crate::context::RULES,
        crate::walk::RULES,
        crate::pickle::RULES,
        crate::formats::archive::RULES,
        crate::formats::zip::RULES,
        crate::formats::pytorch::RULES,
        crate::formats::numpy::RULES,
        crate::formats::keras::RULES,
        crate::formats::hdf5::RULES,
        crate::formats::savedmodel::RULES,
        crate::formats::onnx::RULES,
        crate::formats::gguf::RULES,
        crate::formats::safetensors::RULES,
    ]
    .concat();
    rules.sort_by_key(|r| r.id);
    rules.dedup_by_key(|r| r.id);
    rules
}

/// The rules as the renderers need them.
pub fn rule_infos() -> Vec<RuleInfo> {
    all()
        .into_iter()
        .map(|r| r.info())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_dotted_kebab_case_and_documented() {
        for rule in all() {
            assert!(
                rule.id.split('.').count() >= 2
                    && rule.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
                "bad rule id {}",
                rule.id
            );
            assert!(!rule.title.is_empty() && !rule.description.is_empty() && !rule.remediation.is_empty(), "{} lacks docs", rule.id);
        }
    }
}
