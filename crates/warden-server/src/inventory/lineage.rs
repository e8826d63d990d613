//! Lineage: directed edges between assets saying where each came from (a source feeds a dataset,
//! a dataset trains a model, a model is fine-tuned into another or deployed). The kinds must fit
//! the relation, an asset never descends from itself (self-loops and cycles are refused), and an
//! edge is stored once.
//!
//! Edge writes take the audit log's cross-instance lock first ([`crate::store::Store::serialize_audit`],
//! which the audit append would take anyway), so the cycle check sees every committed edge even
//! with several server instances on one PostgreSQL.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::access;
use super::assets::{self, Asset};
use super::model::{AssetKind, Lifecycle, Relation, Sensitivity};
use crate::audit::Change;
use crate::authz::{AssetAttrs, actions};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};

/// Most assets a cycle check walks before giving up (the graph is far smaller in practice).
const MAX_WALK: usize = 100_000;
/// Deepest `depth` a graph query follows.
pub const MAX_DEPTH: usize = 64;

/// One end of an edge, as lists show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AssetRef {
    /// The asset id.
    pub id: String,
    /// Its kind.
    pub kind: AssetKind,
    /// Its name.
    pub name: String,
    /// Whether it is retired.
    pub retired: bool,
}

impl AssetRef {
    fn of(asset: &Asset) -> AssetRef {
        AssetRef { id: asset.id.clone(), kind: asset.kind, name: asset.name.clone(), retired: asset.is_retired() }
    }
}

/// A lineage edge with both ends named.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EdgeView {
    /// The edge id.
    pub id: String,
    /// What the edge says.
    pub relation: Relation,
    /// Upstream.
    pub from: AssetRef,
    /// Downstream.
    pub to: AssetRef,
    /// When it was added (unix ms).
    pub created_at: i64,
}

/// An asset in a lineage graph.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GraphNode {
    /// The asset id.
    pub id: String,
    /// Its kind.
    pub kind: AssetKind,
    /// Its name.
    pub name: String,
    /// Its sensitivity.
    pub sensitivity: Sensitivity,
    /// Its lifecycle stage.
    pub lifecycle: Lifecycle,
    /// Whether it is retired.
    pub retired: bool,
    /// What Cedar sees of it (for filtering; not serialised).
    #[serde(skip)]
    #[schema(ignore)]
    pub attrs: AssetAttrs,
}

/// An edge in a lineage graph.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct GraphEdge {
    /// The edge id.
    pub id: String,
    /// Upstream asset id.
    pub from: String,
    /// Downstream asset id.
    pub to: String,
    /// What the edge says.
    pub relation: Relation,
}

/// A lineage graph: assets and the edges between them.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Graph {
    /// The assets, by kind then name.
    pub nodes: Vec<GraphNode>,
    /// The edges.
    pub edges: Vec<GraphEdge>,
}

impl Graph {
    /// Keeps only the nodes `keep` accepts, and the edges between kept nodes.
    pub fn retain(&mut self, mut keep: impl FnMut(&GraphNode) -> bool) {
        self.nodes.retain(|n| keep(n));
        let ids: HashSet<&str> = self.nodes.iter().map(|n| n.id.as_str()).collect();
        self.edges.retain(|e| ids.contains(e.from.as_str()) && ids.contains(e.to.as_str()));
    }

    /// The ids of the assets directly upstream of each asset.
    pub fn upstream(&self) -> HashMap<&str, Vec<&str>> {
        let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
        for edge in &self.edges {
            out.entry(edge.to.as_str()).or_default().push(edge.from.as_str());
        }
        out
    }
}

fn parse_relation(text: &str) -> ApiResult<Relation> {
    Relation::parse(text).map_err(|e| ApiError::Internal(format!("stored lineage relation: {e}")))
}

/// Every edge (all assets), oldest first.
pub async fn all_edges(app: &AppState) -> ApiResult<Vec<GraphEdge>> {
    let rows = sqlx::query("SELECT id, from_id, to_id, relation FROM lineage ORDER BY created_at, id").fetch_all(&app.store.read).await?;
    rows.iter()
        .map(|row| {
            Ok(GraphEdge { id: row.try_get(0)?, from: row.try_get(1)?, to: row.try_get(2)?, relation: parse_relation(&row.try_get::<String, _>(3)?)? })
        })
        .collect()
}

/// The edges into (`upstream`) and out of (`downstream`) asset `id`, with both ends named.
pub async fn edges_of(app: &AppState, id: &str) -> ApiResult<(Vec<EdgeView>, Vec<EdgeView>)> {
    let rows = sqlx::query("SELECT id, from_id, to_id, relation, created_at FROM lineage WHERE from_id = $1 OR to_id = $1 ORDER BY created_at, id")
        .bind(id)
        .fetch_all(&app.store.read)
        .await?;
    let mut names: HashMap<String, AssetRef> = HashMap::new();
    let (mut upstream, mut downstream) = (Vec::new(), Vec::new());
    for row in rows {
        let from: String = row.try_get(1)?;
        let to: String = row.try_get(2)?;
        let mut ends = Vec::with_capacity(2);
        for end in [&from, &to] {
            if !names.contains_key(end) {
                let asset = assets::require(app, end).await?;
                names.insert(end.clone(), AssetRef::of(&asset));
            }
            ends.push(names[end].clone());
        }
        let view = EdgeView {
            id: row.try_get(0)?,
            relation: parse_relation(&row.try_get::<String, _>(3)?)?,
            to: ends.pop().ok_or_else(|| ApiError::Internal("edge end".into()))?,
            from: ends.pop().ok_or_else(|| ApiError::Internal("edge end".into()))?,
            created_at: row.try_get(4)?,
        };
        if to == id { upstream.push(view) } else { downstream.push(view) }
    }
    Ok((upstream, downstream))
}

/// Assets reachable from `start` by following edges downstream, on `conn`, with the path to each
/// (for naming a cycle). Returns the path to `target` if it is reachable.
async fn path_between(conn: &mut sqlx::AnyConnection, start: &str, target: &str) -> ApiResult<Option<Vec<String>>> {
    let mut parent: HashMap<String, String> = HashMap::new();
    let mut queue = VecDeque::from([start.to_owned()]);
    let mut seen = HashSet::from([start.to_owned()]);
    while let Some(current) = queue.pop_front() {
        if current == target {
            let mut path = vec![current.clone()];
            let mut at = current;
            while let Some(p) = parent.get(&at) {
                path.push(p.clone());
                at = p.clone();
            }
            path.reverse();
            return Ok(Some(path));
        }
        if seen.len() > MAX_WALK {
            return Err(ApiError::Internal(format!("the lineage graph has more than {MAX_WALK} assets downstream of one asset")));
        }
        let next: Vec<String> = sqlx::query_scalar("SELECT to_id FROM lineage WHERE from_id = $1").bind(&current).fetch_all(&mut *conn).await?;
        for to in next {
            if seen.insert(to.clone()) {
                parent.insert(to.clone(), current.clone());
                queue.push_back(to);
            }
        }
    }
    Ok(None)
}

async fn names_of(conn: &mut sqlx::AnyConnection, ids: &[String]) -> ApiResult<Vec<String>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM assets WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
        out.push(name.unwrap_or_else(|| id.clone()));
    }
    Ok(out)
}

fn refuse_retired_or_frozen(asset: &Asset) -> ApiResult<()> {
    if asset.is_retired() {
        return Err(ApiError::Conflict(format!("asset `{}` is retired; its lineage is kept as it was", asset.name)));
    }
    if asset.frozen {
        return Err(ApiError::Conflict(format!("asset `{}` is frozen (an incident is open on it)", asset.name)));
    }
    Ok(())
}

/// Adds the edge `from -> to` for `caller`. The relation is implied by the kinds; when the client
/// names one it must be that one. Cedar must allow `lineage.write` on both assets.
pub async fn add(app: &AppState, caller: &Caller, from_id: &str, to_id: &str, relation: Option<Relation>) -> ApiResult<EdgeView> {
    if from_id == to_id {
        return Err(ApiError::BadRequest("an asset cannot be its own lineage (the edge starts and ends at the same asset)".into()));
    }
    let from = assets::get(app, from_id).await?.ok_or_else(|| ApiError::not_found("asset (from)", from_id))?;
    let to = assets::get(app, to_id).await?.ok_or_else(|| ApiError::not_found("asset (to)", to_id))?;
    let relation = Relation::for_edge(from.kind, to.kind, relation)?;
    refuse_retired_or_frozen(&from)?;
    refuse_retired_or_frozen(&to)?;
    for asset in [&from, &to] {
        access::require(app, caller, actions::LINEAGE_WRITE, &asset.attrs(), ("POST", "/api/v1/lineage")).await?;
    }

    let mut tx = app.store.begin().await?;
    app.store.serialize_audit(&mut tx).await?;
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM lineage WHERE from_id = $1 AND to_id = $2 AND relation = $3")
        .bind(from_id)
        .bind(to_id)
        .bind(relation.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(edge) = existing {
        return Err(ApiError::Conflict(format!("`{}` already {relation} `{}` (edge {edge})", from.name, to.name)));
    }
    if let Some(path) = path_between(&mut tx, to_id, from_id).await? {
        let mut names = names_of(&mut tx, &path).await?;
        names.push(to.name.clone());
        return Err(ApiError::Conflict(format!(
            "`{}` {relation} `{}` would close a cycle: {} (an asset cannot descend from itself)",
            from.name,
            to.name,
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" -> ")
        )));
    }
    let id = new_id();
    let created_at = now_ms();
    let inserted = sqlx::query("INSERT INTO lineage (id, from_id, to_id, relation, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(from_id)
        .bind(to_id)
        .bind(relation.as_str())
        .bind(created_at)
        .execute(&mut *tx)
        .await;
    match inserted {
        Err(err) if is_unique_violation(&err) => return Err(ApiError::Conflict(format!("`{}` already {relation} `{}`", from.name, to.name))),
        other => other?,
    };
    let change = Change::create("lineage.add", "lineage_edge", &id)
        .named(format!("{} {relation} {}", from.name, to.name))
        .also("asset", from_id)
        .also("asset", to_id)
        .detail(json!({"from": from_id, "from_name": from.name, "to": to_id, "to_name": to.name, "relation": relation}));
    app.audit.change(&mut tx, caller, change).await?;
    tx.commit().await?;
    app.metrics.event("lineage.add");
    Ok(EdgeView { id, relation, from: AssetRef::of(&from), to: AssetRef::of(&to), created_at })
}

/// Removes edge `edge_id` for `caller`. Cedar must allow `lineage.write` on both its assets.
pub async fn remove(app: &AppState, caller: &Caller, edge_id: &str) -> ApiResult<EdgeView> {
    let row = sqlx::query("SELECT from_id, to_id, relation, created_at FROM lineage WHERE id = $1")
        .bind(edge_id)
        .fetch_optional(&app.store.read)
        .await?
        .ok_or_else(|| ApiError::not_found("lineage edge", edge_id))?;
    let from = assets::require(app, &row.try_get::<String, _>(0)?).await?;
    let to = assets::require(app, &row.try_get::<String, _>(1)?).await?;
    let relation = parse_relation(&row.try_get::<String, _>(2)?)?;
    let created_at: i64 = row.try_get(3)?;
    if from.frozen || to.frozen {
        return Err(ApiError::Conflict("one end of this edge is frozen (an incident is open on it)".into()));
    }
    for asset in [&from, &to] {
        access::require(app, caller, actions::LINEAGE_WRITE, &asset.attrs(), ("DELETE", "/api/v1/lineage/{edge_id}")).await?;
    }
    let mut tx = app.store.begin().await?;
    let done = sqlx::query("DELETE FROM lineage WHERE id = $1").bind(edge_id).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("lineage edge", edge_id));
    }
    let change = Change::delete("lineage.remove", "lineage_edge", edge_id)
        .named(format!("{} {relation} {}", from.name, to.name))
        .also("asset", &from.id)
        .also("asset", &to.id)
        .detail(json!({"from": from.id, "from_name": from.name, "to": to.id, "to_name": to.name, "relation": relation}));
    app.audit.change(&mut tx, caller, change).await?;
    tx.commit().await?;
    app.metrics.event("lineage.remove");
    Ok(EdgeView { id: edge_id.to_owned(), relation, from: AssetRef::of(&from), to: AssetRef::of(&to), created_at })
}

/// The lineage graph: everything (retired assets only with `include_retired`), or with `root`
/// the assets up to `depth` edges upstream and downstream of it (not filtered by access policies).
pub async fn graph(app: &AppState, root: Option<&str>, depth: usize, include_retired: bool) -> ApiResult<Graph> {
    let filter = assets::AssetFilter { include_retired: include_retired || root.is_some(), ..Default::default() };
    let all = assets::list(app, &filter).await?;
    let mut graph = Graph {
        nodes: all
            .iter()
            .map(|a| GraphNode {
                id: a.id.clone(),
                kind: a.kind,
                name: a.name.clone(),
                sensitivity: a.sensitivity,
                lifecycle: a.lifecycle,
                retired: a.is_retired(),
                attrs: a.attrs(),
            })
            .collect(),
        edges: all_edges(app).await?,
    };
    if let Some(root) = root {
        if !all.iter().any(|a| a.id == root) {
            return Err(ApiError::not_found("asset", root));
        }
        let around: HashSet<String> = neighbourhood(&graph.edges, root, depth.min(MAX_DEPTH)).into_iter().map(str::to_owned).collect();
        let keep_retired = include_retired;
        graph.retain(|n| around.contains(n.id.as_str()) && (keep_retired || !n.retired || n.id == root));
    } else {
        graph.retain(|_| true);
    }
    Ok(graph)
}

/// `root` and the assets at most `depth` edges upstream or downstream of it (following one
/// direction each way, so siblings through a shared parent are not included).
fn neighbourhood<'a>(edges: &'a [GraphEdge], root: &'a str, depth: usize) -> HashSet<&'a str> {
    let mut found = HashSet::from([root]);
    for downstream in [true, false] {
        let mut frontier = vec![root];
        for _ in 0..depth {
            let mut next = Vec::new();
            for edge in edges {
                let (near, far) = if downstream { (edge.from.as_str(), edge.to.as_str()) } else { (edge.to.as_str(), edge.from.as_str()) };
                if frontier.contains(&near) && found.insert(far) {
                    next.push(far);
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: &str, to: &str) -> GraphEdge {
        GraphEdge { id: format!("{from}{to}"), from: from.into(), to: to.into(), relation: Relation::Feeds }
    }

    #[test]
    fn the_neighbourhood_follows_each_direction_to_the_depth_asked() {
        // s -> d -> m -> p, and s -> d2 (a sibling of d through s).
        let edges = vec![edge("s", "d"), edge("d", "m"), edge("m", "p"), edge("s", "d2")];
        let mut one: Vec<&str> = neighbourhood(&edges, "d", 1).into_iter().collect();
        one.sort_unstable();
        assert_eq!(one, ["d", "m", "s"]);
        let mut all: Vec<&str> = neighbourhood(&edges, "d", 10).into_iter().collect();
        all.sort_unstable();
        assert_eq!(all, ["d", "m", "p", "s"], "the sibling d2 is not lineage of d");
        assert_eq!(neighbourhood(&edges, "d", 0).len(), 1);
    }
}
