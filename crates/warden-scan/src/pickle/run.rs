//! What the machine learns from one pickle ([`Run`]): the callables it obtains and calls, EXT
//! codes, computed names, nested payloads, persistent ids, and how it ended ([`End`]).

use std::borrow::Cow;

use crate::pickle::calls::Known;
use crate::pickle::value::{Decoding, Enc};

/// How one pickle ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// `STOP` executed.
    Stop,
    /// The pickle broke: what, at which opcode and offset.
    Fault(Fault),
}

/// A [`Fault`] as machine functions return it: boxed, so the hot path returns small `Result`s.
pub(super) type Failure = Box<Fault>;

/// Why a pickle stopped before `STOP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// What kind of stop.
    pub kind: FaultKind,
    /// Offset of the opcode that failed.
    pub offset: u64,
    /// The opcode byte (or non-opcode byte) there, if any.
    pub opcode: Option<u8>,
    /// What is wrong, for the finding.
    pub message: String,
    /// Whether the failing opcode had started (and is counted in [`Run::ops`]).
    pub in_op: bool,
}

/// Kinds of [`Fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Invalid opcode or argument, stack or memo misuse.
    Malformed,
    /// The input ended inside the pickle.
    Truncated,
    /// A size limit from [`Limits`](crate::settings::Limits) was exceeded.
    Limit,
    /// The opcode budget ran out.
    Budget,
}

/// How a global was obtained.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// Directly by `GLOBAL`, `STACK_GLOBAL` or `INST`.
    Opcode(u8),
    /// As the result of calling `resolver` (getattr, `__import__`, attrgetter...) on `base`.
    Derived {
        resolver: u32,
        base: Option<u32>,
        op: u8,
        offset: u64,
    },
}

/// One distinct callable, class or module a pickle obtains.
#[derive(Debug, Clone)]
pub(crate) struct GlobalRecord<'a> {
    /// Module name as the pickle spells it.
    pub module: Cow<'a, str>,
    /// Qualified name within the module; empty for a module object.
    pub name: Cow<'a, str>,
    /// How it was first obtained.
    pub origin: Origin,
    /// Offset where it was first obtained.
    pub offset: u64,
    /// Times obtained (opcodes or resolutions, not memo reads).
    pub uses: u64,
    /// Times called (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, or through a wrapper).
    pub calls: u64,
    /// The first call: opcode and offset.
    pub first_call: Option<(u8, u64)>,
    /// Calls known to be harmless from their constant arguments (dill's `_eval_repr('Ellipsis')`).
    pub excused_calls: u64,
    pub(crate) known: Known,
}

impl GlobalRecord<'_> {
    /// Whether this is a module object (from `__import__` and friends), not an attribute. A
    /// `GLOBAL` with an empty name is not: it still imports the module before failing.
    pub(crate) fn is_module(&self) -> bool {
        self.name.is_empty() && matches!(self.origin, Origin::Derived { .. })
    }

    /// `module.name` (or the module name).
    pub(crate) fn path(&self) -> String {
        if self.name.is_empty() {
            self.module.to_string()
        } else {
            format!("{}.{}", self.module, self.name)
        }
    }
}

/// A use of a copyreg extension code (`EXT1`/`EXT2`/`EXT4`).
#[derive(Debug, Clone)]
pub(crate) struct ExtUse {
    pub code: i64,
    pub offset: u64,
    pub count: u64,
}

/// A callable whose name is computed at load time, so it cannot be judged.
#[derive(Debug, Clone)]
pub(crate) struct DynamicUse {
    pub what: &'static str,
    pub op: u8,
    pub offset: u64,
    pub count: u64,
}

/// Bytes a nested deserialiser is called on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Payload {
    pub how: Decoding,
    pub enc: Enc,
    pub off: u64,
    pub len: u32,
}

/// A call of a nested deserialiser (`pickle.loads(b'...')`).
#[derive(Debug, Clone)]
pub(crate) struct Nested {
    pub loader: u32,
    pub op: u8,
    pub offset: u64,
    pub payload: Option<Payload>,
}

/// Persistent ids seen (`PERSID`, `BINPERSID`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PersistentIds {
    /// PyTorch storage references `('storage', type, key, location, numel)`.
    pub storages: u64,
    /// Legacy PyTorch module-source references `('module', class, file, source)`.
    pub modules: u64,
    /// Any other shape.
    pub other: u64,
    /// Where the first other-shaped id was.
    pub first_other: Option<u64>,
}

/// Everything learnt from one pickle.
#[derive(Debug, Clone)]
pub(crate) struct Run<'a> {
    pub start: usize,
    pub end: usize,
    pub outcome: End,
    pub protocol: Option<u8>,
    pub ops: u64,
    pub globals: Vec<GlobalRecord<'a>>,
    pub ext: Vec<ExtUse>,
    pub dynamic: Vec<DynamicUse>,
    pub nested: Vec<Nested>,
    /// `BUILD` applied to a class, function or module itself: (offset, global).
    pub global_builds: Vec<(u64, u32)>,
    pub persistent: PersistentIds,
    /// joblib arrays whose raw bytes were skipped, and how many bytes.
    pub arrays_skipped: u64,
    pub array_bytes_skipped: u64,
    /// Which opcodes occurred (bit per opcode byte).
    pub opcodes_seen: [u64; 4],
    /// Whether this pickle is a joblib object array nested in another pickle.
    pub inner: bool,
}

impl Run<'_> {
    /// Number of distinct opcodes seen.
    pub(crate) fn distinct_opcodes(&self) -> u32 {
        self.opcodes_seen.iter().map(|w| w.count_ones()).sum()
    }
}
