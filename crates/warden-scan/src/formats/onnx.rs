//! SCAFFOLD: onnx (being written).

use crate::context::ScanContext;
use crate::rules::Rule;

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[];

pub(crate) fn scan(_ctx: &mut ScanContext<'_>, _data: &[u8]) {}
pub(crate) fn looks_like(_data: &[u8]) -> bool { false }
