//! The local ATLAS catalogue: importing the MITRE ATLAS distribution file (`ATLAS.yaml`),
//! storing it as JSON in the data directory, and comparing two versions.
//!
//! The import is defensive about the file's quirks: entries may appear in several matrices (the
//! first wins, tactics merge), subtechniques carry no tactics of their own (they inherit the
//! parent's), tactics are referenced by id, mitigation lists may hold objects where strings are
//! expected (`ml-lifecycle` holds stray technique entries in some releases), dates are YAML
//! timestamps, versions may be numbers, and entries may be marked deprecated. Anything that is
//! not the expected shape is skipped and counted in [`ImportReport::warnings`]. Sizes are bounded
//! and the YAML parser's budget refuses alias bombs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bounds on an imported file.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Most techniques, tactics or mitigations (each).
    pub max_entries: usize,
    /// Longest kept text field, in bytes (longer ones are cut at a character boundary).
    pub max_text: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits { max_bytes: 64 << 20, max_entries: 20_000, max_text: 16 << 10 }
    }
}

/// One technique or subtechnique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `AML.T0010.003`.
    pub id: String,
    /// Official name.
    pub name: String,
    /// Official description.
    pub description: String,
    /// Tactic ids (inherited from the parent for subtechniques).
    pub tactics: Vec<String>,
    /// Parent technique id for subtechniques.
    pub parent: Option<String>,
    /// `demonstrated`, `realized`, `feasible`, ...
    pub maturity: Option<String>,
    /// Marked deprecated in the source.
    pub deprecated: bool,
}

/// One mitigation and the techniques it addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MitigationEntry {
    /// `AML.M0013`.
    pub id: String,
    /// Official name.
    pub name: String,
    /// Official description.
    pub description: String,
    /// Technique id to how the mitigation applies.
    pub techniques: BTreeMap<String, String>,
}

/// The stored catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Release version from the file.
    pub version: String,
    /// Tactic id to name.
    pub tactics: BTreeMap<String, String>,
    /// Techniques by id.
    pub techniques: BTreeMap<String, Technique>,
    /// Mitigations by id.
    pub mitigations: BTreeMap<String, MitigationEntry>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// YAML syntax or size.
    #[error("{0}")]
    Load(#[from] crate::load::LoadError),
    /// Not an ATLAS distribution file.
    #[error("not an ATLAS distribution file: {0}")]
    Shape(String),
    /// Reading or writing the stored catalogue.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The stored catalogue is corrupt.
    #[error("{path}: {source}")]
    Json {
        /// File.
        path: String,
        /// Cause.
        source: serde_json::Error,
    },
}

/// What the import did besides building the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Entries skipped or repaired, with why.
    pub warnings: Vec<String>,
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn valid_id(id: &str, infix: &str) -> bool {
    id.len() <= 32 && id.starts_with("AML.") && id[4..].starts_with(infix) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

fn is_deprecated(obj: &serde_json::Map<String, Value>) -> bool {
    obj.get("deprecated").is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
        || scalar(obj.get("object-type")).is_some_and(|t| t.contains("deprecated"))
        || scalar(obj.get("name")).is_some_and(|n| n.to_ascii_lowercase().starts_with("deprecated"))
}

/// Ids from a field that may be a string, a list of strings, or a list of `{id: ...}` objects.
fn id_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => scalar(o.get("id")),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses an `ATLAS.yaml` distribution file.
pub fn import(text: &str, limits: ImportLimits) -> Result<(Catalogue, ImportReport), CatalogueError> {
    let doc: Value = crate::load::parse_yaml(text, limits.max_bytes)?;
    let root = doc.as_object().ok_or_else(|| CatalogueError::Shape("the top level is not a mapping".into()))?;
    let matrices = root
        .get("matrices")
        .and_then(Value::as_array)
        .ok_or_else(|| CatalogueError::Shape("no `matrices` list".into()))?;
    let mut cat = Catalogue { version: scalar(root.get("version")).unwrap_or_else(|| "unknown".into()), ..Default::default() };
    let mut report = ImportReport::default();
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let text_of = |o: &serde_json::Map<String, Value>, k: &str| cut(&scalar(o.get(k)).unwrap_or_default(), limits.max_text);

    // Mitigations have lived both inside matrices and at the top level.
    let mut mitigation_lists: Vec<&Value> = root.get("mitigations").into_iter().collect();
    for matrix in matrices {
        let Some(m) = matrix.as_object() else {
            *skipped.entry("matrix that is not a mapping").or_default() += 1;
            continue;
        };
        for t in m.get("tactics").and_then(Value::as_array).into_iter().flatten() {
            let Some(o) = t.as_object() else { continue };
            match (scalar(o.get("id")), scalar(o.get("name"))) {
                (Some(id), Some(name)) if valid_id(&id, "TA") && cat.tactics.len() < limits.max_entries => {
                    cat.tactics.entry(id).or_insert_with(|| cut(&name, 256));
                }
                _ => *skipped.entry("tactic without a valid id and name").or_default() += 1,
            }
        }
        for t in m.get("techniques").and_then(Value::as_array).into_iter().flatten() {
            let Some(o) = t.as_object() else {
                *skipped.entry("technique that is not a mapping").or_default() += 1;
                continue;
            };
            let (Some(id), Some(name)) = (scalar(o.get("id")), scalar(o.get("name"))) else {
                *skipped.entry("technique without an id or name").or_default() += 1;
                continue;
            };
            if !valid_id(&id, "T") || cat.techniques.len() >= limits.max_entries && !cat.techniques.contains_key(&id) {
                *skipped.entry("technique with an invalid id or over the entry limit").or_default() += 1;
                continue;
            }
            let tactics: Vec<String> = id_list(o.get("tactics")).into_iter().filter(|t| valid_id(t, "TA")).collect();
            match cat.techniques.get_mut(&id) {
                Some(existing) => {
                    // Seen in an earlier matrix: keep its text, merge tactics.
                    for t in tactics {
                        if !existing.tactics.contains(&t) {
                            existing.tactics.push(t);
                        }
                    }
                    *skipped.entry("technique repeated in another matrix (merged)").or_default() += 1;
                }
                None => {
                    let technique = Technique {
                        id: id.clone(),
                        name: cut(&name, 256),
                        description: text_of(o, "description"),
                        tactics,
                        parent: scalar(o.get("subtechnique-of")).filter(|p| valid_id(p, "T")),
                        maturity: scalar(o.get("maturity")),
                        deprecated: is_deprecated(o),
                    };
                    cat.techniques.insert(id, technique);
                }
            }
        }
        mitigation_lists.extend(m.get("mitigations"));
    }
    for list in mitigation_lists {
        for entry in list.as_array().into_iter().flatten() {
            let Some(o) = entry.as_object() else { continue };
            let (Some(id), Some(name)) = (scalar(o.get("id")), scalar(o.get("name"))) else {
                *skipped.entry("mitigation without an id or name").or_default() += 1;
                continue;
            };
            if !valid_id(&id, "M") || cat.mitigations.len() >= limits.max_entries || cat.mitigations.contains_key(&id) {
                *skipped.entry("mitigation with an invalid or repeated id").or_default() += 1;
                continue;
            }
            let mut techniques = BTreeMap::new();
            for t in o.get("techniques").and_then(Value::as_array).into_iter().flatten() {
                let (tid, usage) = match t {
                    Value::String(s) => (Some(s.clone()), String::new()),
                    Value::Object(t) => (scalar(t.get("id")), text_of(t, "use")),
                    _ => (None, String::new()),
                };
                match tid.filter(|t| valid_id(t, "T")) {
                    Some(tid) if techniques.len() < limits.max_entries => {
                        techniques.insert(tid, usage.trim().to_owned());
                    }
                    _ => *skipped.entry("mitigation technique reference that is not an id").or_default() += 1,
                }
            }
            let stray = o.get("ml-lifecycle").and_then(Value::as_array).map_or(0, |l| l.iter().filter(|v| !v.is_string()).count());
            if stray > 0 {
                *skipped.entry("non-text `ml-lifecycle` entries in mitigations (ignored)").or_default() += stray;
            }
            cat.mitigations.insert(id.clone(), MitigationEntry { id, name: cut(&name, 256), description: text_of(o, "description"), techniques });
        }
    }
    // Subtechniques inherit their parent's tactics; references to unknown ids are dropped.
    let parents: BTreeMap<String, Vec<String>> = cat.techniques.values().map(|t| (t.id.clone(), t.tactics.clone())).collect();
    let tactic_ids: Vec<String> = cat.tactics.keys().cloned().collect();
    for t in cat.techniques.values_mut() {
        if t.tactics.is_empty()
            && let Some(parent) = t.parent.as_ref().and_then(|p| parents.get(p))
        {
            t.tactics = parent.clone();
        }
        let before = t.tactics.len();
        t.tactics.retain(|x| tactic_ids.contains(x));
        if t.tactics.len() != before {
            *skipped.entry("technique tactic references to unknown tactics (dropped)").or_default() += before - t.tactics.len();
        }
    }
    if cat.techniques.is_empty() {
        return Err(CatalogueError::Shape("no techniques found under `matrices[*].techniques`".into()));
    }
    report.warnings = skipped.into_iter().map(|(what, n)| format!("{n} {what}")).collect();
    Ok((cat, report))
}

impl Catalogue {
    /// A technique, if known and not deprecated.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id).filter(|t| !t.deprecated)
    }

    /// Mitigations that name this technique, or its parent when none name it directly.
    pub fn mitigations_for(&self, id: &str) -> Vec<&MitigationEntry> {
        let direct: Vec<_> = self.mitigations.values().filter(|m| m.techniques.contains_key(id)).collect();
        if !direct.is_empty() {
            return direct;
        }
        match self.techniques.get(id).and_then(|t| t.parent.as_deref()) {
            Some(parent) => self.mitigations.values().filter(|m| m.techniques.contains_key(parent)).collect(),
            None => Vec::new(),
        }
    }

    /// File name inside the data directory.
    pub const FILE: &'static str = "atlas-catalogue.json";

    /// Reads the stored catalogue, if any.
    pub fn load(data_dir: &Path) -> Result<Option<Catalogue>, CatalogueError> {
        let path = data_dir.join(Self::FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CatalogueError::Io { path: path.display().to_string(), source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|source| CatalogueError::Json { path: path.display().to_string(), source })
    }

    /// Serialises for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// What changed between two catalogues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogueDiff {
    /// Previous version, if there was one.
    pub from_version: Option<String>,
    /// New version.
    pub to_version: String,
    /// Technique ids new in this version.
    pub added: Vec<String>,
    /// Technique ids gone (or now deprecated).
    pub removed: Vec<String>,
    /// `(id, old name, new name)`.
    pub renamed: Vec<(String, String, String)>,
    /// Mitigation ids new in this version.
    pub mitigations_added: Vec<String>,
    /// Mitigation ids gone.
    pub mitigations_removed: Vec<String>,
}

/// Compares an old catalogue (or none) with a new one.
pub fn diff(old: Option<&Catalogue>, new: &Catalogue) -> CatalogueDiff {
    let empty = Catalogue::default();
    let old_cat = old.unwrap_or(&empty);
    let active = |c: &Catalogue| -> BTreeMap<String, String> {
        c.techniques.values().filter(|t| !t.deprecated).map(|t| (t.id.clone(), t.name.clone())).collect()
    };
    let (before, after) = (active(old_cat), active(new));
    CatalogueDiff {
        from_version: old.map(|c| c.version.clone()),
        to_version: new.version.clone(),
        added: after.keys().filter(|k| !before.contains_key(*k)).cloned().collect(),
        removed: before.keys().filter(|k| !after.contains_key(*k)).cloned().collect(),
        renamed: before
            .iter()
            .filter_map(|(k, old_name)| after.get(k).filter(|n| *n != old_name).map(|n| (k.clone(), old_name.clone(), n.clone())))
            .collect(),
        mitigations_added: new.mitigations.keys().filter(|k| !old_cat.mitigations.contains_key(*k)).cloned().collect(),
        mitigations_removed: old_cat.mitigations.keys().filter(|k| !new.mitigations.contains_key(*k)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
id: ATLAS
version: 9
matrices:
- id: ATLAS
  tactics:
  - {id: AML.TA0004, name: Initial Access, object-type: tactic}
  techniques:
  - {id: AML.T0010, name: Supply Chain, tactics: [AML.TA0004, AML.TA9999], created_date: 2022-01-24}
  - {id: AML.T0010.003, name: Model, subtechnique-of: AML.T0010}
  - {id: AML.T0099, name: Old thing, deprecated: true}
  - just a string
  mitigations:
  - id: AML.M0013
    name: Code Signing
    techniques: [{id: AML.T0010.003, use: sign it}, AML.T0010, 42]
    ml-lifecycle: [Deployment, {id: AML.T0010, use: stray}]
- id: OTHER
  tactics: []
  techniques:
  - {id: AML.T0010, name: Supply Chain again, tactics: [AML.TA0004]}
"#;

    #[test]
    fn quirks_are_handled() {
        let (cat, report) = import(SMALL, ImportLimits::default()).unwrap();
        assert_eq!(cat.version, "9");
        assert_eq!(cat.techniques["AML.T0010"].name, "Supply Chain");
        assert_eq!(cat.techniques["AML.T0010"].tactics, ["AML.TA0004"]);
        assert_eq!(cat.techniques["AML.T0010.003"].tactics, ["AML.TA0004"], "inherited from the parent");
        assert!(cat.technique("AML.T0099").is_none(), "deprecated entries are not active");
        assert_eq!(cat.mitigations["AML.M0013"].techniques.len(), 2);
        assert_eq!(cat.mitigations_for("AML.T0010.003")[0].id, "AML.M0013");
        let warnings = report.warnings.join("; ");
        assert!(warnings.contains("1 technique that is not a mapping"), "{warnings}");
        assert!(warnings.contains("1 non-text `ml-lifecycle`"), "{warnings}");
        assert!(warnings.contains("(merged)"), "{warnings}");
    }

    #[test]
    fn diff_reports_added_removed_renamed() {
        let (old, _) = import(SMALL, ImportLimits::default()).unwrap();
        let mut new = old.clone();
        new.version = "10".into();
        new.techniques.remove("AML.T0010.003");
        new.techniques.get_mut("AML.T0010").unwrap().name = "AI Supply Chain".into();
        let mut added = new.techniques["AML.T0010"].clone();
        added.id = "AML.T0200".into();
        new.techniques.insert(added.id.clone(), added);
        let d = diff(Some(&old), &new);
        assert_eq!(d.added, ["AML.T0200"]);
        assert_eq!(d.removed, ["AML.T0010.003"]);
        assert_eq!(d.renamed, [("AML.T0010".to_string(), "Supply Chain".to_string(), "AI Supply Chain".to_string())]);
    }

    #[test]
    #[allow(clippy::print_stderr)] // says why the test is skipped
    fn real_distribution_file_imports_with_every_rule_technique() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/atlas/ATLAS.yaml");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} not present");
            return;
        };
        let (cat, report) = import(&text, ImportLimits::default()).unwrap();
        assert!(cat.techniques.len() >= 150 && cat.tactics.len() >= 14 && cat.mitigations.len() >= 30);
        assert!(cat.techniques.values().all(|t| !t.tactics.is_empty()), "every technique has a tactic after inheritance");
        assert!(report.warnings.iter().any(|w| w.contains("ml-lifecycle")), "{:?}", report.warnings);
        for rule in crate::rules::shipped() {
            for id in &rule.rule.atlas {
                assert!(cat.technique(id).is_some(), "{}: {id} is not in ATLAS {}", rule.rule.id, cat.version);
            }
        }
        for control in crate::controls::all() {
            for id in &control.atlas {
                assert!(cat.mitigations.contains_key(id), "{}: {id} is not an ATLAS mitigation", control.id);
            }
        }
        let back: Catalogue = serde_json::from_str(&cat.to_json()).unwrap();
        assert_eq!(back, cat);
    }

    #[test]
    fn not_atlas_is_a_clear_error() {
        let err = import("a: 1\n", ImportLimits::default()).unwrap_err();
        assert!(err.to_string().contains("no `matrices` list"), "{err}");
        assert!(import("matrices: [{techniques: []}]\n", ImportLimits::default()).is_err());
    }
}
