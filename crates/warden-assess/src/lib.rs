//! AI system descriptions, the ATLAS threat catalogue, risk scoring and compliance views.
//!
//! A user describes their AI system in YAML ([`system::SystemDescription`], loaded and
//! validated by [`load::parse_system`]). [`assess::assess`] applies the shipped threat-mapping
//! rules ([`rules`], data in `data/rules.yaml`) to every element, following data flows, trust
//! boundaries and exposure ([`attributes`]), and scores each match into a risk register adjusted
//! by the controls in place and by evidence from other warden commands ([`evidence`]). The
//! result renders as a table, JSON, Markdown or a self-contained HTML report ([`render`]), as
//! findings for SARIF ([`assess::to_report`]), as compliance views ([`compliance`]) and as a
//! CycloneDX ML-BOM ([`bom`]). [`catalogue`] imports the MITRE ATLAS distribution file.
//!
//! This crate never touches the network and never reads files on its own except where a
//! function takes a path; the shipped rules, controls and framework catalogues are compiled in.
//!
//! ```
//! use warden_assess::{assess, load};
//!
//! let yaml = "version: 1\nsystem: {name: demo}\nmodels:\n  - {id: m, kind: classifier, format: pickle, origin: public-hub}\n";
//! let system = load::parse_system(yaml, load::Limits::default()).unwrap();
//! let result = assess::assess("system.yaml", &system, Vec::new(), assess::AssessOptions::default());
//! assert!(result.risks.iter().any(|r| r.rule == "assess.external-model-artifact"));
//! ```

pub mod assess;
pub mod attributes;
pub mod bom;
pub mod catalogue;
pub mod changes;
pub mod compliance;
pub mod controls;
pub mod evidence;
pub mod load;
pub mod render;
pub mod rules;
pub mod schema;
pub mod system;
pub mod taxonomy;
