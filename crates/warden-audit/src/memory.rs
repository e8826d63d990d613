//! [`MemoryLog`]: a complete append-only audit log in memory, for tests, tools and benchmarks.
//! The server does the same with SQL rows; this is the reference for what it must store.

use std::io::{self, Write};

use crate::entry::{AuditEvent, EntryError, encode};
use crate::tree::{
    ConsistencyProof, Hash, HashReadError, HashReader, InclusionProof, TreeError, leaf_hash,
    prove_consistency, prove_inclusion, stored_hash_index, stored_hashes_for_leaf, tree_hash,
};

/// An in-memory append-only log: entry bytes plus the tree's stored hashes.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    // All entries back to back; `ends[i]` is where entry i stops.
    data: Vec<u8>,
    ends: Vec<usize>,
    // Stored hashes in `stored_hash_index` order.
    hashes: Vec<Hash>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    /// True when nothing has been appended.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Encodes `event` as the next entry (chained to the last one) and adds it to the tree.
    /// Returns the new entry's sequence number.
    pub fn append(&mut self, event: &AuditEvent) -> Result<u64, EntryError> {
        let seq = self.len();
        let prev = self.last_leaf_hash();
        let bytes = encode(seq, prev.as_ref(), event)?;
        let leaf = leaf_hash(&bytes);
        let new = stored_hashes_for_leaf(seq, leaf, self).map_err(|e| EntryError::Invalid(e.to_string()))?;
        self.hashes.extend(new);
        self.data.extend_from_slice(&bytes);
        self.ends.push(self.data.len());
        Ok(seq)
    }

    /// The bytes of entry `seq`.
    pub fn entry(&self, seq: u64) -> Option<&[u8]> {
        let i = usize::try_from(seq).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    /// Every entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|seq| self.entry(seq))
    }

    /// The leaf hash of entry `seq`.
    pub fn leaf_hash(&self, seq: u64) -> Option<Hash> {
        if seq >= self.len() {
            return None;
        }
        let i = usize::try_from(stored_hash_index(0, seq)).ok()?;
        self.hashes.get(i).copied()
    }

    /// The leaf hash of the newest entry (the `prev` of the next one).
    pub fn last_leaf_hash(&self) -> Option<Hash> {
        self.len().checked_sub(1).and_then(|seq| self.leaf_hash(seq))
    }

    /// The current tree head.
    pub fn root(&self) -> Hash {
        // The log's own stored hashes are complete, so this cannot fail.
        self.tree_hash(self.len()).unwrap_or(crate::tree::EMPTY_HASH)
    }

    /// The tree head of the first `size` entries.
    pub fn tree_hash(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        tree_hash(size, self)
    }

    /// Inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub fn prove_inclusion(&self, index: u64, tree_size: u64) -> Result<InclusionProof, TreeError> {
        self.check_size(tree_size)?;
        prove_inclusion(index, tree_size, self)
    }

    /// Consistency proof between the trees of `old_size` and `new_size` entries.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, TreeError> {
        self.check_size(new_size)?;
        prove_consistency(old_size, new_size, self)
    }

    /// Writes the export: every entry's exact bytes followed by a newline.
    pub fn export<W: Write>(&self, mut out: W) -> io::Result<()> {
        for entry in self.entries() {
            out.write_all(entry)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.len() {
            return Err(TreeError::OutOfRange(format!("tree size {size} is beyond the log's {} entries", self.len())));
        }
        Ok(())
    }
}

impl HashReader for MemoryLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashReadError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i).ok().and_then(|i| self.hashes.get(i)).copied().ok_or(HashReadError::IndexesNotInTree)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Actor, ApiActivity, User};
    use crate::tree::CompactRange;

    fn event(i: u64) -> AuditEvent {
        let actor = Actor::session(User::new(format!("u{i}"), "alice"), Some("s1".into()));
        AuditEvent::api(format!("evt-{i}"), 1_700_000_000_000 + i as i64, actor, ApiActivity::Update, "registry.version.quarantine")
    }

    #[test]
    fn entries_chain_to_their_predecessor() {
        let mut log = MemoryLog::new();
        for i in 0..5 {
            assert_eq!(log.append(&event(i)).unwrap(), i);
        }
        let first = crate::entry::decode(log.entry(0).unwrap()).unwrap();
        assert_eq!(first.prev, None);
        for seq in 1..5 {
            let parsed = crate::entry::decode(log.entry(seq).unwrap()).unwrap();
            assert_eq!(parsed.seq, seq);
            assert_eq!(parsed.prev_hash(), Some(leaf_hash(log.entry(seq - 1).unwrap())));
        }
        assert_eq!(log.entry(5), None);
        assert_eq!(log.leaf_hash(5), None);
    }

    #[test]
    fn root_matches_a_compact_range_at_every_size() {
        let mut log = MemoryLog::new();
        let mut range = CompactRange::new();
        assert_eq!(log.root(), range.root());
        for i in 0..33 {
            log.append(&event(i)).unwrap();
            range.push(log.leaf_hash(i).unwrap());
            assert_eq!(log.root(), range.root(), "size {}", i + 1);
        }
    }

    #[test]
    fn proofs_beyond_the_log_are_errors() {
        let mut log = MemoryLog::new();
        log.append(&event(0)).unwrap();
        assert!(log.prove_inclusion(0, 2).is_err());
        assert!(log.prove_inclusion(1, 1).is_err());
        assert!(log.prove_consistency(1, 2).is_err());
        assert!(log.tree_hash(2).is_err());
    }

    #[test]
    fn export_is_one_entry_per_line() {
        let mut log = MemoryLog::new();
        for i in 0..3 {
            log.append(&event(i)).unwrap();
        }
        let mut out = Vec::new();
        log.export(&mut out).unwrap();
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], log.entry(1).unwrap());
        assert!(lines[3].is_empty());
    }
}
