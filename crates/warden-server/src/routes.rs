//! The route table: every route the server answers, with the action it needs and what it acts
//! on. [`router`] builds the axum router from this table alone and wraps every entry in the gate
//! ([`crate::gate`]), so no route can skip authentication, authorisation or the audit log; the
//! tests walk [`table`] to prove it.

use axum::Router;
use axum::http::Method;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::authz::Action;
use crate::state::AppState;

/// Which page or API a route belongs to: decides how a refusal is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// JSON API: refusals are JSON 401/403.
    Api,
    /// Web UI: an anonymous visitor is sent to the login page, a refusal is an HTML page.
    Ui,
}

/// What a route acts on, as the gate finds it before authorising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The server as a whole.
    Server,
    /// The asset whose id is the path parameter of this name.
    Asset(&'static str),
}

/// One route.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path pattern in axum syntax (`/api/v1/assets/{id}`).
    pub path: &'static str,
    /// The action the gate authorises.
    pub action: Action,
    /// What the action is on.
    pub target: Target,
    /// API or UI.
    pub surface: Surface,
    /// The handler, answering only `method`.
    handler: MethodRouter<AppState>,
    /// The JSON body it accepts, for the OpenAPI document.
    pub body: Option<fn() -> DocSchema>,
    /// The JSON it answers with on success, for the OpenAPI document.
    pub answer: Option<fn() -> DocSchema>,
    /// The content type of a body that is not JSON (a model file, policy text).
    pub raw_body: Option<&'static str>,
    /// The content type of an answer that is not JSON (a download, a signed note, metrics).
    pub raw_answer: Option<&'static str>,
    /// The body may be left out.
    pub body_optional: bool,
    /// The status of a successful answer (200, 201 or 204).
    pub success: u16,
    /// The query parameters, for the OpenAPI document.
    pub query: Option<fn() -> Vec<utoipa::openapi::path::Parameter>>,
}

/// A JSON schema for the OpenAPI document: a named type, its schema and the schemas it refers to.
pub struct DocSchema {
    /// The component name (`#/components/schemas/<name>`).
    pub name: String,
    /// The schema (serialised).
    pub schema: serde_json::Value,
    /// Schemas it refers to, by name.
    pub components: Vec<(String, serde_json::Value)>,
    /// The answer is a list of `name`.
    pub list: bool,
}

/// The schema of `T` (utoipa's `ToSchema`).
pub fn schema_of<T: utoipa::ToSchema>() -> DocSchema {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    DocSchema {
        name: T::name().into_owned(),
        schema: serde_json::to_value(T::schema()).unwrap_or_default(),
        components: nested.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default())).collect(),
        list: false,
    }
}

/// The schema of a list of `T`.
pub fn list_of<T: utoipa::ToSchema>() -> DocSchema {
    DocSchema { list: true, ..schema_of::<T>() }
}

/// The query parameters of `Q`.
pub fn query_of<Q: utoipa::IntoParams>() -> Vec<utoipa::openapi::path::Parameter> {
    Q::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// What the gate needs to know about the route it guards.
#[derive(Debug, Clone, Copy)]
pub struct RouteMeta {
    /// HTTP method.
    pub method: &'static str,
    /// Path pattern.
    pub path: &'static str,
    /// The action.
    pub action: Action,
    /// Its target.
    pub target: Target,
    /// API or UI.
    pub surface: Surface,
}

impl Route {
    /// A JSON API route on the server.
    pub fn api<H, T>(method: Method, path: &'static str, action: Action, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Route::new(method, path, action, Surface::Api, handler)
    }

    /// A web UI route on the server.
    pub fn ui<H, T>(method: Method, path: &'static str, action: Action, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Route::new(method, path, action, Surface::Ui, handler)
    }

    fn new<H, T>(method: Method, path: &'static str, action: Action, surface: Surface, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        // The method the table names is the only one the handler answers.
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route {
            method,
            path,
            action,
            target: Target::Server,
            surface,
            handler: on(filter, handler),
            body: None,
            answer: None,
            raw_body: None,
            raw_answer: None,
            body_optional: false,
            success: 200,
            query: None,
        }
    }

    /// Documents the JSON body the route accepts.
    #[must_use]
    pub fn accepts<T: utoipa::ToSchema>(mut self) -> Route {
        self.body = Some(schema_of::<T>);
        self
    }

    /// Documents the JSON the route answers with.
    #[must_use]
    pub fn returns<T: utoipa::ToSchema>(mut self) -> Route {
        self.answer = Some(schema_of::<T>);
        self
    }

    /// Documents that the route answers with a JSON list of `T`.
    #[must_use]
    pub fn returns_list<T: utoipa::ToSchema>(mut self) -> Route {
        self.answer = Some(list_of::<T>);
        self
    }

    /// Documents a JSON body the client may leave out.
    #[must_use]
    pub fn accepts_optional<T: utoipa::ToSchema>(mut self) -> Route {
        self.body = Some(schema_of::<T>);
        self.body_optional = true;
        self
    }

    /// Documents a body that is not JSON, by its content type (`application/octet-stream`).
    #[must_use]
    pub fn accepts_raw(mut self, content_type: &'static str) -> Route {
        self.raw_body = Some(content_type);
        self
    }

    /// Documents an answer that is not JSON, by its content type (`text/plain`).
    #[must_use]
    pub fn returns_raw(mut self, content_type: &'static str) -> Route {
        self.raw_answer = Some(content_type);
        self
    }

    /// Documents the status of a successful answer when it is not 200 (201 created, 204 no content).
    #[must_use]
    pub fn status(mut self, status: u16) -> Route {
        self.success = status;
        self
    }

    /// Documents the query parameters (utoipa's `IntoParams`).
    #[must_use]
    pub fn query<Q: utoipa::IntoParams>(mut self) -> Route {
        self.query = Some(query_of::<Q>);
        self
    }

    /// The same route acting on the asset named by path parameter `param`.
    #[must_use]
    pub fn on_asset(mut self, param: &'static str) -> Route {
        self.target = Target::Asset(param);
        self
    }

    /// The gate's view of this route.
    pub fn meta(&self) -> RouteMeta {
        RouteMeta {
            method: method_name(&self.method),
            path: self.path,
            action: self.action,
            target: self.target,
            surface: self.surface,
        }
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// Every route of the server. Each area contributes its own list.
pub fn table() -> Vec<Route> {
    let mut routes = Vec::new();
    routes.extend(crate::system::routes());
    routes.extend(crate::identity::routes());
    routes.extend(crate::authz::api::routes());
    routes.extend(crate::audit::routes());
    routes.extend(crate::inventory::routes());
    routes.extend(crate::registry::routes());
    routes.extend(crate::alerts::routes());
    routes.extend(crate::gateway::routes());
    routes.extend(crate::incidents::routes());
    routes.extend(crate::playbooks::routes());
    routes.extend(crate::ui::routes());
    routes
}

/// The application: every route of [`table`], each behind the gate.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in table() {
        let meta = route.meta();
        let guarded = route
            .handler
            .route_layer(axum::middleware::from_fn_with_state(crate::gate::GateState { app: state.clone(), route: meta }, crate::gate::gate));
        router = router.route(route.path, guarded);
    }
    router.fallback(crate::system::not_found).with_state(state)
}
