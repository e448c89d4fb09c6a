//! Framed codes and PDF pages through the real server and store: a caption in a call's style
//! and in the default style reaches the image token, `Accept: application/pdf` hands out a
//! PDF URL, the origin serves, caches and ETags both, and every caption rule is a 400 naming
//! `caption` (or the field it is about).

use crate::common;
use crate::render_common::ocr::pdf_luma;
use crate::render_common::read_rxing;

use common::api::{Api, token_claims};
use http::Method;
use serde_json::{Value, json};

const PAY: &str = "https://shop.example/pay/1";

async fn login(srv: &common::TestServer, msn: &str) -> Api {
    Api::merchant(srv, msn, "Shop").await
}

async fn payment(api: &Api, accept: &str, body: Value) -> common::Reply {
    api.call(Method::POST, "/qr/v1", Some(accept), Some(body), &[])
        .await
}

#[tokio::test]
async fn a_captioned_pdf_url_renders_caches_and_etags() {
    let srv = common::start().await;
    let api = login(&srv, "520001").await;
    let style = json!({"caption": "Skann og betal", "frameColor": "#1a237e"});
    let r = payment(&api, "application/pdf", json!({"url": PAY, "style": style})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let url = r.json()["url"].as_str().expect("url").to_owned();
    let claims = token_claims(&url);
    assert_eq!(claims["format"], "application/pdf");
    assert_eq!(claims["caption"], "Skann og betal");
    assert_eq!(claims["frameColor"], "#1a237e");

    let first = common::get(&url).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.header("content-type"), "application/pdf");
    assert_eq!(first.header("x-cache"), "MISS");
    assert_eq!(first.header("content-length"), first.body.len().to_string());
    let (w, h, luma) = pdf_luma(&first.body);
    let content = read_rxing(w, h, luma).expect("the PDF's code decodes");
    assert_eq!(
        String::from_utf8(content).unwrap(),
        claims["url"].as_str().unwrap()
    );
    let again = common::get(&url).await;
    assert_eq!(again.header("x-cache"), "HIT");
    assert_eq!(again.body, first.body);
    let tag = first.header("etag").to_owned();
    let r = common::get_with(&url, &[("if-none-match", &tag)]).await;
    assert_eq!(r.status, 304);

    // The same QR as a PNG is another image with another tag.
    let r = payment(&api, "image/png", json!({"url": PAY, "style": style})).await;
    let png_url = r.json()["url"].as_str().expect("url").to_owned();
    let png = common::get(&png_url).await;
    assert_eq!(png.header("content-type"), "image/png");
    assert_ne!(png.header("etag"), tag);
    assert_eq!(
        common::decode_png(&png.body),
        token_claims(&png_url)["url"].as_str().unwrap()
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_default_style_with_a_caption_is_stored_and_shown() {
    let srv = common::start().await;
    let api = login(&srv, "520002").await;
    let style = json!({"caption": "Scan me", "captionColor": "#FFF59D"});
    let r = api
        .call(Method::PUT, "/qr/v1/style", None, Some(style), &[])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"caption": "Scan me", "captionColor": "#fff59d"})
    );
    let r = payment(&api, "image/svg+xml", json!({"url": PAY})).await;
    let url = r.json()["url"].as_str().expect("url").to_owned();
    assert_eq!(token_claims(&url)["caption"], "Scan me");
    let svg = common::get(&url).await;
    assert_eq!(svg.status, 200);
    assert_eq!(
        common::decode_svg(&svg.body),
        token_claims(&url)["url"].as_str().unwrap()
    );
    srv.stop().await;
}

#[tokio::test]
async fn caption_rules_are_400s_naming_the_field() {
    let srv = common::start().await;
    let api = login(&srv, "520003").await;
    let cases = [
        (json!({"caption": ""}), "style.caption", "must not be empty"),
        (
            json!({"caption": "x".repeat(41)}),
            "style.caption",
            "at most 40",
        ),
        (json!({"caption": 7}), "style.caption", "must be a string"),
        (
            json!({"caption": "Scan\nme"}),
            "style.caption",
            "control characters",
        ),
        (json!({"caption": "Скан"}), "style.caption", "does not draw"),
        (
            json!({"frameColor": "#000000"}),
            "style.frameColor",
            "needs a caption",
        ),
        (
            json!({"captionColor": "#ffffff"}),
            "style.captionColor",
            "needs a caption",
        ),
        (
            json!({"caption": "Scan me", "captionColor": "#555555"}),
            "style.captionColor",
            "at least 4.5:1",
        ),
        (
            json!({"caption": "Scan me", "border": 1}),
            "style.border",
            "must not touch the code",
        ),
    ];
    for (style, name, reason) in cases {
        let r = payment(&api, "image/png", json!({"url": PAY, "style": style})).await;
        assert_eq!(r.status, 400, "{style}");
        assert_eq!(r.invalid_params(), [name], "{style}");
        let got = r.json()["invalidParams"][0]["reason"]
            .as_str()
            .expect("reason")
            .to_owned();
        assert!(got.contains(reason), "{style}: {got:?} lacks {reason:?}");
    }
    // Too small a Size for this caption: refused on the call that asks for it, with the
    // smallest size that fits.
    let style = json!({"caption": "Scan this code with your phone now!"});
    let r = api
        .call(
            Method::POST,
            "/qr/v1",
            Some("image/png"),
            Some(json!({"url": PAY, "style": style})),
            &[("size", "120")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.invalid_params(), ["style.caption"]);
    assert!(
        r.json()["invalidParams"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("use a shorter caption or a size of at least"),
        "{}",
        r.json()
    );
    // A PDF of dots with rounded eyes is drawn too: a URL, and a page that decodes.
    let r = payment(
        &api,
        "application/pdf",
        json!({"url": PAY, "style": {"shape": "dots", "eyes": "rounded"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let page = common::get(r.json()["url"].as_str().expect("url")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "application/pdf");
    let (w, h, luma) = pdf_luma(&page.body);
    let content = read_rxing(w, h, luma).expect("the dotted PDF decodes");
    assert!(String::from_utf8(content).unwrap().starts_with("http"));
    srv.stop().await;
}
