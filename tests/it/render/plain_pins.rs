//! The plain square code keeps its exact bytes: SHA-256 digests of the plain PNG and SVG output.
//! The SVG digests are those of the run-path writer of RENDERER_VERSION 4 (`M x y` per row,
//! `m dx-1` between a row's runs, no `z`), checked module by module by `render::svg`'s unit
//! tests; the PNG digests are those of the plain PNG writer of RENDERER_VERSION 8 (one table
//! entry per colour change, no lazy step: the plain PNG bytes changed on purpose). A styled change that reaches the
//! plain path fails here; a deliberate change to plain bytes updates these together with
//! RENDERER_VERSION.

use qr_origin::render::{Ecc, Format, RenderOptions, Rgb, render};
use sha2::{Digest, Sha256};

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";

fn digest(content: &str, opts: RenderOptions) -> String {
    let bytes = render(content.as_bytes(), &opts).expect("renders").bytes;
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn plain_output_is_pinned() {
    let d = RenderOptions::default();
    let cases = [
        (
            SHORT,
            d,
            "c20f2adfa07433bec59713fa183b695f7c1da8f7e7042a6d8cda0968e02a5759",
        ),
        (
            SHORT,
            RenderOptions {
                format: Format::Svg,
                ..d
            },
            "32c8f5e6d62940a55b084023516165660cccf4b37f3270bd345a2930c35bf07e",
        ),
        (
            LONG,
            RenderOptions {
                size: 333,
                ecc: Ecc::Q,
                border: 2,
                dark: Rgb(0x1a, 0x3c, 0x8c),
                light: Rgb(0xff, 0xf8, 0xe7),
                ..d
            },
            "4d57be02cd2e7afd7aea4818067a053105decb1cb8e5cb1c7ce12c8a5f0c0c63",
        ),
        (
            LONG,
            RenderOptions {
                format: Format::Svg,
                size: 101,
                ecc: Ecc::H,
                ..d
            },
            "1765381b2789f0ea1c76fac1fb31d01efca192aaadfdb7702b542f35a942d116",
        ),
        (
            LONG,
            RenderOptions {
                size: 2000,
                ecc: Ecc::L,
                border: 0,
                ..d
            },
            "07e6c6cf5d9ce83790117c822ff2fad867abaa81b408805bc529f8d3569f868d",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|&(content, opts, want)| {
            let got = digest(content, opts);
            (got != want).then(|| format!("{opts:?}: {got}, pinned {want}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "plain output changed:\n{}",
        wrong.join("\n")
    );
}
