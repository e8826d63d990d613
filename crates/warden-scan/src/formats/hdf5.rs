//! HDF5 (Keras/TensorFlow `.h5`): the root group's `model_config` and `training_config`
//! attributes hold the Keras model as JSON, and [`crate::formats::keras`] judges it.
//!
//! Two passes, so that no storage layout hides a config:
//! 1. a bounded structural read of the root group's attributes ([`hdf5_reader`]): compact
//!    attributes in v1/v2 object headers, and dense storage (what HDF5 uses for attributes over
//!    64 KiB) when its fractal heap and B-trees have the simple shapes HDF5 writes for a handful of
//!    attributes;
//! 2. a text search over the whole file for JSON containing `"class_name"` that pass 1 did not
//!    cover. Keras reads the attribute with `json.loads` after UTF-8 decoding, so a config it can
//!    load is one contiguous run of text bytes somewhere in the file, whatever the layout. The one
//!    layout this cannot see is a *filtered* (compressed) dense attribute heap, which HDF5 never
//!    writes for attributes by itself; it is reported.
//!
//! Tensor data is never interpreted. No HDF5 C library is used: parsing hostile files with it is
//! an attack surface of its own.
//!
//! [`hdf5_reader`]: crate::formats::hdf5_reader

use warden_core::Severity;

use crate::context::ScanContext;
use crate::formats::{hdf5_reader, keras};
use crate::rules::{ATLAS_UNSAFE_ARTIFACT, Rule};
use crate::sniff;

/// The HDF5 structure could not be read.
pub(crate) static MALFORMED: Rule = Rule {
    id: "hdf5.malformed",
    severity: Severity::Low,
    title: "malformed HDF5 structure",
    description: "The HDF5 superblock or the root group's object header is invalid or truncated. \
                  warden falls back to searching the bytes for Keras configs; the HDF5 library may \
                  read such a file differently or crash on it.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Re-save the model from a trusted source if the file is meant to be loaded.",
};

/// Attribute storage that could hide a config from inspection.
pub(crate) static HIDDEN_ATTRIBUTE: Rule = Rule {
    id: "hdf5.uninspected-attributes",
    severity: Severity::Medium,
    title: "HDF5 attributes stored in a way warden cannot read",
    description: "The root group keeps attributes in a compressed (filtered) attribute heap. HDF5 \
                  never does this on its own, and compressed values cannot be searched, so a model \
                  config there was not inspected.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the model until its config can be inspected; re-save it with h5py defaults.",
};

/// What the file holds, for the record.
pub(crate) static SUMMARY: Rule = Rule {
    id: "hdf5.summary",
    severity: Severity::Info,
    title: "HDF5 contents",
    description: "The superblock version, the root group's attributes, and layouts read only by text search.",
    atlas: &[],
    remediation: "None needed.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&MALFORMED, &HIDDEN_ATTRIBUTE, &SUMMARY];

/// Root attributes that hold Keras JSON.
const CONFIG_ATTRIBUTES: &[&str] = &["model_config", "training_config"];
/// Candidate `{` positions tried per text run before giving up on it.
const MAX_STARTS_PER_RUN: usize = 16;

/// Scans an HDF5 file.
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let Some(superblock) = sniff::hdf5_superblock_offset(data) else {
        ctx.report(&MALFORMED, Some(0), "no HDF5 superblock signature at 0, 512, 1024, 2048 or 4096");
        return;
    };
    let mut covered: Vec<(u64, u64)> = Vec::new();
    match hdf5_reader::root_attributes(data, superblock) {
        Ok(root) => {
            let mut names = Vec::new();
            for attribute in &root.attributes {
                names.push(attribute.name.clone());
                if !CONFIG_ATTRIBUTES.contains(&attribute.name.as_str()) {
                    continue;
                }
                for (offset, value) in &attribute.values {
                    covered.push((*offset, *offset + value.len() as u64));
                    scan_value(ctx, &attribute.name, value, *offset);
                }
            }
            for note in &root.unsupported {
                if note.contains("I/O filters") {
                    ctx.report(&HIDDEN_ATTRIBUTE, None, note.clone());
                }
            }
            let mut message = format!("HDF5 superblock v{}; root attributes: {}", root.superblock_version, list(&names));
            if !root.unsupported.is_empty() {
                message.push_str(&format!("; read by text search only: {}", root.unsupported.join("; ")));
            }
            ctx.report(&SUMMARY, Some(superblock as u64), message);
        }
        Err(e) => {
            ctx.report(&MALFORMED, Some(e.offset), format!("{}; searching the bytes for Keras configs instead", e.message));
        }
    }
    search_configs(ctx, data, &covered);
}

/// Hands one attribute value to the Keras checker.
fn scan_value(ctx: &mut ScanContext<'_>, name: &str, value: &[u8], offset: u64) {
    // Fixed-length strings are NUL-padded; h5py drops the padding before Keras sees it.
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    match std::str::from_utf8(&value[..end]) {
        Ok(text) => {
            keras::scan_config_text(ctx, text, offset);
        }
        Err(e) => {
            let at = offset + e.valid_up_to() as u64;
            ctx.report(&MALFORMED, Some(at), format!("`{name}` attribute is not valid UTF-8, so Keras cannot load it"));
        }
    }
}

/// Pass 2: every run of text bytes containing `"class_name"` outside the attributes already
/// read, parsed from its first `{` that starts a JSON value.
fn search_configs(ctx: &mut ScanContext<'_>, data: &[u8], covered: &[(u64, u64)]) {
    let limit = usize::try_from(ctx.limits().max_header_bytes).unwrap_or(usize::MAX);
    let finder = memchr::memmem::Finder::new(b"\"class_name\"");
    let mut pos = 0;
    while let Some(found) = finder.find(&data[pos..]) {
        let hit = pos + found;
        let start = (0..hit).rev().take(limit).take_while(|&i| is_text(data[i])).last().unwrap_or(hit);
        let end = (hit..data.len()).take(limit).take_while(|&i| is_text(data[i])).last().map_or(hit, |i| i + 1);
        pos = end.max(hit + 1);
        let run = (start as u64, end as u64);
        if covered.iter().any(|&(s, e)| s < run.1 && run.0 < e) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&data[start..end]) else {
            continue;
        };
        let mut cursor = 0;
        let mut tries = 0;
        while let Some(brace) = text[cursor..].find('{').map(|i| cursor + i) {
            tries += 1;
            if tries > MAX_STARTS_PER_RUN {
                break;
            }
            match object_end(&text[brace..]) {
                Some(len) if text[brace..brace + len].contains("\"class_name\"") => {
                    keras::scan_config_text(ctx, &text[brace..brace + len], (start + brace) as u64);
                    cursor = brace + len;
                }
                _ => cursor = brace + 1,
            }
        }
    }
}

/// The length of the JSON object starting at `text[0] == '{'`, by matching braces outside
/// strings (tolerant of Python's `NaN`, which Keras configs may contain).
fn object_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Bytes that can appear in JSON text Python would load (no control characters but whitespace).
fn is_text(b: u8) -> bool {
    b >= 0x20 && b != 0x7f || matches!(b, b'\t' | b'\n' | b'\r')
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
    let more = if names.len() > 12 { format!(" and {} more", names.len() - 12) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
#[path = "hdf5_tests.rs"]
mod tests;
