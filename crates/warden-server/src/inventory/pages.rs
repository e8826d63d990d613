//! The inventory's web UI: the asset list with a registration form, one page per asset (details,
//! edit form, retire button, lineage in and out with forms to add edges, findings and a report
//! import form), and the whole lineage graph drawn as SVG. Forms post to the same services as the
//! JSON API, so the checks, Cedar decisions and audit entries are the same.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde::Deserialize;
use serde_json::Value;

use super::api::{self, AssetDetail, GraphQuery};
use super::assets::{self, AssetFilter, AssetPatch, NewAsset};
use super::lineage::{self, EdgeView};
use super::model::{self, AssetKind, Lifecycle, Relation, Sensitivity};
use crate::authz::actions;
use crate::error::ApiError;
use crate::findings::{self, FindingQuery, StoredFinding};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, NoticeQuery, UiResult};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/ui/assets", actions::ASSET_LIST, assets_page),
        Route::ui(Method::POST, "/ui/assets", actions::ASSET_CREATE, create_form),
        Route::ui(Method::GET, "/ui/assets/{id}", actions::ASSET_READ, asset_page).on_asset("id"),
        Route::ui(Method::POST, "/ui/assets/{id}", actions::ASSET_UPDATE, update_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/assets/{id}/retire", actions::ASSET_DELETE, retire_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/assets/{id}/lineage", actions::LINEAGE_WRITE, add_edge_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/lineage/{edge_id}/remove", actions::LINEAGE_WRITE, remove_edge_form),
        Route::ui(Method::GET, "/ui/lineage", actions::ASSET_LIST, lineage_page),
    ]
}

/// A choice in a `<select>`.
pub struct Choice {
    /// The submitted value.
    pub value: &'static str,
    /// What people read.
    pub label: &'static str,
}

fn choices<T: Copy>(all: &[T], value: impl Fn(T) -> &'static str) -> Vec<Choice> {
    all.iter().map(|v| Choice { value: value(*v), label: value(*v) }).collect()
}

fn kind_choices() -> Vec<Choice> {
    AssetKind::ALL.iter().map(|k| Choice { value: k.as_str(), label: k.label() }).collect()
}

/// The options every asset form offers.
pub struct FormChoices {
    /// Kinds.
    pub kinds: Vec<Choice>,
    /// Sensitivity levels.
    pub sensitivities: Vec<Choice>,
    /// Lifecycle stages one can set (not `retired`).
    pub lifecycles: Vec<Choice>,
    /// Suggested environments.
    pub environments: [&'static str; 4],
}

impl FormChoices {
    fn new() -> FormChoices {
        let settable: Vec<Lifecycle> = Lifecycle::ALL.iter().copied().filter(|l| *l != Lifecycle::Retired).collect();
        FormChoices {
            kinds: kind_choices(),
            sensitivities: choices(Sensitivity::ALL, Sensitivity::as_str),
            lifecycles: choices(&settable, Lifecycle::as_str),
            environments: ["development", "staging", "production", "other"],
        }
    }
}

/// One row of the asset table.
pub struct AssetRow {
    /// Asset id.
    pub id: String,
    /// Kind, for people.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Owner.
    pub owner: String,
    /// Sensitivity name.
    pub sensitivity: &'static str,
    /// Lifecycle stage.
    pub lifecycle: &'static str,
    /// Environment.
    pub environment: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Findings by severity, highest first, non-zero only.
    pub findings: Vec<(&'static str, i64)>,
    /// Retired.
    pub retired: bool,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    chrome: Chrome,
    rows: Vec<AssetRow>,
    kind: String,
    q: String,
    tag: String,
    include_retired: bool,
    form: FormChoices,
    me: String,
}

/// Query of the asset list page (the filter's fields and the notice; serde's `flatten` cannot
/// read booleans from a query string).
#[derive(Debug, Default, Deserialize)]
struct AssetsQuery {
    kind: Option<String>,
    q: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    include_retired: bool,
    notice: Option<String>,
}

async fn assets_page(State(app): State<AppState>, caller: Caller, Query(query): Query<AssetsQuery>) -> UiResult {
    let filter = AssetFilter { kind: query.kind.clone(), q: query.q.clone(), tag: query.tag.clone(), include_retired: query.include_retired };
    let items = api::readable_assets(&app, &caller, &filter, "/ui/assets").await?;
    let rows = items
        .into_iter()
        .map(|item| AssetRow {
            findings: item.findings.nonzero(),
            retired: item.asset.is_retired(),
            id: item.asset.id,
            kind: item.asset.kind.label(),
            name: item.asset.name,
            owner: item.asset.owner,
            sensitivity: item.asset.sensitivity.as_str(),
            lifecycle: item.asset.lifecycle.as_str(),
            environment: item.asset.environment,
            tags: item.asset.tags,
        })
        .collect();
    let page = AssetsPage {
        chrome: Chrome::new("Assets", &caller).with_notice(query.notice),
        rows,
        kind: query.kind.unwrap_or_default(),
        q: query.q.unwrap_or_default(),
        tag: query.tag.unwrap_or_default(),
        include_retired: query.include_retired,
        form: FormChoices::new(),
        me: caller.principal.name.clone(),
    };
    Ok(ui::render(&page))
}

/// The fields of the create and edit forms (text inputs; empty means "not given").
#[derive(Debug, Default, Deserialize)]
struct AssetForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    sensitivity: String,
    #[serde(default)]
    lifecycle: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    properties: String,
}

fn given(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

impl AssetForm {
    fn tags(&self) -> Vec<String> {
        self.tags.split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
    }

    fn properties(&self) -> Result<Value, ApiError> {
        if self.properties.trim().is_empty() {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_str(&self.properties).map_err(|e| ApiError::BadRequest(format!("properties are not valid JSON: {e}")))
    }

    fn into_new(self) -> Result<NewAsset, ApiError> {
        Ok(NewAsset {
            tags: Some(self.tags()),
            properties: Some(self.properties()?),
            kind: self.kind,
            name: self.name,
            description: Some(self.description),
            owner: given(self.owner),
            sensitivity: given(self.sensitivity),
            lifecycle: given(self.lifecycle),
            environment: given(self.environment),
        })
    }

    fn into_patch(self) -> Result<AssetPatch, ApiError> {
        Ok(AssetPatch {
            kind: None,
            tags: Some(self.tags()),
            properties: Some(self.properties()?),
            name: Some(self.name),
            description: Some(self.description),
            owner: given(self.owner),
            sensitivity: given(self.sensitivity),
            lifecycle: given(self.lifecycle),
            environment: given(self.environment),
        })
    }
}

async fn create_form(State(app): State<AppState>, caller: Caller, axum::Form(form): axum::Form<AssetForm>) -> UiResult {
    let asset = assets::create(&app, &caller, form.into_new()?).await?;
    Ok(ui::see_other(&format!("/ui/assets/{}", asset.id), Some(&format!("Registered {} `{}`.", asset.kind.label(), asset.name))))
}

/// A model card field for the asset page.
pub struct CardField {
    /// What it is.
    pub label: &'static str,
    /// Its values.
    pub values: Vec<String>,
}

fn card_fields(detail: &AssetDetail) -> Vec<CardField> {
    let Some(card) = detail.asset.model_card() else { return Vec::new() };
    let mut out = Vec::new();
    let labels = [
        ("task", "Task"),
        ("architecture_family", "Architecture family"),
        ("model_architecture", "Architecture"),
        ("approach", "Approach"),
        ("intended_use", "Intended use"),
        ("users", "Users"),
        ("limitations", "Limitations"),
        ("tradeoffs", "Trade-offs"),
        ("ethical_considerations", "Ethical considerations"),
        ("training_data", "Training data"),
    ];
    for (key, label) in labels {
        let values = model::card_list(card, key);
        if !values.is_empty() {
            out.push(CardField { label, values });
        }
    }
    let metrics: Vec<String> = model::card_metrics(card)
        .into_iter()
        .map(|(kind, value, slice)| match slice {
            Some(slice) => format!("{kind} = {value} ({slice})"),
            None => format!("{kind} = {value}"),
        })
        .collect();
    if !metrics.is_empty() {
        out.push(CardField { label: "Metrics", values: metrics });
    }
    out
}

/// An asset another can be linked to, for the add-edge forms.
pub struct Candidate {
    /// Asset id.
    pub id: String,
    /// `kind: name`.
    pub label: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    chrome: Chrome,
    detail: AssetDetail,
    kind: &'static str,
    is_model: bool,
    is_deployment: bool,
    created: String,
    updated: String,
    retired: Option<String>,
    tags_text: String,
    properties_text: String,
    card: Vec<CardField>,
    findings: Vec<StoredFinding>,
    upstream_candidates: Vec<Candidate>,
    downstream_candidates: Vec<Candidate>,
    form: FormChoices,
}

impl AssetPage {
    /// The edges in, for the template.
    fn upstream(&self) -> &[EdgeView] {
        &self.detail.upstream
    }

    /// The edges out, for the template.
    fn downstream(&self) -> &[EdgeView] {
        &self.detail.downstream
    }
}

async fn asset_page(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<NoticeQuery>) -> UiResult {
    let detail = api::detail(&app, &caller, &id, "/ui/assets/{id}").await?;
    let findings = findings::list(&app, &FindingQuery { asset: Some(id.clone()), limit: Some(500), ..Default::default() }).await?;
    let this = detail.asset.kind;
    let linked: Vec<&str> = detail.upstream.iter().map(|e| e.from.id.as_str()).chain(detail.downstream.iter().map(|e| e.to.id.as_str())).collect();
    let mut upstream_candidates = Vec::new();
    let mut downstream_candidates = Vec::new();
    if !detail.asset.is_retired() {
        for item in api::readable_assets(&app, &caller, &AssetFilter::default(), "/ui/assets/{id}").await? {
            let other = item.asset;
            if other.id == id || linked.contains(&other.id.as_str()) {
                continue;
            }
            let label = format!("{}: {}", other.kind.label(), other.name);
            if Relation::between(other.kind, this).is_some() {
                upstream_candidates.push(Candidate { id: other.id.clone(), label: label.clone() });
            }
            if Relation::between(this, other.kind).is_some() {
                downstream_candidates.push(Candidate { id: other.id, label });
            }
        }
    }
    let page = AssetPage {
        chrome: Chrome::new(detail.asset.name.clone(), &caller).with_notice(q.notice),
        kind: this.label(),
        is_model: this == AssetKind::Model,
        is_deployment: this == AssetKind::Deployment,
        created: ui::fmt_time(detail.asset.created_at),
        updated: ui::fmt_time(detail.asset.updated_at),
        retired: detail.asset.retired_at.map(ui::fmt_time),
        tags_text: detail.asset.tags.join(", "),
        properties_text: serde_json::to_string_pretty(&detail.asset.properties).unwrap_or_default(),
        card: card_fields(&detail),
        findings,
        upstream_candidates,
        downstream_candidates,
        form: FormChoices::new(),
        detail,
    };
    Ok(ui::render(&page))
}

async fn update_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<AssetForm>) -> UiResult {
    let asset = assets::update(&app, &caller, &id, form.into_patch()?).await?;
    Ok(ui::see_other(&format!("/ui/assets/{}", asset.id), Some("Saved.")))
}

async fn retire_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    let asset = assets::retire(&app, &caller, &id).await?;
    Ok(ui::see_other(&format!("/ui/assets/{}", asset.id), Some(&format!("Retired `{}`; its record is kept.", asset.name))))
}

/// The add-edge form: the other asset, and whether it is upstream or downstream of this one.
#[derive(Debug, Default, Deserialize)]
struct EdgeForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    other: String,
}

async fn add_edge_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<EdgeForm>) -> UiResult {
    if form.other.trim().is_empty() {
        return Err(ApiError::BadRequest("choose the asset to link".into()).into());
    }
    let edge = match form.direction.as_str() {
        "upstream" => lineage::add(&app, &caller, form.other.trim(), &id, None).await?,
        "downstream" => lineage::add(&app, &caller, &id, form.other.trim(), None).await?,
        other => return Err(ApiError::BadRequest(format!("direction `{other}` is neither upstream nor downstream")).into()),
    };
    let notice = format!("Added: `{}` {} `{}`.", edge.from.name, edge.relation, edge.to.name);
    Ok(ui::see_other(&format!("/ui/assets/{id}"), Some(&notice)))
}

/// The remove-edge form: which asset page to return to.
#[derive(Debug, Default, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    back: String,
}

async fn remove_edge_form(State(app): State<AppState>, caller: Caller, Path(edge_id): Path<String>, axum::Form(form): axum::Form<RemoveForm>) -> UiResult {
    let edge = lineage::remove(&app, &caller, &edge_id).await?;
    let notice = format!("Removed: `{}` {} `{}`.", edge.from.name, edge.relation, edge.to.name);
    // Only back to one of the edge's own assets, never to an arbitrary URL.
    let back = if form.back == edge.to.id { &edge.to.id } else { &edge.from.id };
    Ok(ui::see_other(&format!("/ui/assets/{back}"), Some(&notice)))
}

/// One edge in the table under the drawing.
pub struct EdgeRow {
    /// Upstream asset id and name.
    pub from: (String, String),
    /// The relation.
    pub relation: &'static str,
    /// Downstream asset id and name.
    pub to: (String, String),
}

#[derive(Template)]
#[template(path = "lineage.html")]
struct LineagePage {
    chrome: Chrome,
    svg: String,
    root: Option<(String, String)>,
    nodes: usize,
    edges: Vec<EdgeRow>,
    include_retired: bool,
}

async fn lineage_page(State(app): State<AppState>, caller: Caller, Query(query): Query<GraphQuery>, Query(q): Query<NoticeQuery>) -> UiResult {
    let graph = api::readable_graph(&app, &caller, &query, "/ui/lineage").await?;
    let name_of = |id: &str| graph.nodes.iter().find(|n| n.id == id).map(|n| n.name.clone()).unwrap_or_default();
    let edges = graph
        .edges
        .iter()
        .map(|e| EdgeRow { from: (e.from.clone(), name_of(&e.from)), relation: e.relation.as_str(), to: (e.to.clone(), name_of(&e.to)) })
        .collect();
    let root = query.root.as_deref().filter(|r| !r.trim().is_empty()).map(|r| (r.to_owned(), name_of(r)));
    let page = LineagePage {
        chrome: Chrome::new("Lineage", &caller).with_notice(q.notice),
        svg: super::svg::render(&graph),
        root,
        nodes: graph.nodes.len(),
        edges,
        include_retired: query.include_retired,
    };
    Ok(ui::render(&page))
}
