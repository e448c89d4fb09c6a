//! Plain PNG bytes against the best optimiser: `zopflipng -m` (Debian's `zopfli`) recompresses
//! each rendered image, and ours must stay within 1.2× of its bytes, over contents, versions and
//! sizes. The recompressed file must hold the same pixels (a check that the comparison is fair).
//!
//! Needs `zopflipng` on PATH: `.ci/run` installs it. Without it the test fails under CI=true
//! and is skipped (with a message) elsewhere.

mod render_common;

use std::process::Command;

use qr_origin::render::matrix::{byte_capacity, encode};
use qr_origin::render::{Ecc, RenderOptions, render};
use render_common::text;

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

/// Our bytes may be at most this many times zopflipng's (the design's budget for
/// bytes on the wire).
const MAX_RATIO: f64 = 1.2;

fn zopflipng_available() -> bool {
    let found = Command::new("zopflipng").arg("-h").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "zopflipng is missing in CI (.ci/run installs Debian's zopfli)"
        );
        eprintln!("png_size: zopflipng not on PATH, skipped (apt-get install zopfli)");
    }
    found
}

/// `zopflipng -m` of `png`: its output bytes.
fn zopflipng(png: &[u8], dir: &std::path::Path, name: &str) -> Vec<u8> {
    let (src, dst) = (
        dir.join(format!("{name}.png")),
        dir.join(format!("{name}.z.png")),
    );
    std::fs::write(&src, png).expect("write");
    let out = Command::new("zopflipng")
        .args(["-m", "-y"])
        .arg(&src)
        .arg(&dst)
        .output()
        .expect("zopflipng runs");
    assert!(out.status.success(), "zopflipng: {out:?}");
    std::fs::read(&dst).expect("zopflipng wrote its output")
}

/// Pixels as 8-bit luma, whatever colour type the file uses (`image` decodes).
fn luma(png: &[u8]) -> Vec<u8> {
    image::load_from_memory(png)
        .expect("decodes")
        .to_luma8()
        .into_raw()
}

/// The short link and the long deeplink at the published sizes.
#[test]
fn published_sizes_within_1_2x_of_zopflipng() {
    let mut cases: Vec<(String, Vec<u8>, u32)> = Vec::new();
    for size in [100, 333, 800, 2000] {
        cases.push((format!("short/{size}"), SHORT.into(), size));
        cases.push((format!("long/{size}"), LONG.into(), size));
    }
    assert_within_ratio(&cases);
}

/// The fullest content of a spread of versions at ~4 and ~10 px per module.
#[test]
fn versions_within_1_2x_of_zopflipng() {
    let mut cases: Vec<(String, Vec<u8>, u32)> = Vec::new();
    for v in [1u8, 5, 10, 20, 30, 40] {
        let content = text(byte_capacity(v, Ecc::M), u64::from(v));
        let total = encode(&content, Ecc::M).expect("fits").size() as u32 + 8;
        for px in [4, 10] {
            let size = (total * px).clamp(100, 2000);
            cases.push((format!("v{v}/{size}"), content.clone(), size));
        }
    }
    assert_within_ratio(&cases);
}

/// Renders each case, recompresses it with zopflipng (same pixels) and checks the ratio.
fn assert_within_ratio(cases: &[(String, Vec<u8>, u32)]) {
    if !zopflipng_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worst: f64 = 0.0;
    let mut report = String::new();
    for (i, (name, content, size)) in cases.iter().enumerate() {
        let opts = RenderOptions {
            size: *size,
            ..RenderOptions::default()
        };
        let ours = render(content, &opts).expect("renders").bytes;
        let best = zopflipng(&ours, dir.path(), &i.to_string());
        assert_eq!(
            luma(&best),
            luma(&ours),
            "{name}: zopflipng changed the pixels"
        );
        let ratio = ours.len() as f64 / best.len() as f64;
        worst = worst.max(ratio);
        report.push_str(&format!(
            "{name:>10}: ours {:>6} B  zopflipng {:>6} B  {ratio:.3}x\n",
            ours.len(),
            best.len()
        ));
    }
    eprint!("{report}");
    assert!(
        worst <= MAX_RATIO,
        "worst ratio {worst:.3} > {MAX_RATIO}:\n{report}"
    );
}
