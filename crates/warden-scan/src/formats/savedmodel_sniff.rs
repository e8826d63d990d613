//! Recognising TensorFlow protobufs by structure: a `SavedModel`, a standalone `MetaGraphDef`
//! (`.meta`), a frozen `GraphDef`, or Keras' `SavedMetadata` (`keras_metadata.pb`). Every check
//! parses the whole top level and a few messages below it, so random bytes, text and other
//! protobufs (ONNX, `fingerprint.pb`, tensor dumps) do not match.

use super::field;
use crate::formats::protobuf::{self, Field, Message, Value, WireErrorKind};

/// Most fields the sniff reads at one level before giving up.
const SNIFF_MAX_FIELDS: u64 = 1 << 22;
/// Nodes (or Keras objects) the sniff inspects in depth.
const SNIFF_NODES: usize = 16;

/// The message at the top of a TensorFlow protobuf file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `saved_model.pb`.
    SavedModel,
    /// A `.meta` file.
    MetaGraph,
    /// A frozen graph.
    Graph,
    /// `keras_metadata.pb`.
    KerasMetadata,
}

pub(super) fn kind(data: &[u8]) -> Option<Kind> {
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

