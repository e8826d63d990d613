//! SCAFFOLD: the symbolic pickle machine (being written).

use crate::context::ScanContext;
use crate::rules::Rule;

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[];

/// Where a pickle stream was found, which decides how many pickles a loader reads from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// A `.pkl` file or unknown container: every pickle in the stream is analysed.
    Standalone,
    /// `data.pkl` inside a PyTorch zip checkpoint (persistent ids name storages).
    TorchZip,
    /// A legacy PyTorch stream: five pickles then raw storage bytes.
    TorchLegacy,
    /// The object array payload of a NumPy `.npy` file.
    Numpy,
}

/// What scanning a pickle stream found, for callers that need to know where pickles end.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickleOutcome {
    /// Bytes consumed by the pickles analysed.
    pub consumed: usize,
    /// Number of pickles found (complete or not).
    pub pickles: usize,
}

/// Scans a pickle stream.
pub fn scan(_ctx: &mut ScanContext<'_>, _data: &[u8], _kind: StreamKind) -> PickleOutcome {
    PickleOutcome::default()
}

/// Whether `data` (without a PROTO opcode) parses as a protocol 0/1 pickle.
pub(crate) fn looks_like(_data: &[u8]) -> bool {
    false
}
