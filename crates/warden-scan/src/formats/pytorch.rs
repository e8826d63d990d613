//! PyTorch checkpoints: the legacy stream format (`torch.save` before 1.6, or with
//! `_use_new_zipfile_serialization=False`) and the layout of zip checkpoints and TorchScript
//! archives, whose zip structure `zip.rs` reads.
//!
//! A legacy file is five pickles (magic number, protocol version, system info, the object, the list
//! of storage keys) followed by raw storage bytes. A zip checkpoint keeps the object in
//! `<prefix>/data.pkl` and each storage in `<prefix>/data/<key>`; torch never unpickles the
//! storages, so warden never reads them.

use std::collections::HashSet;

use warden_core::Severity;

use crate::context::ScanContext;
use crate::pickle::{self, StreamKind};
use crate::rules::{ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};
use crate::sniff::{self, Format};

/// A legacy checkpoint that ends early.
pub(crate) static LEGACY_TRUNCATED: Rule = Rule {
    id: "pytorch.legacy-truncated",
    severity: Severity::Medium,
    title: "legacy PyTorch checkpoint is truncated",
    description: "A legacy (pre-1.6) PyTorch file holds five pickles followed by the raw tensor storages. This one ends \
                  before all of them are present, so torch.load fails part way, after it has already unpickled the \
                  pickles that are there.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Obtain the checkpoint again from its publisher; prefer safetensors.",
};

/// A zip checkpoint with more than one `data.pkl` prefix.
pub(crate) static MULTIPLE_CHECKPOINTS: Rule = Rule {
    id: "pytorch.multiple-checkpoints",
    severity: Severity::High,
    title: "zip holds several PyTorch checkpoints",
    description: "torch.load reads the checkpoint under the folder of the archive's first entry and ignores any other. \
                  Several `data.pkl` folders let a reviewer or scanner inspect one checkpoint while torch.load runs \
                  another.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the file; re-save the intended model with torch.save from a trusted environment.",
};

/// A TorchScript archive (compiled model code).
pub(crate) static TORCHSCRIPT_CODE: Rule = Rule {
    id: "pytorch.torchscript-code",
    severity: Severity::Info,
    title: "archive carries TorchScript code",
    description: "The archive contains TorchScript source (`code/`), which torch.jit.load compiles and runs as the \
                  model's forward pass. TorchScript cannot import arbitrary Python, but it is code: review where the \
                  model comes from.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Load TorchScript models only from trusted publishers.",
};

/// TorchScript code that calls something with effects outside the model.
pub(crate) static TORCHSCRIPT_DANGEROUS_CALL: Rule = Rule {
    id: "pytorch.torchscript-dangerous-call",
    severity: Severity::High,
    title: "TorchScript code calls a dangerous function",
    description: "TorchScript code in the archive calls a function that reads or writes files, loads other models or \
                  evaluates code. Compiled models have no reason to; such calls turn loading the model into file \
                  access or code execution.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the model; inspect the flagged code.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&LEGACY_TRUNCATED, &MULTIPLE_CHECKPOINTS, &TORCHSCRIPT_CODE, &TORCHSCRIPT_DANGEROUS_CALL];

/// Pickles in a legacy stream before the storages.
const LEGACY_PICKLES: usize = 5;

/// Scans a legacy (magic-number) checkpoint: its pickles, then a plausibility check of the storages.
pub(crate) fn scan_legacy(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let outcome = pickle::scan(ctx, data, StreamKind::TorchLegacy);
    // No pickle at all means the pickle scanner rejected the stream and said why.
    if outcome.pickles == 0 {
        return;
    }
    if outcome.pickles < LEGACY_PICKLES {
        ctx.report(
            &LEGACY_TRUNCATED,
            None,
            format!("the stream ends after {} of the {LEGACY_PICKLES} pickles of a legacy checkpoint", outcome.pickles),
        );
        return;
    }
    let Some(storages) = data.get(outcome.consumed..) else { return };
    // Each storage is an 8-byte element count followed by its elements (at least a byte each).
    if storages.is_empty() {
        return;
    }
    let Some(count) = storages.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))) else {
        ctx.report(&LEGACY_TRUNCATED, Some(outcome.consumed as u64), format!("{} stray bytes where the first storage header belongs", storages.len()));
        return;
    };
    let available = (storages.len() - 8) as u64;
    if count > available {
        ctx.report(
            &LEGACY_TRUNCATED,
            Some(outcome.consumed as u64),
            format!("the first storage declares {count} elements but only {available} bytes follow"),
        );
    }
}

/// Whether tar member names are those of a legacy (torch < 0.4) tar checkpoint.
pub(crate) fn is_legacy_tar<'n>(names: impl Iterator<Item = &'n str>) -> bool {
    let names: HashSet<&str> = names.collect();
    ["storages", "tensors", "pickle"].iter().all(|n| names.contains(n))
}

/// A member of a legacy tar checkpoint that interleaves pickles with raw records: `storages`
/// (a count, then per storage a `(key, location, type)` pickle, an int64 element count and the
/// elements, then a pickle of storage views) and `tensors` (a count, then per tensor a pickle and
/// an int32 rank, 4 pad bytes, int64 sizes, strides and offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyTarRecords {
    Storages,
    Tensors,
}

impl LegacyTarRecords {
    pub(crate) fn of(name: &str) -> Option<LegacyTarRecords> {
        match name {
            "storages" => Some(LegacyTarRecords::Storages),
            "tensors" => Some(LegacyTarRecords::Tensors),
            _ => None,
        }
    }

    /// Scans each pickle of the member (as the member, so findings say where) and skips the raw
    /// records between them without reading them as pickle opcodes.
    pub(crate) fn scan(self, ctx: &mut ScanContext<'_>, name: &str, data: &[u8]) {
        let mut at = 0;
        let mut pickles = 0usize;
        while at < data.len() {
            let rest = &data[at..];
            let len = pickle_len(ctx, rest);
            ctx.scan_member(name, &rest[..len]);
            at += len;
            pickles += 1;
            if !rest[..len].ends_with(b".") || at >= data.len() {
                return; // a broken pickle (reported by its scan) or the last record
            }
            // The count pickle is followed by a record pickle; every record pickle by raw bytes.
            if pickles == 1 {
                continue;
            }
            let raw = match self {
                LegacyTarRecords::Storages => storage_record_len(ctx, &data[at..]),
                LegacyTarRecords::Tensors => tensor_record_len(&data[at..]),
            };
            let Some(raw) = raw else {
                ctx.report(&LEGACY_TRUNCATED, None, format!("the raw record at offset {at} of `{name}` is truncated or malformed; the rest was not inspected"));
                return;
            };
            at += raw;
        }
    }
}

/// Length of the pickle at the start of `data`, measured on a throwaway context so its findings
/// are reported once, by the member scan that follows.
fn pickle_len(ctx: &ScanContext<'_>, data: &[u8]) -> usize {
    let mut probe = ScanContext::new(ctx.settings(), "probe");
    let outcome = pickle::scan(&mut probe, data, StreamKind::TorchZip);
    outcome.consumed.clamp(1, data.len())
}

/// An int64 element count and the elements. The element size is only named inside the preceding
/// pickle, so it is the size after which a complete pickle starts.
fn storage_record_len(ctx: &ScanContext<'_>, data: &[u8]) -> Option<usize> {
    let count = usize::try_from(u64::from_le_bytes(data.get(..8)?.try_into().ok()?)).ok()?;
    [1usize, 2, 4, 8, 16].into_iter().filter_map(|size| count.checked_mul(size)?.checked_add(8)).find(|&len| {
        let next = &data[len.min(data.len())..];
        matches!(next, [0x80, 2..=5, ..]) && next[..pickle_len(ctx, next)].ends_with(b".")
    })
}

/// An int32 rank, 4 pad bytes, then rank int64 sizes, rank int64 strides and an int64 offset.
fn tensor_record_len(data: &[u8]) -> Option<usize> {
    let rank = i32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let rank = usize::try_from(rank).ok().filter(|&r| r <= 64)?;
    let len = 8 + 16 * rank + 8;
    (len <= data.len()).then_some(len)
}

/// What a zip member is to torch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TorchRole {
    /// `<prefix>/data/<key>`: raw tensor bytes torch never unpickles. Not read.
    Storage,
    /// A pickle torch (or TorchScript) unpickles: `data.pkl`, `constants.pkl`, `*.debug_pkl`.
    Pickle,
    /// TorchScript source under `code/`.
    Code,
    /// A small text record such as `version` or `byteorder`.
    Metadata,
    /// Anything else (`extra/` files, unknown members).
    Other,
}

const METADATA: &[&str] = &["version", ".format_version", ".storage_alignment", "byteorder", ".data/version", ".data/serialization_id"];

/// The layout of a PyTorch zip checkpoint or TorchScript archive.
#[derive(Debug)]
pub(crate) struct TorchZip {
    /// Top-level folders holding a `data.pkl` (torch.save uses the file's stem or `archive`).
    prefixes: Vec<String>,
}

impl TorchZip {
    /// Recognises a checkpoint by content: `<prefix>/data.pkl` next to `<prefix>/version`,
    /// `<prefix>/.data/version`, `<prefix>/byteorder` or storages under `<prefix>/data/`.
    pub(crate) fn detect(names: &[String]) -> Option<TorchZip> {
        let all: HashSet<&str> = names.iter().map(String::as_str).collect();
        let with_storages: HashSet<&str> = names.iter().filter_map(|n| n.split_once("/data/").map(|(p, _)| p)).collect();
        let mut prefixes: Vec<String> = Vec::new();
        for name in names {
            let Some(prefix) = name.strip_suffix("/data.pkl") else { continue };
            if prefix.is_empty() || prefix.contains('/') || prefixes.iter().any(|p| p == prefix) {
                continue;
            }
            let has = |suffix: &str| all.contains(format!("{prefix}/{suffix}").as_str());
            if has("version") || has(".data/version") || has("byteorder") || with_storages.contains(prefix) {
                prefixes.push(prefix.to_owned());
            }
        }
        if prefixes.is_empty() {
            return None;
        }
        Some(TorchZip { prefixes })
    }

    pub(crate) fn role(&self, name: &str) -> TorchRole {
        let Some((prefix, rest)) = name.split_once('/') else { return TorchRole::Other };
        if !self.prefixes.iter().any(|p| p == prefix) {
            return TorchRole::Other;
        }
        if rest.ends_with(".pkl") || rest.ends_with(".debug_pkl") {
            TorchRole::Pickle
        } else if rest.starts_with("data/") {
            TorchRole::Storage
        } else if rest.starts_with("code/") {
            TorchRole::Code
        } else if METADATA.contains(&rest) {
            TorchRole::Metadata
        } else {
            TorchRole::Other
        }
    }

    /// torch.load reads the checkpoint under the first entry's folder; any other is a decoy.
    pub(crate) fn check_layout(&self, ctx: &mut ScanContext<'_>, names: &[String]) {
        let first = names.first().and_then(|n| n.split_once('/')).map(|(p, _)| p);
        let loaded = first.filter(|f| self.prefixes.iter().any(|p| p == f));
        if self.prefixes.len() > 1 || loaded.is_none() {
            let listed = self.prefixes.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
            let which = match (loaded, first) {
                (Some(p), _) => format!("torch.load reads `{p}` (the first entry's folder) and ignores the rest"),
                (None, Some(p)) => format!("torch.load looks in `{p}` (the first entry's folder), which holds no data.pkl"),
                (None, None) => "the first entry is not in a folder, so torch.load refuses the archive".to_owned(),
            };
            ctx.report(&MULTIPLE_CHECKPOINTS, None, format!("checkpoints under {listed}: {which}; all were scanned"));
        }
    }
}

/// Calls that have no business in compiled model code. Qualified names match after any
/// identifier boundary; bare builtins must not be attribute accesses.
const QUALIFIED_CALLS: &[&str] = &["torch.load(", "torch.save(", "torch.from_file(", "ops.aten.from_file", "ops.aten.save", "os.system", "subprocess."];
const BUILTIN_CALLS: &[&str] = &["__import__(", "exec(", "eval(", "open(", "compile("];
/// Dangerous calls reported per code member.
const MAX_CALLS_PER_MEMBER: usize = 5;

/// Scans a TorchScript source member for dangerous calls, and as content when it sniffs as a
/// known format (a pickle hidden under `code/`).
pub(crate) fn scan_code(ctx: &mut ScanContext<'_>, name: &str, code: &[u8]) {
    for (at, call) in dangerous_calls(code).into_iter().take(MAX_CALLS_PER_MEMBER) {
        let line = line_at(code, at);
        ctx.in_member(name, |ctx| {
            let message = format!("TorchScript code calls `{}`", call.trim_end_matches('('));
            ctx.report(&TORCHSCRIPT_DANGEROUS_CALL, Some(at as u64), message).evidence = Some(line);
        });
    }
    if !matches!(sniff::detect(code), Format::Unknown | Format::Json) {
        ctx.scan_member(name, code);
    }
}

/// One finding for all TorchScript code members of an archive.
pub(crate) fn report_torchscript(ctx: &mut ScanContext<'_>, members: &[String]) {
    let shown: Vec<&str> = members.iter().take(5).map(String::as_str).collect();
    let f = ctx.report(&TORCHSCRIPT_CODE, None, format!("{} TorchScript source files, which torch.jit.load compiles and runs", members.len()));
    f.evidence = Some(shown.join("\n"));
}

/// Small text records (`version`, `byteorder`) are checked, not sniffed; anything else in their
/// place is scanned like any member.
pub(crate) fn check_metadata(ctx: &mut ScanContext<'_>, name: &str, content: &[u8]) {
    let plain = content.len() <= 64 && content.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if !plain {
        ctx.scan_member(name, content);
    }
}

fn dangerous_calls(code: &[u8]) -> Vec<(usize, &'static str)> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    for (patterns, attribute_ok) in [(QUALIFIED_CALLS, true), (BUILTIN_CALLS, false)] {
        for &pattern in patterns {
            for at in memchr::memmem::find_iter(code, pattern.as_bytes()) {
                let before = at.checked_sub(1).map(|i| code[i]);
                if before.is_some_and(|b| ident(b) || (!attribute_ok && b == b'.')) {
                    continue;
                }
                found.push((at, pattern));
            }
        }
    }
    found.sort_unstable();
    found
}

fn line_at(code: &[u8], at: usize) -> String {
    let start = code[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let end = code[at..].iter().position(|&b| b == b'\n').map_or(code.len(), |p| at + p);
    let line = String::from_utf8_lossy(&code[start..end]);
    line.trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use warden_core::Severity;

    use super::*;
    use crate::formats::zip_fixture::{EVIL_PICKLE, Member, ZipBuilder, assert_pickle_detected_in};
    use crate::settings::ScanSettings;
    use crate::walk::scan_bytes;

    /// A protocol-2 pickle of an empty dict, as a harmless `data.pkl`.
    const CLEAN_PICKLE: &[u8] = b"\x80\x02}q\x00.";

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn torch_zip_is_recognised_under_any_prefix() {
        let torch = TorchZip::detect(&names(&["resnet/data.pkl", "resnet/data/0", "resnet/version"])).expect("torch");
        assert_eq!(torch.role("resnet/data/0"), TorchRole::Storage);
        assert_eq!(torch.role("resnet/data.pkl"), TorchRole::Pickle);
        assert_eq!(torch.role("resnet/version"), TorchRole::Metadata);
        assert_eq!(torch.role("other/data/0"), TorchRole::Other);
        assert!(TorchZip::detect(&names(&["x/data.pkl", "x/readme"])).is_none());
        assert!(TorchZip::detect(&names(&["data.pkl", "version"])).is_none());
    }

    #[test]
    fn storages_of_a_torch_zip_are_never_read() {
        // data/0 holds a malicious pickle and unrecognisable bytes: neither may be reported.
        let mut storage = EVIL_PICKLE.to_vec();
        storage.extend_from_slice(&[0xAB; 100]);
        let zip = ZipBuilder::new()
            .member(Member::stored("archive/data.pkl", CLEAN_PICKLE))
            .member(Member::stored("archive/byteorder", b"little"))
            // torch.save pads local headers with an `FB` extra field to align storages.
            .member(Member::stored("archive/data/0", &storage).local_extra(b"FB\x08\x00ZZZZZZZZ"))
            .member(Member::stored("archive/version", b"3\n"))
            .member(Member::stored("archive/.data/serialization_id", b"1234567890"))
            .finish();
        let (record, findings) = scan_bytes("model.pt", &zip, &ScanSettings::default());
        assert_eq!(record.format, "pytorch-zip");
        assert!(findings.iter().all(|f| f.severity < Severity::Medium), "{findings:#?}");
        assert!(
            findings.iter().all(|f| !f.location.member.as_deref().unwrap_or("").contains("data/0")),
            "storage was read: {findings:#?}"
        );
    }

    #[test]
    fn malicious_data_pkl_is_reached() {
        let zip = ZipBuilder::new()
            .member(Member::stored("archive/data.pkl", EVIL_PICKLE))
            .member(Member::stored("archive/version", b"3\n"))
            .finish();
        let (_, findings) = scan_bytes("model.pt", &zip, &ScanSettings::default());
        assert_pickle_detected_in(&findings, "archive/data.pkl");
    }

    #[test]
    fn decoy_checkpoint_prefix_is_reported() {
        let zip = ZipBuilder::new()
            .member(Member::stored("a/data.pkl", CLEAN_PICKLE))
            .member(Member::stored("a/version", b"3\n"))
            .member(Member::stored("b/data.pkl", EVIL_PICKLE))
            .member(Member::stored("b/version", b"3\n"))
            .finish();
        let (_, findings) = scan_bytes("model.pt", &zip, &ScanSettings::default());
        let f = findings.iter().find(|f| f.rule_id.as_str() == "pytorch.multiple-checkpoints").expect("reported");
        assert!(f.message.contains("`a`") && f.message.contains("`b`"), "{}", f.message);
    }

    #[test]
    fn torchscript_code_is_reported_and_dangerous_calls_flagged() {
        let code = b"def forward(self, x):\n    _0 = torch.save(x, \"/tmp/pwn\")\n    return x\n";
        let zip = ZipBuilder::new()
            .member(Member::stored("m/data.pkl", CLEAN_PICKLE))
            .member(Member::stored("m/constants.pkl", CLEAN_PICKLE))
            .member(Member::stored("m/code/__torch__/model.py", code))
            .member(Member::stored("m/version", b"1\n"))
            .finish();
        let (_, findings) = scan_bytes("model.pt", &zip, &ScanSettings::default());
        assert!(findings.iter().any(|f| f.rule_id.as_str() == "pytorch.torchscript-code" && f.severity == Severity::Info));
        let call = findings.iter().find(|f| f.rule_id.as_str() == "pytorch.torchscript-dangerous-call").expect("flagged");
        assert_eq!(call.location.member.as_deref(), Some("m/code/__torch__/model.py"));
        assert!(call.evidence.as_deref().is_some_and(|e| e.contains("torch.save")));
    }

    #[test]
    fn generated_torchscript_is_not_flagged() {
        let code = b"def forward(self, x: Tensor) -> Tensor:\n    _0 = self.reopen(x)\n    return torch.relu(getattr(self, \"0\").forward(_0))\n";
        assert!(dangerous_calls(code).is_empty());
        assert_eq!(dangerous_calls(b"y = eval(s)").len(), 1);
    }

    #[test]
    fn legacy_storage_shorter_than_declared_is_reported() {
        let settings = ScanSettings::default();
        let mut ctx = ScanContext::new(&settings, "old.pt");
        let mut data = legacy_stream();
        let outcome = pickle::scan(&mut ctx, &data, StreamKind::TorchLegacy);
        if outcome.pickles < LEGACY_PICKLES {
            return; // the pickle scanner has not landed yet
        }
        data.extend_from_slice(&1000u64.to_le_bytes());
        data.extend_from_slice(&[0; 10]);
        let (_, findings) = scan_bytes("old.pt", &data, &settings);
        assert!(findings.iter().any(|f| f.rule_id.as_str() == "pytorch.legacy-truncated"), "{findings:#?}");
    }

    #[test]
    fn clean_legacy_checkpoint_is_quiet() {
        let (record, findings) = scan_bytes("old.pt", &legacy_stream(), &ScanSettings::default());
        assert_eq!(record.format, "pytorch-legacy");
        assert!(findings.iter().all(|f| f.severity < Severity::Medium), "{findings:#?}");
    }

    #[test]
    fn legacy_checkpoint_missing_pickles_is_reported() {
        let data = legacy_stream();
        let cut = data.len() - b"\x80\x02]q\x00.".len() - b"\x80\x02}q\x00.".len();
        let (_, findings) = scan_bytes("old.pt", &data[..cut], &ScanSettings::default());
        let settings = ScanSettings::default();
        let mut ctx = ScanContext::new(&settings, "probe");
        if pickle::scan(&mut ctx, &legacy_stream(), StreamKind::TorchLegacy).pickles < LEGACY_PICKLES {
            return; // the pickle scanner has not landed yet
        }
        assert!(findings.iter().any(|f| f.rule_id.as_str() == "pytorch.legacy-truncated" && f.message.contains("3 of the 5")), "{findings:#?}");
    }

    /// Five protocol-2 pickles as `torch.save(..., _use_new_zipfile_serialization=False)` writes
    /// them for an empty dict: magic number, protocol 1001, sys info, the object, no storage keys.
    fn legacy_stream() -> Vec<u8> {
        let mut out = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.".to_vec();
        out.extend_from_slice(b"\x80\x02M\xe9\x03.");
        out.extend_from_slice(b"\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03u.");
        out.extend_from_slice(b"\x80\x02}q\x00.");
        out.extend_from_slice(b"\x80\x02]q\x00.");
        out
    }
}
