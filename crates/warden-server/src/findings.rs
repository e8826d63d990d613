//! Findings on the server: what scans of uploads, imported reports and the suspicious-access
//! detectors found, stored one row each and attached to an asset (and a model version) when they
//! concern one. Lists show a finding about an asset only to those Cedar lets read the asset. The
//! web UI's findings page and the report upload form of the asset page live here too.

use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use warden_core::{Finding, Location, Severity};

use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::{new_id, now_ms};
use crate::ui::{self, Chrome, UiResult};

/// The glob matcher of incident rules and playbook triggers (`*` any text, `?` one character).
pub use warden_response::glob::glob;

/// Where a stored finding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The scan of a registry upload.
    RegistryScan,
    /// A report imported with `POST /api/v1/assets/{id}/findings`.
    Import,
    /// The server's suspicious-access detectors.
    Alert,
    /// The attack detectors fed a deployment's inference traffic (`POST /api/v1/deployments/{id}/events`).
    Traffic,
    /// A drift report (`POST /api/v1/assets/{id}/drift`).
    Drift,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::RegistryScan => "registry_scan",
            Source::Import => "import",
            Source::Alert => "alert",
            Source::Traffic => "traffic",
            Source::Drift => "drift",
        }
    }

    fn parse(text: &str) -> Source {
        match text {
            "registry_scan" => Source::RegistryScan,
            "alert" => Source::Alert,
            "traffic" => Source::Traffic,
            "drift" => Source::Drift,
            _ => Source::Import,
        }
    }
}

/// A finding as the server stores and returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredFinding {
    /// Row id.
    pub id: String,
    /// The asset it concerns, if any.
    pub asset_id: Option<String>,
    /// The model version it concerns, if any.
    pub version_id: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// Who or what it is about when no asset is (a user name or an address, for alerts).
    pub subject: String,
    /// When it was stored (unix ms).
    pub created_at: i64,
    /// The finding itself, in warden's report format.
    #[schema(value_type = Object)]
    pub finding: Finding,
}

impl StoredFinding {
    /// When it was stored, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// Where it came from, for people.
    pub fn source_name(&self) -> &'static str {
        match self.source {
            Source::RegistryScan => "registry scan",
            Source::Import => "imported report",
            Source::Alert => "alert",
            Source::Traffic => "inference traffic",
            Source::Drift => "drift report",
        }
    }
}

/// Where a new finding is attached.
#[derive(Debug, Clone, Default)]
pub struct Attach<'a> {
    /// The asset.
    pub asset_id: Option<&'a str>,
    /// The model version.
    pub version_id: Option<&'a str>,
    /// For alerts: the user name or address concerned.
    pub subject: &'a str,
}

fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Stores one finding; returns its id. `conn` is a pooled connection or an open transaction.
pub async fn insert(conn: &mut sqlx::AnyConnection, source: Source, attach: &Attach<'_>, finding: &Finding) -> ApiResult<String> {
    let id = new_id();
    let location = serde_json::to_string(&finding.location).map_err(|e| ApiError::Internal(e.to_string()))?;
    let atlas = serde_json::to_string(&finding.atlas).map_err(|e| ApiError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO findings (id, asset_id, version_id, source, rule_id, severity, severity_rank, title, message, location, evidence, atlas, remediation, subject, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&id)
    .bind(attach.asset_id)
    .bind(attach.version_id)
    .bind(source.as_str())
    .bind(finding.rule_id.as_str())
    .bind(finding.severity.as_str())
    .bind(severity_rank(finding.severity))
    .bind(&finding.title)
    .bind(&finding.message)
    .bind(location)
    .bind(finding.evidence.as_deref())
    .bind(atlas)
    .bind(finding.remediation.as_deref())
    .bind(attach.subject)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Filters of [`list`] (all optional).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct FindingQuery {
    /// Only this asset's findings (on an asset's own list, that asset).
    pub asset: Option<String>,
    /// Only this model version's findings.
    pub version: Option<String>,
    /// Only this source (`registry_scan`, `import`, `alert`).
    pub source: Option<String>,
    /// Only at or above this severity.
    pub min_severity: Option<String>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// At most this many, newest first (default 200, at most 1000).
    pub limit: Option<i64>,
}

/// The columns [`from_row`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, asset_id, version_id, source, rule_id, severity, title, message, location, evidence, atlas, remediation, subject, created_at";

/// Findings matching `query`, newest first.
pub async fn list(app: &AppState, query: &FindingQuery) -> ApiResult<Vec<StoredFinding>> {
    let min_rank = match query.min_severity.as_deref() {
        Some(text) => severity_rank(text.parse::<Severity>().map_err(|e| ApiError::BadRequest(e.to_string()))?),
        None => 0,
    };
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let sql = format!(
        "SELECT {COLUMNS} FROM findings WHERE severity_rank >= $1 \
         AND ($2 = '' OR asset_id = $2) AND ($3 = '' OR version_id = $3) AND ($4 = '' OR source = $4) AND ($5 = '' OR rule_id = $5) \
         ORDER BY created_at DESC, id DESC LIMIT $6"
    );
    let rows = sqlx::query(&sql)
        .bind(min_rank)
        .bind(query.asset.as_deref().unwrap_or(""))
        .bind(query.version.as_deref().unwrap_or(""))
        .bind(query.source.as_deref().unwrap_or(""))
        .bind(query.rule_id.as_deref().unwrap_or(""))
        .bind(limit)
        .fetch_all(&app.store.read)
        .await?;
    rows.iter().map(from_row).collect()
}

/// A finding selected with [`COLUMNS`].
pub(crate) fn from_row(row: &AnyRow) -> ApiResult<StoredFinding> {
    let severity: String = row.try_get(5)?;
    let location: String = row.try_get(8)?;
    let atlas: String = row.try_get(10)?;
    let finding = Finding {
        rule_id: row.try_get::<String, _>(4)?.into(),
        severity: severity.parse().unwrap_or(Severity::Info),
        title: row.try_get(6)?,
        message: row.try_get(7)?,
        location: serde_json::from_str::<Location>(&location).unwrap_or_default(),
        evidence: row.try_get(9)?,
        atlas: serde_json::from_str(&atlas).unwrap_or_default(),
        remediation: row.try_get(11)?,
    };
    Ok(StoredFinding {
        id: row.try_get(0)?,
        asset_id: row.try_get(1)?,
        version_id: row.try_get(2)?,
        source: Source::parse(&row.try_get::<String, _>(3)?),
        subject: row.try_get(12)?,
        created_at: row.try_get(13)?,
        finding,
    })
}

/// Most findings one import may carry.
pub const MAX_IMPORT: usize = 10_000;

/// A report to import: any warden JSON report with a `findings` array (`warden scan`,
/// `warden data scan`, `warden verify`, `warden monitor`, `warden assess` ...).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ImportBody {
    /// The findings, in warden's report format (other fields of the report are ignored).
    #[schema(value_type = Vec<Object>)]
    findings: Vec<Finding>,
}

/// Result of an import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    /// How many findings were stored.
    pub imported: usize,
    /// The highest severity among them.
    pub max_severity: Option<String>,
}

/// Attaches the findings of a warden JSON report (`body`) to asset `asset_id` for `caller`, in one
/// transaction with its audit entry. Used by the API and the UI's upload form.
pub async fn import_report(app: &AppState, caller: &Caller, asset_id: &str, body: &[u8]) -> ApiResult<ImportResult> {
    let Some(asset) = crate::inventory::assets::get(app, asset_id).await? else {
        return Err(ApiError::not_found("asset", asset_id));
    };
    if asset.is_retired() {
        return Err(ApiError::Conflict(format!("asset `{}` is retired; its findings are kept as they were", asset.name)));
    }
    let report: ImportBody = crate::extract::parse_object(body, "report (a warden JSON report: an object with a `findings` array)")?;
    if report.findings.len() > MAX_IMPORT {
        return Err(ApiError::TooLarge(format!("at most {MAX_IMPORT} findings per import")));
    }
    let mut tx = app.store.begin().await?;
    let attach = Attach { asset_id: Some(asset_id), ..Attach::default() };
    let mut finding_ids = Vec::with_capacity(report.findings.len());
    for finding in &report.findings {
        // Monitoring reports name the client: its subject groups one client's findings into one incident.
        let subject = finding.location.client_id.as_deref().map(|client| crate::gateway::client_subject(asset_id, client)).unwrap_or_default();
        finding_ids.push(insert(&mut tx, Source::Import, &Attach { subject: &subject, ..attach.clone() }, finding).await?);
    }
    let max = report.findings.iter().map(|f| f.severity).max();
    app.audit
        .change(&mut tx, caller, crate::audit::Change::create("finding.import", "asset", asset_id).named(asset.name.clone()).detail(serde_json::json!({
            "imported": report.findings.len(),
            "max_severity": max.map(Severity::as_str),
        })))
        .await?;
    tx.commit().await?;
    app.metrics.event("finding.import");
    crate::incidents::intake_after_commit(app, &finding_ids).await;
    Ok(ImportResult { imported: report.findings.len(), max_severity: max.map(|s| s.as_str().to_owned()) })
}

async fn import(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, body: axum::body::Bytes) -> ApiResult<Response> {
    let result = import_report(&app, &caller, &asset_id, &body).await?;
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

/// Findings matching `query` that `caller` may see: those about an asset only when Cedar lets
/// them read the asset (one audit entry names what was hidden).
pub async fn list_readable(app: &AppState, caller: &Caller, query: &FindingQuery, path: &'static str) -> ApiResult<Vec<StoredFinding>> {
    let all = list(app, query).await?;
    let mut access = crate::inventory::access::ReadFilter::new(app, caller);
    let mut out = Vec::with_capacity(all.len());
    for finding in all {
        let visible = match &finding.asset_id {
            Some(asset) => access.allows_id(asset).await?,
            None => true,
        };
        if visible {
            out.push(finding);
        }
    }
    access.finish("GET", path).await?;
    Ok(out)
}

async fn list_json(State(app): State<AppState>, caller: Caller, QueryParams(query): QueryParams<FindingQuery>) -> ApiResult<Json<Vec<StoredFinding>>> {
    Ok(Json(list_readable(&app, &caller, &query, "/api/v1/findings").await?))
}

async fn list_for_asset(State(app): State<AppState>, Path(asset_id): Path<String>, QueryParams(mut query): QueryParams<FindingQuery>) -> ApiResult<Json<Vec<StoredFinding>>> {
    query.asset = Some(asset_id);
    Ok(Json(list(&app, &query).await?))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/findings", actions::FINDING_LIST, list_json).query::<FindingQuery>().returns_list::<StoredFinding>(),
        Route::api(Method::GET, "/api/v1/assets/{id}/findings", actions::ASSET_READ, list_for_asset)
            .on_asset("id")
            .query::<FindingQuery>()
            .returns_list::<StoredFinding>(),
        Route::api(Method::POST, "/api/v1/assets/{id}/findings", actions::FINDING_IMPORT, import)
            .on_asset("id")
            .accepts::<ImportBody>()
            .returns::<ImportResult>()
            .status(201),
        Route::ui(Method::GET, "/ui/findings", actions::FINDING_LIST, findings_page),
        Route::ui(Method::POST, "/ui/assets/{id}/findings", actions::FINDING_IMPORT, import_form).on_asset("id"),
    ]
}

/// The filters of the findings page, as its form sends them.
#[derive(Debug, Default, Deserialize)]
struct FindingsPageQuery {
    severity: Option<String>,
    source: Option<String>,
    rule: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    chrome: Chrome,
    findings: Vec<StoredFinding>,
    severity: String,
    source: String,
    rule: String,
    severities: [&'static str; 5],
    sources: [(&'static str, &'static str); 5],
}

fn nonempty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

async fn findings_page(State(app): State<AppState>, caller: Caller, Query(q): Query<FindingsPageQuery>) -> UiResult {
    let query = FindingQuery {
        min_severity: nonempty(q.severity.clone()),
        source: nonempty(q.source.clone()),
        rule_id: nonempty(q.rule.clone()),
        limit: Some(500),
        ..FindingQuery::default()
    };
    let findings = list_readable(&app, &caller, &query, "/ui/findings").await?;
    let page = FindingsPage {
        chrome: Chrome::new("Findings", &caller).with_notice(q.notice),
        findings,
        severity: q.severity.unwrap_or_default(),
        source: q.source.unwrap_or_default(),
        rule: q.rule.unwrap_or_default(),
        severities: ["info", "low", "medium", "high", "critical"],
        sources: [("registry_scan", "registry scan"), ("import", "imported report"), ("alert", "alert"), ("traffic", "inference traffic"), ("drift", "drift report")],
    };
    Ok(ui::render(&page))
}

/// The upload form on an asset page: a multipart body whose `report` field is a JSON report.
async fn import_form(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, mut form: Multipart) -> UiResult {
    let mut report = None;
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))? {
        if field.name() == Some("report") {
            report = Some(field.bytes().await.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))?);
        }
    }
    let report = report.filter(|r| !r.is_empty()).ok_or_else(|| ApiError::BadRequest("choose a report file to import".into()))?;
    let result = import_report(&app, &caller, &asset_id, &report).await?;
    let notice = match result.max_severity {
        Some(max) => format!("Imported {} findings (highest: {max}).", result.imported),
        None => "The report had no findings.".to_owned(),
    };
    Ok(ui::see_other(&format!("/ui/assets/{asset_id}"), Some(&notice)))
}
