//! Runs the segmenter (`matrix::version_for`), the plain symbol encode (`matrix::encode`) or a
//! whole plain render of one case of `benches/icount.rs` N times, for callgrind:
//!
//!   cargo build --locked --profile prof --example encode_prof
//!   valgrind --tool=callgrind --toggle-collect='*encode_prof*one*' \
//!     target/prof/examples/encode_prof short encode 1
//!     # short | api | long | v40 | digits | mixed; segment | encode | svg | png
//!
//! N > 1 prints the mean wall time per call.
use qr_origin::render::{Ecc, Format, RenderOptions, matrix, max_content_len, render};

// The segment bench's own contents, so the profile is of what the gate counts.
#[path = "../benches/segment_case.rs"]
mod segment_case;
use segment_case::{SHORT_API, max_digits, mixed_two_classes};

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

#[inline(never)]
fn one(content: &[u8], what: &str, o: &RenderOptions) -> usize {
    let content = std::hint::black_box(content);
    match what {
        "segment" => matrix::version_for(content, o.ecc).unwrap() as usize,
        "encode" => matrix::encode(content, o.ecc).unwrap().mask() as usize,
        _ => render(content, o).unwrap().bytes.len(),
    }
}

fn main() {
    let mut a = std::env::args().skip(1);
    let case = a.next().unwrap_or("short".into());
    let what = a.next().unwrap_or("encode".into());
    let n: usize = a.next().map_or(1, |s| s.parse().unwrap());
    let (content, ecc, size) = match case.as_str() {
        "short" => (SHORT.as_bytes().to_vec(), Ecc::M, 800),
        "api" => (SHORT_API.as_bytes().to_vec(), Ecc::M, 800),
        "long" => (LONG.as_bytes().to_vec(), Ecc::M, 800),
        "v40" => (vec![b'~'; max_content_len(Ecc::L)], Ecc::L, 2000),
        "digits" => (max_digits(), Ecc::L, 2000),
        "mixed" => (mixed_two_classes(), Ecc::L, 2000),
        _ => panic!("case: short | api | long | v40 | digits | mixed"),
    };
    let o = RenderOptions {
        format: if what == "png" {
            Format::Png
        } else {
            Format::Svg
        },
        size,
        ecc,
        ..RenderOptions::default()
    };
    let t = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += one(&content, &what, &o);
    }
    eprintln!(
        "{case} {what}: {}, {:?}/call",
        total / n,
        t.elapsed() / n as u32
    );
}
