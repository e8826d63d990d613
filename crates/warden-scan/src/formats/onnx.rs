//! ONNX `ModelProto` files: a strict content sniff ([`looks_like`]) and a scan ([`scan`]) of what
//! a runtime would open or execute when loading the model:
//!
//! - external tensor data: file paths the loader joins to the model directory and reads;
//! - operators outside the standard domains, which need a custom-op library (native code);
//! - operators that call into Python (ONNX Runtime training's `PythonOp`, extensions' `PyOp`).
//!
//! The walk covers the main graph, subgraphs in `If`/`Loop`/`Scan` attributes (depth-bounded),
//! model-local functions and training graphs. Tensor payloads are skipped, never read.
//! Field numbers follow `onnx/onnx.proto` (checked against onnx 1.23).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use warden_core::Severity;

use crate::context::ScanContext;
use crate::formats::protobuf::{self, Message, Walk};
use crate::rules::{ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

#[path = "onnx_external.rs"]
mod external;
#[path = "onnx_ops.rs"]
mod ops;
#[path = "onnx_sniff.rs"]
mod sniff;

pub(crate) use external::location_escape;
use external::range_problem;
use ops::DomainKind;
pub(crate) use sniff::looks_like;

/// External data pointing outside the model directory.
pub(crate) static EXTERNAL_DATA_TRAVERSAL: Rule = Rule {
    id: "onnx.external-data-traversal",
    severity: Severity::High,
    title: "external tensor data outside the model directory",
    description: "A tensor keeps its data in an external file whose `location` is absolute, climbs out \
                  of the model directory with `..`, starts with `~`, is a URL or UNC path, or hides a NUL \
                  byte. Loaders join the location to the model's directory and read the file into the \
                  tensor, so a crafted model can read arbitrary files of the loading machine (and return \
                  them through its outputs) or point at device files to hang the loader \
                  (CVE-2022-25882, CVE-2024-27318).",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the model. Legitimate external data uses plain relative file names next to \
                  the model: re-export with `onnx.save_model(..., save_as_external_data=True, location=\"weights.bin\")`.",
};

/// Tensors whose data lives in other files.
pub(crate) static EXTERNAL_DATA: Rule = Rule {
    id: "onnx.external-data",
    severity: Severity::Info,
    title: "tensor data in external files",
    description: "Some tensors keep their data in separate files that the loader reads from the model's \
                  directory. Those files are part of the model: they must travel with it and be scanned \
                  with it.",
    atlas: &[],
    remediation: "Keep the external data files next to the model and scan them together.",
};

/// External data entries a loader cannot use safely.
pub(crate) static EXTERNAL_DATA_INVALID: Rule = Rule {
    id: "onnx.external-data-invalid",
    severity: Severity::Medium,
    title: "invalid external data reference",
    description: "A tensor marked as external names no file, or its `offset` or `length` is negative, not \
                  a number or implausibly large. Loaders handle such values inconsistently: they can \
                  allocate huge buffers or read outside the intended range.",
    atlas: &[ATLAS_DENIAL_OF_SERVICE],
    remediation: "Re-export the model with a current ONNX version; do not load it until its external data \
                  references are valid.",
};

/// Operators from domains neither ONNX nor ONNX Runtime defines.
pub(crate) static CUSTOM_DOMAIN: Rule = Rule {
    id: "onnx.custom-domain",
    severity: Severity::Medium,
    title: "operators from a custom domain",
    description: "Nodes use operators from a domain that neither ONNX nor ONNX Runtime defines. Running \
                  them requires registering a custom-op library, native code supplied by the model's \
                  publisher, which runs with the full rights of the inference process.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Find out which custom-op library the model needs and who built it, and review it before \
                  registering it; prefer models that use only standard operators.",
};

/// ONNX Runtime's own contrib operators.
pub(crate) static RUNTIME_CONTRIB_OP: Rule = Rule {
    id: "onnx.runtime-contrib-op",
    severity: Severity::Info,
    title: "ONNX Runtime contrib operators",
    description: "Nodes use ONNX Runtime's built-in contrib operators (`com.microsoft` and related \
                  domains). They ship with the runtime, so no extra code is loaded, but only ONNX Runtime \
                  can run the model.",
    atlas: &[],
    remediation: "No action needed unless the model must run on another runtime.",
};

/// Operator names the standard domains do not define.
pub(crate) static UNKNOWN_OP: Rule = Rule {
    id: "onnx.unknown-op",
    severity: Severity::Low,
    title: "operator not defined by ONNX",
    description: "Nodes in a standard ONNX domain use operator names the specification does not define. \
                  Standard runtimes reject the model; one that accepts it has a custom kernel registered \
                  under the standard domain, shadowing the specification.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL],
    remediation: "Check which exporter produced these operators and re-export with a supported opset.",
};

/// Operators that run Python.
pub(crate) static PYTHON_OP: Rule = Rule {
    id: "onnx.python-op",
    severity: Severity::Critical,
    title: "operator runs Python code",
    description: "A node calls into a Python interpreter: ONNX Runtime training's `PythonOp` imports and \
                  calls the function its `func_name` attribute names, and onnxruntime-extensions' `PyOp` \
                  calls registered Python functions. Running the model executes code its author chose.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not run the model; inference models never need Python operators. Re-export without them.",
};

/// Not valid protobuf, or not shaped like a model.
pub(crate) static MALFORMED: Rule = Rule {
    id: "onnx.malformed",
    severity: Severity::High,
    title: "malformed ONNX model",
    description: "The model is not valid protobuf or lacks the ONNX structure: lengths past the end of the \
                  buffer, oversized varints, a missing graph or fields with the wrong types. Malformed \
                  models crash or confuse parsers and can hide content from scanners that stop at the \
                  first error.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the model; obtain a fresh copy from its source or re-export it.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[
    &EXTERNAL_DATA_TRAVERSAL,
    &EXTERNAL_DATA,
    &EXTERNAL_DATA_INVALID,
    &CUSTOM_DOMAIN,
    &RUNTIME_CONTRIB_OP,
    &UNKNOWN_OP,
    &PYTHON_OP,
    &MALFORMED,
];

/// `ModelProto` field numbers.
mod model {
    pub(super) const IR_VERSION: u32 = 1;
    pub(super) const PRODUCER_NAME: u32 = 2;
    pub(super) const PRODUCER_VERSION: u32 = 3;
    pub(super) const DOMAIN: u32 = 4;
    pub(super) const MODEL_VERSION: u32 = 5;
    pub(super) const DOC_STRING: u32 = 6;
    pub(super) const GRAPH: u32 = 7;
    pub(super) const OPSET_IMPORT: u32 = 8;
    pub(super) const METADATA_PROPS: u32 = 14;
    pub(super) const TRAINING_INFO: u32 = 20;
    pub(super) const FUNCTIONS: u32 = 25;
    pub(super) const CONFIGURATION: u32 = 26;
}

/// `GraphProto`, `NodeProto`, `AttributeProto`, `TensorProto`, `SparseTensorProto`,
/// `FunctionProto`, `TrainingInfoProto` and `StringStringEntryProto` field numbers.
mod field {
    pub(super) const GRAPH_NODE: u32 = 1;
    pub(super) const GRAPH_INITIALIZER: u32 = 5;
    pub(super) const GRAPH_SPARSE_INITIALIZER: u32 = 15;
    pub(super) const NODE_NAME: u32 = 3;
    pub(super) const NODE_OP_TYPE: u32 = 4;
    pub(super) const NODE_ATTRIBUTE: u32 = 5;
    pub(super) const NODE_DOMAIN: u32 = 7;
    pub(super) const ATTR_NAME: u32 = 1;
    pub(super) const ATTR_S: u32 = 4;
    pub(super) const ATTR_T: u32 = 5;
    pub(super) const ATTR_G: u32 = 6;
    pub(super) const ATTR_STRINGS: u32 = 9;
    pub(super) const ATTR_TENSORS: u32 = 10;
    pub(super) const ATTR_GRAPHS: u32 = 11;
    pub(super) const ATTR_SPARSE_TENSOR: u32 = 22;
    pub(super) const ATTR_SPARSE_TENSORS: u32 = 23;
    pub(super) const TENSOR_NAME: u32 = 8;
    pub(super) const TENSOR_EXTERNAL_DATA: u32 = 13;
    pub(super) const TENSOR_DATA_LOCATION: u32 = 14;
    pub(super) const SPARSE_VALUES: u32 = 1;
    pub(super) const SPARSE_INDICES: u32 = 2;
    pub(super) const FUNCTION_NAME: u32 = 1;
    pub(super) const FUNCTION_NODE: u32 = 7;
    pub(super) const FUNCTION_DOMAIN: u32 = 10;
    pub(super) const FUNCTION_ATTRIBUTE_PROTO: u32 = 11;
    pub(super) const TRAINING_INITIALIZATION: u32 = 1;
    pub(super) const TRAINING_ALGORITHM: u32 = 2;
    pub(super) const ENTRY_KEY: u32 = 1;
    pub(super) const ENTRY_VALUE: u32 = 2;
}

/// `TensorProto.DataLocation.EXTERNAL`.
const DATA_LOCATION_EXTERNAL: u64 = 1;
/// Deepest nesting of subgraphs (`If`/`Loop`/`Scan` bodies) followed.
const MAX_GRAPH_DEPTH: usize = 64;
/// Distinct names kept per summary (domains, operators, files); the rest are only counted.
const MAX_NAMES: usize = 32;
/// Longest string quoted in a finding.
const EXCERPT_CHARS: usize = 200;

/// Scans an ONNX model.
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let root = Message::root(data);
    let mut scan = OnnxScan {
        local_functions: local_functions(root),
        walk: Walk::new(ctx, &MALFORMED),
        external: ExternalSummary::default(),
        custom: OpUses::default(),
        contrib: OpUses::default(),
        unknown: OpUses::default(),
    };
    scan.model(root);
    scan.finish();
}

/// The `(domain, name)` of every model-local function: nodes calling them are not custom ops.
/// Read without the walk: wire errors here are reported when the walk reaches them.
fn local_functions(root: Message<'_>) -> HashMap<String, HashSet<String>> {
    let mut functions: HashMap<String, HashSet<String>> = HashMap::new();
    for field in root.fields().map_while(Result::ok) {
        let Some(function) = field.message().filter(|_| field.number == model::FUNCTIONS) else { continue };
        let (mut name, mut domain) = (&b""[..], &b""[..]);
        for f in function.fields().map_while(Result::ok) {
            match (f.number, f.bytes()) {
                (field::FUNCTION_NAME, Some(s)) => name = s,
                (field::FUNCTION_DOMAIN, Some(s)) => domain = s,
                _ => {}
            }
        }
        functions.entry(lossy(domain)).or_default().insert(lossy(name));
    }
    functions
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Operators seen per domain, for one summary finding per domain.
#[derive(Default)]
struct OpUses(BTreeMap<String, OpUse>);

#[derive(Default)]
struct OpUse {
    ops: BTreeSet<String>,
    nodes: u64,
    first_offset: u64,
}

impl OpUses {
    fn add(&mut self, domain: &str, op: &str, offset: u64) {
        // Bound the map: domains past the first few share one entry.
        let key = if self.0.len() < MAX_NAMES || self.0.contains_key(domain) { domain } else { "(other domains)" };
        let entry = self.0.entry(key.to_owned()).or_insert_with(|| OpUse { first_offset: offset, ..OpUse::default() });
        entry.nodes += 1;
        if entry.ops.len() < MAX_NAMES {
            entry.ops.insert(op.to_owned());
        }
    }
}

/// External data files referenced, for one summary finding.
#[derive(Default)]
struct ExternalSummary {
    tensors: u64,
    files: BTreeSet<String>,
    first_offset: Option<u64>,
}

/// One tensor's external-data entries.
#[derive(Default)]
struct ExternalRef<'a> {
    location: Option<(&'a [u8], u64)>,
    offset: Option<(&'a [u8], u64)>,
    length: Option<(&'a [u8], u64)>,
}

struct OnnxScan<'c, 's> {
    walk: Walk<'c, 's>,
    local_functions: HashMap<String, HashSet<String>>,
    external: ExternalSummary,
    custom: OpUses,
    contrib: OpUses,
    unknown: OpUses,
}

impl OnnxScan<'_, '_> {
    fn model(&mut self, root: Message<'_>) {
        let mut graphs = 0u32;
        let mut fields = root.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                model::IR_VERSION => {
                    self.walk.varint(&field, "ir_version");
                }
                model::GRAPH => {
                    if let Some(graph) = self.walk.message(&field, "graph") {
                        graphs += 1;
                        self.graph(graph, 0);
                    }
                }
                model::FUNCTIONS => {
                    if let Some(function) = self.walk.message(&field, "functions") {
                        self.function(function);
                    }
                }
                model::TRAINING_INFO => {
                    if let Some(info) = self.walk.message(&field, "training_info") {
                        self.training_info(info);
                    }
                }
                _ => {}
            }
        }
        if graphs == 0 && self.walk.is_clean() {
            self.walk.malformed(Severity::Medium, 0, "the model has no graph");
        }
    }

    fn graph(&mut self, graph: Message<'_>, depth: usize) {
        if depth > MAX_GRAPH_DEPTH {
            self.walk.limit(Some(graph.offset()), format!("subgraphs nested deeper than {MAX_GRAPH_DEPTH} levels; the rest was not inspected"));
            return;
        }
        let mut fields = graph.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::GRAPH_NODE => {
                    if let Some(node) = self.walk.message(&field, "node") {
                        self.node(node, depth);
                    }
                }
                field::GRAPH_INITIALIZER => {
                    if let Some(tensor) = self.walk.message(&field, "initializer") {
                        self.tensor(tensor);
                    }
                }
                field::GRAPH_SPARSE_INITIALIZER => {
                    if let Some(sparse) = self.walk.message(&field, "sparse_initializer") {
                        self.sparse_tensor(sparse);
                    }
                }
                _ => {}
            }
        }
    }

    fn node(&mut self, node: Message<'_>, depth: usize) {
        let (mut op_type, mut domain, mut name) = (&b""[..], &b""[..], &b""[..]);
        let wire_errors = self.walk.wire_errors();
        let mut fields = node.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            let slot = match field.number {
                field::NODE_OP_TYPE => &mut op_type,
                field::NODE_DOMAIN => &mut domain,
                field::NODE_NAME => &mut name,
                _ => continue,
            };
            *slot = self.walk.len(&field, "node string").unwrap_or_default();
        }
        if self.walk.wire_errors() != wire_errors {
            return;
        }
        self.operator(node, op_type, domain, name);
        let mut fields = node.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if field.number == field::NODE_ATTRIBUTE
                && let Some(attribute) = self.walk.message(&field, "attribute")
            {
                self.attribute(attribute, depth);
            }
        }
    }

    /// Judges one node's operator: Python, custom domain, contrib, or unknown standard name.
    fn operator(&mut self, node: Message<'_>, op_type: &[u8], domain: &[u8], name: &[u8]) {
        let op = String::from_utf8_lossy(op_type);
        let domain = String::from_utf8_lossy(domain);
        let offset = node.offset();
        let node_name = || if name.is_empty() { "an unnamed node".to_owned() } else { format!("node `{}`", protobuf::excerpt(name, EXCERPT_CHARS)) };
        if ops::is_python_op(&op) {
            let message = format!("{} runs the Python operator `{op}` (domain `{domain}`)", node_name());
            let evidence = show_attributes(&string_attributes(node));
            self.report(&PYTHON_OP, PYTHON_OP.severity, offset, message, evidence);
            return;
        }
        if self.local_functions.get(domain.as_ref()).is_some_and(|names| names.contains(op.as_ref())) {
            return;
        }
        match ops::domain_kind(&domain) {
            DomainKind::Standard if !ops::is_standard_op(&domain, &op) => self.unknown.add(&domain, &op, offset),
            DomainKind::Standard => {}
            DomainKind::RuntimeContrib => self.contrib.add(&domain, &op, offset),
            DomainKind::Custom => {
                self.custom.add(&domain, &op, offset);
                let attributes = string_attributes(node);
                if let Some(hint) = ops::execution_hint(&op, &attributes) {
                    let message = format!("{} runs the custom operator `{op}` from `{domain}`; its {hint} suggests it runs commands or code", node_name());
                    self.report(&CUSTOM_DOMAIN, Severity::High, offset, message, show_attributes(&attributes));
                }
            }
        }
    }

    /// Reports a per-node finding with optional evidence.
    fn report(&mut self, rule: &'static Rule, severity: Severity, offset: u64, message: String, evidence: String) {
        if let Some(finding) = self.walk.report(rule, severity, Some(offset), message)
            && !evidence.is_empty()
        {
            finding.evidence = Some(evidence);
        }
    }

    fn attribute(&mut self, attribute: Message<'_>, depth: usize) {
        let mut fields = attribute.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::ATTR_T | field::ATTR_TENSORS => {
                    if let Some(tensor) = self.walk.message(&field, "attribute tensor") {
                        self.tensor(tensor);
                    }
                }
                field::ATTR_SPARSE_TENSOR | field::ATTR_SPARSE_TENSORS => {
                    if let Some(sparse) = self.walk.message(&field, "attribute sparse tensor") {
                        self.sparse_tensor(sparse);
                    }
                }
                field::ATTR_G | field::ATTR_GRAPHS => {
                    if let Some(graph) = self.walk.message(&field, "attribute graph") {
                        self.graph(graph, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }

    fn sparse_tensor(&mut self, sparse: Message<'_>) {
        let mut fields = sparse.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if matches!(field.number, field::SPARSE_VALUES | field::SPARSE_INDICES)
                && let Some(tensor) = self.walk.message(&field, "sparse tensor part")
            {
                self.tensor(tensor);
            }
        }
    }

    fn function(&mut self, function: Message<'_>) {
        let mut fields = function.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::FUNCTION_NODE => {
                    if let Some(node) = self.walk.message(&field, "function node") {
                        self.node(node, 1);
                    }
                }
                field::FUNCTION_ATTRIBUTE_PROTO => {
                    if let Some(attribute) = self.walk.message(&field, "function attribute") {
                        self.attribute(attribute, 1);
                    }
                }
                _ => {}
            }
        }
    }

    fn training_info(&mut self, info: Message<'_>) {
        let mut fields = info.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            if matches!(field.number, field::TRAINING_INITIALIZATION | field::TRAINING_ALGORITHM)
                && let Some(graph) = self.walk.message(&field, "training graph")
            {
                self.graph(graph, 1);
            }
        }
    }

    fn tensor(&mut self, tensor: Message<'_>) {
        let mut name = &b""[..];
        let mut data_location = None;
        let mut external = ExternalRef::default();
        let mut fields = tensor.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::TENSOR_NAME => name = self.walk.len(&field, "tensor name").unwrap_or_default(),
                field::TENSOR_DATA_LOCATION => data_location = self.walk.varint(&field, "data_location"),
                field::TENSOR_EXTERNAL_DATA => {
                    if let Some(entry) = self.walk.message(&field, "external_data") {
                        self.external_entry(entry, &mut external);
                    }
                }
                _ => {}
            }
        }
        let name = protobuf::excerpt(name, EXCERPT_CHARS);
        let offset = tensor.offset();
        if let Some(location) = data_location.filter(|&l| l > DATA_LOCATION_EXTERNAL) {
            self.walk.malformed(Severity::Medium, offset, format!("tensor `{name}` has unknown data_location {location}"));
        }
        let is_external = data_location == Some(DATA_LOCATION_EXTERNAL);
        match external.location {
            None if is_external => {
                let message = format!("tensor `{name}` is stored externally but names no location");
                self.walk.report(&EXTERNAL_DATA_INVALID, EXTERNAL_DATA_INVALID.severity, Some(offset), message);
            }
            None => {}
            Some((location, at)) => self.external_location(&name, location, at),
        }
        for (key, value) in [("offset", external.offset), ("length", external.length)] {
            let Some((value, at)) = value else { continue };
            if let Some(problem) = range_problem(value) {
                let message = format!("external data {key} `{}` of tensor `{name}` {problem}", protobuf::excerpt(value, EXCERPT_CHARS));
                self.walk.report(&EXTERNAL_DATA_INVALID, EXTERNAL_DATA_INVALID.severity, Some(at), message);
            }
        }
    }

    fn external_entry<'a>(&mut self, entry: Message<'a>, external: &mut ExternalRef<'a>) {
        let (mut key, mut value) = (&b""[..], &b""[..]);
        let mut fields = entry.fields();
        while let Some(field) = self.walk.next(&mut fields) {
            match field.number {
                field::ENTRY_KEY => key = self.walk.len(&field, "external_data key").unwrap_or_default(),
                field::ENTRY_VALUE => value = self.walk.len(&field, "external_data value").unwrap_or_default(),
                _ => {}
            }
        }
        let slot = match key {
            b"location" => &mut external.location,
            b"offset" => &mut external.offset,
            b"length" => &mut external.length,
            _ => return,
        };
        *slot = Some((value, entry.offset()));
    }

    fn external_location(&mut self, tensor: &str, location: &[u8], offset: u64) {
        let shown = protobuf::excerpt(location, EXCERPT_CHARS);
        if let Some(problem) = location_escape(location) {
            let message = format!("tensor `{tensor}` loads external data from `{shown}`, which {problem}");
            if let Some(finding) = self.walk.report(&EXTERNAL_DATA_TRAVERSAL, EXTERNAL_DATA_TRAVERSAL.severity, Some(offset), message) {
                finding.evidence = Some(format!("external_data location: {shown}"));
            }
            return;
        }
        let summary = &mut self.external;
        summary.tensors += 1;
        summary.first_offset.get_or_insert(offset);
        if summary.files.len() < MAX_NAMES {
            summary.files.insert(shown);
        }
    }

    /// The summary findings, once the walk is over.
    fn finish(self) {
        let OnnxScan { walk, external, custom, contrib, unknown, .. } = self;
        for (domain, used) in custom.0 {
            let message = format!(
                "{} node(s) use operators from the custom domain `{domain}`; running them needs a custom-op library (native code) in the runtime",
                used.nodes
            );
            let finding = walk.ctx.report(&CUSTOM_DOMAIN, Some(used.first_offset), message);
            finding.evidence = Some(format!("operators: {}", join(&used.ops)));
        }
        for (domain, used) in contrib.0 {
            let message = format!("{} node(s) use ONNX Runtime contrib operators from `{domain}`", used.nodes);
            let finding = walk.ctx.report(&RUNTIME_CONTRIB_OP, Some(used.first_offset), message);
            finding.evidence = Some(format!("operators: {}", join(&used.ops)));
        }
        for (domain, used) in unknown.0 {
            let shown = if domain.is_empty() { "ai.onnx" } else { domain.as_str() };
            let message = format!("{} node(s) use operators that ONNX does not define in `{shown}`: {}", used.nodes, join(&used.ops));
            walk.ctx.report(&UNKNOWN_OP, Some(used.first_offset), message);
        }
        if external.tensors > 0 {
            let message = format!("{} tensor(s) load their data from external files next to the model", external.tensors);
            let finding = walk.ctx.report(&EXTERNAL_DATA, external.first_offset, message);
            finding.evidence = Some(format!("files: {}", join(&external.files)));
        }
        walk.finish();
    }
}

fn join(names: &BTreeSet<String>) -> String {
    names.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// A node's attributes by name, with their string values (`s`, `strings`; a few each).
fn string_attributes(node: Message<'_>) -> Vec<(String, Vec<String>)> {
    let attributes = node.fields().map_while(Result::ok).filter(|f| f.number == field::NODE_ATTRIBUTE).filter_map(|f| f.message());
    attributes
        .take(MAX_NAMES)
        .map(|attribute| {
            let mut name = String::new();
            let mut values = Vec::new();
            for f in attribute.fields().map_while(Result::ok) {
                match (f.number, f.bytes()) {
                    (field::ATTR_NAME, Some(s)) => name = protobuf::excerpt(s, 64),
                    (field::ATTR_S | field::ATTR_STRINGS, Some(s)) if values.len() < 4 => values.push(protobuf::excerpt(s, EXCERPT_CHARS)),
                    _ => {}
                }
            }
            (name, values)
        })
        .collect()
}

/// `name=value, ...` for the string-valued attributes, as evidence.
fn show_attributes(attributes: &[(String, Vec<String>)]) -> String {
    let shown: Vec<String> = attributes
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .take(8)
        .map(|(name, values)| format!("{name}={}", values.join("|")))
        .collect();
    shown.join(", ")
}

#[cfg(test)]
#[path = "onnx_tests.rs"]
mod tests;
