//! Prometheus metrics (`GET /metrics`, text exposition format): requests by route and status,
//! latency, authorisation decisions, audit appends and domain counters.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::routes::RouteMeta;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    events: Family<EventLabels, Counter>,
    /// Entries in the audit log (as of the last append by this instance).
    pub audit_size: Gauge,
    /// Audit entries appended by this instance.
    pub audit_appends: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("warden");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        let decisions = Family::<DecisionLabels, Counter>::default();
        let events = Family::<EventLabels, Counter>::default();
        let audit_size = Gauge::default();
        let audit_appends = Counter::default();
        registry.register("http_requests", "HTTP requests by route pattern and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time from the gate to the response", latency.clone());
        registry.register("authz_decisions", "Authorisation decisions", decisions.clone());
        registry.register("events", "Domain events (uploads, quarantines, alerts, logins...)", events.clone());
        registry.register("audit_log_size", "Entries in the audit log", audit_size.clone());
        registry.register("audit_appends", "Audit entries appended by this instance", audit_appends.clone());
        Metrics { registry: Mutex::new(registry), requests, latency, decisions, events, audit_size, audit_appends }
    }

    /// Counts a finished request.
    pub fn observe(&self, route: &RouteMeta, status: u16, elapsed: Duration) {
        self.requests.get_or_create(&RequestLabels { method: route.method, route: route.path, status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.path }).observe(elapsed.as_secs_f64());
    }

    /// Counts an authorisation decision.
    pub fn decision(&self, allowed: bool) {
        self.decisions.get_or_create(&DecisionLabels { decision: if allowed { "allow" } else { "deny" } }).inc();
    }

    /// Counts a domain event such as `registry.upload` or `alert.server.login-burst`.
    pub fn event(&self, name: &str) {
        self.events.get_or_create(&EventLabels { event: name.to_owned() }).inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}
