//! What a catalogue update changes in an assessment: technique names, techniques the new
//! catalogue no longer lists, and ATLAS mitigations added or removed, risk by risk.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::assess::{Assessment, Risk};

/// One change to one risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskChange {
    /// Rule id.
    pub rule: String,
    /// Element id.
    pub element: String,
    /// What changed.
    pub change: String,
}

fn key(r: &Risk) -> (String, String) {
    (r.rule.clone(), r.element.clone())
}

/// Compares the same system assessed with the old and the new catalogue.
pub fn compare(old: &Assessment, new: &Assessment) -> Vec<RiskChange> {
    let before: BTreeMap<_, &Risk> = old.risks.iter().map(|r| (key(r), r)).collect();
    let mut out = Vec::new();
    for r in &new.risks {
        let push = |out: &mut Vec<RiskChange>, change: String| {
            out.push(RiskChange { rule: r.rule.clone(), element: r.element.clone(), change });
        };
        let Some(prev) = before.get(&key(r)) else {
            push(&mut out, "new risk".into());
            continue;
        };
        for t in &r.techniques {
            match prev.techniques.iter().find(|p| p.id == t.id) {
                Some(p) if p.name != t.name => push(&mut out, format!("{} renamed: `{}` -> `{}`", t.id, p.name, t.name)),
                _ => {}
            }
            if t.missing_from_catalogue && !prev.techniques.iter().any(|p| p.id == t.id && p.missing_from_catalogue) {
                push(&mut out, format!("{} is no longer in the catalogue", t.id));
            }
        }
        for (id, name) in &r.atlas_mitigations {
            if !prev.atlas_mitigations.iter().any(|(p, _)| p == id) {
                push(&mut out, format!("ATLAS mitigation added: {id} {name}"));
            }
        }
        for (id, name) in &prev.atlas_mitigations {
            if !r.atlas_mitigations.iter().any(|(p, _)| p == id) {
                push(&mut out, format!("ATLAS mitigation removed: {id} {name}"));
            }
        }
    }
    out
}
