//! SCAFFOLD: archive (being written).

use crate::context::ScanContext;
use crate::rules::Rule;

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[];

pub(crate) fn scan_tar(_ctx: &mut ScanContext<'_>, _data: &[u8]) {}
pub(crate) fn scan_compressed(_ctx: &mut ScanContext<'_>, _data: &[u8], _format: crate::sniff::Format) {}
pub(crate) fn scan_7z(_ctx: &mut ScanContext<'_>, _data: &[u8]) {}
