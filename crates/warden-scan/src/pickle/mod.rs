//! The symbolic pickle machine: finds every callable a pickle would make the unpickler import or
//! call, without Python, and judges each with the [`Policy`](crate::policy::Policy).
//!
//! [`scan`] splits a stream into pickles (standalone files may hold several; legacy PyTorch files
//! hold exactly five before raw storage bytes), runs each on the machine (`machine::run`), and
//! reports what it found (`report`). The machine executes protocols 0-5 over an abstract stack,
//! MARK metastack and memo, so callables built through the memo, `STACK_GLOBAL`, `getattr` chains,
//! `__import__`, `operator.attrgetter`, `functools.partial` and nested `pickle.loads` are all
//! resolved to dotted paths. It also skips the raw array bytes joblib writes inline after a
//! `NumpyArrayWrapper`, so joblib files parse as the pickles they (almost) are.
//!
//! **Invariants**: nothing from the input is imported or executed; every declared length is checked
//! against the input before use; opcodes, stack, memo and MARK depth are bounded by [`Limits`]; a
//! malformed pickle keeps every finding from before the break and adds one saying where it broke.
//! Analysis is linear in the input and allocates per distinct callable, not per opcode.
//!
//! [`Limits`]: crate::settings::Limits

mod args;
mod calls;
mod machine;
mod opcodes;
mod records;
mod report;
mod run;
mod value;

#[cfg(test)]
mod tests;

use crate::context::ScanContext;
use crate::rules::Rule;
use crate::settings::Limits;
use run::{End, FaultKind};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = report::RULES;

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

/// Pickles a legacy PyTorch file holds before its raw storages: magic number, protocol version,
/// system info, the object, the storage keys.
const TORCH_LEGACY_PICKLES: usize = 5;
/// Most pickles analysed in one standalone stream.
const MAX_STANDALONE_PICKLES: usize = 10_000;

/// Scans a pickle stream, reporting into `ctx`.
pub fn scan(ctx: &mut ScanContext<'_>, data: &[u8], kind: StreamKind) -> PickleOutcome {
    let limits = ctx.limits();
    let mut ops_left = limits.max_pickle_ops;
    let mut outcome = PickleOutcome::default();
    let wanted = match kind {
        StreamKind::Standalone => MAX_STANDALONE_PICKLES,
        StreamKind::TorchLegacy => TORCH_LEGACY_PICKLES,
        StreamKind::TorchZip | StreamKind::Numpy => 1,
    };
    let mut pos = 0;
    let mut top_level = 0;
    loop {
        let runs = machine::run(data, pos, limits, &mut ops_left);
        let main_end = runs[0].end;
        let stopped = runs[0].outcome == End::Stop;
        for run in &runs {
            report::report_run(ctx, data, run, kind);
        }
        outcome.pickles += runs.len();
        top_level += 1;
        pos = main_end;
        outcome.consumed = pos;
        if !stopped || top_level >= wanted || pos >= data.len() {
            break;
        }
        if kind == StreamKind::TorchLegacy {
            continue;
        }
        let rest = &data[pos..];
        if kind == StreamKind::Standalone && starts_like_pickle(rest) {
            continue;
        }
        if !rest.iter().all(u8::is_ascii_whitespace) {
            report::report_trailing(ctx, data, pos);
        }
        break;
    }
    outcome
}

/// Whether `rest` (after a STOP) starts another pickle.
fn starts_like_pickle(rest: &[u8]) -> bool {
    matches!(rest, [opcodes::PROTO, v, ..] if *v <= opcodes::HIGHEST_PROTOCOL) || looks_like(rest)
}

/// Opcodes executed by [`looks_like`] before it decides.
const PROBE_OPS: u64 = 4096;
/// Bytes [`looks_like`] reads at most.
const PROBE_BYTES: usize = 1 << 20;

/// Whether `data` (without a PROTO opcode) parses as a protocol 0/1 pickle.
///
/// Runs the machine on a bounded prefix. Positive when the prefix reaches STOP (followed by
/// nothing but whitespace, or after naming a plausible callable), when it runs long without error
/// using varied opcodes, or when it imports a plausibly named callable and calls it before
/// breaking (a broken-on-purpose payload still runs in CPython). Text, CSV, source code, JSON and
/// random bytes fail within a few opcodes.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    let Some(&first) = data.first() else {
        return false;
    };
    if opcodes::name(first).is_none() || first == opcodes::STOP {
        return false;
    }
    let prefix = &data[..data.len().min(PROBE_BYTES)];
    let limits = Limits {
        max_pickle_ops: PROBE_OPS,
        max_pickle_entries: 100_000,
        ..Limits::default()
    };
    let mut ops_left = PROBE_OPS;
    let runs = machine::run(prefix, 0, &limits, &mut ops_left);
    let run = &runs[0];
    let plausible = !run.globals.is_empty()
        && run.globals.iter().all(|g| {
            !matches!(g.origin, run::Origin::Opcode(_))
                || (is_dotted_identifier(&g.module) && is_dotted_identifier(&g.name))
        });
    let called = plausible && run.globals.iter().any(|g| g.calls > 0);
    match &run.outcome {
        End::Stop => {
            let rest = &data[run.end..];
            plausible || rest.iter().all(u8::is_ascii_whitespace)
        }
        End::Fault(fault) => match fault.kind {
            FaultKind::Budget => plausible || run.distinct_opcodes() >= 6,
            FaultKind::Truncated if prefix.len() < data.len() => {
                plausible || run.distinct_opcodes() >= 6
            }
            _ => called,
        },
    }
}

/// `a.b_c.D`: ASCII identifiers joined by dots.
fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}
