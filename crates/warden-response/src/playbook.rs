//! The playbook format: a YAML document with an `id`, a `name`, a `trigger` (which incidents it
//! answers) and ordered `steps`. Parsing is strict (unknown fields are errors) and bounded
//! ([`MAX_BYTES`], [`MAX_STEPS`], the YAML parser's own budget against alias bombs); every problem
//! names its field path and, when known, its line, so the editor can point at it.
//!
//! ```yaml
//! id: malicious-model-upload
//! name: Malicious model upload
//! trigger:
//!   rules: ["pickle.*"]
//!   min_severity: high
//!   sources: [registry_scan]
//!   asset_kinds: [model]
//! steps:
//!   - action: quarantine_version
//!   - action: revoke_api_key
//!     target: uploader
//!   - action: notify_webhook
//!     webhook: security
//!     on_failure: continue
//! ```

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use warden_core::Severity;

use crate::glob::glob;

/// Largest playbook text, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;
/// Most steps in one playbook.
pub const MAX_STEPS: usize = 50;
/// Most entries in one trigger list.
const MAX_LIST: usize = 100;
/// Most attempts a step may ask for.
const MAX_ATTEMPTS: u32 = 10;
/// Longest base backoff, in seconds.
const MAX_BACKOFF: u64 = 3600;
/// Longest approval wait, in minutes (30 days).
const MAX_APPROVAL_MINUTES: u64 = 30 * 24 * 60;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Quarantine the model versions the incident's findings name.
    QuarantineVersion,
    /// Roll production of the incident's model (or of the model a deployment serves) back to the
    /// previous good version.
    RollbackDeployment,
    /// Revoke API keys: the one that uploaded the version, the keys of the user an alert names, or
    /// the key a traffic client is.
    RevokeApiKey,
    /// Disable the user an alert names (or the uploader of the version).
    DisableUser,
    /// Freeze uploads and promotions of the incident's asset (and of models trained on it).
    FreezeAsset,
    /// Block the client a finding names at the gateway of the deployment.
    BlockClient,
    /// Send a signed JSON notification to a configured webhook.
    NotifyWebhook,
    /// Wait until a person with one of the roles approves (or rejects) the rest of the run.
    RequireApproval,
}

impl StepKind {
    /// Every kind.
    pub const ALL: [StepKind; 8] = [
        StepKind::QuarantineVersion,
        StepKind::RollbackDeployment,
        StepKind::RevokeApiKey,
        StepKind::DisableUser,
        StepKind::FreezeAsset,
        StepKind::BlockClient,
        StepKind::NotifyWebhook,
        StepKind::RequireApproval,
    ];

    /// The name in YAML and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::QuarantineVersion => "quarantine_version",
            StepKind::RollbackDeployment => "rollback_deployment",
            StepKind::RevokeApiKey => "revoke_api_key",
            StepKind::DisableUser => "disable_user",
            StepKind::FreezeAsset => "freeze_asset",
            StepKind::BlockClient => "block_client",
            StepKind::NotifyWebhook => "notify_webhook",
            StepKind::RequireApproval => "require_approval",
        }
    }

    /// Steps that contain an incident: when all of a run's containment steps are done, the
    /// incident moves to `contained`.
    pub fn contains(self) -> bool {
        matches!(
            self,
            StepKind::QuarantineVersion | StepKind::RevokeApiKey | StepKind::DisableUser | StepKind::FreezeAsset | StepKind::BlockClient
        )
    }

    /// Steps that recover from an incident (a rollback restores the last good version): done, the
    /// incident moves to `recovered`.
    pub fn recovers(self) -> bool {
        self == StepKind::RollbackDeployment
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a failed step does to the rest of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop the run (the default).
    #[default]
    Stop,
    /// Go on with the next step; the run still ends as failed.
    Continue,
}

/// Whose key or account a step acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The API key (or, for `disable_user`, the user) that uploaded the model version a finding names.
    Uploader,
    /// The user an alert names (`user:<name>`); for `revoke_api_key`, every active key of theirs.
    User,
    /// The client a traffic finding names, when it is one of our API keys.
    Client,
}

/// Which incidents a playbook answers. Every list is "any of"; an empty list does not filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Finding rule-id globs (`pickle.*`, `monitor.model-extraction`; `*` any text, `?` one character).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Alert rule-id globs (`server.login-burst`): like `rules`, but only findings raised as alerts.
    #[serde(default)]
    pub alert_kinds: Vec<String>,
    /// The least severity of a matching finding.
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Where matching findings come from (`registry_scan`, `import`, `alert`, ...).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Kinds of the incident's asset (`data_source`, `dataset`, `model`, `deployment`).
    #[serde(default)]
    pub asset_kinds: Vec<String>,
    /// Tags of the incident's asset (any one suffices).
    #[serde(default)]
    pub asset_tags: Vec<String>,
    /// The least sensitivity of the incident's asset (`public` ... `restricted`).
    #[serde(default)]
    pub min_sensitivity: Option<String>,
    /// Globs over who or what the incident is about (`user:*`, `client:*`).
    #[serde(default)]
    pub subjects: Vec<String>,
}

fn default_min_severity() -> Severity {
    Severity::Medium
}

fn default_attempts() -> u32 {
    3
}

fn default_backoff() -> u64 {
    2
}

/// One step. `action` says what it does; the other fields are its parameters (each allowed only
/// for the actions that use it) and how failures are handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What it does.
    pub action: StepKind,
    /// A label for people (defaults to the action).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Stop (default) or continue the run when the step fails after its attempts.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Attempts before the step counts as failed (default 3; errors that retrying cannot fix,
    /// such as a missing webhook, fail at once).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The first retry waits this long; each later one twice as long (default 2).
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u64,
    /// Why, kept with the change (quarantine reason, revocation reason...) or shown to approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `revoke_api_key`, `disable_user`: whose key or account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// `freeze_asset`: also freeze the models trained (or fine-tuned) downstream of the asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream_models: Option<bool>,
    /// `notify_webhook`: the name of a webhook target (see `/api/v1/webhooks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// `notify_webhook`: the message, with `{incident}`, `{severity}`, `{title}`, `{asset}`,
    /// `{subject}`, `{playbook}` and `{link}` replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `require_approval`: roles whose holders may decide (default security_engineer and admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `require_approval`: fail the step when nobody decided within this many minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u64>,
}

impl Step {
    /// The label for people.
    pub fn label(&self) -> String {
        if self.name.is_empty() { self.action.as_str().replace('_', " ") } else { self.name.clone() }
    }

    /// `stop` or `continue`, for people.
    pub fn on_failure_text(&self) -> &'static str {
        match self.on_failure {
            OnFailure::Stop => "stop",
            OnFailure::Continue => "continue",
        }
    }

    /// The roles that may decide an approval step.
    pub fn approver_roles(&self) -> Vec<String> {
        self.roles.clone().unwrap_or_else(|| vec!["security_engineer".into(), "admin".into()])
    }

    /// The delay before retry number `attempt` (1 = the first retry): base x 2^(attempt-1), at most an hour.
    pub fn backoff_ms(&self, attempt: u32) -> i64 {
        let factor = 1u64 << attempt.saturating_sub(1).min(16);
        i64::try_from(self.backoff_seconds.saturating_mul(factor).min(MAX_BACKOFF).saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// A validated playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Playbook {
    /// A slug, unique among playbooks (`malicious-model-upload`).
    pub id: String,
    /// For people.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Which incidents it answers.
    pub trigger: Trigger,
    /// What it does, in order.
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    trigger: Spanned<Trigger>,
    steps: Spanned<Vec<Spanned<Step>>>,
}

/// One problem in a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Issue {
    /// The field, such as `steps[1].webhook`; empty for the document itself.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "(document)" } else { &self.path };
        match self.line {
            Some(line) => write!(f, "{path} (line {line}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Every problem of a playbook, joined for an error message.
pub fn describe(issues: &[Issue]) -> String {
    issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Parses and validates playbook text; on failure, every problem found.
pub fn parse(text: &str) -> Result<Playbook, Vec<Issue>> {
    if text.len() > MAX_BYTES {
        return Err(vec![issue("", None, format!("the playbook is {} bytes, more than the limit of {MAX_BYTES}", text.len()))]);
    }
    if text.contains('\0') {
        return Err(vec![issue("", None, "the text contains a NUL character; playbooks are plain text")]);
    }
    let raw: RawPlaybook = parse_yaml(text).map_err(|i| vec![i])?;
    let mut issues = Vec::new();
    let id = raw.id.value.trim().to_owned();
    if !is_slug(&id) {
        issues.push(issue("id", line(&raw.id), "use 1 to 64 lowercase letters, digits and `-`, starting with a letter or digit (e.g. `malicious-model-upload`)"));
    }
    let name = raw.name.value.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        issues.push(issue("name", line(&raw.name), "give a name of 1 to 200 printable characters"));
    }
    if raw.description.chars().count() > 4000 {
        issues.push(issue("description", None, "at most 4000 characters"));
    }
    check_trigger(&raw.trigger.value, line(&raw.trigger), &mut issues);
    let steps_line = line(&raw.steps);
    let steps = raw.steps.value;
    if steps.is_empty() {
        issues.push(issue("steps", steps_line, "a playbook needs at least one step"));
    }
    if steps.len() > MAX_STEPS {
        issues.push(issue("steps", steps_line, format!("at most {MAX_STEPS} steps")));
    }
    for (index, step) in steps.iter().enumerate() {
        check_step(index, &step.value, line(step), &mut issues);
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Playbook { id, name, description: raw.description.trim().to_owned(), trigger: raw.trigger.value, steps: steps.into_iter().map(|s| s.value).collect() })
}

fn issue(path: &str, line: Option<u64>, message: impl Into<String>) -> Issue {
    Issue { path: path.to_owned(), line, message: message.into() }
}

fn line<T>(spanned: &Spanned<T>) -> Option<u64> {
    Some(spanned.referenced.line()).filter(|l| *l > 0)
}

/// YAML into `T`, naming the failing field's path and line.
fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Issue> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        T::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    });
    result.map_err(|err| {
        let line = err.location().map(|l| l.line()).filter(|l| *l > 0);
        // `Spanned` wrappers add a `value` segment the user never wrote.
        let path = track.path().to_string().replace(".value[", "[").replace(".value.", ".");
        let path = path.strip_suffix(".value").unwrap_or(&path).to_owned();
        let path = path.trim_end_matches(".?").trim_end_matches('?').to_owned();
        let path = if path == "." { String::new() } else { path };
        Issue { path, line, message: clean_message(&err.to_string()) }
    })
}

/// The parser's message without its own position suffix (the issue carries the line).
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let cut = [" at line ", " at ", ", line "].iter().filter_map(|pat| first.find(pat)).min();
    let trimmed = match cut {
        Some(idx) if first[idx..].chars().any(|c| c.is_ascii_digit()) => &first[..idx],
        _ => first,
    };
    let trimmed = trimmed.split(", set DuplicateKeyPolicy").next().unwrap_or(trimmed);
    trimmed.trim_end_matches(':').to_owned()
}

/// `[a-z0-9][a-z0-9-]{0,63}`.
pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
}

const ASSET_KINDS: [&str; 4] = ["data_source", "dataset", "model", "deployment"];
const SENSITIVITIES: [&str; 4] = ["public", "internal", "confidential", "restricted"];
const ROLES: [&str; 5] = ["admin", "security_engineer", "data_scientist", "auditor", "service"];

/// The rank of a sensitivity name (0 public ... 3 restricted).
pub fn sensitivity_rank(name: &str) -> Option<i64> {
    SENSITIVITIES.iter().position(|s| *s == name).and_then(|p| i64::try_from(p).ok())
}

fn check_trigger(trigger: &Trigger, at: Option<u64>, issues: &mut Vec<Issue>) {
    let lists = [
        ("trigger.rules", &trigger.rules),
        ("trigger.alert_kinds", &trigger.alert_kinds),
        ("trigger.sources", &trigger.sources),
        ("trigger.asset_kinds", &trigger.asset_kinds),
        ("trigger.asset_tags", &trigger.asset_tags),
        ("trigger.subjects", &trigger.subjects),
    ];
    for (path, list) in lists {
        if list.len() > MAX_LIST {
            issues.push(issue(path, at, format!("at most {MAX_LIST} entries")));
        }
        if list.iter().any(|e| e.trim().is_empty() || e.len() > 200 || e.chars().any(char::is_control)) {
            issues.push(issue(path, at, "entries are non-empty printable text of at most 200 bytes"));
        }
    }
    for source in &trigger.sources {
        if !crate::rules::SOURCES.contains(&source.as_str()) {
            issues.push(issue("trigger.sources", at, format!("unknown finding source `{source}` (e.g. registry_scan, import, alert)")));
        }
    }
    for kind in &trigger.asset_kinds {
        if !ASSET_KINDS.contains(&kind.as_str()) {
            issues.push(issue("trigger.asset_kinds", at, format!("unknown asset kind `{kind}`: expected one of {}", ASSET_KINDS.join(", "))));
        }
    }
    if let Some(level) = &trigger.min_sensitivity
        && sensitivity_rank(level).is_none()
    {
        issues.push(issue("trigger.min_sensitivity", at, format!("unknown sensitivity `{level}`: expected one of {}", SENSITIVITIES.join(", "))));
    }
}

/// Which parameters each action takes.
fn allowed(kind: StepKind) -> &'static [&'static str] {
    match kind {
        StepKind::QuarantineVersion | StepKind::RollbackDeployment | StepKind::BlockClient => &["reason"],
        StepKind::RevokeApiKey | StepKind::DisableUser => &["reason", "target"],
        StepKind::FreezeAsset => &["reason", "downstream_models"],
        StepKind::NotifyWebhook => &["webhook", "text"],
        StepKind::RequireApproval => &["reason", "roles", "timeout_minutes"],
    }
}

fn check_step(index: usize, step: &Step, at: Option<u64>, issues: &mut Vec<Issue>) {
    let path = |field: &str| format!("steps[{index}].{field}");
    let given = [
        ("reason", step.reason.is_some()),
        ("target", step.target.is_some()),
        ("downstream_models", step.downstream_models.is_some()),
        ("webhook", step.webhook.is_some()),
        ("text", step.text.is_some()),
        ("roles", step.roles.is_some()),
        ("timeout_minutes", step.timeout_minutes.is_some()),
    ];
    let takes = allowed(step.action);
    for (field, present) in given {
        if present && !takes.contains(&field) {
            let users: Vec<&str> = StepKind::ALL.iter().filter(|k| allowed(**k).contains(&field)).map(|k| k.as_str()).collect();
            issues.push(issue(&path(field), at, format!("`{field}` does not apply to {} (only to {})", step.action, users.join(", "))));
        }
    }
    if !(1..=MAX_ATTEMPTS).contains(&step.attempts) {
        issues.push(issue(&path("attempts"), at, format!("1 to {MAX_ATTEMPTS} attempts")));
    }
    if step.backoff_seconds > MAX_BACKOFF {
        issues.push(issue(&path("backoff_seconds"), at, format!("at most {MAX_BACKOFF} seconds")));
    }
    if step.name.chars().count() > 200 || step.name.chars().any(char::is_control) {
        issues.push(issue(&path("name"), at, "at most 200 printable characters"));
    }
    if step.reason.as_ref().is_some_and(|r| r.chars().count() > 2000) || step.text.as_ref().is_some_and(|t| t.chars().count() > 4000) {
        issues.push(issue(&path("reason"), at, "reasons have at most 2000 characters, texts 4000"));
    }
    match step.action {
        StepKind::RevokeApiKey if step.target.is_none() => {
            issues.push(issue(&path("target"), at, "say whose keys: `uploader` (the key that uploaded the version), `user` (the keys of the user an alert names) or `client` (the key a traffic client is)"));
        }
        StepKind::DisableUser if step.target == Some(Target::Client) => {
            issues.push(issue(&path("target"), at, "a client is not a user: use `user` (the user an alert names) or `uploader`"));
        }
        StepKind::NotifyWebhook => match step.webhook.as_deref() {
            None => issues.push(issue(&path("webhook"), at, "name the webhook target to notify (see /ui/webhooks)")),
            Some(name) if !is_slug(name) => issues.push(issue(&path("webhook"), at, format!("`{name}` is not a webhook name (lowercase letters, digits and `-`)"))),
            Some(_) => {}
        },
        StepKind::RequireApproval => {
            let roles = step.approver_roles();
            if roles.is_empty() {
                issues.push(issue(&path("roles"), at, "name at least one role that may approve"));
            }
            for role in roles.iter().filter(|r| !ROLES.contains(&r.as_str())) {
                issues.push(issue(&path("roles"), at, format!("unknown role `{role}`: expected one of {}", ROLES.join(", "))));
            }
            if step.timeout_minutes.is_some_and(|m| m == 0 || m > MAX_APPROVAL_MINUTES) {
                issues.push(issue(&path("timeout_minutes"), at, format!("1 to {MAX_APPROVAL_MINUTES} minutes")));
            }
        }
        _ => {}
    }
}

/// A finding as a trigger sees it.
#[derive(Debug, Clone)]
pub struct FindingFacts {
    /// Its rule id.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its source's name (`registry_scan`, `alert`, ...).
    pub source: String,
}

/// The incident's asset as a trigger sees it: what incident rules see of it.
pub use crate::rules::AssetFacts;

impl Trigger {
    /// Whether an incident with `findings` about `asset` is one this trigger answers: `Ok` with the
    /// reason it matched, or `Err` with the reason it did not (both shown in drills).
    pub fn matches(&self, findings: &[FindingFacts], asset: Option<&AssetFacts>, subject: &str) -> Result<String, String> {
        if !self.subjects.is_empty() && !self.subjects.iter().any(|g| glob(g, subject)) {
            return Err(format!("the incident is about `{subject}`, which none of the trigger's subjects ({}) matches", self.subjects.join(", ")));
        }
        let asset_filtered = !self.asset_kinds.is_empty() || !self.asset_tags.is_empty() || self.min_sensitivity.is_some();
        match (asset, asset_filtered) {
            (None, true) => return Err("the trigger filters on the asset, and the incident concerns none".into()),
            (Some(asset), _) => {
                if !self.asset_kinds.is_empty() && !self.asset_kinds.contains(&asset.kind) {
                    return Err(format!("the asset is a {}, not one of {}", asset.kind, self.asset_kinds.join(", ")));
                }
                if !self.asset_tags.is_empty() && !asset.tags.iter().any(|t| self.asset_tags.contains(t)) {
                    return Err(format!("the asset has none of the tags {}", self.asset_tags.join(", ")));
                }
                let least = self.min_sensitivity.as_deref().and_then(sensitivity_rank).unwrap_or(0);
                if asset.sensitivity < least {
                    return Err(format!("the asset is less sensitive than {}", self.min_sensitivity.as_deref().unwrap_or("public")));
                }
            }
            (None, false) => {}
        }
        let rule_filtered = !self.rules.is_empty() || !self.alert_kinds.is_empty();
        let hit = findings.iter().find(|f| {
            f.severity >= self.min_severity
                && (self.sources.is_empty() || self.sources.contains(&f.source))
                && (!rule_filtered
                    || self.rules.iter().any(|g| glob(g, &f.rule_id))
                    || (f.source == "alert" && self.alert_kinds.iter().any(|g| glob(g, &f.rule_id))))
        });
        match hit {
            Some(f) => Ok(format!("finding `{}` ({}, from {}) matches the trigger", f.rule_id, f.severity, f.source)),
            None => Err(format!("no finding of severity {} or more matches the trigger's rules and sources", self.min_severity)),
        }
    }
}

#[cfg(test)]
#[path = "playbook_tests.rs"]
mod tests;
