//! Styled renders: PNG at 800 px and SVG for the short link and the long deeplink, with and
//! without a logo, against `fast_qr`'s own styled PNG (`ImageBuilder`, `Shape::RoundedSquare`)
//! in the same run. The logo is `docs/logo-example.svg` scaled once to the logo square (the
//! origin caches the scaled pixmap), so the logo rows time the render alone.
//!
//! Run (and compare against a saved baseline):
//!   nice -n 19 cargo bench --bench styled -- --warm-up-time 1 --measurement-time 3 --save-baseline before
//!   nice -n 19 cargo bench --bench styled -- --warm-up-time 1 --measurement-time 3 --baseline before

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fast_qr::convert::{Builder, Shape as FastShape, image::ImageBuilder};
use fast_qr::qr::QRBuilder;
use qr_origin::logo;
use qr_origin::render::{
    Ecc, Eyes, Format, LogoRef, RenderOptions, Shape, Style, logo_side, render_with_logo,
};
use qr_origin::store::LogoFormat;

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

fn style(logo: bool) -> Style {
    Style {
        shape: Shape::Rounded,
        eyes: Eyes::Rounded,
        logo: logo.then_some(LogoRef {
            id: [1; 32],
            size_permille: 150,
        }),
        ..Style::default()
    }
}

fn styled(c: &mut Criterion) {
    let decoded = logo::decode(
        LogoFormat::Svg,
        include_bytes!("../../docs/logo-example.svg"),
    )
    .expect("the example logo is valid");
    let mut g = c.benchmark_group("styled");
    for (name, content) in [("short", SHORT), ("long", LONG)] {
        for with_logo in [false, true] {
            let opts = RenderOptions {
                size: 800,
                ecc: Ecc::M,
                style: style(with_logo),
                ..RenderOptions::default()
            };
            // The long deeplink's symbol has an alignment pattern on its centre: no logo.
            let Ok(side) = logo_side(content.as_bytes(), &opts) else {
                continue;
            };
            let pixmap = side.and_then(|s| decoded.fit(s));
            let id = format!("{name}/logo={with_logo}");
            for format in [Format::Png, Format::Svg] {
                let o = RenderOptions { format, ..opts };
                let bytes = render_with_logo(content.as_bytes(), &o, pixmap.as_ref())
                    .expect("renders")
                    .bytes
                    .len();
                eprintln!("styled {format:?} {id}: {bytes} bytes");
                let group = if format == Format::Png {
                    "png800"
                } else {
                    "svg"
                };
                g.bench_function(BenchmarkId::new(group, &id), |b| {
                    b.iter(|| render_with_logo(black_box(content.as_bytes()), &o, pixmap.as_ref()))
                });
            }
        }
        let qr = QRBuilder::new(content).build().expect("fast_qr encodes");
        let bytes = ImageBuilder::default()
            .shape(FastShape::RoundedSquare)
            .fit_width(800)
            .to_bytes(&qr)
            .expect("fast_qr renders")
            .len();
        eprintln!("fast_qr PNG {name}: {bytes} bytes");
        g.bench_function(BenchmarkId::new("fast_qr_png800", name), |b| {
            b.iter(|| {
                let qr = QRBuilder::new(black_box(content)).build().expect("encodes");
                ImageBuilder::default()
                    .shape(FastShape::RoundedSquare)
                    .fit_width(800)
                    .to_bytes(&qr)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, styled);
criterion_main!(benches);
