//! What a scan may read and how: [`Limits`] bound every parser; [`ScanSettings`] groups them with
//! the policy.

use crate::policy::Policy;

/// Bounds applied to every untrusted input. Exceeding one yields a finding, never a crash.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single archive member or compressed stream inflated into memory, in bytes.
    pub max_member_bytes: u64,
    /// Total bytes inflated from archives and compressed streams for one input file.
    pub max_inflated_total: u64,
    /// Largest accepted compression ratio once a member inflates past 16 MiB (zip-bomb guard;
    /// deflate bombs reach about 1000:1, real model data rarely passes 20:1).
    pub max_ratio: u64,
    /// Deepest archive nesting (a zip in a tar in a gzip is depth 3).
    pub max_depth: usize,
    /// Most members read from one archive.
    pub max_members: usize,
    /// Most opcodes the pickle machine executes per pickle stream.
    pub max_pickle_ops: u64,
    /// Largest pickle memo and stack (entries).
    pub max_pickle_entries: usize,
    /// Largest JSON or protobuf header/metadata parsed (safetensors header, GGUF metadata, configs).
    pub max_header_bytes: u64,
    /// Most items in one header collection (tensors, metadata keys, protobuf repeated fields).
    pub max_header_items: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member_bytes: 1 << 30,
            max_inflated_total: 4 << 30,
            max_ratio: 100,
            max_depth: 8,
            max_members: 200_000,
            max_pickle_ops: 200_000_000,
            max_pickle_entries: 8_000_000,
            max_header_bytes: 100 << 20,
            max_header_items: 10_000_000,
        }
    }
}

/// Everything a scan needs besides the paths.
#[derive(Debug, Clone, Default)]
pub struct ScanSettings {
    /// Bounds on untrusted input.
    pub limits: Limits,
    /// Which pickle callables are safe, dangerous or unknown.
    pub policy: Policy,
    /// Worker threads for directories; `None` uses every core.
    pub jobs: Option<usize>,
}
