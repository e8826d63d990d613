//! Hand-assembled opcode streams, one per technique, plus real joblib/scikit-learn output.

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::settings::ScanSettings;

/// Builds pickles opcode by opcode.
#[derive(Default, Clone)]
struct P(Vec<u8>);

impl P {
    fn proto(n: u8) -> P {
        P(vec![opcodes::PROTO, n])
    }
    fn raw(mut self, bytes: &[u8]) -> P {
        self.0.extend_from_slice(bytes);
        self
    }
    fn op(self, op: u8) -> P {
        self.raw(&[op])
    }
    fn global(self, module: &str, name: &str) -> P {
        self.op(opcodes::GLOBAL)
            .raw(format!("{module}\n{name}\n").as_bytes())
    }
    fn s(self, text: &str) -> P {
        let len = u8::try_from(text.len()).unwrap();
        self.op(opcodes::SHORT_BINUNICODE)
            .raw(&[len])
            .raw(text.as_bytes())
    }
    fn stack_global(self, module: &str, name: &str) -> P {
        self.s(module).s(name).op(opcodes::STACK_GLOBAL)
    }
    fn bytes(self, data: &[u8]) -> P {
        let len = u32::try_from(data.len()).unwrap().to_le_bytes();
        self.op(opcodes::BINBYTES).raw(&len).raw(data)
    }
    fn int(self, n: u8) -> P {
        self.op(opcodes::BININT1).raw(&[n])
    }
    fn binput(self, n: u8) -> P {
        self.op(opcodes::BINPUT).raw(&[n])
    }
    fn binget(self, n: u8) -> P {
        self.op(opcodes::BINGET).raw(&[n])
    }
    fn call1(self) -> P {
        self.op(opcodes::TUPLE1).op(opcodes::REDUCE)
    }
    fn call2(self) -> P {
        self.op(opcodes::TUPLE2).op(opcodes::REDUCE)
    }
    fn stop(self) -> Vec<u8> {
        self.op(opcodes::STOP).0
    }
}

fn scan_with(
    settings: &ScanSettings,
    data: &[u8],
    kind: StreamKind,
) -> (Vec<Finding>, PickleOutcome) {
    let mut ctx = ScanContext::new(settings, "test.pkl");
    let outcome = scan(&mut ctx, data, kind);
    (ctx.finish().0, outcome)
}

fn findings(data: &[u8]) -> Vec<Finding> {
    scan_with(&ScanSettings::default(), data, StreamKind::Standalone).0
}

fn find<'f>(findings: &'f [Finding], rule: &str, needle: &str) -> &'f Finding {
    findings
        .iter()
        .find(|f| f.rule_id.as_str() == rule && f.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "no {rule} finding mentioning {needle:?} in {:#?}",
                summary(findings)
            )
        })
}

fn summary(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {:?} | {}",
                f.severity, f.rule_id, f.location.offset, f.message
            )
        })
        .collect()
}

fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ----- one test per technique -----

#[test]
fn protocol0_global_reduce_is_critical_with_opcode_evidence() {
    let f = findings(b"cos\nsystem\n(S'ls'\ntR.");
    let hit = find(&f, "pickle.dangerous-global", "`os.system`");
    assert_eq!(hit.severity, Severity::Critical);
    assert!(
        hit.message.contains("called by REDUCE at offset 19"),
        "{}",
        hit.message
    );
    assert_eq!(
        hit.evidence.as_deref(),
        Some("GLOBAL 'os' 'system' @0; REDUCE @19")
    );
    assert_eq!(hit.location.offset, Some(0));
    assert_eq!(f.len(), 1, "{:#?}", summary(&f));
}

#[test]
fn protocol2_memo_reuse_is_one_finding_with_a_count() {
    let data = P::proto(2)
        .global("__builtin__", "eval")
        .binput(0)
        .op(opcodes::STRING)
        .raw(b"'1+1'\n")
        .call1()
        .op(opcodes::POP)
        .binget(0)
        .op(opcodes::STRING)
        .raw(b"'2+2'\n")
        .call1()
        .stop();
    let f = findings(&data);
    let hit = find(&f, "pickle.dangerous-global", "`__builtin__.eval`");
    assert!(hit.message.contains("called 2 times"), "{}", hit.message);
    assert_eq!(
        f.iter()
            .filter(|f| f.rule_id.as_str() == "pickle.dangerous-global")
            .count(),
        1
    );
}

#[test]
fn protocol4_stack_global_with_names_from_the_memo() {
    let data = P::proto(4)
        .s("os")
        .op(opcodes::MEMOIZE)
        .s("system")
        .op(opcodes::MEMOIZE)
        .op(opcodes::POP)
        .op(opcodes::POP)
        .binget(0)
        .binget(1)
        .op(opcodes::STACK_GLOBAL)
        .s("id")
        .call1()
        .stop();
    let f = findings(&data);
    let hit = find(&f, "pickle.dangerous-global", "`os.system`");
    assert_eq!(
        hit.evidence.as_deref(),
        Some("STACK_GLOBAL 'os' 'system' @22; REDUCE @28")
    );
}

#[test]
fn inst_obj_newobj_and_newobj_ex_are_calls() {
    let inst = b"(S'ls'\nios\nsystem\n.".to_vec();
    find(
        &findings(&inst),
        "pickle.dangerous-global",
        "called by INST",
    );
    let obj = b"(cos\nsystem\nS'ls'\no.".to_vec();
    find(&findings(&obj), "pickle.dangerous-global", "called by OBJ");
    let newobj = P::proto(2)
        .global("subprocess", "Popen")
        .s("ls")
        .op(opcodes::TUPLE1)
        .op(opcodes::NEWOBJ)
        .stop();
    find(
        &findings(&newobj),
        "pickle.dangerous-global",
        "called by NEWOBJ",
    );
    let newobj_ex = P::proto(4)
        .stack_global("subprocess", "Popen")
        .s("ls")
        .op(opcodes::TUPLE1)
        .op(opcodes::EMPTY_DICT)
        .op(opcodes::NEWOBJ_EX)
        .stop();
    find(
        &findings(&newobj_ex),
        "pickle.dangerous-global",
        "called by NEWOBJ_EX",
    );
}

#[test]
fn ext_codes_are_high() {
    let data = P::proto(2)
        .op(opcodes::EXT1)
        .raw(&[42])
        .op(opcodes::EMPTY_TUPLE)
        .op(opcodes::REDUCE)
        .stop();
    let f = findings(&data);
    let hit = find(&f, "pickle.ext-code", "EXT code 42");
    assert_eq!(hit.severity, Severity::High);
}

#[test]
fn getattr_chain_through_builtins_import_resolves_os_system() {
    let data = P::proto(4)
        .stack_global("builtins", "getattr")
        .stack_global("builtins", "__import__")
        .s("os")
        .call1()
        .s("system")
        .call2()
        .s("id")
        .call1()
        .stop();
    let f = findings(&data);
    let hit = find(&f, "pickle.dangerous-global", "`os.system`");
    assert!(hit.message.contains("called by REDUCE"), "{}", hit.message);
    let evidence = hit.evidence.as_deref().unwrap();
    assert!(
        evidence.contains("__import__")
            && evidence.contains("gives module `os`")
            && evidence.contains("gives `os.system`"),
        "{evidence}"
    );
    find(&f, "pickle.dangerous-global", "`builtins.getattr`");
    find(&f, "pickle.dangerous-global", "`builtins.__import__`");
}

#[test]
fn getattr_chain_through_import_module_and_nested_getattr() {
    // getattr(getattr(importlib.import_module('os'), 'path'), 'join') and os.system
    let data = P::proto(4)
        .stack_global("builtins", "getattr")
        .op(opcodes::MEMOIZE)
        .stack_global("builtins", "getattr")
        .stack_global("importlib", "import_module")
        .s("subprocess")
        .call1()
        .s("Popen")
        .call2()
        .s("check_output")
        .call2()
        .op(opcodes::POP)
        .stop();
    let f = findings(&data);
    // getattr(subprocess.Popen, 'check_output') is the dotted path subprocess.Popen.check_output.
    find(
        &f,
        "pickle.dangerous-global",
        "`subprocess.Popen.check_output`",
    );
    find(&f, "pickle.dangerous-global", "`subprocess.Popen`");
    find(&f, "pickle.dangerous-global", "`importlib.import_module`");
}

#[test]
fn sys_modules_lookup_via_operator_getitem() {
    let data = P::proto(4)
        .stack_global("builtins", "getattr")
        .stack_global("operator", "getitem")
        .stack_global("sys", "modules")
        .s("posix")
        .call2()
        .s("system")
        .call2()
        .s("id")
        .call1()
        .stop();
    let f = findings(&data);
    let hit = find(&f, "pickle.dangerous-global", "`posix.system`");
    assert!(hit.message.contains("called by REDUCE"));
}

#[test]
fn attrgetter_methodcaller_and_partial_resolve_their_targets() {
    let attrgetter = P::proto(4)
        .stack_global("operator", "attrgetter")
        .s("system")
        .call1()
        .stack_global("builtins", "__import__")
        .s("os")
        .call1()
        .call1()
        .stop();
    find(
        &findings(&attrgetter),
        "pickle.dangerous-global",
        "`os.system`",
    );

    let methodcaller = P::proto(4)
        .stack_global("operator", "methodcaller")
        .s("system")
        .s("id")
        .call2()
        .stack_global("importlib", "import_module")
        .s("os")
        .call1()
        .call1()
        .stop();
    let f = findings(&methodcaller);
    assert!(
        find(&f, "pickle.dangerous-global", "`os.system`")
            .message
            .contains("called")
    );

    let partial = P::proto(4)
        .stack_global("functools", "partial")
        .stack_global("pickle", "loads")
        .bytes(b"cos\nsystem\n(S'id'\ntR.")
        .call2()
        .op(opcodes::EMPTY_TUPLE)
        .op(opcodes::REDUCE)
        .stop();
    let f = findings(&partial);
    find(&f, "pickle.nested-pickle", "`pickle.loads`");
    let inner = find(&f, "pickle.dangerous-global", "`os.system`");
    assert!(
        inner
            .location
            .member
            .as_deref()
            .unwrap()
            .starts_with("<nested pickle @")
    );
}

#[test]
fn nested_pickle_in_pickle_loads_is_scanned() {
    let inner = P::proto(4)
        .stack_global("os", "system")
        .s("id")
        .call1()
        .stop();
    let data = P::proto(4)
        .stack_global("pickle", "loads")
        .bytes(&inner)
        .call1()
        .stop();
    let f = findings(&data);
    let outer = find(&f, "pickle.nested-pickle", "`pickle.loads`");
    assert_eq!(outer.severity, Severity::Critical);
    find(&f, "pickle.dangerous-global", "`pickle.loads`");
    let nested = find(&f, "pickle.dangerous-global", "`os.system`");
    assert_eq!(
        nested.location.member.as_deref(),
        Some("<nested pickle @23>")
    );
}

#[test]
fn nested_pickle_behind_codecs_encode_and_base64_is_decoded() {
    // Protocol 2 pickles bytes as _codecs.encode(text, 'latin1').
    let data = P::proto(2)
        .global("cPickle", "loads")
        .global("_codecs", "encode")
        .s("\u{80}\u{2}cos\nsystem\n(S'id'\ntR.")
        .s("latin1")
        .call2()
        .call1()
        .stop();
    let f = findings(&data);
    find(&f, "pickle.nested-pickle", "`cPickle.loads`");
    assert!(
        find(&f, "pickle.dangerous-global", "`os.system`")
            .location
            .member
            .is_some()
    );

    let data = P::proto(4)
        .stack_global("pickle", "loads")
        .stack_global("base64", "b64decode")
        .s("gASMAm9zjAZzeXN0ZW2TjAJpZIVSLg==")
        .call1()
        .call1()
        .stop();
    let f = findings(&data);
    assert!(
        find(&f, "pickle.dangerous-global", "`os.system`")
            .location
            .member
            .is_some()
    );
}

#[test]
fn payload_then_garbage_keeps_the_payload_and_reports_the_break() {
    let f = findings(b"cos\nsystem\n(S'ls'\ntR\xff\xff");
    find(&f, "pickle.dangerous-global", "`os.system`");
    let broken = find(&f, "pickle.malformed", "offset 20");
    assert_eq!(broken.severity, Severity::High);
    assert!(
        broken.message.contains("0xff is not a pickle opcode"),
        "{}",
        broken.message
    );
}

#[test]
fn payload_then_truncation_keeps_the_payload() {
    let f = findings(b"cos\nsystem\n(S'ls'\ntR");
    find(&f, "pickle.dangerous-global", "`os.system`");
    let broken = find(&f, "pickle.malformed", "truncated");
    assert_eq!(broken.severity, Severity::High);
}

#[test]
fn benign_truncation_is_medium() {
    let data = P::proto(4)
        .op(opcodes::EMPTY_LIST)
        .int(1)
        .op(opcodes::APPEND)
        .0;
    let f = findings(&data);
    assert_eq!(
        find(&f, "pickle.malformed", "truncated").severity,
        Severity::Medium
    );
}

#[test]
fn second_pickle_in_a_stream_is_analysed() {
    let mut data = P::proto(4).int(1).stop();
    data.extend(
        P::proto(4)
            .stack_global("os", "system")
            .s("id")
            .call1()
            .stop(),
    );
    let (f, outcome) = scan_with(&ScanSettings::default(), &data, StreamKind::Standalone);
    find(&f, "pickle.dangerous-global", "the pickle at offset 5");
    assert_eq!(outcome.pickles, 2);
    assert_eq!(outcome.consumed, data.len());
}

#[test]
fn trailing_junk_after_a_pickle_is_low() {
    let mut data = P::proto(4).int(1).stop();
    data.extend_from_slice(b"\x00\x01 not a pickle");
    let f = findings(&data);
    assert_eq!(
        find(&f, "pickle.trailing-data", "after the pickle").severity,
        Severity::Low
    );
    assert_eq!(f.len(), 1);
    let mut data = P::proto(4).int(1).stop();
    data.extend_from_slice(b"\n\n");
    assert!(findings(&data).is_empty());
}

#[test]
fn huge_declared_lengths_are_malformed_not_allocations() {
    for op in [
        opcodes::BINUNICODE8,
        opcodes::BINBYTES8,
        opcodes::BYTEARRAY8,
        opcodes::FRAME,
    ] {
        let data = P::proto(4).op(op).raw(&u64::MAX.to_le_bytes()).stop();
        let f = findings(&data);
        let broken = find(&f, "pickle.malformed", "truncated");
        assert!(
            broken.message.contains(&format!("{}", u64::MAX)) || broken.message.contains("remain"),
            "{}",
            broken.message
        );
    }
    let data = P::proto(2)
        .op(opcodes::LONG4)
        .raw(&(-5i32).to_le_bytes())
        .stop();
    find(&findings(&data), "pickle.malformed", "negative byte count");
}

#[test]
fn deep_mark_nesting_hits_the_entry_limit() {
    let mut settings = ScanSettings::default();
    settings.limits.max_pickle_entries = 100;
    let data = vec![opcodes::MARK; 1000];
    let (f, _) = scan_with(&settings, &data, StreamKind::Standalone);
    let hit = find(&f, "scan.limit-exceeded", "MARK nesting deeper than 100");
    assert_eq!(hit.location.offset, Some(100));
}

#[test]
fn opcode_budget_stops_the_pickle() {
    let mut settings = ScanSettings::default();
    settings.limits.max_pickle_ops = 10;
    let mut p = P::proto(4);
    for _ in 0..100 {
        p = p.op(opcodes::NONE).op(opcodes::POP);
    }
    let (f, _) = scan_with(&settings, &p.stop(), StreamKind::Standalone);
    find(&f, "scan.limit-exceeded", "more than 10 opcodes");
}

#[test]
fn memo_and_stack_limits_hold() {
    let mut settings = ScanSettings::default();
    settings.limits.max_pickle_entries = 50;
    let mut p = P::proto(4);
    for _ in 0..60 {
        p = p.op(opcodes::NONE);
    }
    let (f, _) = scan_with(&settings, &p.stop(), StreamKind::Standalone);
    find(&f, "scan.limit-exceeded", "stack deeper than 50");
    let mut p = P::proto(4).op(opcodes::NONE);
    for _ in 0..60 {
        p = p.op(opcodes::MEMOIZE);
    }
    let (f, _) = scan_with(&settings, &p.stop(), StreamKind::Standalone);
    find(&f, "scan.limit-exceeded", "memo larger than 50");
}

#[test]
fn sparse_memo_keys_follow_python_len_semantics() {
    // PUT 5, then MEMOIZE stores at len(memo) == 1; GET 1 must find it.
    let data = P::proto(4)
        .stack_global("os", "system")
        .binput(5)
        .op(opcodes::POP)
        .s("x")
        .op(opcodes::MEMOIZE)
        .op(opcodes::POP)
        .binget(1)
        .op(opcodes::POP)
        .binget(5)
        .s("id")
        .call1()
        .stop();
    let f = findings(&data);
    assert!(
        !f.iter().any(|f| f.rule_id.as_str() == "pickle.malformed"),
        "{:#?}",
        summary(&f)
    );
    find(&f, "pickle.dangerous-global", "called by REDUCE");
    let missing = P::proto(4).binget(3).stop();
    find(
        &findings(&missing),
        "pickle.malformed",
        "memo key 3 was never stored",
    );
}

/// joblib 1.6 / numpy 2.4 (Python 3.11): `joblib.dump({'a': np.arange(3, dtype='<i4'),
/// 'o': np.array([1, 'x'], dtype=object)}, f)`: one array with an alignment byte and 12 bytes
/// of padding, one object array pickled inline as a protocol-5 pickle.
const JOBLIB_ALIGNED_AND_OBJECT: &str = "800495d8000000000000007d94288c0161948c136a6f626c69622e6e756d70795f7069636b6c65948c114e756d70794172726179577261707065729493942981947d94288c08737562636c617373948c056e756d7079948c076e6461727261799493948c057368617065944b0385948c056f72646572948c0143948c0564747970659468088c0564747970659493948c02693494898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494628c0a616c6c6f775f6d6d617094888c1b6e756d70795f61727261795f616c69676e6d656e745f6279746573944b1075620cffffffffffffffffffffffff000000000100000002000000954b000000000000008c016f9468042981947d94286807680a680b4b028594680d680e680f68118c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f74946268178968184b10756280059590000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b02859468038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d94284b018c017894657494622e752e";

/// Python 3.11, scikit-learn 1.9.1: `pickle.dumps(StandardScaler().fit([[0., 1.], [2., 3.]]), 4)`.
const SKLEARN_SCALER_P4: &str = "800495c5010000000000008c1b736b6c6561726e2e70726570726f63657373696e672e5f64617461948c0e5374616e646172645363616c65729493942981947d94288c09776974685f6d65616e94888c08776974685f73746494888c04636f707994888c0e6e5f66656174757265735f696e5f944b028c0f6e5f73616d706c65735f7365656e5f948c166e756d70792e5f636f72652e6d756c74696172726179948c067363616c61729493948c056e756d7079948c0564747970659493948c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624308000000000000004094869452948c056d65616e5f94680a8c0c5f7265636f6e737472756374949394680d8c076e6461727261799493944b0085944301629487945294284b014b0285946812894310000000000000f03f0000000000000040947494628c047661725f94681a681c4b008594681e87945294284b014b0285946812894310000000000000f03f000000000000f03f947494628c067363616c655f94681a681c4b008594681e87945294284b014b0285946812894310000000000000f03f000000000000f03f947494628c105f736b6c6561726e5f76657273696f6e948c05312e392e319475622e";

#[test]
fn joblib_inline_arrays_are_skipped_with_alignment_and_object_arrays_analysed() {
    let data = hex(JOBLIB_ALIGNED_AND_OBJECT);
    let (f, outcome) = scan_with(&ScanSettings::default(), &data, StreamKind::Standalone);
    assert!(f.is_empty(), "{:#?}", summary(&f));
    assert_eq!(outcome.consumed, data.len());
    assert_eq!(outcome.pickles, 2, "the object array is its own pickle");
}

#[test]
fn joblib_array_without_alignment_key_has_no_padding_byte() {
    // Old joblib (< 1.2): the state has no numpy_array_alignment_bytes, the data follows BUILD.
    let wrapper = |p: P| {
        p.stack_global("joblib.numpy_pickle", "NumpyArrayWrapper")
            .op(opcodes::EMPTY_TUPLE)
            .op(opcodes::NEWOBJ)
            .op(opcodes::EMPTY_DICT)
            .op(opcodes::MARK)
            .s("shape")
            .int(2)
            .int(3)
            .op(opcodes::TUPLE2)
            .s("dtype")
            .stack_global("numpy", "dtype")
            .s("f4")
            .op(opcodes::NEWFALSE)
            .op(opcodes::NEWTRUE)
            .op(opcodes::TUPLE3)
            .op(opcodes::REDUCE)
            .s("order")
            .s("C")
            .op(opcodes::SETITEMS)
            .op(opcodes::BUILD)
    };
    let data = wrapper(P::proto(4)).raw(&[0xAB; 24]).stop();
    let f = findings(&data);
    assert!(f.is_empty(), "{:#?}", summary(&f));
    // Without the skip, the 0xAB bytes would be garbage opcodes.
    let short = wrapper(P::proto(4)).raw(&[0xAB; 10]).0;
    find(
        &findings(&short),
        "pickle.malformed",
        "joblib array data needs 24 bytes",
    );
    // With an explicit alignment, one padding-length byte and that many pad bytes come first.
    let aligned = wrapper(P::proto(4))
        .0
        .into_iter()
        .rev()
        .skip(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>();
    let aligned = P(aligned)
        .s("numpy_array_alignment_bytes")
        .int(16)
        .op(opcodes::SETITEMS)
        .op(opcodes::BUILD);
    let aligned = aligned.raw(&[3, 0xff, 0xff, 0xff]).raw(&[0xAB; 24]).stop();
    let f = findings(&aligned);
    assert!(f.is_empty(), "{:#?}", summary(&f));
}

#[test]
fn torch_state_dict_with_persistent_ids_is_clean() {
    // {'w': _rebuild_tensor_v2(persid(('storage', FloatStorage, '0', 'cpu', 4)), 0, (2, 2), (2, 1), False, OrderedDict())}
    let data = P::proto(2)
        .op(opcodes::EMPTY_DICT)
        .s("w")
        .global("torch._utils", "_rebuild_tensor_v2")
        .op(opcodes::MARK)
        .op(opcodes::MARK)
        .s("storage")
        .global("torch", "FloatStorage")
        .s("0")
        .s("cpu")
        .int(4)
        .op(opcodes::TUPLE)
        .op(opcodes::BINPERSID)
        .int(0)
        .int(2)
        .int(2)
        .op(opcodes::TUPLE2)
        .int(2)
        .int(1)
        .op(opcodes::TUPLE2)
        .op(opcodes::NEWFALSE)
        .global("collections", "OrderedDict")
        .op(opcodes::EMPTY_TUPLE)
        .op(opcodes::REDUCE)
        .op(opcodes::TUPLE)
        .op(opcodes::REDUCE)
        .op(opcodes::SETITEM)
        .stop();
    let (f, _) = scan_with(&ScanSettings::default(), &data, StreamKind::TorchZip);
    assert!(f.is_empty(), "{:#?}", summary(&f));
    let (f, _) = scan_with(&ScanSettings::default(), &data, StreamKind::Standalone);
    assert_eq!(
        find(&f, "pickle.persistent-id", "1 persistent ids").severity,
        Severity::Info
    );
}

#[test]
fn sklearn_pickle_has_no_finding_above_low() {
    let f = findings(&hex(SKLEARN_SCALER_P4));
    assert!(
        max_severity(&f).is_none_or(|s| s < Severity::Medium),
        "{:#?}",
        summary(&f)
    );
}

#[test]
fn torch_legacy_stream_consumes_exactly_five_pickles() {
    let mut data = Vec::new();
    for i in 0..5u8 {
        data.extend(P::proto(2).int(i).stop());
    }
    let storage_start = data.len();
    data.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, b'c', b'o', b's']);
    let (f, outcome) = scan_with(&ScanSettings::default(), &data, StreamKind::TorchLegacy);
    assert!(f.is_empty(), "{:#?}", summary(&f));
    assert_eq!(outcome.pickles, 5);
    assert_eq!(outcome.consumed, storage_start);
}

#[test]
fn unknown_globals_are_medium_and_reported_once() {
    let mut p = P::proto(4)
        .stack_global("__main__", "Net")
        .op(opcodes::MEMOIZE);
    for _ in 0..1000 {
        p = p
            .binget(0)
            .op(opcodes::EMPTY_TUPLE)
            .op(opcodes::REDUCE)
            .op(opcodes::POP);
    }
    let f = findings(&p.stop());
    let hit = find(&f, "pickle.unknown-global", "`__main__.Net`");
    assert_eq!(hit.severity, Severity::Medium);
    assert!(hit.message.contains("called 1000 times"), "{}", hit.message);
    assert_eq!(f.len(), 1);
}

#[test]
fn computed_names_are_critical() {
    // STACK_GLOBAL whose module is the result of a call.
    let data = P::proto(4)
        .stack_global("builtins", "str")
        .s("os")
        .call1()
        .s("system")
        .op(opcodes::STACK_GLOBAL)
        .stop();
    let f = findings(&data);
    assert_eq!(
        find(&f, "pickle.computed-global", "STACK_GLOBAL").severity,
        Severity::Critical
    );
    let bytes_module = P::proto(4)
        .bytes(b"os")
        .s("system")
        .op(opcodes::STACK_GLOBAL)
        .stop();
    find(
        &findings(&bytes_module),
        "pickle.malformed",
        "requires two str",
    );
}

#[test]
fn build_on_a_class_is_a_global_mutation() {
    let data = P::proto(4)
        .stack_global("collections", "OrderedDict")
        .op(opcodes::EMPTY_DICT)
        .op(opcodes::BUILD)
        .stop();
    find(
        &findings(&data),
        "pickle.global-mutation",
        "`collections.OrderedDict`",
    );
}

#[test]
fn dill_code_is_code_and_benign_eval_repr_is_excused() {
    let code = P::proto(4)
        .stack_global("dill._dill", "_create_code")
        .op(opcodes::EMPTY_TUPLE)
        .op(opcodes::REDUCE)
        .stop();
    assert_eq!(
        find(&findings(&code), "pickle.code-object", "_create_code").severity,
        Severity::Critical
    );
    let load_type = P::proto(4)
        .stack_global("dill._dill", "_load_type")
        .s("CodeType")
        .call1()
        .stop();
    find(
        &findings(&load_type),
        "pickle.code-object",
        "`types.CodeType`",
    );
    let ellipsis = P::proto(4)
        .stack_global("dill._dill", "_eval_repr")
        .s("Ellipsis")
        .call1()
        .stop();
    assert!(findings(&ellipsis).is_empty());
    let evil = P::proto(4)
        .stack_global("dill._dill", "_eval_repr")
        .s("__import__('os')")
        .call1()
        .stop();
    find(&findings(&evil), "pickle.code-object", "_eval_repr");
}

#[test]
fn attribute_traversal_through_an_allowed_module_is_denied() {
    let data = P::proto(4)
        .stack_global("sklearn.utils", "subprocess.Popen")
        .s("ls")
        .call1()
        .stop();
    let f = findings(&data);
    assert!(
        find(&f, "pickle.dangerous-global", "reaches `subprocess.Popen`").severity
            >= Severity::High
    );
    let dunder = P::proto(4)
        .stack_global("collections", "OrderedDict.__init__.__globals__")
        .stop();
    find(&findings(&dunder), "pickle.dangerous-global", "dunder");
}

#[test]
fn reconstructed_instances_know_their_class() {
    // getattr(copyreg._reconstructor(__main__.Net, object, None), 'forward'): a bound method of Net.
    let data = P::proto(2)
        .global("__builtin__", "getattr")
        .global("copy_reg", "_reconstructor")
        .global("__main__", "Net")
        .global("__builtin__", "object")
        .op(opcodes::NONE)
        .op(opcodes::TUPLE3)
        .op(opcodes::REDUCE)
        .s("forward")
        .call2()
        .stop();
    let f = findings(&data);
    find(&f, "pickle.unknown-global", "`__main__.Net.forward`");
}

#[test]
fn an_empty_global_name_still_imports_the_module() {
    let data = P::proto(4).stack_global("antigravity", "").stop();
    find(&findings(&data), "pickle.dangerous-global", "`antigravity`");
}

#[test]
fn python2_module_names_map_to_python3_policy() {
    let data = b"c__builtin__\nset\n(]tR.";
    assert!(findings(data).is_empty());
    let data = b"ccommands\ngetoutput\n(S'id'\ntR.";
    find(
        &findings(data),
        "pickle.dangerous-global",
        "commands.getoutput",
    );
}

// ----- looks_like -----

#[test]
fn looks_like_accepts_protocol_0_and_1_pickles() {
    let positives: &[&[u8]] = &[
        b"cos\nsystem\n(S'ls'\ntR.",
        b"(dp0\nS'a'\np1\nI1\nsS'b'\np2\n(lp3\nF1.5\naI2\nas.",
        b"]q\x00(K\x01K\x02e.",
        b"ccopy_reg\n_reconstructor\np0\n(c__main__\nFoo\np1\nc__builtin__\nobject\np2\nNtp3\nRp4\n.",
        b"(lp0\nI1\naI2\na.\n",
        b"cos\nsystem\n(S'ls'\ntR\x00garbage",
        b"N.",
    ];
    for data in positives {
        assert!(
            looks_like(data),
            "should look like a pickle: {}",
            String::from_utf8_lossy(data)
        );
    }
}

#[test]
fn looks_like_rejects_text_code_json_and_noise() {
    let mut rng_bytes = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng_bytes.push((x >> 24) as u8);
    }
    let negatives: &[&[u8]] = &[
        b"name,age,city\nalice,30,paris\nbob,25,rome\n",
        b"import os\nos.system('ls')\n",
        b"def f(x):\n    return x\n",
        b"class Foo:\n    pass\n",
        b"{\"a\": [1, 2, 3]}",
        b"[1, 2, 3]",
        b"# README\n\nSome text.\n",
        b"Hello, world!\n",
        b"cat\ndog\n",
        b"((((((((((((",
        b"",
        b".",
        b"N.garbage that is not a pickle",
        &rng_bytes,
    ];
    for data in negatives {
        assert!(
            !looks_like(data),
            "should not look like a pickle: {}",
            String::from_utf8_lossy(&data[..data.len().min(40)])
        );
    }
}

// ----- robustness -----

fn valid_pickles() -> Vec<Vec<u8>> {
    vec![
        hex(JOBLIB_ALIGNED_AND_OBJECT),
        hex(SKLEARN_SCALER_P4),
        b"cos\nsystem\n(S'ls'\ntR.".to_vec(),
        P::proto(4)
            .stack_global("builtins", "getattr")
            .stack_global("builtins", "__import__")
            .s("os")
            .call1()
            .s("system")
            .call2()
            .s("id")
            .call1()
            .stop(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scan_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for kind in [StreamKind::Standalone, StreamKind::TorchZip, StreamKind::TorchLegacy, StreamKind::Numpy] {
            let (_, outcome) = scan_with(&ScanSettings::default(), &data, kind);
            prop_assert!(outcome.consumed <= data.len());
        }
        let _ = looks_like(&data);
    }

    #[test]
    fn scan_never_panics_on_mutated_pickles(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut data = valid_pickles()[which].clone();
        for (at, byte, how) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match how {
                0 => data[i] = byte,
                1 => { data.remove(i); }
                _ => data.insert(i, byte),
            }
        }
        let (_, outcome) = scan_with(&ScanSettings::default(), &data, StreamKind::Standalone);
        prop_assert!(outcome.consumed <= data.len());
        let _ = looks_like(&data);
    }
}

/// Measures the shape the lead benchmarks: protocol 4 with FRAMEs and MEMOIZE, a dict of ~1M
/// short str -> int entries plus a list of ~5M floats (~60 MB). Run with
/// `cargo test -p warden-scan --release --lib pickle::tests::large_opcode_dense_pickle -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release mode"]
fn large_opcode_dense_pickle() {
    let data = big_pickle(1_000_000, 5_000_000);
    let settings = ScanSettings::default();
    let started = std::time::Instant::now();
    let (f, outcome) = scan_with(&settings, &data, StreamKind::Standalone);
    let elapsed = started.elapsed();
    assert!(f.is_empty(), "{:#?}", summary(&f));
    assert_eq!(outcome.consumed, data.len());
    let mb = data.len() as f64 / 1e6;
    let message = format!(
        "{mb:.1} MB pickle analysed in {elapsed:?} ({:.0} MB/s)",
        mb / elapsed.as_secs_f64()
    );
    std::io::Write::write_all(&mut std::io::stderr(), format!("{message}\n").as_bytes()).unwrap();
}

/// What `pickle.dumps(({f'k{i}': i for i in range(n_keys)}, [float(i) for i in range(n_floats)]), 4)`
/// writes: opcodes grouped in frames of at least 64 KiB, never split across frames.
fn big_pickle(n_keys: u32, n_floats: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 << 20);
    out.extend_from_slice(&[opcodes::PROTO, 4]);
    let mut frame = Vec::with_capacity(70 * 1024);
    let mut emit = |out: &mut Vec<u8>, unit: &[u8], last: bool| {
        frame.extend_from_slice(unit);
        if frame.len() >= 64 * 1024 || last {
            out.push(opcodes::FRAME);
            out.extend_from_slice(&(frame.len() as u64).to_le_bytes());
            out.extend_from_slice(&frame);
            frame.clear();
        }
    };
    emit(&mut out, &[opcodes::EMPTY_DICT, opcodes::MEMOIZE], false);
    let mut i = 0;
    while i < n_keys {
        emit(&mut out, &[opcodes::MARK], false);
        for _ in 0..1000.min(n_keys - i) {
            let key = format!("k{i}");
            let mut unit = vec![opcodes::SHORT_BINUNICODE, key.len() as u8];
            unit.extend_from_slice(key.as_bytes());
            unit.extend_from_slice(&[opcodes::MEMOIZE, opcodes::BININT]);
            unit.extend_from_slice(&(i as i32).to_le_bytes());
            emit(&mut out, &unit, false);
            i += 1;
        }
        emit(&mut out, &[opcodes::SETITEMS], false);
    }
    emit(&mut out, &[opcodes::EMPTY_LIST, opcodes::MEMOIZE], false);
    let mut j = 0;
    while j < n_floats {
        emit(&mut out, &[opcodes::MARK], false);
        for _ in 0..1000.min(n_floats - j) {
            let mut unit = vec![opcodes::BINFLOAT];
            unit.extend_from_slice(&f64::from(j).to_be_bytes());
            emit(&mut out, &unit, false);
            j += 1;
        }
        emit(&mut out, &[opcodes::APPENDS], false);
    }
    emit(
        &mut out,
        &[opcodes::TUPLE2, opcodes::MEMOIZE, opcodes::STOP],
        true,
    );
    out
}

#[test]
fn big_pickle_shape_is_clean_when_small() {
    let data = big_pickle(3000, 5000);
    let (f, outcome) = scan_with(&ScanSettings::default(), &data, StreamKind::Standalone);
    assert!(f.is_empty(), "{:#?}", summary(&f));
    assert_eq!(outcome.consumed, data.len());
}

/// Scans every file in `$WARDEN_PICKLE_SAMPLES` (pickles and joblib dumps made by a local Python)
/// and prints what it finds. Not run by default: the samples are generated, not committed.
#[test]
#[ignore = "needs generated samples"]
fn samples_from_env() {
    let Ok(dir) = std::env::var("WARDEN_PICKLE_SAMPLES") else {
        return;
    };
    let settings = ScanSettings::default();
    let mut report = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let (record, f) = crate::scan_bytes(&path.display().to_string(), &data, &settings);
        report.push_str(&format!(
            "{}: {} ({} findings)\n",
            path.display(),
            record.format,
            f.len()
        ));
        for line in summary(&f) {
            report.push_str(&format!("{}: {line}\n", path.display()));
        }
    }
    std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes()).unwrap();
}
