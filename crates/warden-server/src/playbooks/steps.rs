//! What each step does, for real or as a dry run. Both paths find their targets the same way
//! ([`super::targets`]) and check the same things; a dry run then says what it would do ("would
//! quarantine `fraud` version `1.2` — currently in production; production would roll back to
//! `1.1`") where a real run calls the function that acts, as `Actor::System("playbook:<id>")`.
//! Every acting function is idempotent (`changed: false` when repeated), so a retried step, or one
//! a second instance takes over after a crash, changes nothing twice.

use serde_json::{Value, json};

use super::notify;
use super::progress;
use super::runs::{Run, RunContext, RunStep};
use super::spec::{Step, StepKind, Target};
use super::targets::{self, UserRef};
use crate::actor::Actor;
use crate::error::{ApiError, ApiResult};
use crate::registry::{self, catalog};
use crate::state::AppState;

/// How an execution of a step went.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done (or, in a dry run, decided): what it did.
    Done {
        /// For people.
        text: String,
        /// Details.
        data: Value,
    },
    /// Nothing to act on.
    Skipped {
        /// Why.
        text: String,
    },
    /// Parked until a person decides or a delivery settles.
    Wait {
        /// For people.
        text: String,
        /// Details.
        data: Value,
        /// Until when (unix ms; `i64::MAX` for no deadline).
        until: i64,
        /// An approval (the run shows as waiting).
        approval: bool,
    },
    /// Failed this attempt.
    Fail {
        /// Why.
        error: String,
        /// Whether another attempt may help.
        retry: bool,
    },
}

/// One execution of one step.
#[derive(Clone, Copy)]
pub struct Exec<'a> {
    /// The application.
    pub app: &'a AppState,
    /// The run.
    pub run: &'a Run,
    /// The step as stored.
    pub step: &'a RunStep,
    /// Its definition.
    pub spec: &'a Step,
    /// What the run acts on.
    pub ctx: &'a RunContext,
    /// The instance holding the step's lease.
    pub owner: &'a str,
}

impl Exec<'_> {
    fn dry(&self) -> bool {
        self.run.dry_run
    }

    fn reason(&self, default: &str) -> String {
        let text = self.spec.reason.clone().unwrap_or_else(|| default.to_owned());
        format!("{text} (incident {})", self.ctx.incident_id)
    }
}

/// Whether another attempt may fix `err`: refusals and missing things stay as they are.
pub fn retryable(err: &ApiError) -> bool {
    !matches!(err, ApiError::BadRequest(_) | ApiError::NotFound(_) | ApiError::Conflict(_) | ApiError::Forbidden(_) | ApiError::Unauthorized(_) | ApiError::TooLarge(_))
}

fn failed(err: &ApiError) -> Outcome {
    Outcome::Fail { error: err.public_message(), retry: retryable(err) }
}

/// Executes `x` once.
pub async fn execute(x: Exec<'_>) -> Outcome {
    let result = match x.spec.action {
        StepKind::QuarantineVersion => quarantine(x).await,
        StepKind::RollbackDeployment => rollback(x).await,
        StepKind::RevokeApiKey => revoke(x).await,
        StepKind::DisableUser => disable(x).await,
        StepKind::FreezeAsset => freeze(x).await,
        StepKind::BlockClient => block(x).await,
        StepKind::NotifyWebhook => notify::notify(x).await,
        StepKind::RequireApproval => Ok(notify::approval(x)),
    };
    result.unwrap_or_else(|err| failed(&err))
}

fn done(lines: Vec<String>, data: Value) -> Outcome {
    Outcome::Done { text: lines.join("; "), data }
}

async fn quarantine(x: Exec<'_>) -> ApiResult<Outcome> {
    let versions = targets::versions(x.app, x.ctx).await?;
    if versions.is_empty() {
        return Ok(Outcome::Skipped { text: "no finding of the incident names a model version".into() });
    }
    let who = x.run.reference().actor_name();
    let reason = x.reason("playbook quarantine");
    let mut lines = Vec::new();
    let mut acted = Vec::new();
    for version in versions {
        let mut conn = x.app.store.read.acquire().await?;
        let model = catalog::model_asset(&mut conn, &version.asset_id).await?;
        if x.dry() {
            let line = if version.quarantined {
                format!("version `{}` of `{}` is already quarantined; nothing would change", version.version, model.name)
            } else if version.in_production() {
                let next = catalog::previous_good(&mut conn, &version.id).await?;
                match next {
                    Some(good) => format!("would quarantine `{}` version `{}` — currently in production; production would roll back to `{}`", model.name, version.version, good.version),
                    None => format!("would quarantine `{}` version `{}` — currently in production, with no earlier good version: production would be left empty", model.name, version.version),
                }
            } else {
                format!("would quarantine `{}` version `{}` (currently in {})", model.name, version.version, version.stage)
            };
            lines.push(line);
        } else {
            drop(conn);
            let outcome = registry::quarantine(x.app, Actor::System(&who), &version.asset_id, &version.version, &reason).await?;
            lines.push(outcome.message);
        }
        acted.push(json!({"model": model.name, "asset_id": model.id, "version": version.version, "version_id": version.id}));
    }
    Ok(done(lines, json!({"versions": acted})))
}

async fn rollback(x: Exec<'_>) -> ApiResult<Outcome> {
    let models = match targets::rollback_models(x.app, x.ctx).await? {
        Ok(models) => models,
        Err(why) => return Ok(Outcome::Skipped { text: why }),
    };
    // The production version each model had when the step first ran: a retry rolls back from
    // that version only, never twice.
    let mut plan = x.step.plan.get("from").and_then(Value::as_object).cloned().unwrap_or_default();
    if plan.is_empty() {
        let mut conn = x.app.store.read.acquire().await?;
        for model in &models {
            let current = catalog::production(&mut conn, &model.id).await?;
            plan.insert(model.id.clone(), current.map_or(Value::Null, |v| Value::String(v.version)));
        }
        drop(conn);
        if !x.dry() {
            progress::save_plan(x.app, x.owner, &x.run.id, x.step.idx, &json!({"from": plan})).await?;
        }
    }
    let who = x.run.reference().actor_name();
    let reason = x.reason("playbook rollback");
    let mut lines = Vec::new();
    for model in &models {
        let Some(from) = plan.get(&model.id).and_then(Value::as_str) else {
            return Err(ApiError::Conflict(format!("no version of `{}` is in production, so there is nothing to roll back", model.name)));
        };
        if x.dry() {
            let mut conn = x.app.store.read.acquire().await?;
            let current = catalog::version(&mut conn, &model.id, from).await?.ok_or_else(|| ApiError::not_found("model version", from))?;
            let Some(good) = catalog::previous_good(&mut conn, &current.id).await? else {
                return Err(ApiError::Conflict(format!("`{}` has no earlier production version that is not quarantined; a rollback would be refused", model.name)));
            };
            lines.push(format!("would roll production of `{}` back from `{from}` to `{}`", model.name, good.version));
        } else {
            let outcome = registry::rollback(x.app, Actor::System(&who), &model.id, Some(from), &reason).await?;
            lines.push(outcome.message);
        }
    }
    Ok(done(lines, json!({"from": plan})))
}

async fn revoke(x: Exec<'_>) -> ApiResult<Outcome> {
    let target = x.spec.target.unwrap_or(Target::Uploader);
    let mut keys = Vec::new();
    match target {
        Target::Uploader => {
            if targets::versions(x.app, x.ctx).await?.is_empty() {
                return Ok(Outcome::Skipped { text: "no finding of the incident names a model version, so there is no uploading key".into() });
            }
            for id in targets::uploader_keys(x.app, x.ctx).await? {
                keys.extend(targets::key(x.app, &id).await?);
            }
            if keys.is_empty() {
                return Ok(Outcome::Skipped { text: "the version was uploaded from a browser session, not with an API key".into() });
            }
        }
        Target::User => {
            let (users, unknown) = targets::subject_users(x.app, x.ctx).await?;
            if users.is_empty() {
                return Ok(Outcome::Skipped { text: no_user(x.ctx, &unknown) });
            }
            for user in &users {
                keys.extend(targets::keys_of(x.app, user).await?);
            }
            if keys.is_empty() {
                let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
                return Ok(Outcome::Skipped { text: format!("{} hold(s) no API keys", names.join(", ")) });
            }
        }
        Target::Client => {
            let clients = targets::clients(x.app, x.ctx).await?;
            if clients.is_empty() {
                return Ok(Outcome::Skipped { text: "no finding of the incident names a client".into() });
            }
            for client in &clients {
                keys.extend(targets::client_key(x.app, &client.client_id).await?);
            }
            if keys.is_empty() {
                let names: Vec<&str> = clients.iter().map(|c| c.client_id.as_str()).collect();
                return Ok(Outcome::Skipped { text: format!("client {} is not one of our API keys", names.join(", ")) });
            }
        }
    }
    let who = x.run.reference().actor_name();
    let reason = x.reason("playbook revocation");
    let mut lines = Vec::new();
    for key in &keys {
        let line = match (key.revoked, x.dry()) {
            (true, _) => format!("API key `{}` ({}) of `{}` is already revoked", key.name, key.id, key.owner),
            (false, true) => format!("would revoke API key `{}` ({}) of `{}`: its next request would be refused", key.name, key.id, key.owner),
            (false, false) => {
                if crate::identity::keys::revoke_key(x.app, Actor::System(&who), &key.id, &reason).await? {
                    format!("revoked API key `{}` ({}) of `{}`", key.name, key.id, key.owner)
                } else {
                    format!("API key `{}` ({}) of `{}` was already revoked", key.name, key.id, key.owner)
                }
            }
        };
        lines.push(line);
    }
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    Ok(done(lines, json!({"keys": ids, "target": target})))
}

fn no_user(ctx: &RunContext, unknown: &[String]) -> String {
    if unknown.is_empty() {
        format!("the incident names no user (its subject is `{}`)", ctx.subject)
    } else {
        format!("no user is called {}", unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "))
    }
}

async fn disable(x: Exec<'_>) -> ApiResult<Outcome> {
    let users: Vec<UserRef> = match x.spec.target.unwrap_or(Target::User) {
        Target::Uploader => targets::uploader_users(x.app, x.ctx).await?,
        _ => {
            let (users, unknown) = targets::subject_users(x.app, x.ctx).await?;
            if users.is_empty() {
                return Ok(Outcome::Skipped { text: no_user(x.ctx, &unknown) });
            }
            users
        }
    };
    if users.is_empty() {
        return Ok(Outcome::Skipped { text: "no user uploaded the versions the findings name".into() });
    }
    let who = x.run.reference().actor_name();
    let reason = x.reason("playbook");
    let mut lines = Vec::new();
    for user in &users {
        let line = match (user.disabled, x.dry()) {
            (true, _) => format!("user `{}` is already disabled", user.username),
            (false, true) => {
                if last_admin(x.app, user).await? {
                    return Err(ApiError::Conflict(format!("`{}` is the last active administrator: disabling them would be refused", user.username)));
                }
                format!("would disable user `{}`: their sessions would end and their keys stop working", user.username)
            }
            (false, false) => {
                if crate::identity::users::set_disabled(x.app, Actor::System(&who), &user.id, true, &reason).await? {
                    format!("disabled user `{}` (sessions ended, keys stop working)", user.username)
                } else {
                    format!("user `{}` was already disabled", user.username)
                }
            }
        };
        lines.push(line);
    }
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    Ok(done(lines, json!({"users": names})))
}

/// Whether `user` is an administrator and no other active one exists (disabling them is refused).
async fn last_admin(app: &AppState, user: &UserRef) -> ApiResult<bool> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, roles FROM users WHERE disabled = 0").fetch_all(&app.store.read).await?;
    let is_admin = |roles: &str| roles.split(',').any(|r| r.trim() == "admin");
    let me = rows.iter().any(|(id, roles)| *id == user.id && is_admin(roles));
    Ok(me && !rows.iter().any(|(id, roles)| *id != user.id && is_admin(roles)))
}

async fn freeze(x: Exec<'_>) -> ApiResult<Outcome> {
    let Some(root) = targets::incident_asset(x.app, x.ctx).await? else {
        return Ok(Outcome::Skipped { text: "the incident concerns no asset".into() });
    };
    let set = targets::freeze_set(x.app, root, x.spec.downstream_models.unwrap_or(false)).await?;
    let who = x.run.reference().actor_name();
    let reason = x.reason("halt model updates");
    let mut lines = Vec::new();
    for asset in &set {
        let line = if x.dry() {
            super::freeze::describe(asset)
        } else if super::freeze::freeze_asset(x.app, Actor::System(&who), &asset.id, true, &reason).await? {
            format!("froze {} `{}`", asset.label(), asset.name)
        } else {
            format!("{} `{}` was already frozen", asset.label(), asset.name)
        };
        lines.push(line);
    }
    let ids: Vec<&str> = set.iter().map(|a| a.id.as_str()).collect();
    Ok(done(lines, json!({"assets": ids})))
}

async fn block(x: Exec<'_>) -> ApiResult<Outcome> {
    let clients = targets::clients(x.app, x.ctx).await?;
    if clients.is_empty() {
        return Ok(Outcome::Skipped { text: "no finding of the incident names a client of a deployment".into() });
    }
    let who = x.run.reference().actor_name();
    let reason = x.reason("playbook block");
    let mut lines = Vec::new();
    for client in &clients {
        let deployment = targets::asset(x.app, &client.deployment_id).await?.map_or_else(|| client.deployment_id.clone(), |a| a.name);
        let changed = crate::gateway::block_client(x.app, Actor::System(&who), &client.deployment_id, &client.client_id, &reason, Some(&x.ctx.incident_id), x.dry()).await?;
        lines.push(match (changed, x.dry()) {
            (true, true) => format!("would block client `{}` at the gateway of `{deployment}`", client.client_id),
            (true, false) => format!("blocked client `{}` at the gateway of `{deployment}`", client.client_id),
            (false, _) => format!("client `{}` is already blocked at the gateway of `{deployment}`", client.client_id),
        });
    }
    let named: Vec<Value> = clients.iter().map(|c| json!({"deployment_id": c.deployment_id, "client_id": c.client_id})).collect();
    Ok(done(lines, json!({"clients": named})))
}
