//! Key generation: age X25519 identities in the `age-keygen` file format, and ECDSA P-256/P-384
//! signing keys as PKCS#8 PEM (private) and SPKI PEM (public), the formats `model_signing` and
//! OpenSSL read. Key files are created atomically, private ones with mode 0600, and an existing
//! key is never replaced unless asked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use age::secrecy::ExposeSecret;
use pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use tempfile::Builder;
use zeroize::Zeroizing;

use super::CryptError;
use super::files::Overwrite;

/// A new age identity: the file text (secret) and its public recipient.
pub struct AgeKeyPair {
    /// The identity file: `# created:`, `# public key:` and the `AGE-SECRET-KEY-1...` line.
    pub identity_file: Zeroizing<String>,
    /// The `age1...` recipient.
    pub recipient: String,
}

/// Generates an age X25519 identity in the `age-keygen` format.
pub fn age_key_pair(now: SystemTime) -> AgeKeyPair {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = identity.to_string();
    let identity_file = Zeroizing::new(format!("# created: {}\n# public key: {recipient}\n{}\n", rfc3339(now), secret.expose_secret()));
    AgeKeyPair { identity_file, recipient }
}

/// Curves for signing keys (the OMS `key` method accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (ECDSA with SHA-256).
    P256,
    /// NIST P-384 (ECDSA with SHA-384).
    P384,
}

/// A new signing key pair as PEM text.
pub struct SigningKeyPair {
    /// PKCS#8 `-----BEGIN PRIVATE KEY-----`.
    pub private_pem: Zeroizing<String>,
    /// SPKI `-----BEGIN PUBLIC KEY-----`.
    pub public_pem: String,
}

/// Generates an ECDSA key pair on `curve` from the operating system's random generator.
pub fn signing_key_pair(curve: Curve) -> Result<SigningKeyPair, CryptError> {
    let fail = |e: &dyn std::fmt::Display| CryptError::Keygen(e.to_string());
    match curve {
        Curve::P256 => {
            let key = random_scalar(32, |bytes| p256::SecretKey::from_slice(bytes).ok())?;
            let private_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
            let public_pem = key.public_key().to_public_key_pem(LineEnding::LF).map_err(|e| fail(&e))?;
            Ok(SigningKeyPair { private_pem: Zeroizing::new(private_pem.to_string()), public_pem })
        }
        Curve::P384 => {
            let key = random_scalar(48, |bytes| p384::SecretKey::from_slice(bytes).ok())?;
            let private_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
            let public_pem = key.public_key().to_public_key_pem(LineEnding::LF).map_err(|e| fail(&e))?;
            Ok(SigningKeyPair { private_pem: Zeroizing::new(private_pem.to_string()), public_pem })
        }
    }
}

/// Draws random field-sized strings until one is a valid non-zero scalar (rejection sampling;
/// for these curves a retry is needed with probability below 2^-32).
fn random_scalar<K>(size: usize, parse: impl Fn(&[u8]) -> Option<K>) -> Result<K, CryptError> {
    let mut bytes = Zeroizing::new(vec![0u8; size]);
    for _ in 0..64 {
        getrandom::fill(&mut bytes).map_err(|e| CryptError::Keygen(format!("no randomness from the OS: {e}")))?;
        if let Some(key) = parse(&bytes) {
            return Ok(key);
        }
    }
    Err(CryptError::Keygen("the random generator kept producing invalid scalars".into()))
}

/// The public key path beside a private key: `key.pem` -> `key.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    private.with_extension("pub")
}

/// One key file to create.
pub struct KeyFile<'a> {
    /// Where it goes.
    pub path: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// Unix mode: 0o600 for private keys, 0o644 for public keys.
    pub mode: u32,
}

/// Writes key files atomically (temporary file, fsync, rename). Without `Overwrite::Replace`,
/// nothing is written when any of them exists, and a file appearing meanwhile is not replaced.
pub fn write_key_files(files: &[KeyFile<'_>], overwrite: Overwrite) -> Result<(), CryptError> {
    if overwrite == Overwrite::Never
        && let Some(existing) = files.iter().find(|f| std::fs::symlink_metadata(f.path).is_ok())
    {
        return Err(CryptError::OutputExists(existing.path.to_owned()));
    }
    for file in files {
        write_key_file(file, overwrite)?;
    }
    Ok(())
}

fn write_key_file(file: &KeyFile<'_>, overwrite: Overwrite) -> Result<(), CryptError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = file.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // tempfile creates 0600 from the start, so a private key is never readable by others.
    let mut temp = Builder::new().prefix(".warden-key-").tempfile_in(dir).map_err(|e| CryptError::from(e).at(dir))?;
    temp.write_all(file.text.as_bytes())?;
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(file.mode))?;
    temp.as_file().sync_all()?;
    let persisted = match overwrite {
        Overwrite::Replace => temp.persist(file.path).map(drop),
        Overwrite::Never => temp.persist_noclobber(file.path).map(drop),
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists { CryptError::OutputExists(file.path.to_owned()) } else { CryptError::from(e.error).at(file.path) }
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a time after 1970.
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661)), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_798_761_599)), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn age_key_file_parses_back_and_names_its_recipient() {
        let pair = age_key_pair(UNIX_EPOCH);
        let lines: Vec<&str> = pair.identity_file.lines().collect();
        assert_eq!(lines[0], "# created: 1970-01-01T00:00:00Z");
        assert_eq!(lines[1], format!("# public key: {}", pair.recipient));
        assert!(lines[2].starts_with("AGE-SECRET-KEY-1"));
        let file = age::IdentityFile::from_buffer(pair.identity_file.as_bytes()).unwrap();
        assert_eq!(file.into_identities().unwrap().len(), 1);
    }

    #[test]
    fn signing_keys_are_pkcs8_and_spki_pem_that_match() {
        use pkcs8::{DecodePrivateKey, DecodePublicKey};
        let pair = signing_key_pair(Curve::P256).unwrap();
        assert!(pair.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let secret = p256::SecretKey::from_pkcs8_pem(&pair.private_pem).unwrap();
        assert_eq!(p256::PublicKey::from_public_key_pem(&pair.public_pem).unwrap(), secret.public_key());
        let pair = signing_key_pair(Curve::P384).unwrap();
        let secret = p384::SecretKey::from_pkcs8_pem(&pair.private_pem).unwrap();
        assert_eq!(p384::PublicKey::from_public_key_pem(&pair.public_pem).unwrap(), secret.public_key());
    }

    #[test]
    fn key_files_are_private_and_never_clobbered() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.pem");
        let public = public_key_path(&key);
        let files = [KeyFile { path: &key, text: "secret", mode: 0o600 }, KeyFile { path: &public, text: "public", mode: 0o644 }];
        write_key_files(&files, Overwrite::Never).unwrap();
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&public).unwrap().permissions().mode() & 0o777, 0o644);
        let again = [KeyFile { path: &key, text: "other", mode: 0o600 }];
        assert!(matches!(write_key_files(&again, Overwrite::Never), Err(CryptError::OutputExists(_))));
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "secret");
        write_key_files(&again, Overwrite::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "other");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }
}
