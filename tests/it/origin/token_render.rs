//! Tokens minted by an independent JWT library verify and render: `jsonwebtoken` signs the seed
//! API's payload shape (and the style extensions), `Keyring::verify` accepts it, the renderer
//! draws it, and `rqrr` reads the exact `url` back. No server: this is the token → render seam
//! the origin stands on.

use crate::common;

use common::{KID, SECRET, decode_png, decode_svg, jwt};
use qr_origin::render::{self, Ecc, Format, Rgb};
use qr_origin::token::{Keyring, SigningKey};
use serde_json::json;

const NOW: i64 = 1648598709 + 60;

fn ring() -> Keyring {
    Keyring::new(vec![SigningKey::new(KID, SECRET).expect("valid key")]).expect("one key")
}

#[test]
fn seed_shaped_png_tokens_render_their_url() {
    // (100 px is below what rqrr reads at this content length; render tests cover it by upscaling.)
    for size in [json!("800"), json!(800), json!("250")] {
        let claims = json!({"format":"image/png","size":size,"url":"https://qr.example.com/r/DI5bjNA0",
                            "iss":"qr-origin","nbf":1648598709,"exp":1648602309,"iat":1648598709});
        for kid in [None, Some(KID)] {
            let c = ring()
                .verify(&jwt(&claims, kid, SECRET), NOW)
                .expect("a jsonwebtoken-minted seed token verifies");
            let img = render::render(c.url.as_bytes(), &c.render_options()).expect("renders");
            assert_eq!(img.content_type, "image/png");
            assert_eq!(decode_png(&img.bytes), "https://qr.example.com/r/DI5bjNA0");
            let px = image::load_from_memory(&img.bytes).expect("PNG");
            let want = size
                .as_u64()
                .unwrap_or_else(|| size.as_str().unwrap().parse().unwrap());
            assert_eq!(
                (u64::from(px.width()), u64::from(px.height())),
                (want, want)
            );
        }
    }
}

#[test]
fn svg_token_with_style_extensions_renders_them() {
    let claims = json!({"format":"image/svg+xml","size":"400","url":"https://qr.example.com/c/kiosk-7",
                        "ecc":"H","border":2,"fg":"#1a2b3c","bg":"#fffff0"});
    let c = ring()
        .verify(&jwt(&claims, Some(KID), SECRET), NOW)
        .expect("verifies without exp or nbf");
    let o = c.render_options();
    assert_eq!(
        (o.format, o.size, o.ecc, o.border, o.dark, o.light),
        (
            Format::Svg,
            400,
            Ecc::H,
            2,
            Rgb(0x1a, 0x2b, 0x3c),
            Rgb(0xff, 0xff, 0xf0)
        )
    );
    let img = render::render(c.url.as_bytes(), &o).expect("renders");
    let svg = String::from_utf8(img.bytes.clone()).expect("SVG is UTF-8");
    assert!(
        svg.contains("#1a2b3c") && svg.contains("#fffff0"),
        "{svg:.300}"
    );
    assert_eq!(decode_svg(&img.bytes), "https://qr.example.com/c/kiosk-7");
}

#[test]
fn tokens_we_sign_render_what_they_say() {
    let ring = ring();
    let mut claims =
        qr_origin::token::ImageClaims::new("https://qr.example.com/p/x9", Format::Png, 300);
    claims.ecc = Ecc::Q;
    claims.border = 6;
    let c = ring.verify(&ring.sign(&claims), NOW).expect("round trip");
    assert_eq!(c, claims);
    let img = render::render(c.url.as_bytes(), &c.render_options()).expect("renders");
    assert_eq!(decode_png(&img.bytes), "https://qr.example.com/p/x9");
}
