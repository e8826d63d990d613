//! Downloading a model version: the encrypted blob is decrypted on a blocking thread into a small
//! bounded channel that feeds the response body, so memory stays bounded whatever the model's
//! size. The plaintext's SHA-256 is checked against the digest recorded at upload while it
//! streams; the last chunk is held back until it matches, and a mismatch aborts the body (the
//! client sees a broken transfer, never a complete file) and logs an error: the blob was replaced.

use std::io::{self, BufReader, Write};
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use warden_integrity::crypt::{CryptError, DecryptOptions, HeaderKind, decrypt_stream};

use super::catalog::{self, ModelVersion};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::state::AppState;

/// Bytes per body chunk.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the decrypting thread and the connection.
const IN_FLIGHT: usize = 4;

/// Checks that `version` of the model may be downloaded (it exists and is not quarantined),
/// records the download for the mass-download detector, and streams the decrypted file.
pub async fn download(app: &AppState, caller: &Caller, asset_id: &str, version: &str) -> ApiResult<Response> {
    let stored = {
        let mut conn = app.store.read.acquire().await?;
        let model = catalog::model_asset(&mut conn, asset_id).await?;
        let stored = catalog::existing_version(&mut conn, &model, version).await?;
        if stored.quarantined {
            return Err(ApiError::Conflict(format!(
                "version `{}` of `{}` is quarantined ({}): downloads are refused until a security engineer releases it",
                stored.version, model.name, stored.quarantine_reason
            )));
        }
        stored
    };
    crate::alerts::download(app, caller, asset_id, &stored.version).await?;
    app.metrics.event("registry.download");
    Ok(stream(app.clone(), stored))
}

/// The response that streams `version`'s plaintext.
fn stream(app: AppState, version: ModelVersion) -> Response {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
    let headers = headers_for(&version);
    tokio::task::spawn_blocking(move || decrypt_into(&app, &version, tx));
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().extend(headers);
    response
}

fn headers_for(version: &ModelVersion) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&version.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&version.sha256) {
        headers.insert("x-warden-sha256", value);
    }
    if let Ok(value) = HeaderValue::from_str(&version.size.to_string()) {
        headers.insert("x-warden-size", value);
    }
    headers
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 form.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if c.is_ascii_alphanumeric() || "._-+ ()".contains(c) { c } else { '_' }).collect();
    let exact: String = url::form_urlencoded::byte_serialize(filename.as_bytes()).collect::<String>().replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

/// Sends decrypted chunks into the channel, hashing them; holds the last one back until the digest
/// and size match the upload's.
struct Verifying {
    tx: mpsc::Sender<io::Result<Bytes>>,
    pending: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

impl Write for Verifying {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        if !self.pending.is_empty() && self.pending.len() + buf.len() > CHUNK {
            let full = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
            self.tx.blocking_send(Ok(Bytes::from(full))).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        }
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn decrypt_into(app: &AppState, version: &ModelVersion, tx: mpsc::Sender<io::Result<Bytes>>) {
    let path = app.config.data_dir.join(&version.blob);
    let mut sink = Verifying { tx: tx.clone(), pending: Vec::with_capacity(CHUNK), hasher: Sha256::new(), size: 0 };
    let outcome = open_blob(app, &path, &mut sink);
    let failure = match outcome {
        Err(err) if sink.tx.is_closed() => {
            tracing::debug!(%err, version = %version.id, "download abandoned by the client");
            return;
        }
        Err(err) => format!("cannot decrypt `{}`: {err}", path.display()),
        Ok(()) => {
            let digest = hex::encode(std::mem::take(&mut sink.hasher).finalize());
            if digest == version.sha256 && i64::try_from(sink.size).ok() == Some(version.size) {
                let _ = tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut sink.pending))));
                return;
            }
            format!(
                "blob `{}` decrypts to {} bytes with SHA-256 {digest}, but the upload had {} bytes with {}: the blob was replaced or tampered with",
                path.display(),
                sink.size,
                version.size,
                version.sha256
            )
        }
    };
    tracing::error!(model = %version.asset_id, version = %version.version, "download aborted: {failure}");
    let _ = tx.blocking_send(Err(io::Error::other("the stored model failed its integrity check; the download was aborted")));
}

fn open_blob(app: &AppState, path: &Path, sink: &mut Verifying) -> Result<(), CryptError> {
    let file = std::fs::File::open(path).map_err(|e| CryptError::from(e).at(path))?;
    let identity = app.keys.blob_identity().clone();
    let mut identities = move |kind: HeaderKind| -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError> {
        match kind {
            HeaderKind::Recipients => Ok(vec![Box::new(identity.clone())]),
            HeaderKind::Passphrase => Err(CryptError::NoMatchingIdentity),
        }
    };
    decrypt_stream(BufReader::new(file), sink, &mut identities, &DecryptOptions::default()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_keeps_names_exact_and_headers_safe() {
        assert_eq!(content_disposition("model.safetensors"), "attachment; filename=\"model.safetensors\"; filename*=UTF-8''model.safetensors");
        let odd = content_disposition("mödel \"v2\".bin");
        assert!(odd.starts_with("attachment; filename=\"m_del _v2_.bin\""), "{odd}");
        assert!(odd.ends_with("filename*=UTF-8''m%C3%B6del%20%22v2%22.bin"), "{odd}");
    }
}
