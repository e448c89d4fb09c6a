//! Branded-code styles through the QR API over the real server and store: the `style` object on
//! the calls that hand out image URLs, the merchant's default style (`PUT/GET/DELETE
//! /qr/v1/style`) reaching every image URL's token, and every refusal with the field it names.

use crate::common;

use common::api::{Api, token_claims};
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
    Api::merchant(srv, msn, "Shop").await
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
    let r = api.bare(Method::GET, "/qr/v1/style").await;
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
    let r = api.bare(Method::GET, "/qr/v1/style").await;
    assert_eq!((r.status.as_u16(), r.json()), (200, canonical.clone()));

    // A one-time payment QR, a merchant-redirect QR and a merchant-callback QR all get it.
    let url = payment_url(&api, json!({ "url": PAY })).await;
    assert_eq!(style_of(&token_claims(&url)), canonical);
    let r = api
        .redirect_to("image/png", "poster-1", "https://shop.example/")
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        style_of(&token_claims(r.json()["url"].as_str().expect("url"))),
        canonical
    );
    let listed = api.bare(Method::GET, "/qr/v1/merchant-redirect").await;
    let url = listed.json()[0]["url"].as_str().expect("url").to_owned();
    assert_eq!(style_of(&token_claims(&url)), canonical, "SVG URLs too");
    let r = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk-1",
            Some(json!({"locationDescription": "Kiosk 1"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = api
        .callback(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk-1?QrImageFormat=PNG",
            None,
        )
        .await;
    let url = r.json()["qrImageUrl"].as_str().expect("url").to_owned();
    assert_eq!(style_of(&token_claims(&url)), canonical);

    // A style named by the call replaces the default whole; `{}` asks for the plain code.
    let url = payment_url(&api, json!({ "url": PAY, "style": {"shape": "dots"} })).await;
    assert_eq!(style_of(&token_claims(&url)), json!({"shape": "dots"}));
    let url = payment_url(&api, json!({ "url": PAY, "style": {} })).await;
    assert_eq!(style_of(&token_claims(&url)), json!({}));

    let r = api.bare(Method::DELETE, "/qr/v1/style").await;
    assert_eq!(r.status, 204);
    let r = api.bare(Method::DELETE, "/qr/v1/style").await;
    assert_eq!(r.status, 404);
    let r = api.bare(Method::GET, "/qr/v1/style").await;
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
    let r = api.bare(Method::POST, "/qr/v1/style").await;
    assert_eq!(
        (r.status.as_u16(), r.header("allow")),
        (405, "GET, PUT, DELETE")
    );
    // Nothing refused was stored.
    let r = api.bare(Method::GET, "/qr/v1/style").await;
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
    let r = api.bare(Method::DELETE, &path).await;
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
    let r = api.bare(Method::DELETE, &path).await;
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

/// The image URL of a redirect answer and its style claims.
fn url_style(answer: &Value) -> (String, Value) {
    let url = answer["url"].as_str().expect("url").to_owned();
    let style = style_of(&token_claims(&url));
    (url, style)
}

async fn put_default(api: &Api, style: Value) {
    let r = api
        .call(Method::PUT, "/qr/v1/style", None, Some(style), &[])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

async fn get_redirect(api: &Api, id: &str) -> Value {
    let r = api
        .call(
            Method::GET,
            &format!("/qr/v1/merchant-redirect/{id}"),
            Some("image/png"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn put_redirect(api: &Api, id: &str, body: Value) -> common::Reply {
    api.call(
        Method::PUT,
        &format!("/qr/v1/merchant-redirect/{id}"),
        Some("image/png"),
        Some(body),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_redirect_qr_keeps_the_style_it_was_created_with() {
    let srv = common::start().await;
    let api = login(&srv, "510101").await;
    let r = api
        .upload_logo("image/png", &common::api::png_logo(64, 64))
        .await;
    assert_eq!(r.status, 201);
    let logo = r.json()["id"].as_str().expect("id").to_owned();
    put_default(&api, json!({"shape": "rounded"})).await;

    let own = json!({"shape": "dots", "eyes": "rounded", "logo": logo, "logoSize": 0.15});
    let r = api
        .create_redirect(
            "image/png",
            json!({"id": "poster", "redirectUrl": "https://shop.example/a", "style": own}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    let (url, style) = url_style(&created);
    assert_eq!(style, own, "the image URL carries the QR's own style");
    assert_eq!(created["style"], own, "and the answer shows it as stored");
    // The stored style, logo and all, renders and decodes at the origin.
    let img = common::get(&url).await;
    assert_eq!(img.status, 200, "{}", String::from_utf8_lossy(&img.body));
    assert_eq!(
        common::decode_png(&img.body),
        token_claims(&url)["url"].as_str().expect("content")
    );

    let r = api
        .redirect_to("image/png", "plain", "https://shop.example/b")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(url_style(&r.json()).1, json!({"shape": "rounded"}));
    assert!(r.json().get("style").is_none(), "no style of its own");

    // The default changes: the styled QR keeps its look, the other follows the default.
    put_default(&api, json!({"eyes": "circle"})).await;
    let poster = get_redirect(&api, "poster").await;
    assert_eq!(url_style(&poster), (url.clone(), own.clone()), "same URL");
    assert_eq!(poster["style"], own);
    assert_eq!(
        url_style(&get_redirect(&api, "plain").await).1,
        json!({"eyes": "circle"})
    );
    let listed = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            Some("image/png"),
            None,
            &[],
        )
        .await;
    // Both were created in the same millisecond, so the list's order between them is the
    // codes' (random): compare by id.
    let listed: std::collections::BTreeMap<String, Value> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|qr| (qr["id"].as_str().expect("id").to_owned(), url_style(qr).1))
        .collect();
    assert_eq!(
        listed,
        [
            ("plain".to_owned(), json!({"eyes": "circle"})),
            ("poster".to_owned(), own.clone())
        ]
        .into_iter()
        .collect()
    );

    // An update without `style` keeps it; with one replaces it; with null follows the default.
    let r = put_redirect(
        &api,
        "poster",
        json!({"redirectUrl": "https://shop.example/c"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        url_style(&r.json()).1,
        own,
        "kept by a published-API update"
    );
    assert_eq!(url_style(&get_redirect(&api, "poster").await).1, own);
    let navy = json!({"fg": "#1a237e", "shape": "rounded"});
    let r = put_redirect(
        &api,
        "poster",
        json!({"redirectUrl": "https://shop.example/d", "style": {"fg": "#1A237E", "shape": "rounded"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        (url_style(&r.json()).1, r.json()["style"].clone()),
        (navy.clone(), navy.clone())
    );
    let poster = get_redirect(&api, "poster").await;
    assert_eq!(url_style(&poster).1, navy, "replaced");
    assert_eq!(poster["redirectUrl"], "https://shop.example/d");
    let r = put_redirect(
        &api,
        "poster",
        json!({"redirectUrl": "https://shop.example/e", "style": null}),
    )
    .await;
    assert_eq!(r.status, 200);
    let poster = get_redirect(&api, "poster").await;
    assert_eq!(
        url_style(&poster).1,
        json!({"eyes": "circle"}),
        "follows the default"
    );
    assert!(poster.get("style").is_none());
    srv.stop().await;
}

#[tokio::test]
async fn a_callback_qr_keeps_its_stored_style_across_description_changes() {
    let srv = common::start().await;
    let api = login(&srv, "510102").await;
    put_default(&api, json!({"shape": "rounded"})).await;
    let put =
        |body: Value| api.callback(Method::PUT, "/qr/v1/merchant-callback/kiosk-7", Some(body));
    let get = || async {
        let r = api
            .callback(
                Method::GET,
                "/qr/v1/merchant-callback/kiosk-7?QrImageFormat=PNG",
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let qr = r.json();
        let url = qr["qrImageUrl"].as_str().expect("url").to_owned();
        (style_of(&token_claims(&url)), qr)
    };
    let own = json!({"shape": "dots", "eyeColor": "#b71c1c"});
    let r = put(json!({"locationDescription": "Kiosk 7", "style": own})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (style, qr) = get().await;
    assert_eq!((style, qr["style"].clone()), (own.clone(), own.clone()));

    put_default(&api, json!({"eyes": "circle"})).await;
    let r = put(json!({"locationDescription": "Kiosk 7, by the door"})).await;
    assert_eq!(r.status, 200);
    let (style, qr) = get().await;
    assert_eq!(style, own, "a published-API update keeps the stored style");
    assert_eq!(qr["locationDescription"], "Kiosk 7, by the door");
    let listed = api
        .callback(
            Method::GET,
            "/qr/v1/merchant-callback?QrImageFormat=SVG",
            None,
        )
        .await;
    let url = listed.json()[0]["qrImageUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    assert_eq!(style_of(&token_claims(&url)), own, "the list too");

    let r = put(json!({"locationDescription": "Kiosk 7", "style": null})).await;
    assert_eq!(r.status, 200);
    let (style, qr) = get().await;
    assert_eq!(
        style,
        json!({"eyes": "circle"}),
        "follows the default again"
    );
    assert!(qr.get("style").is_none());
    srv.stop().await;
}

#[tokio::test]
async fn bad_styles_on_redirect_and_callback_qrs_are_400_and_store_nothing() {
    let srv = common::start().await;
    let api = login(&srv, "510103").await;
    let other = login(&srv, "510104").await;
    let theirs = other
        .upload_logo("image/png", &common::api::png_logo(64, 64))
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = api
        .upload_logo("image/png", &common::api::png_logo(32, 32))
        .await;
    let own = r.json()["id"].as_str().expect("id").to_owned();
    let cases = [
        (
            json!({"fg": "#777777", "bg": "#999999"}),
            "style.fg",
            "contrast ratio of 1.",
        ),
        (
            json!({"logo": "ab".repeat(32)}),
            "style.logo",
            "you have no logo with id abababab",
        ),
        (
            json!({"logo": theirs}),
            "style.logo",
            "you have no logo with id",
        ),
        (json!({"logo": own, "logoSize": 0.9}), "style", "logoSize"),
        (json!({"size": 800}), "style.size", "is not a style field"),
    ];
    let reason = |r: &common::Reply| {
        r.json()["invalidParams"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for (style, name, why) in &cases {
        let r = api
            .create_redirect(
                "image/png",
                json!({"id": "refused", "redirectUrl": "https://shop.example/", "style": style}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.invalid_params()),
            (400, vec![name.to_string()]),
            "{style}"
        );
        assert!(reason(&r).contains(why), "{style}: {}", reason(&r));
        let r = api
            .callback(
                Method::PUT,
                "/qr/v1/merchant-callback/refused",
                Some(json!({"locationDescription": "Kiosk", "style": style})),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.invalid_params()),
            (400, vec![name.to_string()]),
            "{style}"
        );
        assert!(reason(&r).contains(why), "{style}: {}", reason(&r));
    }
    let r = api
        .bare(Method::GET, "/qr/v1/merchant-redirect/refused")
        .await;
    assert_eq!(r.status, 404, "no redirect QR was created");
    let r = api
        .callback(Method::GET, "/qr/v1/merchant-callback/refused", None)
        .await;
    assert_eq!(r.status, 404, "no callback QR was created");

    // A refused update changes neither the target nor the stored style.
    let r = api
        .create_redirect(
            "image/png",
            json!({"id": "kept", "redirectUrl": "https://shop.example/kept", "style": {"shape": "dots"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    for (style, name, _) in &cases {
        let r = put_redirect(
            &api,
            "kept",
            json!({"redirectUrl": "https://shop.example/changed", "style": style}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.invalid_params()),
            (400, vec![name.to_string()]),
            "{style}"
        );
    }
    let kept = get_redirect(&api, "kept").await;
    assert_eq!(
        (url_style(&kept).1, kept["redirectUrl"].clone()),
        (json!({"shape": "dots"}), json!("https://shop.example/kept"))
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_logo_a_live_qrs_stored_style_names_cannot_be_deleted() {
    let srv = common::start().await;
    let api = login(&srv, "510105").await;
    let r = api
        .upload_logo("image/png", &common::api::png_logo(64, 64))
        .await;
    let logo = r.json()["id"].as_str().expect("id").to_owned();
    let path = format!("/qr/v1/logos/{logo}");
    let style = json!({"logo": logo, "logoSize": 0.1});
    let r = api
        .create_redirect(
            "image/png",
            json!({"id": "door", "redirectUrl": "https://shop.example/", "style": style}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = api
        .callback(
            Method::PUT,
            "/qr/v1/merchant-callback/till",
            Some(json!({"locationDescription": "Till", "style": style})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let refused = |r: common::Reply| {
        assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(
            detail.contains("merchant-redirect or merchant-callback"),
            "{detail}"
        );
        assert_eq!(r.json()["id"], json!(logo));
    };
    refused(api.bare(Method::DELETE, &path).await);
    // The redirect QR lets go of it (a style of its own without the logo); the callback QR
    // still holds it.
    let r = put_redirect(
        &api,
        "door",
        json!({"redirectUrl": "https://shop.example/", "style": {"shape": "dots"}}),
    )
    .await;
    assert_eq!(r.status, 200);
    refused(api.bare(Method::DELETE, &path).await);
    let r = api
        .callback(Method::DELETE, "/qr/v1/merchant-callback/till", None)
        .await;
    assert_eq!(r.status, 200);
    let r = api.bare(Method::DELETE, &path).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    // Naming the deleted logo now is the 400 of an unknown logo.
    let r = put_redirect(
        &api,
        "door",
        json!({"redirectUrl": "https://shop.example/", "style": style}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.invalid_params()),
        (400, vec!["style.logo".to_owned()])
    );
    srv.stop().await;
}
