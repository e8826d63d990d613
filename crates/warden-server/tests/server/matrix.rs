//! The access matrix. Walks the route table (the only thing the router is built from) and sends
//! every route a request as every kind of principal — nobody, an administrator with and without a
//! second factor, a security engineer, a data scientist, an auditor, and a service account's API
//! key — and checks that each request was decided by the gate, that the HTTP outcome is what Cedar
//! decided, and that the decision was written to the audit log. A snapshot of role x action
//! decisions under the shipped policies is reviewed like code.

use crate::common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Method, StatusCode};
use warden_server::authz::{AssetAttrs, PrincipalRef, RequestFacts, ResourceRef, actions};
use warden_server::routes::{Surface, Target};

use common::{Client, TestServer};

struct Principal {
    label: &'static str,
    client: Client,
    cedar: PrincipalRef,
    facts: RequestFacts,
}

fn facts(via: &'static str, mfa: bool, scopes: &[&str]) -> RequestFacts {
    RequestFacts {
        via,
        mfa,
        hour: 0,
        weekday: 1,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        device_known: via == "session",
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn cedar(id: &str, name: &str, roles: &[&str]) -> PrincipalRef {
    PrincipalRef { id: id.to_owned(), name: name.to_owned(), roles: roles.iter().map(|r| (*r).to_owned()).collect() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_gated_decided_by_cedar_and_audited() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let asset_id = t.asset("model", "matrix-model", 1).await;
    let all_scopes: Vec<&str> = actions::Group::ALL.iter().map(|g| g.name()).collect();

    let mut principals = vec![Principal { label: "anonymous", client: t.client(), cedar: PrincipalRef::anonymous(), facts: facts("anonymous", false, &[]) }];
    let admin_id = admin.get("/api/v1/me").await.1["id"].as_str().unwrap().to_owned();
    principals.push(Principal { label: "admin+mfa", client: admin, cedar: cedar(&admin_id, "admin", &["admin"]), facts: facts("session", true, &[]) });
    for (label, role) in [
        ("admin-no-mfa", "admin"),
        ("security-engineer", "security_engineer"),
        ("data-scientist", "data_scientist"),
        ("auditor", "auditor"),
    ] {
        let (id, client) = t.user(label, &[role]).await;
        principals.push(Principal { label, client, cedar: cedar(&id, label, &[role]), facts: facts("session", false, &[]) });
    }
    let (svc_id, _) = t.user("service-account", &["service"]).await;
    let key = t.api_key(&svc_id, &all_scopes).await;
    principals.push(Principal {
        label: "service-key",
        client: Client::with_key(t.url(""), &key),
        cedar: cedar(&svc_id, "service-account", &["service"]),
        facts: facts("api_key", false, &all_scopes),
    });

    let resource = ResourceRef::Asset(AssetAttrs {
        id: asset_id.clone(),
        kind: "model".into(),
        sensitivity: 1,
        owner: "admin".into(),
        environment: "development".into(),
        lifecycle: "development".into(),
        tags: Vec::new(),
    });
    let routes = warden_server::routes::table();
    // Sign-outs go last so every principal keeps its session for the other routes.
    let mut order: Vec<usize> = (0..routes.len()).collect();
    order.sort_by_key(|&i| routes[i].action == actions::AUTH_LOGOUT);
    let mut failures = Vec::new();
    let mut checked = 0;
    // A principal whose session a sign-out ended is nobody afterwards.
    let mut signed_out = vec![false; principals.len()];
    for &i in &order {
        let route = routes[i].meta();
        let path = concrete_path(route.path, &asset_id);
        let target = match route.target {
            Target::Asset(_) => resource.clone(),
            Target::Server => ResourceRef::Server,
        };
        for (n, principal) in principals.iter().enumerate() {
            let (who, how) = if signed_out[n] { (PrincipalRef::anonymous(), facts("anonymous", false, &[])) } else { (principal.cedar.clone(), principal.facts.clone()) };
            let expected = t.server.state.authz.decide(&who, route.action, &target, &how).allowed;
            let before = t.audit_size().await;
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let mut request = principal.client.request(method.clone(), &path);
            if method != Method::GET {
                request = request.json(&serde_json::json!({}));
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let decision = response.headers().get("x-warden-decision").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let after = t.audit_size().await;
            let label = format!("{} {} as {}", route.method, route.path, principal.label);
            match (&decision, expected) {
                (Some(d), true) if d == "allow" => {}
                (Some(d), false) if d == "deny" => {
                    let refused = match route.surface {
                        Surface::Api => status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
                        Surface::Ui => status == StatusCode::FORBIDDEN || status == StatusCode::SEE_OTHER || status.is_redirection(),
                    };
                    if !refused {
                        failures.push(format!("{label}: denied but answered {status}"));
                    }
                }
                _ => failures.push(format!("{label}: Cedar says allowed={expected}, the gate said {decision:?} ({status})")),
            }
            if route.action == actions::AUTH_LOGOUT && expected && principal.facts.via == "session" {
                signed_out[n] = true;
            }
            let audited = route.action == actions::SYSTEM_HEALTH || route.action == actions::UI_STATIC || after > before;
            if !audited {
                failures.push(format!("{label}: no audit entry"));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{} of {checked} requests wrong:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= routes.len() * principals.len());
}

/// Fills path parameters: `{id}` with a real asset, anything else with a placeholder.
fn concrete_path(pattern: &str, asset_id: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment {
            "{id}" => asset_id.to_owned(),
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn route_table_is_well_formed() {
    let routes = warden_server::routes::table();
    let mut seen = std::collections::HashSet::new();
    for route in &routes {
        let meta = route.meta();
        assert!(seen.insert((meta.method, meta.path)), "route {} {} is declared twice", meta.method, meta.path);
        assert!(actions::by_name(meta.action.name).is_some(), "{} uses an unknown action", meta.path);
        if let Target::Asset(param) = meta.target {
            assert!(meta.path.contains(&format!("{{{param}}}")), "{} targets `{param}` but has no such parameter", meta.path);
        }
        assert!(meta.path.starts_with('/'));
    }
}

/// Role x action decisions of the shipped policies (sessions with and without a second factor, API
/// keys with every scope created by such sessions, on a `confidential` asset and on the server), as
/// a reviewed snapshot.
#[test]
fn shipped_policy_matrix() {
    let authz = warden_server::authz::Authorizer::new().unwrap();
    let asset = ResourceRef::Asset(AssetAttrs {
        id: "a".into(),
        kind: "model".into(),
        sensitivity: 2,
        owner: "o".into(),
        environment: "production".into(),
        lifecycle: "production".into(),
        tags: Vec::new(),
    });
    let all: Vec<&str> = actions::Group::ALL.iter().map(|g| g.name()).collect();
    let mut table = BTreeMap::new();
    for role in warden_server::authz::ROLES {
        for (via, mfa, scopes) in [("session", true, vec![]), ("session", false, vec![]), ("api_key", true, all.clone()), ("api_key", false, all.clone())] {
            let principal = cedar("u", "u", &[role]);
            let f = facts(via, mfa, &scopes);
            let mut row = Vec::new();
            for action in actions::ALL {
                let on_asset = authz.decide(&principal, *action, &asset, &f).allowed;
                let on_server = authz.decide(&principal, *action, &ResourceRef::Server, &f).allowed;
                row.push(format!("{:32} asset={} server={}", action.name, yes(on_asset), yes(on_server)));
            }
            table.insert(format!("{role} via {via}{}", if mfa { " +mfa" } else { "" }), row);
        }
    }
    insta::assert_json_snapshot!("shipped_policy_matrix", table);
}

fn yes(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny " }
}
