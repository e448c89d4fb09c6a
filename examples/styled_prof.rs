//! Renders one branded case of `benches/icount.rs`'s `render_styled` group N times, for
//! callgrind with the release profile (short: 21 205 529 instructions where the bench read
//! 21 218 829 on the same code):
//!
//!   cargo build --release --locked --example styled_prof
//!   valgrind --tool=callgrind --toggle-collect='*styled_prof*one*' \
//!     target/release/examples/styled_prof short 1      # short | long | dots | logo | svg | lsvg
//!
//! and the framed and PDF cases: `framed` | `fsvg` (the caption "Scan me" round the plain
//! code), `pdf` | `fpdf` (plain, framed), `plain` | `psvg` (the plain code, for comparison).
//!
//! `OUT=file.png` also writes the image; N > 1 prints the mean wall time per render.
use qr_origin::render::{Format, RenderOptions, Shape, render_with_logo};

// The bench's own cases, so the profile is of what the gate counts.
#[path = "../benches/styled_case.rs"]
mod styled_case;
use styled_case::{LONG, SHORT, framed, styled};

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
    let plain = |format| RenderOptions {
        format,
        ..RenderOptions::default()
    };
    let unstyled = match case.as_str() {
        "framed" => Some(framed(Format::Png)),
        "fsvg" => Some(framed(Format::Svg)),
        "fpdf" => Some(framed(Format::Pdf)),
        "pdf" => Some(plain(Format::Pdf)),
        "plain" => Some(plain(Format::Png)),
        "psvg" => Some(plain(Format::Svg)),
        _ => None,
    };
    let (content, shape, logo, format) = match case.as_str() {
        _ if unstyled.is_some() => (SHORT, Shape::Square, false, Format::Png),
        "short" => (SHORT, Shape::Rounded, false, Format::Png),
        "long" => (LONG, Shape::Rounded, false, Format::Png),
        "dots" => (SHORT, Shape::Dots, false, Format::Png),
        "logo" => (SHORT, Shape::Rounded, true, Format::Png),
        "llogo" => (LONG, Shape::Rounded, true, Format::Png),
        "svg" => (SHORT, Shape::Rounded, false, Format::Svg),
        "lsvg" => (LONG, Shape::Rounded, false, Format::Svg),
        _ => panic!(),
    };
    let (o, pixmap) = match unstyled {
        Some(o) => (o, None),
        None => styled(content, format, shape, logo),
    };
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
