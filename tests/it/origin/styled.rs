//! Styled image tokens at the real origin: the claims of the branded-code style reach the
//! render key, so a styled image never shares an ETag (or a cache entry) with the plain one,
//! and the ETag covers the logo's id.

use crate::common;

use common::*;
use http::Method;
use qr_origin::origin::key::RenderKey;
use qr_origin::origin::response::etag;
use qr_origin::render::{Format, LogoRef, RenderOptions, Shape};
use serde_json::{Value, json};

const URL: &str = "https://x.test/r/STYLED0001";
const LOGO_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const LOGO_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A token minted by the independent `jsonwebtoken` crate: a PNG of [`URL`] plus `extra`.
fn token(extra: Value) -> String {
    let mut claims = json!({"format": "image/png", "size": "400", "url": URL});
    for (k, v) in extra.as_object().expect("object") {
        claims[k] = v.clone();
    }
    jwt(&claims, Some(KID), SECRET)
}

/// The ETag the origin gives [`URL`] as a 400 px PNG in `style`, computed by the library.
fn tag_for(change: impl FnOnce(&mut RenderOptions)) -> String {
    let mut opts = RenderOptions {
        format: Format::Png,
        size: 400,
        ..RenderOptions::default()
    };
    change(&mut opts);
    let tag = etag(&RenderKey::new(URL.to_owned(), opts));
    tag.to_str().expect("ASCII").to_owned()
}

fn logo(hex: &str) -> Option<LogoRef> {
    Some(LogoRef {
        id: LogoRef::parse_id(hex).expect("hex"),
        size_permille: 200,
    })
}

async fn get_if_none_match(srv: &TestServer, token: &str, tag: &str) -> Reply {
    request(
        Method::GET,
        &srv.url(&image_path(token)),
        &[("if-none-match", tag)],
    )
    .await
}

#[tokio::test]
async fn styled_tokens_have_their_own_etag_covering_the_logo_id() {
    let srv = start().await;
    let plain = get(&srv.url(&image_path(&token(json!({}))))).await;
    assert_eq!(plain.status, 200);
    let plain_tag = plain.header("etag").to_owned();
    assert_eq!(
        plain_tag,
        tag_for(|_| {}),
        "the library computes the server's tag"
    );

    // The server's validator for a styled token is the one its own style gives, not the plain
    // one: a client holding the plain image never gets a 304 for the branded one.
    let with_a = token(json!({"logo": LOGO_A, "shape": "rounded"}));
    let tag_a = tag_for(|o| {
        o.style.logo = logo(LOGO_A);
        o.style.shape = Shape::Rounded;
    });
    let tag_b = tag_for(|o| {
        o.style.logo = logo(LOGO_B);
        o.style.shape = Shape::Rounded;
    });
    assert_ne!(tag_a, plain_tag);
    assert_ne!(tag_a, tag_b, "the tag covers the logo id");
    let r = get_if_none_match(&srv, &with_a, &tag_a).await;
    assert_eq!(r.status, 304, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("etag"), tag_a);
    for other in [&plain_tag, &tag_b] {
        let r = get_if_none_match(&srv, &with_a, other).await;
        assert_ne!(r.status, 304, "{other} is not the styled image's tag");
    }
    // The logo size is part of it too.
    let bigger = token(json!({"logo": LOGO_A, "shape": "rounded", "logoSize": 0.25}));
    let r = get_if_none_match(&srv, &bigger, &tag_a).await;
    assert_ne!(r.status, 304);
    srv.stop().await;
}

#[tokio::test]
async fn bad_style_claims_are_400_naming_the_claim() {
    let srv = start().await;
    for (extra, want) in [
        (json!({"shape": "star"}), "invalid claim `shape`"),
        (json!({"eyes": "dots"}), "invalid claim `eyes`"),
        (json!({"eyeColor": "red"}), "invalid claim `eyeColor`"),
        (json!({"logo": "xyz"}), "invalid claim `logo`"),
        (
            json!({"logo": LOGO_A, "logoSize": 1.5}),
            "invalid claim `logoSize`",
        ),
        (
            json!({"logoSize": 0.2}),
            "invalid claim `logoSize`: needs a logo",
        ),
        (json!({"bg": "none"}), "invalid claim `bg`"),
        (json!({"invert": "yes"}), "invalid claim `invert`"),
        (
            json!({"fg": "#777777", "bg": "#999999"}),
            "fg #777777 on #999999 has a contrast ratio of 1.",
        ),
        (
            json!({"fg": "#ffffff", "bg": "#000000"}),
            "an inverted code (light on dark) needs invert: true",
        ),
    ] {
        let r = get(&srv.url(&image_path(&token(extra.clone())))).await;
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 400, "{extra}: {body}");
        assert!(body.contains(want), "{extra}: {body:?} lacks {want:?}");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_token_naming_an_unknown_logo_is_400_and_a_store_outage_503() {
    let srv = start().await;
    let r = get(&srv.url(&image_path(&token(
        json!({"logo": LOGO_A, "logoSize": 0.1}),
    ))))
    .await;
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 400, "{body}");
    assert!(body.contains(&format!("unknown logo {LOGO_A}")), "{body}");
    assert_eq!(r.header("cache-control"), "no-store");

    // Break the real store underneath: a logo not in memory cannot be had now, retry later.
    let db = srv
        .state
        .config
        .data_dir
        .join(qr_origin::store::sqlite::DB_FILE);
    rusqlite::Connection::open(db)
        .expect("open the store's file")
        .execute_batch("DROP TABLE merchant_styles; DROP TABLE logos;")
        .expect("drop");
    let r = get(&srv.url(&image_path(&token(
        json!({"logo": LOGO_B, "logoSize": 0.1}),
    ))))
    .await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("retry-after"), "2");
    assert_eq!(r.header("cache-control"), "no-store");
    srv.stop().await;
}

#[tokio::test]
async fn a_token_naming_a_stored_logo_renders_and_decodes() {
    let srv = start().await;
    let creds = common::api::add_merchant(&srv.state.config.data_dir, "520001", "Logo AS");
    let api = common::api::Api::login(&srv.base, &creds).await;
    let r = api
        .upload_logo("image/png", &common::api::png_logo(96, 96))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    for extra in [
        json!({"logo": id, "logoSize": 0.1}),
        json!({"logo": id, "logoSize": 0.12, "shape": "rounded", "eyes": "rounded"}),
        json!({"logo": id, "logoSize": 0.1, "shape": "dots", "eyeColor": "#aa0000"}),
        json!({"logo": id, "logoSize": 0.1, "eyes": "rounded", "bg": "transparent"}),
    ] {
        let r = get(&srv.url(&image_path(&token(extra.clone())))).await;
        assert_eq!(
            r.status,
            200,
            "{extra}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), "image/png");
        assert_eq!(decode_png(&r.body), URL, "{extra}");
        let again = get(&srv.url(&image_path(&token(extra.clone())))).await;
        assert_eq!(again.header("x-cache"), "HIT");
        assert_eq!(again.header("etag"), r.header("etag"));
    }
    // A PDF draws an SVG logo's outlines (no image on the page); a PNG logo is its one image.
    let svg = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/logo-example.svg"
    ));
    let r = api.upload_logo("image/svg+xml", svg).await;
    assert_eq!(r.status, 201);
    let svg_id = r.json()["id"].as_str().expect("id").to_owned();
    for (logo, image) in [(&svg_id, false), (&id, true)] {
        let claims = json!({"logo": logo, "logoSize": 0.2, "format": "application/pdf"});
        let r = get(&srv.url(&image_path(&token(claims)))).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), "application/pdf");
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(text.contains("/Subtype/Image"), image, "{logo}");
    }
    srv.stop().await;
}
