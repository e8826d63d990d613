//! `warden assess`: threat model, risk register, compliance views and ML-BOM of an AI system
//! description; `assess init`, `assess schema`, `assess bom`, `assess controls`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use warden_assess::assess::{self, AssessOptions, Assessment};
use warden_assess::catalogue::Catalogue;
use warden_assess::evidence::{self, Evidence};
use warden_assess::system::SystemDescription;
use warden_assess::{bom, compliance, controls, load, render, schema};
use warden_core::render::{ToolInfo, json, sarif};

use super::ExitStatus;
use crate::cli::GlobalArgs;
use crate::output;

/// Arguments of `warden assess`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AssessArgs {
    #[command(subcommand)]
    pub action: Option<AssessAction>,
    /// The system description (YAML); `warden assess init` writes a starting file.
    #[arg(value_name = "SYSTEM.yaml")]
    pub system: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags of the assessment itself.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format: the risk register (table), the assessment document (json, markdown,
    /// html), findings (sarif, findings-json) or the ML-BOM (cyclonedx).
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: AssessFormat,
    /// A JSON report from `warden scan`, `verify`, `data scan`, `drift` or `fairness` as
    /// evidence; `ELEMENT=FILE` ties it to an element, otherwise it is matched by artifact path.
    #[arg(long, value_name = "[ELEMENT=]FILE")]
    pub evidence: Vec<String>,
    /// Add compliance views: nist-ai-rmf, eu-ai-act, iso42001, gdpr or all (repeatable).
    #[arg(long, value_name = "FRAMEWORK", value_parser = ["nist-ai-rmf", "eu-ai-act", "iso42001", "gdpr", "all"])]
    pub framework: Vec<String>,
    /// Exit with code 1 when a residual risk is at or above this severity.
    #[arg(long, value_enum, default_value = "never")]
    pub fail_on: crate::cli::SeverityArg,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where the imported ATLAS catalogue and saved assessments live
    /// [default: $XDG_DATA_HOME/warden or ~/.local/share/warden].
    #[arg(long, value_name = "DIR", env = "WARDEN_HOME")]
    pub data_dir: Option<PathBuf>,
    /// Ignore the imported ATLAS catalogue (use only the shipped names).
    #[arg(long)]
    pub no_catalogue: bool,
    /// Remember this description so `warden atlas import` re-evaluates it.
    #[arg(long)]
    pub save: bool,
}

/// Output formats of `warden assess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssessFormat {
    /// The risk register as a table.
    Table,
    /// The assessment document as JSON.
    Json,
    /// The assessment document as Markdown.
    Markdown,
    /// A self-contained HTML report with a data-flow diagram.
    Html,
    /// Risks as SARIF 2.1.0 results.
    Sarif,
    /// Risks as the standard warden findings JSON report.
    FindingsJson,
    /// CycloneDX 1.6 ML-BOM of the described system.
    Cyclonedx,
}

/// Subcommands of `warden assess`.
#[derive(Debug, Subcommand)]
pub enum AssessAction {
    /// Write a commented starting description.
    Init {
        /// Where to write it.
        #[arg(long, short = 'o', value_name = "FILE", default_value = "system.yaml")]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of the description format.
    Schema {
        /// Write it to FILE instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Export the described system as a CycloneDX 1.6 ML-BOM.
    Bom {
        /// The system description.
        #[arg(value_name = "SYSTEM.yaml")]
        system: PathBuf,
        /// Write it to FILE instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the controls a description can declare.
    Controls,
}

/// Runs `warden assess`.
pub fn run(args: &AssessArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match &args.action {
        Some(AssessAction::Init { output, force }) => init(output, *force),
        Some(AssessAction::Schema { output }) => {
            output::write(output.as_deref(), schema::SYSTEM_SCHEMA)?;
            Ok(ExitStatus::Success)
        }
        Some(AssessAction::Bom { system, output }) => {
            let description = read_system(system)?;
            let doc = bom::cyclonedx(&description, env!("CARGO_PKG_VERSION"));
            output::write(output.as_deref(), &(serde_json::to_string_pretty(&doc)? + "\n"))?;
            Ok(ExitStatus::Success)
        }
        Some(AssessAction::Controls) => {
            let mut text = String::new();
            for c in controls::all() {
                let cmd = c.command.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
                text.push_str(&format!("{:<26} {}{cmd}\n", c.id, c.title));
            }
            output::write(None, &text)?;
            Ok(ExitStatus::Success)
        }
        None => {
            let Some(system) = &args.system else {
                anyhow::bail!("give a system description (`warden assess SYSTEM.yaml`) or run `warden assess init`");
            };
            assess_file(system, &args.report)
        }
    }
}

fn init(path: &Path, force: bool) -> anyhow::Result<ExitStatus> {
    if path.exists() && !force {
        anyhow::bail!("`{}` already exists; use --force to overwrite it", path.display());
    }
    output::write(Some(path), schema::INIT_TEMPLATE)?;
    tracing::info!("wrote {}", path.display());
    Ok(ExitStatus::Success)
}

/// Reads and validates a description, with the file name in every error.
pub fn read_system(path: &Path) -> anyhow::Result<SystemDescription> {
    let limits = load::Limits::default();
    let size = std::fs::metadata(path).with_context(|| format!("reading `{}`", path.display()))?.len();
    if size > limits.max_bytes as u64 {
        anyhow::bail!("`{}` is {size} bytes, more than the limit of {}", path.display(), limits.max_bytes);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    load::parse_system(&text, limits).with_context(|| format!("invalid system description `{}`", path.display()))
}

/// The data directory: `--data-dir` / `WARDEN_HOME`, else the XDG data dir.
pub fn data_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_owned());
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("warden"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).context("cannot find a data directory: set --data-dir or WARDEN_HOME")?;
    Ok(PathBuf::from(home).join(".local/share/warden"))
}

/// Descriptions registered with `--save`, re-evaluated by `warden atlas import`.
pub const SAVED_FILE: &str = "assessed-systems.json";

/// Reads the saved description list.
pub fn saved_systems(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let path = dir.join(SAVED_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading `{}`", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading `{}`", path.display())),
    }
}

/// Reads the evidence files named in the description and on the command line.
fn read_evidence(system_path: &Path, system: &SystemDescription, cli: &[String]) -> anyhow::Result<Vec<Evidence>> {
    let base = system_path.parent().unwrap_or(Path::new("."));
    let mut wanted: Vec<(PathBuf, String, Vec<String>)> =
        system.evidence.iter().map(|e| (base.join(&e.path), e.path.clone(), e.applies_to.clone())).collect();
    let known: Vec<&str> = system.elements().into_iter().map(|(id, _, _)| id).collect();
    for arg in cli {
        let (element, file) = match arg.split_once('=') {
            Some((el, file)) if known.contains(&el) => (vec![el.to_owned()], file),
            Some((el, _)) if !Path::new(arg).exists() => anyhow::bail!("--evidence {arg}: no element `{el}` in the description"),
            _ => (Vec::new(), arg.as_str()),
        };
        wanted.push((PathBuf::from(file), file.to_owned(), element));
    }
    wanted
        .into_iter()
        .map(|(path, shown, applies_to)| {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading evidence `{}`", path.display()))?;
            let mut ev = evidence::recognise(&shown, &text)?;
            ev.applies_to = applies_to;
            Ok(ev)
        })
        .collect()
}

/// Loads the catalogue unless disabled; a missing one is not an error.
pub fn load_catalogue(args: &ReportArgs) -> anyhow::Result<Option<Catalogue>> {
    if args.no_catalogue {
        return Ok(None);
    }
    let dir = match data_dir(args.data_dir.as_deref()) {
        Ok(dir) => dir,
        Err(_) => return Ok(None),
    };
    Ok(Catalogue::load(&dir)?)
}

/// Assesses one description file with its evidence and the chosen frameworks.
pub fn assess_with(path: &Path, args: &ReportArgs, catalogue: Option<&Catalogue>) -> anyhow::Result<(SystemDescription, Assessment)> {
    let system = read_system(path)?;
    let evidence = read_evidence(path, &system, &args.evidence)?;
    let mut result = assess::assess(&path.display().to_string(), &system, evidence, AssessOptions { catalogue });
    if !args.framework.is_empty() {
        result.compliance = compliance::evaluate(&system, &result, &args.framework);
    }
    Ok((system, result))
}

fn assess_file(path: &Path, args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let catalogue = load_catalogue(args)?;
    let (system, result) = assess_with(path, args, catalogue.as_ref())?;
    let text = match args.format {
        AssessFormat::Table => render::table(&result),
        AssessFormat::Json => render::json(&result),
        AssessFormat::Markdown => render::markdown::render(&result),
        AssessFormat::Html => render::html::render(&result),
        AssessFormat::Sarif => sarif::to_string(&assess::to_report(&result), &tool_info())? + "\n",
        AssessFormat::FindingsJson => json::to_string(&assess::to_report(&result))? + "\n",
        AssessFormat::Cyclonedx => serde_json::to_string_pretty(&bom::cyclonedx(&system, env!("CARGO_PKG_VERSION")))? + "\n",
    };
    output::write(args.output.as_deref(), &text)?;
    if args.save {
        save(path, args)?;
    }
    let threshold = args.fail_on.threshold();
    Ok(match threshold {
        Some(t) if result.risks.iter().any(|r| r.severity >= t) => ExitStatus::Findings,
        _ => ExitStatus::Success,
    })
}

fn save(path: &Path, args: &ReportArgs) -> anyhow::Result<()> {
    let dir = data_dir(args.data_dir.as_deref())?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let absolute = std::path::absolute(path).with_context(|| format!("resolving `{}`", path.display()))?;
    let mut saved = saved_systems(&dir)?;
    if !saved.contains(&absolute) {
        saved.push(absolute);
        output::write(Some(&dir.join(SAVED_FILE)), &(serde_json::to_string_pretty(&saved)? + "\n"))?;
    }
    Ok(())
}

/// The tool description SARIF needs, with every assessment rule.
pub fn tool_info() -> ToolInfo {
    ToolInfo {
        name: "warden",
        version: env!("CARGO_PKG_VERSION"),
        rules: warden_assess::rules::shipped()
            .iter()
            .map(|r| warden_core::render::RuleInfo {
                id: r.rule.id.clone(),
                title: r.rule.title.clone(),
                description: r.rule.rationale.clone(),
                severity: assess::severity_of(r.rule.likelihood * r.rule.impact),
                atlas: r.rule.atlas.clone(),
            })
            .collect(),
    }
}
