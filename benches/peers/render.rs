//! Render benches: QR content → image bytes, single thread.
//!
//! Run:                `cargo bench --bench render`
//! Quick run:          `cargo bench --bench render -- --warm-up-time 1 --measurement-time 3`
//! Against a baseline: `cargo bench --bench render -- --save-baseline before` on the old code,
//!                     then `cargo bench --bench render -- --baseline before` on the new.
//! One group:          `cargo bench --bench render -- 'png/'`
//!
//! Groups: `encode` (content → module matrix), `png` at 100/800/2000 px, `svg`, `png_writer`
//! (our PNG writer against the `png` crate on the same 1-bit raster), `adversarial` (the longest
//! content at the largest size) and `baseline` — what a Rust user would otherwise pick, the
//! `qrcode` crate rendering through `image`, or `fast_qr` through its resvg stack, to an 800 px
//! PNG — measured in the same run, so the ratio holds on a noisy machine. Figures and history: `src/render/PERFORMANCE.md`.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fast_qr::convert::Builder as _;
use qr_origin::render::matrix::{QrMatrix, encode};
use qr_origin::render::{Ecc, Format, RenderOptions, max_content_len, render, render_matrix};

/// The short link a printed QR carries.
const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
/// A long payment deeplink (version 9 at ECC M).
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";
const CONTENTS: [(&str, &str); 2] = [("short", SHORT), ("long", LONG)];

fn opts(format: Format, size: u32) -> RenderOptions {
    RenderOptions {
        format,
        size,
        ..RenderOptions::default()
    }
}

fn encode_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (name, content) in CONTENTS {
        g.throughput(Throughput::Bytes(content.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| encode(black_box(content.as_bytes()), Ecc::M).expect("fits"))
        });
    }
    g.finish();
}

fn png_sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("png");
    for (name, content) in CONTENTS {
        for size in [100, 800, 2000] {
            let o = opts(Format::Png, size);
            g.throughput(Throughput::Bytes(content.len() as u64));
            g.bench_with_input(
                BenchmarkId::new(name, format!("size={size}")),
                &o,
                |b, o| b.iter(|| render(black_box(content.as_bytes()), o).expect("renders")),
            );
        }
    }
    g.finish();
}

fn svg(c: &mut Criterion) {
    let mut g = c.benchmark_group("svg");
    let o = opts(Format::Svg, 800);
    for (name, content) in CONTENTS {
        g.throughput(Throughput::Bytes(content.len() as u64));
        g.bench_function(BenchmarkId::new(name, "size=800"), |b| {
            b.iter(|| render(black_box(content.as_bytes()), &o).expect("renders"))
        });
    }
    g.finish();
}

/// The 1-bit, filter-None raster of `m` at `size` px (rows with their filter byte stripped),
/// built outside the timed loop so the `png` crate is timed on encoding alone.
fn raster(m: &QrMatrix, size: usize) -> Vec<u8> {
    let total = m.size() + 8;
    let stride = size.div_ceil(8);
    let mut out = vec![0xFFu8; stride * size];
    for py in 0..size {
        for px in 0..size {
            let (mx, my) = (px * total / size, py * total / size);
            let inside = (4..4 + m.size()).contains(&mx) && (4..4 + m.size()).contains(&my);
            if inside && m.is_dark(mx - 4, my - 4) {
                out[py * stride + px / 8] &= !(0x80 >> (px % 8));
            }
        }
    }
    out
}

fn png_writer(c: &mut Criterion) {
    let mut g = c.benchmark_group("png_writer");
    for (name, content) in CONTENTS {
        let m = encode(content.as_bytes(), Ecc::M).expect("fits");
        let o = opts(Format::Png, 800);
        g.bench_function(BenchmarkId::new("ours", name), |b| {
            b.iter(|| render_matrix(black_box(&m), &o).expect("renders"))
        });
        let pixels = raster(&m, 800);
        g.bench_function(BenchmarkId::new("png_crate_fast_up", name), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(16 * 1024);
                let mut e = png::Encoder::new(&mut out, 800, 800);
                e.set_color(png::ColorType::Grayscale);
                e.set_depth(png::BitDepth::One);
                // Setting the compression resets the filter, so the filter goes second.
                e.set_compression(png::Compression::Fast);
                e.set_filter(png::Filter::Up);
                let mut w = e.write_header().expect("to a Vec");
                w.write_image_data(black_box(&pixels)).expect("sized");
                w.finish().expect("to a Vec");
                out
            })
        });
    }
    g.finish();
}

fn adversarial(c: &mut Criterion) {
    let mut g = c.benchmark_group("adversarial");
    let content = vec![b'~'; max_content_len(Ecc::L)];
    let o = RenderOptions {
        ecc: Ecc::L,
        ..opts(Format::Png, 2000)
    };
    g.throughput(Throughput::Bytes(content.len() as u64));
    g.bench_function("encode/max_len", |b| {
        b.iter(|| encode(black_box(&content), Ecc::L).expect("fits"))
    });
    g.bench_function("png/max_len/size=2000", |b| {
        b.iter(|| render(black_box(&content), &o).expect("renders"))
    });
    let o = RenderOptions {
        format: Format::Svg,
        ..o
    };
    g.bench_function("svg/max_len", |b| {
        b.iter(|| render(black_box(&content), &o).expect("renders"))
    });
    g.finish();
}

/// The peers' PNG at 800 px: `qrcode` + `image` (encode, draw an ≥ 800 px luma image, write a
/// PNG) and `fast_qr` (encode, draw square modules with its resvg stack, write a PNG).
fn baseline(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    for (name, content) in CONTENTS {
        g.throughput(Throughput::Bytes(content.len() as u64));
        g.bench_function(BenchmarkId::new("qrcode_image_png", name), |b| {
            b.iter(|| {
                let code = qrcode::QrCode::with_error_correction_level(
                    black_box(content.as_bytes()),
                    qrcode::EcLevel::M,
                )
                .expect("fits");
                let img = code
                    .render::<image::Luma<u8>>()
                    .min_dimensions(800, 800)
                    .build();
                let mut out = Cursor::new(Vec::new());
                img.write_to(&mut out, image::ImageFormat::Png)
                    .expect("to a Vec");
                out.into_inner()
            })
        });
        // `fast_qr`'s own PNG path for square modules (its resvg stack at 800 px)
        g.bench_function(BenchmarkId::new("fast_qr_png", name), |b| {
            b.iter(|| {
                let qr = fast_qr::qr::QRBuilder::new(black_box(content))
                    .ecl(fast_qr::ECL::M)
                    .build()
                    .expect("fits");
                fast_qr::convert::image::ImageBuilder::default()
                    .shape(fast_qr::convert::Shape::Square)
                    .fit_width(800)
                    .to_bytes(&qr)
                    .expect("renders")
            })
        });
    }
    g.finish();
}

criterion_group!(
    render_benches,
    encode_only,
    png_sizes,
    svg,
    png_writer,
    adversarial,
    baseline
);
criterion_main!(render_benches);
