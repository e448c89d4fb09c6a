//! Branded-code styles through the QR API over the real server and store: the `style` object on
//! the calls that hand out image URLs, the merchant's default style (`PUT/GET/DELETE
//! /qr/v1/style`) reaching every image URL's token, and every refusal with the field it names.

mod common;

use common::api::{Api, add_merchant, token_claims};
use http::Method;
use serde_json::{Value, json};

/// The style claims of a token (the fields a style object may set), as an object.
fn style_of(claims: &Value) -> Value {
    let fields = [
        "fg", "bg", "ecc", "border", "shape", "eyes", "eyeColor", "logo", "logoSize", "invert",
    ];
    let obj = claims.as_object().expect("claims object");
    Value::Object(
        obj.iter()
            .filter(|(k, _)| fields.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

async fn login(srv: &common::TestServer, msn: &str) -> Api {
    Api::login(
        &srv.base,
        &add_merchant(&srv.state.config.data_dir, msn, "Shop"),
    )
    .await
}

async fn payment_url(api: &Api, body: Value) -> String {
    let r = api
        .call(Method::POST, "/qr/v1", Some("image/png"), Some(body), &[])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["url"].as_str().expect("url").to_owned()
}

const PAY: &str = "https://shop.example/pay/1";

#[tokio::test]
async fn the_default_style_reaches_every_image_url_until_deleted() {
    let srv = common::start().await;
    let api = login(&srv, "510001").await;
    let r = api.call(Method::GET, "/qr/v1/style", None, None, &[]).await;
    assert_eq!(r.status, 404, "no default style yet");

    let wanted = json!({
        "shape": "rounded", "eyes": "circle", "fg": "#1A237E", "eyeColor": "#b71c1c",
        "ecc": "Q"
    });
    let r = api
        .call(Method::PUT, "/qr/v1/style", None, Some(wanted), &[])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let canonical = json!({
        "ecc": "Q", "fg": "#1a237e", "shape": "rounded", "eyes": "circle", "eyeColor": "#b71c1c"
    });
    assert_eq!(r.json(), canonical, "stored as the token writer spells it");
    let r = api.call(Method::GET, "/qr/v1/style", None, None, &[]).await;
    assert_eq!((r.status.as_u16(), r.json()), (200, canonical.clone()));

    // A one-time payment QR, a merchant-redirect QR and a merchant-callback QR all get it.
    let url = payment_url(&api, json!({ "url": PAY })).await;
    assert_eq!(style_of(&token_claims(&url)), canonical);
    let r = api
        .create_redirect(
            "image/png",
            json!({"id": "poster-1", "redirectUrl": "https://shop.example/"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        style_of(&token_claims(r.json()["url"].as_str().expect("url"))),
        canonical
    );
    let listed = api
        .call(Method::GET, "/qr/v1/merchant-redirect", None, None, &[])
        .await;
    let url = listed.json()[0]["url"].as_str().expect("url").to_owned();
    assert_eq!(style_of(&token_claims(&url)), canonical, "SVG URLs too");
    let msn = [("merchant-serial-number", api.creds.msn.as_str())];
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk-1",
            None,
            Some(json!({"locationDescription": "Kiosk 1"})),
            &msn,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk-1?QrImageFormat=PNG",
            None,
            None,
            &msn,
        )
        .await;
    let url = r.json()["qrImageUrl"].as_str().expect("url").to_owned();
    assert_eq!(style_of(&token_claims(&url)), canonical);

    // A style named by the call replaces the default whole; `{}` asks for the plain code.
    let url = payment_url(&api, json!({ "url": PAY, "style": {"shape": "dots"} })).await;
    assert_eq!(style_of(&token_claims(&url)), json!({"shape": "dots"}));
    let url = payment_url(&api, json!({ "url": PAY, "style": {} })).await;
    assert_eq!(style_of(&token_claims(&url)), json!({}));

    let r = api
        .call(Method::DELETE, "/qr/v1/style", None, None, &[])
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .call(Method::DELETE, "/qr/v1/style", None, None, &[])
        .await;
    assert_eq!(r.status, 404);
    let r = api.call(Method::GET, "/qr/v1/style", None, None, &[]).await;
    assert_eq!(r.status, 404);
    let url = payment_url(&api, json!({ "url": PAY })).await;
    let claims = token_claims(&url);
    assert_eq!(style_of(&claims), json!({}), "plain again");
    assert_eq!(
        claims.as_object().map(|o| o.len()),
        Some(7),
        "a plain token keeps the published shape: {claims}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_plain_styled_payment_qr_renders_and_decodes() {
    let srv = common::start().await;
    let api = login(&srv, "510002").await;
    // `fg`/`bg`/`ecc`/`border` need no styled drawing: the plain writers render them today.
    let url = payment_url(
        &api,
        json!({ "url": PAY, "style": {"fg": "#003300", "bg": "#ffffee", "ecc": "H", "border": 2} }),
    )
    .await;
    let claims = token_claims(&url);
    assert_eq!(
        style_of(&claims),
        json!({"fg": "#003300", "bg": "#ffffee", "ecc": "H", "border": 2})
    );
    let img = common::get(&url).await;
    assert_eq!(img.status, 200, "{}", String::from_utf8_lossy(&img.body));
    assert_eq!(
        common::decode_png(&img.body),
        claims["url"].as_str().unwrap()
    );
    srv.stop().await;
}

#[tokio::test]
async fn bad_styles_are_refused_with_the_field_they_name() {
    let srv = common::start().await;
    let api = login(&srv, "510003").await;
    let cases = [
        (json!("dots"), "style", "must be a JSON object"),
        (json!({"size": 800}), "style.size", "is not a style field"),
        (
            json!({"shape": "star"}),
            "style.shape",
            "\"square\", \"rounded\" or \"dots\"",
        ),
        (json!({"logo": "abc"}), "style.logo", "64 hex digits"),
        (json!({"logoSize": 0.2}), "style.logoSize", "needs a logo"),
        (json!({"invert": 1}), "style.invert", "true or false"),
        (
            json!({"fg": "#777777", "bg": "#999999"}),
            "style.fg",
            "fg #777777 on #999999 has a contrast ratio of 1.",
        ),
        (
            json!({"fg": "#ffffff", "bg": "#000000"}),
            "style.fg",
            "needs invert: true",
        ),
        (
            json!({"eyeColor": "#eeeeee"}),
            "style.eyeColor",
            "eyeColor #eeeeee on #ffffff",
        ),
        (
            json!({"logo": "ab".repeat(32)}),
            "style.logo",
            "you have no logo with id abababab",
        ),
    ];
    for (style, name, reason) in cases {
        let r = api
            .call(
                Method::POST,
                "/qr/v1",
                None,
                Some(json!({"url": PAY, "style": style})),
                &[],
            )
            .await;
        assert_eq!(r.status, 400, "{style}");
        assert_eq!(r.invalid_params(), [name], "{style}");
        let got = r.json()["invalidParams"][0]["reason"]
            .as_str()
            .expect("reason")
            .to_owned();
        assert!(got.contains(reason), "{style}: {got:?} lacks {reason:?}");
    }
    // The same rules on the default style, whose body is the style object itself.
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/style",
            None,
            Some(json!({"fg": "#777777", "bg": "#999999"})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.invalid_params()),
        (400, vec!["body.fg".to_owned()])
    );
    let r = common::api::send(
        Method::PUT,
        &srv.url("/qr/v1/style"),
        &[
            ("authorization", &format!("Bearer {}", api.token)),
            ("ocp-apim-subscription-key", &api.creds.subscription_key),
            ("content-type", "text/plain"),
        ],
        Some("shape=dots"),
    )
    .await;
    assert_eq!(r.status, 415);
    let r = common::api::send(Method::GET, &srv.url("/qr/v1/style"), &[], None).await;
    assert_eq!(r.status, 401);
    let r = api
        .call(Method::POST, "/qr/v1/style", None, None, &[])
        .await;
    assert_eq!(
        (r.status.as_u16(), r.header("allow")),
        (405, "GET, PUT, DELETE")
    );
    // Nothing refused was stored.
    let r = api.call(Method::GET, "/qr/v1/style", None, None, &[]).await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

#[tokio::test]
async fn a_style_may_name_only_the_merchants_own_logos() {
    let srv = common::start().await;
    let a = login(&srv, "510004").await;
    let b = login(&srv, "510005").await;
    let r = a
        .upload_logo("image/png", &common::api::png_logo(64, 64))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let theirs = json!({"logo": id});
    let r = b
        .call(
            Method::POST,
            "/qr/v1",
            None,
            Some(json!({"url": PAY, "style": theirs})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.invalid_params()),
        (400, vec!["style.logo".to_owned()])
    );
    assert!(
        r.json()["invalidParams"][0]["reason"]
            .as_str()
            .is_some_and(|s| s.contains(&id)),
        "names the logo"
    );
    let r = b
        .call(Method::PUT, "/qr/v1/style", None, Some(theirs), &[])
        .await;
    assert_eq!(
        (r.status.as_u16(), r.invalid_params()),
        (400, vec!["body.logo".to_owned()])
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_default_style_naming_a_logo_reaches_the_token_and_holds_the_logo() {
    let srv = common::start().await;
    let api = login(&srv, "510006").await;
    let r = api
        .upload_logo("image/png", &common::api::png_logo(64, 64))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/style",
            None,
            Some(json!({"logo": id, "logoSize": 0.15, "shape": "rounded"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let want = json!({"logo": id, "logoSize": 0.15, "shape": "rounded"});
    assert_eq!(r.json(), want);
    let url = payment_url(&api, json!({ "url": PAY })).await;
    assert_eq!(
        style_of(&token_claims(&url)),
        want,
        "the default style's logo in the token"
    );

    // The logo cannot be deleted under the style; once the style lets go of it, it can.
    let path = format!("/qr/v1/logos/{id}");
    let r = api.call(Method::DELETE, &path, None, None, &[]).await;
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("default style"))
    );
    let r = api
        .call(
            Method::PUT,
            "/qr/v1/style",
            None,
            Some(json!({"shape": "dots"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api.call(Method::DELETE, &path, None, None, &[]).await;
    assert_eq!(r.status, 204);

    // A logo larger than the correction budget allows is refused with the largest allowed.
    let r = api
        .upload_logo("image/png", &common::api::png_logo(32, 32))
        .await;
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = api
        .call(
            Method::POST,
            "/qr/v1",
            None,
            Some(json!({"url": PAY, "style": {"logo": id, "logoSize": 0.9}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.invalid_params(), ["style"]);
    srv.stop().await;
}
