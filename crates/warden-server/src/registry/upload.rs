//! Uploading a model version: the bytes are streamed (never held whole in memory) to a private
//! temporary file under `<data dir>/tmp/` while their SHA-256 is computed and the size limit
//! enforced; the file is then scanned with `warden-scan`, encrypted to the server's age recipient
//! into `<data dir>/blobs/<asset>/<version id>.age`, and the plaintext deleted. The version row,
//! its scan findings, its first stage-history row and the audit entry are written in one
//! transaction. The API (raw body) and the browser form (multipart) share [`ingest`].

use std::fs;
use std::io::{BufReader, BufWriter};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use warden_core::{FileStatus, Finding, Severity};
use warden_integrity::crypt::{EncryptOptions, encrypt_stream};
use warden_scan::ScanSettings;

use super::catalog::{self, Cause, ModelVersion, NewStageEvent, Stage};
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::findings::{self, Attach, Source};
use crate::gate::Caller;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};

/// What the client asks to store.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    /// The model asset.
    pub asset_id: String,
    /// The version string (`1.2.0`).
    pub version: String,
    /// The file's name as uploaded.
    pub filename: String,
}

/// The answer to an upload: the stored version and what its scan found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    /// The new version.
    #[serde(flatten)]
    pub version: ModelVersion,
    /// The format the scanner recognised (`pickle`, `safetensors`, `pytorch-zip`, `unknown`...).
    pub format: String,
    /// How many findings the scan attached.
    pub findings: usize,
}

/// Version strings: 1 to 64 characters of letters, digits and `._+-`.
pub fn validate_version(version: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&version.len()) && version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "`{}` is not a version: use 1 to 64 letters, digits, `.`, `_`, `+` or `-` (e.g. 1.2.0)",
            version.chars().take(80).collect::<String>()
        )))
    }
}

/// File names: a plain name (no `/`, `\\` or `..`, no control characters), at most 255 bytes.
pub fn validate_filename(name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::BadRequest("give the file's name (`filename`, 1 to 255 bytes)".into()));
    }
    if name.contains('/') || name.contains('\\') || name.contains("..") || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "`{}` is not a plain file name: no `/`, `\\`, `..` or control characters",
            name.escape_default()
        )));
    }
    Ok(())
}

/// Asset ids name a directory of blobs: they must be plain (UUID-like) to be used in a path.
fn path_safe_id(id: &str) -> ApiResult<&str> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(id)
    } else {
        Err(ApiError::BadRequest(format!("asset id `{}` cannot name a blob directory", id.escape_default())))
    }
}

/// Checks everything that can be checked before reading the body, so a refused upload costs nothing.
pub async fn precheck(app: &AppState, request: &UploadRequest) -> ApiResult<()> {
    validate_version(&request.version)?;
    validate_filename(&request.filename)?;
    path_safe_id(&request.asset_id)?;
    let mut conn = app.store.read.acquire().await?;
    let model = catalog::model_asset(&mut conn, &request.asset_id).await?;
    check_open(&model)?;
    if catalog::version(&mut conn, &model.id, &request.version).await?.is_some() {
        return Err(duplicate(&model.name, &request.version));
    }
    Ok(())
}

fn check_open(model: &catalog::ModelAsset) -> ApiResult<()> {
    if model.frozen {
        return Err(ApiError::Conflict("uploads and promotions of this model are frozen".into()));
    }
    if model.retired {
        return Err(ApiError::Conflict(format!("model `{}` is retired: it takes no new versions", model.name)));
    }
    Ok(())
}

fn duplicate(model: &str, version: &str) -> ApiError {
    ApiError::Conflict(format!("model `{model}` already has a version `{version}`; versions are immutable, upload under a new version string"))
}

/// The plaintext of an upload on disk, with its size and digest. The file is removed when this is
/// dropped.
#[derive(Debug)]
pub struct Received {
    temp: tempfile::TempPath,
    size: u64,
    sha256: String,
}

/// `<data dir>/<name>`, created private (0700) if missing.
fn private_dir(base: &Path, parts: &[&str]) -> ApiResult<PathBuf> {
    let mut dir = base.to_path_buf();
    for part in parts {
        dir.push(part);
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| ApiError::Internal(format!("cannot create `{}`: {e}", dir.display())))?;
    Ok(dir)
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> ApiError + '_ {
    move |e| ApiError::Internal(format!("{what}: {e}"))
}

/// Streams `body` into a private temporary file, hashing it and refusing more than
/// `max_upload_bytes` (413; the partial file is removed).
pub async fn receive<S, E>(app: &AppState, body: S) -> ApiResult<Received>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let max = app.config.max_upload_bytes;
    let dir = private_dir(&app.config.data_dir, &["tmp"])?;
    let temp = tempfile::Builder::new().prefix("upload-").tempfile_in(&dir).map_err(io_error("cannot create an upload file"))?;
    let (file, temp) = temp.into_parts();
    let mut out = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the upload was interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(io_error("cannot write the upload"))?;
    }
    out.flush().await.map_err(io_error("cannot write the upload"))?;
    drop(out);
    if size == 0 {
        return Err(ApiError::BadRequest("the upload is empty: send the model file as the request body".into()));
    }
    Ok(Received { temp, size, sha256: hex::encode(hasher.finalize()) })
}

/// The 413 of an upload over the limit.
pub fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "the upload is larger than this server accepts ({max} bytes, {}); ask the operator to raise --max-upload-bytes",
        catalog::human_size(i64::try_from(max).unwrap_or(i64::MAX))
    ))
}

/// Scans, encrypts and records a received upload. Runs as its own task, so a client that goes
/// away after sending the last byte does not leave the work half done.
pub async fn ingest(app: &AppState, caller: &Caller, request: UploadRequest, received: Received) -> ApiResult<Uploaded> {
    let task = tokio::spawn(store_version(app.clone(), caller.clone(), request, received));
    task.await.map_err(|e| ApiError::Internal(format!("the upload task failed: {e}")))?
}

/// What the scan of one upload found.
struct ScanSummary {
    format: String,
    status: &'static str,
    max: Option<Severity>,
    findings: Vec<Finding>,
}

fn scan(path: &Path, filename: &str) -> ScanSummary {
    let (record, mut findings) = warden_scan::scan_file(path, &ScanSettings::default());
    // The temporary path means nothing to anyone: findings name the uploaded file.
    for finding in &mut findings {
        finding.location.path = filename.to_owned();
    }
    let max = findings.iter().map(|f| f.severity).max();
    let status = match record.status {
        FileStatus::Error => "error",
        FileStatus::Skipped => "unrecognised",
        FileStatus::Scanned if max.is_some_and(|s| s >= Severity::Medium) => "flagged",
        FileStatus::Scanned => "clean",
    };
    ScanSummary { format: record.format, status, max, findings }
}

/// Encrypts `plain` into `<blob dir>/<version id>.age` (temporary file in the same directory,
/// fsync, rename, fsync of the directory); returns the final path.
fn seal_blob(app: &AppState, plain: &Path, blob_dir: &Path, version_id: &str, expected_size: u64) -> ApiResult<PathBuf> {
    let input = fs::File::open(plain).map_err(io_error("cannot reopen the upload"))?;
    let mut sealed = tempfile::Builder::new().prefix(".blob-").tempfile_in(blob_dir).map_err(io_error("cannot create the blob"))?;
    let recipient: &dyn age::Recipient = &app.keys.blob_recipient;
    let size = encrypt_stream(&[recipient], BufReader::new(input), BufWriter::new(sealed.as_file_mut()), &EncryptOptions::default())
        .map_err(|e| ApiError::Internal(format!("cannot encrypt the upload: {e}")))?;
    if size != expected_size {
        return Err(ApiError::Internal(format!("the upload changed on disk while it was encrypted ({size} bytes, {expected_size} received)")));
    }
    sealed.as_file().sync_all().map_err(io_error("cannot sync the blob"))?;
    let target = blob_dir.join(format!("{version_id}.age"));
    sealed.persist_noclobber(&target).map_err(|e| ApiError::Internal(format!("cannot store the blob: {}", e.error)))?;
    fs::File::open(blob_dir).and_then(|d| d.sync_all()).map_err(io_error("cannot sync the blob directory"))?;
    Ok(target)
}

/// Removes a stored blob unless disarmed (when the version row did not make it to the database).
struct BlobGuard(Option<PathBuf>);

impl Drop for BlobGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && let Err(err) = fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), %err, "could not remove the blob of a failed upload");
        }
    }
}

async fn store_version(app: AppState, caller: Caller, request: UploadRequest, received: Received) -> ApiResult<Uploaded> {
    let asset_id = path_safe_id(&request.asset_id)?.to_owned();
    let version_id = new_id();
    let blob_dir = private_dir(&app.config.data_dir, &["blobs", &asset_id])?;
    let (summary, blob_path, received) = {
        let app = app.clone();
        let filename = request.filename.clone();
        let version_id = version_id.clone();
        tokio::task::spawn_blocking(move || {
            let summary = scan(&received.temp, &filename);
            let blob = seal_blob(&app, &received.temp, &blob_dir, &version_id, received.size);
            (summary, blob, received)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("the scan or encryption task failed: {e}")))?
    };
    let guard = BlobGuard(Some(blob_path?));
    // The plaintext is gone before anything else happens.
    let Received { temp, size, sha256 } = received;
    temp.close().map_err(io_error("cannot remove the plaintext upload"))?;

    let blob = format!("blobs/{asset_id}/{version_id}.age");
    let who = caller.principal.name.clone();
    let mut tx = app.store.begin().await?;
    let model = catalog::lock_model(&mut tx, &asset_id).await?;
    check_open(&model)?;
    let size = i64::try_from(size).map_err(|_| ApiError::TooLarge("the upload is too large".into()))?;
    let inserted = sqlx::query(
        "INSERT INTO model_versions (id, asset_id, version, filename, size, sha256, blob, stage, quarantined, quarantine_reason, scan_status, max_severity, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, '', $9, $10, $11, $12)",
    )
    .bind(&version_id)
    .bind(&asset_id)
    .bind(&request.version)
    .bind(&request.filename)
    .bind(size)
    .bind(&sha256)
    .bind(&blob)
    .bind(Stage::Development.as_str())
    .bind(summary.status)
    .bind(summary.max.map(Severity::as_str))
    .bind(&who)
    .bind(now_ms())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => return Err(duplicate(&model.name, &request.version)),
        Err(err) => return Err(err.into()),
    }
    let event = NewStageEvent {
        asset_id: &asset_id,
        version_id: &version_id,
        from: "",
        to: Stage::Development,
        cause: Cause::Upload,
        actor: &who,
        reason: "",
        previous_version_id: None,
    };
    catalog::record_stage(&mut tx, &event).await?;
    crate::playbooks::remember_upload_key(&mut tx, &caller, &version_id).await?;
    let attach = Attach { asset_id: Some(&asset_id), version_id: Some(&version_id), subject: "" };
    let mut finding_ids = Vec::with_capacity(summary.findings.len());
    for finding in &summary.findings {
        finding_ids.push(findings::insert(&mut tx, Source::RegistryScan, &attach, finding).await?);
    }
    let change = Change::create("registry.upload", "model_version", &version_id)
        .named(format!("{} {}", model.name, request.version))
        .also("asset", &asset_id)
        .detail(json!({
            "version": request.version,
            "filename": request.filename,
            "size": size,
            "sha256": sha256,
            "format": summary.format,
            "scan_status": summary.status,
            "max_severity": summary.max.map(Severity::as_str),
            "findings": summary.findings.len(),
        }));
    app.audit.change(&mut tx, &caller, change).await?;
    tx.commit().await?;
    let mut guard = guard;
    guard.0 = None;
    app.metrics.event("registry.upload");
    crate::incidents::intake_after_commit(&app, &finding_ids).await;
    let stored = catalog::version_by_id(&mut *app.store.read.acquire().await?, &version_id)
        .await?
        .ok_or_else(|| ApiError::Internal("the new version vanished".into()))?;
    Ok(Uploaded { version: stored, format: summary.format, findings: summary.findings.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_short_plain_strings() {
        for good in ["1", "1.2.0", "2024-05-01", "1.0.0+build.7", "v2_rc1"] {
            assert!(validate_version(good).is_ok(), "{good}");
        }
        for bad in ["", "1 0", "1/2", "../x", "é", &"9".repeat(65)] {
            assert!(validate_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_cannot_leave_their_directory() {
        assert!(validate_filename("model.safetensors").is_ok());
        assert!(validate_filename("weights v2.bin").is_ok());
        for bad in ["", "a/b", "..", "../x", "x\\y", "a\nb", "a..b"] {
            assert!(validate_filename(bad).is_err(), "{bad:?}");
        }
    }
}
