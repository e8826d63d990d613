//! The RFC 6962 Merkle tree over entries: leaf and node hashes, the hashes a store persists per
//! entry, tree heads, inclusion and consistency proofs, and a [`CompactRange`] for streaming.
//!
//! Storage is the caller's: anything implementing [`HashReader`] over the hashes previously
//! returned by [`stored_hashes`] (kept at [`stored_hash_index`] positions) will do. The math is
//! `tlog_tiles` (a port of Go's `golang.org/x/mod/sumdb/tlog`); this module bounds its inputs and
//! turns its "bad reader" panics into errors. A store that cannot read synchronously (an async SQL
//! pool) asks `indexes_for_*` which hashes an operation reads, fetches them, and passes a
//! [`PrefetchedHashes`].

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

pub use tlog_tiles::{EMPTY_HASH, HASH_SIZE, Hash, HashReader, stored_hash_count, stored_hash_index};

/// The error type a [`HashReader`] returns (tlog_tiles' own).
pub use tlog_tiles::Error as HashReadError;

/// Longest inclusion proof accepted: one hash per level of a tree of at most 2^64 leaves.
pub const MAX_INCLUSION_HASHES: usize = 64;
/// Longest consistency proof accepted.
pub const MAX_CONSISTENCY_HASHES: usize = 2 * 64;

/// Why a tree operation or a proof check failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The hash reader failed or does not hold a requested hash.
    #[error("reading stored hashes failed: {0}")]
    Read(#[from] HashReadError),
    /// An index or size is outside the tree it refers to.
    #[error("{0}")]
    OutOfRange(String),
    /// A proof's fields cannot be decoded (bad base64, wrong length, too many hashes).
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// The proof is well-formed but does not prove the claim.
    #[error("proof does not verify against the given root")]
    InvalidProof,
}

/// The RFC 6962 leaf hash of an entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry)
}

/// The RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog_tiles::node_hash(left, right)
}

/// Base64 (standard, padded) of a hash, as used in entries, proofs and checkpoints.
pub fn hash_to_base64(hash: &Hash) -> String {
    BASE64.encode(hash.0)
}

/// Parses base64 of exactly [`HASH_SIZE`] bytes.
pub fn hash_from_base64(text: &str) -> Option<Hash> {
    // 32 bytes are 44 base64 characters; refuse to decode anything much longer.
    if text.len() > 64 {
        return None;
    }
    let bytes = BASE64.decode(text).ok()?;
    Some(Hash(bytes.try_into().ok()?))
}

/// Wraps a caller's reader so a wrong number of returned hashes is an error, not a panic inside
/// tlog_tiles.
struct Checked<'a, R: ?Sized>(&'a R);

impl<R: HashReader + ?Sized> HashReader for Checked<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashReadError> {
        let hashes = self.0.read_hashes(indexes)?;
        if hashes.len() != indexes.len() {
            return Err(HashReadError::InvalidInput(format!(
                "hash reader returned {} hashes for {} indexes",
                hashes.len(),
                indexes.len()
            )));
        }
        Ok(hashes)
    }
}

/// The hashes to persist when appending `entry` as record `n` (0-based), to be stored from
/// position `stored_hash_index(0, n)` on. Reads up to log2(n) earlier hashes from `reader`.
pub fn stored_hashes<R: HashReader + ?Sized>(n: u64, entry: &[u8], reader: &R) -> Result<Vec<Hash>, TreeError> {
    stored_hashes_for_leaf(n, leaf_hash(entry), reader)
}

/// [`stored_hashes`] given the entry's leaf hash instead of its bytes.
pub fn stored_hashes_for_leaf<R: HashReader + ?Sized>(n: u64, leaf: Hash, reader: &R) -> Result<Vec<Hash>, TreeError> {
    if n >= u64::MAX / 4 {
        return Err(TreeError::OutOfRange(format!("record {n} is beyond any supported tree")));
    }
    Ok(tlog_tiles::stored_hashes_for_record_hash(n, leaf, &Checked(reader))?)
}

/// The tree head (root hash) of the first `size` records.
pub fn tree_hash<R: HashReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, TreeError> {
    check_size(size)?;
    Ok(tlog_tiles::tree_hash(size, &Checked(reader))?)
}

fn check_size(size: u64) -> Result<(), TreeError> {
    if size >= u64::MAX / 4 {
        return Err(TreeError::OutOfRange(format!("tree size {size} is beyond any supported tree")));
    }
    Ok(())
}

/// Proof that record `index` is in the tree of size `tree_size`, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// 0-based record index.
    pub index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Base64 leaf hash of the record.
    pub leaf_hash: String,
    /// Base64 audit path, from the leaf upwards.
    pub hashes: Vec<String>,
}

/// Proof that the tree of size `old_size` is a prefix of the tree of size `new_size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// Base64 consistency path.
    pub hashes: Vec<String>,
}

fn decode_hashes(hashes: &[String], max: usize) -> Result<Vec<Hash>, TreeError> {
    if hashes.len() > max {
        return Err(TreeError::MalformedProof(format!("{} hashes, at most {max} expected", hashes.len())));
    }
    hashes
        .iter()
        .map(|h| hash_from_base64(h).ok_or_else(|| TreeError::MalformedProof(format!("`{h:.64}` is not a base64 SHA-256 hash"))))
        .collect()
}

fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hash_to_base64).collect()
}

/// Builds the inclusion proof of record `index` in the tree of size `tree_size`.
pub fn prove_inclusion<R: HashReader + ?Sized>(index: u64, tree_size: u64, reader: &R) -> Result<InclusionProof, TreeError> {
    check_size(tree_size)?;
    if index >= tree_size {
        return Err(TreeError::OutOfRange(format!("record {index} is not in a tree of size {tree_size}")));
    }
    let reader = Checked(reader);
    // `Checked` guarantees one hash per requested index.
    let leaf = reader.read_hashes(&[stored_hash_index(0, index)])?[0];
    let path = tlog_tiles::prove_record(tree_size, index, &reader)?;
    Ok(InclusionProof { index, tree_size, leaf_hash: hash_to_base64(&leaf), hashes: encode_hashes(&path) })
}

/// Builds the consistency proof between the trees of sizes `old_size` and `new_size`.
pub fn prove_consistency<R: HashReader + ?Sized>(old_size: u64, new_size: u64, reader: &R) -> Result<ConsistencyProof, TreeError> {
    check_size(new_size)?;
    if old_size > new_size {
        return Err(TreeError::OutOfRange(format!("old size {old_size} is larger than new size {new_size}")));
    }
    let path = if old_size == 0 { Vec::new() } else { tlog_tiles::prove_tree(new_size, old_size, &Checked(reader))? };
    Ok(ConsistencyProof { old_size, new_size, hashes: encode_hashes(&path) })
}

impl InclusionProof {
    /// Checks that the proof places `leaf_hash` at `index` in a tree of `tree_size` with `root`.
    pub fn verify(&self, root: &Hash) -> Result<(), TreeError> {
        if self.index >= self.tree_size || self.tree_size >= u64::MAX / 4 {
            return Err(TreeError::MalformedProof(format!("index {} outside tree size {}", self.index, self.tree_size)));
        }
        let leaf = hash_from_base64(&self.leaf_hash)
            .ok_or_else(|| TreeError::MalformedProof("leaf_hash is not a base64 SHA-256 hash".into()))?;
        let path = decode_hashes(&self.hashes, MAX_INCLUSION_HASHES)?;
        tlog_tiles::check_record(&path, self.tree_size, *root, self.index, leaf).map_err(|_| TreeError::InvalidProof)
    }

    /// [`InclusionProof::verify`], and also checks that the proven leaf is `entry`'s hash.
    pub fn verify_entry(&self, entry: &[u8], root: &Hash) -> Result<(), TreeError> {
        if hash_from_base64(&self.leaf_hash) != Some(leaf_hash(entry)) {
            return Err(TreeError::InvalidProof);
        }
        self.verify(root)
    }
}

impl ConsistencyProof {
    /// Checks that the tree with `old_root` is a prefix of the tree with `new_root`.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), TreeError> {
        if self.old_size > self.new_size || self.new_size >= u64::MAX / 4 {
            return Err(TreeError::MalformedProof(format!("sizes {} and {} are out of order", self.old_size, self.new_size)));
        }
        let path = decode_hashes(&self.hashes, MAX_CONSISTENCY_HASHES)?;
        if self.old_size == 0 {
            // Every tree extends the empty tree.
            return if path.is_empty() && *old_root == EMPTY_HASH { Ok(()) } else { Err(TreeError::InvalidProof) };
        }
        tlog_tiles::check_tree(&path, self.new_size, *new_root, self.old_size, *old_root).map_err(|_| TreeError::InvalidProof)
    }
}

/// Answers [`HashReader`] requests from hashes fetched ahead of time.
#[derive(Debug, Clone, Default)]
pub struct PrefetchedHashes(pub HashMap<u64, Hash>);

impl HashReader for PrefetchedHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashReadError> {
        indexes.iter().map(|i| self.0.get(i).copied().ok_or(HashReadError::IndexesNotInTree)).collect()
    }
}

/// A reader that remembers what was asked and answers with placeholders: the tlog algorithms
/// choose indexes from sizes alone, never from hash values.
#[derive(Default)]
struct IndexRecorder(RefCell<Vec<u64>>);

impl HashReader for IndexRecorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashReadError> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![EMPTY_HASH; indexes.len()])
    }
}

fn recorded(run: impl FnOnce(&IndexRecorder) -> Result<(), TreeError>) -> Result<Vec<u64>, TreeError> {
    let recorder = IndexRecorder::default();
    run(&recorder)?;
    let mut indexes = recorder.0.into_inner();
    indexes.sort_unstable();
    indexes.dedup();
    Ok(indexes)
}

/// Stored-hash indexes [`stored_hashes`] reads when appending record `n`.
pub fn indexes_for_append(n: u64) -> Result<Vec<u64>, TreeError> {
    recorded(|r| stored_hashes_for_leaf(n, EMPTY_HASH, r).map(drop))
}

/// Stored-hash indexes [`tree_hash`] reads for a tree of `size`.
pub fn indexes_for_tree_hash(size: u64) -> Result<Vec<u64>, TreeError> {
    recorded(|r| tree_hash(size, r).map(drop))
}

/// Stored-hash indexes [`prove_inclusion`] reads.
pub fn indexes_for_inclusion(index: u64, tree_size: u64) -> Result<Vec<u64>, TreeError> {
    recorded(|r| prove_inclusion(index, tree_size, r).map(drop))
}

/// Stored-hash indexes [`prove_consistency`] reads.
pub fn indexes_for_consistency(old_size: u64, new_size: u64) -> Result<Vec<u64>, TreeError> {
    recorded(|r| prove_consistency(old_size, new_size, r).map(drop))
}

/// The right edge of a growing tree: one root per perfect subtree (O(log n) hashes), enough to
/// compute the tree head at every size while leaves stream past.
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    // Roots of the perfect subtrees, largest (leftmost) first; one per set bit of `size`.
    nodes: Vec<Hash>,
}

impl CompactRange {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut n = self.size;
        // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
        while n & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(left, hash);
            n >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The RFC 6962 tree head of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&last) = nodes.next() else { return EMPTY_HASH };
        nodes.fold(last, |right, &left| node_hash(left, right))
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
