//! Where results go: stdout or a file, written whole; a closed pipe is not an error.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes `text` to `path`, or to stdout when `path` is `None`.
pub fn write(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            // Write beside the target and rename, so an existing report is never half-overwritten.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let mut tmp = tempfile_in(dir)?;
            tmp.1.write_all(text.as_bytes()).with_context(|| format!("writing `{}`", tmp.0.display()))?;
            tmp.1.sync_all().ok();
            std::fs::rename(&tmp.0, path).with_context(|| format!("writing `{}`", path.display()))?;
            Ok(())
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}

fn tempfile_in(dir: &Path) -> anyhow::Result<(std::path::PathBuf, std::fs::File)> {
    for attempt in 0..100u32 {
        let candidate = dir.join(format!(".warden-report-{}-{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating a file in `{}`", dir.display())),
        }
    }
    anyhow::bail!("cannot create a temporary file in `{}`", dir.display())
}

/// True when the error chain ends in a broken pipe (e.g. `warden scan ... | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
