//! The web UI: server-rendered HTML (askama templates, escaped by default), one stylesheet, no
//! JavaScript. Forms post with the session's CSRF token in their action URL; the content security
//! policy (set in [`crate::app`]) forbids scripts, inline styles, framing and foreign form targets.
//!
//! Each area renders its own pages next to its API handlers; this module holds what they share:
//! the page chrome, rendering, error pages, the stylesheet and the dashboard.

pub mod dashboard;

use askama::Template;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::authz::actions;
use crate::error::ApiError;
use crate::gate::Caller;
use crate::routes::Route;

/// What every page shows around its content.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The page title.
    pub title: String,
    /// The signed-in user's name (navigation is shown only then).
    pub user: Option<String>,
    /// The session's CSRF token, for the forms on the page.
    pub csrf: String,
    /// A one-line message at the top (after an action succeeded).
    pub notice: Option<String>,
    /// The server version.
    pub version: &'static str,
}

impl Chrome {
    /// Chrome for a page seen by `caller`.
    pub fn new(title: impl Into<String>, caller: &Caller) -> Chrome {
        let signed_in = caller.user_id().is_some();
        Chrome {
            title: title.into(),
            user: signed_in.then(|| caller.principal.name.clone()),
            csrf: caller.via.csrf().to_owned(),
            notice: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Chrome for a page seen by nobody in particular (login, errors before sign-in).
    pub fn public(title: impl Into<String>) -> Chrome {
        Chrome { title: title.into(), version: env!("CARGO_PKG_VERSION"), ..Chrome::default() }
    }

    /// The same chrome with a notice.
    #[must_use]
    pub fn with_notice(mut self, notice: Option<String>) -> Chrome {
        self.notice = notice.filter(|n| !n.is_empty());
        self
    }
}

/// Renders a template as an HTML response.
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(%err, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A UI handler's error: the API error, rendered as a page.
#[derive(Debug)]
pub struct UiError(pub ApiError);

impl From<ApiError> for UiError {
    fn from(err: ApiError) -> Self {
        UiError(err)
    }
}

impl From<sqlx::Error> for UiError {
    fn from(err: sqlx::Error) -> Self {
        UiError(err.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

/// The result type of UI handlers.
pub type UiResult = Result<Response, UiError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: String,
    message: String,
}

/// An error as an HTML page with the right status.
pub fn error_page(err: &ApiError) -> Response {
    if let ApiError::Internal(detail) = err {
        tracing::error!(%detail, "request failed");
    }
    let status = err.status();
    let page = ErrorPage {
        chrome: Chrome::public(status.canonical_reason().unwrap_or("Error")),
        status: format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
        message: err.public_message(),
    };
    (status, render(&page)).into_response()
}

/// A redirect after a successful form post (303, so the browser follows with GET), with an
/// optional notice shown on the next page.
pub fn see_other(location: &str, notice: Option<&str>) -> Response {
    let target = match notice {
        Some(text) => {
            let sep = if location.contains('?') { '&' } else { '?' };
            format!("{location}{sep}notice={}", url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>())
        }
        None => location.to_owned(),
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}

/// A unix-millisecond time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Only local paths are followed after a login, never another site.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.contains("://");
    if ok { next.to_owned() } else { "/".to_owned() }
}

/// The `?notice=` shown after a redirect.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    /// The message.
    pub notice: Option<String>,
}

const STYLESHEET: &str = include_str!("../../static/warden.css");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET).into_response()
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![Route::ui(Method::GET, "/static/warden.css", actions::UI_STATIC, stylesheet)];
    routes.extend(dashboard::routes());
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(fmt_time(1_733_500_800_000), "2024-12-06 16:00:00 UTC");
        assert_eq!(fmt_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/ui/assets?x=1"), "/ui/assets?x=1");
        assert_eq!(safe_next("//evil.example/x"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("relative"), "/");
    }
}
