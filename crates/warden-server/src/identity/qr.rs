//! QR codes as inline SVG, rendered on the server (the UI runs no scripts), for the `otpauth://`
//! URI of a TOTP enrolment.

use qrcodegen::{QrCode, QrCodeEcc};

use crate::error::{ApiError, ApiResult};

/// Quiet zone around the symbol, in modules (the QR specification asks for four).
const QUIET: i32 = 4;

/// An SVG document drawing `text` as a QR code: one path of unit squares, black on white. The
/// markup holds only numbers and fixed attributes, never `text` itself, so it is safe to embed
/// in a page unescaped.
pub fn svg(text: &str) -> ApiResult<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|e| ApiError::Internal(format!("QR code: {e}")))?;
    let size = code.size();
    let full = size + 2 * QUIET;
    let mut path = String::with_capacity(usize::try_from(size * size * 4).unwrap_or(0));
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {full} {full}\" width=\"240\" height=\"240\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code of the authenticator link\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_draws_modules_and_leaks_no_text() {
        let uri = "otpauth://totp/warden:alice?secret=JBSWY3DPEHPK3PXP&issuer=warden";
        let svg = svg(uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("M4,4h1v1h-1z"), "the finder pattern's corner module is drawn");
        assert!(!svg.contains("JBSWY3DP") && !svg.contains("alice"), "the secret is only in the modules");
        let size = QrCode::encode_text(uri, QrCodeEcc::Medium).unwrap().size() + 2 * QUIET;
        assert!(svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")));
    }
}
