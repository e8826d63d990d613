//! Computing a model's [`Manifest`]: files or shards hashed in parallel on a rayon pool, each
//! read with positioned reads into one bounded buffer per task (never a whole file in memory).
//! BLAKE3 files are hashed with BLAKE3's own multi-threaded tree mode over a memory map.

use std::fs::File;
use std::path::Path;

use rayon::prelude::*;

use crate::digest::HashAlgorithm;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Method, Resource, ResourceKey, Serialization};
use crate::walk::{self, IgnoreSet, ModelFile};

/// Bytes read per positioned read.
const READ_BUFFER: usize = 1 << 20;
/// Files at least this big are hashed with BLAKE3's multi-threaded mode.
const BLAKE3_PARALLEL_MIN: u64 = 4 << 20;

/// How to hash a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashOptions {
    /// Digest algorithm.
    pub hash: HashAlgorithm,
    /// Files or shards.
    pub method: Method,
    /// Paths to leave out, relative to the model root.
    pub ignore: IgnoreSet,
    /// Worker threads (`None`: one per core).
    pub threads: Option<usize>,
}

impl HashOptions {
    /// SHA-256 per file, like model_signing's default, ignoring nothing.
    pub fn new(hash: HashAlgorithm, method: Method) -> Self {
        HashOptions { hash, method, ignore: IgnoreSet::default(), threads: None }
    }
}

/// Hashes the model at `root` (a file or a directory) into a manifest; the manifest records
/// `options.ignore` as its `ignore_paths`.
pub fn hash_model(root: &Path, options: &HashOptions) -> Result<Manifest> {
    if let Method::Shards { shard_size: 0 } = options.method {
        return Err(Error::InvalidOption("the shard size must be at least 1 byte".into()));
    }
    let files = walk::list_files(root, &options.ignore)?;
    let serialization = Serialization {
        method: options.method,
        hash: options.hash,
        allow_symlinks: false,
        ignore_paths: options.ignore.paths().to_vec(),
    };
    let resources = match options.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| Error::InvalidOption(format!("cannot start {n} hashing threads: {e}")))?
            .install(|| hash_files(&files, options)),
        None => hash_files(&files, options),
    }?;
    Ok(Manifest::new(walk::model_name(root), serialization, resources))
}

fn hash_files(files: &[ModelFile], options: &HashOptions) -> Result<Vec<Resource>> {
    match options.method {
        Method::Files => files.par_iter().map(|f| hash_whole_file(f, options.hash)).collect(),
        Method::Shards { shard_size } => {
            let shards = plan_shards(files, shard_size)?;
            shards
                .par_iter()
                .map_init(
                    || vec![0u8; READ_BUFFER],
                    |buf, (file, start, end)| {
                        let digest = hash_range(file, *start, *end, options.hash, buf)?;
                        let key = ResourceKey { path: file.name.clone(), range: Some((*start, *end)) };
                        Ok(Resource { key, digest })
                    },
                )
                .collect()
        }
    }
}

/// Every shard of every file: `[0, s), [s, 2s), ... [k*s, size)`; none for an empty file.
pub fn shard_ranges(size: u64, shard_size: u64) -> impl Iterator<Item = (u64, u64)> {
    let step = shard_size.max(1);
    let count = size.div_ceil(step);
    (0..count).map(move |i| (i * step, (i + 1).saturating_mul(step).min(size)))
}

fn plan_shards(files: &[ModelFile], shard_size: u64) -> Result<Vec<(&ModelFile, u64, u64)>> {
    let mut shards = Vec::new();
    for file in files {
        if file.name.contains(':') {
            return Err(Error::UnshardableName(file.name.clone()));
        }
        shards.extend(shard_ranges(file.size, shard_size).map(|(s, e)| (file, s, e)));
    }
    Ok(shards)
}

fn hash_whole_file(file: &ModelFile, hash: HashAlgorithm) -> Result<Resource> {
    let key = ResourceKey { path: file.name.clone(), range: None };
    let digest = if hash == HashAlgorithm::Blake3 && file.size >= BLAKE3_PARALLEL_MIN {
        let mut hasher = blake3::Hasher::new();
        hasher.update_mmap_rayon(&file.path).map_err(|e| Error::io(&file.path, e))?;
        hasher.finalize().as_bytes().to_vec()
    } else {
        let mut buf = vec![0u8; READ_BUFFER.min(usize::try_from(file.size).unwrap_or(READ_BUFFER)).max(1)];
        hash_range(file, 0, file.size, hash, &mut buf)?
    };
    Ok(Resource { key, digest })
}

/// Hashes bytes `start..end` of `file` with positioned reads into `buf`; the file must still
/// hold those bytes (a file that shrank is an error) and must not have grown past `end` when
/// the range is the whole file.
fn hash_range(file: &ModelFile, start: u64, end: u64, hash: HashAlgorithm, buf: &mut [u8]) -> Result<Vec<u8>> {
    let handle = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let mut hasher = hash.hasher();
    let mut offset = start;
    while offset < end {
        let want = usize::try_from(end - offset).unwrap_or(usize::MAX).min(buf.len());
        let got = read_at(&handle, &mut buf[..want], offset).map_err(|e| Error::io(&file.path, e))?;
        if got == 0 {
            return Err(Error::ChangedWhileHashing(file.path.clone()));
        }
        hasher.update(&buf[..got]);
        offset += got as u64;
    }
    if end == file.size {
        let now = handle.metadata().map_err(|e| Error::io(&file.path, e))?.len();
        if now != file.size {
            return Err(Error::ChangedWhileHashing(file.path.clone()));
        }
    }
    Ok(hasher.finish())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::to_hex;

    #[test]
    fn shards_cover_the_file_exactly() {
        assert_eq!(shard_ranges(0, 10).count(), 0);
        assert_eq!(shard_ranges(25, 10).collect::<Vec<_>>(), vec![(0, 10), (10, 20), (20, 25)]);
        assert_eq!(shard_ranges(20, 10).collect::<Vec<_>>(), vec![(0, 10), (10, 20)]);
    }

    #[test]
    fn files_and_shards_digest_the_right_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big.bin"), &data).unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let files = hash_model(dir.path(), &HashOptions::new(HashAlgorithm::Sha256, Method::Files)).unwrap();
        assert_eq!(files.resources.len(), 2);
        assert_eq!(files.resources[0].digest, HashAlgorithm::Sha256.digest(&data));
        assert_eq!(files.resources[1].digest, HashAlgorithm::Sha256.digest(b""));

        let shards = hash_model(dir.path(), &HashOptions::new(HashAlgorithm::Sha256, Method::Shards { shard_size: 1000 })).unwrap();
        let names: Vec<_> = shards.resources.iter().map(|r| r.key.name()).collect();
        assert_eq!(names, vec!["big.bin:0:1000", "big.bin:1000:2000", "big.bin:2000:2500"]);
        assert_eq!(to_hex(&shards.resources[2].digest), to_hex(&HashAlgorithm::Sha256.digest(&data[2000..])));
    }

    #[test]
    fn blake3_parallel_path_matches_the_streaming_one() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(5u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        std::fs::write(dir.path().join("w"), &data).unwrap();
        let m = hash_model(dir.path(), &HashOptions::new(HashAlgorithm::Blake3, Method::Files)).unwrap();
        assert_eq!(m.resources[0].digest, HashAlgorithm::Blake3.digest(&data));
    }

    #[test]
    fn single_file_model_is_named_dot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        std::fs::write(&path, b"abc").unwrap();
        let m = hash_model(&path, &HashOptions::new(HashAlgorithm::Sha256, Method::Files)).unwrap();
        assert_eq!(m.model_name, "w.bin");
        assert_eq!(m.resources[0].key.name(), ".");
    }
}
