//! The plain PNG writer alone (the symbol encoded outside the measured function), for
//! callgrind with the release profile:
//!
//!   cargo build --release --locked --example png_prof
//!   valgrind --tool=callgrind --toggle-collect='*png_prof*one*' \
//!     target/release/examples/png_prof short 800   # short | long | v40, size in px
//!
//! `png_prof sizes DIR` writes the cases of `tests/it/render/png_size.rs` as PNG files into
//! DIR (for comparing with `zopflipng -m` without the test).
use qr_origin::render::matrix::{QrMatrix, byte_capacity, encode};
use qr_origin::render::{Ecc, RenderOptions, max_content_len, render_matrix};

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

#[inline(never)]
fn one(m: &QrMatrix, o: &RenderOptions) -> usize {
    render_matrix(std::hint::black_box(m), o)
        .unwrap()
        .bytes
        .len()
}

/// `tests/it/render_common::text`: the same contents as the size test.
fn text(len: usize, seed: u64) -> Vec<u8> {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&";
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ALPHABET[(s % ALPHABET.len() as u64) as usize]
        })
        .collect()
}

fn sizes(dir: &str) {
    let mut cases: Vec<(String, Vec<u8>, Ecc, u32)> = Vec::new();
    for size in [100, 333, 800, 2000] {
        cases.push((format!("short-{size}"), SHORT.into(), Ecc::M, size));
        cases.push((format!("long-{size}"), LONG.into(), Ecc::M, size));
    }
    let eccs = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];
    let versions = [
        1u8, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 19, 22, 25, 28, 31, 34, 37, 40,
    ];
    let scales = [1.0, 2.5, 4.0, 6.3, 10.0, 15.0, 27.0];
    let mut k = 0;
    for (i, &v) in versions.iter().enumerate() {
        for j in 0..2 {
            let ecc = eccs[(i + j) % 4];
            let content = text(byte_capacity(v, ecc), u64::from(v) * 4 + j as u64);
            let total = encode(&content, ecc).unwrap().size() as u32 + 8;
            let px: f64 = scales[k % scales.len()];
            k += 3;
            let size = ((f64::from(total) * px).round() as u32).clamp(100.max(total), 2000);
            cases.push((format!("v{v}{ecc:?}-{size}"), content, ecc, size));
        }
    }
    for (name, content, ecc, size) in cases {
        let o = RenderOptions {
            size,
            ecc,
            ..RenderOptions::default()
        };
        let png = render_matrix(&encode(&content, ecc).unwrap(), &o).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png.bytes).unwrap();
    }
}

fn main() {
    let mut a = std::env::args().skip(1);
    let case = a.next().unwrap_or("short".into());
    if case == "sizes" {
        return sizes(&a.next().expect("a directory"));
    }
    let size: u32 = a.next().map_or(800, |s| s.parse().unwrap());
    let (content, ecc) = match case.as_str() {
        "short" => (SHORT.as_bytes().to_vec(), Ecc::M),
        "long" => (LONG.as_bytes().to_vec(), Ecc::M),
        "v40" => (vec![b'~'; max_content_len(Ecc::L)], Ecc::L),
        _ => panic!("short | long | v40 | sizes DIR"),
    };
    let m = encode(&content, ecc).unwrap();
    let o = RenderOptions {
        size,
        ecc,
        ..RenderOptions::default()
    };
    let n = one(&m, &o);
    if let Ok(path) = std::env::var("OUT") {
        std::fs::write(path, render_matrix(&m, &o).unwrap().bytes).unwrap();
    }
    eprintln!("{case} {size}: {n} B");
}
