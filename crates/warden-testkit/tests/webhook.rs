//! The webhook receiver: recording and programmed replies, as a retrying sender sees them.

use std::time::Duration;

use reqwest::StatusCode;
use warden_testkit::Error;
use warden_testkit::webhook::{Reply, WebhookReceiver};

#[tokio::test]
async fn records_method_path_headers_and_body() {
    let hooks = WebhookReceiver::start();
    let response = reqwest::Client::new()
        .post(hooks.url("/alerts?tenant=a"))
        .header("x-warden-signature", "sha256=abc")
        .json(&serde_json::json!({ "rule_id": "scan.pickle.dangerous-global" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let received = hooks.wait_for(1, Duration::from_secs(5)).await.expect("one delivery");
    let request = &received[0];
    assert_eq!(request.method, reqwest::Method::POST);
    assert_eq!(request.path, "/alerts");
    assert_eq!(request.query.as_deref(), Some("tenant=a"));
    assert_eq!(request.header("x-warden-signature"), Some("sha256=abc"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.body_json()["rule_id"], "scan.pickle.dangerous-global");
}

#[tokio::test]
async fn programmed_failures_come_first_then_the_default_reply() {
    let hooks = WebhookReceiver::start();
    hooks.fail_next(2, 500);
    hooks.push_replies([Reply::status(429).with_body("slow down")]);
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(client.post(hooks.url("/")).body("x").send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [500, 500, 429, 200]);
    hooks.set_default_reply(Reply::status(410));
    assert_eq!(client.get(hooks.url("/gone")).send().await.unwrap().status(), StatusCode::GONE);
    assert_eq!(hooks.received().len(), 5);
    hooks.clear();
    assert!(hooks.received().is_empty());
}

#[tokio::test]
async fn a_hanging_reply_lets_the_sender_time_out_but_is_recorded() {
    let hooks = WebhookReceiver::start();
    hooks.push_replies([Reply::hang()]);
    let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let error = client.post(hooks.url("/slow")).body("x").send().await.expect_err("timeout");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(hooks.wait_for(1, Duration::from_secs(1)).await.unwrap()[0].path, "/slow");
    assert_eq!(client.post(hooks.url("/slow")).send().await.unwrap().status(), StatusCode::OK, "next one answers");
}

#[tokio::test]
async fn wait_for_reports_how_many_arrived() {
    let hooks = WebhookReceiver::start();
    reqwest::get(hooks.url("/one")).await.unwrap();
    match hooks.wait_for(2, Duration::from_millis(100)).await {
        Err(Error::WebhookTimeout { expected: 2, received: 1, .. }) => {}
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn wait_for_wakes_up_on_a_later_delivery() {
    let hooks = WebhookReceiver::start();
    let url = hooks.url("/later");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        reqwest::Client::new().post(url).body("late").send().await.unwrap();
    });
    let received = hooks.wait_for(1, Duration::from_secs(5)).await.expect("delivery");
    assert_eq!(received[0].body_text(), "late");
}

#[test]
fn the_blocking_receiver_serves_synchronous_tests() {
    let hooks = WebhookReceiver::start_blocking();
    hooks.fail_next(1, 503);
    let url = hooks.url("/sync");
    let sender = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let first = client.post(&url).body("1").send().await.unwrap().status();
            let second = client.post(&url).body("2").send().await.unwrap().status();
            (first, second)
        })
    });
    let received = hooks.wait_for_blocking(2, Duration::from_secs(5)).expect("two deliveries");
    assert_eq!(received.iter().map(|r| r.body_text()).collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(sender.join().unwrap(), (StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK));
}
