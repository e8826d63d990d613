//! Which files make up a model: a recursive walk that refuses symbolic links and special
//! files, skips ignored paths, and names every file by its POSIX path relative to the model
//! root, as OMS manifests do. A single-file model is named `.`, like model_signing names it.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Paths that model_signing ignores by default (and warden too, unless told otherwise).
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Paths to leave out of a model, relative to its root. A path ignores itself and, when it is
/// a directory, everything under it (model_signing's `is_relative_to` rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreSet {
    paths: Vec<String>,
}

impl IgnoreSet {
    /// Builds a set from relative paths; `./a/`, `a/./b` are normalised, empty entries and
    /// entries that climb out of the model with `..` are dropped (they cannot match anything).
    pub fn new<S: AsRef<str>>(paths: impl IntoIterator<Item = S>) -> Self {
        let mut set = IgnoreSet::default();
        for p in paths {
            set.insert(p.as_ref());
        }
        set
    }

    /// Adds one relative path (normalised as in [`IgnoreSet::new`]).
    pub fn insert(&mut self, path: &str) {
        if let Some(normal) = normalise(path)
            && !self.paths.contains(&normal)
        {
            self.paths.push(normal);
            self.paths.sort();
        }
    }

    /// Whether `rel` (a model-relative POSIX path) is ignored.
    pub fn matches(&self, rel: &str) -> bool {
        self.paths.iter().any(|p| rel == p || (rel.len() > p.len() && rel.starts_with(p.as_str()) && rel.as_bytes()[p.len()] == b'/'))
    }

    /// The normalised paths, sorted.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }
}

/// `a/./b/` -> `a/b`; `None` for an empty path, an absolute one or one using `..`.
fn normalise(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// The model-relative name of `path` inside `root`, if `path` is inside it (used to ignore a
/// signature file written into the model directory).
pub fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    // Resolve `.`, `..` and links in the directories (the file itself may not exist yet).
    let resolve = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).ok();
    let root = resolve(root)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let path = resolve(parent)?.join(path.file_name()?);
    let rel = path.strip_prefix(&root).ok()?;
    let text = rel.to_str()?;
    normalise(text)
}

/// One regular file of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// POSIX path relative to the model root (`.` for a single-file model).
    pub name: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its size when listed.
    pub size: u64,
}

/// Lists the regular files of a model (a file or a directory), sorted by [`compare_names`].
///
/// Refuses symbolic links (anywhere, including the root), special files and non-UTF-8 names.
/// Ignored directories are not descended into.
pub fn list_files(root: &Path, ignore: &IgnoreSet) -> Result<Vec<ModelFile>> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| Error::io(root, e))?;
    if meta.file_type().is_symlink() {
        return Err(Error::Symlink(root.to_path_buf()));
    }
    if meta.is_file() {
        return Ok(vec![ModelFile { name: ".".into(), path: root.to_path_buf(), size: meta.len() }]);
    }
    if !meta.is_dir() {
        return Err(Error::SpecialFile(root.to_path_buf()));
    }
    let mut files = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path = entry.path();
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(Error::NonUtf8Path(path));
            };
            let name = if prefix.is_empty() { file_name.to_owned() } else { format!("{prefix}/{file_name}") };
            if ignore.matches(&name) {
                continue;
            }
            let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if file_type.is_symlink() {
                return Err(Error::Symlink(path));
            } else if file_type.is_dir() {
                pending.push((path, name));
            } else if file_type.is_file() {
                let size = entry.metadata().map_err(|e| Error::io(&path, e))?.len();
                files.push(ModelFile { name, path, size });
            } else {
                return Err(Error::SpecialFile(path));
            }
        }
    }
    files.sort_by(|a, b| compare_names(&a.name, &b.name));
    Ok(files)
}

/// The order model_signing sorts manifest entries in: Python's `PurePosixPath` comparison,
/// component by component (so `a/b` sorts before `a-b`, unlike a plain string comparison).
pub fn compare_names(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// The model name model_signing records: the last path component, or the resolved
/// directory's name when the path ends in `.` or `..`.
pub fn model_name(root: &Path) -> String {
    let direct = root.file_name().and_then(|n| n.to_str()).filter(|n| !n.is_empty() && *n != "..");
    match direct {
        Some(name) => name.to_owned(),
        None => std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_matches_paths_and_their_children_only() {
        let set = IgnoreSet::new(["./.git/", "model.sig", "../outside", "a/./b"]);
        assert_eq!(set.paths(), &[".git", "a/b", "model.sig"]);
        assert!(set.matches(".git"));
        assert!(set.matches(".git/objects/x"));
        assert!(!set.matches(".gitignore"));
        assert!(set.matches("a/b/c"));
        assert!(!set.matches("a/bc"));
    }

    #[test]
    fn names_sort_by_components_like_python_paths() {
        let mut names = vec!["a-b", "a/b", "b", "a", "A"];
        names.sort_by(|a, b| compare_names(a, b));
        assert_eq!(names, vec!["A", "a", "a/b", "a-b", "b"]);
    }

    #[test]
    fn walk_lists_sorted_relative_names_and_skips_ignored_dirs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/.git")).unwrap();
        std::fs::write(dir.path().join("sub/x"), b"1").unwrap();
        std::fs::write(dir.path().join("sub/.git/y"), b"2").unwrap();
        std::fs::write(dir.path().join("a-b"), b"3").unwrap();
        let files = list_files(dir.path(), &IgnoreSet::new(["sub/.git"])).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["a-b", "sub/x"]);
    }

    #[cfg(unix)]
    #[test]
    fn walk_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let err = list_files(dir.path(), &IgnoreSet::default()).unwrap_err();
        assert!(matches!(err, Error::Symlink(_)), "{err}");
    }

    #[test]
    fn signature_inside_model_gets_a_relative_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(relative_inside(dir.path(), &dir.path().join("model.sig")).as_deref(), Some("model.sig"));
        assert_eq!(relative_inside(dir.path(), Path::new("/elsewhere/model.sig")), None);
        let roundabout = dir.path().join("sub/../model.sig");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(relative_inside(dir.path(), &roundabout).as_deref(), Some("model.sig"));
    }
}
