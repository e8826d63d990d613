//! The OMS manifest: every file (or file shard) of a model with its digest, plus how it was
//! serialised. Ordering, names and the root digest follow model_signing byte for byte:
//! entries sorted by path components then offsets, shard names `path:start:end`, shard
//! resources' algorithm `sha256-sharded-<size>`, and the subject digest is SHA-256 over the
//! concatenated raw digests in manifest order.

use std::collections::BTreeMap;

use crate::digest::{HashAlgorithm, to_hex};
use crate::walk::compare_names;

/// How files are cut into manifest entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One entry per file.
    Files,
    /// One entry per `shard_size` bytes of each file (empty files have no entry).
    Shards {
        /// Bytes per shard (the last shard of a file may be shorter).
        shard_size: u64,
    },
}

/// model_signing's default shard size (1 GB, decimal).
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

/// The `serialization` section of the predicate: everything needed to recompute the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialization {
    /// Files or shards.
    pub method: Method,
    /// The digest algorithm of every entry.
    pub hash: HashAlgorithm,
    /// Whether symbolic links were followed (warden always writes `false`).
    pub allow_symlinks: bool,
    /// Model-relative paths left out of the manifest.
    pub ignore_paths: Vec<String>,
}

impl Serialization {
    /// The `algorithm` string of each resource: the hash name, or `<hash>-sharded-<size>`.
    pub fn resource_algorithm(&self) -> String {
        match self.method {
            Method::Files => self.hash.name().to_owned(),
            Method::Shards { shard_size } => format!("{}-sharded-{shard_size}", self.hash.name()),
        }
    }
}

/// What a manifest entry covers: a whole file, or the byte range `start..end` of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// Model-relative POSIX path.
    pub path: String,
    /// Byte range for shard entries.
    pub range: Option<(u64, u64)>,
}

impl ResourceKey {
    /// The resource `name` as written in the manifest.
    pub fn name(&self) -> String {
        match self.range {
            None => self.path.clone(),
            Some((start, end)) => format!("{}:{start}:{end}", self.path),
        }
    }

    /// Parses a resource name for `method`; shard names split at the last two `:`.
    pub fn parse(name: &str, method: Method) -> Option<Self> {
        match method {
            Method::Files => Some(ResourceKey { path: name.to_owned(), range: None }),
            Method::Shards { .. } => {
                let mut parts = name.rsplitn(3, ':');
                let end = parts.next()?.parse().ok()?;
                let start = parts.next()?.parse().ok()?;
                let path = parts.next()?;
                (start < end).then(|| ResourceKey { path: path.to_owned(), range: Some((start, end)) })
            }
        }
    }

    /// model_signing's order: path components, then start, then end.
    pub fn compare(&self, other: &Self) -> std::cmp::Ordering {
        compare_names(&self.path, &other.path).then_with(|| self.range.cmp(&other.range))
    }
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// What it covers.
    pub key: ResourceKey,
    /// The raw digest.
    pub digest: Vec<u8>,
}

/// A model's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The model's name (informative only; not compared on verification).
    pub model_name: String,
    /// How it was serialised.
    pub serialization: Serialization,
    /// The entries, in model_signing's order.
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// Builds a manifest, sorting the entries into model_signing's order.
    pub fn new(model_name: String, serialization: Serialization, mut resources: Vec<Resource>) -> Self {
        resources.sort_by(|a, b| a.key.compare(&b.key));
        Manifest { model_name, serialization, resources }
    }

    /// SHA-256 over the concatenated raw digests, in manifest order: the statement's subject.
    pub fn root_digest(&self) -> Vec<u8> {
        let mut hasher = HashAlgorithm::Sha256.hasher();
        for r in &self.resources {
            hasher.update(&r.digest);
        }
        hasher.finish()
    }

    /// The entries grouped by file path, for reporting which files differ.
    pub fn by_path(&self) -> BTreeMap<&str, Vec<&Resource>> {
        let mut map: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
        for r in &self.resources {
            map.entry(r.key.path.as_str()).or_default().push(r);
        }
        map
    }

    /// Each entry as (name, hex digest), in manifest order.
    pub fn resource_lines(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.resources.iter().map(|r| (r.key.name(), to_hex(&r.digest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, range: Option<(u64, u64)>) -> ResourceKey {
        ResourceKey { path: path.into(), range }
    }

    #[test]
    fn shard_names_round_trip_and_reject_garbage() {
        let shards = Method::Shards { shard_size: 10 };
        let k = key("dir/a:b.bin", Some((10, 20)));
        assert_eq!(k.name(), "dir/a:b.bin:10:20");
        assert_eq!(ResourceKey::parse(&k.name(), shards), Some(k));
        assert_eq!(ResourceKey::parse("a.bin:5", shards), None);
        assert_eq!(ResourceKey::parse("a.bin:x:5", shards), None);
        assert_eq!(ResourceKey::parse("a.bin:5:5", shards), None);
    }

    #[test]
    fn entries_sort_like_model_signing() {
        let ser = Serialization { method: Method::Shards { shard_size: 2 }, hash: HashAlgorithm::Sha256, allow_symlinks: false, ignore_paths: vec![] };
        let m = Manifest::new(
            "m".into(),
            ser,
            vec![
                Resource { key: key("a-b", Some((0, 2))), digest: vec![1] },
                Resource { key: key("a/b", Some((10, 12))), digest: vec![2] },
                Resource { key: key("a/b", Some((2, 4))), digest: vec![3] },
            ],
        );
        let names: Vec<_> = m.resources.iter().map(|r| r.key.name()).collect();
        assert_eq!(names, vec!["a/b:2:4", "a/b:10:12", "a-b:0:2"]);
        assert_eq!(m.root_digest(), HashAlgorithm::Sha256.digest(&[3, 2, 1]));
    }
}
