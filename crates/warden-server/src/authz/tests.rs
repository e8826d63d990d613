//! Decisions of the shipped policies, and what the policy compiler refuses.

use std::net::{IpAddr, Ipv4Addr};

use super::actions::*;
use super::*;

fn user(roles: &[&str]) -> PrincipalRef {
    PrincipalRef { id: "u1".into(), name: "alice".into(), roles: roles.iter().map(|r| (*r).to_owned()).collect() }
}

fn session(mfa: bool) -> RequestFacts {
    RequestFacts {
        via: "session",
        mfa,
        hour: 10,
        weekday: 2,
        source_ip: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
        device_known: true,
        scopes: Vec::new(),
    }
}

fn api_key(scopes: &[&str]) -> RequestFacts {
    RequestFacts { via: "api_key", mfa: false, scopes: scopes.iter().map(|s| (*s).to_owned()).collect(), ..session(false) }
}

fn anonymous() -> RequestFacts {
    RequestFacts { via: "anonymous", mfa: false, device_known: false, ..session(false) }
}

fn asset(sensitivity: i64) -> ResourceRef {
    ResourceRef::Asset(AssetAttrs {
        id: "a1".into(),
        kind: "model".into(),
        sensitivity,
        owner: "bob".into(),
        environment: "prod".into(),
        lifecycle: "production".into(),
        tags: vec!["fraud".into()],
    })
}

#[test]
fn shipped_policies_validate_and_carry_ids() {
    let authz = Authorizer::new().unwrap();
    let current = authz.current();
    assert_eq!(current.version, 0);
    assert!(current.text.contains("@id(\"admin-all-with-mfa\")"));
    assert!(authz.schema_text().contains("action \"registry.quarantine\" in [\"govern\"]"));
}

#[test]
fn anonymous_reaches_only_public_actions() {
    let authz = Authorizer::new().unwrap();
    let nobody = PrincipalRef::anonymous();
    let health = authz.decide(&nobody, SYSTEM_HEALTH, &ResourceRef::Server, &anonymous());
    assert!(health.allowed);
    assert_eq!(health.policies, vec!["public-endpoints".to_owned()]);
    let list = authz.decide(&nobody, ASSET_LIST, &ResourceRef::Server, &anonymous());
    assert!(!list.allowed);
    assert_eq!(list.reason(), vec!["default-deny".to_owned()]);
    assert!(!authz.decide(&nobody, SELF_READ, &ResourceRef::Server, &anonymous()).allowed);
}

#[test]
fn metrics_only_from_loopback_for_anonymous() {
    let authz = Authorizer::new().unwrap();
    let nobody = PrincipalRef::anonymous();
    let mut facts = anonymous();
    assert!(!authz.decide(&nobody, SYSTEM_METRICS, &ResourceRef::Server, &facts).allowed);
    facts.source_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert!(authz.decide(&nobody, SYSTEM_METRICS, &ResourceRef::Server, &facts).allowed);
}

#[test]
fn admin_needs_a_second_factor_except_for_self_service() {
    let authz = Authorizer::new().unwrap();
    let admin = user(&["admin"]);
    assert!(!authz.decide(&admin, USER_CREATE, &ResourceRef::Server, &session(false)).allowed);
    assert!(authz.decide(&admin, SELF_UPDATE, &ResourceRef::Server, &session(false)).allowed);
    let with_mfa = authz.decide(&admin, USER_CREATE, &ResourceRef::Server, &session(true));
    assert!(with_mfa.allowed);
    assert_eq!(with_mfa.policies, vec!["admin-all-with-mfa".to_owned()]);
}

#[test]
fn roles_get_their_groups() {
    let authz = Authorizer::new().unwrap();
    let ds = user(&["data_scientist"]);
    assert!(authz.decide(&ds, REGISTRY_UPLOAD, &asset(1), &session(false)).allowed);
    assert!(authz.decide(&ds, REGISTRY_PROMOTE, &asset(1), &session(false)).allowed);
    assert!(!authz.decide(&ds, REGISTRY_PROMOTE_PRODUCTION, &asset(1), &session(true)).allowed);
    assert!(!authz.decide(&ds, REGISTRY_QUARANTINE, &asset(1), &session(true)).allowed);
    assert!(!authz.decide(&ds, AUDIT_READ, &ResourceRef::Server, &session(true)).allowed);
    let sec = user(&["security_engineer"]);
    assert!(authz.decide(&sec, REGISTRY_QUARANTINE, &asset(2), &session(false)).allowed);
    assert!(authz.decide(&sec, AUDIT_READ, &ResourceRef::Server, &session(false)).allowed);
    assert!(!authz.decide(&sec, USER_CREATE, &ResourceRef::Server, &session(true)).allowed);
    let auditor = user(&["auditor"]);
    assert!(authz.decide(&auditor, AUDIT_EXPORT, &ResourceRef::Server, &session(false)).allowed);
    assert!(authz.decide(&auditor, USER_LIST, &ResourceRef::Server, &session(false)).allowed);
    assert!(!authz.decide(&auditor, REGISTRY_DOWNLOAD, &asset(0), &session(true)).allowed);
    assert!(!authz.decide(&auditor, ASSET_CREATE, &ResourceRef::Server, &session(true)).allowed);
}

#[test]
fn service_accounts_act_only_through_keys_within_scope() {
    let authz = Authorizer::new().unwrap();
    let svc = user(&["service"]);
    assert!(!authz.decide(&svc, REGISTRY_UPLOAD, &asset(1), &session(true)).allowed);
    assert!(authz.decide(&svc, REGISTRY_UPLOAD, &asset(1), &api_key(&["write"])).allowed);
    let out_of_scope = authz.decide(&svc, REGISTRY_UPLOAD, &asset(1), &api_key(&["read"]));
    assert!(!out_of_scope.allowed);
    assert_eq!(out_of_scope.policies, vec!["api-key-scope".to_owned()]);
}

#[test]
fn restricted_assets_need_mfa_and_a_known_device() {
    let authz = Authorizer::new().unwrap();
    let sec = user(&["security_engineer"]);
    assert!(authz.decide(&sec, REGISTRY_DOWNLOAD, &asset(2), &session(false)).allowed);
    let denied = authz.decide(&sec, REGISTRY_DOWNLOAD, &asset(3), &session(false));
    assert!(!denied.allowed);
    assert!(denied.policies.contains(&"restricted-needs-mfa".to_owned()), "{denied:?}");
    assert!(authz.decide(&sec, REGISTRY_DOWNLOAD, &asset(3), &session(true)).allowed);
    let new_device = RequestFacts { device_known: false, ..session(true) };
    assert!(!authz.decide(&sec, REGISTRY_DOWNLOAD, &asset(3), &new_device).allowed);
    let ds = user(&["data_scientist"]);
    assert!(!authz.decide(&ds, ASSET_UPDATE, &asset(3), &session(true)).allowed);
}

#[test]
fn attribute_conditions_in_custom_policies_apply() {
    let authz = Authorizer::new().unwrap();
    let text = r#"
        @id("office-hours-downloads")
        permit (principal in Warden::Role::"data_scientist", action == Warden::Action::"registry.download", resource is Warden::Asset)
        when { context.hour >= 8 && context.hour < 18 && context.source_ip.isInRange(ip("10.0.0.0/8")) && resource.tags.contains("fraud") };
    "#;
    authz.install(1, text).unwrap();
    assert_eq!(authz.current().version, 1);
    let ds = user(&["data_scientist"]);
    assert!(authz.decide(&ds, REGISTRY_DOWNLOAD, &asset(1), &session(false)).allowed);
    let late = RequestFacts { hour: 23, ..session(false) };
    assert!(!authz.decide(&ds, REGISTRY_DOWNLOAD, &asset(1), &late).allowed);
    let outside = RequestFacts { source_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)), ..session(false) };
    assert!(!authz.decide(&ds, REGISTRY_DOWNLOAD, &asset(1), &outside).allowed);
    // An older version never replaces a newer one.
    authz.install(1, DEFAULT_POLICIES).unwrap();
    assert!(authz.current().text.contains("office-hours-downloads"));
}

#[test]
fn compiler_refuses_bad_policy_sets() {
    let authz = Authorizer::new().unwrap();
    let no_id = "permit (principal, action, resource);";
    assert!(matches!(authz.compile(no_id), Err(PolicyError::Ids(_))));
    let dup = "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);";
    assert!(matches!(authz.compile(dup), Err(PolicyError::Ids(_))));
    let unknown_attr = "@id(\"x\") permit (principal, action, resource is Warden::Asset) when { resource.colour == \"red\" };";
    let err = authz.compile(unknown_attr).unwrap_err();
    assert!(matches!(err, PolicyError::Invalid(_)), "{err}");
    let unknown_action = "@id(\"x\") permit (principal, action == Warden::Action::\"launch.missiles\", resource);";
    assert!(matches!(authz.compile(unknown_action), Err(PolicyError::Invalid(_))));
    assert!(matches!(authz.compile("permit ("), Err(PolicyError::Parse(_))));
}

#[test]
fn api_keys_reach_public_endpoints_without_a_scope() {
    let authz = Authorizer::new().unwrap();
    let svc = user(&["service"]);
    assert!(authz.decide(&svc, SYSTEM_HEALTH, &ResourceRef::Server, &api_key(&["read"])).allowed);
    assert!(authz.decide(&svc, SYSTEM_OPENAPI, &ResourceRef::Server, &api_key(&[])).allowed);
    assert!(!authz.decide(&svc, ASSET_LIST, &ResourceRef::Server, &api_key(&["write"])).allowed);
}
