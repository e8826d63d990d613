//! The inventory's JSON API: assets, lineage and the CycloneDX export. Handlers are thin: they
//! parse, call [`super::assets`] / [`super::lineage`] / [`super::bom`], and filter what they return
//! through Cedar's `asset.read` ([`super::access::ReadFilter`]).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::access::ReadFilter;
use super::assets::{self, Asset, AssetFilter, AssetPatch, NewAsset};
use super::related::{self, SeverityCounts, VersionSummary};
use super::lineage::{self, EdgeView, Graph};
use super::model::{AssetKind, Relation};
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/assets", actions::ASSET_LIST, list).query::<AssetFilter>().returns_list::<AssetListItem>(),
        Route::api(Method::POST, "/api/v1/assets", actions::ASSET_CREATE, create).accepts::<NewAsset>().returns::<Asset>().status(201),
        Route::api(Method::GET, "/api/v1/assets/{id}", actions::ASSET_READ, read).on_asset("id").returns::<AssetDetail>(),
        Route::api(Method::PATCH, "/api/v1/assets/{id}", actions::ASSET_UPDATE, update).on_asset("id").accepts::<AssetPatch>().returns::<Asset>(),
        Route::api(Method::DELETE, "/api/v1/assets/{id}", actions::ASSET_DELETE, retire).on_asset("id").returns::<Asset>(),
        Route::api(Method::GET, "/api/v1/lineage", actions::ASSET_LIST, graph).query::<GraphQuery>().returns::<Graph>(),
        Route::api(Method::POST, "/api/v1/lineage", actions::LINEAGE_WRITE, add_edge).accepts::<NewEdge>().returns::<EdgeView>().status(201),
        Route::api(Method::DELETE, "/api/v1/lineage/{edge_id}", actions::LINEAGE_WRITE, remove_edge).returns::<EdgeView>(),
        Route::api(Method::GET, "/api/v1/inventory/cyclonedx", actions::INVENTORY_EXPORT, cyclonedx).returns_raw("application/vnd.cyclonedx+json"),
    ]
}

/// Parses a JSON object body, answering 400 (not axum's 422) with serde's reason.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    crate::extract::parse_object(body, what)
}

/// An asset in a list, with its findings counted by severity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetListItem {
    /// The asset.
    #[serde(flatten)]
    pub asset: Asset,
    /// Its findings by severity.
    pub findings: SeverityCounts,
}

/// Assets matching `filter` that `caller` may read, with their finding counts.
pub async fn readable_assets(app: &AppState, caller: &Caller, filter: &AssetFilter, path: &'static str) -> ApiResult<Vec<AssetListItem>> {
    let all = assets::list(app, filter).await?;
    let counts = related::finding_counts(app, None).await?;
    let mut access = ReadFilter::new(app, caller);
    let items = all
        .into_iter()
        .filter(|a| access.allows(&a.attrs()))
        .map(|asset| {
            let findings = counts.get(&asset.id).copied().unwrap_or_default();
            AssetListItem { asset, findings }
        })
        .collect();
    access.finish("GET", path).await?;
    Ok(items)
}

async fn list(State(app): State<AppState>, caller: Caller, QueryParams(filter): QueryParams<AssetFilter>) -> ApiResult<Json<Vec<AssetListItem>>> {
    Ok(Json(readable_assets(&app, &caller, &filter, "/api/v1/assets").await?))
}

async fn create(State(app): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let new: NewAsset = parse_body(&body, "asset")?;
    let asset = assets::create(&app, &caller, new).await?;
    let location = format!("/api/v1/assets/{}", asset.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(asset)).into_response())
}

/// One asset with everything around it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    /// The asset.
    pub asset: Asset,
    /// Edges into it (where it came from), whose other end the caller may read.
    pub upstream: Vec<EdgeView>,
    /// Edges out of it (what came from it), likewise.
    pub downstream: Vec<EdgeView>,
    /// Its findings by severity.
    pub findings: SeverityCounts,
    /// Model versions (models only).
    pub versions: Vec<VersionSummary>,
}

/// Asset `id` with its lineage (filtered to what `caller` may read), finding counts and versions.
pub async fn detail(app: &AppState, caller: &Caller, id: &str, path: &'static str) -> ApiResult<AssetDetail> {
    let asset = assets::require(app, id).await?;
    let (mut upstream, mut downstream) = lineage::edges_of(app, id).await?;
    let mut access = ReadFilter::new(app, caller);
    let mut keep = Vec::new();
    for edge in upstream.iter().chain(downstream.iter()) {
        let other = if edge.to.id == id { &edge.from.id } else { &edge.to.id };
        if access.allows_id(other).await? {
            keep.push(edge.id.clone());
        }
    }
    upstream.retain(|e| keep.contains(&e.id));
    downstream.retain(|e| keep.contains(&e.id));
    access.finish("GET", path).await?;
    let findings = related::finding_counts(app, Some(id)).await?.remove(id).unwrap_or_default();
    let versions = if asset.kind == AssetKind::Model { related::versions(app, id).await? } else { Vec::new() };
    Ok(AssetDetail { asset, upstream, downstream, findings, versions })
}

async fn read(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AssetDetail>> {
    Ok(Json(detail(&app, &caller, &id, "/api/v1/assets/{id}").await?))
}

async fn update(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Asset>> {
    let patch: AssetPatch = parse_body(&body, "asset change")?;
    Ok(Json(assets::update(&app, &caller, &id, patch).await?))
}

async fn retire(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Asset>> {
    Ok(Json(assets::retire(&app, &caller, &id).await?))
}

/// Query of `GET /api/v1/lineage`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct GraphQuery {
    /// Only the lineage around this asset.
    pub root: Option<String>,
    /// How many edges away from `root` (default 16).
    pub depth: Option<usize>,
    /// Retired assets too.
    #[serde(default)]
    pub include_retired: bool,
}

/// The lineage graph for `query`, keeping only what `caller` may read.
pub async fn readable_graph(app: &AppState, caller: &Caller, query: &GraphQuery, path: &'static str) -> ApiResult<Graph> {
    let root = query.root.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let mut graph = lineage::graph(app, root, query.depth.unwrap_or(16), query.include_retired).await?;
    let mut access = ReadFilter::new(app, caller);
    graph.retain(|node| access.allows(&node.attrs));
    access.finish("GET", path).await?;
    if let Some(root) = root
        && !graph.nodes.iter().any(|n| n.id == root)
    {
        return Err(ApiError::not_found("asset", root));
    }
    Ok(graph)
}

async fn graph(State(app): State<AppState>, caller: Caller, QueryParams(query): QueryParams<GraphQuery>) -> ApiResult<Json<Graph>> {
    Ok(Json(readable_graph(&app, &caller, &query, "/api/v1/lineage").await?))
}

/// The body of `POST /api/v1/lineage`: `from` is upstream of `to`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEdge {
    /// The upstream asset's id.
    from: String,
    /// The downstream asset's id.
    to: String,
    /// What the edge says; by default the one relation the two kinds allow.
    #[schema(value_type = Option<Relation>)]
    relation: Option<String>,
}

async fn add_edge(State(app): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let edge: NewEdge = parse_body(&body, "lineage edge")?;
    let relation = edge.relation.as_deref().filter(|r| !r.trim().is_empty()).map(Relation::parse).transpose()?;
    let view = lineage::add(&app, &caller, edge.from.trim(), edge.to.trim(), relation).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn remove_edge(State(app): State<AppState>, caller: Caller, Path(edge_id): Path<String>) -> ApiResult<Json<EdgeView>> {
    Ok(Json(lineage::remove(&app, &caller, &edge_id).await?))
}

/// The inventory `caller` may read as a CycloneDX 1.6 ML-BOM (retired assets left out).
pub async fn export(app: &AppState, caller: &Caller) -> ApiResult<serde_json::Value> {
    let all = assets::list(app, &AssetFilter::default()).await?;
    let mut access = ReadFilter::new(app, caller);
    let visible: Vec<Asset> = all.into_iter().filter(|a| access.allows(&a.attrs())).collect();
    access.finish("GET", "/api/v1/inventory/cyclonedx").await?;
    let edges = lineage::all_edges(app).await?;
    let mut versions = HashMap::new();
    for model in visible.iter().filter(|a| a.kind == AssetKind::Model) {
        versions.insert(model.id.clone(), related::versions(app, &model.id).await?);
    }
    let serial = uuid::Uuid::new_v4().to_string();
    Ok(super::bom::document(&visible, &edges, &versions, crate::store::now_ms(), &serial))
}

async fn cyclonedx(State(app): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let bom = export(&app, &caller).await?;
    let body = serde_json::to_vec_pretty(&bom).map_err(|e| ApiError::Internal(format!("encoding the BOM: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.cyclonedx+json; version=1.6"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"warden-inventory.cdx.json\""),
        ],
        body,
    )
        .into_response())
}
