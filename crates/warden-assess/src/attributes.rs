//! What rules see of each element: its own fields plus facts derived by following the system's
//! data flows, serving relations and trust boundaries (exposure, untrusted inputs, lineage).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::rules::Attributes;
use crate::system::{Authentication, ElementKind, Provenance, SystemDescription};

/// Attribute names each element kind exposes to rules (documented in docs/assess.md).
pub fn known(kind: ElementKind) -> &'static [&'static str] {
    match kind {
        ElementKind::DataSource => &["provenance", "personal_data", "special_category", "has_licence", "crosses_boundary"],
        ElementKind::Dataset => &[
            "kind",
            "personal_data",
            "special_category",
            "untrusted_source",
            "source_provenance",
            "used_for_training",
            "used_for_retrieval",
            "crosses_boundary",
        ],
        ElementKind::Model => &[
            "kind",
            "format",
            "origin",
            "signed",
            "fine_tuned",
            "base_origin",
            "deployed",
            "exposure",
            "authenticated",
            "rate_limited",
            "returns_confidence",
            "untrusted_training_data",
            "personal_data_in_training",
            "retrieval",
            "retrieval_untrusted",
            "retrieval_personal_data",
            "has_tools",
            "decisions",
            "decisions_about_people",
            "crosses_boundary",
        ],
        ElementKind::Environment => &["kind", "hosting", "runs_models", "crosses_boundary"],
        ElementKind::Endpoint => &[
            "exposure",
            "authentication",
            "authenticated",
            "rate_limited",
            "returns_confidence",
            "model_kind",
            "crosses_boundary",
        ],
    }
}

/// A directed data flow between two elements.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    /// Source id.
    pub from: String,
    /// Destination id.
    pub to: String,
    /// What moves.
    pub label: String,
}

/// Every flow: those implied by the description's relations, then the explicit ones.
pub fn flows(system: &SystemDescription) -> Vec<Edge> {
    let mut out = Vec::new();
    let mut push = |from: &str, to: &str, label: &str| {
        out.push(Edge { from: from.into(), to: to.into(), label: label.into() });
    };
    for d in &system.datasets {
        for s in &d.sources {
            push(s, &d.id, "records");
        }
    }
    for m in &system.models {
        if let Some(base) = &m.fine_tuned_from {
            push(base, &m.id, "base weights");
        }
        for d in &m.trained_on {
            push(d, &m.id, "training data");
        }
        for d in &m.retrieves_from {
            push(d, &m.id, "retrieved context");
        }
    }
    for e in &system.endpoints {
        push(&e.serves, &e.id, "predictions");
    }
    for f in &system.flows {
        push(&f.from, &f.to, f.data.as_deref().unwrap_or("data"));
    }
    out
}

fn str_of<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn provenance_rank(p: Provenance) -> u8 {
    match p {
        Provenance::Internal => 0,
        Provenance::Vendor => 1,
        Provenance::Partner => 2,
        Provenance::UserGenerated => 3,
        Provenance::Public => 4,
    }
}

/// Attributes of every element, by id.
pub fn derive(system: &SystemDescription) -> HashMap<String, Attributes> {
    let edges = flows(system);
    let boundary: HashMap<&str, &str> = system
        .trust_boundaries
        .iter()
        .flat_map(|b| b.elements.iter().map(move |e| (e.as_str(), b.id.as_str())))
        .collect();
    let has_boundaries = !system.trust_boundaries.is_empty();
    let crossing: HashSet<&str> = edges
        .iter()
        .filter(|e| has_boundaries && boundary.get(e.from.as_str()) != boundary.get(e.to.as_str()))
        .map(|e| e.to.as_str())
        .collect();

    let sources: HashMap<&str, &crate::system::DataSource> = system.data_sources.iter().map(|s| (s.id.as_str(), s)).collect();
    let models: HashMap<&str, &crate::system::Model> = system.models.iter().map(|m| (m.id.as_str(), m)).collect();

    // Dataset facts reused by models.
    struct DatasetFacts {
        personal: bool,
        special: bool,
        worst: Option<Provenance>,
    }
    let dataset_facts: HashMap<&str, DatasetFacts> = system
        .datasets
        .iter()
        .map(|d| {
            let srcs: Vec<_> = d.sources.iter().filter_map(|s| sources.get(s.as_str())).collect();
            let facts = DatasetFacts {
                personal: d.personal_data || srcs.iter().any(|s| s.personal_data || s.special_category),
                special: srcs.iter().any(|s| s.special_category),
                worst: srcs.iter().map(|s| s.provenance).max_by_key(|p| provenance_rank(*p)),
            };
            (d.id.as_str(), facts)
        })
        .collect();
    let used_for_training: HashSet<&str> = system.models.iter().flat_map(|m| m.trained_on.iter().map(String::as_str)).collect();
    let used_for_retrieval: HashSet<&str> =
        system.models.iter().flat_map(|m| m.retrieves_from.iter().map(String::as_str)).collect();

    let mut out: HashMap<String, Attributes> = HashMap::new();
    let mut put = |id: &str, pairs: Vec<(&str, Value)>| {
        let mut attrs: Attributes = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        attrs.insert("crosses_boundary".into(), Value::Bool(crossing.contains(id)));
        out.insert(id.to_owned(), attrs);
    };

    for s in &system.data_sources {
        put(
            &s.id,
            vec![
                ("provenance", str_of(&s.provenance)),
                ("personal_data", Value::Bool(s.personal_data || s.special_category)),
                ("special_category", Value::Bool(s.special_category)),
                ("has_licence", Value::Bool(s.licence.is_some())),
            ],
        );
    }
    for d in &system.datasets {
        let facts = &dataset_facts[d.id.as_str()];
        put(
            &d.id,
            vec![
                ("kind", str_of(&d.kind)),
                ("personal_data", Value::Bool(facts.personal)),
                ("special_category", Value::Bool(facts.special)),
                ("untrusted_source", Value::Bool(facts.worst.is_some_and(|p| p != Provenance::Internal))),
                ("source_provenance", facts.worst.map(|p| str_of(&p)).unwrap_or(Value::from("none"))),
                ("used_for_training", Value::Bool(used_for_training.contains(d.id.as_str()))),
                ("used_for_retrieval", Value::Bool(used_for_retrieval.contains(d.id.as_str()))),
            ],
        );
    }
    for m in &system.models {
        let endpoints: Vec<_> = system.endpoints.iter().filter(|e| e.serves == m.id).collect();
        let exposure = endpoints.iter().map(|e| e.exposure).max();
        let base_origin = m.fine_tuned_from.as_deref().and_then(|b| models.get(b)).map(|b| b.origin);
        let training: Vec<_> = m.trained_on.iter().filter_map(|d| dataset_facts.get(d.as_str())).collect();
        let retrieval: Vec<_> = m.retrieves_from.iter().filter_map(|d| dataset_facts.get(d.as_str())).collect();
        let untrusted = |f: &&DatasetFacts| f.worst.is_some_and(|p| p != Provenance::Internal);
        put(
            &m.id,
            vec![
                ("kind", str_of(&m.kind)),
                ("format", str_of(&m.format)),
                ("origin", str_of(&m.origin)),
                ("signed", Value::Bool(m.signed)),
                ("fine_tuned", Value::Bool(m.fine_tuned_from.is_some())),
                ("base_origin", base_origin.map(|o| str_of(&o)).unwrap_or(Value::from("none"))),
                ("deployed", Value::Bool(!endpoints.is_empty())),
                ("exposure", exposure.map(|e| str_of(&e)).unwrap_or(Value::from("none"))),
                ("authenticated", Value::Bool(endpoints.iter().all(|e| e.authentication != Authentication::None))),
                ("rate_limited", Value::Bool(endpoints.iter().all(|e| e.rate_limit.is_some()))),
                ("returns_confidence", Value::Bool(endpoints.iter().any(|e| e.returns_confidence))),
                ("untrusted_training_data", Value::Bool(training.iter().any(untrusted))),
                ("personal_data_in_training", Value::Bool(training.iter().any(|f| f.personal))),
                ("retrieval", Value::Bool(!m.retrieves_from.is_empty())),
                ("retrieval_untrusted", Value::Bool(retrieval.iter().any(untrusted))),
                ("retrieval_personal_data", Value::Bool(retrieval.iter().any(|f| f.personal))),
                ("has_tools", Value::Bool(!m.tools.is_empty())),
                ("decisions", str_of(&m.decisions)),
                ("decisions_about_people", Value::Bool(system.system.decisions_about_people)),
            ],
        );
    }
    for e in &system.environments {
        put(
            &e.id,
            vec![
                ("kind", str_of(&e.kind)),
                ("hosting", str_of(&e.hosting)),
                ("runs_models", Value::Bool(!e.runs.is_empty())),
            ],
        );
    }
    for e in &system.endpoints {
        let model_kind = models.get(e.serves.as_str()).map(|m| str_of(&m.kind)).unwrap_or(Value::from("none"));
        put(
            &e.id,
            vec![
                ("exposure", str_of(&e.exposure)),
                ("authentication", str_of(&e.authentication)),
                ("authenticated", Value::Bool(e.authentication != Authentication::None)),
                ("rate_limited", Value::Bool(e.rate_limit.is_some())),
                ("returns_confidence", Value::Bool(e.returns_confidence)),
                ("model_kind", model_kind),
            ],
        );
    }
    out
}

/// The trust boundary holding each element, by id.
pub fn boundary_of(system: &SystemDescription) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for b in &system.trust_boundaries {
        for e in &b.elements {
            out.entry(e.clone()).or_insert_with(|| b.id.clone());
        }
    }
    out
}
