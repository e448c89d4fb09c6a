//! Drop-in compatibility with the published QR API v1 (its OpenAPI document), one behaviour at a
//! time: each test makes the call a client of the published document makes, on the
//! real server over a real socket, and asserts the published status, headers and body.

use crate::common;

use std::time::Duration;

use common::api::{Api, encode_id, path_of};
use common::receiver::Receiver;
use common::{Reply, TestServer};
use http::Method;
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
    Api::merchant(srv, msn, "Published AS").await
}

/// [`Api::callback`] with extra headers.
async fn cb_with(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Reply {
    let msn = api.creds.msn.clone();
    let mut headers = vec![("merchant-serial-number", msn.as_str())];
    headers.extend_from_slice(extra);
    api.call(method, path, None, body, &headers).await
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A published `200` without content: no body at all.
fn assert_empty_200(r: &Reply, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", text(r));
    assert!(r.body.is_empty(), "{what}: no body, got {}", text(r));
}

/// An error in the published shape: `application/json`, with `title`, `detail`, `instance`.
fn assert_published_error(r: &Reply, status: u16, what: &str) -> Value {
    assert_eq!(r.status, status, "{what}: {}", text(r));
    assert_eq!(r.header("content-type"), "application/json", "{what}");
    let v = r.json();
    for field in ["title", "detail", "instance"] {
        assert!(
            v[field].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: {field} in {v}"
        );
    }
    v
}

async fn create_redirect(api: &Api, id: &str) -> Reply {
    api.redirect_to("image/png", id, "https://example.com/shop")
        .await
}

#[tokio::test]
async fn create_merchant_redirect_answers_200() {
    let srv = server().await;
    let api = merchant(&srv, "700001").await;
    let r = create_redirect(&api, "billboard_1").await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("content-type"), "application/json");
    let v = r.json();
    assert_eq!(v["id"], "billboard_1");
    assert_eq!(v["redirectUrl"], "https://example.com/shop");
    assert_eq!(v["expiresIn"], -1);
}

#[tokio::test]
async fn delete_merchant_redirect_answers_200() {
    let srv = server().await;
    let api = merchant(&srv, "700002").await;
    assert_eq!(create_redirect(&api, "gone").await.status, 200);
    let path = "/qr/v1/merchant-redirect/gone";
    let del = api.bare(Method::DELETE, path).await;
    assert_empty_200(&del, "DELETE merchant-redirect");
    let again = api.bare(Method::DELETE, path).await;
    assert_published_error(&again, 404, "deleted twice");
}

#[tokio::test]
async fn put_and_delete_merchant_callback_answer_200() {
    let srv = server().await;
    let api = merchant(&srv, "700003").await;
    let path = "/qr/v1/merchant-callback/kiosk";
    let body = json!({"locationDescription": "Kasse 1"});
    assert_empty_200(
        &api.callback(Method::PUT, path, Some(body.clone())).await,
        "PUT creates",
    );
    assert_empty_200(
        &api.callback(Method::PUT, path, Some(body)).await,
        "PUT updates",
    );
    assert_empty_200(&api.callback(Method::DELETE, path, None).await, "DELETE");
    assert_published_error(&api.callback(Method::GET, path, None).await, 404, "deleted");
}

#[tokio::test]
async fn callback_gets_read_the_published_query_names_in_any_case() {
    let srv = server().await;
    let api = merchant(&srv, "700004").await;
    let put = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/till",
            Some(json!({"locationDescription": "Till"})),
        )
        .await;
    assert_eq!(put.status, 200);
    for query in [
        "QrImageFormat=PNG&QrImageSize=300",
        "qrImageFormat=PNG&qrImageSize=300",
        "QRIMAGEFORMAT=png&qrimagesize=300",
    ] {
        let one = api
            .callback(
                Method::GET,
                &format!("/qr/v1/merchant-callback/till?{query}"),
                None,
            )
            .await;
        assert_eq!(one.status, 200, "{query}: {}", text(&one));
        let all = api
            .callback(
                Method::GET,
                &format!("/qr/v1/merchant-callback?{query}"),
                None,
            )
            .await;
        assert_eq!(all.status, 200, "{query}");
        for qr in [one.json(), all.json()[0].clone()] {
            let image = common::get(qr["qrImageUrl"].as_str().expect("qrImageUrl")).await;
            assert_eq!(image.status, 200, "{query}");
            assert_eq!(image.header("content-type"), "image/png", "{query}");
            let png = image::load_from_memory(&image.body).expect("PNG");
            assert_eq!((png.width(), png.height()), (300, 300), "{query}");
            assert_eq!(
                common::decode_png(&image.body),
                qr["qrContent"].as_str().expect("qrContent"),
                "{query}"
            );
        }
    }
    // Out of range or unknown: a 400 naming the parameter as sent, never silently ignored.
    for (query, name) in [
        ("QrImageSize=50", "QrImageSize"),
        ("QrImageSize=2001", "QrImageSize"),
        ("qrimagesize=big", "qrimagesize"),
        ("QrImageFormat=GIF", "QrImageFormat"),
    ] {
        for path in ["/qr/v1/merchant-callback/till", "/qr/v1/merchant-callback"] {
            let r = api
                .callback(Method::GET, &format!("{path}?{query}"), None)
                .await;
            assert_published_error(&r, 400, query);
            assert_eq!(r.invalid_params(), [name], "{path}?{query}");
        }
    }
}

#[tokio::test]
async fn callback_gets_accept_application_json() {
    let srv = server().await;
    let api = merchant(&srv, "700005").await;
    let put = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/door",
            Some(json!({"locationDescription": "Door"})),
        )
        .await;
    assert_eq!(put.status, 200);
    for accept in [
        "application/json",
        "application/json, text/plain, */*",
        "application/json; charset=utf-8",
    ] {
        for path in ["/qr/v1/merchant-callback/door", "/qr/v1/merchant-callback"] {
            let r = cb_with(&api, Method::GET, path, None, &[("accept", accept)]).await;
            assert_eq!(r.status, 200, "{accept} {path}: {}", text(&r));
        }
    }
    let r = cb_with(
        &api,
        Method::GET,
        "/qr/v1/merchant-callback/door",
        None,
        &[("accept", "application/json")],
    )
    .await;
    let image = common::get(r.json()["qrImageUrl"].as_str().expect("url")).await;
    assert_eq!(image.header("content-type"), "image/svg+xml", "the default");
    // An image format we cannot make is still refused, naming `Accept`.
    let gif = cb_with(
        &api,
        Method::GET,
        "/qr/v1/merchant-callback/door",
        None,
        &[("accept", "image/gif")],
    )
    .await;
    assert_published_error(&gif, 400, "image/gif");
    assert_eq!(gif.invalid_params(), ["Accept"]);
}

#[tokio::test]
async fn error_bodies_are_application_json() {
    let srv = server().await;
    let api = merchant(&srv, "700006").await;
    // 400
    let bad = api.redirect_to("image/png", "", "x").await;
    assert_published_error(&bad, 400, "400");
    // 404
    let missing = api.bare(Method::GET, "/qr/v1/merchant-redirect/nope").await;
    assert_published_error(&missing, 404, "404");
    // 409, with the published `id`
    assert_eq!(create_redirect(&api, "twice").await.status, 200);
    let dup = create_redirect(&api, "twice").await;
    assert_eq!(assert_published_error(&dup, 409, "409")["id"], "twice");
    // 415
    let form = common::api::send(
        Method::POST,
        &srv.url("/qr/v1/merchant-redirect"),
        &[
            ("authorization", &format!("Bearer {}", api.token)),
            ("ocp-apim-subscription-key", &api.creds.subscription_key),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some("id=a"),
    )
    .await;
    assert_published_error(&form, 415, "415");
    // 401 and 403 too (the published document gives them no body; ours is the same shape).
    let anon =
        common::api::send(Method::GET, &srv.url("/qr/v1/merchant-redirect"), &[], None).await;
    assert_published_error(&anon, 401, "401");
    let other_msn = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            None,
            None,
            &[("merchant-serial-number", "999999")],
        )
        .await;
    assert_published_error(&other_msn, 403, "403");
}

#[tokio::test]
async fn a_mobilepay_beacon_maps_to_one_merchant_and_its_scans_notify_it() {
    let srv = server().await;
    let api = merchant(&srv, "700007").await;
    let other = merchant(&srv, "700008").await;
    let receiver = Receiver::start().await;
    let hook = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": receiver.url("/events"), "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_eq!(hook.status, 201);

    let beacon = "100000625947428";
    let path = format!("/qr/v1/merchant-callback/mobilepay/{beacon}");
    let put = api
        .callback(
            Method::PUT,
            &path,
            Some(json!({"locationDescription": "Kasse 1"})),
        )
        .await;
    assert_empty_200(&put, "PUT beacon");
    let again = api
        .callback(
            Method::PUT,
            &path,
            Some(json!({"locationDescription": "Kasse 2"})),
        )
        .await;
    assert_empty_200(&again, "PUT beacon again (description)");

    // Another merchant cannot take it.
    let taken = other
        .callback(
            Method::PUT,
            &path,
            Some(json!({"locationDescription": "Mine"})),
        )
        .await;
    let v = assert_published_error(&taken, 409, "another merchant");
    assert_eq!(v["id"], beacon);
    assert!(!text(&taken).contains("700007"), "never names the holder");

    // It is one of the merchant's callback QRs, id = the beacon id, content = its scan route.
    let got = api
        .callback(
            Method::GET,
            &format!("/qr/v1/merchant-callback/{beacon}"),
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    let qr = got.json();
    assert_eq!(qr["merchantQrId"], beacon);
    assert_eq!(qr["locationDescription"], "Kasse 2");
    let content = qr["qrContent"].as_str().expect("qrContent");
    assert_eq!(path_of(content), format!("/m/{beacon}"));

    // A scan of the printed beacon runs the callback pipeline.
    let scan = common::get(&srv.url(&format!("/m/{beacon}"))).await;
    assert_eq!(scan.status, 200, "{}", text(&scan));
    assert!(text(&scan).contains("Kasse 2"));
    let got = receiver.wait_for(1, HANG_GUARD).await;
    let event = got[0].json();
    assert_eq!(got[0].header("webhook-event"), "user.checked-in.v1");
    assert_eq!(event["merchantQrId"], beacon);
    assert_eq!(event["msn"], "700007");

    // Unknown beacons and the callback route do not scan it.
    assert_eq!(common::get(&srv.url("/m/999")).await.status, 404);
    assert_eq!(common::get(&srv.url("/c/999")).await.status, 404);
    assert_eq!(
        common::request(Method::HEAD, &srv.url(&format!("/m/{beacon}")), &[])
            .await
            .status,
        405,
        "a HEAD must not notify anyone"
    );

    // A beacon id that is already one of the merchant's own callback ids is refused.
    let own = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk-7",
            Some(json!({"locationDescription": "Kiosk"})),
        )
        .await;
    assert_eq!(own.status, 200);
    let clash = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/mobilepay/kiosk-7",
            Some(json!({"locationDescription": "Beacon"})),
        )
        .await;
    assert_published_error(&clash, 409, "own callback id");
    let kept = api
        .callback(Method::GET, "/qr/v1/merchant-callback/kiosk-7", None)
        .await;
    assert_eq!(kept.json()["locationDescription"], "Kiosk", "left alone");

    // Bad ids and bodies are 400s naming what is wrong.
    let bad = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/mobilepay/a%20b",
            Some(json!({"locationDescription": ""})),
        )
        .await;
    assert_published_error(&bad, 400, "bad beacon");
    assert_eq!(bad.invalid_params(), ["beaconId", "locationDescription"]);

    // Deleted through the callback calls, it stops scanning and stays retired.
    let del = api
        .callback(
            Method::DELETE,
            &format!("/qr/v1/merchant-callback/{beacon}"),
            None,
        )
        .await;
    assert_empty_200(&del, "DELETE beacon");
    assert_eq!(
        common::get(&srv.url(&format!("/m/{beacon}"))).await.status,
        404
    );
    let revive = other
        .callback(
            Method::PUT,
            &path,
            Some(json!({"locationDescription": "Mine now"})),
        )
        .await;
    assert_published_error(&revive, 409, "retired");
}

#[tokio::test]
async fn exchange_calls_answer_501_with_a_problem_body() {
    let srv = server().await;
    let api = merchant(&srv, "700009").await;
    for (path, body) in [
        (
            "/qr/v1/exchange",
            json!({"qrCode": "https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe"}),
        ),
        (
            "/qr/v1/exchange/customer",
            json!({"customer": {"customerToken": "eyJra"}, "requestedData": ["MSISDN"]}),
        ),
    ] {
        let r = api
            .call(Method::POST, path, None, Some(body.clone()), &[])
            .await;
        let v = assert_published_error(&r, 501, path);
        assert_eq!(v["status"], 501);
        assert!(
            v["detail"]
                .as_str()
                .expect("detail")
                .contains("user accounts"),
            "{v}"
        );
        let anon = common::api::send(
            Method::POST,
            &srv.url(path),
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .await;
        assert_published_error(&anon, 401, "no credentials first");
    }
}

#[tokio::test]
async fn merchant_qr_ids_are_any_string() {
    let srv = server().await;
    let api = merchant(&srv, "700010").await;
    for id in [
        "kasse.1",
        "a/b",
        "Café ~ (1)",
        "27072f82-c4b6-49cd-9838-10f21d87496e",
        "😀",
    ] {
        let path = format!("/qr/v1/merchant-callback/{}", encode_id(id));
        let put = api
            .callback(
                Method::PUT,
                &path,
                Some(json!({"locationDescription": "Anywhere"})),
            )
            .await;
        assert_empty_200(&put, id);
        let got = api.callback(Method::GET, &path, None).await;
        assert_eq!(got.status, 200, "{id}");
        assert_eq!(got.json()["merchantQrId"], id);
    }
}

#[tokio::test]
async fn redirect_ids_use_unicode_word_and_space_characters() {
    let srv = server().await;
    let api = merchant(&srv, "700011").await;
    for id in [
        "Müller",
        "café",
        "日本の店",
        "Kasse\u{3000}1",
        "e\u{301}",
        "æøå ÆØÅ -_+%",
    ] {
        let r = create_redirect(&api, id).await;
        assert_eq!(r.status, 200, "{id:?}: {}", text(&r));
        assert_eq!(r.json()["id"], id);
        let got = api
            .bare(
                Method::GET,
                &format!("/qr/v1/merchant-redirect/{}", encode_id(id)),
            )
            .await;
        assert_eq!(got.status, 200, "{id:?}");
    }
    for id in ["kasse.1", "a/b", "😀", "<b>"] {
        let r = create_redirect(&api, id).await;
        assert_published_error(&r, 400, id);
        assert_eq!(r.invalid_params(), ["id"], "{id:?}");
    }
}

#[tokio::test]
async fn a_one_time_payment_url_is_trimmed() {
    let srv = server().await;
    let api = merchant(&srv, "700012").await;
    // The published example, leading spaces and all.
    let url =
        "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiO";
    let r = api
        .call(
            Method::POST,
            "/qr/v1",
            Some("text/targetUrl"),
            Some(json!({ "url": format!("   {url}\n") })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let link = r.json()["url"].as_str().expect("url").to_owned();
    let follow = common::get(&srv.url(&path_of(&link))).await;
    assert_eq!(follow.status, 302);
    assert_eq!(follow.header("location"), url);
}

#[tokio::test]
async fn redirect_urls_refuse_userinfo_and_allow_every_rfc3986_character() {
    let srv = server().await;
    let api = merchant(&srv, "700013").await;
    for (n, url) in [
        "https://bank.example:pw@evil.example/",
        "https://bank.example@evil.example/",
    ]
    .into_iter()
    .enumerate()
    {
        let r = api
            .create_redirect(
                "image/png",
                json!({"id": format!("phish{n}"), "redirectUrl": url}),
            )
            .await;
        assert_published_error(&r, 400, url);
        assert_eq!(r.invalid_params(), ["redirectUrl"]);
    }
    // Stricter for webhooks too: one URL policy.
    let hook = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": "https://a:b@hooks.example/", "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_published_error(&hook, 400, "webhook userinfo");
    let loose = "https://shop.example/~sale/(summer),a;b*c'd$e!f?utm=x@y";
    let r = api.redirect_to("image/png", "loose", loose).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let short = path_of(
        api.redirect_to("text/targetUrl", "loose2", loose)
            .await
            .json()["url"]
            .as_str()
            .expect("url"),
    );
    let follow = common::get(&srv.url(&short)).await;
    assert_eq!(follow.header("location"), loose);
}

/// Sends raw bytes and reads the whole answer (the server closes after these refusals).
async fn raw(srv: &TestServer, request: &[u8]) -> (String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(srv.addr)
        .await
        .expect("connect");
    // A refused head may be answered before all of it is sent; the answer is what counts.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    let text = String::from_utf8(answer).expect("ASCII answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    (head.to_ascii_lowercase(), body)
}

#[tokio::test]
async fn http_layer_refusals_on_api_paths_have_the_json_error_body() {
    let srv = server().await;
    let long = format!(
        "GET /qr/v1/merchant-redirect?x={} HTTP/1.1\r\nHost: qr\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let broken = b"GET /qr/v1/merchant-callback HTTP/1.1\r\nHost: qr\r\nno colon here\r\n\r\n";
    let huge_header = format!(
        "POST /qr/v1 HTTP/1.1\r\nHost: qr\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    for (request, status, title) in [
        (long.as_bytes(), 414, "URI Too Long"),
        (&broken[..], 400, "Bad Request"),
        (
            huge_header.as_bytes(),
            431,
            "Request Header Fields Too Large",
        ),
    ] {
        let (head, body) = raw(&srv, request).await;
        assert!(
            head.starts_with(&format!("http/1.1 {status} ")),
            "{status}: {head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("cache-control: no-store"), "{head}");
        assert_eq!(body["status"], status);
        assert_eq!(body["title"], title);
        for field in ["detail", "instance"] {
            assert!(
                body[field].as_str().is_some_and(|s| !s.is_empty()),
                "{body}"
            );
        }
    }
    // The server is unharmed: the next call is answered normally.
    let api = merchant(&srv, "700014").await;
    assert_eq!(create_redirect(&api, "after").await.status, 200);
}
