//! The inventory as a CycloneDX 1.6 ML-BOM: models become `machine-learning-model` components
//! with model cards built from their `properties.model_card`, datasets and data sources `data`
//! components (classification = sensitivity, governance owners = the asset owner), deployments
//! `application` components; every `bom-ref` is the asset id, and each component depends on the
//! assets directly upstream of it in the lineage.
//!
//! `warden-assess` writes a BOM of a system *description* (its own types, not assets); the two
//! share the document's shape, not code: if a third writer appears, a small CycloneDX builder
//! belongs in `warden-core`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::assets::Asset;
use super::related::VersionSummary;
use super::lineage::GraphEdge;
use super::model::{self, AssetKind};

/// The CycloneDX version written.
pub const SPEC_VERSION: &str = "1.6";

/// A unix-millisecond time as RFC 3339 (`2024-12-06T16:00:00Z`).
pub fn rfc3339(ms: i64) -> String {
    // fmt_time gives `YYYY-MM-DD HH:MM:SS UTC`.
    let text = crate::ui::fmt_time(ms);
    format!("{}T{}Z", &text[..10], &text[11..19])
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": format!("warden:{name}"), "value": value.into()})
}

/// A property value that is a URL CycloneDX accepts as an IRI reference, if it parses as one.
fn url_of(text: &str) -> Option<String> {
    url::Url::parse(text.trim()).ok().filter(|u| !u.cannot_be_a_base()).map(|u| u.to_string())
}

fn common_properties(asset: &Asset) -> Vec<Value> {
    let mut props = vec![
        prop("kind", asset.kind.as_str()),
        prop("sensitivity", asset.sensitivity.as_str()),
        prop("lifecycle", asset.lifecycle.as_str()),
        prop("environment", asset.environment.clone()),
        prop("owner", asset.owner.clone()),
    ];
    for key in ["format", "provenance"] {
        if let Some(v) = asset.property(key) {
            props.push(prop(key, v));
        }
    }
    if let Some(source) = asset.property("source")
        && url_of(source).is_none()
    {
        props.push(prop("source", source));
    }
    props
}

fn base_component(asset: &Asset, kind: &str) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("type".into(), json!(kind));
    c.insert("bom-ref".into(), json!(asset.id));
    c.insert("name".into(), json!(asset.name));
    if !asset.description.is_empty() {
        c.insert("description".into(), json!(asset.description));
    }
    if let Some(license) = asset.property("license") {
        c.insert("licenses".into(), json!([{"license": {"name": license}}]));
    }
    if let Some(url) = asset.property("source").and_then(url_of) {
        let kind = if asset.kind == AssetKind::Deployment { "website" } else { "distribution" };
        c.insert("externalReferences".into(), json!([{"type": kind, "url": url}]));
    }
    if !asset.tags.is_empty() {
        c.insert("tags".into(), json!(asset.tags));
    }
    c.insert("properties".into(), Value::Array(common_properties(asset)));
    c
}

/// The model card of `asset`: parameters (task, architecture, approach, training datasets from
/// lineage), metrics, and considerations from `properties.model_card`.
fn model_card(asset: &Asset, datasets: &[&str]) -> Value {
    let empty = Map::new();
    let card = asset.model_card().unwrap_or(&empty);
    let text = |key: &str| card.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    let mut parameters = Map::new();
    if let Some(approach) = text("approach") {
        parameters.insert("approach".into(), json!({"type": approach}));
    }
    for (key, field) in [("task", "task"), ("architecture_family", "architectureFamily"), ("model_architecture", "modelArchitecture")] {
        if let Some(v) = text(key) {
            parameters.insert(field.into(), json!(v));
        }
    }
    if !datasets.is_empty() {
        parameters.insert("datasets".into(), Value::Array(datasets.iter().map(|d| json!({"ref": d})).collect()));
    }
    let mut out = Map::new();
    out.insert("bom-ref".into(), json!(format!("{}:model-card", asset.id)));
    if !parameters.is_empty() {
        out.insert("modelParameters".into(), Value::Object(parameters));
    }
    let metrics: Vec<Value> = model::card_metrics(card)
        .into_iter()
        .map(|(kind, value, slice)| {
            let mut m = json!({"type": kind, "value": value});
            if let Some(slice) = slice {
                m["slice"] = json!(slice);
            }
            m
        })
        .collect();
    if !metrics.is_empty() {
        out.insert("quantitativeAnalysis".into(), json!({"performanceMetrics": metrics}));
    }
    let mut considerations = Map::new();
    for (key, field) in [("users", "users"), ("intended_use", "useCases"), ("limitations", "technicalLimitations"), ("tradeoffs", "performanceTradeoffs")] {
        let items = model::card_list(card, key);
        if !items.is_empty() {
            considerations.insert(field.into(), json!(items));
        }
    }
    let ethics: Vec<Value> = model::card_list(card, "ethical_considerations").into_iter().map(|name| json!({"name": name})).collect();
    if !ethics.is_empty() {
        considerations.insert("ethicalConsiderations".into(), Value::Array(ethics));
    }
    if !considerations.is_empty() {
        out.insert("considerations".into(), Value::Object(considerations));
    }
    if let Some(training) = text("training_data") {
        out.insert("properties".into(), json!([prop("training-data", training)]));
    }
    Value::Object(out)
}

/// The `data` entry of a dataset or data source.
fn data_entry(asset: &Asset) -> Value {
    let mut data = json!({
        "type": "dataset",
        "name": asset.name,
        "classification": asset.sensitivity.as_str(),
        "governance": {"owners": [{"contact": {"name": asset.owner}}]},
    });
    if let Some(url) = asset.property("source").and_then(url_of) {
        data["contents"] = json!({"url": url});
    }
    if asset.properties.get("personal_data").and_then(Value::as_bool) == Some(true) {
        data["sensitiveData"] = json!(["personal data"]);
    }
    data
}

/// The component of one asset. `upstream` are the ids of the assets it comes from; `version` the
/// model version to describe (production, else newest).
fn component(asset: &Asset, upstream: &[&str], kinds: &HashMap<&str, AssetKind>, version: Option<&VersionSummary>) -> Value {
    match asset.kind {
        AssetKind::Model => {
            let mut c = base_component(asset, "machine-learning-model");
            if let Some(v) = version {
                c.insert("version".into(), json!(v.version));
                if v.sha256.len() == 64 {
                    c.insert("hashes".into(), json!([{"alg": "SHA-256", "content": v.sha256}]));
                }
            }
            let datasets: Vec<&str> = upstream.iter().copied().filter(|u| kinds.get(u) == Some(&AssetKind::Dataset)).collect();
            c.insert("modelCard".into(), model_card(asset, &datasets));
            Value::Object(c)
        }
        AssetKind::Dataset | AssetKind::DataSource => {
            let mut c = base_component(asset, "data");
            c.insert("data".into(), json!([data_entry(asset)]));
            Value::Object(c)
        }
        AssetKind::Deployment => Value::Object(base_component(asset, "application")),
    }
}

/// The version of a model the BOM describes: the one in production, else the newest.
fn described_version(versions: &[VersionSummary]) -> Option<&VersionSummary> {
    versions.iter().find(|v| v.stage == "production" && !v.quarantined).or_else(|| versions.first())
}

/// Builds the BOM of `assets` (already filtered to what the caller may read) with the `edges`
/// between them, `versions` of models by asset id, generated at `now_ms`.
pub fn document(assets: &[Asset], edges: &[GraphEdge], versions: &HashMap<String, Vec<VersionSummary>>, now_ms: i64, serial: &str) -> Value {
    let kinds: HashMap<&str, AssetKind> = assets.iter().map(|a| (a.id.as_str(), a.kind)).collect();
    let mut upstream: HashMap<&str, Vec<&str>> = HashMap::new();
    for edge in edges {
        if kinds.contains_key(edge.from.as_str()) && kinds.contains_key(edge.to.as_str()) {
            let list = upstream.entry(edge.to.as_str()).or_default();
            if !list.contains(&edge.from.as_str()) {
                list.push(edge.from.as_str());
            }
        }
    }
    let mut ordered: Vec<&Asset> = assets.iter().collect();
    ordered.sort_by(|a, b| (a.kind.layer(), &a.name, &a.id).cmp(&(b.kind.layer(), &b.name, &b.id)));
    let mut components = Vec::with_capacity(ordered.len());
    let mut dependencies = Vec::with_capacity(ordered.len());
    for asset in ordered {
        let ups = upstream.get(asset.id.as_str()).cloned().unwrap_or_default();
        let version = versions.get(&asset.id).and_then(|v| described_version(v));
        components.push(component(asset, &ups, &kinds, version));
        dependencies.push(json!({"ref": asset.id, "dependsOn": ups}));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(now_ms),
            "tools": {"components": [{"type": "application", "name": "warden", "version": env!("CARGO_PKG_VERSION")}]},
            "properties": [prop("export", "inventory")],
        },
        "components": components,
        "dependencies": dependencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::{Lifecycle, Relation, Sensitivity};

    fn asset(id: &str, kind: AssetKind, properties: Value) -> Asset {
        Asset {
            id: id.into(),
            kind,
            name: format!("{id}-name"),
            description: String::new(),
            owner: "alice".into(),
            sensitivity: Sensitivity::Confidential,
            lifecycle: Lifecycle::Production,
            environment: "production".into(),
            tags: vec!["fraud".into()],
            properties: properties.as_object().cloned().unwrap_or_default(),
            frozen: false,
            created_by: "alice".into(),
            created_at: 0,
            updated_at: 0,
            retired_at: None,
        }
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(1_733_500_800_000), "2024-12-06T16:00:00Z");
    }

    #[test]
    fn a_chain_becomes_components_with_a_model_card_and_dependencies() {
        let assets = vec![
            asset("m", AssetKind::Model, json!({"license": "apache-2.0", "model_card": {"task": "classification", "intended_use": "triage", "metrics": {"auc": 0.9}}})),
            asset("d", AssetKind::Dataset, json!({"personal_data": true, "source": "s3://bucket/claims"})),
            asset("s", AssetKind::DataSource, json!({})),
            asset("p", AssetKind::Deployment, json!({})),
        ];
        let edge = |f: &str, t: &str, r| GraphEdge { id: format!("{f}{t}"), from: f.into(), to: t.into(), relation: r };
        let edges = vec![edge("s", "d", Relation::Feeds), edge("d", "m", Relation::Trains), edge("m", "p", Relation::Deploys), edge("x", "m", Relation::FineTunes)];
        let bom = document(&assets, &edges, &HashMap::new(), 0, "00000000-0000-4000-8000-000000000000");
        let refs: Vec<&str> = bom["components"].as_array().unwrap().iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
        assert_eq!(refs, ["s", "d", "m", "p"]);
        let model = &bom["components"][2];
        assert_eq!(model["type"], "machine-learning-model");
        assert_eq!(model["modelCard"]["modelParameters"]["datasets"], json!([{"ref": "d"}]));
        assert_eq!(model["modelCard"]["considerations"]["useCases"], json!(["triage"]));
        assert_eq!(model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"], json!([{"type": "auc", "value": "0.9"}]));
        assert_eq!(model["licenses"], json!([{"license": {"name": "apache-2.0"}}]));
        let data = &bom["components"][1]["data"][0];
        assert_eq!(data["classification"], "confidential");
        assert_eq!(data["contents"]["url"], "s3://bucket/claims");
        assert_eq!(data["sensitiveData"], json!(["personal data"]));
        let deps = bom["dependencies"].as_array().unwrap();
        // The edge from `x` (not in the BOM, e.g. hidden by policy) is left out.
        assert_eq!(deps[2], json!({"ref": "m", "dependsOn": ["d"]}));
        assert_eq!(deps[0], json!({"ref": "s", "dependsOn": []}));
    }
}
