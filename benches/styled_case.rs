//! The contents and the branded-code cases that `icount.rs` measures and
//! `examples/styled_prof.rs` profiles under callgrind: one source (the example includes this
//! file), so a profile is always of the very case the gate counts.

use qr_origin::render::{
    Caption, Eyes, Format, Frame, LogoRef, RenderOptions, Shape, Style, logo_side,
};
use qr_origin::store::LogoFormat;

/// The short link a printed QR carries (version 3 at ECC M).
pub const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
/// A long payment deeplink (version 9 at ECC M).
pub const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

/// A branded code's options at 800 px, rounded eyes (`logo`: the example logo at 0.15), and the
/// logo scaled to its square, as the origin's logo cache holds it: the scaling is not measured.
pub fn styled(
    content: &str,
    format: Format,
    shape: Shape,
    logo: bool,
) -> (RenderOptions, Option<tiny_skia::Pixmap>) {
    let o = RenderOptions {
        format,
        size: 800,
        style: Style {
            shape,
            eyes: Eyes::Rounded,
            logo: logo.then_some(LogoRef {
                id: [1; 32],
                size_permille: 150,
            }),
            ..Style::default()
        },
        ..RenderOptions::default()
    };
    let pixmap = logo_side(content.as_bytes(), &o)
        .expect("the logo fits")
        .map(|side| {
            qr_origin::logo::decode(LogoFormat::Svg, include_bytes!("../docs/logo-example.svg"))
                .expect("the example logo is valid")
                .fit(side)
                .expect("a logo square is never empty")
        });
    (o, pixmap)
}

/// A plain square code at 800 px in a frame with the caption "Scan me".
pub fn framed(format: Format) -> RenderOptions {
    RenderOptions {
        format,
        size: 800,
        style: Style {
            frame: Some(Frame {
                caption: Caption::new("Scan me").expect("a valid caption"),
                frame_color: None,
                caption_color: None,
            }),
            ..Style::default()
        },
        ..RenderOptions::default()
    }
}
