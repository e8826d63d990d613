//! The inventory's vocabulary: asset kinds, sensitivity levels, lifecycle stages and lineage
//! relations, plus the checks every asset field passes before it is stored (names, slugs, tags,
//! the free `properties` object and the model card inside it). Constructors validate, so a value
//! that exists is one the database may hold; the API speaks the names, the database the same
//! names (sensitivity as its rank 0-3, which Cedar policies compare).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Defines a closed set of names: `ALL`, `as_str`, `parse` (with a message that lists the
/// accepted names), serialisation as the name and its OpenAPI schema (a string enum).
macro_rules! named_set {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name the API and the database use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value called `text`, or a 400 naming the accepted values.
            pub fn parse(text: &str) -> ApiResult<$name> {
                let wanted = text.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    ApiError::BadRequest(format!(concat!("unknown ", $what, " `{}`: expected one of {}"), wanted, names.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("A ", $what, " (one of these names).")))
                    .enum_values(Some([$($text),*]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

named_set!(
    /// What an asset is.
    AssetKind, "asset kind", {
        /// Where data comes from (a database, a bucket, a partner feed).
        DataSource = "data_source",
        /// A dataset built from sources or other datasets.
        Dataset = "dataset",
        /// A trained model.
        Model = "model",
        /// A deployment or endpoint serving a model.
        Deployment = "deployment",
    }
);

impl AssetKind {
    /// For people, singular.
    pub fn label(self) -> &'static str {
        match self {
            AssetKind::DataSource => "data source",
            AssetKind::Dataset => "dataset",
            AssetKind::Model => "model",
            AssetKind::Deployment => "deployment",
        }
    }

    /// For people, plural (column headings).
    pub fn plural(self) -> &'static str {
        match self {
            AssetKind::DataSource => "Data sources",
            AssetKind::Dataset => "Datasets",
            AssetKind::Model => "Models",
            AssetKind::Deployment => "Deployments",
        }
    }

    /// Position in the flow from data to deployment (0 = sources).
    pub fn layer(self) -> usize {
        match self {
            AssetKind::DataSource => 0,
            AssetKind::Dataset => 1,
            AssetKind::Model => 2,
            AssetKind::Deployment => 3,
        }
    }
}

named_set!(
    /// How sensitive an asset is; stored as its rank (0-3) so policies can compare it.
    Sensitivity, "sensitivity", {
        /// Anyone may know.
        Public = "public",
        /// Inside the organisation.
        Internal = "internal",
        /// A need to know.
        Confidential = "confidential",
        /// The most protected: second factor and known devices required by the shipped policies.
        Restricted = "restricted",
    }
);

impl Sensitivity {
    /// The rank stored in the database and given to Cedar (0 public ... 3 restricted).
    pub fn rank(self) -> i64 {
        match self {
            Sensitivity::Public => 0,
            Sensitivity::Internal => 1,
            Sensitivity::Confidential => 2,
            Sensitivity::Restricted => 3,
        }
    }

    /// The level of a stored rank (out-of-range ranks are treated as restricted).
    pub fn from_rank(rank: i64) -> Sensitivity {
        match rank {
            i64::MIN..=0 => Sensitivity::Public,
            1 => Sensitivity::Internal,
            2 => Sensitivity::Confidential,
            _ => Sensitivity::Restricted,
        }
    }
}

named_set!(
    /// Where an asset is in its life.
    Lifecycle, "lifecycle stage", {
        /// Being designed.
        Design = "design",
        /// Data being collected.
        DataCollection = "data_collection",
        /// Data being prepared.
        Preparation = "preparation",
        /// Being trained.
        Training = "training",
        /// Being validated.
        Validation = "validation",
        /// Being deployed.
        Deployment = "deployment",
        /// In production.
        Production = "production",
        /// Retired: kept for the record, no longer changed.
        Retired = "retired",
    }
);

named_set!(
    /// What a lineage edge says about its two assets.
    Relation, "lineage relation", {
        /// A data source feeds a dataset.
        Feeds = "feeds",
        /// A dataset trains a model.
        Trains = "trains",
        /// A model is fine-tuned into another model.
        FineTunes = "fine_tunes",
        /// A model is deployed as a deployment.
        Deploys = "deploys",
        /// A dataset is derived into another dataset.
        Derives = "derives",
    }
);

impl Relation {
    /// The kinds this relation links, upstream first.
    pub fn endpoints(self) -> (AssetKind, AssetKind) {
        match self {
            Relation::Feeds => (AssetKind::DataSource, AssetKind::Dataset),
            Relation::Trains => (AssetKind::Dataset, AssetKind::Model),
            Relation::FineTunes => (AssetKind::Model, AssetKind::Model),
            Relation::Deploys => (AssetKind::Model, AssetKind::Deployment),
            Relation::Derives => (AssetKind::Dataset, AssetKind::Dataset),
        }
    }

    /// The one relation that links a `from` asset to a `to` asset, if any.
    pub fn between(from: AssetKind, to: AssetKind) -> Option<Relation> {
        Relation::ALL.iter().copied().find(|r| r.endpoints() == (from, to))
    }

    /// The relation between `from` and `to`, checked against `wanted` when the client named one.
    pub fn for_edge(from: AssetKind, to: AssetKind, wanted: Option<Relation>) -> ApiResult<Relation> {
        let fits = Relation::between(from, to);
        match (wanted, fits) {
            (Some(w), Some(f)) if w == f => Ok(f),
            (None, Some(f)) => Ok(f),
            (Some(w), _) => {
                let (a, b) = w.endpoints();
                Err(ApiError::BadRequest(format!(
                    "`{w}` links a {} to a {}, but this edge goes from a {} to a {}",
                    a.label(),
                    b.label(),
                    from.label(),
                    to.label()
                )))
            }
            (None, None) => {
                let allowed: Vec<String> =
                    Relation::ALL.iter().map(|r| format!("{} -> {} ({r})", r.endpoints().0.label(), r.endpoints().1.label())).collect();
                Err(ApiError::BadRequest(format!(
                    "no lineage relation goes from a {} to a {}; lineage flows {}",
                    from.label(),
                    to.label(),
                    allowed.join(", ")
                )))
            }
        }
    }
}

/// Longest asset name, in characters.
pub const MAX_NAME: usize = 128;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 4000;
/// Longest slug (environment, tag), in bytes.
pub const MAX_SLUG: usize = 40;
/// Most tags on one asset.
pub const MAX_TAGS: usize = 32;
/// Largest `properties` object, serialised, in bytes.
pub const MAX_PROPERTIES_BYTES: usize = 64 * 1024;
/// Deepest nesting inside `properties`.
pub const MAX_PROPERTIES_DEPTH: usize = 12;

/// A display name: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub fn name(text: &str) -> ApiResult<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ApiError::BadRequest("an asset needs a name".into()));
    }
    if trimmed.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest(format!("an asset name has at most {MAX_NAME} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("an asset name may not contain control characters".into()));
    }
    Ok(trimmed.to_owned())
}

/// A description: at most [`MAX_DESCRIPTION`] characters; line breaks and tabs are the only
/// control characters kept.
pub fn description(text: &str) -> ApiResult<String> {
    let text = text.trim().replace("\r\n", "\n");
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::BadRequest(format!("a description has at most {MAX_DESCRIPTION} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::BadRequest("a description may not contain control characters other than line breaks".into()));
    }
    Ok(text)
}

/// A short lowercase slug (`[a-z0-9][a-z0-9._-]*`, at most [`MAX_SLUG`] bytes); `field` names it
/// in the error. Upper case is folded.
pub fn slug(field: &str, text: &str) -> ApiResult<String> {
    let folded = text.trim().to_ascii_lowercase();
    let ok = !folded.is_empty()
        && folded.len() <= MAX_SLUG
        && folded.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && folded.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(folded)
    } else {
        Err(ApiError::BadRequest(format!(
            "{field} `{}` is not a slug: 1 to {MAX_SLUG} letters, digits, `.`, `_` or `-`, starting with a letter or digit",
            text.chars().take(60).collect::<String>()
        )))
    }
}

/// Tags: each a slug, at most [`MAX_TAGS`], duplicates dropped, sorted.
pub fn tags<S: AsRef<str>>(items: &[S]) -> ApiResult<Vec<String>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.as_ref().trim().is_empty() {
            continue;
        }
        out.push(slug("tag", item.as_ref())?);
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_TAGS {
        return Err(ApiError::BadRequest(format!("an asset has at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// An owner: a user name (the shape of one; it need not have signed in yet).
pub fn owner(text: &str) -> ApiResult<String> {
    let text = text.trim();
    crate::identity::validate_username(text).map_err(|e| ApiError::BadRequest(format!("owner: {e}")))?;
    Ok(text.to_owned())
}

/// The free metadata object: a JSON object of at most [`MAX_PROPERTIES_BYTES`] bytes and
/// [`MAX_PROPERTIES_DEPTH`] levels, whose well-known keys have the types the UI and the
/// CycloneDX export read.
pub fn properties(value: Value) -> ApiResult<Map<String, Value>> {
    let Value::Object(map) = value else {
        return Err(ApiError::BadRequest("properties must be a JSON object".into()));
    };
    let size = serde_json::to_vec(&map).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_PROPERTIES_BYTES {
        return Err(ApiError::BadRequest(format!(
            "properties are {size} bytes; at most {MAX_PROPERTIES_BYTES} are kept per asset (link large documents with `source` instead)"
        )));
    }
    if depth(&Value::Object(map.clone())) > MAX_PROPERTIES_DEPTH {
        return Err(ApiError::BadRequest(format!("properties nest deeper than {MAX_PROPERTIES_DEPTH} levels")));
    }
    for key in ["license", "source", "format", "provenance"] {
        if map.get(key).is_some_and(|v| !v.is_string()) {
            return Err(ApiError::BadRequest(format!("properties.{key} must be a string")));
        }
    }
    if map.get("personal_data").is_some_and(|v| !v.is_boolean()) {
        return Err(ApiError::BadRequest("properties.personal_data must be true or false".into()));
    }
    if let Some(card) = map.get("model_card") {
        model_card(card)?;
    }
    Ok(map)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Model-card fields that hold one text.
pub const CARD_TEXT_FIELDS: [&str; 5] = ["task", "architecture_family", "model_architecture", "approach", "training_data"];
/// Model-card fields that hold one text or a list of texts.
pub const CARD_LIST_FIELDS: [&str; 5] = ["intended_use", "users", "limitations", "tradeoffs", "ethical_considerations"];
/// Learning approaches CycloneDX knows.
pub const APPROACHES: [&str; 5] = ["supervised", "unsupervised", "reinforcement-learning", "semi-supervised", "self-supervised"];

/// Checks `properties.model_card`: an object whose known fields are texts, lists of texts, and
/// `metrics` (an object of name to value, or a list of `{type, value, slice}`).
fn model_card(card: &Value) -> ApiResult<()> {
    let Value::Object(card) = card else {
        return Err(ApiError::BadRequest("properties.model_card must be a JSON object".into()));
    };
    for key in CARD_TEXT_FIELDS {
        if card.get(key).is_some_and(|v| !v.is_string()) {
            return Err(ApiError::BadRequest(format!("properties.model_card.{key} must be a string")));
        }
    }
    if let Some(approach) = card.get("approach").and_then(Value::as_str)
        && !APPROACHES.contains(&approach)
    {
        return Err(ApiError::BadRequest(format!("properties.model_card.approach `{approach}` is not one of {}", APPROACHES.join(", "))));
    }
    for key in CARD_LIST_FIELDS {
        let ok = match card.get(key) {
            None | Some(Value::String(_)) => true,
            Some(Value::Array(items)) => items.iter().all(Value::is_string),
            Some(_) => false,
        };
        if !ok {
            return Err(ApiError::BadRequest(format!("properties.model_card.{key} must be a string or a list of strings")));
        }
    }
    let metrics_ok = match card.get("metrics") {
        None => true,
        Some(Value::Object(map)) => map.values().all(|v| v.is_string() || v.is_number()),
        Some(Value::Array(items)) => items.iter().all(|m| m.get("type").is_some_and(Value::is_string) && m.get("value").is_some_and(|v| v.is_string() || v.is_number())),
        Some(_) => false,
    };
    if !metrics_ok {
        return Err(ApiError::BadRequest(
            "properties.model_card.metrics must map metric names to values ({\"accuracy\": 0.93}) or list {\"type\", \"value\", \"slice\"} objects".into(),
        ));
    }
    Ok(())
}

/// A model-card field as a list of texts (a single text becomes a one-item list).
pub fn card_list(card: &Map<String, Value>, key: &str) -> Vec<String> {
    match card.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A model card's metrics as (type, value, slice) triples.
pub fn card_metrics(card: &Map<String, Value>) -> Vec<(String, String, Option<String>)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match card.get("metrics") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), text(v), None)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| {
                let kind = m.get("type")?.as_str()?.to_owned();
                let value = text(m.get("value")?);
                Some((kind, value, m.get("slice").and_then(Value::as_str).map(str::to_owned)))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_of_closed_sets_round_trip_and_unknown_ones_list_the_choices() {
        for kind in AssetKind::ALL {
            assert_eq!(AssetKind::parse(kind.as_str()).unwrap(), *kind);
        }
        let err = AssetKind::parse("spreadsheet").unwrap_err().to_string();
        assert!(err.contains("data_source, dataset, model, deployment"), "{err}");
        assert_eq!(Sensitivity::parse("restricted").unwrap().rank(), 3);
        assert_eq!(Sensitivity::from_rank(2), Sensitivity::Confidential);
        assert_eq!(serde_json::to_value(Lifecycle::DataCollection).unwrap(), json!("data_collection"));
    }

    #[test]
    fn relations_follow_the_flow_from_data_to_deployment() {
        assert_eq!(Relation::between(AssetKind::DataSource, AssetKind::Dataset), Some(Relation::Feeds));
        assert_eq!(Relation::between(AssetKind::Model, AssetKind::Model), Some(Relation::FineTunes));
        assert_eq!(Relation::between(AssetKind::Deployment, AssetKind::Model), None);
        let err = Relation::for_edge(AssetKind::Dataset, AssetKind::Deployment, None).unwrap_err().to_string();
        assert!(err.contains("no lineage relation goes from a dataset to a deployment"), "{err}");
        let err = Relation::for_edge(AssetKind::Dataset, AssetKind::Model, Some(Relation::Feeds)).unwrap_err().to_string();
        assert!(err.contains("`feeds` links a data source to a dataset"), "{err}");
        assert_eq!(Relation::for_edge(AssetKind::Dataset, AssetKind::Model, Some(Relation::Trains)).unwrap(), Relation::Trains);
    }

    #[test]
    fn slugs_and_tags_are_folded_checked_and_deduplicated() {
        assert_eq!(slug("environment", " Production ").unwrap(), "production");
        assert!(slug("environment", "prod env").is_err());
        assert!(slug("tag", "-x").is_err());
        assert!(slug("tag", &"a".repeat(MAX_SLUG + 1)).is_err());
        assert_eq!(tags(&["b", "a", "B", ""]).unwrap(), vec!["a".to_owned(), "b".to_owned()]);
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert!(tags(&many).is_err());
    }

    #[test]
    fn names_and_descriptions_refuse_control_characters() {
        assert_eq!(name("  fraud model ").unwrap(), "fraud model");
        assert!(name("   ").is_err());
        assert!(name("a\u{7}b").is_err());
        assert!(name(&"x".repeat(MAX_NAME + 1)).is_err());
        assert_eq!(description("line\r\nnext").unwrap(), "line\nnext");
        assert!(description("bell\u{7}").is_err());
    }

    #[test]
    fn properties_are_bounded_and_typed() {
        assert!(properties(json!([1])).is_err());
        assert!(properties(json!({"blob": "x".repeat(MAX_PROPERTIES_BYTES)})).unwrap_err().to_string().contains("at most 65536"));
        let mut deep = json!(1);
        for _ in 0..=MAX_PROPERTIES_DEPTH {
            deep = json!([deep]);
        }
        assert!(properties(json!({ "deep": deep })).is_err());
        assert!(properties(json!({"personal_data": "yes"})).is_err());
        assert!(properties(json!({"license": 3})).is_err());
        assert!(properties(json!({"model_card": {"approach": "guessing"}})).is_err());
        assert!(properties(json!({"model_card": {"metrics": [{"value": 1}]}})).is_err());
        let card = json!({"model_card": {"task": "classification", "intended_use": "fraud triage", "limitations": ["EU data only"], "metrics": {"auc": 0.91}}});
        let map = properties(card).unwrap();
        let card = map["model_card"].as_object().unwrap();
        assert_eq!(card_list(card, "intended_use"), vec!["fraud triage".to_owned()]);
        assert_eq!(card_metrics(card), vec![("auc".to_owned(), "0.91".to_owned(), None)]);
    }
}
