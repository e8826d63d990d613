//! Judging the file references a model makes: ONNX external data locations and sizes, and (for
//! the TensorFlow scanner) constant paths fed to file operators.

/// External data offsets and lengths above this (256 TiB) are not real files.
const MAX_EXTERNAL_BYTES: u64 = 1 << 48;

/// Why a file path from a model (an external data location, a constant fed to a file operator)
/// escapes the model directory, if it does.
pub(crate) fn location_escape(location: &[u8]) -> Option<&'static str> {
    if location.contains(&0) {
        return Some("contains a NUL byte (C++ loaders stop reading the path there)");
    }
    let text = String::from_utf8_lossy(location);
    let bytes = text.as_bytes();
    if text.starts_with("\\\\") || text.starts_with("//") {
        return Some("is a UNC or network path");
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some("is an absolute Windows path");
    }
    if has_url_scheme(&text) {
        return Some("is a URL");
    }
    if text.starts_with('/') || text.starts_with('\\') {
        return Some("is an absolute path");
    }
    if text.starts_with('~') {
        return Some("starts with `~` (a home directory)");
    }
    if text.split(['/', '\\']).any(|component| component.trim_end() == "..") {
        return Some("climbs out of the model directory with `..`");
    }
    None
}

/// `scheme://...`, or a well-known scheme followed by `:`.
fn has_url_scheme(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let is_scheme = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme
        && (rest.starts_with("//")
            || matches!(scheme.to_ascii_lowercase().as_str(), "file" | "http" | "https" | "ftp" | "smb" | "s3" | "gs" | "hdfs"))
}

/// Why an external data `offset` or `length` value is unusable, if it is.
pub(super) fn range_problem(value: &[u8]) -> Option<&'static str> {
    let Ok(text) = std::str::from_utf8(value) else { return Some("is not a number") };
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(n) if n > MAX_EXTERNAL_BYTES => Some("is implausibly large"),
        Ok(_) => None,
        Err(_) if text.starts_with('-') && text.len() > 1 && text[1..].bytes().all(|b| b.is_ascii_digit()) => Some("is negative"),
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Some("is implausibly large"),
        Err(_) => Some("is not a number"),
    }
}

