//! The rules `warden audit verify` reports. Ids are `audit.<kebab>`.

use warden_core::Severity;
use warden_core::render::RuleInfo;

/// An audit verification rule (the shared shape from `warden-core`).
pub use warden_core::Rule;

/// An entry's bytes changed after it was logged.
pub static ENTRY_EDITED: Rule = Rule {
    id: "audit.entry-edited",
    severity: Severity::Critical,
    title: "Audit entry modified",
    description: "An entry's leaf hash no longer matches the `prev` hash recorded by the entry after it (or its own `prev` or sequence number no longer fits its neighbours): its bytes changed after it was logged.",
    atlas: &[],
    remediation: "Compare the entry with a backup or the server's database; treat the events around it as untrusted and find out who could write to the log store.",
};

/// Sequence numbers are missing.
pub static ENTRY_DELETED: Rule = Rule {
    id: "audit.entry-deleted",
    severity: Severity::Critical,
    title: "Audit entries deleted",
    description: "The export skips sequence numbers: entries were removed from the middle of the log.",
    atlas: &[],
    remediation: "Recover the missing entries from a backup or another export and find out who could delete rows from the log store.",
};

/// An entry that does not belong where it is.
pub static ENTRY_INSERTED: Rule = Rule {
    id: "audit.entry-inserted",
    severity: Severity::Critical,
    title: "Audit entry inserted",
    description: "An entry repeats a sequence number already used, or sits where neither its sequence number nor its `prev` hash fits: it was added to the log after the fact.",
    atlas: &[],
    remediation: "Treat the inserted entry as forged; find out who could write to the log store.",
};

/// Entries out of order.
pub static ENTRIES_REORDERED: Rule = Rule {
    id: "audit.entries-reordered",
    severity: Severity::High,
    title: "Audit entries reordered",
    description: "An entry appears away from its sequence position: the order of events was changed.",
    atlas: &[],
    remediation: "Restore the order from the sequence numbers and find out who could rewrite the log store.",
};

/// A line that is not an entry.
pub static MALFORMED_ENTRY: Rule = Rule {
    id: "audit.malformed-entry",
    severity: Severity::High,
    title: "Malformed audit entry",
    description: "A line of the export is not an OCSF audit entry (not JSON, over the size or nesting limits, or missing its sequence number).",
    atlas: &[],
    remediation: "Export the log again; if the line is still malformed, the stored entry was damaged or replaced.",
};

/// The export does not reproduce a signed tree head.
pub static ROOT_MISMATCH: Rule = Rule {
    id: "audit.root-mismatch",
    severity: Severity::Critical,
    title: "Audit log does not match its signed checkpoint",
    description: "The Merkle root over the export's first N entries differs from the root the log signed for size N: entries were changed, even if the hash chain and sequence numbers were rewritten to hide it.",
    atlas: &[],
    remediation: "Treat the entries in the reported range as tampered; compare them with a backup and rotate credentials of everyone who could write to the log store.",
};

/// Entries missing from the end.
pub static TRUNCATED: Rule = Rule {
    id: "audit.truncated",
    severity: Severity::Critical,
    title: "Audit log truncated",
    description: "The export ends before the size the signed checkpoint covers: entries were deleted from the end.",
    atlas: &[],
    remediation: "Recover the missing entries from a backup and find out who could delete rows from the log store.",
};

/// Verification stopped at a limit.
pub static LIMIT_EXCEEDED: Rule = Rule {
    id: "audit.limit-exceeded",
    severity: Severity::High,
    title: "Audit export not fully verified",
    description: "Verification stopped at a configured limit (entry count or number of problems tracked); the rest of the export was not checked.",
    atlas: &[],
    remediation: "Raise the limit and verify again.",
};

/// Every rule, sorted by id.
pub static RULES: &[&Rule] = &[
    &ENTRIES_REORDERED,
    &ENTRY_DELETED,
    &ENTRY_EDITED,
    &ENTRY_INSERTED,
    &LIMIT_EXCEEDED,
    &MALFORMED_ENTRY,
    &ROOT_MISMATCH,
    &TRUNCATED,
];

/// Every rule of this crate.
pub fn rules() -> &'static [&'static Rule] {
    RULES
}

/// The rules as the renderers (SARIF, `warden rules`) need them.
pub fn rule_infos() -> Vec<RuleInfo> {
    RULES.iter().map(|r| r.info()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_sorted_unique_and_namespaced() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("audit.")));
        assert!(RULES.iter().all(|r| r.severity >= Severity::High));
    }
}
