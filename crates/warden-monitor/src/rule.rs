//! The fixed parts of every finding this crate raises.

use warden_core::render::RuleInfo;

/// A monitoring rule (the shared shape from `warden-core`).
pub use warden_core::Rule;


/// Every rule of this crate.
pub fn rule_infos() -> Vec<RuleInfo> {
    crate::fairness::RULES.iter().chain(crate::detect::RULES).map(|r| r.info()).collect()
}
