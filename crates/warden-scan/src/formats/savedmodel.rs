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
use crate::formats::protobuf::{self, Field, Message, Value, Walk, WireErrorKind};
use crate::formats::savedmodel_ops::{self, OpClass};
use crate::rules::{ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

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

/// Most fields the sniff reads at one level before giving up.
const SNIFF_MAX_FIELDS: u64 = 1 << 22;
/// Nodes (or Keras objects) the sniff inspects in depth.
const SNIFF_NODES: usize = 16;
/// Longest string quoted in a finding.
const EXCERPT_CHARS: usize = 200;
/// Nodes visited when tracing one operator's inputs back to constants, and how many hops.
const MAX_TRACE_NODES: usize = 64;
const MAX_TRACE_DEPTH: u8 = 6;
/// Fields read in one file by the judging helpers (attributes, input tracing), which may read a
/// node more than once: a shared bound keeps hostile graphs linear.
const JUDGE_BUDGET: u64 = 1 << 24;
/// Strings kept per node (attribute values, constant elements).
const MAX_STRINGS: usize = 32;
/// Where the Keras scanner sees layer metadata come from.
const KERAS_MEMBER: &str = "<keras metadata>";

/// The message at the top of a TensorFlow protobuf file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `saved_model.pb`.
    SavedModel,
    /// A `.meta` file.
    MetaGraph,
    /// A frozen graph.
    Graph,
    /// `keras_metadata.pb`.
    KerasMetadata,
}

/// True if `data` is one of the TensorFlow protobufs this module scans.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    kind(data).is_some()
}

fn kind(data: &[u8]) -> Option<Kind> {
    if is_saved_model(data) {
        Some(Kind::SavedModel)
    } else if is_meta_graph(data, true) {
        Some(Kind::MetaGraph)
    } else if is_graph(data) {
        Some(Kind::Graph)
    } else if is_keras_metadata(data) {
        Some(Kind::KerasMetadata)
    } else {
        None
    }
}

/// `SavedModel`: an optional small schema version (1), then `MetaGraphDef`s. A file truncated in
/// a meta graph still counts when what is left starts like one.
fn is_saved_model(data: &[u8]) -> bool {
    let mut meta_graphs = 0u64;
    let mut version_one = false;
    for (count, field) in Message::root(data).fields().enumerate() {
        if count as u64 >= SNIFF_MAX_FIELDS {
            return false;
        }
        match field {
            Ok(Field { number: field::SAVED_MODEL_SCHEMA_VERSION, value: Value::Varint(v), .. }) if v <= 16 => version_one |= v == 1,
            Ok(Field { number: field::SAVED_MODEL_META_GRAPHS, value: Value::Len(meta_graph), .. }) => {
                if !is_meta_graph(meta_graph, false) {
                    return false;
                }
                meta_graphs += 1;
            }
            Err(e) if e.field == Some(field::SAVED_MODEL_META_GRAPHS) && matches!(e.kind, WireErrorKind::Truncated { .. }) => {
                return (version_one || meta_graphs > 0) && truncated_payload_starts_with(data, e.offset, &[0x0a, 0x12]);
            }
            _ => return false,
        }
    }
    meta_graphs > 0
}

/// For a length-delimited field whose tag (one byte) is at `offset` and whose payload is cut
/// short: does the payload start with one of `tags`?
fn truncated_payload_starts_with(data: &[u8], offset: u64, tags: &[u8]) -> bool {
    let Ok(tag_at) = usize::try_from(offset) else { return false };
    let Ok((_, payload)) = protobuf::read_varint(data, tag_at.saturating_add(1)) else { return false };
    data.get(payload).is_some_and(|b| tags.contains(b))
}

/// `MetaGraphDef`: only sub-messages numbered 1 to 7, with a meta info, graph or object graph.
/// A standalone `.meta` file (`standalone`) must carry a graph that passes [`is_graph`].
fn is_meta_graph(data: &[u8], standalone: bool) -> bool {
    let mut has_core = false;
    let mut has_graph = false;
    for (count, field) in Message::root(data).fields().enumerate() {
        let Ok(field) = field else { return false };
        if count as u64 >= SNIFF_MAX_FIELDS || !(1..=7).contains(&field.number) {
            return false;
        }
        let Some(payload) = field.bytes() else { return false };
        if protobuf::validate(payload, SNIFF_MAX_FIELDS).is_err() {
            return false;
        }
        has_core |= matches!(field.number, field::META_INFO_DEF | field::META_GRAPH_DEF | field::META_OBJECT_GRAPH_DEF);
        if field.number == field::META_GRAPH_DEF {
            has_graph = !standalone || is_graph(payload);
        }
    }
    has_core && (!standalone || has_graph)
}

/// `GraphDef`: nodes, a library, versions; the first nodes have a name and a plausible op name.
fn is_graph(data: &[u8]) -> bool {
    let mut nodes = 0usize;
    for (count, field) in Message::root(data).fields().enumerate() {
        let Ok(field) = field else { return false };
        if count as u64 >= SNIFF_MAX_FIELDS {
            return false;
        }
        match (field.number, field.value) {
            (field::GRAPH_NODE, Value::Len(node)) => {
                if nodes < SNIFF_NODES && !is_node_def(node) {
                    return false;
                }
                nodes += 1;
            }
            (field::GRAPH_LIBRARY | field::GRAPH_VERSIONS | field::GRAPH_DEBUG_INFO, Value::Len(_)) | (field::GRAPH_VERSION, Value::Varint(_)) => {}
            _ => return false,
        }
    }
    nodes > 0
}

/// `NodeDef`: length-delimited fields 1 to 7 and an op name made of identifier characters.
fn is_node_def(data: &[u8]) -> bool {
    let mut has_op = false;
    for field in Message::root(data).fields() {
        let Ok(field) = field else { return false };
        let Some(bytes) = field.bytes() else { return false };
        match field.number {
            field::NODE_OP => {
                has_op = bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                    && bytes.len() <= 256
                    && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'>'));
                if !has_op {
                    return false;
                }
            }
            field::NODE_NAME => {
                if std::str::from_utf8(bytes).is_err() {
                    return false;
                }
            }
            3..=7 => {}
            _ => return false,
        }
    }
    has_op
}

/// `SavedMetadata`: only Keras objects, whose identifiers start with `_tf_keras` or whose
/// metadata is a JSON object.
fn is_keras_metadata(data: &[u8]) -> bool {
    let mut nodes = 0usize;
    for (count, field) in Message::root(data).fields().enumerate() {
        let Ok(Field { number: field::KERAS_NODES, value: Value::Len(node), .. }) = field else { return false };
        if count as u64 >= SNIFF_MAX_FIELDS {
            return false;
        }
        if nodes < SNIFF_NODES && !is_keras_object(node) {
            return false;
        }
        nodes += 1;
    }
    nodes > 0
}

fn is_keras_object(data: &[u8]) -> bool {
    let mut keras = false;
    for field in Message::root(data).fields() {
        let Ok(field) = field else { return false };
        match (field.number, field.value) {
            (field::KERAS_NODE_ID, Value::Varint(_)) | (1 | 3 | 6, Value::Len(_)) => {}
            (field::KERAS_IDENTIFIER, Value::Len(identifier)) => keras |= identifier.starts_with(b"_tf_keras"),
            (field::KERAS_METADATA, Value::Len(metadata)) => keras |= metadata.trim_ascii_start().starts_with(b"{"),
            _ => return false,
        }
    }
    keras
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
            let Some(class) = savedmodel_ops::classify(&op) else { continue };
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

/// Turns the operators whose danger depends on attributes into what they do here, or `None` when
/// these attributes make them harmless.
fn resolve_attribute_dependent(class: OpClass, attributes: &[(&[u8], &[u8])]) -> Option<OpClass> {
    fn values<'v>(attributes: &'v [(&'v [u8], &'v [u8])], key: &'v [u8]) -> impl Iterator<Item = &'v [u8]> {
        attributes.iter().filter(move |(k, _)| *k == key).map(|(_, v)| *v)
    }
    match class {
        OpClass::Debug => {
            let urls: Vec<&[u8]> = values(attributes, b"debug_urls").collect();
            if urls.iter().any(|u| !u.starts_with(b"file://") && u.contains(&b':')) {
                Some(OpClass::Network)
            } else if urls.iter().any(|u| u.starts_with(b"file://")) {
                Some(OpClass::FileWrite)
            } else {
                Some(OpClass::Debug)
            }
        }
        OpClass::Print => values(attributes, b"output_stream").any(|s| s.starts_with(b"file://")).then_some(OpClass::FileWrite),
        OpClass::ProtoCodec => values(attributes, b"descriptor_source")
            .any(|s| !s.is_empty() && s != b"local://" && !s.starts_with(b"bytes://"))
            .then_some(OpClass::FileRead),
        other => Some(other),
    }
}

/// Whether a node belongs to the saver: TF2 traces it into `__inference__traced_save_*` and
/// `..._traced_restore_*` functions, TF1 puts it under the `save/` (or `save_1/`...) scope.
fn in_saver(scope: Scope<'_>, node_name: &[u8]) -> bool {
    match scope {
        Scope::Function(name) => {
            let name = String::from_utf8_lossy(name);
            name.contains("traced_save") || name.contains("traced_restore")
        }
        Scope::Graph => {
            let first = node_name.split(|b| *b == b'/').next().unwrap_or_default();
            first == b"save" || first.strip_prefix(b"save_").is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
        }
    }
}

/// The node an input refers to: `name`, `name:1` or (in functions) `name:output:0`; `None` for
/// control inputs (`^name`), which carry no data.
fn input_node(input: &[u8]) -> Option<&[u8]> {
    if input.starts_with(b"^") {
        return None;
    }
    input.split(|b| *b == b':').next().filter(|name| !name.is_empty())
}

fn inputs<'a, 'b>(node: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = &'a [u8]> + 'b
where
    'a: 'b,
{
    charged(node, budget).filter(|f| f.number == field::NODE_INPUT).filter_map(|f| f.bytes())
}

/// The fields of `message`, each charged to `budget`; ends quietly when the budget runs out
/// (wire errors are the walk's business).
fn charged<'a, 'b>(message: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = Field<'a>> + 'b
where
    'a: 'b,
{
    message.fields().map_while(Result::ok).take_while(move |_| {
        let left = budget.get();
        budget.set(left.saturating_sub(1));
        left > 0
    })
}

/// The `(key, AttrValue)` entries of a node's attribute map.
fn attribute_entries<'a, 'b>(node: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = (&'a [u8], Message<'a>)> + 'b
where
    'a: 'b,
{
    charged(node, budget).filter(|f| f.number == field::NODE_ATTR).filter_map(|f| f.message()).filter_map(move |entry| {
        let (mut key, mut value) = (None, None);
        for f in charged(entry, budget) {
            match f.number {
                field::ENTRY_KEY => key = f.bytes(),
                field::ENTRY_VALUE => value = f.message(),
                _ => {}
            }
        }
        Some((key?, value?))
    })
}

/// String-valued attributes (`s` and `list.s`) of a node.
fn string_attributes<'a>(node: Message<'a>, budget: &Cell<u64>) -> Vec<(&'a [u8], &'a [u8])> {
    let mut out = Vec::new();
    for (key, value) in attribute_entries(node, budget) {
        for f in charged(value, budget) {
            match (f.number, f.message()) {
                (field::ATTR_S, _) => out.extend(f.bytes().map(|s| (key, s))),
                (field::ATTR_LIST, Some(list)) => {
                    let strings = charged(list, budget).filter(|l| l.number == field::LIST_S).filter_map(|l| l.bytes());
                    out.extend(strings.take(MAX_STRINGS).map(|s| (key, s)));
                }
                _ => {}
            }
        }
        if out.len() >= MAX_STRINGS {
            out.truncate(MAX_STRINGS);
            break;
        }
    }
    out
}

/// The string elements of a `Const` node's `value` tensor.
fn constant_strings<'a, 'b>(node: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = &'a [u8]> + 'b
where
    'a: 'b,
{
    attribute_entries(node, budget)
        .filter(|(key, _)| *key == b"value")
        .flat_map(move |(_, value)| charged(value, budget))
        .filter(|f| f.number == field::ATTR_TENSOR)
        .filter_map(|f| f.message())
        .flat_map(move |tensor| charged(tensor, budget))
        .filter(|f| f.number == field::TENSOR_STRING_VAL)
        .filter_map(|f| f.bytes())
        .take(MAX_STRINGS)
}

/// What a flagged node was configured with, for the finding's evidence.
fn evidence(attributes: &[(&[u8], &[u8])], constants: &[&[u8]]) -> String {
    let mut parts = Vec::new();
    let shown: Vec<String> = attributes
        .iter()
        .filter(|(key, _)| !key.starts_with(b"_"))
        .take(8)
        .map(|(key, value)| format!("{}={}", protobuf::excerpt(key, 64), protobuf::excerpt(value, EXCERPT_CHARS)))
        .collect();
    if !shown.is_empty() {
        parts.push(format!("attributes: {}", shown.join(", ")));
    }
    let constants: Vec<String> = constants.iter().take(8).map(|c| protobuf::excerpt(c, EXCERPT_CHARS)).collect();
    if !constants.is_empty() {
        parts.push(format!("constant inputs: {}", constants.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
#[path = "savedmodel_tests.rs"]
mod tests;
