//! SCAFFOLD: gguf (being written).

use crate::context::ScanContext;
use crate::rules::Rule;

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[];

pub(crate) fn scan(_ctx: &mut ScanContext<'_>, _data: &[u8]) {}
