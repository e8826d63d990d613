//! The pickle policy: which callables a pickle may import (allow), which are dangerous (deny) and
//! which need a human to look (review, and anything not listed).
//!
//! The pickle machine resolves every callable a real unpickler would import to a dotted path,
//! `module.qualname` (`os.system`, `torch._utils._rebuild_tensor_v2`), and asks
//! [`Policy::classify`] for a [`Verdict`]. Allowed callables produce no finding, denied ones a
//! critical (or the entry's) finding with the entry's reason, unknown ones a medium finding.
//!
//! # Policy file format
//!
//! A policy is a TOML file with three arrays of tables, `allow`, `review` and `deny`:
//!
//! ```toml
//! [[allow]]
//! patterns = ["collections.OrderedDict", "torch.*Storage"]
//! reason = "plain containers and tensor storage classes"        # optional for allow
//! examples = ["torch.FloatStorage"]                              # optional, checked
//! counterexamples = ["torch.load"]                               # optional, checked
//!
//! [[review]]
//! patterns = ["sklearn.utils._testing.**"]
//! reason = "test helpers that create files; never needed to load a model"
//!
//! [[deny]]
//! patterns = ["os.**", "posix.**"]
//! reason = "runs shell commands and changes files"               # required for deny
//! severity = "critical"                                          # default critical
//! rule = "dangerous-global"                                      # or "code-object"
//! ```
//!
//! **Patterns** are dotted paths whose segments are globs: `*` matches within one segment, `?` one
//! character, `[A-Z]` / `[!a-z]` a character set, and the segment `**` any number of whole segments
//! (`os.**` is `os` and everything under it). Paths are matched on the full `module.qualname`, so
//! `GLOBAL 'os.path' 'join'` and `GLOBAL 'os' 'path.join'` are the same path.
//!
//! **Examples** (`module.name`, or `module:qualname` when the name itself is dotted) must each be
//! matched by one of the entry's patterns, counterexamples by none: loading a policy checks them,
//! so a file documents and tests itself.
//!
//! # Precedence
//!
//! Policies stack: the shipped policy is the bottom layer and [`Policy::merge`] puts another on
//! top. Layers are consulted from the top; the first layer with a matching entry decides, so user
//! entries override shipped ones in both directions. Within one layer deny always wins; otherwise
//! an exact pattern beats a glob, and among equals review beats allow (so a shipped glob allow can
//! carve out a reviewed subtree, which can in turn allow one exact class).
//!
//! Two rules protect allow globs from attribute traversal, where a pickle names a harmless module
//! and walks attributes to a dangerous one (`GLOBAL 'sklearn.utils' 'subprocess.Popen'`):
//! - a qualname with dots is allowed only by a pattern without wildcards, and deny entries are
//!   also tried on every tail of the path that starts inside the qualname (`subprocess.Popen`);
//! - a dunder attribute inside the qualname (`Foo.__init__.__globals__`) is always denied, except
//!   `__new__`, `__init__` and `__call__` as its last segment. No policy file can allow it.

mod pattern;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::Deserialize;
use warden_core::Severity;

use crate::error::Error;
use pattern::Pattern;

/// The policy shipped with warden (TOML, format above).
pub const SHIPPED_POLICY: &str = include_str!("shipped.toml");

static SHIPPED: LazyLock<Policy> = LazyLock::new(|| {
    // The shipped file is checked by the tests in this module; failing here is a build defect.
    Policy::from_toml(SHIPPED_POLICY, "<shipped policy>")
        .expect("the shipped pickle policy is valid")
});

/// Reason given for the built-in dunder-traversal rule.
const DUNDER_REASON: &str = "walks a dunder attribute (such as `__globals__`, `__builtins__` or `__subclasses__`) \
                             to reach interpreter internals, a standard sandbox escape";

/// Which pickle callables are safe, dangerous or unknown. [`Default`] is the shipped policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Bottom (shipped) first; later layers take precedence.
    layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
struct Layer {
    origin: String,
    entries: Vec<Entry>,
    /// Entries whose first segment is a literal, by that segment.
    by_first: HashMap<String, Vec<usize>>,
    /// Entries whose first segment is a wildcard.
    wild_first: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Entry {
    pattern: Pattern,
    action: Action,
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Review,
    Deny { severity: Severity, code: bool },
}

/// What the policy says about one callable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'p> {
    /// A known-safe constructor: no finding.
    Allow,
    /// Not known to be safe: a human should review it. `reason` is set when a review entry matched.
    Unknown {
        /// The matching review entry's reason, if any.
        reason: Option<&'p str>,
    },
    /// Known to be dangerous.
    Deny(Denial<'p>),
}

/// Why a callable is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial<'p> {
    /// Severity of the finding.
    pub severity: Severity,
    /// Why the callable is dangerous.
    pub reason: &'p str,
    /// The pattern that matched (or the built-in rule).
    pub pattern: &'p str,
    /// Where the matched path starts, in dotted segments of `module.qualname`: 0 when the callable
    /// itself matched, more when a tail reached through attribute traversal did.
    pub tail: usize,
    /// Whether the callable builds code objects or functions (reported as `pickle.code-object`).
    pub code: bool,
}

impl Default for Policy {
    fn default() -> Self {
        SHIPPED.clone()
    }
}

impl Policy {
    /// A policy with no entries: everything is unknown.
    pub fn empty() -> Policy {
        Policy { layers: Vec::new() }
    }

    /// Reads a policy file (format in the module docs).
    pub fn from_file(path: &Path) -> Result<Policy, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Policy {
            path: path.to_owned(),
            message: format!("cannot read: {e}"),
        })?;
        Policy::from_toml(&text, &path.display().to_string()).map_err(|message| Error::Policy {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses a policy from TOML text; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, String> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        if let Some(version) = file.version
            && version != 1
        {
            return Err(format!(
                "unsupported policy version {version} (this warden reads version 1)"
            ));
        }
        let mut entries = Vec::new();
        for (kind, list) in [
            ("allow", file.allow),
            ("review", file.review),
            ("deny", file.deny),
        ] {
            for (i, raw) in list.into_iter().enumerate() {
                let at = format!(
                    "[[{kind}]] entry {} ({})",
                    i + 1,
                    raw.patterns.first().map_or("no patterns", String::as_str)
                );
                entries.extend(raw.compile(kind).map_err(|e| format!("{at}: {e}"))?);
            }
        }
        Ok(Policy {
            layers: vec![Layer::new(origin.to_owned(), entries)],
        })
    }

    /// Puts `other` on top of this policy: its entries take precedence over this one's.
    pub fn merge(&mut self, other: Policy) {
        self.layers.extend(other.layers);
    }

    /// Where the layers came from, bottom first (for `--verbose` and reports).
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.layers.iter().map(|l| l.origin.as_str())
    }

    /// Judges the callable `name` of `module` (`name` may be dotted: `Class.method`).
    pub fn classify(&self, module: &str, name: &str) -> Verdict<'_> {
        let path: Vec<&str> = module.split('.').chain(name.split('.')).collect();
        let name_start = path.len() - name.split('.').count();
        let dotted_name = name.contains('.');
        if let Some(verdict) = dunder_traversal(&path[name_start..]) {
            return verdict;
        }
        for layer in self.layers.iter().rev() {
            if let Some(verdict) = layer.classify(&path, name_start, dotted_name) {
                return verdict;
            }
        }
        Verdict::Unknown { reason: None }
    }
}

impl Layer {
    fn new(origin: String, entries: Vec<Entry>) -> Layer {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wild_first = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match entry.pattern.first_literal() {
                Some(first) => by_first.entry(first.to_owned()).or_default().push(i),
                None => wild_first.push(i),
            }
        }
        Layer {
            origin,
            entries,
            by_first,
            wild_first,
        }
    }

    fn candidates<'l>(&'l self, path: &[&str]) -> impl Iterator<Item = &'l Entry> {
        let literal = path
            .first()
            .and_then(|first| self.by_first.get(*first))
            .map_or(&[][..], Vec::as_slice);
        literal
            .iter()
            .chain(&self.wild_first)
            .map(|&i| &self.entries[i])
    }

    fn classify(&self, path: &[&str], name_start: usize, dotted_name: bool) -> Option<Verdict<'_>> {
        // Deny: the whole path, then every tail that starts inside the qualname; entries that
        // name a module first, generic `**.name` entries after, so the reason is the specific one.
        let tails: Vec<usize> = std::iter::once(0)
            .chain((name_start..path.len()).filter(|&i| i > 0 && dotted_name))
            .collect();
        let specific = tails.iter().flat_map(|&start| {
            let first = path[start];
            self.by_first
                .get(first)
                .into_iter()
                .flatten()
                .map(move |&i| (start, i))
        });
        let generic = tails
            .iter()
            .flat_map(|&start| self.wild_first.iter().map(move |&i| (start, i)));
        for (start, i) in specific.chain(generic) {
            let tail = &path[start..];
            let entry = &self.entries[i];
            if let Action::Deny { severity, code } = entry.action
                && entry.pattern.matches(tail)
            {
                return Some(Verdict::Deny(Denial {
                    severity,
                    reason: entry.reason.as_deref().unwrap_or("listed as dangerous"),
                    pattern: entry.pattern.as_str(),
                    tail: start,
                    code,
                }));
            }
        }
        // Then exact entries before globs, review before allow among equals.
        let matching: Vec<&Entry> = self
            .candidates(path)
            .filter(|e| e.action != Action::Allow || !dotted_name || e.pattern.is_literal())
            .filter(|e| e.pattern.matches(path))
            .collect();
        let rank = |e: &Entry| (!e.pattern.is_literal(), e.action == Action::Allow);
        let entry = matching.into_iter().min_by_key(|e| rank(e))?;
        Some(match entry.action {
            Action::Review => Verdict::Unknown {
                reason: entry.reason.as_deref(),
            },
            _ => Verdict::Allow,
        })
    }
}

/// The built-in rule: a dunder attribute inside a qualname is interpreter-internals traversal.
fn dunder_traversal<'p>(name: &[&str]) -> Option<Verdict<'p>> {
    let last = name.len().checked_sub(1)?;
    let hit = name.iter().enumerate().skip(1).any(|(i, seg)| {
        let dunder = seg.len() > 4 && seg.starts_with("__") && seg.ends_with("__");
        dunder && !(i == last && matches!(*seg, "__new__" | "__init__" | "__call__"))
    });
    hit.then_some(Verdict::Deny(Denial {
        severity: Severity::Critical,
        reason: DUNDER_REASON,
        pattern: "<built-in: dunder attribute traversal>",
        tail: 0,
        code: false,
    }))
}

/// One `[[allow]]`, `[[review]]` or `[[deny]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    patterns: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counterexamples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    allow: Vec<RawEntry>,
    #[serde(default)]
    review: Vec<RawEntry>,
    #[serde(default)]
    deny: Vec<RawEntry>,
}

impl RawEntry {
    fn compile(self, kind: &str) -> Result<Vec<Entry>, String> {
        if self.patterns.is_empty() {
            return Err("`patterns` is empty".to_owned());
        }
        let action = match kind {
            "deny" => {
                if self.reason.as_deref().is_none_or(str::is_empty) {
                    return Err("a deny entry needs a `reason`".to_owned());
                }
                let severity = match &self.severity {
                    Some(s) => Severity::from_str(s).map_err(|e| e.to_string())?,
                    None => Severity::Critical,
                };
                let code = match self.rule.as_deref() {
                    None | Some("dangerous-global") => false,
                    Some("code-object") => true,
                    Some(other) => {
                        return Err(format!(
                            "unknown rule `{other}` (expected dangerous-global or code-object)"
                        ));
                    }
                };
                Action::Deny { severity, code }
            }
            _ if self.severity.is_some() || self.rule.is_some() => {
                return Err(format!(
                    "`severity` and `rule` are only for deny entries, not {kind}"
                ));
            }
            "review" => Action::Review,
            _ => Action::Allow,
        };
        let patterns = self
            .patterns
            .iter()
            .map(|p| Pattern::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        for example in &self.examples {
            let (module, name) = split_example(example);
            let path: Vec<&str> = module.split('.').chain(name.split('.')).collect();
            if !patterns.iter().any(|p| p.matches(&path)) {
                return Err(format!(
                    "example `{example}` is matched by none of the patterns"
                ));
            }
        }
        for counter in &self.counterexamples {
            let (module, name) = split_example(counter);
            let path: Vec<&str> = module.split('.').chain(name.split('.')).collect();
            if let Some(p) = patterns.iter().find(|p| p.matches(&path)) {
                return Err(format!(
                    "counterexample `{counter}` is matched by `{}`",
                    p.as_str()
                ));
            }
        }
        Ok(patterns
            .into_iter()
            .map(|pattern| Entry {
                pattern,
                action,
                reason: self.reason.clone(),
            })
            .collect())
    }
}

/// Splits an example path: `module:qualname`, or `a.b.c` as module `a.b`, name `c`.
pub(crate) fn split_example(example: &str) -> (&str, &str) {
    if let Some((module, name)) = example.split_once(':') {
        return (module, name);
    }
    example.rsplit_once('.').unwrap_or(("", example))
}

#[cfg(test)]
mod tests;
