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
    /// Incident response: open incidents, time to contain and time to recover.
    pub incidents: IncidentMetrics,
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
        let incidents = IncidentMetrics::register(&mut registry);
        Metrics { registry: Mutex::new(registry), requests, latency, decisions, events, audit_size, audit_appends, incidents }
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

/// Label of the open-incident gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeverityLabels {
    /// info, low, medium, high or critical.
    pub severity: String,
}

/// Incident-response metrics (drills excluded). The gauges are refreshed from the database after
/// every incident change, so each instance reports the shared state as of its last change.
pub struct IncidentMetrics {
    /// Open (not closed) incidents by severity.
    pub open: Family<SeverityLabels, Gauge>,
    /// Seconds from detection to containment, observed as incidents are contained.
    pub time_to_contain: Histogram,
    /// Seconds from detection to recovery, observed as incidents recover.
    pub time_to_recover: Histogram,
    /// Median seconds to contain, incidents detected in the last 30 days.
    pub median_time_to_contain: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Mean seconds to contain, incidents detected in the last 30 days.
    pub mean_time_to_contain: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Median seconds to recover, incidents detected in the last 30 days.
    pub median_time_to_recover: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Mean seconds to recover, incidents detected in the last 30 days.
    pub mean_time_to_recover: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl IncidentMetrics {
    fn register(registry: &mut Registry) -> IncidentMetrics {
        let metrics = IncidentMetrics {
            open: Family::default(),
            // One minute to about three weeks.
            time_to_contain: Histogram::new(exponential_buckets(60.0, 2.0, 15)),
            time_to_recover: Histogram::new(exponential_buckets(60.0, 2.0, 15)),
            median_time_to_contain: Gauge::default(),
            mean_time_to_contain: Gauge::default(),
            median_time_to_recover: Gauge::default(),
            mean_time_to_recover: Gauge::default(),
        };
        registry.register("incidents_open", "Open incidents by severity (drills excluded)", metrics.open.clone());
        registry.register("incident_time_to_contain_seconds", "Detection to containment, as incidents are contained", metrics.time_to_contain.clone());
        registry.register("incident_time_to_recover_seconds", "Detection to recovery, as incidents recover", metrics.time_to_recover.clone());
        registry.register("incident_time_to_contain_median_seconds", "Median time to contain, incidents of the last 30 days", metrics.median_time_to_contain.clone());
        registry.register("incident_time_to_contain_mean_seconds", "Mean time to contain, incidents of the last 30 days", metrics.mean_time_to_contain.clone());
        registry.register("incident_time_to_recover_median_seconds", "Median time to recover, incidents of the last 30 days", metrics.median_time_to_recover.clone());
        registry.register("incident_time_to_recover_mean_seconds", "Mean time to recover, incidents of the last 30 days", metrics.mean_time_to_recover.clone());
        metrics
    }
}

impl Metrics {
    /// An incident was contained `elapsed_ms` after it was detected.
    pub fn incident_contained(&self, elapsed_ms: i64) {
        self.incidents.time_to_contain.observe(elapsed_ms.max(0) as f64 / 1000.0);
    }

    /// An incident recovered `elapsed_ms` after it was detected.
    pub fn incident_recovered(&self, elapsed_ms: i64) {
        self.incidents.time_to_recover.observe(elapsed_ms.max(0) as f64 / 1000.0);
    }
}
