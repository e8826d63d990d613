//! Assets: registering, reading, listing, changing and retiring them. Each change is checked by
//! Cedar against the asset as it would become (the gate already checked it as it is), written
//! with an optimistic check on `updated_at`, and audited in the same transaction. Assets are never
//! deleted: retiring one keeps its row, so findings, lineage and the audit log keep referring to it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::access;
use super::model::{self, AssetKind, Lifecycle, Sensitivity};
use crate::audit::Change;
use crate::authz::{AssetAttrs, actions};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};

/// An inventory asset.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Asset {
    /// Its id (UUIDv7); also its CycloneDX `bom-ref`.
    pub id: String,
    /// What it is.
    pub kind: AssetKind,
    /// Its name, unique among assets of its kind.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The user name of who answers for it.
    pub owner: String,
    /// How sensitive it is.
    pub sensitivity: Sensitivity,
    /// Where it is in its life.
    pub lifecycle: Lifecycle,
    /// Where it runs (a slug: development, staging, production, other...).
    pub environment: String,
    /// Free tags (slugs).
    pub tags: Vec<String>,
    /// Free metadata: `model_card`, `license`, `source`, `format`, `personal_data`, `provenance`, ...
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// Changes are refused while set (by incident handling).
    pub frozen: bool,
    /// Who registered it.
    pub created_by: String,
    /// When (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// When it was retired (unix ms), if it was.
    pub retired_at: Option<i64>,
}

impl Asset {
    /// What Cedar policies see of it.
    pub fn attrs(&self) -> AssetAttrs {
        AssetAttrs {
            id: self.id.clone(),
            kind: self.kind.as_str().to_owned(),
            sensitivity: self.sensitivity.rank(),
            owner: self.owner.clone(),
            environment: self.environment.clone(),
            lifecycle: self.lifecycle.as_str().to_owned(),
            tags: self.tags.clone(),
        }
    }

    /// Retired assets are kept for the record and no longer change.
    pub fn is_retired(&self) -> bool {
        self.retired_at.is_some()
    }

    /// The model card in its properties, if any.
    pub fn model_card(&self) -> Option<&Map<String, Value>> {
        self.properties.get("model_card").and_then(Value::as_object)
    }

    /// A string property, if set and not empty.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
    }

    fn refuse_changes(&self) -> ApiResult<()> {
        if self.is_retired() {
            return Err(ApiError::Conflict(format!("asset `{}` is retired; its record is kept as it was and no longer changes", self.name)));
        }
        if self.frozen {
            return Err(ApiError::Conflict(format!("asset `{}` is frozen (an incident is open on it); lift the freeze first", self.name)));
        }
        Ok(())
    }
}

const COLUMNS: &str = "id, kind, name, description, owner, sensitivity, lifecycle, environment, tags, properties, frozen, created_by, created_at, updated_at, retired_at";

fn corrupt(id: &str, what: &str, err: &ApiError) -> ApiError {
    ApiError::Internal(format!("asset `{id}` has a stored {what} this server does not know: {err}"))
}

fn from_row(row: &AnyRow) -> ApiResult<Asset> {
    let id: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let lifecycle: String = row.try_get(6)?;
    let tags: String = row.try_get(8)?;
    let properties: String = row.try_get(9)?;
    Ok(Asset {
        kind: AssetKind::parse(&kind).map_err(|e| corrupt(&id, "kind", &e))?,
        lifecycle: Lifecycle::parse(&lifecycle).map_err(|e| corrupt(&id, "lifecycle", &e))?,
        name: row.try_get(2)?,
        description: row.try_get(3)?,
        owner: row.try_get(4)?,
        sensitivity: Sensitivity::from_rank(row.try_get(5)?),
        environment: row.try_get(7)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        properties: serde_json::from_str(&properties).unwrap_or_default(),
        frozen: row.try_get::<i64, _>(10)? != 0,
        created_by: row.try_get(11)?,
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        retired_at: row.try_get(14)?,
        id,
    })
}

/// Asset `id`, read on `conn` (a pooled connection or an open transaction).
pub async fn get_in(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<Asset>> {
    if id.len() > 64 {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM assets WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Asset `id`.
pub async fn get(app: &AppState, id: &str) -> ApiResult<Option<Asset>> {
    let mut conn = app.store.read.acquire().await?;
    get_in(&mut conn, id).await
}

/// Asset `id`, or a 404.
pub async fn require(app: &AppState, id: &str) -> ApiResult<Asset> {
    get(app, id).await?.ok_or_else(|| ApiError::not_found("asset", id))
}

/// Filters of [`list`] (all optional).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct AssetFilter {
    /// Only this kind (empty: every kind, as the assets page's form sends it).
    #[param(schema_with = kind_filter_schema)]
    pub kind: Option<String>,
    /// Only assets whose name, description or owner contains this text (any case).
    pub q: Option<String>,
    /// Only assets with this tag.
    pub tag: Option<String>,
    /// Retired assets too.
    #[serde(default)]
    pub include_retired: bool,
}

/// The `kind` filter's schema: an asset kind, or empty for every kind.
fn kind_filter_schema() -> utoipa::openapi::Object {
    let names = std::iter::once("").chain(AssetKind::ALL.iter().map(|k| k.as_str()));
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("Only this kind (empty: every kind, as the assets page's form sends it)."))
        .enum_values(Some(names))
        .build()
}

/// Assets matching `filter`, by kind then name (not yet filtered by access policies).
pub async fn list(app: &AppState, filter: &AssetFilter) -> ApiResult<Vec<Asset>> {
    let kind = match filter.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(text) => AssetKind::parse(text)?.as_str(),
        None => "",
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assets WHERE ($1 = '' OR kind = $1) AND ($2 = 1 OR retired_at IS NULL) ORDER BY kind, name"
    ))
    .bind(kind)
    .bind(i64::from(filter.include_retired))
    .fetch_all(&app.store.read)
    .await?;
    let needle = filter.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let tag = filter.tag.as_deref().map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty());
    let mut assets = Vec::with_capacity(rows.len());
    for row in &rows {
        let asset = from_row(row)?;
        if let Some(needle) = &needle {
            let hay = format!("{}\n{}\n{}", asset.name, asset.description, asset.owner).to_lowercase();
            if !hay.contains(needle.as_str()) {
                continue;
            }
        }
        if tag.as_ref().is_some_and(|t| !asset.tags.contains(t)) {
            continue;
        }
        assets.push(asset);
    }
    assets.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(assets)
}

/// The body of `POST /api/v1/assets`: `kind` and `name` are required, the rest has defaults
/// (owner: the caller; sensitivity: internal; lifecycle: design; environment: development).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    /// data_source, dataset, model or deployment.
    #[schema(value_type = AssetKind)]
    pub kind: String,
    /// Unique among assets of its kind.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// A user name.
    pub owner: Option<String>,
    /// public, internal, confidential or restricted.
    #[schema(value_type = Option<Sensitivity>)]
    pub sensitivity: Option<String>,
    /// design ... production (not retired: retire with DELETE).
    #[schema(value_type = Option<Lifecycle>)]
    pub lifecycle: Option<String>,
    /// A slug.
    pub environment: Option<String>,
    /// Slugs.
    pub tags: Option<Vec<String>>,
    /// A JSON object.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

impl NewAsset {
    /// The validated asset this would register for `caller`.
    fn validate(self, caller: &Caller) -> ApiResult<Asset> {
        let lifecycle = match self.lifecycle.as_deref() {
            Some(text) => no_retire(Lifecycle::parse(text)?)?,
            None => Lifecycle::Design,
        };
        let now = now_ms();
        Ok(Asset {
            id: new_id(),
            kind: AssetKind::parse(&self.kind)?,
            name: model::name(&self.name)?,
            description: model::description(self.description.as_deref().unwrap_or(""))?,
            owner: model::owner(self.owner.as_deref().filter(|o| !o.trim().is_empty()).unwrap_or(&caller.principal.name))?,
            sensitivity: Sensitivity::parse(self.sensitivity.as_deref().unwrap_or("internal"))?,
            lifecycle,
            environment: model::slug("environment", self.environment.as_deref().unwrap_or("development"))?,
            tags: model::tags(self.tags.as_deref().unwrap_or(&[]))?,
            properties: model::properties(self.properties.unwrap_or_else(|| json!({})))?,
            frozen: false,
            created_by: caller.principal.name.clone(),
            created_at: now,
            updated_at: now,
            retired_at: None,
        })
    }
}

fn no_retire(lifecycle: Lifecycle) -> ApiResult<Lifecycle> {
    if lifecycle == Lifecycle::Retired {
        Err(ApiError::BadRequest("an asset is retired with DELETE /api/v1/assets/{id} (or the Retire button), not by setting its lifecycle".into()))
    } else {
        Ok(lifecycle)
    }
}

fn duplicate(kind: AssetKind, name: &str) -> ApiError {
    ApiError::Conflict(format!("a {} named `{name}` is already registered; pick another name or update that one", kind.label()))
}

/// Registers an asset inside `tx` and records it in the audit log there; the caller commits.
/// For other modules that create an asset as part of a larger change (the registry's models).
pub async fn create_in(app: &AppState, tx: &mut sqlx::Transaction<'static, sqlx::Any>, caller: &Caller, asset: &Asset) -> ApiResult<()> {
    let result = sqlx::query(
        "INSERT INTO assets (id, kind, name, description, owner, sensitivity, lifecycle, environment, tags, properties, frozen, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)",
    )
    .bind(&asset.id)
    .bind(asset.kind.as_str())
    .bind(&asset.name)
    .bind(&asset.description)
    .bind(&asset.owner)
    .bind(asset.sensitivity.rank())
    .bind(asset.lifecycle.as_str())
    .bind(&asset.environment)
    .bind(json_text(&asset.tags)?)
    .bind(json_text(&asset.properties)?)
    .bind(&asset.created_by)
    .bind(asset.created_at)
    .bind(asset.updated_at)
    .execute(&mut **tx)
    .await;
    match result {
        Err(err) if is_unique_violation(&err) => return Err(duplicate(asset.kind, &asset.name)),
        other => other?,
    };
    let detail = json!({
        "kind": asset.kind,
        "name": asset.name,
        "owner": asset.owner,
        "sensitivity": asset.sensitivity,
        "lifecycle": asset.lifecycle,
        "environment": asset.environment,
        "tags": asset.tags,
        "property_keys": asset.properties.keys().collect::<Vec<_>>(),
    });
    app.audit.change(tx, caller, Change::create("asset.create", "asset", &asset.id).named(asset.name.clone()).detail(detail)).await?;
    Ok(())
}

/// Validates and registers `new` for `caller`: Cedar must allow `asset.create` on the asset as
/// it would be (so policies on sensitivity or environment apply from the start).
pub async fn create(app: &AppState, caller: &Caller, new: NewAsset) -> ApiResult<Asset> {
    let asset = new.validate(caller)?;
    access::require(app, caller, actions::ASSET_CREATE, &asset.attrs(), ("POST", "/api/v1/assets")).await?;
    let mut tx = app.store.begin().await?;
    create_in(app, &mut tx, caller, &asset).await?;
    tx.commit().await?;
    app.metrics.event("asset.create");
    Ok(asset)
}

/// The body of `PATCH /api/v1/assets/{id}`: the fields to change (`properties` replaces the
/// whole object; `kind` cannot change).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    /// Refused when it differs: an asset's kind is what it is.
    #[schema(value_type = Option<AssetKind>)]
    pub kind: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New owner.
    pub owner: Option<String>,
    /// New sensitivity.
    #[schema(value_type = Option<Sensitivity>)]
    pub sensitivity: Option<String>,
    /// New lifecycle stage (not retired: retire with DELETE).
    #[schema(value_type = Option<Lifecycle>)]
    pub lifecycle: Option<String>,
    /// New environment.
    pub environment: Option<String>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// New properties (replace the old object).
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

impl AssetPatch {
    /// `old` with this patch applied, validated.
    fn apply(self, old: &Asset) -> ApiResult<Asset> {
        let mut new = old.clone();
        if let Some(kind) = self.kind
            && AssetKind::parse(&kind)? != old.kind
        {
            return Err(ApiError::BadRequest(format!("an asset's kind cannot change (this one is a {}); register a new asset instead", old.kind.label())));
        }
        if let Some(v) = self.name {
            new.name = model::name(&v)?;
        }
        if let Some(v) = self.description {
            new.description = model::description(&v)?;
        }
        if let Some(v) = self.owner {
            new.owner = model::owner(&v)?;
        }
        if let Some(v) = self.sensitivity {
            new.sensitivity = Sensitivity::parse(&v)?;
        }
        if let Some(v) = self.lifecycle {
            new.lifecycle = no_retire(Lifecycle::parse(&v)?)?;
        }
        if let Some(v) = self.environment {
            new.environment = model::slug("environment", &v)?;
        }
        if let Some(v) = self.tags {
            new.tags = model::tags(&v)?;
        }
        if let Some(v) = self.properties {
            new.properties = model::properties(v)?;
        }
        Ok(new)
    }
}

/// The fields that differ between `old` and `new`, as `{field: {old, new}}` for the audit log.
fn changes(old: &Asset, new: &Asset) -> Map<String, Value> {
    let mut out = Map::new();
    let mut field = |name: &str, a: Value, b: Value| {
        if a != b {
            out.insert(name.to_owned(), json!({"old": a, "new": b}));
        }
    };
    field("name", json!(old.name), json!(new.name));
    field("description", json!(old.description), json!(new.description));
    field("owner", json!(old.owner), json!(new.owner));
    field("sensitivity", json!(old.sensitivity), json!(new.sensitivity));
    field("lifecycle", json!(old.lifecycle), json!(new.lifecycle));
    field("environment", json!(old.environment), json!(new.environment));
    field("tags", json!(old.tags), json!(new.tags));
    if old.properties != new.properties {
        // Per top-level key, each side shortened: the audit log records the change, not the document.
        let keys: std::collections::BTreeSet<&String> = old.properties.keys().chain(new.properties.keys()).collect();
        let mut props = Map::new();
        for key in keys {
            let (a, b) = (old.properties.get(key), new.properties.get(key));
            if a != b {
                props.insert(key.clone(), json!({"old": a.map(shorten), "new": b.map(shorten)}));
            }
        }
        out.insert("properties".into(), Value::Object(props));
    }
    out
}

fn shorten(value: &Value) -> Value {
    const MAX: usize = 512;
    let text = value.to_string();
    if text.len() <= MAX { value.clone() } else { json!(format!("{}...", text.chars().take(MAX).collect::<String>())) }
}

async fn write_row(tx: &mut sqlx::Transaction<'static, sqlx::Any>, asset: &Asset, expected_updated_at: i64) -> ApiResult<()> {
    let result = sqlx::query(
        "UPDATE assets SET name = $1, description = $2, owner = $3, sensitivity = $4, lifecycle = $5, environment = $6, tags = $7, \
         properties = $8, updated_at = $9, retired_at = $10 WHERE id = $11 AND updated_at = $12",
    )
    .bind(&asset.name)
    .bind(&asset.description)
    .bind(&asset.owner)
    .bind(asset.sensitivity.rank())
    .bind(asset.lifecycle.as_str())
    .bind(&asset.environment)
    .bind(json_text(&asset.tags)?)
    .bind(json_text(&asset.properties)?)
    .bind(asset.updated_at)
    .bind(asset.retired_at)
    .bind(&asset.id)
    .bind(expected_updated_at)
    .execute(&mut **tx)
    .await;
    let done = match result {
        Err(err) if is_unique_violation(&err) => return Err(duplicate(asset.kind, &asset.name)),
        other => other?,
    };
    if done.rows_affected() == 0 {
        return Err(ApiError::Conflict(format!("asset `{}` was changed by someone else meanwhile; reload it and try again", asset.name)));
    }
    Ok(())
}

/// The next `updated_at`: now, but always later than the previous one, so the optimistic check
/// tells two changes within one millisecond apart.
fn next_stamp(previous: i64) -> i64 {
    now_ms().max(previous + 1)
}

/// Applies `patch` to asset `id` for `caller`. Cedar must allow `asset.update` on the asset as it
/// would become. Returns the asset after the change (unchanged, and nothing audited, when the
/// patch changes nothing).
pub async fn update(app: &AppState, caller: &Caller, id: &str, patch: AssetPatch) -> ApiResult<Asset> {
    let old = require(app, id).await?;
    old.refuse_changes()?;
    let mut new = patch.apply(&old)?;
    let diff = changes(&old, &new);
    if diff.is_empty() {
        return Ok(old);
    }
    if new.attrs() != old.attrs() {
        access::require(app, caller, actions::ASSET_UPDATE, &new.attrs(), ("PATCH", "/api/v1/assets/{id}")).await?;
    }
    new.updated_at = next_stamp(old.updated_at);
    let mut tx = app.store.begin().await?;
    write_row(&mut tx, &new, old.updated_at).await?;
    let fields: Vec<&String> = diff.keys().collect();
    let message = format!("changed {}", fields.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
    app.audit
        .change(&mut tx, caller, Change::update("asset.update", "asset", id).named(new.name.clone()).detail(json!({"changes": diff})).message(message))
        .await?;
    tx.commit().await?;
    app.metrics.event("asset.update");
    Ok(new)
}

/// Retires asset `id`: lifecycle `retired`, `retired_at` set, the row kept.
pub async fn retire(app: &AppState, caller: &Caller, id: &str) -> ApiResult<Asset> {
    let old = require(app, id).await?;
    old.refuse_changes()?;
    let mut new = old.clone();
    new.lifecycle = Lifecycle::Retired;
    new.updated_at = next_stamp(old.updated_at);
    new.retired_at = Some(new.updated_at);
    let mut tx = app.store.begin().await?;
    write_row(&mut tx, &new, old.updated_at).await?;
    let detail = json!({"changes": {"lifecycle": {"old": old.lifecycle, "new": new.lifecycle}}, "kind": old.kind});
    app.audit.change(&mut tx, caller, Change::delete("asset.delete", "asset", id).named(old.name.clone()).detail(detail).message("retired")).await?;
    tx.commit().await?;
    app.metrics.event("asset.delete");
    Ok(new)
}

fn json_text<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(format!("encoding JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Asset {
        Asset {
            id: "a".into(),
            kind: AssetKind::Model,
            name: "m".into(),
            description: String::new(),
            owner: "alice".into(),
            sensitivity: Sensitivity::Internal,
            lifecycle: Lifecycle::Training,
            environment: "development".into(),
            tags: vec![],
            properties: Map::new(),
            frozen: false,
            created_by: "alice".into(),
            created_at: 1,
            updated_at: 1,
            retired_at: None,
        }
    }

    #[test]
    fn a_patch_records_only_changed_fields_old_and_new() {
        let old = sample();
        let patch = AssetPatch { sensitivity: Some("restricted".into()), owner: Some("alice".into()), properties: Some(json!({"license": "mit"})), ..AssetPatch::default() };
        let new = patch.apply(&old).unwrap();
        let diff = changes(&old, &new);
        assert_eq!(diff.keys().collect::<Vec<_>>(), ["sensitivity", "properties"]);
        assert_eq!(diff["sensitivity"], json!({"old": "internal", "new": "restricted"}));
        assert_eq!(diff["properties"], json!({"license": {"old": null, "new": "mit"}}));
    }

    #[test]
    fn a_patch_cannot_change_the_kind_or_retire() {
        let old = sample();
        let err = AssetPatch { kind: Some("dataset".into()), ..AssetPatch::default() }.apply(&old).unwrap_err();
        assert!(err.to_string().contains("kind cannot change"), "{err}");
        assert!(AssetPatch { kind: Some("model".into()), ..AssetPatch::default() }.apply(&old).is_ok());
        let err = AssetPatch { lifecycle: Some("retired".into()), ..AssetPatch::default() }.apply(&old).unwrap_err();
        assert!(err.to_string().contains("DELETE"), "{err}");
    }

    #[test]
    fn stamps_always_move_forward() {
        let far = now_ms() + 10_000;
        assert_eq!(next_stamp(far), far + 1);
        assert!(next_stamp(0) >= now_ms() - 1000);
    }
}
