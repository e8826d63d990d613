//! TensorFlow graphs: `saved_model.pb` (`SavedModel`), and with the same walk `.meta` files
//! (`MetaGraphDef`), frozen graphs (`GraphDef`) and Keras' `keras_metadata.pb` (`SavedMetadata`).
//!
//! A SavedModel is a program: loading it and calling a signature runs its graph and functions.
//! The scan collects every operator in the graph and in every function body, flags those that run
//! Python, touch files or the network (with the constant paths that feed them as evidence), and
//! hands the Keras layer metadata it finds (JSON) to the Keras scanner, which judges `Lambda`
//! layers. The checkpoint operators every SavedModel carries in its saver are summarised, not
//! flagged. Field numbers follow `tensorflow/core/{protobuf,framework}/*.proto`.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use warden_core::Severity;

use crate::context::ScanContext;
use crate::formats::onnx::location_escape;
use crate::formats::protobuf::{self, Message, Walk};
use crate::rules::{ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

#[path = "savedmodel_nodes.rs"]
mod nodes;
#[path = "savedmodel_ops.rs"]
mod ops;
#[path = "savedmodel_sniff.rs"]
mod sniff;

use nodes::{constant_strings, evidence, in_saver, input_node, inputs, resolve_attribute_dependent, string_attributes};
use ops::OpClass;
use sniff::{Kind, kind};

/// Operators that run Python (or are named for code execution).
pub(crate) static DANGEROUS_OP: Rule = Rule {
    id: "savedmodel.dangerous-op",
    severity: Severity::Critical,
    title: "TensorFlow operator runs Python code",
    description: "The graph calls `PyFunc`, `PyFuncStateless` or `EagerPyFunc` (`tf.py_function`, \
                  `tf.numpy_function`), which hand tensors to a Python function in the loading process, \
                  or an operator named for code execution. The model's behaviour then depends on code \
                  outside the graph, and a crafted model can trigger whatever the process has registered.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the model. Serving graphs never need Python operators; re-export without \
                  `tf.py_function`/`tf.numpy_function`.",
};

/// Operators that read or write files.
pub(crate) static FILE_ACCESS_OP: Rule = Rule {
    id: "savedmodel.file-access-op",
    severity: Severity::High,
    title: "TensorFlow operator reads or writes files",
    description: "The graph runs `ReadFile`, `WriteFile`, `MatchingFiles`, a file reader, \
                  `ImmutableConst` (maps a file), a summary writer, `PrintV2` to a file or a similar \
                  operator, or a data or checkpoint operator whose constant path lies outside the model \
                  directory. When a signature runs, such a model can read local files and return them \
                  through its outputs, or plant files on the serving host.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not serve the model. Inspect the flagged nodes and their constant inputs; re-export \
                  the model without file operations in its signatures.",
};

/// Operators that connect to other hosts.
pub(crate) static NETWORK_OP: Rule = Rule {
    id: "savedmodel.network-op",
    severity: Severity::High,
    title: "TensorFlow operator uses the network",
    description: "The graph runs RPC operators, tf.data service datasets, BigQuery readers, \
                  `RemoteCall`, or debug operators with gRPC debug URLs. These connect to other hosts \
                  when the graph runs: inputs can leave the machine, or data can be fetched from an \
                  attacker.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not serve the model; find out which host it contacts and why.",
};

/// tf.data readers.
pub(crate) static DATA_READER_OP: Rule = Rule {
    id: "savedmodel.data-reader-op",
    severity: Severity::Medium,
    title: "TensorFlow operator reads data files",
    description: "The graph contains tf.data readers (`TFRecordDataset`, `TextLineDataset`, \
                  `FixedLengthRecordDataset`, CSV, SQL, LMDB...) or table initialisers that read \
                  vocabulary files. Input pipelines are sometimes exported with a model, but readers in \
                  a serving graph open whatever files their inputs name.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Check which files the readers open; vocabulary files should be SavedModel assets.",
};

/// Save and restore operators.
pub(crate) static CHECKPOINT_OP: Rule = Rule {
    id: "savedmodel.checkpoint-op",
    severity: Severity::Info,
    title: "checkpoint save and restore operators",
    description: "`SaveV2`, `RestoreV2`, `MergeV2Checkpoints` and `ShardedFilename` write and read the \
                  model's variables. Every SavedModel carries them in its saver functions; outside the \
                  saver they write checkpoints wherever their inputs say.",
    atlas: &[],
    remediation: "No action needed when they sit in the saver; otherwise check where they write.",
};

/// tfdbg operators without debug URLs.
pub(crate) static DEBUG_OP: Rule = Rule {
    id: "savedmodel.debug-op",
    severity: Severity::Low,
    title: "TensorFlow debugger operators",
    description: "The graph contains tfdbg operators (`DebugIdentity`...). Without debug URLs they only \
                  compute, but they are unusual in an exported model and can be pointed at a file or a \
                  gRPC endpoint.",
    atlas: &[],
    remediation: "Re-export the model without debugging instrumentation.",
};

/// Not valid protobuf, or not shaped like a SavedModel.
pub(crate) static MALFORMED: Rule = Rule {
    id: "savedmodel.malformed",
    severity: Severity::High,
    title: "malformed TensorFlow graph",
    description: "The file is not valid protobuf or lacks the SavedModel structure: lengths past the end \
                  of the buffer, oversized varints, or fields with the wrong types. Malformed graphs \
                  crash or confuse parsers and can hide operators from scanners.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_SUPPLY_CHAIN_MODEL],
    remediation: "Do not load the model; obtain a fresh copy from its source or re-export it.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&DANGEROUS_OP, &FILE_ACCESS_OP, &NETWORK_OP, &DATA_READER_OP, &CHECKPOINT_OP, &DEBUG_OP, &MALFORMED];

/// Field numbers, by message.
mod field {
    pub(super) const SAVED_MODEL_SCHEMA_VERSION: u32 = 1;
    pub(super) const SAVED_MODEL_META_GRAPHS: u32 = 2;
    pub(super) const META_INFO_DEF: u32 = 1;
    pub(super) const META_GRAPH_DEF: u32 = 2;
    pub(super) const META_SAVER_DEF: u32 = 3;
    pub(super) const META_ASSET_FILE_DEF: u32 = 6;
    pub(super) const META_OBJECT_GRAPH_DEF: u32 = 7;
    pub(super) const GRAPH_NODE: u32 = 1;
    pub(super) const GRAPH_LIBRARY: u32 = 2;
    pub(super) const GRAPH_VERSION: u32 = 3;
    pub(super) const GRAPH_VERSIONS: u32 = 4;
    pub(super) const GRAPH_DEBUG_INFO: u32 = 5;
    pub(super) const NODE_NAME: u32 = 1;
    pub(super) const NODE_OP: u32 = 2;
    pub(super) const NODE_INPUT: u32 = 3;
    pub(super) const NODE_ATTR: u32 = 5;
    pub(super) const ENTRY_KEY: u32 = 1;
    pub(super) const ENTRY_VALUE: u32 = 2;
    pub(super) const ATTR_LIST: u32 = 1;
    pub(super) const ATTR_S: u32 = 2;
    pub(super) const ATTR_TENSOR: u32 = 8;
    pub(super) const LIST_S: u32 = 2;
    pub(super) const TENSOR_STRING_VAL: u32 = 8;
    pub(super) const LIBRARY_FUNCTION: u32 = 1;
    pub(super) const FUNCTION_SIGNATURE: u32 = 1;
    pub(super) const FUNCTION_NODE_DEF: u32 = 3;
    pub(super) const OP_DEF_NAME: u32 = 1;
    pub(super) const ASSET_TENSOR_INFO: u32 = 1;
    pub(super) const TENSOR_INFO_NAME: u32 = 1;
    pub(super) const SAVER_FILENAME_TENSOR_NAME: u32 = 1;
    pub(super) const OBJECT_GRAPH_NODES: u32 = 1;
    pub(super) const OBJECT_USER_OBJECT: u32 = 4;
    pub(super) const USER_OBJECT_METADATA: u32 = 3;
    pub(super) const KERAS_NODES: u32 = 1;
    pub(super) const KERAS_NODE_ID: u32 = 2;
    pub(super) const KERAS_IDENTIFIER: u32 = 4;
    pub(super) const KERAS_METADATA: u32 = 5;
}

/// Longest string quoted in a finding.
const EXCERPT_CHARS: usize = 200;
/// Nodes visited when tracing one operator's inputs back to constants, and how many hops.
const MAX_TRACE_NODES: usize = 64;
const MAX_TRACE_DEPTH: u8 = 6;
/// Fields read in one file by the judging helpers (attributes, input tracing), which may read a
/// node more than once: a shared bound keeps hostile graphs linear.
const JUDGE_BUDGET: u64 = 1 << 22;
/// Strings kept per node (attribute values, constant elements).
const MAX_STRINGS: usize = 32;
/// Where the Keras scanner sees layer metadata come from.
const KERAS_MEMBER: &str = "<keras metadata>";

/// True if `data` is one of the TensorFlow protobufs this module scans.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    kind(data).is_some()
}

/// Scans a SavedModel-family file.
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let root = Message::root(data);
    let mut scan = TfScan { walk: Walk::new(ctx, &MALFORMED), routine: Vec::new(), budget: Cell::new(JUDGE_BUDGET) };
    match kind(data).unwrap_or(Kind::SavedModel) {
        Kind::SavedModel => scan.saved_model(root),
        Kind::MetaGraph => scan.meta_graph(root),
        Kind::Graph => scan.graph(root, &GraphContext::default()),
        Kind::KerasMetadata => scan.keras_metadata(root),
    }
    scan.finish();
}

/// A node of a graph or function body.
#[derive(Debug, Clone, Copy)]
struct TfNode<'a> {
    name: &'a [u8],
    op: &'a [u8],
    message: Message<'a>,
}

/// What the meta graph says about the nodes of its graph.
#[derive(Debug, Default)]
struct GraphContext<'a> {
    /// Constants the loader replaces with the asset's real path, so their export-time (often
    /// absolute) paths are not evidence.
    assets: HashSet<&'a [u8]>,
    /// The node feeding the saver its checkpoint path (`SaverDef.filename_tensor_name`).
    saver_filename: Option<&'a [u8]>,
}

/// The string constants feeding a node, and whether its inputs lead to the saver's path.
#[derive(Debug, Default)]
struct Trace<'a> {
    constants: Vec<&'a [u8]>,
    reaches_saver_filename: bool,
}

/// Where nodes live: the graph itself or a function of its library.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Graph,
    Function(&'a [u8]),
}

/// Operators every model has, counted into one finding per kind instead of one per node.
struct RoutineUse {
    rule: &'static Rule,
    severity: Severity,
    what: &'static str,
    ops: BTreeMap<String, u64>,
    first_offset: u64,
}

struct TfScan<'c, 's> {
    walk: Walk<'c, 's>,
    routine: Vec<RoutineUse>,
    /// Fields the judging helpers may still read (see [`JUDGE_BUDGET`]).
    budget: Cell<u64>,
}

impl<'a> TfScan<'_, '_> {
    fn saved_model(&mut self, root: Message<'a>) {
        let mut meta_graphs = 0u32;
        let mut fields = root.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::SAVED_MODEL_SCHEMA_VERSION => {
                    self.walk.varint(&field, "saved_model_schema_version");
                }
                field::SAVED_MODEL_META_GRAPHS => {
                    if let Some(meta_graph) = self.walk.message(&field, "meta_graphs") {
                        meta_graphs += 1;
                        self.meta_graph(meta_graph);
                    }
                }
                _ => {}
            }
        }
        if meta_graphs == 0 && self.walk.is_clean() {
            self.walk.malformed(Severity::Medium, 0, "the SavedModel has no meta graph");
        }
    }

    fn meta_graph(&mut self, meta_graph: Message<'a>) {
        let mut context = GraphContext::default();
        let wire_errors = self.walk.wire_errors();
        let mut fields = meta_graph.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::META_ASSET_FILE_DEF => {
                    if let Some(asset) = self.walk.message(&field, "asset_file_def")
                        && let Some(name) = self.asset_tensor(asset)
                    {
                        context.assets.insert(name);
                    }
                }
                field::META_SAVER_DEF => {
                    if let Some(saver) = self.walk.message(&field, "saver_def") {
                        context.saver_filename = self.saver_filename(saver);
                    }
                }
                _ => {}
            }
        }
        if self.walk.wire_errors() != wire_errors {
            return;
        }
        let mut fields = meta_graph.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::META_GRAPH_DEF => {
                    if let Some(graph) = self.walk.message(&field, "graph_def") {
                        self.graph(graph, &context);
                    }
                }
                field::META_OBJECT_GRAPH_DEF => {
                    if let Some(objects) = self.walk.message(&field, "object_graph_def") {
                        self.object_graph(objects);
                    }
                }
                _ => {}
            }
        }
    }

    /// The node name of an `AssetFileDef`'s tensor (`Const:0` → `Const`).
    fn asset_tensor(&mut self, asset: Message<'a>) -> Option<&'a [u8]> {
        let mut name = None;
        let mut fields = asset.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number == field::ASSET_TENSOR_INFO
                && let Some(info) = self.walk.message(&field, "tensor_info")
            {
                let mut info_fields = info.fields();
                while let Some(f) = self.walk.next(&mut info_fields) {
                    if f.number == field::TENSOR_INFO_NAME {
                        name = self.walk.len(&f, "tensor_info name").and_then(input_node);
                    }
                }
            }
        }
        name
    }

    /// The node name of `SaverDef.filename_tensor_name` (`saver_filename:0` → `saver_filename`).
    fn saver_filename(&mut self, saver: Message<'a>) -> Option<&'a [u8]> {
        let mut name = None;
        let mut fields = saver.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number == field::SAVER_FILENAME_TENSOR_NAME {
                name = self.walk.len(&field, "filename_tensor_name").and_then(input_node);
            }
        }
        name
    }

    fn graph(&mut self, graph: Message<'a>, context: &GraphContext<'a>) {
        let mut nodes = Vec::new();
        let mut fields = graph.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::GRAPH_NODE => {
                    if let Some(node) = self.walk.message(&field, "node").and_then(|n| self.node(n)) {
                        nodes.push(node);
                    }
                }
                field::GRAPH_LIBRARY => {
                    if let Some(library) = self.walk.message(&field, "library") {
                        self.library(library);
                    }
                }
                _ => {}
            }
        }
        self.judge_scope(Scope::Graph, &nodes, context);
    }

    fn library(&mut self, library: Message<'a>) {
        let mut fields = library.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number == field::LIBRARY_FUNCTION
                && let Some(function) = self.walk.message(&field, "function")
            {
                self.function(function);
            }
        }
    }

    fn function(&mut self, function: Message<'a>) {
        let mut name = &b""[..];
        let mut nodes = Vec::new();
        let mut fields = function.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::FUNCTION_SIGNATURE => {
                    if let Some(signature) = self.walk.message(&field, "signature") {
                        let mut signature_fields = signature.fields();
                        while let Some(f) = self.walk.next(&mut signature_fields) {
                            if f.number == field::OP_DEF_NAME {
                                name = self.walk.len(&f, "signature name").unwrap_or_default();
                            }
                        }
                    }
                }
                field::FUNCTION_NODE_DEF => {
                    if let Some(node) = self.walk.message(&field, "node_def").and_then(|n| self.node(n)) {
                        nodes.push(node);
                    }
                }
                _ => {}
            }
        }
        self.judge_scope(Scope::Function(name), &nodes, &GraphContext::default());
    }

    fn node(&mut self, message: Message<'a>) -> Option<TfNode<'a>> {
        let (mut name, mut op) = (&b""[..], &b""[..]);
        let wire_errors = self.walk.wire_errors();
        let mut fields = message.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::NODE_NAME => name = self.walk.len(&field, "node name").unwrap_or_default(),
                field::NODE_OP => op = self.walk.len(&field, "node op").unwrap_or_default(),
                _ => {}
            }
        }
        (self.walk.wire_errors() == wire_errors).then_some(TfNode { name, op, message })
    }

    /// Judges every node of one graph or function body.
    fn judge_scope(&mut self, scope: Scope<'a>, nodes: &[TfNode<'a>], context: &GraphContext<'a>) {
        let mut index: Option<HashMap<&'a [u8], TfNode<'a>>> = None;
        for node in nodes {
            let op = String::from_utf8_lossy(node.op);
            let Some(class) = ops::classify(&op) else { continue };
            let attributes = string_attributes(node.message, &self.budget);
            let Some(class) = resolve_attribute_dependent(class, &attributes) else { continue };
            let index = index.get_or_insert_with(|| nodes.iter().map(|n| (n.name, *n)).collect());
            let trace = self.trace_inputs(node, index, context);
            let escaping: Vec<(String, &'static str)> = attributes
                .iter()
                .map(|(_, value)| *value)
                .chain(trace.constants.iter().copied())
                .filter_map(|s| location_escape(s).map(|problem| (protobuf::excerpt(s, EXCERPT_CHARS), problem)))
                .take(4)
                .collect();
            let in_saver = trace.reaches_saver_filename || in_saver(scope, node.name);
            self.judge(scope, node, &op, class, in_saver, &evidence(&attributes, &trace.constants), &escaping);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        scope: Scope<'a>,
        node: &TfNode<'a>,
        op: &str,
        class: OpClass,
        in_saver: bool,
        evidence: &str,
        escaping: &[(String, &'static str)],
    ) {
        let place = match scope {
            Scope::Graph => format!("node `{}`", protobuf::excerpt(node.name, EXCERPT_CHARS)),
            Scope::Function(function) => {
                format!("node `{}` in function `{}`", protobuf::excerpt(node.name, EXCERPT_CHARS), protobuf::excerpt(function, EXCERPT_CHARS))
            }
        };
        let offset = Some(node.message.offset());
        let (rule, message) = match (class, escaping.first()) {
            (OpClass::Python, _) => (&DANGEROUS_OP, format!("{place} runs `{op}`, which calls Python code in the loading process")),
            (OpClass::Network, _) => (&NETWORK_OP, format!("{place} runs `{op}`, which connects to other hosts")),
            (_, Some((path, problem))) => (&FILE_ACCESS_OP, format!("{place} runs `{op}` on `{path}`, which {problem}")),
            (OpClass::FileRead, None) => (&FILE_ACCESS_OP, format!("{place} runs `{op}`, which reads files")),
            (OpClass::FileWrite, None) => (&FILE_ACCESS_OP, format!("{place} runs `{op}`, which writes files")),
            (OpClass::DatasetReader, None) => (&DATA_READER_OP, format!("{place} runs `{op}`, which reads dataset files")),
            (OpClass::VocabularyFile, None) => {
                return self.routine(&DATA_READER_OP, Severity::Low, "table initialiser(s) read vocabulary files", op, node);
            }
            (OpClass::Checkpoint, None) if in_saver => {
                return self.routine(&CHECKPOINT_OP, Severity::Info, "checkpoint operator(s) in the saver (every SavedModel has them)", op, node);
            }
            (OpClass::Checkpoint, None) => {
                return self.routine(&CHECKPOINT_OP, Severity::Low, "checkpoint operator(s) outside the saver functions", op, node);
            }
            (OpClass::Debug | OpClass::Print | OpClass::ProtoCodec, None) => {
                return self.routine(&DEBUG_OP, Severity::Low, "debugger operator(s) without debug URLs", op, node);
            }
        };
        if let Some(finding) = self.walk.report(rule, rule.severity, offset, message)
            && !evidence.is_empty()
        {
            finding.evidence = Some(evidence.to_owned());
        }
    }

    fn routine(&mut self, rule: &'static Rule, severity: Severity, what: &'static str, op: &str, node: &TfNode<'_>) {
        let position = self.routine.iter().position(|r| r.rule.id == rule.id && r.severity == severity && r.what == what);
        let entry = match position {
            Some(i) => &mut self.routine[i],
            None => {
                self.routine.push(RoutineUse { rule, severity, what, ops: BTreeMap::new(), first_offset: node.message.offset() });
                let last = self.routine.len() - 1;
                &mut self.routine[last]
            }
        };
        *entry.ops.entry(op.to_owned()).or_default() += 1;
    }

    /// String constants that feed `node`, following its inputs back a few hops within the same
    /// graph or function (a path built by `StringJoin` from constants still shows).
    fn trace_inputs(&self, node: &TfNode<'a>, index: &HashMap<&'a [u8], TfNode<'a>>, context: &GraphContext<'a>) -> Trace<'a> {
        let budget = &self.budget;
        let mut trace = Trace::default();
        let mut queue: VecDeque<(&'a [u8], u8)> = inputs(node.message, budget).map(|input| (input, 1)).take(MAX_TRACE_NODES).collect();
        let mut seen = HashSet::new();
        while let Some((input, depth)) = queue.pop_front() {
            if seen.len() >= MAX_TRACE_NODES || budget.get() == 0 {
                break;
            }
            let Some(name) = input_node(input) else { continue };
            if !seen.insert(name) {
                continue;
            }
            trace.reaches_saver_filename |= context.saver_filename == Some(name);
            let Some(source) = index.get(name) else { continue };
            if source.op == b"Const" {
                if !context.assets.contains(name) {
                    let room = MAX_STRINGS.saturating_sub(trace.constants.len());
                    trace.constants.extend(constant_strings(source.message, budget).take(room));
                }
            } else if depth < MAX_TRACE_DEPTH {
                queue.extend(inputs(source.message, budget).map(|input| (input, depth + 1)).take(MAX_TRACE_NODES));
            }
        }
        trace
    }

    fn object_graph(&mut self, objects: Message<'a>) {
        let mut fields = objects.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number != field::OBJECT_GRAPH_NODES {
                continue;
            }
            let Some(object) = self.walk.message(&field, "saved object") else { continue };
            let mut object_fields = object.fields();
            while let Some(f) = self.walk.next(&mut object_fields) {
                if f.number != field::OBJECT_USER_OBJECT {
                    continue;
                }
                let Some(user_object) = self.walk.message(&f, "user_object") else { continue };
                let mut user_fields = user_object.fields();
                while let Some(u) = self.walk.next(&mut user_fields) {
                    if u.number == field::USER_OBJECT_METADATA
                        && let Some(metadata) = self.walk.len(&u, "user_object metadata")
                    {
                        self.keras_json(metadata);
                    }
                }
            }
        }
    }

    fn keras_metadata(&mut self, root: Message<'a>) {
        let mut fields = root.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number != field::KERAS_NODES {
                continue;
            }
            let Some(object) = self.walk.message(&field, "keras object") else { continue };
            let mut object_fields = object.fields();
            while let Some(f) = self.walk.next(&mut object_fields) {
                if f.number == field::KERAS_METADATA
                    && let Some(metadata) = self.walk.len(&f, "keras metadata")
                {
                    self.keras_json(metadata);
                }
            }
        }
    }

    /// Hands Keras layer metadata (a JSON object with a `class_name`) to the Keras scanner.
    fn keras_json(&mut self, metadata: &[u8]) {
        if metadata.trim_ascii_start().starts_with(b"{") && metadata.windows(12).any(|w| w == b"\"class_name\"") {
            self.walk.ctx.scan_member(KERAS_MEMBER, metadata);
        }
    }

    fn finish(self) {
        let TfScan { mut walk, routine, budget } = self;
        if budget.get() == 0 {
            walk.limit(None, format!("more than {JUDGE_BUDGET} protobuf fields read while judging operators; evidence for later operators may be missing"));
        }
        for used in routine {
            let count: u64 = used.ops.values().sum();
            let ops = used.ops.iter().map(|(op, n)| format!("{op} ×{n}")).collect::<Vec<_>>().join(", ");
            let finding = walk.ctx.report_with_severity(used.rule, used.severity, Some(used.first_offset), format!("{count} {}", used.what));
            finding.evidence = Some(format!("operators: {ops}"));
        }
        walk.finish();
    }
}

#[cfg(test)]
#[path = "savedmodel_tests.rs"]
mod tests;
