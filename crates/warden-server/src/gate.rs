//! The gate every route passes (see [`crate::routes::router`]): find out who is asking
//! (session cookie, API key or nobody), check CSRF on browser writes, find the asset the route
//! acts on, ask Cedar, record the decision in the audit log, and only then run the handler with a
//! [`Caller`] describing the request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use ipnet::IpNet;

use crate::authz::{Action, Decision, PrincipalRef, RequestFacts, ResourceRef, actions};
use crate::error::ApiError;
use crate::identity::{self, Via};
use crate::routes::{RouteMeta, Surface, Target};
use crate::state::AppState;

/// The state the gate of one route carries: the application and the route's table entry.
#[derive(Clone)]
pub struct GateState {
    /// The application.
    pub app: AppState,
    /// The route this gate guards.
    pub route: RouteMeta,
}

/// Who made an allowed request and how; every handler behind the gate can extract it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// A fresh id for this request (also in the audit entry and the `x-request-id` header).
    pub request_id: String,
    /// The principal as Cedar saw it.
    pub principal: PrincipalRef,
    /// How they authenticated.
    pub via: Via,
    /// The client address.
    pub ip: IpAddr,
    /// The browser's device id (`warden_device` cookie), if any.
    pub device_id: Option<String>,
    /// Whether that device was seen for this user before.
    pub device_known: bool,
    /// The action the route needed.
    pub action: Action,
    /// The decision that let the request through.
    pub decision: Decision,
    /// The user agent, for login records.
    pub user_agent: String,
}

impl Caller {
    /// The user id, unless anonymous.
    pub fn user_id(&self) -> Option<&str> {
        (!matches!(self.via, Via::Anonymous { .. })).then_some(self.principal.id.as_str())
    }

    /// The facts Cedar needs for a further decision in the same request (e.g. production promotion).
    pub fn facts(&self) -> RequestFacts {
        facts_for(&self.via, self.ip, self.device_known)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("a handler ran without passing the gate".into()))
    }
}

/// The gate middleware.
pub async fn gate(State(gate): State<GateState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let app = &gate.app;
    let route = gate.route;
    let request_id = uuid::Uuid::new_v4().to_string();
    let (mut parts, body) = request.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = client_ip(peer, &parts.headers, &app.config.trusted_proxies);
    let user_agent = header_str(&parts.headers, "user-agent").chars().take(200).collect::<String>();

    let auth = match identity::authenticate(app, &parts.headers).await {
        Ok(auth) => auth,
        Err(err) => {
            let decision = refused(vec!["authentication".into()]);
            let principal = PrincipalRef::anonymous();
            let via = Via::Anonymous { pending: None };
            // A refusal stands even when it cannot be recorded.
            let _ = app.audit.record_decision(&principal, &via, ip, &route, None, &decision, &request_id, &err.to_string()).await;
            app.metrics.observe(&route, err.status().as_u16(), started.elapsed());
            return with_decision(with_request_id(err.into_response(), &request_id), false);
        }
    };

    if auth.via.is_session()
        && is_unsafe(&parts.method)
        && let Err(reason) = check_csrf(app, &parts, &auth.via)
    {
        let decision = refused(vec!["csrf".into()]);
        let _ = app.audit.record_decision(&auth.principal, &auth.via, ip, &route, None, &decision, &request_id, &reason).await;
        app.metrics.observe(&route, 403, started.elapsed());
        let err = ApiError::Forbidden(format!("cross-site request refused: {reason}"));
        return with_decision(with_request_id(render_error(route.surface, err), &request_id), false);
    }

    let resource = match resolve_target(app, route.target, &mut parts).await {
        Ok(resource) => resource,
        Err(err) => {
            app.metrics.observe(&route, err.status().as_u16(), started.elapsed());
            return with_request_id(render_error(route.surface, err), &request_id);
        }
    };
    let facts = facts_for(&auth.via, ip, auth.device_known);
    let decision = app.authz.decide(&auth.principal, route.action, &resource, &facts);
    app.metrics.decision(decision.allowed);
    let resource_id = match &resource {
        ResourceRef::Asset(asset) => Some(asset.id.as_str()),
        ResourceRef::Server => None,
    };
    if logs_decisions(route.action) {
        let note = if decision.errors.is_empty() { String::new() } else { decision.errors.join("; ") };
        // Fail closed: a request whose decision cannot be recorded is not served.
        if let Err(err) = app.audit.record_decision(&auth.principal, &auth.via, ip, &route, resource_id, &decision, &request_id, &note).await {
            app.metrics.observe(&route, err.status().as_u16(), started.elapsed());
            return with_request_id(render_error(route.surface, err), &request_id);
        }
    }
    if !decision.allowed {
        let anonymous = matches!(auth.via, Via::Anonymous { .. });
        let status = if anonymous { 401 } else { 403 };
        app.metrics.observe(&route, status, started.elapsed());
        let response = if anonymous && route.surface == Surface::Ui {
            let next_url = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!("/login?next={}", url::form_urlencoded::byte_serialize(next_url.as_bytes()).collect::<String>()))
                .into_response()
        } else if anonymous {
            ApiError::Unauthorized("sign in or send an API key (Authorization: Bearer wdn_...)".into()).into_response()
        } else {
            render_error(
                route.surface,
                ApiError::Forbidden(format!("`{}` is not allowed (decided by: {})", route.action.name, decision.reason().join(", "))),
            )
        };
        return with_decision(with_request_id(response, &request_id), false);
    }

    parts.extensions.insert(Caller {
        request_id: request_id.clone(),
        principal: auth.principal,
        via: auth.via,
        ip,
        device_id: auth.device_id,
        device_known: auth.device_known,
        action: route.action,
        decision,
        user_agent,
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    app.metrics.observe(&route, response.status().as_u16(), started.elapsed());
    with_decision(with_request_id(response, &request_id), true)
}

/// Marks whether the gate let the request through, so a refusal by the access policies can be
/// told from a refusal by the handler (a wrong password, a quarantined version).
fn with_decision(mut response: Response, allowed: bool) -> Response {
    let value = if allowed { "allow" } else { "deny" };
    response.headers_mut().insert("x-warden-decision", axum::http::HeaderValue::from_static(value));
    response
}

/// Liveness probes and static files are too frequent to be worth an audit entry each; every other
/// decision is recorded.
fn logs_decisions(action: Action) -> bool {
    action != actions::SYSTEM_HEALTH && action != actions::UI_STATIC
}

fn refused(policies: Vec<String>) -> Decision {
    Decision { allowed: false, policies, errors: Vec::new(), policy_version: 0 }
}

/// The Cedar context for a request made this way.
pub fn facts_for(via: &Via, ip: IpAddr, device_known: bool) -> RequestFacts {
    let now = crate::store::now_ms();
    let days = now.div_euclid(86_400_000);
    let hour = now.rem_euclid(86_400_000) / 3_600_000;
    // 1970-01-01 was a Thursday (ISO weekday 4).
    let weekday = (days + 3).rem_euclid(7) + 1;
    RequestFacts {
        via: via.name(),
        mfa: via.mfa(),
        hour,
        weekday,
        source_ip: ip,
        device_known,
        scopes: via.scopes().to_vec(),
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A browser write must come from our own pages: same origin (when the browser says) and the
/// session's CSRF token in the `x-csrf-token` header or the `csrf` query parameter (the UI's forms
/// put it in their action URL, so even multipart uploads are covered without reading the body).
fn check_csrf(app: &AppState, parts: &Parts, via: &Via) -> Result<(), String> {
    let Via::Session(session) = via else { return Ok(()) };
    if let Some(origin) = parts.headers.get("origin").and_then(|v| v.to_str().ok()) {
        let host = header_str(&parts.headers, "host");
        let public = app.public_url.origin().ascii_serialization();
        let same_host = url::Url::parse(origin).ok().and_then(|u| u.host_str().map(|h| (h.to_owned(), u.port())));
        let matches_host = same_host.is_some_and(|(h, port)| {
            let origin_host = match port {
                Some(p) => format!("{h}:{p}"),
                None => h,
            };
            origin_host == host
        });
        if origin != public && !matches_host {
            return Err(format!("origin `{origin}` is not this server"));
        }
    }
    if header_str(&parts.headers, "sec-fetch-site") == "cross-site" {
        return Err("the browser marked it cross-site".into());
    }
    let token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            parts.uri.query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned())
            })
        })
        .ok_or("no CSRF token (x-csrf-token header or csrf parameter)")?;
    if identity::constant_time_eq(token.as_bytes(), session.csrf.as_bytes()) {
        Ok(())
    } else {
        Err("the CSRF token does not match this session".into())
    }
}

async fn resolve_target(app: &AppState, target: Target, parts: &mut Parts) -> Result<ResourceRef, ApiError> {
    let Target::Asset(param) = target else { return Ok(ResourceRef::Server) };
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|e| ApiError::BadRequest(format!("bad path: {e}")))?;
    let Some((_, id)) = params.iter().find(|(name, _)| *name == param) else {
        return Err(ApiError::Internal(format!("route has no `{param}` parameter")));
    };
    Ok(match crate::inventory::asset_attrs(app, id).await? {
        Some(attrs) => ResourceRef::Asset(attrs),
        // Decide on the server; the handler answers 404 to those allowed to ask.
        None => ResourceRef::Server,
    })
}

/// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer is
/// a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) else { return peer };
    let mut hops = forwarded.split(',').map(str::trim).filter_map(|h| h.parse::<IpAddr>().ok()).collect::<Vec<_>>();
    hops.reverse();
    hops.into_iter().find(|hop| !trusted.iter().any(|net| net.contains(hop))).unwrap_or(peer)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn render_error(surface: Surface, err: ApiError) -> Response {
    match surface {
        Surface::Api => err.into_response(),
        Surface::Ui => crate::ui::error_page(&err),
    }
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = request_id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// 404 for paths no route matches (it has no action to authorise, and reveals nothing).
pub fn not_found_response() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": {"code": "not_found", "message": "no such route"}})))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.5".parse().unwrap());
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(proxy, &headers, &trusted), "203.0.113.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &trusted), stranger);
        assert_eq!(client_ip(proxy, &headers, &[]), proxy);
    }

    #[test]
    fn weekday_and_hour_are_in_range() {
        let facts = facts_for(&Via::Anonymous { pending: None }, IpAddr::V4(Ipv4Addr::LOCALHOST), false);
        assert!((0..24).contains(&facts.hour));
        assert!((1..=7).contains(&facts.weekday));
        assert_eq!(facts.via, "anonymous");
    }
}
