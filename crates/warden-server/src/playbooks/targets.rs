//! What a step acts on, found from a run's context: the model versions its findings name, the
//! model behind a deployment, the API key that uploaded a version, the user an alert names, the
//! client of a traffic finding, the models trained on a dataset. Read-only: the same answers serve
//! real runs and dry runs.

use std::collections::{BTreeSet, HashSet, VecDeque};

use sqlx::Row;

use super::runs::RunContext;
use crate::error::ApiResult;
use crate::registry::catalog::{self, ModelVersion};
use crate::state::AppState;

/// Most assets a lineage walk visits.
const MAX_WALK: usize = 10_000;

/// An asset as playbooks need it: read without the inventory's stricter parsing, so a playbook
/// acts on whatever asset row exists.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Its id.
    pub id: String,
    /// Its kind's name (`model`, `dataset`, ...).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Frozen already.
    pub frozen: bool,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its sensitivity rank (0 public ... 3 restricted).
    pub sensitivity: i64,
}

impl Asset {
    /// The kind for people (`data source`).
    pub fn label(&self) -> String {
        self.kind.replace('_', " ")
    }
}

const ASSET_COLUMNS: &str = "id, kind, name, frozen, tags, sensitivity";

fn asset_from_row(row: &sqlx::any::AnyRow) -> ApiResult<Asset> {
    let tags: String = row.try_get(4)?;
    Ok(Asset {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        name: row.try_get(2)?,
        frozen: row.try_get::<i64, _>(3)? != 0,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        sensitivity: row.try_get(5)?,
    })
}

/// Asset `id`, read on `conn`.
pub async fn asset_in(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<Asset>> {
    if !super::runs::plain_id(id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(asset_from_row).transpose()
}

/// Asset `id`.
pub async fn asset(app: &AppState, id: &str) -> ApiResult<Option<Asset>> {
    asset_in(&mut *app.store.read.acquire().await?, id).await
}

/// Every asset that is not retired, by kind and name (`frozen_only`: only frozen ones).
pub async fn all_assets(app: &AppState, frozen_only: bool) -> ApiResult<Vec<Asset>> {
    let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE retired_at IS NULL AND ($1 = 0 OR frozen = 1) ORDER BY kind, name");
    let rows = sqlx::query(&sql).bind(i64::from(frozen_only)).fetch_all(&app.store.read).await?;
    rows.iter().map(asset_from_row).collect()
}

/// The model versions the run's findings name, each once, in finding order.
pub async fn versions(app: &AppState, ctx: &RunContext) -> ApiResult<Vec<ModelVersion>> {
    let mut conn = app.store.read.acquire().await?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ctx.findings.iter().filter_map(|f| f.version_id.as_deref()) {
        if seen.insert(id.to_owned())
            && let Some(version) = catalog::version_by_id(&mut conn, id).await?
        {
            out.push(version);
        }
    }
    Ok(out)
}

/// The incident's asset, if it has one and it still exists.
pub async fn incident_asset(app: &AppState, ctx: &RunContext) -> ApiResult<Option<Asset>> {
    match &ctx.asset_id {
        Some(id) => asset(app, id).await,
        None => Ok(None),
    }
}

/// The models whose production a rollback concerns: the incident's model, or the models a
/// deployment serves (lineage `deploys`). `Err` says why there is none.
pub async fn rollback_models(app: &AppState, ctx: &RunContext) -> ApiResult<Result<Vec<Asset>, String>> {
    let Some(asset) = incident_asset(app, ctx).await? else {
        return Ok(Err("the incident concerns no asset, so there is no model to roll back".into()));
    };
    match asset.kind.clone().as_str() {
        "model" => Ok(Ok(vec![asset])),
        "deployment" => {
            let ids: Vec<String> = sqlx::query_scalar("SELECT from_id FROM lineage WHERE to_id = $1 AND relation = 'deploys' ORDER BY created_at, id")
                .bind(&asset.id)
                .fetch_all(&app.store.read)
                .await?;
            let mut models = Vec::new();
            for id in ids {
                if let Some(model) = self::asset(app, &id).await? {
                    models.push(model);
                }
            }
            if models.is_empty() {
                Ok(Err(format!("deployment `{}` has no model in its lineage (add a `deploys` edge from the model)", asset.name)))
            } else {
                Ok(Ok(models))
            }
        }
        other => Ok(Err(format!("the incident's asset `{}` is a {other}: only models and deployments have a production version", asset.name))),
    }
}

/// The API keys that uploaded the versions the run's findings name (uploads from a browser
/// session have none).
pub async fn uploader_keys(app: &AppState, ctx: &RunContext) -> ApiResult<Vec<String>> {
    let mut keys = BTreeSet::new();
    for version in versions(app, ctx).await? {
        let key: Option<String> = sqlx::query_scalar("SELECT uploaded_key_id FROM model_versions WHERE id = $1")
            .bind(&version.id)
            .fetch_optional(&app.store.read)
            .await?
            .flatten();
        keys.extend(key);
    }
    Ok(keys.into_iter().collect())
}

/// A user a step may act on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserRef {
    /// The user id.
    pub id: String,
    /// The user name.
    pub username: String,
    /// Disabled already.
    pub disabled: bool,
}

async fn user_by_name(app: &AppState, username: &str) -> ApiResult<Option<UserRef>> {
    let row = sqlx::query("SELECT id, username, disabled FROM users WHERE username = $1").bind(username).fetch_optional(&app.store.read).await?;
    row.map(|row| Ok(UserRef { id: row.try_get(0)?, username: row.try_get(1)?, disabled: row.try_get::<i64, _>(2)? != 0 })).transpose()
}

/// The user name in an alert subject (`user:alice`, `user:alice:net:10.0.0.0/24`).
pub fn subject_user(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("user:")?;
    let name = rest.split(':').next().unwrap_or(rest);
    (!name.is_empty()).then_some(name)
}

/// The users the incident's alerts name (subjects `user:<name>`), and the names that match no user.
pub async fn subject_users(app: &AppState, ctx: &RunContext) -> ApiResult<(Vec<UserRef>, Vec<String>)> {
    let names: BTreeSet<&str> = std::iter::once(ctx.subject.as_str()).chain(ctx.findings.iter().map(|f| f.subject.as_str())).filter_map(subject_user).collect();
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match user_by_name(app, name).await? {
            Some(user) => found.push(user),
            None => unknown.push(name.to_owned()),
        }
    }
    Ok((found, unknown))
}

/// The users who uploaded the versions the run's findings name.
pub async fn uploader_users(app: &AppState, ctx: &RunContext) -> ApiResult<Vec<UserRef>> {
    let names: BTreeSet<String> = versions(app, ctx).await?.into_iter().map(|v| v.created_by).collect();
    let mut found = Vec::new();
    for name in names {
        found.extend(user_by_name(app, &name).await?);
    }
    Ok(found)
}

/// An API key a step may revoke.
#[derive(Debug, Clone)]
pub struct KeyRef {
    /// The key id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its owner's user name.
    pub owner: String,
    /// Revoked already.
    pub revoked: bool,
}

/// API key `id`, if it exists.
pub async fn key(app: &AppState, id: &str) -> ApiResult<Option<KeyRef>> {
    let row = sqlx::query("SELECT k.id, k.name, u.username, k.revoked_at FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1")
        .bind(id)
        .fetch_optional(&app.store.read)
        .await?;
    row.map(|row| Ok(KeyRef { id: row.try_get(0)?, name: row.try_get(1)?, owner: row.try_get(2)?, revoked: row.try_get::<Option<i64>, _>(3)?.is_some() })).transpose()
}

/// The keys of `user`, newest first, revoked ones included (so the outcome can say so).
pub async fn keys_of(app: &AppState, user: &UserRef) -> ApiResult<Vec<KeyRef>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id").bind(&user.id).fetch_all(&app.store.read).await?;
    let mut out = Vec::new();
    for id in ids {
        out.extend(key(app, &id).await?);
    }
    Ok(out)
}

/// A client of a deployment, as traffic findings name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientRef {
    /// The deployment asset.
    pub deployment_id: String,
    /// The client id the gateway sees.
    pub client_id: String,
}

/// Splits `client:<deployment>:<client>`.
pub fn parse_client_subject(subject: &str) -> Option<ClientRef> {
    let rest = subject.strip_prefix("client:")?;
    let (deployment, client) = rest.split_once(':')?;
    (!deployment.is_empty() && !client.is_empty()).then(|| ClientRef { deployment_id: deployment.to_owned(), client_id: client.to_owned() })
}

/// The clients the run's findings name: from `client:` subjects, or from a finding's client id
/// when the incident's asset is the deployment.
pub async fn clients(app: &AppState, ctx: &RunContext) -> ApiResult<Vec<ClientRef>> {
    let mut out = BTreeSet::new();
    out.extend(parse_client_subject(&ctx.subject));
    for finding in &ctx.findings {
        out.extend(parse_client_subject(&finding.subject));
    }
    if out.is_empty()
        && let Some(asset) = incident_asset(app, ctx).await?
        && asset.kind.as_str() == "deployment"
    {
        for client in ctx.findings.iter().filter_map(|f| f.client_id.as_deref()).filter(|c| !c.starts_with("user:")) {
            out.insert(ClientRef { deployment_id: asset.id.clone(), client_id: client.to_owned() });
        }
    }
    Ok(out.into_iter().collect())
}

/// The API key a client id stands for, when the client is one of our keys: its id (32 hex
/// digits), `key:<id>`, or a `wdn_<id>_...` token whose id part names a key.
pub async fn client_key(app: &AppState, client_id: &str) -> ApiResult<Option<KeyRef>> {
    let candidate = client_id
        .strip_prefix("key:")
        .or_else(|| client_id.strip_prefix(crate::identity::API_KEY_PREFIX).and_then(|rest| rest.split('_').next()))
        .unwrap_or(client_id);
    if candidate.len() != 32 || !candidate.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    key(app, candidate).await
}

/// `root` and, with `downstream_models`, every model downstream of it in the lineage (trained on
/// it, derived datasets' models, fine-tunes), each once.
pub async fn freeze_set(app: &AppState, root: Asset, downstream_models: bool) -> ApiResult<Vec<Asset>> {
    let mut out = vec![root.clone()];
    if !downstream_models {
        return Ok(out);
    }
    let mut conn = app.store.read.acquire().await?;
    let mut queue = VecDeque::from([root.id.clone()]);
    let mut seen = HashSet::from([root.id.clone()]);
    while let Some(current) = queue.pop_front() {
        if seen.len() > MAX_WALK {
            break;
        }
        let next: Vec<String> = sqlx::query_scalar("SELECT to_id FROM lineage WHERE from_id = $1 ORDER BY created_at, id").bind(&current).fetch_all(&mut *conn).await?;
        for id in next {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(asset) = asset_in(&mut conn, &id).await? else { continue };
            match asset.kind.as_str() {
                "model" => {
                    queue.push_back(asset.id.clone());
                    out.push(asset);
                }
                "dataset" => queue.push_back(asset.id.clone()),
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_users_and_clients() {
        assert_eq!(subject_user("user:alice"), Some("alice"));
        assert_eq!(subject_user("user:alice:net:10.0.0.0/24"), Some("alice"));
        assert_eq!(subject_user("ip:10.0.0.1"), None);
        assert_eq!(subject_user("user:"), None);
        let client = parse_client_subject("client:dep-1:key:abc").unwrap();
        assert_eq!((client.deployment_id.as_str(), client.client_id.as_str()), ("dep-1", "key:abc"));
        assert!(parse_client_subject("client:dep-1").is_none());
        assert!(parse_client_subject("user:bob").is_none());
    }
}
