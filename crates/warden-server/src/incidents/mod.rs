//! Incidents: what the server opens when findings say an AI system is under attack, and the
//! response that follows. Incident rules ([`rules`], a shipped YAML file) decide which findings open
//! an incident; findings of one attack (one asset, or one alert subject such as `user:alice`) join
//! the open incident of that group, so one attack is one incident ([`intake`]). An incident walks a
//! forward-only lifecycle — detected, triaged, contained, mitigated, recovered, closed — with an
//! owner, assignees, comments, linked findings and assets, a root cause and lessons ([`lifecycle`]);
//! playbooks (`crate::playbooks`) act on it and write their steps into its timeline through
//! [`record_event`].
//!
//! Every change is an incident event and an audit entry, written in one transaction. Drills
//! ([`open_drill`]) are simulated incidents: their findings stay out of the findings table and
//! they are kept apart from real incidents in lists, metrics and exports.
//!
//! Entry points for other modules: [`intake`] (after findings are committed), [`record_event`],
//! [`advance`], [`open_drill`]. [`review`] assembles the post-incident timeline (Markdown and
//! printable HTML), [`ocsf`] exports incidents for a SIEM, [`metrics`] computes time to contain and
//! time to recover.

pub mod api;
pub mod intake;
pub mod lifecycle;
pub mod metrics;
pub mod ocsf;
pub mod pages;
pub mod review;
pub mod rules;
pub mod store;

use serde::{Deserialize, Serialize};
use warden_core::Severity;

pub use intake::{intake, intake_after_commit, open_drill};
pub use lifecycle::{advance, record_event, record_event_in};
pub use store::Incident;

use crate::findings::StoredFinding;
use crate::routes::Route;

/// What [`intake`] and [`open_drill`] hand to the playbooks: one incident that got findings.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentTrigger {
    /// The incident.
    pub incident_id: String,
    /// Whether this intake opened it (`false`: the findings joined an open incident).
    pub created: bool,
    /// The asset the incident is about, if any.
    pub asset_id: Option<String>,
    /// Who or what it is about: the first finding's subject (`user:alice`,
    /// `client:<deployment>:<client>`), else `asset:<id>`.
    pub subject: String,
    /// The incident's severity after the findings joined (the highest of its findings).
    pub severity: Severity,
    /// The findings that joined in this intake.
    pub findings: Vec<StoredFinding>,
    /// A simulated incident: playbooks must only say what they would do.
    pub drill: bool,
}

/// One entry of an incident's timeline, as playbooks and people add them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// What happened, dotted (`status`, `comment`, `playbook.step.succeeded`, ...).
    pub kind: String,
    /// Who did it: a user name or `playbook:<id>`.
    pub actor: String,
    /// For people.
    pub text: String,
    /// Details (ids of what was acted on, outcomes); a JSON object.
    pub data: serde_json::Value,
}

/// The lifecycle of an incident, in order; an incident only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Opened by a rule or by hand; nobody has looked yet.
    Detected,
    /// Someone looked and confirmed it needs a response.
    Triaged,
    /// The damage cannot spread (version quarantined, key revoked, client blocked...).
    Contained,
    /// The cause is removed.
    Mitigated,
    /// Normal service is back (rolled back, retrained on clean data...).
    Recovered,
    /// Done; the review is written.
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [Status::Detected, Status::Triaged, Status::Contained, Status::Mitigated, Status::Recovered, Status::Closed];

    /// The lowercase name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Triaged => "triaged",
            Status::Contained => "contained",
            Status::Mitigated => "mitigated",
            Status::Recovered => "recovered",
            Status::Closed => "closed",
        }
    }

    /// Position in the lifecycle (detected = 0 ... closed = 5), stored for forward-only updates.
    pub fn rank(self) -> i64 {
        match self {
            Status::Detected => 0,
            Status::Triaged => 1,
            Status::Contained => 2,
            Status::Mitigated => 3,
            Status::Recovered => 4,
            Status::Closed => 5,
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The verb for the button that moves an incident here ("Contain").
    pub fn verb(self) -> &'static str {
        match self {
            Status::Detected => "Detect",
            Status::Triaged => "Triage",
            Status::Contained => "Contain",
            Status::Mitigated => "Mitigate",
            Status::Recovered => "Recover",
            Status::Closed => "Close",
        }
    }

    /// The name for people, capitalised ("Contained").
    pub fn label(self) -> &'static str {
        match self {
            Status::Detected => "Detected",
            Status::Triaged => "Triaged",
            Status::Contained => "Contained",
            Status::Mitigated => "Mitigated",
            Status::Recovered => "Recovered",
            Status::Closed => "Closed",
        }
    }

    /// The statuses after this one (where an incident may go next; skipping is allowed).
    pub fn later(self) -> Vec<Status> {
        Status::ALL.into_iter().filter(|s| s.rank() > self.rank()).collect()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    let mut routes = api::routes();
    routes.extend(pages::routes());
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_ordered_and_round_trip() {
        for (i, status) in Status::ALL.into_iter().enumerate() {
            assert_eq!(status.rank(), i as i64);
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert!(Status::Contained > Status::Triaged);
        assert_eq!(Status::Mitigated.later(), vec![Status::Recovered, Status::Closed]);
        assert!(Status::Closed.later().is_empty());
        assert_eq!(Status::parse("nonsense"), None);
    }
}
