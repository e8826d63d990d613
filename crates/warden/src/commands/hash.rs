//! `warden hash`: the OMS manifest of a model file or directory (per-file or per-shard digests,
//! SHA-256 or BLAKE3), as `digest  name` lines or as the unsigned in-toto statement.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use warden_integrity::manifest::DEFAULT_SHARD_SIZE;
use warden_integrity::walk::{GIT_PATHS, IgnoreSet};
use warden_integrity::{HashAlgorithm, HashOptions, Method, digest::to_hex, statement};

use super::ExitStatus;
use crate::cli::GlobalArgs;
use crate::output;

/// How a model is cut into manifest entries and hashed (shared by `hash` and `sign`).
#[derive(Debug, Clone, Args)]
pub struct HashingArgs {
    /// One digest per file, or per `--shard-size` bytes of each file.
    #[arg(long, value_enum, default_value = "files")]
    pub serialization: SerializationArg,
    /// Shard size in bytes for `--serialization shards` (model_signing's default: 1 GB).
    #[arg(long, default_value_t = DEFAULT_SHARD_SIZE, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_size: u64,
    /// Digest algorithm.
    #[arg(long = "hash", value_enum, default_value = "sha256")]
    pub hash: HashArg,
    /// Paths to leave out, relative to the model directory or as paths under it; repeatable.
    #[arg(long = "ignore", value_name = "PATH")]
    pub ignore: Vec<PathBuf>,
    /// Include `.git`, `.gitattributes`, `.github` and `.gitignore` (ignored by default, as
    /// model_signing does).
    #[arg(long)]
    pub no_ignore_git_paths: bool,
    /// Hashing threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..1025))]
    pub jobs: Option<u64>,
}

/// `--serialization` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SerializationArg {
    /// One entry per file.
    Files,
    /// One entry per shard of each file.
    Shards,
}

/// `--hash` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    /// SHA-256 (the OMS default).
    Sha256,
    /// BLAKE3.
    Blake3,
}

impl HashingArgs {
    /// The library options for the model at `root`; `extra_ignored` are model-relative names
    /// (the signature file) to leave out as well.
    pub fn options(&self, root: &Path, extra_ignored: &[String]) -> HashOptions {
        let hash = match self.hash {
            HashArg::Sha256 => HashAlgorithm::Sha256,
            HashArg::Blake3 => HashAlgorithm::Blake3,
        };
        let method = match self.serialization {
            SerializationArg::Files => Method::Files,
            // model_signing hashes BLAKE3 per file even when asked for shards (BLAKE3 is
            // already parallel); a BLAKE3 shard manifest would not verify there.
            SerializationArg::Shards if hash == HashAlgorithm::Blake3 => {
                tracing::warn!("BLAKE3 is hashed per file (as model_signing does); --serialization shards ignored");
                Method::Files
            }
            SerializationArg::Shards => Method::Shards { shard_size: self.shard_size },
        };
        let mut ignore = ignore_set(root, &self.ignore, !self.no_ignore_git_paths);
        for name in extra_ignored {
            ignore.insert(name);
        }
        HashOptions { hash, method, ignore, threads: self.jobs.map(|j| j as usize) }
    }
}

/// Git paths (unless disabled) plus each `--ignore` path, taken relative to the model when it
/// is relative and does not start with the model path, or made relative when it is under it.
pub fn ignore_set(root: &Path, ignore: &[PathBuf], git: bool) -> IgnoreSet {
    let mut set = if git { IgnoreSet::new(GIT_PATHS) } else { IgnoreSet::default() };
    for path in ignore {
        if let Some(rel) = warden_integrity::walk::relative_inside(root, path) {
            set.insert(&rel);
        } else if path.is_relative() {
            if let Some(text) = path.to_str() {
                set.insert(text);
            }
        } else {
            tracing::warn!("ignoring `--ignore {}`: it is outside the model", path.display());
        }
    }
    set
}

/// Arguments of `warden hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// The model: a file or a directory.
    pub path: PathBuf,
    #[command(flatten)]
    pub hashing: HashingArgs,
    /// `text`: `digest  name` lines and the root digest; `json`: the in-toto statement that
    /// `warden sign` would sign (a `model.sig` in the model directory is left out, as there).
    #[arg(long, value_enum, default_value = "text")]
    pub format: HashFormat,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `warden hash --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashFormat {
    /// `digest  name` lines.
    Text,
    /// The unsigned in-toto statement.
    Json,
}

/// Runs `warden hash`.
pub fn run(args: &HashArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    // Leave out what `warden sign` would: the default signature file.
    let signature: Vec<String> = warden_integrity::walk::relative_inside(&args.path, &default_signature_path(&args.path)).into_iter().collect();
    let options = args.hashing.options(&args.path, &signature);
    let manifest = warden_integrity::hash_model(&args.path, &options).with_context(|| format!("hashing `{}`", args.path.display()))?;
    let text = match args.format {
        HashFormat::Json => String::from_utf8(statement::to_json(&manifest)).expect("JSON is UTF-8") + "\n",
        HashFormat::Text => {
            let mut out = String::new();
            for (name, digest) in manifest.resource_lines() {
                out.push_str(&format!("{digest}  {name}\n"));
            }
            out.push_str(&format!("{}  (root: sha256 over the {} entries of `{}`)\n", to_hex(&manifest.root_digest()), manifest.resources.len(), manifest.model_name));
            out
        }
    };
    output::write(args.output.as_deref(), &text)?;
    Ok(ExitStatus::Success)
}

/// Reads a small input file (key, certificate, bundle), refusing anything over `max` bytes.
pub fn read_limited(path: &Path, max: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("opening the {what} `{}`", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).with_context(|| format!("reading the {what} `{}`", path.display()))?;
    if bytes.len() as u64 > max {
        anyhow::bail!("the {what} `{}` is larger than {max} bytes", path.display());
    }
    Ok(bytes)
}

/// Reads a small UTF-8 text file (PEM).
pub fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    String::from_utf8(read_limited(path, 1 << 20, what)?).with_context(|| format!("the {what} `{}` is not text (PEM expected)", path.display()))
}

/// `model.sig` inside a model directory, or beside a single-file model.
pub fn default_signature_path(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join("model.sig")
    } else {
        model.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("model.sig")
    }
}
