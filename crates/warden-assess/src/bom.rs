//! The described system as a CycloneDX 1.6 ML-BOM: models as `machine-learning-model`
//! components with model cards, data sources and datasets as `data` components, and lineage
//! (trained on, retrieves from, fine-tuned from, built from) as dependencies and pedigree.

use serde_json::{Value, json};

use crate::system::{ModelKind, SystemDescription};

fn fnv(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A deterministic UUID (RFC 9562 version 8) from the description, so the same input gives the
/// same BOM serial number.
fn serial(system: &SystemDescription) -> String {
    let text = serde_json::to_vec(system).unwrap_or_default();
    let (a, b) = (fnv(&text, 0), fnv(&text, 0x9e37_79b9_7f4a_7c15));
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x8000; // version 8
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC variant
    format!("urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff)
}

fn prop(name: &str, value: impl ToString) -> Value {
    json!({"name": format!("warden:{name}"), "value": value.to_string()})
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Builds the BOM document.
pub fn cyclonedx(system: &SystemDescription, tool_version: &str) -> Value {
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    for s in &system.data_sources {
        let mut c = json!({
            "type": "data",
            "bom-ref": format!("data:{}", s.id),
            "name": s.name.as_deref().unwrap_or(&s.id),
            "data": [{"type": "dataset", "name": s.id, "classification": if s.personal_data || s.special_category { "personal" } else { "non-personal" }}],
            "properties": [prop("element", "data-source"), prop("provenance", enum_str(&s.provenance)), prop("personal-data", s.personal_data), prop("special-category", s.special_category)],
        });
        if let Some(l) = &s.licence {
            c["licenses"] = json!([{"license": {"name": l}}]);
        }
        components.push(c);
    }
    for d in &system.datasets {
        components.push(json!({
            "type": "data",
            "bom-ref": format!("data:{}", d.id),
            "name": d.name.as_deref().unwrap_or(&d.id),
            "data": [{"type": "dataset", "name": d.id, "classification": if d.personal_data { "personal" } else { "unclassified" }, "contents": d.path.as_ref().map(|p| json!({"url": p}))}],
            "properties": [prop("element", "dataset"), prop("kind", enum_str(&d.kind))],
        }));
        if !d.sources.is_empty() {
            dependencies.push(json!({"ref": format!("data:{}", d.id), "dependsOn": d.sources.iter().map(|s| format!("data:{s}")).collect::<Vec<_>>()}));
        }
    }
    for m in &system.models {
        let task = match m.kind {
            ModelKind::Classifier => "classification",
            ModelKind::Regressor => "regression",
            ModelKind::Llm => "text-generation",
            ModelKind::Embedding => "feature-extraction",
            ModelKind::Generative => "generation",
            ModelKind::Other => "other",
        };
        let datasets: Vec<Value> = m.trained_on.iter().map(|d| json!({"ref": format!("data:{d}")})).collect();
        let mut c = json!({
            "type": "machine-learning-model",
            "bom-ref": format!("model:{}", m.id),
            "name": m.name.as_deref().unwrap_or(&m.id),
            "modelCard": {
                "modelParameters": {"task": task, "datasets": datasets, "modelArchitecture": enum_str(&m.kind)},
                "considerations": {"useCases": system.system.purpose.iter().collect::<Vec<_>>()},
            },
            "properties": [prop("element", "model"), prop("origin", enum_str(&m.origin)), prop("format", enum_str(&m.format)), prop("signed", m.signed), prop("decisions", enum_str(&m.decisions))],
        });
        if let Some(v) = &m.version {
            c["version"] = json!(v);
        }
        if let Some(l) = &m.licence {
            c["licenses"] = json!([{"license": {"name": l}}]);
        }
        if let Some(base) = &m.fine_tuned_from {
            c["pedigree"] = json!({"ancestors": [{"type": "machine-learning-model", "bom-ref": format!("model:{}:ancestor", m.id), "name": base}]});
        }
        components.push(c);
        let deps: Vec<String> = m
            .fine_tuned_from
            .iter()
            .map(|b| format!("model:{b}"))
            .chain(m.trained_on.iter().chain(&m.retrieves_from).map(|d| format!("data:{d}")))
            .collect();
        if !deps.is_empty() {
            dependencies.push(json!({"ref": format!("model:{}", m.id), "dependsOn": deps}));
        }
    }
    let models: Vec<String> = system.models.iter().map(|m| format!("model:{}", m.id)).collect();
    dependencies.insert(0, json!({"ref": "system", "dependsOn": models}));
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial(system),
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "warden", "version": tool_version}]},
            "component": {"type": "application", "bom-ref": "system", "name": system.system.name, "description": system.system.description},
        },
        "components": components,
        "dependencies": dependencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_has_models_data_and_lineage() {
        let yaml = "version: 1\nsystem: {name: s}\ndata_sources: [{id: src, provenance: partner, personal_data: true}]\ndatasets: [{id: d, kind: training, sources: [src]}]\nmodels:\n  - {id: base, kind: llm, format: safetensors, origin: public-hub}\n  - {id: m, kind: llm, format: safetensors, origin: internal, fine_tuned_from: base, trained_on: [d]}\n";
        let system = crate::load::parse_system(yaml, crate::load::Limits::default()).unwrap();
        let bom = cyclonedx(&system, "0.1.0");
        assert_eq!(bom["specVersion"], "1.6");
        let types: Vec<&str> = bom["components"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["data", "data", "machine-learning-model", "machine-learning-model"]);
        let deps = bom["dependencies"].as_array().unwrap();
        assert!(deps.iter().any(|d| d["ref"] == "model:m" && d["dependsOn"] == json!(["model:base", "data:d"])));
        assert_eq!(serial(&system), serial(&system));
        assert!(bom["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
    }
}
