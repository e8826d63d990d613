//! The storage-agnostic core of warden's tamper-evident audit log.
//!
//! Every state change in the warden server becomes an [`AuditEvent`], encoded as one OCSF 1.3 JSON
//! line ([`entry::encode`]). The log is hash-chained (each entry records the previous entry's leaf
//! hash under `unmapped.warden.prev`) *and* an RFC 6962 Merkle tree over the exact entry bytes
//! ([`tree`]), whose heads are published as C2SP checkpoints signed with Ed25519 signed-note keys
//! ([`checkpoint`]). [`verify::verify_export`] checks an exported log offline against a signed
//! checkpoint and pinpoints edited, deleted, inserted and reordered entries as
//! [`warden_core::Finding`]s.
//!
//! **Owns:** the entry format, the tree math and proof formats, checkpoint signing and
//! verification, export verification and its rules ([`rules::RULES`]).
//!
//! **Never does:** I/O beyond the readers and writers a caller hands in, networking, async, SQL.
//! The server stores entries and hashes where it likes and implements [`tree::HashReader`] over
//! them (or prefetches with `tree::indexes_for_*`); [`MemoryLog`] is the in-memory reference.
//!
//! Entry points: [`entry::encode`] / [`entry::decode`], [`tree::stored_hashes`],
//! [`tree::tree_hash`], [`tree::prove_inclusion`] / [`tree::prove_consistency`],
//! [`CheckpointSigner::sign`] / [`CheckpointVerifier::verify`], [`verify::verify_export`].
//!
//! ```
//! use warden_audit::{Actor, ApiActivity, AuditEvent, CheckpointSigner, CheckpointVerifier, MemoryLog, User};
//!
//! let mut log = MemoryLog::new();
//! for (i, op) in ["model.create", "registry.version.quarantine", "model.delete"].iter().enumerate() {
//!     let actor = Actor::session(User::new("u-1", "alice"), Some("sess-9".into()));
//!     let event = AuditEvent::api(format!("evt-{i}"), 1_700_000_000_000, actor, ApiActivity::Update, *op);
//!     log.append(&event).unwrap();
//! }
//!
//! let (skey, vkey) = CheckpointSigner::generate("warden.example/audit").unwrap();
//! let note = CheckpointSigner::new(&skey).unwrap().sign(log.len(), &log.root()).unwrap();
//! let checkpoint = CheckpointVerifier::new(&vkey).unwrap().verify(note.as_bytes()).unwrap();
//! assert_eq!(checkpoint.size, 3);
//!
//! let proof = log.prove_inclusion(1, checkpoint.size).unwrap();
//! proof.verify_entry(log.entry(1).unwrap(), &checkpoint.root).unwrap();
//! ```

pub mod checkpoint;
pub mod entry;
pub mod memory;
pub mod ocsf;
pub mod rules;
pub mod tree;
pub mod verify;

#[cfg(test)]
mod testutil;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier};
pub use entry::{
    AccountChange, AccountChangeKind, Activity, Actor, ActorAuth, ApiActivity, ApiCall, AuditEvent,
    AuthActivity, AuthMethod, Authentication, Authorization, Decision, EntryError, Outcome,
    ParsedEntry, Resource, User,
};
pub use memory::MemoryLog;
pub use rules::rules;
pub use tree::{ConsistencyProof, Hash, HashReader, InclusionProof, TreeError};
pub use verify::{Limits, VerifyError, VerifyReport, verify_export};
/// The tree and checkpoint library underneath, for callers that need more of it.
pub use tlog_tiles;
