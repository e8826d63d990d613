//! Authorisation with Cedar: the schema, the policy set in force, and one decision per request.
//!
//! Default deny: a request is allowed only when a `permit` matches and no `forbid` does. Every
//! policy carries an `@id` annotation that becomes its policy id, so a decision names the policies
//! that made it (recorded in the audit log). Policies live in the database (`policy_sets`, newest
//! version wins, the shipped `policies/default.cedar` until an administrator saves one) and are
//! validated against the schema before they can take effect.

pub mod actions;
pub mod api;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

pub use actions::{Action, Group};

/// The schema's entity and context declarations (the actions are generated from the catalogue).
const SCHEMA_HEAD: &str = include_str!("../../policies/schema.cedarschema");
/// The policies in force until an administrator saves others.
pub const DEFAULT_POLICIES: &str = include_str!("../../policies/default.cedar");

/// The roles warden knows. A user has one or more of them.
pub const ROLES: [&str; 5] = ["admin", "security_engineer", "data_scientist", "auditor", "service"];

/// Why a policy text was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not Cedar.
    #[error("the policies do not parse: {0}")]
    Parse(String),
    /// A policy has no `@id("...")` annotation, or two share one.
    #[error("{0}")]
    Ids(String),
    /// They parse but do not fit the schema.
    #[error("the policies do not validate against the schema:\n{0}")]
    Invalid(String),
}

/// Who is asking, as Cedar sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRef {
    /// The user id (`anonymous` for nobody).
    pub id: String,
    /// The user name.
    pub name: String,
    /// The roles (see [`ROLES`]).
    pub roles: Vec<String>,
}

impl PrincipalRef {
    /// Whoever has not signed in.
    pub fn anonymous() -> PrincipalRef {
        PrincipalRef { id: "anonymous".into(), name: "anonymous".into(), roles: Vec::new() }
    }
}

/// What the request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    /// The server as a whole.
    Server,
    /// One inventory asset.
    Asset(AssetAttrs),
}

/// The attributes of an asset that policies can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetAttrs {
    /// The asset id.
    pub id: String,
    /// data_source, dataset, model or deployment.
    pub kind: String,
    /// 0 public ... 3 restricted.
    pub sensitivity: i64,
    /// The owner's user name.
    pub owner: String,
    /// dev, staging, prod, ...
    pub environment: String,
    /// The lifecycle stage.
    pub lifecycle: String,
    /// Free tags.
    pub tags: Vec<String>,
}

/// The request's circumstances (the Cedar `context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// "session", "api_key" or "anonymous".
    pub via: &'static str,
    /// A second factor or single sign-on was used.
    pub mfa: bool,
    /// UTC hour 0-23.
    pub hour: i64,
    /// ISO weekday 1-7.
    pub weekday: i64,
    /// The client address.
    pub source_ip: IpAddr,
    /// The device cookie is known for this user.
    pub device_known: bool,
    /// The API key's scopes.
    pub scopes: Vec<String>,
}

/// The outcome of one authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allowed.
    pub allowed: bool,
    /// The ids of the policies that determined it (empty when nothing matched: default deny).
    pub policies: Vec<String>,
    /// Policy evaluation errors (a policy that errors is skipped by Cedar).
    pub errors: Vec<String>,
    /// The version of the policy set that decided.
    pub policy_version: i64,
}

impl Decision {
    /// The deciding policies for logs and the audit entry; `default-deny` when none matched.
    pub fn reason(&self) -> Vec<String> {
        if self.policies.is_empty() && !self.allowed { vec!["default-deny".into()] } else { self.policies.clone() }
    }
}

/// A validated policy set with the version it was stored as (0 = shipped default).
#[derive(Debug)]
pub struct LoadedPolicies {
    /// The version number in `policy_sets`.
    pub version: i64,
    /// The Cedar source, as saved.
    pub text: String,
    set: PolicySet,
}

/// The Cedar schema plus the policy set in force; cheap to share.
#[derive(Debug)]
pub struct Authorizer {
    schema: Schema,
    schema_text: String,
    /// Per action: its own entity (a member of its group) and the group's. A request needs only
    /// these: `action in ...` looks at the requested action's ancestors, `==` at its id; building
    /// the whole action hierarchy per request made each decision cost a transitive closure over
    /// every action.
    action_entities: HashMap<&'static str, Vec<Entity>>,
    policies: RwLock<Arc<LoadedPolicies>>,
    cedar: CedarAuthorizer,
}

impl Authorizer {
    /// Builds the schema from the catalogue and loads the shipped policies.
    pub fn new() -> Result<Authorizer, PolicyError> {
        let schema_text = schema_text();
        let (schema, _warnings) =
            Schema::from_cedarschema_str(&schema_text).map_err(|e| PolicyError::Invalid(format!("schema: {e}")))?;
        let mut action_entities = HashMap::new();
        for action in actions::ALL {
            let group = uid("Action", action.group.name()).map_err(PolicyError::Invalid)?;
            let own = Entity::new_no_attrs(uid("Action", action.name).map_err(PolicyError::Invalid)?, HashSet::from([group.clone()]));
            action_entities.insert(action.name, vec![own, Entity::new_no_attrs(group, HashSet::new())]);
        }
        let mut authorizer = Authorizer {
            schema,
            schema_text,
            action_entities,
            policies: RwLock::new(Arc::new(LoadedPolicies {
                version: 0,
                text: String::new(),
                set: PolicySet::new(),
            })),
            cedar: CedarAuthorizer::new(),
        };
        let shipped = authorizer.compile(DEFAULT_POLICIES)?;
        authorizer.policies = RwLock::new(Arc::new(LoadedPolicies { version: 0, text: DEFAULT_POLICIES.into(), set: shipped }));
        Ok(authorizer)
    }

    /// The complete schema in Cedar's human-readable syntax.
    pub fn schema_text(&self) -> &str {
        &self.schema_text
    }

    /// The policy set in force.
    pub fn current(&self) -> Arc<LoadedPolicies> {
        self.policies.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Parses and validates `text`; `Ok` means it could be installed.
    pub fn compile(&self, text: &str) -> Result<PolicySet, PolicyError> {
        let parsed = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(format!("{e:?}")))?;
        let mut set = PolicySet::new();
        let mut seen = HashSet::new();
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                return Err(PolicyError::Ids(format!(
                    "every policy needs an @id(\"...\") annotation; this one has none:\n{}",
                    policy.to_cedar().unwrap_or_else(|| policy.to_string())
                )));
            };
            if !seen.insert(id.to_owned()) {
                return Err(PolicyError::Ids(format!("two policies share @id(\"{id}\")")));
            }
            set.add(policy.new_id(PolicyId::new(id))).map_err(|e| PolicyError::Ids(e.to_string()))?;
        }
        if parsed.templates().next().is_some() {
            return Err(PolicyError::Parse("policy templates are not supported".into()));
        }
        let result = Validator::new(self.schema.clone()).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| format!("- {e}")).collect();
            return Err(PolicyError::Invalid(errors.join("\n")));
        }
        Ok(set)
    }

    /// Installs a validated set as version `version` (ignored when an equal or newer one is in force).
    pub fn install(&self, version: i64, text: &str) -> Result<(), PolicyError> {
        if version <= self.current().version && version != 0 {
            return Ok(());
        }
        let set = self.compile(text)?;
        let mut guard = self.policies.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Arc::new(LoadedPolicies { version, text: text.to_owned(), set });
        Ok(())
    }

    /// Decides whether `principal` may do `action` on `resource` in the circumstances `facts`.
    pub fn decide(&self, principal: &PrincipalRef, action: Action, resource: &ResourceRef, facts: &RequestFacts) -> Decision {
        let policies = self.current();
        match self.decide_with(&policies.set, principal, action, resource, facts) {
            Ok(mut decision) => {
                decision.policy_version = policies.version;
                decision
            }
            Err(error) => Decision {
                allowed: false,
                policies: Vec::new(),
                errors: vec![error],
                policy_version: policies.version,
            },
        }
    }

    /// Whether `set` (compiled, not yet installed) would allow `principal` to do `action` on
    /// `resource` in the circumstances `facts`: to check a new policy set before it is in force.
    pub fn would_allow(&self, set: &PolicySet, principal: &PrincipalRef, action: Action, resource: &ResourceRef, facts: &RequestFacts) -> bool {
        self.decide_with(set, principal, action, resource, facts).is_ok_and(|d| d.allowed)
    }

    fn decide_with(
        &self,
        set: &PolicySet,
        principal: &PrincipalRef,
        action: Action,
        resource: &ResourceRef,
        facts: &RequestFacts,
    ) -> Result<Decision, String> {
        let principal_uid = uid("User", &principal.id)?;
        let mut entities = Vec::with_capacity(principal.roles.len() + 4);
        let mut parents = HashSet::new();
        for role in &principal.roles {
            let role_uid = uid("Role", role)?;
            parents.insert(role_uid.clone());
            entities.push(Entity::new_no_attrs(role_uid, HashSet::new()));
        }
        let attrs = HashMap::from([("name".to_owned(), RestrictedExpression::new_string(principal.name.clone()))]);
        entities.push(Entity::new(principal_uid.clone(), attrs, parents).map_err(|e| e.to_string())?);
        let resource_uid = match resource {
            ResourceRef::Server => {
                let server = uid("Server", "warden")?;
                entities.push(Entity::new_no_attrs(server.clone(), HashSet::new()));
                server
            }
            ResourceRef::Asset(asset) => {
                let asset_uid = uid("Asset", &asset.id)?;
                let attrs = HashMap::from([
                    ("kind".to_owned(), RestrictedExpression::new_string(asset.kind.clone())),
                    ("sensitivity".to_owned(), RestrictedExpression::new_long(asset.sensitivity)),
                    ("owner".to_owned(), RestrictedExpression::new_string(asset.owner.clone())),
                    ("environment".to_owned(), RestrictedExpression::new_string(asset.environment.clone())),
                    ("lifecycle".to_owned(), RestrictedExpression::new_string(asset.lifecycle.clone())),
                    (
                        "tags".to_owned(),
                        RestrictedExpression::new_set(asset.tags.iter().map(|t| RestrictedExpression::new_string(t.clone()))),
                    ),
                ]);
                entities.push(Entity::new(asset_uid.clone(), attrs, HashSet::new()).map_err(|e| e.to_string())?);
                asset_uid
            }
        };
        entities.extend(self.action_entities.get(action.name).into_iter().flatten().cloned());
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        let context = Context::from_pairs([
            ("authenticated".to_owned(), RestrictedExpression::new_bool(facts.via != "anonymous")),
            ("via".to_owned(), RestrictedExpression::new_string(facts.via.to_owned())),
            ("mfa".to_owned(), RestrictedExpression::new_bool(facts.mfa)),
            ("hour".to_owned(), RestrictedExpression::new_long(facts.hour)),
            ("weekday".to_owned(), RestrictedExpression::new_long(facts.weekday)),
            ("source_ip".to_owned(), RestrictedExpression::new_ip(facts.source_ip.to_string())),
            ("device_known".to_owned(), RestrictedExpression::new_bool(facts.device_known)),
            (
                "scopes".to_owned(),
                RestrictedExpression::new_set(facts.scopes.iter().map(|s| RestrictedExpression::new_string(s.clone()))),
            ),
            ("scope".to_owned(), RestrictedExpression::new_string(action.group.name().to_owned())),
        ])
        .map_err(|e| e.to_string())?;
        let action_uid = uid("Action", action.name)?;
        let request =
            Request::new(principal_uid, action_uid, resource_uid, context, Some(&self.schema)).map_err(|e| e.to_string())?;
        let response = self.cedar.is_authorized(&request, set, &entities);
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow,
            policies: response.diagnostics().reason().map(ToString::to_string).collect(),
            errors: response.diagnostics().errors().map(ToString::to_string).collect(),
            policy_version: 0,
        })
    }
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, String> {
    let name = EntityTypeName::from_str(&format!("Warden::{kind}")).map_err(|e| e.to_string())?;
    Ok(EntityUid::from_type_name_and_id(name, EntityId::new(id)))
}

/// The full schema: the shipped entity/context declarations plus one action per catalogue entry.
fn schema_text() -> String {
    let mut text = String::from(SCHEMA_HEAD);
    text.push_str("\n  // Action groups (also the API-key scopes).\n");
    for group in Group::ALL {
        text.push_str(&format!("  action \"{}\";\n", group.name()));
    }
    text.push_str("\n  // Actions (src/authz/actions.rs).\n");
    for action in actions::ALL {
        text.push_str(&format!(
            "  // {}\n  action \"{}\" in [\"{}\"] appliesTo {{ principal: [User], resource: [Server, Asset], context: RequestContext }};\n",
            action.description,
            action.name,
            action.group.name()
        ));
    }
    text.push_str("}\n");
    text
}

#[cfg(test)]
mod tests;
