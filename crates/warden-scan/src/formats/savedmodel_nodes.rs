//! Reading `NodeDef`s for judgement: inputs, string attributes, string constants, and what a
//! node's attributes make of operators whose danger depends on them. The helpers that may read a
//! node more than once charge every field to a shared budget, so hostile graphs stay linear.

use std::cell::Cell;

use super::ops::OpClass;
use super::{EXCERPT_CHARS, MAX_STRINGS, Scope, field};
use crate::formats::protobuf::{self, Field, Message};

/// Turns the operators whose danger depends on attributes into what they do here, or `None` when
/// these attributes make them harmless.
pub(super) fn resolve_attribute_dependent(class: OpClass, attributes: &[(&[u8], &[u8])]) -> Option<OpClass> {
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
pub(super) fn in_saver(scope: Scope<'_>, node_name: &[u8]) -> bool {
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
pub(super) fn input_node(input: &[u8]) -> Option<&[u8]> {
    if input.starts_with(b"^") {
        return None;
    }
    input.split(|b| *b == b':').next().filter(|name| !name.is_empty())
}

pub(super) fn inputs<'a, 'b>(node: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = &'a [u8]> + 'b
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
pub(super) fn string_attributes<'a>(node: Message<'a>, budget: &Cell<u64>) -> Vec<(&'a [u8], &'a [u8])> {
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
pub(super) fn constant_strings<'a, 'b>(node: Message<'a>, budget: &'b Cell<u64>) -> impl Iterator<Item = &'a [u8]> + 'b
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
pub(super) fn evidence(attributes: &[(&[u8], &[u8])], constants: &[&[u8]]) -> String {
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

