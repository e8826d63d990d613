//! Incident-response playbooks over HTTP, end to end: each shipped playbook answers its incident
//! (quarantine, revoke, freeze, roll back, block, disable, notify), notifications arrive signed,
//! failing webhooks are retried and dead-lettered, approvals hold and release runs, drills change
//! nothing but record every decision, two instances never run a step twice, and everything lands
//! in the incident timeline and a verifiable audit log.

use crate::common;
use crate::playbooks_support as support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_testkit::webhook::{Reply, WebhookReceiver};

use common::{Client, TestServer};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_upload_through_an_api_key_is_contained_end_to_end() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    let secret = webhook(&admin, &receiver, "security", 3, 1).await;
    let (uploader_id, _) = t.user("uploader", &["data_scientist"]).await;
    let key = t.api_key(&uploader_id, &["read", "write"]).await;
    let uploader = Client::with_key(t.url(""), &key);
    let model = asset(&admin, "model", "fraud-detector", "internal").await;

    let (status, body) = upload(&uploader, &model, "1.0", EVIL_PICKLE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let run = run_in(&admin, "malicious-model-upload", "succeeded").await;
    assert_eq!(step_statuses(&run), ["succeeded"; 4]);

    // One incident, about the model, contained.
    let incidents = incidents(&t).await;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let (incident, _, asset, _) = &incidents[0];
    assert_eq!(asset.as_deref(), Some(model.as_str()));
    assert_eq!(run["run"]["incident_id"], incident.as_str());

    // Quarantined, key revoked (the next request with it is refused), model frozen.
    let (_, version) = admin.get(&format!("/api/v1/models/{model}/versions/1.0")).await;
    assert_eq!(version["quarantined"], true, "{version}");
    let (status, _) = uploader.get("/api/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, refused) = upload(&admin, &model, "1.1", &benign_pickle()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused.to_string().contains("frozen"), "{refused}");

    // The receiver got one notification, correctly signed, naming the incident.
    let received = receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(signed_by(&received[0], &secret), "bad signature: {:?}", received[0].headers);
    assert!(!signed_by(&received[0], "whsec_wrong"));
    let note = received[0].body_json();
    assert_eq!(note["incident_id"], incident.as_str());
    assert_eq!(note["severity"], "critical");
    assert!(note["text"].as_str().unwrap().contains("fraud-detector"), "{note}");
    assert!(note["link"].as_str().unwrap().ends_with(&format!("/ui/incidents/{incident}")), "{note}");
    assert!(note["findings"].as_array().unwrap().iter().any(|f| f["rule_id"].as_str().unwrap().starts_with("pickle.")), "{note}");

    // The timeline shows each step, the delivery and the containment.
    let events = timeline_with(&t, incident, "playbook.run.finished").await;
    assert_eq!(count(&events, "playbook.run.started"), 1, "{events:#?}");
    assert_eq!(count(&events, "playbook.step.started"), 4, "{events:#?}");
    assert_eq!(count(&events, "playbook.step.succeeded"), 4, "{events:#?}");
    assert_eq!(count(&events, "webhook.delivered"), 1, "{events:#?}");
    let texts: Vec<&str> = events.iter().map(|(_, text)| text.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("quarantined")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("revoked API key")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("froze model `fraud-detector`")), "{texts:#?}");
    let status = eventually("the incident to be contained", || async {
        let now = incidents_status(&t, incident).await;
        (now == "contained").then_some(now)
    })
    .await;
    assert_eq!(status, "contained");

    // The audit log verifies and names the automation behind each change.
    let export = audit_verifies(&admin).await;
    for operation in ["registry.quarantine", "key.revoke", "asset.freeze", "playbook.step.succeeded"] {
        assert!(export.lines().any(|l| l.contains(operation) && l.contains("playbook:malicious-model-upload")), "{operation} is not in the audit log");
    }
    t.server.shutdown().await.unwrap();
}

async fn incidents_status(t: &TestServer, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM incidents WHERE id = $1").bind(id).fetch_one(&t.server.state.store.read).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_in_a_dataset_freezes_it_and_its_models_then_waits_for_approval() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let dataset = asset(&admin, "dataset", "customers", "confidential").await;
    let model = asset(&admin, "model", "churn", "confidential").await;
    let unrelated = asset(&admin, "model", "unrelated", "confidential").await;
    let (status, edge) = admin.json(Method::POST, "/api/v1/lineage", json!({"from": dataset, "to": model})).await;
    assert_eq!(status, StatusCode::CREATED, "{edge}");

    import_finding(&admin, &dataset, "pii.email", "medium", None).await;
    let run = run_in(&admin, "pii-in-training-data", "waiting").await;
    assert_eq!(step_statuses(&run), ["succeeded", "waiting", "pending"]);
    let frozen = |id: String| {
        let t = &t;
        async move { sqlx::query_scalar::<_, i64>("SELECT frozen FROM assets WHERE id = $1").bind(id).fetch_one(&t.server.state.store.read).await.unwrap() }
    };
    assert_eq!((frozen(dataset.clone()).await, frozen(model.clone()).await, frozen(unrelated.clone()).await), (1, 1, 0));
    assert!(receiver.received().is_empty(), "nothing is sent before the approval");
    let (status, pending) = admin.get("/api/v1/approvals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");

    // A data scientist may not decide; a security engineer may.
    let run_id = run["run"]["id"].as_str().unwrap().to_owned();
    let (_, scientist) = t.user("scientist", &["data_scientist"]).await;
    let (status, _) = scientist.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/1/approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, engineer) = t.user("engineer", &["security_engineer"]).await;
    let (status, body) = engineer.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/1/approve"), json!({"note": "confirmed: real emails"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, again) = engineer.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/1/approve"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let done = run_in(&admin, "pii-in-training-data", "succeeded").await;
    assert_eq!(step_statuses(&done), ["succeeded"; 3]);
    assert_eq!(receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap().len(), 1);
    let events = timeline_with(&t, done["run"]["incident_id"].as_str().unwrap(), "playbook.run.finished").await;
    assert_eq!(count(&events, "playbook.approval.requested"), 1, "{events:#?}");
    assert!(events.iter().any(|(k, text)| k == "playbook.approval.approved" && text.contains("engineer") && text.contains("confirmed")), "{events:#?}");
    t.server.shutdown().await.unwrap();
}

async fn promote(admin: &Client, model: &str, version: &str) {
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/models/{model}/versions/{version}/promote"), json!({"stage": "production", "reason": "test"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn production(admin: &Client, model: &str) -> Value {
    admin.get(&format!("/api/v1/models/{model}/versions")).await.1["production"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_on_a_deployment_rolls_its_model_back_after_approval() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let model = asset(&admin, "model", "pricing", "internal").await;
    let deployment = asset(&admin, "deployment", "pricing-api", "internal").await;
    let (status, edge) = admin.json(Method::POST, "/api/v1/lineage", json!({"from": model, "to": deployment})).await;
    assert_eq!(status, StatusCode::CREATED, "{edge}");
    for version in ["1.0", "2.0"] {
        assert_eq!(upload(&admin, &model, version, &benign_pickle()).await.0, StatusCode::CREATED);
        promote(&admin, &model, version).await;
    }
    assert_eq!(production(&admin, &model).await, "2.0");

    import_finding(&admin, &deployment, "drift.dataset-drift", "high", None).await;
    let run = run_in(&admin, "drift-beyond-threshold", "waiting").await;
    assert_eq!(production(&admin, &model).await, "2.0", "nothing happens before the approval");
    let run_id = run["run"]["id"].as_str().unwrap();
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/0/approve"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let done = run_in(&admin, "drift-beyond-threshold", "succeeded").await;
    assert_eq!(production(&admin, &model).await, "1.0");
    assert!(done["steps"][1]["decision"].as_str().unwrap().contains("rolled back from `2.0` to `1.0`"), "{done}");
    let incident = done["run"]["incident_id"].as_str().unwrap();
    eventually("the incident to be recovered", || async { (incidents_status(&t, incident).await == "recovered").then_some(()) }).await;
    assert_eq!(receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap().len(), 1);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extraction_from_a_client_blocks_it_and_revokes_its_key() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    let secret = webhook(&admin, &receiver, "security", 3, 1).await;
    let deployment = asset(&admin, "deployment", "chat-api", "internal").await;
    let (partner_id, _) = t.user("partner", &["service"]).await;
    let token = t.api_key(&partner_id, &["read"]).await;
    let client_id = key_id(&token);

    import_finding(&admin, &deployment, "monitor.model-extraction", "high", Some(&client_id)).await;
    let run = run_in(&admin, "extraction-attack", "succeeded").await;
    assert_eq!(step_statuses(&run), ["succeeded"; 3]);
    assert!(warden_server::gateway::is_blocked(&t.server.state, &deployment, &client_id).await.unwrap());
    let (status, _) = Client::with_key(t.url(""), &token).get("/api/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let received = receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap();
    assert!(signed_by(&received[0], &secret));
    assert!(received[0].body_json()["text"].as_str().unwrap().contains("blocked"), "{}", received[0].body_text());
    t.server.shutdown().await.unwrap();
}

async fn burst_of_failed_logins(t: &TestServer, username: &str) {
    let stranger = t.client();
    for _ in 0..5 {
        let (status, _) = stranger.json(Method::POST, "/api/v1/login", json!({"username": username, "password": "not the password 42"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspicious_logins_disable_the_user_and_revoke_their_keys_once_approved() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let (victim_id, victim) = t.user("victim", &["data_scientist"]).await;
    let token = t.api_key(&victim_id, &["read"]).await;

    burst_of_failed_logins(&t, "victim").await;
    let run = run_about(&admin, "suspicious-logins", "waiting", Some("user:victim")).await;
    let (status, _) = victim.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "nothing happens before the approval");
    let run_id = run["run"]["id"].as_str().unwrap();
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/0/approve"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let done = run_about(&admin, "suspicious-logins", "succeeded", Some("user:victim")).await;
    assert_eq!(step_statuses(&done), ["succeeded"; 4]);
    let (status, _) = victim.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session ended");
    let (status, _) = Client::with_key(t.url(""), &token).get("/api/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1").bind(&victim_id).fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(disabled, 1);
    assert_eq!(receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap().len(), 1);
    // The same burst raised an alert about the address too: that incident names no user, so the
    // playbook (subjects `user:*`) did not start on it.
    assert!(incidents(&t).await.iter().any(|i| i.3.starts_with("ip:")), "{:?}", incidents(&t).await);
    assert_eq!(runs_of(&admin, "suspicious-logins").await.len(), 1);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_decides_in_time_fails_its_run() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let dataset = asset(&admin, "dataset", "leaky", "internal").await;
    import_finding(&admin, &dataset, "pii.credit_card", "high", None).await;
    let run = run_in(&admin, "pii-in-training-data", "waiting").await;
    // A day passes (the shipped approval waits 1440 minutes).
    sqlx::query("UPDATE playbook_steps SET next_at = 0 WHERE run_id = $1 AND status = 'waiting'")
        .bind(run["run"]["id"].as_str().unwrap())
        .execute(t.server.state.store.writer())
        .await
        .unwrap();
    let failed = run_in(&admin, "pii-in-training-data", "failed").await;
    assert_eq!(step_statuses(&failed), ["succeeded", "failed", "cancelled"]);
    assert!(failed["steps"][1]["decision"].as_str().unwrap().contains("nobody approved"), "{failed}");
    assert!(receiver.received().is_empty());
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_approval_stops_the_run_and_changes_nothing_more() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let (victim_id, victim) = t.user("victim", &["data_scientist"]).await;

    burst_of_failed_logins(&t, "victim").await;
    let run = run_about(&admin, "suspicious-logins", "waiting", Some("user:victim")).await;
    let run_id = run["run"]["id"].as_str().unwrap();
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/playbook-runs/{run_id}/steps/0/reject"), json!({"note": "it was me, on a new laptop"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");

    let done = detail(&admin, run_id).await;
    assert_eq!(step_statuses(&done), ["rejected", "cancelled", "cancelled", "cancelled"]);
    let (status, _) = victim.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1").bind(&victim_id).fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(disabled, 0);
    let events = timeline_with(&t, done["run"]["incident_id"].as_str().unwrap(), "playbook.run.finished").await;
    assert!(events.iter().any(|(k, text)| k == "playbook.approval.rejected" && text.contains("new laptop")), "{events:#?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
    t.server.shutdown().await.unwrap();
}

/// A suspicious-logins run about `victim` whose step 2 (disable the user) is held by `holder`
/// until `lease_until`, step 1 done; answers the server, an administrator, the victim's id, the
/// webhook receiver (kept alive) and the run's id.
async fn suspicious_logins_run_held_at_step_two(holder: &str, lease_until: i64) -> (TestServer, Client, String, WebhookReceiver, String) {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let (victim_id, _) = t.user("victim", &["data_scientist"]).await;
    burst_of_failed_logins(&t, "victim").await;
    let run = run_about(&admin, "suspicious-logins", "waiting", Some("user:victim")).await;
    let run_id = run["run"]["id"].as_str().unwrap().to_owned();
    let now = warden_server::store::now_ms();
    let store = t.server.state.store.writer();
    sqlx::query("UPDATE playbook_steps SET status = 'succeeded', finished_at = $1 WHERE run_id = $2 AND idx = 0").bind(now).bind(&run_id).execute(store).await.unwrap();
    sqlx::query("UPDATE playbook_runs SET current_step = 1, status = 'running' WHERE id = $1").bind(&run_id).execute(store).await.unwrap();
    sqlx::query("UPDATE playbook_steps SET status = 'running', lease_owner = $1, lease_until = $2, attempts = 1, started_at = $3 WHERE run_id = $4 AND idx = 1")
        .bind(holder)
        .bind(lease_until)
        .bind(now - 61_000)
        .bind(&run_id)
        .execute(store)
        .await
        .unwrap();
    (t, admin, victim_id, receiver, run_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_left_by_a_crashed_instance_is_taken_over_when_its_lease_expires() {
    // Another instance took step 2 (disable the user) and died holding it: its lease ran out.
    let now = warden_server::store::now_ms();
    let (t, admin, victim_id, _receiver, _) = suspicious_logins_run_held_at_step_two("crashed-instance", now - 1).await;

    let done = run_about(&admin, "suspicious-logins", "succeeded", Some("user:victim")).await;
    assert_eq!(done["steps"][1]["attempts"], 2, "{done}");
    assert!(done["steps"][1]["decision"].as_str().unwrap().contains("disabled user `victim`"), "{done}");
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1").bind(&victim_id).fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(disabled, 1);
    let journal = done["journal"].as_array().unwrap();
    assert!(journal.iter().any(|e| e["kind"] == "playbook.step.attempt" && e["text"].as_str().unwrap().contains("attempt 2 of 3")), "{journal:#?}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_outcome_could_not_be_recorded_is_handed_back_by_its_holder_only() {
    // This instance holds step 2 with a long lease, as when recording its outcome just failed.
    let now = warden_server::store::now_ms();
    let (t, admin, victim_id, _receiver, run_id) = suspicious_logins_run_held_at_step_two("this-instance", now + 3_600_000).await;

    let release = |owner: &'static str| warden_server::playbooks::progress::release(&t.server.state, &run_id, 1, owner, 0);
    assert!(!release("another-instance").await.unwrap(), "only the holder hands a step back");
    assert!(release("this-instance").await.unwrap());
    assert!(!release("this-instance").await.unwrap(), "a step is handed back once");
    warden_server::playbooks::wake();

    let done = run_about(&admin, "suspicious-logins", "succeeded", Some("user:victim")).await;
    assert_eq!(done["steps"][1]["attempts"], 2, "{done}");
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1").bind(&victim_id).fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(disabled, 1);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_settled_before_its_step_recorded_the_wait_still_ends_the_step() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    receiver.push_replies([Reply::status(500)]);
    // The first attempt fails and the retry is an hour away: the test decides when it is sent.
    webhook(&admin, &receiver, "security", 3, 3600).await;
    let model = asset(&admin, "model", "raced", "internal").await;
    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);
    let store = t.server.state.store.writer();
    let (run_id, idx): (String, i64) = eventually("the notification step to wait for its retry", || async {
        sqlx::query_as("SELECT s.run_id, s.idx FROM playbook_steps s JOIN webhook_deliveries d ON d.run_id = s.run_id AND d.step_idx = s.idx WHERE s.status = 'waiting' AND d.status = 'pending' AND d.attempts = 1")
            .fetch_optional(store)
            .await
            .unwrap()
    })
    .await;

    // Another instance queued this delivery and has not yet recorded that its step waits: the
    // step is still running under that instance's lease when the delivery succeeds.
    let now = warden_server::store::now_ms();
    let held = sqlx::query("UPDATE playbook_steps SET status = 'running', lease_owner = 'slow-instance', lease_until = $1 WHERE run_id = $2 AND idx = $3 AND status = 'waiting'")
        .bind(now + 3_600_000)
        .bind(&run_id)
        .bind(idx)
        .execute(store)
        .await
        .unwrap();
    assert_eq!(held.rows_affected(), 1);
    // Its retry was claimed by a sender that could not record the attempt and handed it back.
    let delivery: String = sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE run_id = $1").bind(&run_id).fetch_one(store).await.unwrap();
    sqlx::query("UPDATE webhook_deliveries SET status = 'sending', lease_owner = 'failed-sender', lease_until = $1 WHERE id = $2")
        .bind(now + 3_600_000)
        .bind(&delivery)
        .execute(store)
        .await
        .unwrap();
    let release = |owner: &'static str| warden_server::playbooks::deliveries::release(&t.server.state, owner, &delivery, 0);
    assert!(!release("another-sender").await.unwrap(), "only the claimant hands a delivery back");
    assert!(release("failed-sender").await.unwrap());
    warden_server::playbooks::wake();

    let run = run_in(&admin, "malicious-model-upload", "succeeded").await;
    assert_eq!(run["steps"][idx as usize]["status"], "succeeded", "{run}");
    assert_eq!(receiver.received().len(), 2);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_until_it_answers() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    receiver.push_replies([Reply::status(500), Reply::status(500)]);
    let secret = webhook(&admin, &receiver, "security", 4, 1).await;
    let model = asset(&admin, "model", "retried", "internal").await;
    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);

    let run = run_in(&admin, "malicious-model-upload", "succeeded").await;
    let received = receiver.received();
    assert_eq!(received.len(), 3, "two failures then a success");
    assert!(received.iter().all(|r| signed_by(r, &secret)));
    assert!(received.windows(2).all(|w| w[0].body == w[1].body), "a retry sends the same notification");
    let incident = run["run"]["incident_id"].as_str().unwrap();
    let events = timeline_with(&t, incident, "webhook.delivered").await;
    assert_eq!(count(&events, "webhook.retry"), 2, "{events:#?}");
    assert!(events.iter().any(|(k, text)| k == "webhook.retry" && text.contains("HTTP 500")), "{events:#?}");
    // The browser session uploaded, so there was no key to revoke.
    assert_eq!(run["steps"][1]["status"], "skipped", "{run}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containment_succeeds_when_no_notification_channel_is_set_up() {
    // A fresh install has no webhook target: the playbook still contains the upload, and the
    // notification step says in the run why nobody was notified instead of failing the run.
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = asset(&admin, "model", "unwatched", "internal").await;
    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);

    let run = run_in(&admin, "malicious-model-upload", "succeeded").await;
    assert_eq!(step_statuses(&run), ["succeeded", "skipped", "succeeded", "skipped"], "{run}");
    let why = run["steps"][3]["decision"].as_str().unwrap();
    assert!(why.contains("not notified") && why.contains("security"), "{run}");
    let (_, version) = admin.get(&format!("/api/v1/models/{model}/versions/1.0")).await;
    assert_eq!(version["quarantined"], true, "{version}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_keeps_failing_is_dead_lettered_reported_and_can_be_sent_again() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    receiver.set_default_reply(Reply::status(503));
    webhook(&admin, &receiver, "security", 2, 0).await;
    let model = asset(&admin, "model", "doomed", "internal").await;
    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);

    let run = run_in(&admin, "malicious-model-upload", "failed").await;
    assert_eq!(step_statuses(&run), ["succeeded", "skipped", "succeeded", "failed"]);
    assert_eq!(run["run"]["failed_steps"], 1);
    assert!(run["steps"][3]["decision"].as_str().unwrap().contains("dead-lettered"), "{run}");
    assert_eq!(receiver.received().len(), 2);
    let incident = run["run"]["incident_id"].as_str().unwrap();
    let events = timeline_with(&t, incident, "playbook.run.finished").await;
    assert_eq!(count(&events, "webhook.dead_letter"), 1, "{events:#?}");
    assert_eq!(count(&events, "playbook.step.failed"), 1, "{events:#?}");
    let (_, metrics) = admin.get("/metrics").await;
    assert!(metrics.as_str().unwrap_or_default().contains("playbook.step.failed"), "no failure metric");

    let (status, dead) = admin.get("/api/v1/webhook-deliveries?status=dead").await;
    assert_eq!(status, StatusCode::OK);
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("503"), "{dead:?}");
    let page = admin.request(Method::GET, "/ui/webhooks").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"dead-letters\"") && page.contains("503"), "{page}");

    receiver.set_default_reply(Reply::ok());
    let id = dead[0]["id"].as_str().unwrap();
    let (status, requeued) = admin.json(Method::POST, &format!("/api/v1/webhook-deliveries/{id}/retry"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{requeued}");
    receiver.wait_for(3, std::time::Duration::from_secs(10)).await.unwrap();
    eventually("the retried delivery to be delivered", || async {
        let (_, list) = admin.get("/api/v1/webhook-deliveries?status=delivered").await;
        (list.as_array().unwrap().len() == 1).then_some(())
    })
    .await;
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/webhook-deliveries/{id}/retry"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "only dead letters are sent again");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_changes_nothing_but_records_every_decision() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let (uploader_id, _) = t.user("uploader", &["data_scientist"]).await;
    let token = t.api_key(&uploader_id, &["read", "write"]).await;
    let model = asset(&admin, "model", "rehearsed", "internal").await;
    assert_eq!(upload(&Client::with_key(t.url(""), &token), &model, "1.0", &benign_pickle()).await.0, StatusCode::CREATED);
    promote(&admin, &model, "1.0").await;
    let (victim_id, _) = t.user("victim", &["data_scientist"]).await;
    t.api_key(&victim_id, &["read"]).await;
    let before = real_state(&t).await;
    let audit_before = t.audit_size().await;

    let (status, started) = admin.json(Method::POST, "/api/v1/playbooks/malicious-model-upload/drill", json!({"asset_id": model, "version": "1.0"})).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let run_id = started["run_id"].as_str().unwrap();
    let report = eventually("the drill to finish", || async {
        let (_, report) = admin.get(&format!("/api/v1/playbook-runs/{run_id}/report")).await;
        report["run"]["finished_at"].is_i64().then_some(report)
    })
    .await;
    assert_eq!(report["run"]["dry_run"], true);
    assert_eq!(report["run"]["status"], "succeeded", "{report}");
    let decisions: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["decision"].as_str().unwrap()).collect();
    assert!(decisions[0].contains("would quarantine `rehearsed` version `1.0` — currently in production"), "{decisions:?}");
    assert!(decisions[1].contains("would revoke API key"), "{decisions:?}");
    assert!(decisions[2].contains("would be frozen"), "{decisions:?}");
    assert!(decisions[3].contains("would notify webhook `security`") && decisions[3].contains("[DRILL]"), "{decisions:?}");
    assert!(report["steps"].as_array().unwrap().iter().all(|s| s["duration_ms"].is_i64()), "{report}");

    // A drill of an approval playbook simulates the approval and says so.
    let (status, started) = admin.json(Method::POST, "/api/v1/playbooks/suspicious-logins/drill", json!({"subject": "user:victim"})).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let run_id = started["run_id"].as_str().unwrap();
    let report = eventually("the second drill to finish", || async {
        let (_, report) = admin.get(&format!("/api/v1/playbook-runs/{run_id}/report")).await;
        report["run"]["finished_at"].is_i64().then_some(report)
    })
    .await;
    let decisions: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["decision"].as_str().unwrap()).collect();
    assert!(decisions[0].contains("simulated as approved"), "{decisions:?}");
    assert!(decisions[1].contains("would disable user `victim`"), "{decisions:?}");
    assert!(decisions[2].contains("would revoke API key"), "{decisions:?}");
    let (status, markdown) = admin.get(&format!("/api/v1/playbook-runs/{run_id}/report?format=markdown")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(markdown.as_str().unwrap().starts_with("# Drill of playbook `suspicious-logins`"), "{markdown}");

    // Nothing real changed: no version, key, user, freeze, block, delivery or finding.
    assert_eq!(real_state(&t).await, before);
    assert!(receiver.received().is_empty());
    assert!(incidents(&t).await.is_empty(), "drills are not real incidents");
    assert!(t.audit_size().await > audit_before, "the drill's decisions are on record");
    let page = admin.request(Method::GET, &format!("/ui/playbook-runs/{run_id}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"run-dry\"") && page.contains("would disable user"), "{page}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_run_a_step_twice() {
    let t = TestServer::sqlite().await;
    let second = t.sibling().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    webhook(&admin, &receiver, "security", 3, 1).await;
    let mut models = Vec::new();
    for n in 0..4 {
        models.push(asset(&admin, "model", &format!("twin-{n}"), "internal").await);
    }
    for model in &models {
        assert_eq!(upload(&admin, model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let runs = runs_of(&admin, "malicious-model-upload").await;
        if runs.len() == 4 && runs.iter().all(|r| r["status"] == "succeeded") {
            break;
        }
        if std::time::Instant::now() > deadline {
            let steps: Vec<(String, i64, String, i64, String)> =
                sqlx::query_as("SELECT run_id, idx, status, attempts, COALESCE(lease_owner, '') || ' until ' || lease_until || ', next ' || next_at || ': ' || error FROM playbook_steps ORDER BY run_id, idx")
                    .fetch_all(&t.server.state.store.read)
                    .await
                    .unwrap();
            panic!("the runs did not all finish in 30 s (now {}): runs {runs:#?}\nsteps {steps:#?}", warden_server::store::now_ms());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let attempts: Vec<i64> = sqlx::query_scalar("SELECT attempts FROM playbook_steps").fetch_all(&t.server.state.store.read).await.unwrap();
    assert_eq!(attempts, vec![1; 16], "each step executed exactly once");
    let started: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM playbook_events WHERE kind = 'playbook.step.started'").fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(started, 16);
    let received = receiver.wait_for(4, std::time::Duration::from_secs(10)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 4, "one notification per incident: {received:?}");
    let export = audit_verifies(&admin).await;
    assert_eq!(export.lines().filter(|l| l.contains("\"registry.quarantine\"")).count(), 4);
    second.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_add_replace_and_disable_playbooks() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (status, list) = admin.get("/api/v1/playbooks").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    for shipped in ["malicious-model-upload", "pii-in-training-data", "drift-beyond-threshold", "extraction-attack", "suspicious-logins"] {
        assert!(ids.contains(&shipped), "{ids:?}");
    }

    let broken = "id: quick-freeze\nname: Quick freeze\ntrigger:\n  rules: ['pickle.*']\nsteps:\n  - action: freeze_asset\n    webhook: security\n";
    let (status, body) = admin.json(Method::POST, "/api/v1/playbooks", json!({"yaml": broken})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("steps[0].webhook (line 6)"), "{body}");
    let (status, validation) = admin.json(Method::POST, "/api/v1/playbooks/validate", json!({"yaml": broken})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(validation["valid"], false);
    assert_eq!(validation["issues"][0]["line"], 6);

    let good = "id: quick-freeze\nname: Quick freeze\ntrigger:\n  rules: ['keras.*']\n  min_severity: high\nsteps:\n  - action: freeze_asset\n";
    let (status, created) = admin.json(Method::POST, "/api/v1/playbooks", json!({"yaml": good})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    let (status, _) = admin.json(Method::POST, "/api/v1/playbooks", json!({"yaml": good})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, replaced) = admin.json(Method::PUT, "/api/v1/playbooks/quick-freeze", json!({"yaml": good.replace("Quick freeze", "Quick freeze v2")})).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["version"], 2);
    let (_, detail) = admin.get("/api/v1/playbooks/quick-freeze").await;
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);
    let (status, v1) = admin.get("/api/v1/playbooks/quick-freeze/versions/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["source"], good);

    // Disabled, the shipped malicious-upload playbook no longer starts.
    let (status, patched) = admin.json(Method::PATCH, "/api/v1/playbooks/malicious-model-upload", json!({"enabled": false})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["enabled"], false);
    let model = asset(&admin, "model", "unguarded", "internal").await;
    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);
    eventually("the incident", || async { (!incidents(&t).await.is_empty()).then_some(()) }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(runs_of(&admin, "malicious-model-upload").await.is_empty());

    // Only administrators change playbooks; security engineers read them.
    let (_, engineer) = t.user("engineer", &["security_engineer"]).await;
    assert_eq!(engineer.get("/api/v1/playbooks").await.0, StatusCode::OK);
    assert_eq!(engineer.json(Method::PUT, "/api/v1/playbooks/quick-freeze", json!({"yaml": good})).await.0, StatusCode::FORBIDDEN);

    // The editor page shows problems with their line.
    let form = [("yaml", broken)];
    let csrf_page = admin.request(Method::POST, "/ui/playbooks/validate").form(&form).send().await.unwrap().text().await.unwrap();
    assert!(csrf_page.contains("id=\"playbook-issues\"") && csrf_page.contains("(line 6)"), "{csrf_page}");
    let page = admin.request(Method::GET, "/ui/playbooks").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"playbook-quick-freeze\""), "{page}");
    let page = admin.request(Method::GET, "/ui/playbooks/quick-freeze").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Quick freeze v2") && page.contains("id=\"drill-form\""), "{page}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secrets_are_shown_once_and_targets_are_managed_by_administrators() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    let secret = webhook(&admin, &receiver, "ops", 3, 1).await;
    assert!(secret.starts_with("whsec_"));
    let (status, list) = admin.get("/api/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains(&secret), "the secret is never listed");
    let sealed: String = sqlx::query_scalar("SELECT secret_sealed FROM webhook_targets").fetch_one(&t.server.state.store.read).await.unwrap();
    assert!(!sealed.contains(&secret[6..]), "the secret is stored sealed");
    let id = list[0]["id"].as_str().unwrap();
    let (status, rotated) = admin.json(Method::POST, &format!("/api/v1/webhooks/{id}/secret"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["secret"], secret.as_str());
    let (status, bad) = admin.json(Method::POST, "/api/v1/webhooks", json!({"name": "creds", "url": "https://user:pw@example.com/"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (_, engineer) = t.user("engineer", &["security_engineer"]).await;
    assert_eq!(engineer.get("/api/v1/webhooks").await.0, StatusCode::OK);
    assert_eq!(engineer.json(Method::POST, "/api/v1/webhooks", json!({"name": "x", "url": "https://example.com/"})).await.0, StatusCode::FORBIDDEN);
    let (status, _) = admin.json(Method::DELETE, &format!("/api/v1/webhooks/{id}"), Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_target_gets_an_adaptive_card_and_a_slack_target_blocks() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let receiver = WebhookReceiver::start();
    let url = receiver.url("/hooks/security");
    let (status, bad) = admin.json(Method::POST, "/api/v1/webhooks", json!({"name": "security", "url": url, "format": "email"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, created) = admin.json(Method::POST, "/api/v1/webhooks", json!({"name": "security", "url": url, "format": "teams", "backoff_seconds": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["format"], "teams");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let model = asset(&admin, "model", "card-model", "internal").await;

    assert_eq!(upload(&admin, &model, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);
    run_in(&admin, "malicious-model-upload", "succeeded").await;
    let received = receiver.wait_for(1, std::time::Duration::from_secs(10)).await.unwrap();
    assert!(signed_by(&received[0], &secret));
    let note = received[0].body_json();
    assert_eq!(note["type"], "message", "{note}");
    let card = &note["attachments"][0]["content"];
    assert_eq!(note["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card["body"][1]["facts"].as_array().unwrap().contains(&json!({"title": "Asset", "value": "card-model"})), "{card}");
    assert!(card["actions"][0]["url"].as_str().unwrap().contains("/ui/incidents/"), "{card}");

    // The format changes like any other setting, and is audited.
    let id = created["id"].as_str().unwrap();
    let (status, changed) = admin.json(Method::PATCH, &format!("/api/v1/webhooks/{id}"), json!({"format": "slack"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["format"], "slack");
    assert_eq!(admin.get("/api/v1/webhooks").await.1[0]["format"], "slack");
    let second = asset(&admin, "model", "blocks-model", "internal").await;
    assert_eq!(upload(&admin, &second, "1.0", EVIL_PICKLE).await.0, StatusCode::CREATED);
    let received = receiver.wait_for(2, std::time::Duration::from_secs(20)).await.unwrap();
    let note = received[1].body_json();
    assert!(note["text"].as_str().unwrap().contains("blocks-model"), "{note}");
    assert_eq!(note["blocks"][0]["type"], "header", "{note}");
    assert!(signed_by(&received[1], &secret));

    // The page edits a target in place: empty numbers keep their values, the name never changes.
    let (_, page) = admin.get("/ui/webhooks").await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("id=\"webhook-edit-security\"") && page.contains("<option value=\"slack\" selected>"), "{page}");
    let edit = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move { admin.request(Method::POST, &format!("/ui/webhooks/{id}/edit")).form(&fields).send().await.unwrap().status() }
    };
    let fields = |format: &str| vec![("url", url.clone()), ("format", format.to_owned()), ("max_attempts", "4".to_owned()), ("backoff_seconds", String::new()), ("timeout_seconds", String::new())];
    assert_eq!(edit(fields("email")).await, StatusCode::BAD_REQUEST);
    assert_eq!(edit(fields("teams")).await, StatusCode::SEE_OTHER);
    let (_, list) = admin.get("/api/v1/webhooks").await;
    assert_eq!((&list[0]["format"], &list[0]["max_attempts"], &list[0]["backoff_seconds"]), (&json!("teams"), &json!(4), &json!(1)), "{list}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_playbook_ids_and_filters_are_refused_not_failed_on() {
    // PostgreSQL cannot compare text holding U+0000: such ids and filters never reach it.
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let mut wrong = Vec::new();
    for path in [
        "/api/v1/playbooks/a%00b",
        "/api/v1/playbooks/a%00b/versions/1",
        "/api/v1/playbook-runs/a%00b",
        "/api/v1/playbook-runs?playbook=a%00b",
        "/api/v1/webhook-deliveries?status=a%00b",
        "/ui/playbooks/a%00b",
        "/ui/playbook-runs/a%00b",
    ] {
        let (status, body) = admin.get(path).await;
        if !status.is_client_error() {
            wrong.push(format!("GET {path}: {status} {body}"));
        }
    }
    for (path, body) in [
        ("/api/v1/playbook-runs/a%00b/steps/0/approve", json!({"note": "a\u{0}b"})),
        ("/api/v1/webhook-deliveries/a%00b/retry", json!({})),
        ("/api/v1/playbooks", json!({"yaml": "id: a\u{0}b\nname: x\n"})),
        ("/api/v1/webhooks", json!({"name": "nul", "url": "https://example.com/a\u{0}b"})),
        ("/api/v1/playbooks/suspicious-logins/drill", json!({"asset_id": "a\u{0}b"})),
    ] {
        let (status, answer) = admin.json(Method::POST, path, body).await;
        if !status.is_client_error() {
            wrong.push(format!("POST {path}: {status} {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    t.server.shutdown().await.unwrap();
}
