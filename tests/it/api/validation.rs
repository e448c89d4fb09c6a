//! Every input rule of the QR API has a failing input here, and each 400 names the field in
//! `invalidParams`. Also: 409 for duplicate ids, 415 for non-JSON bodies, 413 over the cap.

use crate::common;

use common::api::{Api, send};
use http::Method;
use serde_json::{Value, json};

async fn login() -> (common::TestServer, Api) {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "654321", "Rules AS").await;
    (srv, api)
}

/// Asserts a 400 problem whose `invalidParams` are exactly `names`.
fn assert_invalid(r: &common::Reply, names: &[&str], what: &str) {
    assert_eq!(
        r.status,
        400,
        "{what}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.header("content-type"), "application/json", "{what}");
    assert_eq!(r.invalid_params(), names, "{what}");
    let v = r.json();
    for field in ["type", "title", "detail", "instance"] {
        assert!(v[field].is_string(), "{what}: {field} in {v}");
    }
    assert!(
        v["invalidParams"][0]["reason"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
}

fn redirect(id: Value, url: Value) -> Value {
    json!({"id": id, "redirectUrl": url})
}

#[tokio::test]
async fn redirect_id_rules() {
    let (_srv, api) = login().await;
    let url = json!("https://example.com");
    for (id, what) in [
        (json!(""), "empty"),
        (json!("a".repeat(129)), "129 characters"),
        (json!("a/b"), "slash"),
        (json!("a.b"), "dot"),
        (json!("<script>"), "markup"),
        (json!("😀"), "a symbol, which no \\w covers"),
        (json!(12), "a number"),
        (json!(null), "null"),
    ] {
        let r = api
            .create_redirect("image/png", redirect(id, url.clone()))
            .await;
        assert_invalid(&r, &["id"], what);
    }
    let r = api
        .create_redirect("image/png", json!({"redirectUrl": "https://example.com"}))
        .await;
    assert_invalid(&r, &["id"], "missing");

    // The edges of the rule are accepted.
    for id in [
        "a".repeat(128),
        "ø".repeat(128),
        "Kasse 1 æøå ÆØÅ -_+%".to_owned(),
        // `\w` and `\s` in the Unicode sense of the provider's platform.
        "Café Müller 日本 e\u{301}\u{3000}".to_owned(),
    ] {
        let r = api
            .create_redirect("image/png", redirect(json!(id), url.clone()))
            .await;
        assert_eq!(r.status, 200, "{id}: {}", String::from_utf8_lossy(&r.body));
    }
}

#[tokio::test]
async fn redirect_url_rules() {
    let (_srv, api) = login().await;
    let bad_urls = [
        (json!("http://example.com"), "http"),
        (json!("example.com"), "no scheme"),
        (json!("https://"), "no host"),
        (json!("https://exa mple.com"), "space"),
        (json!("https://example.com/\"><script>"), "markup"),
        (
            json!(format!("https://example.com/{}", "a".repeat(4096))),
            "too long",
        ),
        (json!(true), "not a string"),
    ];
    for (url, what) in &bad_urls {
        let r = api
            .create_redirect("image/png", redirect(json!("x"), url.clone()))
            .await;
        assert_invalid(&r, &["redirectUrl"], what);
    }
    let r = api.create_redirect("image/png", json!({"id": "x"})).await;
    assert_invalid(&r, &["redirectUrl"], "missing");

    // The same rule on update.
    let ok = api
        .create_redirect(
            "image/png",
            redirect(json!("x"), json!("https://example.com")),
        )
        .await;
    assert_eq!(ok.status, 200);
    for (url, what) in &bad_urls {
        let r = api
            .call(
                Method::PUT,
                "/qr/v1/merchant-redirect/x",
                None,
                Some(json!({"redirectUrl": url})),
                &[],
            )
            .await;
        assert_invalid(&r, &["redirectUrl"], what);
    }
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-redirect/x",
            None,
            Some(json!({})),
            &[],
        )
        .await;
    assert_invalid(&r, &["redirectUrl"], "missing on update");
}

#[tokio::test]
async fn ttl_rules() {
    let (_srv, api) = login().await;
    for (ttl, what) in [
        (json!(299), "below 300"),
        (json!(0), "zero"),
        (json!(-1), "negative"),
        (json!(300.5), "fractional"),
        (json!("600"), "a string"),
        (json!(2_147_483_648_i64), "above 2^31-1"),
    ] {
        let body = json!({"id": "t", "redirectUrl": "https://example.com", "ttl": ttl});
        let r = api.create_redirect("image/png", body).await;
        assert_invalid(&r, &["ttl"], what);
    }
    for (ttl, expires_in) in [(json!(300), 300), (json!(null), -1)] {
        let body = json!({"id": format!("t{expires_in}"), "redirectUrl": "https://example.com", "ttl": ttl});
        let r = api.create_redirect("image/png", body).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["expiresIn"], expires_in);
    }
}

#[tokio::test]
async fn all_bad_fields_are_reported_together() {
    let (_srv, api) = login().await;
    let r = api
        .create_redirect(
            "image/png",
            json!({"id": "", "redirectUrl": "ftp://x", "ttl": 5}),
        )
        .await;
    assert_invalid(&r, &["id", "redirectUrl", "ttl"], "three bad fields");
}

#[tokio::test]
async fn one_time_payment_url_rules() {
    let (_srv, api) = login().await;
    for (body, what) in [
        (json!({}), "missing"),
        (json!({"url": null}), "null"),
        (json!({"url": "http://pay.example/x"}), "http"),
        (json!({"url": "not a url"}), "not a URL"),
        (json!({"url": 7}), "a number"),
    ] {
        let r = api
            .call(Method::POST, "/qr/v1", Some("image/png"), Some(body), &[])
            .await;
        assert_invalid(&r, &["url"], what);
    }
}

#[tokio::test]
async fn accept_and_size_rules() {
    let (_srv, api) = login().await;
    let body = || Some(json!({"id": "h", "redirectUrl": "https://example.com"}));
    for accept in ["application/json", "image/gif", "text/html"] {
        let r = api
            .call(
                Method::POST,
                "/qr/v1/merchant-redirect",
                Some(accept),
                body(),
                &[],
            )
            .await;
        assert_invalid(&r, &["Accept"], accept);
        let reason = r.json()["invalidParams"][0]["reason"]
            .as_str()
            .expect("reason")
            .to_owned();
        for allowed in ["image/*", "image/svg+xml", "image/png", "text/targetUrl"] {
            assert!(
                reason.contains(allowed),
                "the 400 names {allowed}: {reason}"
            );
        }
    }
    for size in ["99", "2001", "abc", "-1", "1e3"] {
        let r = api
            .call(
                Method::POST,
                "/qr/v1/merchant-redirect",
                Some("image/png"),
                body(),
                &[("size", size)],
            )
            .await;
        assert_invalid(&r, &["Size"], size);
    }
    let r = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            Some("image/gif"),
            None,
            &[("size", "5")],
        )
        .await;
    assert_invalid(&r, &["Accept", "Size"], "both headers on a GET");
    let r = api
        .call(
            Method::POST,
            "/qr/v1",
            Some("image/gif"),
            Some(json!({"url": "https://p.example"})),
            &[],
        )
        .await;
    assert_invalid(&r, &["Accept"], "one-time payment");
}

#[tokio::test]
async fn path_ids_no_qr_can_have_are_404() {
    let (_srv, api) = login().await;
    let long = format!("/qr/v1/merchant-redirect/{}", "a".repeat(129));
    for path in [
        "/qr/v1/merchant-redirect/a.b",
        "/qr/v1/merchant-redirect/%FF",
        "/qr/v1/merchant-redirect/bad%2",
        long.as_str(),
    ] {
        for (method, body) in [
            (Method::GET, None),
            (Method::DELETE, None),
            (
                Method::PUT,
                Some(json!({"redirectUrl": "https://example.com"})),
            ),
        ] {
            let r = api.call(method.clone(), path, None, body, &[]).await;
            assert_eq!(r.status, 404, "{method} {path}");
            assert_eq!(r.header("content-type"), "application/json");
        }
    }
}

#[tokio::test]
async fn duplicate_ids_are_409_naming_the_id() {
    let (_srv, api) = login().await;
    let body = json!({"id": "twice", "redirectUrl": "https://example.com"});
    assert_eq!(
        api.create_redirect("image/png", body.clone()).await.status,
        200
    );
    let r = api.create_redirect("image/png", body).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.json()["id"], "twice");
    assert_eq!(r.invalid_params(), ["id"]);
}

#[tokio::test]
async fn bodies_must_be_json_objects_under_the_cap() {
    let (srv, api) = login().await;
    let bearer = format!("Bearer {}", api.token);
    let auth = [
        ("authorization", bearer.as_str()),
        (
            "ocp-apim-subscription-key",
            api.creds.subscription_key.as_str(),
        ),
        ("accept", "image/png"),
    ];
    let url = srv.url("/qr/v1/merchant-redirect");
    let with = |ct: &'static str| {
        let mut h = auth.to_vec();
        h.push(("content-type", ct));
        h
    };
    let ok_body = r#"{"id":"j","redirectUrl":"https://example.com"}"#;

    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = send(Method::POST, &url, &with(ct), Some(ok_body)).await;
        assert_eq!(r.status, 415, "{ct}");
        assert_eq!(r.header("content-type"), "application/json");
    }
    let r = send(Method::POST, &url, &auth, Some(ok_body)).await;
    assert_eq!(r.status, 415, "no Content-Type");

    for bad in ["{", "[1,2]", "\"text\"", ""] {
        let r = send(Method::POST, &url, &with("application/json"), Some(bad)).await;
        assert_invalid(&r, &["body"], bad);
    }

    let huge = format!(
        r#"{{"id":"j","redirectUrl":"https://example.com/{}"}}"#,
        "a".repeat(70_000)
    );
    let r = send(Method::POST, &url, &with("application/json"), Some(&huge)).await;
    assert_eq!(r.status, 413);

    let r = send(
        Method::POST,
        &url,
        &with("application/json; charset=utf-8"),
        Some(ok_body),
    )
    .await;
    assert_eq!(r.status, 200, "charset parameter is fine");
}

#[tokio::test]
async fn unknown_ids_are_404_problems() {
    let (_srv, api) = login().await;
    for method in [Method::GET, Method::DELETE] {
        let r = api
            .call(
                method.clone(),
                "/qr/v1/merchant-redirect/nope",
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 404, "{method}");
        assert_eq!(r.header("content-type"), "application/json");
    }
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-redirect/nope",
            None,
            Some(json!({"redirectUrl": "https://example.com"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
}
