//! The merchant journey end to end over real HTTP with a real store file: credentials from the
//! `merchant add` binary → access token → redirect QR → the image from the origin, decoded →
//! the short link → 302 → update → delete → 404 forever; and one-time payments expiring on a
//! manual clock.

use crate::common;

use common::api::{Api, add_merchant, encode_id, path_of, send};
use http::Method;
use serde_json::json;

#[tokio::test]
async fn merchant_journey_from_credentials_to_a_dead_printed_code() {
    let srv = common::start().await;
    let creds = add_merchant(&srv.state.config.data_dir, "123456", "Acme AS");
    let api = Api::login(&srv.base, &creds).await;

    // Create a redirect QR as a PNG of a chosen size.
    let created = api
        .call(
            Method::POST,
            "/qr/v1/merchant-redirect",
            Some("image/png"),
            Some(json!({"id": "billboard_1", "redirectUrl": "https://example.com/myProduct"})),
            &[("size", "400")],
        )
        .await;
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let body = created.json();
    assert_eq!(body["id"], "billboard_1");
    assert_eq!(body["redirectUrl"], "https://example.com/myProduct");
    assert_eq!(body["expiresIn"], -1);
    let image_url = body["url"].as_str().expect("url").to_owned();
    assert!(
        image_url.starts_with(&format!("{}/qr-generator/v1?token=", srv.base)),
        "{image_url}"
    );

    // The image from the origin decodes to the short link.
    let image = common::get(&image_url).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), "image/png");
    let png = image::load_from_memory(&image.body).expect("PNG");
    assert_eq!(
        (png.width(), png.height()),
        (400, 400),
        "Size header baked into the token"
    );
    let short = common::decode_png(&image.body);
    // Upper case from the host on (the default `--short-link-case host`): a 12-character code
    // in QR's alphanumeric set.
    assert!(short.starts_with(&format!("{}/R/", srv.base)), "{short}");
    let code_path = path_of(&short);
    let code = &code_path["/R/".len()..];
    assert!(
        code.len() == 12
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
        "{code}"
    );

    // text/targetUrl gives the QR content itself.
    let target = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect/billboard_1",
            Some("text/targetUrl"),
            None,
            &[],
        )
        .await;
    assert_eq!(target.status, 200);
    assert_eq!(target.json()["url"], short.as_str());

    // Scanning redirects.
    let scan = common::get(&srv.url(&code_path)).await;
    assert_eq!(scan.status, 302);
    assert_eq!(scan.header("location"), "https://example.com/myProduct");
    assert_eq!(scan.header("cache-control"), "no-store");
    let head = common::request(Method::HEAD, &srv.url(&code_path), &[]).await;
    assert_eq!(
        (head.status.as_u16(), head.header("location")),
        (302, "https://example.com/myProduct")
    );
    // The lower-case prefix (`--short-link-case lower`) names the same link.
    let lower = common::get(&srv.url(&code_path.replacen("/R/", "/r/", 1))).await;
    assert_eq!(lower.status, 302);

    // Update: same image URL, new target at once.
    let updated = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-redirect/billboard_1",
            Some("image/png"),
            Some(json!({"id": "billboard_1", "redirectUrl": "https://example.com/other"})),
            &[("size", "400")],
        )
        .await;
    assert_eq!(
        updated.status,
        200,
        "{}",
        String::from_utf8_lossy(&updated.body)
    );
    assert_eq!(
        updated.json()["url"],
        image_url.as_str(),
        "the QR image stays the same"
    );
    assert_eq!(updated.json()["redirectUrl"], "https://example.com/other");
    let scan = common::get(&srv.url(&code_path)).await;
    assert_eq!(scan.status, 302);
    assert_eq!(scan.header("location"), "https://example.com/other");

    // GET one and GET all agree.
    let one = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect/billboard_1",
            Some("image/png"),
            None,
            &[("size", "400")],
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["url"], image_url.as_str());
    let all = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            Some("image/png"),
            None,
            &[],
        )
        .await;
    assert_eq!(all.status, 200);
    let all = all.json();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    assert_eq!(all[0]["id"], "billboard_1");

    // Delete: the printed code is dead.
    let deleted = api
        .bare(Method::DELETE, "/qr/v1/merchant-redirect/billboard_1")
        .await;
    assert_eq!(deleted.status, 200);
    let scan = common::get(&srv.url(&code_path)).await;
    assert_eq!(scan.status, 404);
    assert!(scan.header("content-type").starts_with("text/html"));
    assert_eq!(scan.header("cache-control"), "no-store");
    let head = common::request(Method::HEAD, &srv.url(&code_path), &[]).await;
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        scan.body.len().to_string(),
        "HEAD mirrors GET"
    );
    let gone = api
        .bare(Method::GET, "/qr/v1/merchant-redirect/billboard_1")
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.header("content-type"), "application/json");

    // The id can be used again, with a new code; the old code stays dead.
    let again = api
        .redirect_to("text/targetUrl", "billboard_1", "https://example.com/third")
        .await;
    assert_eq!(again.status, 200);
    let new_short = again.json()["url"].as_str().expect("url").to_owned();
    assert_ne!(new_short, short, "a new code");
    assert_eq!(
        common::get(&srv.url(&path_of(&new_short)))
            .await
            .header("location"),
        "https://example.com/third"
    );
    assert_eq!(
        common::get(&srv.url(&code_path)).await.status,
        404,
        "the old code stays dead"
    );
}

#[tokio::test]
async fn svg_is_the_default_image_and_decodes_to_the_short_link() {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "200001", "Svg AS").await;
    for accept in ["image/svg+xml", "image/*", "*/*"] {
        let id = format!("svg {}", accept.replace(['/', '*', '+'], "_"));
        let r = api
            .create_redirect(
                accept,
                json!({"id": id, "redirectUrl": "https://example.com/svg"}),
            )
            .await;
        assert_eq!(
            r.status,
            200,
            "{accept}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let image = common::get(r.json()["url"].as_str().expect("url")).await;
        assert_eq!(image.status, 200);
        assert_eq!(image.header("content-type"), "image/svg+xml", "{accept}");
        let short = common::decode_svg(&image.body);
        let scan = common::get(&srv.url(&path_of(&short))).await;
        assert_eq!(scan.header("location"), "https://example.com/svg");

        // The id, with its space, works in the path too.
        let one = api
            .bare(
                Method::GET,
                &format!("/qr/v1/merchant-redirect/{}", encode_id(&id)),
            )
            .await;
        assert_eq!(one.status, 200);
        assert_eq!(one.json()["id"], id.as_str());
    }
}

#[tokio::test]
async fn redirect_ttl_counts_down_and_the_qr_dies_at_expiry() {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "300001", "Ttl AS").await;
    let r = api
        .create_redirect(
            "text/targetUrl",
            json!({"id": "flyer", "redirectUrl": "https://example.com/flyer", "ttl": 600}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["expiresIn"], 600);
    let link = path_of(r.json()["url"].as_str().expect("url"));

    srv.clock.advance_ms(100_000);
    let one = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect/flyer",
            Some("text/targetUrl"),
            None,
            &[],
        )
        .await;
    assert_eq!(one.json()["expiresIn"], 500);
    assert_eq!(common::get(&srv.url(&link)).await.status, 302);

    srv.clock.advance_ms(500_000);
    assert_eq!(common::get(&srv.url(&link)).await.status, 404);
    let one = api
        .bare(Method::GET, "/qr/v1/merchant-redirect/flyer")
        .await;
    assert_eq!(one.status, 404);
    let again = api
        .redirect_to("image/png", "flyer", "https://example.com/flyer")
        .await;
    assert_eq!(again.status, 200, "an expired id is free again");
}

#[tokio::test]
async fn one_time_payment_redirects_until_expiry_then_404s() {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "400001", "Pay AS").await;
    let payment_url =
        "https://pay.example/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQ.x-y_z";
    // Mid-second, where rounding the link's expiry up once gave the image `max-age=601`.
    srv.clock.advance_ms(500);
    let r = api
        .call(
            Method::POST,
            "/qr/v1",
            Some("image/png"),
            Some(json!({"url": payment_url})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["expiresIn"], 600);
    let image_url = r.json()["url"].as_str().expect("url").to_owned();

    let image = common::get(&image_url).await;
    assert_eq!(image.status, 200);
    let max_age: i64 = image
        .header("cache-control")
        .strip_prefix("public, max-age=")
        .and_then(|n| n.parse().ok())
        .expect("a max-age");
    assert!(
        (1..=599).contains(&max_age),
        "no cached image outlives its 600 s link: max-age={max_age}"
    );
    let short = common::decode_png(&image.body);
    assert!(short.starts_with(&format!("{}/P/", srv.base)), "{short}");
    let link = srv.url(&path_of(&short));

    let scan = common::get(&link).await;
    assert_eq!(scan.status, 302);
    assert_eq!(scan.header("location"), payment_url);
    assert_eq!(scan.header("cache-control"), "no-store");

    srv.clock.advance_ms(599_000);
    assert_eq!(
        common::get(&link).await.status,
        302,
        "still valid 1 s before expiry"
    );
    srv.clock.advance_ms(1_000);
    assert_eq!(common::get(&link).await.status, 404, "dead at expiry");
    // The origin allows a small clock-skew leeway on `exp`; past it the image is gone too.
    srv.clock.advance_ms(60_000);
    assert_eq!(
        common::get(&image_url).await.status,
        404,
        "the image URL expires with it"
    );
    assert_eq!(
        common::get(&srv.url(&path_of(&short).replacen("/P/", "/R/", 1)))
            .await
            .status,
        404,
        "a payment code is not a redirect code"
    );
}

#[tokio::test]
async fn access_token_answer_has_the_published_shape() {
    let srv = common::start().await;
    let creds = add_merchant(&srv.state.config.data_dir, "500001", "Token AS");
    // The published quick start spells the path `/accessToken/get`.
    let r = send(
        Method::POST,
        &srv.url("/accessToken/get"),
        &[
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("Ocp-Apim-Subscription-Key", &creds.subscription_key),
        ],
        Some(""),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], "3600");
    assert_eq!(v["ext_expires_in"], "0");
    let now = srv.now();
    assert_eq!(v["not_before"], now.to_string().as_str());
    assert_eq!(v["expires_on"], (now + 3600).to_string().as_str());
    assert!(v["resource"].is_string());
    let token = v["access_token"].as_str().expect("token");
    assert!(token.len() >= 43);

    // The token stops working after an hour.
    let api = Api {
        base: srv.base.clone(),
        creds: creds.clone(),
        token: token.to_owned(),
    };
    assert_eq!(
        api.bare(Method::GET, "/qr/v1/merchant-redirect")
            .await
            .status,
        200
    );
    srv.clock.advance_ms(3_600_000);
    assert_eq!(
        api.bare(Method::GET, "/qr/v1/merchant-redirect")
            .await
            .status,
        401
    );
}
