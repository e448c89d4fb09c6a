//! Origin benches: the whole image request path in-process (token verification alone is in
//! `benches/token.rs`).
//!
//! Run: `cargo bench --bench origin`. Against a baseline:
//! `cargo bench --bench origin -- --save-baseline before`, change, then
//! `cargo bench --bench origin -- --baseline before`.
//!
//! Groups:
//! - `origin/hit`, `origin/miss`: `Origin::handle` (verify → ETag → cache → headers), a cached
//!   image vs. a new image every iteration (one render each).
//! - `origin/304`: a conditional request whose ETag matches (no cache lookup).
//! - `offload/*`: one render inline on the async worker vs. hopped to `spawn_blocking`; the
//!   difference is what moving renders off the reactor would cost per miss.
//! - `http/hit`: a cached image over a real loopback HTTP/1.1 keep-alive connection (hyper on
//!   both ends), i.e. what the load test's hit scenario does per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use qr_origin::clock::{Clock, SystemClock};
use qr_origin::config::Config;
use qr_origin::render::{self, Format, RenderOptions};
use qr_origin::state::AppState;
use qr_origin::token::ImageClaims;

const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnop";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A real server (bound on 127.0.0.1:0 and serving) and its state.
fn server(rt: &tokio::runtime::Runtime) -> Arc<AppState> {
    let dir = std::env::temp_dir().join(format!("qr-origin-bench-{}", std::process::id()));
    let mut cfg = Config::local(&dir);
    cfg.signing_keys = vec![("bench".into(), SECRET.into())];
    rt.block_on(async {
        let (listener, state) = qr_origin::server::bind(cfg, Arc::new(SystemClock))
            .await
            .expect("bind");
        tokio::spawn(qr_origin::server::run(listener, state.clone()));
        state
    })
}

fn claims(content: &str, format: Format, size: u32) -> ImageClaims {
    let now = SystemClock.now_unix();
    let mut c = ImageClaims::new(content, format, size);
    c.iss = Some("qr-origin".into());
    c.iat = Some(now);
    c.nbf = Some(now);
    c.exp = Some(now + 3600);
    c
}

fn uri_for(state: &AppState, c: &ImageClaims) -> Uri {
    let token = state.keyring.sign(c);
    format!("/qr-generator/v1?token={token}")
        .parse()
        .expect("valid URI")
}

fn origin_path(c: &mut Criterion) {
    let rt = runtime();
    let state = server(&rt);
    let headers = HeaderMap::new();
    let mut g = c.benchmark_group("origin");

    for (format, size) in [(Format::Png, 800), (Format::Svg, 800), (Format::Png, 2000)] {
        let name = format!("{}/size={size}", format_name(format));
        let uri = uri_for(
            &state,
            &claims("https://qr.example.com/r/hit", format, size),
        );
        let call = |uri: &Uri, m: &Method, h: &HeaderMap| {
            rt.block_on(state.origin.handle(
                &state.keyring,
                &state.metrics,
                SystemClock.now_unix(),
                m,
                uri,
                h,
            ))
            .expect("renders")
        };
        let warm = call(&uri, &Method::GET, &headers);
        let etag = warm.headers()["etag"].clone();
        g.bench_function(BenchmarkId::new("hit", &name), |b| {
            b.iter(|| call(&uri, &Method::GET, &headers))
        });
        let mut conditional = HeaderMap::new();
        conditional.insert("if-none-match", etag);
        g.bench_function(BenchmarkId::new("304", &name), |b| {
            b.iter(|| call(&uri, &Method::GET, &conditional))
        });
        let counter = AtomicU64::new(0);
        g.bench_function(BenchmarkId::new("miss", &name), |b| {
            b.iter_batched(
                || {
                    let i = counter.fetch_add(1, Ordering::Relaxed);
                    uri_for(
                        &state,
                        &claims(&format!("https://qr.example.com/r/m{i:08}"), format, size),
                    )
                },
                |uri| call(&uri, &Method::GET, &headers),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn offload(c: &mut Criterion) {
    let rt = runtime();
    let opts = RenderOptions {
        format: Format::Png,
        size: 800,
        ..RenderOptions::default()
    };
    let content: &'static [u8] = b"https://qr.example.com/r/DI5bjNA0";
    let mut g = c.benchmark_group("offload");
    g.bench_function("inline/png/size=800", |b| {
        b.iter(|| rt.block_on(async { render::render(content, &opts).expect("renders") }))
    });
    g.bench_function("spawn_blocking/png/size=800", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::task::spawn_blocking(move || render::render(content, &opts))
                    .await
                    .expect("no panic")
                    .expect("renders")
            })
        })
    });
    g.finish();
}

fn http_hit(c: &mut Criterion) {
    let rt = runtime();
    let state = server(&rt);
    let addr: std::net::SocketAddr = state
        .public_url
        .trim_start_matches("http://")
        .parse()
        .expect("bound address");
    let uri = uri_for(
        &state,
        &claims("https://qr.example.com/r/http", Format::Png, 800),
    );
    let mut sender = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        sender
    });
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut get = || {
        rt.block_on(async {
            let req = Request::get(uri.clone())
                .header("host", host.clone())
                .body(Full::new(Bytes::new()))
                .expect("request");
            sender.ready().await.expect("ready");
            let resp = sender.send_request(req).await.expect("response");
            resp.into_body().collect().await.expect("body").to_bytes()
        })
    };
    let bytes = get().len();
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("hit/png/size=800", |b| b.iter(&mut get));
    g.finish();
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Png => "png",
        Format::Svg => "svg",
        Format::Text => "text",
        Format::Pdf => "pdf",
    }
}

criterion_group!(benches, origin_path, offload, http_hit);
criterion_main!(benches);
