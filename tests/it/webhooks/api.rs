//! Merchant-callback QRs and webhooks end to end over real HTTP: the QR API and the Webhooks API
//! on the real server, the QR image decoded, the `/c/` link opened like a phone would, and the
//! signed `user.checked-in.v1` arriving at a real receiver on loopback. Plus every field rule.

use crate::common;

use std::time::Duration;

use common::TestServer;
use common::api::{Api, Credentials, add_merchant, path_of};
use common::receiver::{Receiver, expected_authorization};
use http::Method;
use qr_origin::clock::Clock;
use qr_origin::store::OutboxState;
use serde_json::{Value, json};

const HANG_GUARD: Duration = Duration::from_secs(30);

async fn server() -> TestServer {
    common::start_with(|c| {
        c.webhooks.allow_insecure = true;
        c.webhooks.delivery.poll_interval = Duration::from_millis(20);
    })
    .await
}

async fn merchant(srv: &TestServer, msn: &str) -> Api {
    Api::merchant(srv, msn, "Kiosk AS").await
}

async fn register(api: &Api, url: &str) -> (String, String) {
    let r = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": url, "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    (
        v["id"].as_str().expect("id").to_owned(),
        v["secret"].as_str().expect("secret").to_owned(),
    )
}

/// Creates callback QR `id` and returns its `/c/` path.
async fn callback_qr(api: &Api, id: &str, description: &str) -> String {
    let put = api
        .callback(
            Method::PUT,
            &format!("/qr/v1/merchant-callback/{id}"),
            Some(json!({ "locationDescription": description })),
        )
        .await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let got = api
        .callback(Method::GET, &format!("/qr/v1/merchant-callback/{id}"), None)
        .await;
    assert_eq!(got.status, 200);
    path_of(got.json()["qrContent"].as_str().expect("qrContent"))
}

/// Waits until every outbox event of `webhook` satisfies `done`.
async fn outbox_until(
    srv: &TestServer,
    webhook: &str,
    done: impl Fn(&[qr_origin::store::OutboxEvent]) -> bool,
) -> Vec<qr_origin::store::OutboxEvent> {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let events = srv
            .state
            .store
            .outbox_events(webhook)
            .await
            .expect("outbox");
        if done(&events) {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox never got there: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `/metrics` shows `line` (the worker updates its counters and gauges right after
/// the store, so a scrape may briefly lag the outbox).
async fn metrics_show(srv: &TestServer, line: &str) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let metrics = common::get(&srv.url("/metrics")).await;
        let m = String::from_utf8(metrics.body.to_vec()).expect("utf-8");
        if m.lines().any(|l| l == line) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {line:?} in {m}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_scan_reaches_the_receiver_once_signed() {
    let srv = server().await;
    let api = merchant(&srv, "600100").await;
    let receiver = Receiver::start().await;
    let (hook_id, secret) = register(&api, &receiver.url("/qr-events?src=test")).await;

    let listed = api.bare(Method::GET, "/webhooks/v1/webhooks").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json(),
        json!({"webhooks": [{
            "id": hook_id,
            "url": receiver.url("/qr-events?src=test"),
            "events": ["user.checked-in.v1"]
        }]}),
        "listed without the secret"
    );

    let put = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk%201",
            Some(json!({"locationDescription": "Kiosk <1> & café"})),
        )
        .await;
    assert_eq!(put.status, 200);

    // The QR as PNG of a chosen size and as the default SVG; both decode to qrContent.
    let png = api
        .callback(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk%201?qrImageFormat=PNG&qrImageSize=300",
            None,
        )
        .await;
    assert_eq!(png.status, 200, "{}", String::from_utf8_lossy(&png.body));
    let qr = png.json();
    assert_eq!(qr["merchantSerialNumber"], "600100");
    assert_eq!(qr["merchantQrId"], "kiosk 1");
    assert_eq!(qr["locationDescription"], "Kiosk <1> & café");
    let content = qr["qrContent"].as_str().expect("qrContent").to_owned();
    assert!(
        content.starts_with(&format!("{}/C/", srv.base)),
        "{content}"
    );
    let image = common::get(qr["qrImageUrl"].as_str().expect("url")).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), "image/png");
    let decoded = image::load_from_memory(&image.body).expect("PNG");
    assert_eq!((decoded.width(), decoded.height()), (300, 300));
    assert_eq!(common::decode_png(&image.body), content);
    let svg = api
        .callback(Method::GET, "/qr/v1/merchant-callback/kiosk%201", None)
        .await;
    let svg_url = svg.json()["qrImageUrl"].as_str().expect("url").to_owned();
    let svg_image = common::get(&svg_url).await;
    assert_eq!(svg_image.header("content-type"), "image/svg+xml");
    assert_eq!(common::decode_svg(&svg_image.body), content);
    assert_eq!(svg.json()["qrContent"], content.as_str(), "same content");
    // As published, the Accept and Size headers choose the image too (the query overrides).
    let msn = api.creds.msn.clone();
    let by_headers = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk%201",
            Some("image/png"),
            None,
            &[("merchant-serial-number", msn.as_str()), ("size", "250")],
        )
        .await;
    assert_eq!(by_headers.status, 200);
    let image = common::get(by_headers.json()["qrImageUrl"].as_str().expect("url")).await;
    assert_eq!(image.header("content-type"), "image/png");
    let decoded = image::load_from_memory(&image.body).expect("PNG");
    assert_eq!((decoded.width(), decoded.height()), (250, 250));
    assert_eq!(common::decode_png(&image.body), content);
    let target = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback",
            Some("text/targetUrl"),
            None,
            &[("merchant-serial-number", msn.as_str())],
        )
        .await;
    let listed = target.json();
    let kiosk = listed
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|qr| qr["merchantQrId"] == "kiosk 1")
        .expect("listed");
    assert_eq!(
        kiosk["qrImageUrl"],
        content.as_str(),
        "text/targetUrl: the content itself"
    );

    // The phone opens what it decoded.
    let page = common::get(&content).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    let html = String::from_utf8(page.body.to_vec()).expect("utf-8");
    assert!(html.contains("merchant has been notified"), "{html}");
    assert!(
        html.contains("Kiosk &lt;1&gt; &amp; café"),
        "escaped: {html}"
    );

    let got = receiver.wait_for(1, HANG_GUARD).await;
    let events = outbox_until(&srv, &hook_id, |e| {
        e.iter().all(|e| e.state == OutboxState::Delivered)
    })
    .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].attempts, 1);
    assert_eq!(receiver.received().len(), 1, "exactly one POST");
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path_and_query, "/qr-events?src=test");
    assert_eq!(r.header("host"), receiver.addr.to_string());
    assert_eq!(r.header("x-ms-date"), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(
        r.header("authorization"),
        expected_authorization(&secret, r)
    );
    let body = r.json();
    let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        keys,
        ["customerToken", "initiatedAt", "merchantQrId", "msn"]
    );
    assert_eq!(body["merchantQrId"], "kiosk 1");
    assert_eq!(body["msn"], "600100");
    assert_eq!(body["initiatedAt"], "2023-11-14T22:13:20.0000000Z");
    let token = body["customerToken"].as_str().expect("token");
    let scan = srv
        .state
        .store
        .scan_by_token(token, srv.clock.now_ms() + 15 * 60 * 1000 - 1)
        .await
        .expect("read")
        .expect("the token is valid for 15 minutes");
    assert_eq!(scan.qr_id, "kiosk 1");
    // The body text is exactly what was signed and hashed: field order as published.
    let text = String::from_utf8(r.body.to_vec()).expect("utf-8");
    assert!(text.starts_with("{\"customerToken\":"), "{text}");

    metrics_show(
        &srv,
        "qr_origin_webhook_deliveries_total{outcome=\"delivered\"} 1",
    )
    .await;
}

#[tokio::test]
async fn scans_queue_while_the_receiver_is_down_and_arrive_in_order() {
    let srv = server().await;
    let api = merchant(&srv, "600200").await;
    let mut receiver = Receiver::start_stopped().await;
    let (hook_id, secret) = register(&api, &receiver.url("/hook")).await;
    let link = callback_qr(&api, "vending-7", "Vending machine 7").await;

    for _ in 0..5 {
        assert_eq!(common::get(&srv.url(&link)).await.status, 200);
    }
    // The head of the line has been tried and failed; the rest wait behind it.
    let events = outbox_until(&srv, &hook_id, |e| e.len() == 5 && e[0].attempts >= 1).await;
    assert!(events.iter().all(|e| e.state == OutboxState::Pending));
    assert!(events[1..].iter().all(|e| e.attempts == 0), "{events:#?}");
    assert!(
        events[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("network error")),
        "{events:#?}"
    );
    metrics_show(&srv, "qr_origin_webhook_queue_depth 5").await;
    metrics_show(
        &srv,
        "qr_origin_webhook_deliveries_total{outcome=\"retry\"} 1",
    )
    .await;

    receiver.restart().await;
    // Past any retry delay.
    srv.clock.advance_ms(2 * 3600 * 1000);
    let got = receiver.wait_for(5, HANG_GUARD).await;
    let expected: Vec<String> = events.iter().map(|e| e.body.clone()).collect();
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.body.to_vec()).expect("utf-8"))
        .collect();
    assert_eq!(bodies, expected, "every event, in scan order");
    for r in &got {
        assert_eq!(
            r.header("authorization"),
            expected_authorization(&secret, r)
        );
    }
    outbox_until(&srv, &hook_id, |e| {
        e.iter().all(|e| e.state == OutboxState::Delivered)
    })
    .await;
}

#[tokio::test]
async fn a_deleted_callback_qr_answers_404_and_sends_nothing() {
    let srv = server().await;
    let api = merchant(&srv, "600300").await;
    let receiver = Receiver::start().await;
    let (hook_id, _) = register(&api, &receiver.url("/hook")).await;
    let link = callback_qr(&api, "door", "Front door").await;
    assert_eq!(common::get(&srv.url(&link)).await.status, 200);
    receiver.wait_for(1, HANG_GUARD).await;

    let del = api
        .callback(Method::DELETE, "/qr/v1/merchant-callback/door", None)
        .await;
    assert_eq!(del.status, 200);
    let page = common::get(&srv.url(&link)).await;
    assert_eq!(page.status, 404);
    assert!(String::from_utf8_lossy(&page.body).contains("not found"));
    let get = api
        .callback(Method::GET, "/qr/v1/merchant-callback/door", None)
        .await;
    assert_eq!(get.status, 404);
    assert_eq!(get.header("content-type"), "application/json");
    let again = api
        .callback(Method::DELETE, "/qr/v1/merchant-callback/door", None)
        .await;
    assert_eq!(again.status, 404);
    let list = api
        .callback(Method::GET, "/qr/v1/merchant-callback", None)
        .await;
    assert_eq!(list.json(), json!([]));

    // Stored synchronously before the scan answers: nothing was enqueued for the 404.
    let events = srv
        .state
        .store
        .outbox_events(&hook_id)
        .await
        .expect("outbox");
    assert_eq!(events.len(), 1, "only the scan before the delete");

    // Re-creating the id gives a new code; the printed one stays dead.
    let new_link = callback_qr(&api, "door", "Front door").await;
    assert_ne!(new_link, link);
    assert_eq!(common::get(&srv.url(&link)).await.status, 404);
}

#[tokio::test]
async fn a_deleted_webhook_gets_no_more_deliveries() {
    let srv = server().await;
    let api = merchant(&srv, "600400").await;
    let failing = Receiver::start().await;
    failing.answer(500);
    let healthy = Receiver::start().await;
    let (gone_id, _) = register(&api, &failing.url("/gone")).await;
    let (_kept_id, _) = register(&api, &healthy.url("/kept")).await;
    let link = callback_qr(&api, "till", "Till 2").await;

    assert_eq!(common::get(&srv.url(&link)).await.status, 200);
    healthy.wait_for(1, HANG_GUARD).await;
    outbox_until(&srv, &gone_id, |e| e.len() == 1 && e[0].attempts >= 1).await;

    let del = api
        .bare(Method::DELETE, &format!("/webhooks/v1/webhooks/{gone_id}"))
        .await;
    assert_eq!(del.status, 204);
    let listed = api.bare(Method::GET, "/webhooks/v1/webhooks").await;
    assert_eq!(listed.json()["webhooks"].as_array().map(Vec::len), Some(1));
    let attempts_before = failing.received().len();
    failing.answer(200);
    srv.clock.advance_ms(2 * 3600 * 1000);
    // A later scan reaches the kept webhook: the worker has run past the deleted one.
    assert_eq!(common::get(&srv.url(&link)).await.status, 200);
    healthy.wait_for(2, HANG_GUARD).await;
    assert_eq!(failing.received().len(), attempts_before, "nothing more");
    assert!(failing.delivered().is_empty());
    let events = srv
        .state
        .store
        .outbox_events(&gone_id)
        .await
        .expect("outbox");
    assert_eq!(events.len(), 1, "no event enqueued for a deleted webhook");
    assert_eq!(events[0].state, OutboxState::Dropped);
}

#[tokio::test]
async fn callback_calls_need_the_callers_own_merchant_serial_number() {
    let srv = server().await;
    let api = merchant(&srv, "600500").await;
    let other = merchant(&srv, "600501").await;
    let body = Some(json!({"locationDescription": "Kiosk"}));
    let path = "/qr/v1/merchant-callback/k1";

    for (method, path, body) in [
        (Method::PUT, path, body.clone()),
        (Method::GET, path, None),
        (Method::GET, "/qr/v1/merchant-callback", None),
        (Method::DELETE, path, None),
    ] {
        let r = api
            .call(method.clone(), path, None, body.clone(), &[])
            .await;
        assert_eq!(r.status, 400, "{method} {path} without the header");
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.invalid_params(), ["Merchant-Serial-Number"]);
        let r = api
            .call(
                method.clone(),
                path,
                None,
                body.clone(),
                &[("merchant-serial-number", "600501")],
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path} with another merchant's MSN");
    }
    assert_eq!(
        api.callback(Method::PUT, path, body.clone()).await.status,
        200
    );
    // The other merchant neither sees nor touches it.
    assert_eq!(other.callback(Method::GET, path, None).await.status, 404);
    assert_eq!(other.callback(Method::DELETE, path, None).await.status, 404);
    // The same id is free for the other merchant, and is a different QR there.
    let other_body = Some(json!({"locationDescription": "Other kiosk"}));
    assert_eq!(
        other.callback(Method::PUT, path, other_body).await.status,
        200
    );
    let mine = api.callback(Method::GET, path, None).await.json();
    let theirs = other.callback(Method::GET, path, None).await.json();
    assert_eq!(mine["locationDescription"], "Kiosk");
    assert_eq!(theirs["locationDescription"], "Other kiosk");
    assert_ne!(mine["qrContent"], theirs["qrContent"], "two printed codes");
    // Webhooks are the merchant's own too: another merchant cannot delete one.
    let (hook, _secret) = register(&api, "https://hooks.example.com/a").await;
    let hook_path = format!("/webhooks/v1/webhooks/{hook}");
    let r = other.bare(Method::DELETE, &hook_path).await;
    assert_eq!(r.status, 404);
    let listed = api.bare(Method::GET, "/webhooks/v1/webhooks").await.json();
    assert_eq!(
        listed["webhooks"][0]["id"],
        hook.as_str(),
        "still registered"
    );
    let unauth = common::api::send(
        Method::GET,
        &srv.url("/qr/v1/merchant-callback"),
        &[("merchant-serial-number", "600500")],
        None,
    )
    .await;
    assert_eq!(unauth.status, 401);
}

#[tokio::test]
async fn every_callback_field_rule_is_a_400_naming_the_field() {
    let srv = server().await;
    let api = merchant(&srv, "600600").await;
    let path = "/qr/v1/merchant-callback/k1";
    for (body, name) in [
        (json!({}), "locationDescription"),
        (json!({"locationDescription": null}), "locationDescription"),
        (json!({"locationDescription": 7}), "locationDescription"),
        (json!({"locationDescription": ""}), "locationDescription"),
        (json!({"locationDescription": "  "}), "locationDescription"),
        (
            json!({"locationDescription": "x".repeat(37)}),
            "locationDescription",
        ),
        (
            json!({"locationDescription": "tab\there"}),
            "locationDescription",
        ),
    ] {
        let r = api.callback(Method::PUT, path, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.invalid_params(), [name], "{body}");
    }
    let ok = api
        .callback(
            Method::PUT,
            path,
            Some(json!({"locationDescription": "ø".repeat(36)})),
        )
        .await;
    assert_eq!(ok.status, 200, "36 characters (72 bytes) are fine");

    for bad_id in ["%ZZ", &"a".repeat(257)] {
        let r = api
            .callback(
                Method::PUT,
                &format!("/qr/v1/merchant-callback/{bad_id}"),
                Some(json!({"locationDescription": "Kiosk"})),
            )
            .await;
        assert_eq!(r.status, 400, "{bad_id}");
        assert_eq!(r.invalid_params(), ["merchantQrId"], "{bad_id}");
    }
    for (query, names) in [
        ("qrImageFormat=GIF", vec!["qrImageFormat"]),
        ("qrImageSize=99", vec!["qrImageSize"]),
        ("qrImageSize=2001", vec!["qrImageSize"]),
        ("qrImageSize=big", vec!["qrImageSize"]),
        (
            "qrImageFormat=JPG&qrImageSize=0",
            vec!["qrImageFormat", "qrImageSize"],
        ),
    ] {
        for p in [path.to_owned(), "/qr/v1/merchant-callback".to_owned()] {
            let r = api
                .callback(Method::GET, &format!("{p}?{query}"), None)
                .await;
            assert_eq!(r.status, 400, "{p}?{query}");
            assert_eq!(r.invalid_params(), names, "{p}?{query}");
        }
    }
    let not_json = api
        .call(
            Method::PUT,
            path,
            None,
            None,
            &[
                ("merchant-serial-number", "600600"),
                ("content-type", "text/plain"),
            ],
        )
        .await;
    assert_eq!(not_json.status, 415);

    // An update changes the description only; the content (and so the image) stays.
    let before = api.callback(Method::GET, path, None).await.json();
    let upd = api
        .callback(
            Method::PUT,
            path,
            Some(json!({"locationDescription": "Moved"})),
        )
        .await;
    assert_eq!(upd.status, 200);
    let after = api.callback(Method::GET, path, None).await.json();
    assert_eq!(after["locationDescription"], "Moved");
    assert_eq!(after["qrContent"], before["qrContent"]);
    assert_eq!(after["qrImageUrl"], before["qrImageUrl"]);
}

#[tokio::test]
async fn every_webhook_field_rule_is_a_400_naming_the_field() {
    let srv = server().await;
    let api = merchant(&srv, "600700").await;
    let post = |body: Value| {
        let api = api.clone();
        async move {
            api.call(Method::POST, "/webhooks/v1/webhooks", None, Some(body), &[])
                .await
        }
    };
    let ev = json!(["user.checked-in.v1"]);
    for (body, names) in [
        (json!({}), vec!["url", "events"]),
        (json!({"url": "https://x.example"}), vec!["events"]),
        (json!({"url": 1, "events": ev}), vec!["url"]),
        (
            json!({"url": "ftp://x.example/", "events": ev}),
            vec!["url"],
        ),
        (
            json!({"url": "http://x.example/", "events": ev}),
            vec!["url"],
        ),
        (
            json!({"url": "http://10.1.2.3/", "events": ev}),
            vec!["url"],
        ),
        (
            json!({"url": "https://u:p@x.example/", "events": ev}),
            vec!["url"],
        ),
        (
            json!({"url": "https://x.example/ x", "events": ev}),
            vec!["url"],
        ),
        (
            json!({"url": "https://x.example", "events": []}),
            vec!["events"],
        ),
        (
            json!({"url": "https://x.example", "events": "user.checked-in.v1"}),
            vec!["events"],
        ),
        (
            json!({"url": "https://x.example", "events": ["nope.v1"]}),
            vec!["events"],
        ),
        (
            json!({"url": "https://x.example", "events": ["user.checked-in.v1", "user.checked-in.v1"]}),
            vec!["events"],
        ),
    ] {
        let r = post(body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.invalid_params(), names, "{body}");
    }

    // 25 per event per merchant, then a 400 naming `events`; deleting one frees a slot.
    let mut ids = Vec::new();
    for i in 0..25 {
        let r = post(json!({"url": format!("https://hooks.example/{i}"), "events": ev})).await;
        assert_eq!(r.status, 201, "{i}");
        ids.push(r.json()["id"].as_str().expect("id").to_owned());
    }
    let r = post(json!({"url": "https://hooks.example/26", "events": ev})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.invalid_params(), ["events"]);
    let del = api
        .bare(Method::DELETE, &format!("/webhooks/v1/webhooks/{}", ids[0]))
        .await;
    assert_eq!(del.status, 204);
    let r = post(json!({"url": "https://hooks.example/26", "events": ev})).await;
    assert_eq!(r.status, 201);

    let unknown = api
        .bare(
            Method::DELETE,
            "/webhooks/v1/webhooks/00000000-0000-0000-0000-000000000000",
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("content-type"), "application/json");
    let unauth = common::api::send(Method::GET, &srv.url("/webhooks/v1/webhooks"), &[], None).await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.header("content-type"), "application/json");
}

#[tokio::test]
async fn http_webhooks_need_the_insecure_flag() {
    let srv = common::start().await;
    let creds: Credentials = add_merchant(&srv.state.config.data_dir, "600800", "Strict AS");
    let api = Api::login(&srv.base, &creds).await;
    let r = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.invalid_params(), ["url"]);
}
