//! SCAFFOLD: zip (being written).

use crate::context::ScanContext;
use crate::rules::Rule;

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[];

pub(crate) fn scan(_ctx: &mut ScanContext<'_>, _data: &[u8]) {}
pub(crate) fn has_trailing_central_directory(_data: &[u8]) -> bool { false }
pub(crate) fn report_polyglot(_ctx: &mut ScanContext<'_>, _outer: crate::sniff::Format) {}
