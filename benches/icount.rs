//! Instruction counts of the hot paths under callgrind (gungraun): the CI gate. Wall-clock
//! figures move ±10 % run to run on the shared 2-core machine; the instructions of the same
//! binary on the same input do not, so `.ci/icount.sh` fails a change that adds more than 2 %
//! to any bench here (baseline: `benches/icount-baseline.txt`).
//!
//! Run the gate:       `.ci/icount.sh` (builds, runs, prints bench | baseline | now | change)
//! After an intended change: `.ci/icount.sh --update`, and commit the baseline with the reason.
//! Raw gungraun run:   `cargo bench --bench icount` (needs `gungraun-runner` =0.18.2 and
//!                     valgrind; its own per-run comparison lives under `target/gungraun`).
//!
//! Benches: plain PNG at 100/800/2000 px and SVG for the short link and the long deeplink, the
//! version-40 worst case (2953 bytes at ECC L, PNG 2000 px and SVG); the segmenter alone
//! (`segment`: the version choice with its optimal segmentation, for the short links, the long
//! deeplink, the most digits a symbol holds and a content searched in two version classes); branded codes at 800 px
//! (rounded modules and eyes, PNG and SVG, short and long; dots; the example logo); framed
//! codes with a caption (PNG and SVG at 800 px) and PDF pages (plain and framed); token
//! verification (valid,
//! forged signature, maximum length); the origin's request path in-process (`Origin::handle`:
//! a cache hit and a matching `If-None-Match`); a cached short-link resolve with its scan counted
//! (`--scan-counting on`: User-Agent classification, the keyed visitor hash, the pending map).
//! Wall time of the same paths: `benches/render.rs`, `token.rs`, `origin.rs`, `links.rs`.

use std::hint::black_box;
use std::sync::Arc;

use gungraun::{library_benchmark, library_benchmark_group, main};
use http::{HeaderMap, HeaderValue, Method, Uri};
use qr_origin::analytics::{Scans, Visit};
use qr_origin::links::Links;
use qr_origin::metrics::Metrics;
use qr_origin::origin::Origin;
use qr_origin::render::matrix::version_for;
use qr_origin::render::{
    Ecc, Format, RenderOptions, Rendered, Shape, max_content_len, render, render_with_logo,
};
use qr_origin::store::sqlite::SqliteStore;
use qr_origin::store::{Link, LinkKind, NewLink, NewMerchant, Store};
use qr_origin::token::{ImageClaims, Keyring, MAX_URL_BYTES, SigningKey};

mod segment_case;
mod styled_case;
use segment_case::{SHORT_API, max_digits, mixed_two_classes};
use styled_case::{LONG, SHORT, framed};

/// A fixed "now", so every token is valid and the bytes signed are the same in every run.
const NOW: i64 = 1_800_000_000;
const SECRET: &str = "icount-secret-0123456789-abcdefghijklmno";

fn opts(format: Format, size: u32, ecc: Ecc) -> RenderOptions {
    RenderOptions {
        format,
        size,
        ecc,
        ..RenderOptions::default()
    }
}

#[library_benchmark]
#[bench::short_png_100(SHORT, opts(Format::Png, 100, Ecc::M))]
#[bench::short_png_800(SHORT, opts(Format::Png, 800, Ecc::M))]
#[bench::short_png_2000(SHORT, opts(Format::Png, 2000, Ecc::M))]
#[bench::short_svg_800(SHORT, opts(Format::Svg, 800, Ecc::M))]
#[bench::long_png_100(LONG, opts(Format::Png, 100, Ecc::M))]
#[bench::long_png_800(LONG, opts(Format::Png, 800, Ecc::M))]
#[bench::long_png_2000(LONG, opts(Format::Png, 2000, Ecc::M))]
#[bench::long_svg_800(LONG, opts(Format::Svg, 800, Ecc::M))]
fn render_image(content: &str, o: RenderOptions) -> Rendered {
    black_box(render(black_box(content.as_bytes()), &o).expect("renders"))
}

/// The largest content (version 40 at ECC L) at the largest size: the longest render.
fn worst_case() -> Vec<u8> {
    vec![b'~'; max_content_len(Ecc::L)]
}

#[library_benchmark]
#[bench::v40_png_2000(worst_case(), opts(Format::Png, 2000, Ecc::L))]
#[bench::v40_svg_2000(worst_case(), opts(Format::Svg, 2000, Ecc::L))]
fn render_worst(content: Vec<u8>, o: RenderOptions) -> Rendered {
    black_box(render(black_box(&content), &o).expect("renders"))
}

// The segmenter as the encoder runs it (`matrix::version_for`: the optimal segmentation of each
// version class that may hold the content, and the smallest version that does), apart from the
// symbol it sizes: its share of every render bench above. (gungraun takes no doc comment here.)
#[library_benchmark]
#[bench::short(SHORT.as_bytes().to_vec(), Ecc::M)]
#[bench::short_api(SHORT_API.as_bytes().to_vec(), Ecc::M)]
#[bench::long(LONG.as_bytes().to_vec(), Ecc::M)]
#[bench::digits_7089(max_digits(), Ecc::L)]
#[bench::mixed_1932(mixed_two_classes(), Ecc::L)]
fn segment(content: Vec<u8>, ecc: Ecc) -> (Vec<u8>, u8) {
    let v = version_for(black_box(&content), ecc).expect("fits");
    (content, black_box(v))
}

/// A branded case of [`styled_case::styled`], with its content.
type StyledCase = (&'static str, RenderOptions, Option<tiny_skia::Pixmap>);

fn styled(content: &'static str, format: Format, shape: Shape, logo: bool) -> StyledCase {
    let (o, pixmap) = styled_case::styled(content, format, shape, logo);
    (content, o, pixmap)
}

#[library_benchmark]
#[bench::short_png_800(styled(SHORT, Format::Png, Shape::Rounded, false))]
#[bench::long_png_800(styled(LONG, Format::Png, Shape::Rounded, false))]
#[bench::short_png_800_dots(styled(SHORT, Format::Png, Shape::Dots, false))]
#[bench::short_png_800_logo(styled(SHORT, Format::Png, Shape::Rounded, true))]
#[bench::short_svg_800(styled(SHORT, Format::Svg, Shape::Rounded, false))]
#[bench::long_svg_800(styled(LONG, Format::Svg, Shape::Rounded, false))]
fn render_styled(case: StyledCase) -> (StyledCase, Rendered) {
    let (content, o, pixmap) = &case;
    let r = render_with_logo(black_box(content.as_bytes()), o, pixmap.as_ref()).expect("renders");
    // the case goes back with the image: the pixmap is dropped outside the measured function
    (case, black_box(r))
}

fn keyring() -> Keyring {
    Keyring::new(vec![SigningKey::new("k1", SECRET).expect("valid key")]).expect("one key")
}

fn claims(content: &str, format: Format, size: u32) -> ImageClaims {
    let mut c = ImageClaims::new(content, format, size);
    c.iss = Some("qr-origin".into());
    c.iat = Some(NOW - 60);
    c.nbf = Some(NOW - 60);
    c.exp = Some(NOW + 3600);
    c
}

/// A keyring and one of its tokens: `valid`, `forged` (last signature character changed) or
/// `max_len` (the longest content a token may carry).
fn token_case(case: &str) -> (Keyring, String) {
    let ring = keyring();
    let token = match case {
        "valid" => ring.sign(&claims(SHORT, Format::Png, 800)),
        "forged" => {
            let t = ring.sign(&claims(SHORT, Format::Png, 800));
            let (input, sig) = t.rsplit_once('.').expect("three parts");
            let flip = if sig.starts_with('A') { 'B' } else { 'A' };
            format!("{input}.{flip}{}", &sig[1..])
        }
        // no time claims, as in benches/token.rs: they would push it past the length cap
        "max_len" => ring.sign(&ImageClaims::new(
            "a".repeat(MAX_URL_BYTES),
            Format::Png,
            2000,
        )),
        _ => unreachable!("no such case"),
    };
    // the bench must time the path it names: a valid token is accepted, a forged one refused
    assert_eq!(ring.verify(&token, NOW).is_ok(), case != "forged", "{case}");
    (ring, token)
}

#[library_benchmark]
#[bench::valid(token_case("valid"))]
#[bench::forged(token_case("forged"))]
#[bench::max_len(token_case("max_len"))]
// Each bench hands its input back: dropping it (a runtime, a render pool) happens outside the
// measured function.
fn token_verify(case: (Keyring, String)) -> ((Keyring, String), bool) {
    let ok = case.0.verify(black_box(&case.1), NOW).is_ok();
    (case, black_box(ok))
}

/// The origin with one cached image, and a request for it.
struct OriginCase {
    rt: tokio::runtime::Runtime,
    origin: Origin,
    ring: Keyring,
    metrics: Metrics,
    uri: Uri,
    headers: HeaderMap,
}

/// `hit`: a plain GET of a cached image; `304`: the same with its ETag in `If-None-Match`.
fn origin_case(case: &str) -> OriginCase {
    // One thread: the whole request path runs on the measured thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let origin = Origin::new(64 << 20, 1, 16);
    let ring = keyring();
    let metrics = Metrics::new();
    let token = ring.sign(&claims(SHORT, Format::Png, 800));
    let uri: Uri = format!("/qr-generator/v1?token={token}")
        .parse()
        .expect("valid URI");
    let warm = rt
        .block_on(origin.handle(&ring, &metrics, NOW, &Method::GET, &uri, &HeaderMap::new()))
        .expect("renders");
    rt.block_on(origin.settle());
    let mut headers = HeaderMap::new();
    if case == "304" {
        let etag: HeaderValue = warm.headers()["etag"].clone();
        headers.insert("if-none-match", etag);
    }
    OriginCase {
        rt,
        origin,
        ring,
        metrics,
        uri,
        headers,
    }
}

#[library_benchmark]
#[bench::hit(origin_case("hit"))]
#[bench::not_modified(origin_case("304"))]
fn origin_request(c: OriginCase) -> (OriginCase, u16) {
    let resp = c.rt.block_on(c.origin.handle(
        &c.ring,
        &c.metrics,
        NOW,
        &Method::GET,
        black_box(&c.uri),
        &c.headers,
    ));
    let status = resp.expect("answers").status().as_u16();
    (c, black_box(status))
}

/// A short link resolved once (so it is in the links cache), its store and runtime, and the
/// scan counter with this scan counted once (a QR scanned again within a flush window).
struct LinkCase {
    rt: tokio::runtime::Runtime,
    links: Links,
    link: Link,
    scans: Arc<Scans>,
    _dir: tempfile::TempDir,
}

/// Safari on an iPhone: the most common scanner, and a User-Agent of typical length.
const IPHONE_UA: &[u8] = b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

fn visit() -> Visit<'static> {
    Visit {
        client: std::net::IpAddr::from([203, 0, 113, 7]),
        user_agent: IPHONE_UA,
    }
}

fn cached_link() -> LinkCase {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("store"));
    let now_ms = NOW * 1000;
    rt.block_on(store.add_merchant(&NewMerchant {
        msn: "123456".into(),
        name: "Bench AS".into(),
        client_id: "bench".into(),
        client_secret_sha256: "x".into(),
        subscription_key_sha256: "y".into(),
        created_at_ms: now_ms,
    }))
    .expect("merchant");
    let link = rt
        .block_on(store.create_link(
            &NewLink {
                // a fixed, well-formed code: the same bytes hashed in every run
                code: "DI5bjNA0Qz".into(),
                kind: LinkKind::Redirect,
                msn: "123456".into(),
                qr_id: Some("hot".into()),
                target: Some(
                    "https://example.com/a/fairly/typical/landing/page?campaign=tv".into(),
                ),
                created_at_ms: now_ms,
                expires_at_ms: None,
                style: None,
            },
            now_ms,
        ))
        .expect("link");
    let clock = Arc::new(qr_origin::clock::ManualClock::new(now_ms));
    let scans = Arc::new(Scans::new(
        Arc::clone(&store),
        clock.clone(),
        qr_origin::config::scans::ScanSettings::default(),
    ));
    rt.block_on(scans.ensure_keys());
    let links = Links::new(store, clock);
    let warm = rt
        .block_on(links.resolve(LinkKind::Redirect, &link.code))
        .expect("warm")
        .expect("live");
    scans.record(&warm, &visit());
    LinkCase {
        rt,
        links,
        link,
        scans,
        _dir: dir,
    }
}

#[library_benchmark]
#[bench::cached(cached_link())]
fn link_resolve(c: LinkCase) -> (LinkCase, bool) {
    let r =
        c.rt.block_on(c.links.resolve(LinkKind::Redirect, black_box(&c.link.code)));
    // What `Links::respond_to` does after a resolve with counting on.
    if let Ok(Some(link)) = &r {
        c.scans.record(link, black_box(&visit()));
    }
    let ok = r.is_ok();
    (c, black_box(ok))
}

#[library_benchmark]
#[bench::short_png_800(SHORT, framed(Format::Png))]
#[bench::short_svg_800(SHORT, framed(Format::Svg))]
fn render_framed(content: &str, o: RenderOptions) -> Rendered {
    black_box(render(black_box(content.as_bytes()), &o).expect("renders"))
}

#[library_benchmark]
#[bench::short_800(SHORT, opts(Format::Pdf, 800, Ecc::M))]
#[bench::short_800_framed(SHORT, framed(Format::Pdf))]
fn render_pdf(content: &str, o: RenderOptions) -> Rendered {
    black_box(render(black_box(content.as_bytes()), &o).expect("renders"))
}

library_benchmark_group!(
    name = render_group,
    benchmarks = [
        render_image,
        render_worst,
        render_styled,
        render_framed,
        render_pdf
    ]
);
library_benchmark_group!(name = segment_group, benchmarks = [segment]);
library_benchmark_group!(name = token_group, benchmarks = [token_verify]);
library_benchmark_group!(name = origin_group, benchmarks = [origin_request]);
library_benchmark_group!(name = links_group, benchmarks = [link_resolve]);

main!(
    library_benchmark_groups = render_group,
    segment_group,
    token_group,
    origin_group,
    links_group
);
