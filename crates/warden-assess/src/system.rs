//! The AI system description: the typed form of `system.yaml`.
//!
//! Every element (data source, dataset, model, environment, endpoint, trust boundary, person)
//! has an `id` unique across the whole description; other elements refer to it by that id.
//! Unknown fields are rejected so a typo never silently drops a control.

use serde::{Deserialize, Serialize};

/// A whole system description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemDescription {
    /// Format version; only `1` exists.
    pub version: u32,
    /// What the system is and who owns it.
    pub system: SystemInfo,
    /// Where data comes from.
    #[serde(default)]
    pub data_sources: Vec<DataSource>,
    /// Datasets built from the sources.
    #[serde(default)]
    pub datasets: Vec<Dataset>,
    /// Models trained, fine-tuned or used.
    #[serde(default)]
    pub models: Vec<Model>,
    /// Training and serving environments.
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Deployments and endpoints that serve models.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Groups of elements that share one level of trust.
    #[serde(default)]
    pub trust_boundaries: Vec<TrustBoundary>,
    /// Data flows beyond those implied by `sources`, `trained_on`, `serves` and so on.
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// People and roles with access.
    #[serde(default)]
    pub people: Vec<Person>,
    /// Controls already in place.
    #[serde(default)]
    pub controls: Vec<ControlUse>,
    /// Reports from other warden commands attached as evidence.
    #[serde(default)]
    pub evidence: Vec<EvidenceRef>,
}

/// The system as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemInfo {
    /// Display name.
    pub name: String,
    /// What it does, in a sentence or two.
    #[serde(default)]
    pub description: Option<String>,
    /// Team or person accountable.
    #[serde(default)]
    pub owner: Option<String>,
    /// Intended purpose (EU AI Act wording).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Risk tier under the EU AI Act.
    #[serde(default)]
    pub risk_tier: Option<RiskTier>,
    /// Whether the system makes or informs decisions about people.
    #[serde(default)]
    pub decisions_about_people: bool,
}

/// EU AI Act risk tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum RiskTier {
    Minimal,
    Limited,
    High,
    Prohibited,
}

/// Where data originates relative to the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Provenance {
    Internal,
    Vendor,
    Partner,
    UserGenerated,
    Public,
}

/// A place data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Who produces the data.
    pub provenance: Provenance,
    /// Whether it holds personal data.
    #[serde(default)]
    pub personal_data: bool,
    /// Whether it holds special-category data (GDPR art. 9).
    #[serde(default)]
    pub special_category: bool,
    /// Licence or contract under which it is used.
    #[serde(default)]
    pub licence: Option<String>,
}

/// What a dataset is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum DatasetKind {
    Training,
    FineTuning,
    Evaluation,
    RetrievalIndex,
    FeatureStore,
}

/// A dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its use.
    pub kind: DatasetKind,
    /// Data source ids it is built from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Whether it holds personal data (also true when a source does).
    #[serde(default)]
    pub personal_data: bool,
    /// Path or URI of the data, used to match attached evidence.
    #[serde(default)]
    pub path: Option<String>,
}

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ModelKind {
    Classifier,
    Regressor,
    Llm,
    Embedding,
    Generative,
    Other,
}

/// Serialisation format of the model artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ModelFormat {
    Pickle,
    Pytorch,
    Joblib,
    Keras,
    Tensorflow,
    Onnx,
    Safetensors,
    Gguf,
    Api,
    Other,
}

/// Where a model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ModelOrigin {
    Internal,
    PublicHub,
    Vendor,
    Partner,
}

/// How model outputs are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum DecisionMode {
    #[default]
    Advisory,
    HumanReview,
    Automated,
}

/// A model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// What it does.
    pub kind: ModelKind,
    /// Artifact format.
    pub format: ModelFormat,
    /// Where it comes from.
    pub origin: ModelOrigin,
    /// Model id it was fine-tuned from.
    #[serde(default)]
    pub fine_tuned_from: Option<String>,
    /// Dataset ids it was trained or fine-tuned on.
    #[serde(default)]
    pub trained_on: Vec<String>,
    /// Dataset ids it retrieves from at inference time (RAG).
    #[serde(default)]
    pub retrieves_from: Vec<String>,
    /// Whether the artifact carries a verified signature.
    #[serde(default)]
    pub signed: bool,
    /// Artifact path, used to match attached evidence.
    #[serde(default)]
    pub artifact: Option<String>,
    /// Tools or actions an agent model may invoke.
    #[serde(default)]
    pub tools: Vec<String>,
    /// How its outputs are used.
    #[serde(default)]
    pub decisions: DecisionMode,
    /// Version string for the bill of materials.
    #[serde(default)]
    pub version: Option<String>,
    /// Licence of the weights.
    #[serde(default)]
    pub licence: Option<String>,
}

/// What an environment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum EnvironmentKind {
    Development,
    Training,
    Serving,
}

/// Where an environment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Hosting {
    OnPremises,
    Cloud,
    ManagedService,
    ThirdPartyApi,
}

/// A training or serving environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its use.
    pub kind: EnvironmentKind,
    /// Where it runs.
    pub hosting: Hosting,
    /// Model ids it trains or serves.
    #[serde(default)]
    pub runs: Vec<String>,
}

/// Who can reach an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Exposure {
    Internal,
    Partner,
    Public,
}

/// How callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Authentication {
    None,
    ApiKey,
    Oauth,
    Mtls,
    Sso,
}

/// A deployment or endpoint serving a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Model id it serves.
    pub serves: String,
    /// Who can reach it.
    pub exposure: Exposure,
    /// How callers authenticate.
    pub authentication: Authentication,
    /// Rate limit, such as `100/min`; absent means none.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// Whether responses include scores or probabilities.
    #[serde(default)]
    pub returns_confidence: bool,
    /// Who consumes the outputs.
    #[serde(default)]
    pub consumers: Vec<String>,
}

/// A trust boundary: elements inside share one level of trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustBoundary {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Element ids inside it.
    pub elements: Vec<String>,
}

/// An explicit data flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Source element id.
    pub from: String,
    /// Destination element id.
    pub to: String,
    /// What moves.
    #[serde(default)]
    pub data: Option<String>,
}

/// A person or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Unique id.
    pub id: String,
    /// Role name, such as `data-scientist`.
    pub role: String,
    /// Element ids this role can change or read.
    #[serde(default)]
    pub access: Vec<String>,
}

/// A control in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlUse {
    /// Control id from the shipped vocabulary (`warden assess controls` lists them).
    pub control: String,
    /// Element ids it covers; empty means the whole system.
    #[serde(default)]
    pub applies_to: Vec<String>,
    /// How it is implemented.
    #[serde(default)]
    pub note: Option<String>,
}

/// A report from another warden command, attached as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// Path of the JSON report, relative to the description file.
    pub path: String,
    /// Element ids it is about; empty means "match by artifact path".
    #[serde(default)]
    pub applies_to: Vec<String>,
}

/// The kind of an element, used by rules and renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ElementKind {
    DataSource,
    Dataset,
    Model,
    Environment,
    Endpoint,
}

impl ElementKind {
    /// The kebab-case name used in rules and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ElementKind::DataSource => "data-source",
            ElementKind::Dataset => "dataset",
            ElementKind::Model => "model",
            ElementKind::Environment => "environment",
            ElementKind::Endpoint => "endpoint",
        }
    }
}

impl SystemDescription {
    /// Every element id with its kind and display name, in description order.
    pub fn elements(&self) -> Vec<(&str, ElementKind, &str)> {
        let mut out = Vec::new();
        for e in &self.data_sources {
            out.push((e.id.as_str(), ElementKind::DataSource, e.name.as_deref().unwrap_or(&e.id)));
        }
        for e in &self.datasets {
            out.push((e.id.as_str(), ElementKind::Dataset, e.name.as_deref().unwrap_or(&e.id)));
        }
        for e in &self.models {
            out.push((e.id.as_str(), ElementKind::Model, e.name.as_deref().unwrap_or(&e.id)));
        }
        for e in &self.environments {
            out.push((e.id.as_str(), ElementKind::Environment, e.name.as_deref().unwrap_or(&e.id)));
        }
        for e in &self.endpoints {
            out.push((e.id.as_str(), ElementKind::Endpoint, e.name.as_deref().unwrap_or(&e.id)));
        }
        out
    }
}
