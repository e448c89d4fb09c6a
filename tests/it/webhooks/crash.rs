//! The outbox survives a crash: the real binary is killed with SIGKILL while scans' webhook
//! events are still undelivered (the receiver is down), restarted on the same data dir, and
//! every event reaches the receiver once it is back, signed.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::api::{Api, add_merchant, path_of};
use common::receiver::{Receiver, expected_authorization};
use http::Method;
use serde_json::json;

/// The binary with fast retries and plain-http loopback webhooks allowed.
fn start(data_dir: &Path) -> common::ServeProcess {
    common::ServeProcess::start(
        data_dir,
        &[
            "--allow-insecure-webhooks",
            "--webhook-retry-initial",
            "50ms",
            "--webhook-retry-max",
            "200ms",
            "--webhook-timeout",
            "1s",
            "--webhook-poll-interval",
            "50ms",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_events_are_delivered_after_kill_9_and_restart() {
    let data_dir = common::temp_dir("webhook-crash");
    let creds = add_merchant(&data_dir, "700100", "Crash AS");
    let mut receiver = Receiver::start_stopped().await;
    let server = start(&data_dir);
    let api = Api::login(&server.base(), &creds).await;
    let hook = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": receiver.url("/hook"), "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_eq!(hook.status, 201, "{}", String::from_utf8_lossy(&hook.body));
    let secret = hook.json()["secret"].as_str().expect("secret").to_owned();
    let msn = [("merchant-serial-number", "700100")];
    let put = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-callback/self-checkout",
            None,
            Some(json!({"locationDescription": "Self-checkout 3"})),
            &msn,
        )
        .await;
    assert_eq!(put.status, 200);
    let qr = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/self-checkout",
            None,
            None,
            &msn,
        )
        .await;
    let link = path_of(qr.json()["qrContent"].as_str().expect("qrContent"));

    for _ in 0..3 {
        let page = common::get(&format!("{}{link}", server.base())).await;
        assert_eq!(page.status, 200, "the scan was acknowledged");
    }
    // Killed right after the last acknowledged scan, with the receiver still down.
    server.kill_9();
    assert!(receiver.received().is_empty());

    receiver.restart().await;
    let server = start(&data_dir);
    let got = receiver.wait_for(3, Duration::from_secs(60)).await;
    let tokens: BTreeSet<String> = got
        .iter()
        .map(|r| {
            assert_eq!(
                r.header("authorization"),
                expected_authorization(&secret, r)
            );
            let body = r.json();
            assert_eq!(body["merchantQrId"], "self-checkout");
            assert_eq!(body["msn"], "700100");
            body["customerToken"].as_str().expect("token").to_owned()
        })
        .collect();
    assert_eq!(
        tokens.len(),
        3,
        "every acknowledged scan's event, once each"
    );
    let times: Vec<String> = got
        .iter()
        .map(|r| r.json()["initiatedAt"].as_str().expect("time").to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "in scan order");
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}
