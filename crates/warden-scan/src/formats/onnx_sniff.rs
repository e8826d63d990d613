//! Recognising an ONNX `ModelProto` by structure: a plausible `ir_version` first, every known
//! field with its wire type, and a graph or opset imports. Random bytes, text and other protobufs
//! (TensorFlow's `SavedModel` starts with a varint field 1 too) do not match.

use super::model;
use crate::formats::protobuf::{self, Field, Message, Value, WireErrorKind};

/// Highest `ir_version` the sniff accepts (onnx 1.23 writes 14; leave room for growth).
const MAX_IR_VERSION: u64 = 32;
/// Most top-level fields the sniff reads before giving up (real models have a handful).
const SNIFF_MAX_FIELDS: u64 = 1 << 20;

/// True if `data` is an ONNX `ModelProto`: it starts with a plausible `ir_version` (serialisers
/// write fields in number order), every known field has its wire type, and it has a graph or
/// opset imports. A model truncated inside its graph still counts, so the scan can report it.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    let mut fields = Message::root(data).fields();
    match fields.next() {
        Some(Ok(Field { number: model::IR_VERSION, value: Value::Varint(v), .. })) if (1..=MAX_IR_VERSION).contains(&v) => {}
        _ => return false,
    }
    let (mut has_graph, mut has_opset) = (false, false);
    for (count, field) in fields.enumerate() {
        if count as u64 >= SNIFF_MAX_FIELDS {
            return false;
        }
        let field = match field {
            Ok(field) => field,
            Err(e) => return has_graph || (e.field == Some(model::GRAPH) && matches!(e.kind, WireErrorKind::Truncated { .. })),
        };
        let valid = match (field.number, field.value) {
            (model::IR_VERSION | model::MODEL_VERSION, Value::Varint(_)) => true,
            (model::PRODUCER_NAME | model::PRODUCER_VERSION | model::DOMAIN | model::DOC_STRING, Value::Len(s)) => std::str::from_utf8(s).is_ok(),
            (model::GRAPH, Value::Len(graph)) => {
                has_graph = protobuf::validate(graph, SNIFF_MAX_FIELDS).is_ok();
                has_graph
            }
            (model::OPSET_IMPORT, Value::Len(opset)) => {
                has_opset = is_opset_import(opset);
                has_opset
            }
            (model::METADATA_PROPS | model::TRAINING_INFO | model::FUNCTIONS | model::CONFIGURATION, Value::Len(m)) => {
                protobuf::validate(m, SNIFF_MAX_FIELDS).is_ok()
            }
            (
                model::IR_VERSION
                | model::MODEL_VERSION
                | model::PRODUCER_NAME
                | model::PRODUCER_VERSION
                | model::DOMAIN
                | model::DOC_STRING
                | model::GRAPH
                | model::OPSET_IMPORT
                | model::METADATA_PROPS
                | model::TRAINING_INFO
                | model::FUNCTIONS
                | model::CONFIGURATION,
                _,
            ) => false,
            // Fields added by later ONNX versions.
            _ => true,
        };
        if !valid {
            return false;
        }
    }
    has_graph || has_opset
}

/// `OperatorSetIdProto`: a UTF-8 `domain` (1) and a `version` varint (2), nothing else.
fn is_opset_import(data: &[u8]) -> bool {
    Message::root(data).fields().all(|field| match field {
        Ok(Field { number: 1, value: Value::Len(domain), .. }) => domain.len() <= 256 && std::str::from_utf8(domain).is_ok(),
        Ok(Field { number: 2, value: Value::Varint(_), .. }) => true,
        _ => false,
    })
}

