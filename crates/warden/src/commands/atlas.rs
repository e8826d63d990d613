//! `warden atlas`: import the MITRE ATLAS distribution file into the local catalogue, report
//! what changed, and re-evaluate saved assessments against the new catalogue.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use warden_assess::catalogue::{self, Catalogue, ImportLimits};
use warden_assess::changes;

use super::ExitStatus;
use super::assess::{ReportArgs, assess_with, data_dir, saved_systems};
use crate::cli::GlobalArgs;
use crate::output;

/// Arguments of `warden atlas`.
#[derive(Debug, Args)]
pub struct AtlasArgs {
    #[command(subcommand)]
    pub action: AtlasAction,
}

/// Subcommands of `warden atlas`.
#[derive(Debug, Subcommand)]
pub enum AtlasAction {
    /// Load ATLAS.yaml into the local catalogue; report changed techniques and assessments.
    Import {
        /// The ATLAS distribution file (`dist/ATLAS.yaml` of the atlas-data project).
        #[arg(value_name = "ATLAS.yaml")]
        file: PathBuf,
        /// Also re-evaluate these descriptions (besides those saved with `assess --save`).
        #[arg(long, value_name = "SYSTEM.yaml")]
        reassess: Vec<PathBuf>,
        /// Where the catalogue lives [default: $XDG_DATA_HOME/warden or ~/.local/share/warden].
        #[arg(long, value_name = "DIR", env = "WARDEN_HOME")]
        data_dir: Option<PathBuf>,
        /// Print the change report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the stored catalogue's version and size.
    Status {
        /// Where the catalogue lives.
        #[arg(long, value_name = "DIR", env = "WARDEN_HOME")]
        data_dir: Option<PathBuf>,
    },
}

/// Runs `warden atlas`.
pub fn run(args: &AtlasArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match &args.action {
        AtlasAction::Import { file, reassess, data_dir: dir, json } => import(file, reassess, dir.as_deref(), *json),
        AtlasAction::Status { data_dir: dir } => {
            let dir = data_dir(dir.as_deref())?;
            let text = match Catalogue::load(&dir)? {
                Some(c) => format!(
                    "ATLAS {} in {}: {} techniques, {} tactics, {} mitigations\n",
                    c.version,
                    dir.join(Catalogue::FILE).display(),
                    c.techniques.len(),
                    c.tactics.len(),
                    c.mitigations.len()
                ),
                None => format!("no ATLAS catalogue imported in {} (using warden's shipped names)\n", dir.display()),
            };
            output::write(None, &text)?;
            Ok(ExitStatus::Success)
        }
    }
}

fn import(file: &Path, reassess: &[PathBuf], dir: Option<&Path>, as_json: bool) -> anyhow::Result<ExitStatus> {
    let limits = ImportLimits::default();
    let size = std::fs::metadata(file).with_context(|| format!("reading `{}`", file.display()))?.len();
    if size > limits.max_bytes as u64 {
        anyhow::bail!("`{}` is {size} bytes, more than the limit of {}", file.display(), limits.max_bytes);
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("reading `{}`", file.display()))?;
    let (new, report) = catalogue::import(&text, limits).with_context(|| format!("importing `{}`", file.display()))?;
    let dir = data_dir(dir)?;
    let old = Catalogue::load(&dir)?;
    let diff = catalogue::diff(old.as_ref(), &new);

    // Re-evaluate before storing, so old and new can be compared side by side.
    let mut systems = saved_systems(&dir)?;
    systems.extend(reassess.iter().cloned());
    systems.dedup();
    let plain = ReportArgs {
        format: super::assess::AssessFormat::Json,
        evidence: Vec::new(),
        framework: Vec::new(),
        fail_on: crate::cli::SeverityArg::Never,
        output: None,
        data_dir: None,
        no_catalogue: false,
        save: false,
    };
    let mut reassessed = Vec::new();
    for system in &systems {
        let result = assess_with(system, &plain, old.as_ref()).and_then(|(_, before)| {
            let (_, after) = assess_with(system, &plain, Some(&new))?;
            Ok(changes::compare(&before, &after))
        });
        match result {
            Ok(changes) => reassessed.push((system.display().to_string(), changes)),
            Err(err) => tracing::warn!("could not re-evaluate `{}`: {err:#}", system.display()),
        }
    }

    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    output::write(Some(&dir.join(Catalogue::FILE)), &new.to_json())?;

    let text = if as_json {
        let doc = serde_json::json!({
            "catalogue": dir.join(Catalogue::FILE).display().to_string(),
            "diff": diff,
            "warnings": report.warnings,
            "assessments": reassessed.iter().map(|(s, c)| serde_json::json!({"system": s, "changes": c})).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        render_text(&dir, &new, &diff, &report.warnings, &reassessed)
    };
    output::write(None, &text)?;
    Ok(ExitStatus::Success)
}

fn render_text(
    dir: &Path,
    new: &Catalogue,
    diff: &catalogue::CatalogueDiff,
    warnings: &[String],
    reassessed: &[(String, Vec<changes::RiskChange>)],
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "imported ATLAS {} ({} techniques, {} tactics, {} mitigations) into {}",
        new.version,
        new.techniques.len(),
        new.tactics.len(),
        new.mitigations.len(),
        dir.join(Catalogue::FILE).display()
    );
    match &diff.from_version {
        None => {
            let _ = writeln!(o, "first import: no previous catalogue");
        }
        Some(v) => {
            let _ = writeln!(
                o,
                "changes since {v}: {} technique(s) added, {} removed, {} renamed; {} mitigation(s) added, {} removed",
                diff.added.len(),
                diff.removed.len(),
                diff.renamed.len(),
                diff.mitigations_added.len(),
                diff.mitigations_removed.len()
            );
            for id in &diff.added {
                let _ = writeln!(o, "  + {id} {}", new.techniques.get(id).map(|t| t.name.as_str()).unwrap_or(""));
            }
            for id in &diff.removed {
                let _ = writeln!(o, "  - {id}");
            }
            for (id, before, after) in &diff.renamed {
                let _ = writeln!(o, "  ~ {id} `{before}` -> `{after}`");
            }
        }
    }
    for w in warnings {
        let _ = writeln!(o, "note: {w}");
    }
    for (system, changes) in reassessed {
        if changes.is_empty() {
            let _ = writeln!(o, "{system}: unchanged");
        } else {
            let _ = writeln!(o, "{system}: {} change(s)", changes.len());
            for c in changes {
                let _ = writeln!(o, "  {} on `{}`: {}", c.rule, c.element, c.change);
            }
        }
    }
    o
}
