//! Turning a [`Run`] into findings: one per distinct callable (with counts), per EXT code, per
//! computed name, per nested payload, plus the way the pickle ended.

use warden_core::Severity;

use crate::context::{LIMIT_EXCEEDED, ScanContext};
use crate::pickle::StreamKind;
use crate::pickle::opcodes;
use crate::pickle::run::{End, FaultKind, GlobalRecord, Origin, Payload, Run};
use crate::pickle::value::{self, Decoding};
use crate::policy::{Policy, Verdict};
use crate::rules::{ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

const ATLAS_CODE: &[&str] = &[
    ATLAS_UNSAFE_ARTIFACT,
    ATLAS_SUPPLY_CHAIN_MODEL,
    ATLAS_EMBED_MALWARE,
];

/// A denied callable.
pub(crate) static DANGEROUS_GLOBAL: Rule = Rule {
    id: "pickle.dangerous-global",
    severity: Severity::Critical,
    title: "pickle imports a dangerous callable",
    description: "Unpickling imports every callable the pickle names and calls the ones it reduces. This one is \
                  on warden's deny list (it runs commands, evaluates code, imports modules, reads or writes \
                  files, or reaches the network), so loading the file can run attacker-chosen code.",
    atlas: ATLAS_CODE,
    remediation: "Do not load this file. Obtain the model from a trusted source, or convert it to a format that \
                  cannot carry code (safetensors, ONNX) in an isolated environment.",
};

/// A callable the policy does not know.
pub(crate) static UNKNOWN_GLOBAL: Rule = Rule {
    id: "pickle.unknown-global",
    severity: Severity::Medium,
    title: "pickle imports a callable that is not known to be safe",
    description: "The pickle makes the unpickler import a callable that is neither on the allow list nor on the \
                  deny list. Custom classes are common in legitimate models, but any callable can have side \
                  effects when it is called or its state is set.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_SUPPLY_CHAIN_MODEL],
    remediation: "Review the callable; if it is trusted, add it to an allow entry of a policy file (`--policy`).",
};

/// Code objects and functions built from the pickle.
pub(crate) static CODE_OBJECT: Rule = Rule {
    id: "pickle.code-object",
    severity: Severity::Critical,
    title: "pickle carries executable code",
    description: "The pickle builds a code object, function or class from bytecode it carries (dill, cloudpickle, \
                  marshal, types.CodeType). That is a program, not data: it runs whenever the object is used.",
    atlas: ATLAS_CODE,
    remediation: "Treat the file as a program. Load it only if you trust its author as you would trust running their code.",
};

/// A deserialiser called from inside the pickle.
pub(crate) static NESTED_PICKLE: Rule = Rule {
    id: "pickle.nested-pickle",
    severity: Severity::Critical,
    title: "pickle deserialises another payload",
    description: "The pickle calls a deserialiser (pickle.loads, torch.load, joblib.load, numpy.load...) while it \
                  is being loaded. The inner payload escapes scanners that only read the outer pickle; warden \
                  scans it separately when it is a constant of the pickle.",
    atlas: ATLAS_CODE,
    remediation: "Do not load this file; see the findings for the nested payload.",
};

/// EXT opcodes.
pub(crate) static EXT_CODE: Rule = Rule {
    id: "pickle.ext-code",
    severity: Severity::High,
    title: "pickle uses a copyreg extension code",
    description: "EXT1/EXT2/EXT4 name a callable by a number from the loading program's copyreg extension \
                  registry, which is empty unless the program registered codes. No legitimate model format uses \
                  them; a pickle that does targets a specific loader, or tries to hide its callables.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file unless you know which program registered the extension codes and what they map to.",
};

/// A callable whose name is computed at load time.
pub(crate) static COMPUTED_GLOBAL: Rule = Rule {
    id: "pickle.computed-global",
    severity: Severity::Critical,
    title: "pickle imports a callable whose name is computed at load time",
    description: "A STACK_GLOBAL, getattr, import or lookup receives a name that is not a constant of the pickle, so \
                  no scanner can tell which callable it reaches. Legitimate pickles name their callables directly.",
    atlas: ATLAS_CODE,
    remediation: "Do not load this file.",
};

/// BUILD on a class or module.
pub(crate) static GLOBAL_MUTATION: Rule = Rule {
    id: "pickle.global-mutation",
    severity: Severity::High,
    title: "pickle modifies a class, function or module",
    description: "BUILD sets attributes on a class, function or module itself rather than on a new instance. This \
                  monkey-patches code that the loading program runs later.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not load this file.",
};

/// Malformed or truncated pickles.
pub(crate) static MALFORMED: Rule = Rule {
    id: "pickle.malformed",
    severity: Severity::High,
    title: "pickle is malformed or truncated",
    description: "The pickle breaks before its STOP opcode. The unpickler executes every opcode before the break, \
                  so callables imported and called before it still run; broken tails are also used to make \
                  scanners and loaders disagree. High when the pickle imported anything not known to be safe \
                  before the break, medium otherwise.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; re-export it from its source. If it is a download, check its digest.",
};

/// Bytes after the last pickle.
pub(crate) static TRAILING_DATA: Rule = Rule {
    id: "pickle.trailing-data",
    severity: Severity::Low,
    title: "data after the end of the pickle",
    description: "Bytes follow the pickle's STOP opcode and do not form another pickle. pickle.load ignores them, \
                  but other readers may not, and they can hide a payload for a second-stage loader.",
    atlas: &[ATLAS_EMBED_MALWARE],
    remediation: "Check where the extra bytes come from; re-export the file if they are unexpected.",
};

/// Persistent ids.
pub(crate) static PERSISTENT_ID: Rule = Rule {
    id: "pickle.persistent-id",
    severity: Severity::Info,
    title: "pickle refers to external objects by persistent id",
    description: "PERSID/BINPERSID hand an id to the loading program's persistent_load, which decides what it \
                  becomes. PyTorch uses them for tensor storages; other shapes depend entirely on the loader.",
    atlas: &[],
    remediation: "Make sure the program that loads the file resolves these ids safely.",
};

/// Rules owned by the pickle module.
pub(crate) const RULES: &[&Rule] = &[
    &DANGEROUS_GLOBAL,
    &UNKNOWN_GLOBAL,
    &CODE_OBJECT,
    &NESTED_PICKLE,
    &EXT_CODE,
    &COMPUTED_GLOBAL,
    &GLOBAL_MUTATION,
    &MALFORMED,
    &TRAILING_DATA,
    &PERSISTENT_ID,
];

/// Most nested payloads scanned per pickle.
const MAX_NESTED_SCANS: usize = 16;

/// Reports the findings of `run` (the `index`-th pickle of its stream) and scans its nested payloads.
pub(crate) fn report_run(ctx: &mut ScanContext<'_>, data: &[u8], run: &Run<'_>, kind: StreamKind) {
    let policy = &ctx.settings().policy;
    let verdicts: Vec<Verdict<'_>> = run.globals.iter().map(|g| classify(policy, g)).collect();
    let where_ = pickle_label(run);
    let mut pending = Vec::new();
    let mut risky_before_break = false;

    for (g, (record, verdict)) in run.globals.iter().zip(&verdicts).enumerate() {
        if record.is_module() {
            continue;
        }
        let usage = usage(record);
        let evidence = evidence(run, g as u32);
        let path = record.path();
        let shown = match py3_module(&record.module) {
            Some(py3) => format!("`{path}` (Python 3: `{py3}.{}`)", record.name),
            None => format!("`{path}`"),
        };
        match verdict {
            Verdict::Allow => {}
            Verdict::Unknown { reason } => {
                risky_before_break = true;
                let extra = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                let message = format!(
                    "{shown} {usage} in {where_}; it is not on the allow list{extra}: review it before loading the file"
                );
                ctx.report(&UNKNOWN_GLOBAL, Some(record.offset), message)
                    .evidence = Some(evidence);
            }
            Verdict::Deny(denial) => {
                if record.calls > 0
                    && record.excused_calls >= record.calls
                    && record.uses <= record.calls
                {
                    continue;
                }
                risky_before_break = true;
                let rule = if denial.code {
                    &CODE_OBJECT
                } else {
                    &DANGEROUS_GLOBAL
                };
                let reached = if denial.tail > 0 {
                    let tail: Vec<&str> = path.split('.').skip(denial.tail).collect();
                    format!(" (reaches `{}` by attribute traversal)", tail.join("."))
                } else {
                    String::new()
                };
                let message = format!("{shown}{reached} {usage} in {where_}: {}", denial.reason);
                ctx.report_with_severity(rule, denial.severity, Some(record.offset), message)
                    .evidence = Some(evidence);
            }
        }
    }

    for ext in &run.ext {
        risky_before_break = true;
        let times = if ext.count == 1 {
            String::new()
        } else {
            format!(" ({} uses)", ext.count)
        };
        let message = format!(
            "EXT code {} in {where_}{times}: the callable comes from the loader's copyreg extension registry, which is empty unless the loading program registered codes",
            ext.code
        );
        ctx.report(&EXT_CODE, Some(ext.offset), message);
    }

    for dynamic in &run.dynamic {
        risky_before_break = true;
        let times = if dynamic.count == 1 {
            String::new()
        } else {
            format!(" ({} times)", dynamic.count)
        };
        let message = format!(
            "{} in {where_}{times}: the callable cannot be known before loading",
            dynamic.what
        );
        ctx.report(&COMPUTED_GLOBAL, Some(dynamic.offset), message)
            .evidence = Some(format!(
            "{} @{}",
            opcodes::display(dynamic.op),
            dynamic.offset
        ));
    }

    for &(offset, g) in &run.global_builds {
        risky_before_break = true;
        let record = &run.globals[g as usize];
        let what = if record.is_module() {
            "module"
        } else {
            "callable"
        };
        let message = format!(
            "BUILD in {where_} sets state on the {what} `{}` itself, changing code the loading program runs later",
            record.path()
        );
        ctx.report(&GLOBAL_MUTATION, Some(offset), message).evidence =
            Some(format!("{}; BUILD @{offset}", evidence(run, g)));
    }

    for nested in &run.nested {
        risky_before_break = true;
        let loader = run.globals[nested.loader as usize].path();
        let call = format!("{} @{}", opcodes::display(nested.op), nested.offset);
        match nested.payload {
            Some(payload) => {
                let member = format!("<nested pickle @{}>", payload.off);
                let message = format!(
                    "`{loader}` is called in {where_} on a {}-byte constant at offset {}; warden scans it as `{member}`",
                    payload.len, payload.off
                );
                ctx.report(&NESTED_PICKLE, Some(nested.offset), message)
                    .evidence = Some(format!("{}; {call}", evidence(run, nested.loader)));
                if pending.len() < MAX_NESTED_SCANS
                    && !pending.iter().any(|(m, _): &(String, _)| *m == member)
                {
                    pending.push((member, payload));
                }
            }
            None => {
                let message = format!(
                    "`{loader}` is called in {where_} on data computed at load time, which warden cannot inspect"
                );
                ctx.report(&NESTED_PICKLE, Some(nested.offset), message)
                    .evidence = Some(format!("{}; {call}", evidence(run, nested.loader)));
            }
        }
    }

    report_persistent_ids(ctx, run, kind, &where_);

    if let End::Fault(fault) = &run.outcome {
        let opcode = fault
            .opcode
            .map(|b| format!(" ({})", opcodes::display(b)))
            .unwrap_or_default();
        let completed = if fault.in_op {
            run.ops.saturating_sub(1)
        } else {
            run.ops
        };
        let ran = format!("{completed} opcodes ran before it");
        match fault.kind {
            FaultKind::Limit | FaultKind::Budget => {
                let message = format!(
                    "{where_} stopped at offset {}{opcode}: {}; {ran}, the rest was not analysed",
                    fault.offset, fault.message
                );
                ctx.report(&LIMIT_EXCEEDED, Some(fault.offset), message);
            }
            FaultKind::Malformed | FaultKind::Truncated => {
                let broken = if fault.kind == FaultKind::Truncated {
                    "truncated"
                } else {
                    "malformed"
                };
                let severity = if risky_before_break {
                    Severity::High
                } else {
                    Severity::Medium
                };
                let message = format!(
                    "{where_} is {broken} at offset {}{opcode}: {}; {ran}",
                    fault.offset, fault.message
                );
                ctx.report_with_severity(&MALFORMED, severity, Some(fault.offset), message)
                    .evidence = Some(context_bytes(data, fault.offset));
            }
        }
    }

    for (member, payload) in pending {
        if let Some(bytes) = decode_payload(data, payload) {
            ctx.scan_member(&member, &bytes);
        }
    }
}

/// Reports bytes after the last pickle that are not another pickle.
pub(crate) fn report_trailing(ctx: &mut ScanContext<'_>, data: &[u8], at: usize) {
    let rest = &data[at..];
    let message = format!(
        "{} bytes after the pickle's STOP at offset {at} are not another pickle",
        rest.len()
    );
    ctx.report(&TRAILING_DATA, Some(at as u64), message)
        .evidence = Some(context_bytes(data, at as u64));
}

fn report_persistent_ids(ctx: &mut ScanContext<'_>, run: &Run<'_>, kind: StreamKind, where_: &str) {
    let ids = &run.persistent;
    let total = ids.storages + ids.modules + ids.other;
    if total == 0 {
        return;
    }
    match kind {
        StreamKind::TorchZip | StreamKind::TorchLegacy => {
            if ids.other > 0 {
                let message = format!(
                    "{where_} uses {} persistent ids that are not PyTorch storage references; what they become depends on the loader",
                    ids.other
                );
                ctx.report(&PERSISTENT_ID, ids.first_other, message);
            }
        }
        StreamKind::Standalone | StreamKind::Numpy => {
            let message = format!(
                "{where_} uses {total} persistent ids ({} shaped like PyTorch storages); pickle.load fails on them unless the loading program supplies persistent_load",
                ids.storages
            );
            ctx.report(&PERSISTENT_ID, ids.first_other, message);
        }
    }
}

/// The policy's verdict, also trying the Python 3 name of a Python 2 module (`__builtin__`).
fn classify<'p>(policy: &'p Policy, record: &GlobalRecord<'_>) -> Verdict<'p> {
    let direct = policy.classify(&record.module, &record.name);
    let Some(py3) = py3_module(&record.module) else {
        return direct;
    };
    let mapped = policy.classify(py3, &record.name);
    match (direct, mapped) {
        (Verdict::Deny(_), _) => direct,
        (_, Verdict::Deny(_)) => mapped,
        (Verdict::Allow, _) | (_, Verdict::Allow) => Verdict::Allow,
        _ => direct,
    }
}

/// CPython's `fix_imports` renames for protocol 0-2 pickles written by Python 2.
fn py3_module(module: &str) -> Option<&'static str> {
    Some(match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "commands" => "subprocess",
        "urllib2" => "urllib.request",
        "httplib" => "http.client",
        "SocketServer" => "socketserver",
        "xmlrpclib" => "xmlrpc.client",
        "thread" => "_thread",
        "Tkinter" => "tkinter",
        "cStringIO" | "StringIO" => "io",
        _ => return None,
    })
}

fn pickle_label(run: &Run<'_>) -> String {
    let what = if run.inner {
        "the joblib object-array pickle"
    } else {
        "the pickle"
    };
    format!("{what} at offset {}", run.start)
}

/// "is called 3 times (first by REDUCE at offset 31)" / "is referenced 2 times but never called".
fn usage(record: &GlobalRecord<'_>) -> String {
    match record.first_call {
        Some((op, off)) if record.calls == 1 => {
            format!("is called by {} at offset {off}", opcodes::display(op))
        }
        Some((op, off)) => format!(
            "is called {} times (first by {} at offset {off})",
            record.calls,
            opcodes::display(op)
        ),
        None if record.uses == 1 => {
            "is imported (not called by an opcode; it can still be called through another object)"
                .to_owned()
        }
        None => format!(
            "is imported {} times (not called by an opcode; it can still be called through another object)",
            record.uses
        ),
    }
}

/// The opcode chain that obtains (and first calls) global `g`: "STACK_GLOBAL 'os' 'system' @2; REDUCE @31".
fn evidence(run: &Run<'_>, g: u32) -> String {
    let mut out = origin_chain(run, g, 0);
    let record = &run.globals[g as usize];
    if let Some((op, off)) = record.first_call {
        out.push_str(&format!("; {} @{off}", opcodes::display(op)));
    }
    out
}

fn origin_chain(run: &Run<'_>, g: u32, depth: u32) -> String {
    let record = &run.globals[g as usize];
    match record.origin {
        Origin::Opcode(op) => format!(
            "{} '{}' '{}' @{}",
            opcodes::display(op),
            record.module,
            record.name,
            record.offset
        ),
        Origin::Derived { .. } if depth >= 4 => "...".to_owned(),
        Origin::Derived {
            resolver,
            base,
            op,
            offset,
        } => {
            let mut out = String::new();
            if let Some(base) = base.filter(|&b| b != g) {
                out.push_str(&origin_chain(run, base, depth + 1));
                out.push_str("; ");
            }
            if resolver != g && base != Some(resolver) {
                out.push_str(&origin_chain(run, resolver, depth + 1));
                out.push_str("; ");
            }
            let what = if record.is_module() {
                format!("module `{}`", record.module)
            } else {
                format!("`{}`", record.path())
            };
            out.push_str(&format!("{} @{offset} gives {what}", opcodes::display(op)));
            out
        }
    }
}

/// Up to 16 bytes before and 16 after `offset`, escaped.
fn context_bytes(data: &[u8], offset: u64) -> String {
    let at = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let from = at.saturating_sub(16);
    let to = at.saturating_add(16).min(data.len());
    let before: String = data[from..at].escape_ascii().map(char::from).collect();
    let after: String = data[at..to].escape_ascii().map(char::from).collect();
    format!("bytes {from}..{to}: {before} >>> {after}")
}

/// The bytes of a nested payload, decoded as the pickle would at load time.
fn decode_payload(data: &[u8], payload: Payload) -> Option<Vec<u8>> {
    let raw = value::bytes(data, payload.enc, payload.off, payload.len)?;
    match payload.how {
        Decoding::Identity => Some(raw.into_owned()),
        Decoding::Latin1 => {
            let text = value::text(data, payload.enc, payload.off, payload.len)?;
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect()
        }
        Decoding::Base64 => crate::encoding::decode_base64(&raw, usize::MAX),
        Decoding::Hex => value::hex_decode(&raw),
    }
}
