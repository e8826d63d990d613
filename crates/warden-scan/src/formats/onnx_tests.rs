//! Tests for the ONNX scanner. Inputs are built with the test protobuf writer, mirroring what
//! `onnx.helper` and `onnx.save_model(..., save_as_external_data=True)` produce.

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::formats::protobuf::writer::Writer;
use crate::settings::ScanSettings;

fn node(op: &str, domain: &str) -> Writer {
    let mut node = Writer::new().string(1, "x").string(2, "y").string(3, &format!("{op}_0")).string(4, op);
    if !domain.is_empty() {
        node = node.string(7, domain);
    }
    node
}

fn with_attribute(node: Writer, attribute: &Writer) -> Writer {
    node.message(field::NODE_ATTRIBUTE, attribute)
}

fn inline_tensor(name: &str) -> Writer {
    Writer::new().varint(1, 2).varint(2, 1).string(8, name).bytes(9, &[0; 8])
}

fn entry(key: &str, value: &str) -> Writer {
    Writer::new().string(1, key).string(2, value)
}

fn external_tensor(name: &str, entries: &[(&str, &str)]) -> Writer {
    let mut tensor = Writer::new().varint(1, 2).varint(2, 1).string(8, name);
    for (key, value) in entries {
        tensor = tensor.message(13, &entry(key, value));
    }
    tensor.varint(14, 1)
}

fn graph(nodes: Vec<Writer>, initializers: Vec<Writer>) -> Writer {
    let mut graph = Writer::new();
    for node in &nodes {
        graph = graph.message(1, node);
    }
    graph = graph.string(2, "main");
    for tensor in &initializers {
        graph = graph.message(5, tensor);
    }
    let value_info = Writer::new().string(1, "x");
    graph.message(11, &value_info).message(12, &Writer::new().string(1, "y"))
}

fn model_with(graph: &Writer, functions: &[Writer]) -> Vec<u8> {
    let opset = Writer::new().string(1, "").varint(2, 17);
    let mut model = Writer::new().varint(1, 8).string(2, "pytorch").string(3, "2.3.0").message(7, graph).message(8, &opset);
    for function in functions {
        model = model.message(25, function);
    }
    model.finish()
}

fn model(graph: &Writer) -> Vec<u8> {
    model_with(graph, &[])
}

fn benign_graph() -> Writer {
    let nodes = ["MatMul", "Add", "Relu", "Gemm", "Conv", "Constant"].into_iter().map(|op| node(op, "")).collect();
    graph(nodes, vec![inline_tensor("W"), inline_tensor("B")])
}

fn scan_findings(data: &[u8]) -> Vec<Finding> {
    scan_with(data, &ScanSettings::default())
}

fn scan_with(data: &[u8], settings: &ScanSettings) -> Vec<Finding> {
    let mut ctx = ScanContext::new(settings, "model.onnx");
    scan(&mut ctx, data);
    ctx.finish().0
}

fn has(findings: &[Finding], rule: &Rule, severity: Severity) -> bool {
    findings.iter().any(|f| f.rule_id.as_str() == rule.id && f.severity == severity)
}

fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[test]
fn helper_style_model_is_sniffed_and_clean() {
    let data = model(&benign_graph());
    assert!(looks_like(&data));
    assert_eq!(crate::sniff::detect(&data), crate::sniff::Format::Onnx);
    let findings = scan_findings(&data);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn relative_external_data_is_only_informational() {
    let tensors = vec![
        external_tensor("W", &[("location", "weights.bin"), ("offset", "0"), ("length", "4096")]),
        external_tensor("B", &[("location", "data/weights.bin"), ("offset", "4096"), ("length", "16")]),
    ];
    let data = model(&graph(vec![node("MatMul", "")], tensors));
    let findings = scan_findings(&data);
    assert!(worst(&findings) <= Some(Severity::Info), "{findings:#?}");
    let summary = findings.iter().find(|f| f.rule_id.as_str() == EXTERNAL_DATA.id).expect("summary");
    assert!(summary.message.starts_with("2 tensor(s)"));
    assert_eq!(summary.evidence.as_deref(), Some("files: data/weights.bin, weights.bin"));
}

#[test]
fn external_data_escaping_the_directory_is_high() {
    for location in [
        "../../etc/passwd",
        "/etc/passwd",
        "~/.ssh/id_rsa",
        "http://attacker.example/x",
        "file:/etc/shadow",
        "\\\\server\\share\\w.bin",
        "C:\\Windows\\win.ini",
        "weights.bin\0../../x",
        "data\\..\\..\\secret",
        "a/../../b",
    ] {
        let data = model(&graph(vec![], vec![external_tensor("W", &[("location", location)])]));
        let findings = scan_findings(&data);
        let finding = findings.iter().find(|f| f.rule_id.as_str() == EXTERNAL_DATA_TRAVERSAL.id);
        let finding = finding.unwrap_or_else(|| panic!("{location:?} not flagged: {findings:#?}"));
        assert_eq!(finding.severity, Severity::High);
        assert!(finding.location.offset.is_some());
        assert!(!findings.iter().any(|f| f.rule_id.as_str() == EXTERNAL_DATA.id), "{location:?} also counted as benign");
    }
}

#[test]
fn benign_looking_names_are_not_traversal() {
    for location in ["weights.bin", "model.onnx.data", "sub/dir/w.bin", "..weights", "a..b/c"] {
        assert_eq!(location_escape(location.as_bytes()), None, "{location}");
    }
}

#[test]
fn traversal_is_found_in_every_tensor_container() {
    let evil = || external_tensor("T", &[("location", "../secret")]);
    let sparse = Writer::new().message(1, &evil()).message(2, &inline_tensor("idx"));
    let constant = with_attribute(node("Constant", ""), &Writer::new().string(1, "value").message(5, &evil()));
    let constant_list = with_attribute(node("Foo", ""), &Writer::new().string(1, "value").message(10, &evil()));
    let sparse_attr = with_attribute(node("Constant", ""), &Writer::new().string(1, "sparse_value").message(22, &sparse));
    let then_branch = graph(vec![constant.clone()], vec![]);
    let if_node = with_attribute(node("If", ""), &Writer::new().string(1, "then_branch").message(6, &then_branch));
    let loop_node = with_attribute(node("Loop", ""), &Writer::new().string(1, "bodies").message(11, &graph(vec![], vec![evil()])));
    let function = Writer::new().string(1, "F").string(10, "local").message(7, &constant);
    let training = Writer::new().message(1, &graph(vec![], vec![evil()]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("initializer", model(&graph(vec![], vec![evil()]))),
        ("sparse initializer", model(&Writer::new().message(15, &sparse))),
        ("Constant t", model(&graph(vec![constant.clone()], vec![]))),
        ("tensors list", model(&graph(vec![constant_list], vec![]))),
        ("sparse_tensor attr", model(&graph(vec![sparse_attr], vec![]))),
        ("If subgraph", model(&graph(vec![if_node], vec![]))),
        ("Loop graphs", model(&graph(vec![loop_node], vec![]))),
        ("function", model_with(&benign_graph(), &[function])),
        ("training info", {
            let mut data = model(&benign_graph());
            data.extend(Writer::new().message(20, &training).finish());
            data
        }),
    ];
    for (what, data) in cases {
        let findings = scan_findings(&data);
        assert!(has(&findings, &EXTERNAL_DATA_TRAVERSAL, Severity::High), "{what}: {findings:#?}");
    }
}

#[test]
fn bad_offsets_and_missing_locations_are_medium() {
    for (key, value) in [("offset", "-1"), ("length", "abc"), ("offset", "99999999999999999999"), ("length", "1000000000000000")] {
        let data = model(&graph(vec![], vec![external_tensor("W", &[("location", "w.bin"), (key, value)])]));
        let findings = scan_findings(&data);
        assert!(has(&findings, &EXTERNAL_DATA_INVALID, Severity::Medium), "{key}={value}: {findings:#?}");
    }
    let data = model(&graph(vec![], vec![external_tensor("W", &[("offset", "0")])]));
    assert!(has(&scan_findings(&data), &EXTERNAL_DATA_INVALID, Severity::Medium));
}

#[test]
fn custom_domains_are_medium_or_high_when_they_run_commands_contrib_info_local_functions_clean() {
    let data = model(&graph(vec![node("EvilOp", "com.example.custom"), node("EvilOp", "com.example.custom")], vec![]));
    let findings = scan_findings(&data);
    let custom = findings.iter().find(|f| f.rule_id.as_str() == CUSTOM_DOMAIN.id).expect("custom domain");
    assert_eq!(custom.severity, Severity::Medium);
    assert!(custom.message.starts_with("2 node(s)") && custom.message.contains("com.example.custom"));
    assert_eq!(custom.evidence.as_deref(), Some("operators: EvilOp"));

    let shell = with_attribute(node("RunShell", "evil.custom"), &Writer::new().string(1, "command").bytes(4, b"echo pwned"));
    let findings = scan_findings(&model(&graph(vec![shell], vec![])));
    let escalated = findings.iter().find(|f| f.rule_id.as_str() == CUSTOM_DOMAIN.id && f.severity == Severity::High).expect("escalated");
    assert!(escalated.message.contains("its name (`shell`)"), "{}", escalated.message);
    assert_eq!(escalated.evidence.as_deref(), Some("command=echo pwned"));

    let data = model(&graph(vec![node("FusedMatMul", "com.microsoft"), node("QuickGelu", "com.microsoft")], vec![]));
    let findings = scan_findings(&data);
    assert_eq!(worst(&findings), Some(Severity::Info));
    assert!(has(&findings, &RUNTIME_CONTRIB_OP, Severity::Info));

    let function = Writer::new().string(1, "Block").string(10, "pkg.torch.nn").message(7, &node("Relu", ""));
    let data = model_with(&graph(vec![node("Block", "pkg.torch.nn")], vec![]), &[function]);
    let findings = scan_findings(&data);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn python_ops_are_critical_with_the_callable_as_evidence() {
    let attribute = Writer::new().string(1, "func_name").bytes(4, b"os.system");
    let python = with_attribute(node("PythonOp", "com.microsoft"), &attribute);
    let data = model(&graph(vec![python], vec![]));
    let findings = scan_findings(&data);
    let finding = findings.iter().find(|f| f.rule_id.as_str() == PYTHON_OP.id).expect("python op");
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.evidence.as_deref(), Some("func_name=os.system"));
    let unnamed = Writer::new().string(4, "PyOp").string(7, "ai.onnx.contrib");
    let findings = scan_findings(&model(&graph(vec![unnamed], vec![])));
    let finding = findings.iter().find(|f| f.rule_id.as_str() == PYTHON_OP.id).expect("python op");
    assert_eq!(finding.message, "an unnamed node runs the Python operator `PyOp` (domain `ai.onnx.contrib`)");
}

#[test]
fn unknown_standard_operators_are_low() {
    let data = model(&graph(vec![node("TotallyNotAnOp", ""), node("MatMul", "ai.onnx")], vec![]));
    let findings = scan_findings(&data);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(has(&findings, &UNKNOWN_OP, Severity::Low));
    assert!(findings[0].message.contains("TotallyNotAnOp"));
}

#[test]
fn truncated_model_is_sniffed_and_reported_high() {
    let data = model(&benign_graph());
    let cut = &data[..data.len() - 30];
    assert!(looks_like(cut));
    let findings = scan_findings(cut);
    let finding = findings.iter().find(|f| f.rule_id.as_str() == MALFORMED.id).expect("malformed");
    assert_eq!(finding.severity, Severity::High);
    assert!(finding.message.contains("field 7"), "{}", finding.message);
}

#[test]
fn wrong_wire_types_are_medium_and_a_missing_graph_is_reported() {
    let bad_node = Writer::new().varint(4, 7);
    let data = model(&graph(vec![bad_node], vec![]));
    let findings = scan_findings(&data);
    assert!(has(&findings, &MALFORMED, Severity::Medium), "{findings:#?}");

    let no_graph = Writer::new().varint(1, 8).message(8, &Writer::new().varint(2, 17)).finish();
    assert!(looks_like(&no_graph));
    assert!(has(&scan_findings(&no_graph), &MALFORMED, Severity::Medium));
}

#[test]
fn deeply_nested_subgraphs_hit_the_depth_limit() {
    let mut inner = graph(vec![node("Relu", "")], vec![]);
    for _ in 0..(MAX_GRAPH_DEPTH + 5) {
        let attribute = Writer::new().string(1, "body").message(6, &inner);
        inner = graph(vec![with_attribute(node("Loop", ""), &attribute)], vec![]);
    }
    let findings = scan_findings(&model(&inner));
    assert!(findings.iter().any(|f| f.rule_id.as_str() == crate::context::LIMIT_EXCEEDED.id), "{findings:#?}");
}

#[test]
fn the_field_budget_stops_the_walk() {
    let mut settings = ScanSettings::default();
    settings.limits.max_header_items = 10;
    let findings = scan_with(&model(&benign_graph()), &settings);
    assert!(findings.iter().any(|f| f.rule_id.as_str() == crate::context::LIMIT_EXCEEDED.id));
}

#[test]
fn other_protobufs_and_text_are_not_onnx() {
    // TF SavedModel: schema version 1, then a MetaGraphDef with a graph_def.
    let graph_def = Writer::new().message(1, &Writer::new().string(1, "x").string(2, "Placeholder"));
    let meta_graph = Writer::new().message(1, &Writer::new().string(4, "serve")).message(2, &graph_def);
    let saved_model = Writer::new().varint(1, 1).message(2, &meta_graph).finish();
    assert!(!looks_like(&saved_model));
    assert!(!looks_like(b"{\"format\": \"not onnx\"}"));
    assert!(!looks_like(b"ir_version: 8\ngraph {\n}\n"));
    assert!(!looks_like(b""));
    // ir_version out of range.
    let future = Writer::new().varint(1, 1000).message(7, &benign_graph()).finish();
    assert!(!looks_like(&future));
    // Graph with the wrong wire type.
    let wrong = Writer::new().varint(1, 8).varint(7, 3).finish();
    assert!(!looks_like(&wrong));
}

proptest! {
    #[test]
    fn random_bytes_and_text_are_not_onnx(data in proptest::collection::vec(any::<u8>(), 0..2048), text in "[ -~\\n]{0,512}") {
        prop_assert!(!looks_like(&data));
        prop_assert!(!looks_like(text.as_bytes()));
    }

    #[test]
    fn scan_never_panics_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = scan_findings(&data);
    }

    #[test]
    fn scan_never_panics_on_mutated_models(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let tensors = vec![external_tensor("W", &[("location", "w.bin"), ("offset", "0")]), inline_tensor("B")];
        let attribute = Writer::new().string(1, "then_branch").message(6, &graph(vec![node("Relu", "")], tensors.clone()));
        let mut data = model(&graph(vec![with_attribute(node("If", ""), &attribute), node("Foo", "com.x")], tensors));
        for (index, byte) in flips {
            let i = index.index(data.len());
            data[i] = byte;
        }
        let _ = looks_like(&data);
        let _ = scan_findings(&data);
        let _ = scan_findings(&data[..cut.index(data.len())]);
    }
}
