//! Files and directory trees. A file becomes `<name>.age`; a directory becomes a mirrored tree
//! of standalone `.age` files (any one of them opens with the `age` CLI). Outputs are built in a
//! temporary file or directory beside the target and renamed into place only once complete, so
//! a failure (wrong key, tampered chunk, full disk) leaves nothing behind, and the input is
//! never the output.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile, TempDir};

use super::keys::DecryptKeys;
use super::{CryptError, DecryptOptions, EncryptOptions, decrypt_stream, encrypt_stream};

/// The suffix of encrypted files.
pub const AGE_SUFFIX: &str = ".age";

/// What an encryption or decryption produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file or directory written.
    pub output: PathBuf,
    /// Files encrypted or decrypted.
    pub files: usize,
    /// Plaintext bytes.
    pub bytes: u64,
}

/// Whether an existing output may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Refuse when the output exists.
    #[default]
    Never,
    /// Replace it (`--force`).
    Replace,
}

/// The default output of `warden encrypt PATH`: `PATH.age`.
pub fn default_encrypted_name(input: &Path) -> Result<PathBuf, CryptError> {
    let name = input.file_name().ok_or_else(|| CryptError::NoOutputName(input.to_owned()))?;
    let mut name = name.to_os_string();
    name.push(AGE_SUFFIX);
    Ok(input.with_file_name(name))
}

/// The default output of `warden decrypt PATH.age`: `PATH`.
pub fn default_decrypted_name(input: &Path) -> Result<PathBuf, CryptError> {
    strip_age_suffix(input).ok_or_else(|| CryptError::NoOutputName(input.to_owned()))
}

fn strip_age_suffix(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(AGE_SUFFIX).filter(|stem| !stem.is_empty())?;
    Some(path.with_file_name(stem))
}

/// Encrypts a file or directory to `recipients`.
pub fn encrypt_path(input: &Path, output: &Path, recipients: &[&dyn age::Recipient], options: &EncryptOptions, overwrite: Overwrite) -> Result<Outcome, CryptError> {
    let is_dir = check_paths(input, output, overwrite)?;
    let encrypt_one = |from: &Path, to: &File| -> Result<u64, CryptError> {
        let reader = File::open(from)?;
        encrypt_stream(recipients, reader, to, options)
    };
    if is_dir {
        let rename = |rel: &Path| {
            let mut name = rel.as_os_str().to_os_string();
            name.push(AGE_SUFFIX);
            Ok(PathBuf::from(name))
        };
        write_tree(input, output, overwrite, 0o755, &rename, &mut |from, to| encrypt_one(from, to))
    } else {
        let bytes = write_file(output, overwrite, 0o644, &mut |to| encrypt_one(input, to))?;
        Ok(Outcome { output: output.to_owned(), files: 1, bytes })
    }
}

/// Decrypts a file or a directory of `.age` files.
pub fn decrypt_path(input: &Path, output: &Path, keys: &mut DecryptKeys<'_>, options: &DecryptOptions, overwrite: Overwrite) -> Result<Outcome, CryptError> {
    let is_dir = check_paths(input, output, overwrite)?;
    let mut decrypt_one = |from: &Path, to: &File| -> Result<u64, CryptError> {
        let reader = File::open(from)?;
        decrypt_stream(reader, to, &mut |kind| keys.identities_for(kind), options)
    };
    if is_dir {
        let rename = |rel: &Path| strip_age_suffix(rel).ok_or_else(|| CryptError::NotAgeFile(rel.to_owned()));
        // Plaintext trees stay private to the user until they choose otherwise.
        write_tree(input, output, overwrite, 0o700, &rename, &mut decrypt_one)
    } else {
        let bytes = write_file(output, overwrite, 0o600, &mut |to| decrypt_one(input, to))?;
        Ok(Outcome { output: output.to_owned(), files: 1, bytes })
    }
}

/// Refuses an output that is the input, inside it, or holding it, and an existing output without
/// `--force`. Returns whether the input is a directory.
fn check_paths(input: &Path, output: &Path, overwrite: Overwrite) -> Result<bool, CryptError> {
    // The input named on the command line may be a symlink; links inside a tree are refused.
    let meta = fs::metadata(input).map_err(|e| CryptError::from(e).at(input))?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(CryptError::NotRegular(input.to_owned()));
    }
    let is_dir = meta.is_dir();
    let same = || CryptError::OutputIsInput { input: input.to_owned(), output: output.to_owned() };
    let input_real = fs::canonicalize(input).map_err(|e| CryptError::from(e).at(input))?;
    let output_real = resolve_output(output)?;
    if output_real == input_real || output_real.starts_with(&input_real) || input_real.starts_with(&output_real) {
        return Err(same());
    }
    if fs::symlink_metadata(output).is_ok() && overwrite == Overwrite::Never {
        return Err(CryptError::OutputExists(output.to_owned()));
    }
    Ok(is_dir)
}

/// The absolute path `output` would have, following symlinks in its existing parent.
fn resolve_output(output: &Path) -> Result<PathBuf, CryptError> {
    if let Ok(real) = fs::canonicalize(output) {
        return Ok(real);
    }
    let parent = parent_dir(output);
    let parent_real = fs::canonicalize(parent).map_err(|e| CryptError::from(e).at(parent))?;
    let name = output.file_name().ok_or_else(|| CryptError::NoOutputName(output.to_owned()))?;
    Ok(parent_real.join(name))
}

fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes one file through a temporary file in the target directory, synced before the rename.
fn write_file(output: &Path, overwrite: Overwrite, mode: u32, fill: &mut dyn FnMut(&File) -> Result<u64, CryptError>) -> Result<u64, CryptError> {
    let temp = temp_file_for(output)?;
    let bytes = fill(temp.as_file())?;
    set_mode(temp.path(), mode)?;
    temp.as_file().sync_all()?;
    match overwrite {
        Overwrite::Replace => temp.persist(output).map_err(|e| CryptError::from(e.error).at(output))?,
        Overwrite::Never => temp.persist_noclobber(output).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists { CryptError::OutputExists(output.to_owned()) } else { CryptError::from(e.error).at(output) }
        })?,
    };
    sync_dir(parent_dir(output));
    Ok(bytes)
}

fn temp_file_for(output: &Path) -> Result<NamedTempFile, CryptError> {
    let dir = parent_dir(output);
    Builder::new().prefix(".warden-").suffix(".partial").tempfile_in(dir).map_err(|e| CryptError::from(e).at(dir))
}

/// Mirrors the tree under `input` into a temporary directory beside `output`, then renames it
/// into place. `rename` maps a relative file path to its output name.
fn write_tree(
    input: &Path,
    output: &Path,
    overwrite: Overwrite,
    dir_mode: u32,
    rename: &dyn Fn(&Path) -> Result<PathBuf, CryptError>,
    convert: &mut dyn FnMut(&Path, &File) -> Result<u64, CryptError>,
) -> Result<Outcome, CryptError> {
    let parent = parent_dir(output);
    let temp: TempDir = Builder::new().prefix(".warden-").suffix(".partial").tempdir_in(parent).map_err(|e| CryptError::from(e).at(parent))?;
    let mut outcome = Outcome { output: output.to_owned(), files: 0, bytes: 0 };
    let walk = walkdir::WalkDir::new(input).follow_links(false).sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().map(Path::to_owned).unwrap_or_else(|| input.to_owned());
            CryptError::from(std::io::Error::other(e.to_string())).at(path)
        })?;
        let rel = entry.path().strip_prefix(input).expect("walkdir yields paths under its root");
        let kind = entry.file_type();
        if kind.is_symlink() {
            return Err(CryptError::Symlink(entry.path().to_owned()));
        } else if kind.is_dir() {
            let dir = temp.path().join(rel);
            fs::create_dir_all(&dir).map_err(|e| CryptError::from(e).at(&dir))?;
            set_mode(&dir, dir_mode)?;
        } else if kind.is_file() {
            let target = temp.path().join(rename(rel)?);
            let file = File::create_new(&target).map_err(|e| CryptError::from(e).at(&target))?;
            tracing::info!(file = %entry.path().display(), "processing");
            outcome.bytes += convert(entry.path(), &file).map_err(|e| e.at(entry.path()))?;
            file.sync_all()?;
            outcome.files += 1;
        } else {
            return Err(CryptError::NotRegular(entry.path().to_owned()));
        }
    }
    put_dir_in_place(temp, output, overwrite)?;
    Ok(outcome)
}

/// Renames the finished temporary tree to `output`, moving an existing one aside first (with
/// `--force`) and restoring it if the rename fails.
fn put_dir_in_place(temp: TempDir, output: &Path, overwrite: Overwrite) -> Result<(), CryptError> {
    let parent = parent_dir(output);
    let existing = fs::symlink_metadata(output).ok();
    if existing.is_some() && overwrite == Overwrite::Never {
        return Err(CryptError::OutputExists(output.to_owned()));
    }
    let aside = match &existing {
        Some(meta) if meta.is_dir() => {
            let aside = Builder::new().prefix(".warden-old-").tempdir_in(parent).map_err(|e| CryptError::from(e).at(parent))?.keep();
            fs::remove_dir(&aside)?;
            fs::rename(output, &aside).map_err(|e| CryptError::from(e).at(output))?;
            Some(aside)
        }
        Some(_) => {
            fs::remove_file(output).map_err(|e| CryptError::from(e).at(output))?;
            None
        }
        None => None,
    };
    let built = temp.keep();
    if let Err(e) = fs::rename(&built, output) {
        if let Some(aside) = &aside {
            let _ = fs::rename(aside, output);
        }
        let _ = fs::remove_dir_all(&built);
        return Err(CryptError::from(e).at(output));
    }
    if let Some(aside) = aside {
        fs::remove_dir_all(&aside).map_err(|e| CryptError::from(e).at(&aside))?;
    }
    sync_dir(parent);
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), CryptError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| CryptError::from(e).at(path))
}

/// Makes a rename durable; some filesystems refuse to sync directories, which is not an error.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_add_and_strip_the_suffix() {
        assert_eq!(default_encrypted_name(Path::new("m/model.bin")).unwrap(), Path::new("m/model.bin.age"));
        assert_eq!(default_decrypted_name(Path::new("m/model.bin.age")).unwrap(), Path::new("m/model.bin"));
        assert!(default_decrypted_name(Path::new("m/model.bin")).is_err());
        assert!(default_decrypted_name(Path::new(".age")).is_err());
    }

    #[test]
    fn output_inside_input_or_equal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.bin");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(check_paths(&file, &file, Overwrite::Replace), Err(CryptError::OutputIsInput { .. })));
        assert!(matches!(check_paths(dir.path(), &dir.path().join("out"), Overwrite::Replace), Err(CryptError::OutputIsInput { .. })));
        assert!(matches!(check_paths(&file, dir.path(), Overwrite::Replace), Err(CryptError::OutputIsInput { .. })));
        fs::write(dir.path().join("b.age"), b"y").unwrap();
        assert!(matches!(check_paths(&file, &dir.path().join("b.age"), Overwrite::Never), Err(CryptError::OutputExists(_))));
    }
}
