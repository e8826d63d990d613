//! The action catalogue: every permission the server checks, the Cedar action group it belongs to
//! and the API-key scope it needs. The Cedar schema's action declarations are generated from this
//! list, so a route can only name an action the policies can talk about.

/// One authorisable action, such as `registry.quarantine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    /// The Cedar action id (`Warden::Action::"<name>"`).
    pub name: &'static str,
    /// The action group policies use (`Warden::Action::"<group>"`).
    pub group: Group,
    /// What it is for, shown in the policy editor.
    pub description: &'static str,
}

/// The action groups: what roles are granted in bulk, and the API-key scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Reachable by anyone: health, login, bootstrap, static files.
    Public,
    /// Prometheus metrics.
    Metrics,
    /// A signed-in user's own account: profile, second factor, own API keys, logout.
    SelfService,
    /// Reading inventory, findings and the registry.
    Read,
    /// Changing inventory, importing findings, uploading model versions.
    Write,
    /// Downloading model weights.
    Download,
    /// Security decisions: quarantine, release, production promotion, rollback.
    Govern,
    /// Suspicious-access alerts.
    Security,
    /// The audit log.
    Audit,
    /// Users and policies.
    Admin,
}

impl Group {
    /// Every group, in the order the schema lists them.
    pub const ALL: [Group; 10] = [
        Group::Public,
        Group::Metrics,
        Group::SelfService,
        Group::Read,
        Group::Write,
        Group::Download,
        Group::Govern,
        Group::Security,
        Group::Audit,
        Group::Admin,
    ];

    /// The group's Cedar action id, which is also the API-key scope that grants it.
    pub fn name(self) -> &'static str {
        match self {
            Group::Public => "public",
            Group::Metrics => "metrics",
            Group::SelfService => "self",
            Group::Read => "read",
            Group::Write => "write",
            Group::Download => "download",
            Group::Govern => "govern",
            Group::Security => "security",
            Group::Audit => "audit",
            Group::Admin => "admin",
        }
    }

    /// The group named `name`, if any.
    pub fn from_name(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }
}

macro_rules! actions {
    ($($ident:ident = $name:literal, $group:ident, $desc:literal;)*) => {
        $(
            #[doc = $desc]
            pub const $ident: Action = Action { name: $name, group: Group::$group, description: $desc };
        )*
        /// Every action the server knows.
        pub const ALL: &[Action] = &[$($ident),*];
    };
}

actions! {
    SYSTEM_HEALTH = "system.health", Public, "Liveness and readiness probes.";
    SYSTEM_OPENAPI = "system.openapi", Public, "Read the OpenAPI description of the API.";
    UI_STATIC = "ui.static", Public, "Static files of the web UI (stylesheet).";
    AUTH_LOGIN = "auth.login", Public, "Sign in with a password, a second factor or single sign-on.";
    AUTH_BOOTSTRAP = "auth.bootstrap", Public, "Create the first administrator with the one-time token.";
    SYSTEM_METRICS = "system.metrics", Metrics, "Prometheus metrics.";
    AUTH_LOGOUT = "auth.logout", SelfService, "Sign out.";
    SELF_READ = "self.read", SelfService, "Read one's own account and the dashboard.";
    SELF_UPDATE = "self.update", SelfService, "Change one's own password and second factor.";
    KEY_LIST = "key.list", SelfService, "List API keys (one's own; administrators see all).";
    KEY_CREATE = "key.create", SelfService, "Create an API key for oneself.";
    KEY_REVOKE = "key.revoke", SelfService, "Revoke an API key (one's own; administrators any).";
    USER_LIST = "user.list", Admin, "List users.";
    USER_CREATE = "user.create", Admin, "Create a user.";
    USER_UPDATE = "user.update", Admin, "Change a user's roles, disable them, reset their second factor.";
    POLICY_READ = "policy.read", Admin, "Read the access policies and their schema.";
    POLICY_UPDATE = "policy.update", Admin, "Replace the access policies.";
    ASSET_LIST = "asset.list", Read, "List inventory assets and the lineage graph.";
    ASSET_READ = "asset.read", Read, "Read one asset with its lineage and findings.";
    ASSET_CREATE = "asset.create", Write, "Register an asset.";
    ASSET_UPDATE = "asset.update", Write, "Change an asset's attributes.";
    ASSET_DELETE = "asset.delete", Write, "Retire an asset.";
    LINEAGE_WRITE = "lineage.write", Write, "Add or remove lineage edges.";
    FINDING_LIST = "finding.list", Read, "List findings.";
    FINDING_IMPORT = "finding.import", Write, "Attach a warden JSON report's findings to an asset.";
    INVENTORY_EXPORT = "inventory.export", Read, "Export the inventory as a CycloneDX ML-BOM.";
    REGISTRY_READ = "registry.read", Read, "List models and versions with their scan results.";
    REGISTRY_UPLOAD = "registry.upload", Write, "Upload a model version.";
    REGISTRY_PROMOTE = "registry.promote", Write, "Move a version to development or staging.";
    REGISTRY_DOWNLOAD = "registry.download", Download, "Download a model version's file.";
    REGISTRY_PROMOTE_PRODUCTION = "registry.promote.production", Govern, "Promote a version to production.";
    REGISTRY_QUARANTINE = "registry.quarantine", Govern, "Quarantine a version: no download, no promotion.";
    REGISTRY_RELEASE = "registry.release", Govern, "Lift a quarantine.";
    REGISTRY_ROLLBACK = "registry.rollback", Govern, "Roll production back to the previous good version.";
    ALERT_LIST = "alert.list", Security, "Read suspicious-access alerts.";
    AUDIT_READ = "audit.read", Audit, "Read audit entries, checkpoints and proofs.";
    AUDIT_EXPORT = "audit.export", Audit, "Export the audit log (OCSF JSON lines).";
    GATEWAY_CHECK = "gateway.check", Read, "Ask whether a deployment's gateway must refuse a client (the inference gateway's check).";
    GATEWAY_READ = "gateway.read", Security, "List the clients blocked at deployments' gateways, with their history.";
    GATEWAY_BLOCK = "gateway.block", Govern, "Block a client at a deployment's gateway.";
    GATEWAY_LIFT = "gateway.lift", Govern, "Lift the block of a client at a deployment's gateway.";
    TRAFFIC_INGEST = "traffic.ingest", Write, "Send a deployment's inference events to the attack detectors.";
    DRIFT_REPORT = "drift.report", Write, "Attach a drift report (warden drift --format json) to a model, deployment or dataset.";
    INCIDENT_READ = "incident.read", Security, "Read incidents, their timelines and post-incident reviews; export them as OCSF.";
    INCIDENT_WRITE = "incident.write", Govern, "Open incidents by hand, comment, assign, link findings and assets, record root cause and lessons.";
    INCIDENT_MANAGE = "incident.manage", Govern, "Move an incident through its lifecycle (triage, contain, mitigate, recover, close).";
    PLAYBOOK_READ = "playbook.read", Security, "Read playbooks, their runs, drill reports and pending approvals.";
    PLAYBOOK_WRITE = "playbook.write", Admin, "Add, replace, enable and disable incident-response playbooks.";
    PLAYBOOK_APPROVE = "playbook.approve", Govern, "Approve or reject a playbook step waiting for approval (the step also names the roles).";
    PLAYBOOK_DRILL = "playbook.drill", Govern, "Run a playbook as a drill against a simulated incident (dry run).";
    WEBHOOK_READ = "webhook.read", Security, "Read webhook targets and deliveries, including the dead letters.";
    WEBHOOK_WRITE = "webhook.write", Admin, "Add, change and delete webhook targets and rotate their signing secrets.";
    WEBHOOK_RETRY = "webhook.retry", Govern, "Send a dead-lettered webhook delivery again.";
    ASSET_FREEZE = "asset.freeze", Govern, "Freeze an asset (halt uploads, promotions and changes) or lift the freeze.";
}

/// The action named `name`.
pub fn by_name(name: &str) -> Option<Action> {
    ALL.iter().copied().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn action_names_are_unique_and_dotted() {
        let mut seen = HashSet::new();
        for action in ALL {
            assert!(seen.insert(action.name), "duplicate action {}", action.name);
            assert!(action.name.contains('.'), "{} is not dotted", action.name);
            assert!(Group::from_name(action.name).is_none(), "{} collides with a group", action.name);
        }
        assert_eq!(by_name("registry.quarantine"), Some(REGISTRY_QUARANTINE));
    }
}
