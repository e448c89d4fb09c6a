//! Renders one branded case of `benches/icount.rs`'s `render_styled` group N times, for
//! callgrind with the release profile (short: 21 205 529 instructions where the bench read
//! 21 218 829 on the same code):
//!
//!   cargo build --release --locked --example styled_prof
//!   valgrind --tool=callgrind --toggle-collect='*styled_prof*one*' \
//!     target/release/examples/styled_prof short 1      # short | long | dots | logo | svg | lsvg
//!
//! `OUT=file.png` also writes the image; N > 1 prints the mean wall time per render.
use qr_origin::render::{
    Eyes, Format, LogoRef, RenderOptions, Shape, Style, logo_side, render_with_logo,
};
use qr_origin::store::LogoFormat;

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

#[inline(never)]
fn one(content: &str, o: &RenderOptions, p: Option<&tiny_skia::Pixmap>) -> usize {
    render_with_logo(std::hint::black_box(content.as_bytes()), o, p)
        .unwrap()
        .bytes
        .len()
}

fn main() {
    let mut a = std::env::args().skip(1);
    let case = a.next().unwrap_or("short".into());
    let n: usize = a.next().map_or(1, |s| s.parse().unwrap());
    let (content, shape, logo, format) = match case.as_str() {
        "short" => (SHORT, Shape::Rounded, false, Format::Png),
        "long" => (LONG, Shape::Rounded, false, Format::Png),
        "dots" => (SHORT, Shape::Dots, false, Format::Png),
        "logo" => (SHORT, Shape::Rounded, true, Format::Png),
        "svg" => (SHORT, Shape::Rounded, false, Format::Svg),
        "lsvg" => (LONG, Shape::Rounded, false, Format::Svg),
        _ => panic!(),
    };
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
    let pixmap = logo_side(content.as_bytes(), &o).unwrap().map(|side| {
        qr_origin::logo::decode(LogoFormat::Svg, include_bytes!("../docs/logo-example.svg"))
            .unwrap()
            .fit(side)
            .unwrap()
    });
    let t = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += one(content, &o, pixmap.as_ref());
    }
    if let Ok(path) = std::env::var("OUT") {
        let r = render_with_logo(content.as_bytes(), &o, pixmap.as_ref()).unwrap();
        std::fs::write(path, r.bytes).unwrap();
    }
    eprintln!(
        "{case}: {} B, {:?}/render",
        total / n,
        t.elapsed() / n as u32
    );
}
