//! The rules `warden verify` reports. Ids are `integrity.<kebab>`.

use warden_core::Severity;
use warden_core::render::RuleInfo;

/// A verification rule (the shared shape from `warden-core`).
pub use warden_core::Rule;

/// ATLAS: AI Supply Chain Compromise: Model.
const SUPPLY_CHAIN_MODEL: &str = "AML.T0010.003";
/// ATLAS: Manipulate AI Model.
const MANIPULATE_MODEL: &str = "AML.T0018";

/// A file the signature does not cover.
pub static FILE_ADDED: Rule = Rule {
    id: "integrity.file-added",
    severity: Severity::High,
    title: "File added after signing",
    description: "The model holds a file that the signed manifest does not list. Loaders may pick it up (an extra pickle, a config that points elsewhere).",
    atlas: &[SUPPLY_CHAIN_MODEL, MANIPULATE_MODEL],
    remediation: "Remove the file, or have the publisher re-sign the model if the file belongs to it.",
};

/// A signed file that is missing.
pub static FILE_REMOVED: Rule = Rule {
    id: "integrity.file-removed",
    severity: Severity::High,
    title: "Signed file missing",
    description: "A file listed in the signed manifest is not in the model.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Fetch the model again from its publisher.",
};

/// A signed file whose content changed.
pub static FILE_CHANGED: Rule = Rule {
    id: "integrity.file-changed",
    severity: Severity::Critical,
    title: "Signed file modified",
    description: "A file's digest differs from the one in the signed manifest: its bytes changed after signing.",
    atlas: &[SUPPLY_CHAIN_MODEL, MANIPULATE_MODEL],
    remediation: "Do not load the model; fetch it again from its publisher and find out how it was modified.",
};

/// The DSSE signature does not verify.
pub static SIGNATURE_INVALID: Rule = Rule {
    id: "integrity.signature-invalid",
    severity: Severity::Critical,
    title: "Signature does not verify",
    description: "The DSSE envelope's signature does not verify with the given key or certificate: the manifest was altered or signed by someone else.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Check that you have the publisher's key; otherwise treat the model as tampered.",
};

/// The bundle names another public key.
pub static KEY_MISMATCH: Rule = Rule {
    id: "integrity.key-mismatch",
    severity: Severity::Critical,
    title: "Signed with a different key",
    description: "The bundle's public-key hint is not the hint of the key given for verification: the model was signed with another key.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Verify with the publisher's public key; if you already are, treat the model as re-signed by someone else.",
};

/// The certificate chain is not trusted.
pub static CERTIFICATE_INVALID: Rule = Rule {
    id: "integrity.certificate-invalid",
    severity: Severity::Critical,
    title: "Signing certificate not trusted",
    description: "The signing certificate does not chain to a given root, is outside its validity period, is not allowed to sign, or uses an unsupported algorithm.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Pass the publisher's root certificate with --certificate-chain, or treat the signature as untrusted.",
};

/// The bundle cannot be read.
pub static BUNDLE_MALFORMED: Rule = Rule {
    id: "integrity.bundle-malformed",
    severity: Severity::High,
    title: "Malformed signature bundle",
    description: "The signature file is not a Sigstore bundle holding an OMS v1.0 in-toto statement.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Get the signature file again; if it came with the model, treat both as untrusted.",
};

/// The signed manifest does not hash to its own subject digest.
pub static MANIFEST_INCONSISTENT: Rule = Rule {
    id: "integrity.manifest-inconsistent",
    severity: Severity::Critical,
    title: "Manifest inconsistent with its digest",
    description: "The resources listed in the signed statement do not hash to the statement's subject digest.",
    atlas: &[SUPPLY_CHAIN_MODEL],
    remediation: "Treat the signature as invalid and ask the publisher to re-sign.",
};

/// Everything matched.
pub static VERIFIED: Rule = Rule {
    id: "integrity.verified",
    severity: Severity::Info,
    title: "Model matches its signature",
    description: "The signature verifies and every file matches the signed manifest.",
    atlas: &[],
    remediation: "",
};

/// Every rule, sorted by id.
pub static RULES: &[&Rule] = &[
    &BUNDLE_MALFORMED,
    &CERTIFICATE_INVALID,
    &FILE_ADDED,
    &FILE_CHANGED,
    &FILE_REMOVED,
    &KEY_MISMATCH,
    &MANIFEST_INCONSISTENT,
    &SIGNATURE_INVALID,
    &VERIFIED,
];

/// The rules as the renderers (SARIF) need them.
pub fn rule_infos() -> Vec<RuleInfo> {
    RULES
        .iter()
        .map(|r| r.info())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_sorted_kebab_and_documented() {
        for pair in RULES.windows(2) {
            assert!(pair[0].id < pair[1].id);
        }
        for r in RULES {
            assert!(r.id.starts_with("integrity.") && r.id.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '-'), "{}", r.id);
            assert!(!r.title.is_empty() && !r.description.is_empty());
        }
    }
}
