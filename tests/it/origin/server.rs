//! The server itself over real sockets: protocols, keep-alive, timeouts, the connection cap,
//! graceful shutdown and the operator endpoints.

use crate::common;

use std::time::Duration;

use common::*;
use qr_origin::render::Format;
use qr_origin::token::ImageClaims;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound on how long a test waits for the server to act; a safety net against hangs, not a
/// timing assertion (the timeouts under test are far shorter).
const PATIENCE: Duration = Duration::from_secs(20);

fn png_path(srv: &TestServer, content: &str) -> String {
    let claims = ImageClaims::new(content, Format::Png, 200);
    image_path(&srv.state.keyring.sign(&claims))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_readyz_and_unknown_paths() {
    let srv = start().await;
    let r = get(&srv.url("/healthz")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(get(&srv.url("/readyz")).await.status, 200);
    let r = get(&srv.url("/nope")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), "no-store");
    let r = request(http::Method::POST, &srv.url("/healthz"), &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), "GET, HEAD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_keep_alive_serves_several_requests_on_one_connection() {
    let srv = start().await;
    let mut conn = Conn::open(srv.addr).await;
    let path = png_path(&srv, "https://qr.example.com/r/keepalive");
    let first = conn.get(&path).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-cache"), "MISS");
    let second = conn.get(&path).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-cache"), "HIT");
    assert_eq!(conn.get("/healthz").await.status, 200);
    assert!(!conn.is_closed());
    assert_eq!(
        srv.state
            .metrics
            .connections_open
            .load(std::sync::atomic::Ordering::Relaxed),
        1,
        "three requests, one connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_serves_images() {
    let srv = start().await;
    let content = "https://qr.example.com/r/over-h2";
    let r = get_h2(&srv.url(&png_path(&srv, content))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.version, http::Version::HTTP_2);
    assert_eq!(r.header("content-type"), "image/png");
    assert_eq!(decode_png(&r.body), content);
}

/// Reads from `stream` until the server closes it; returns what arrived.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_with_partial_header_is_disconnected() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream))
        .await
        .expect("the server closes a connection whose head never completes");
    // hyper may answer 408 before closing, but must never serve the request.
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_alive_client_with_partial_next_header_is_disconnected() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The first answer in full (keep-alive), then the next head begun and never finished.
    let mut first = Vec::new();
    let mut buf = [0u8; 1024];
    while !first.ends_with(b"ok\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the first answer");
        first.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&first).starts_with("HTTP/1.1 200"));
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream))
        .await
        .expect("the server closes a kept-alive connection whose next head never completes");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_is_disconnected() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_millis(200)).await;
    // Nothing at all, then half an HTTP/2 preface: both stall protocol detection.
    for opening in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut stream = TcpStream::connect(srv.addr).await.unwrap();
        stream.write_all(opening).await.unwrap();
        let got = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream))
            .await
            .expect("the server closes a connection that never sends a request");
        assert!(got.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_stops_reading_is_disconnected() {
    let srv = start_with(|c| {
        c.header_read_timeout = Duration::from_millis(200);
        c.max_token_bytes = 16 * 1024;
    })
    .await;
    // A version-40 SVG (~100 KB) requested over and over on one pipelined HTTP/1 connection
    // whose client never reads: far more than the loopback socket buffers hold, so the
    // server's writes stall.
    let content: String = (0..2300)
        .map(|i| char::from(b'!' + ((i * 7919) % 90) as u8))
        .collect();
    let claims = ImageClaims::new(&content, Format::Svg, 800);
    let path = image_path(&srv.state.keyring.sign(&claims));
    let one = get(&srv.url(&path)).await;
    assert_eq!(one.status, 200);
    const REQUESTS: usize = 300;
    let full = REQUESTS * one.body.len();

    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut rx, mut tx) = stream.into_split();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    // The writer blocks too once the server stops reading requests; it ends when the server
    // closes the connection.
    let writer = tokio::spawn(async move {
        for _ in 0..REQUESTS {
            if tx.write_all(request.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = tx.flush().await;
        std::future::pending::<()>().await;
    });
    // The pipelined connection (and its slot) goes away without the client reading a byte.
    let open = || {
        srv.state
            .metrics
            .connections_open
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    // First the server must have taken the connection: on a loaded machine the accept can
    // come after the first look, which then saw no connection open and ended the wait at
    // once (a CI run read all 300 responses that way).
    tokio::time::timeout(PATIENCE, async {
        while open() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the server accepts the pipelined connection");
    tokio::time::timeout(PATIENCE, async {
        while open() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server drops a connection whose client stopped reading");
    writer.abort();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, rx.read_to_end(&mut got)).await;
    assert!(
        got.len() < full / 2,
        "the server gave up early: {} of {full} bytes were sent",
        got.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_never_starves_healthz() {
    let srv = start_with(|c| {
        c.max_connections = 2;
        c.reserve_connections = 2;
    })
    .await;
    // Fill every normal slot with an open keep-alive connection.
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut conn = Conn::open(srv.addr).await;
        assert_eq!(conn.get("/healthz").await.status, 200);
        hogs.push(conn);
    }
    // New connections land in the reserve: probes answer, work is refused with 503.
    for _ in 0..3 {
        let r = get(&srv.url("/healthz")).await;
        assert_eq!(r.status, 200);
        assert_eq!(get(&srv.url("/readyz")).await.status, 200);
        let r = get(&srv.url(&png_path(&srv, "https://qr.example.com/r/full"))).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), "1");
    }
    // The hogs are still served.
    for hog in &mut hogs {
        assert_eq!(hog.get("/healthz").await.status, 200);
    }
    // Once a hog leaves, normal service resumes.
    drop(hogs.pop());
    let path = png_path(&srv, "https://qr.example.com/r/after");
    let mut ok = false;
    for _ in 0..200 {
        if get(&srv.url(&path)).await.status == 200 {
            ok = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(ok, "a freed slot is reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_on_shutdown_then_server_drains_and_stops() {
    let srv = start().await;
    assert_eq!(get(&srv.url("/readyz")).await.status, 200);
    srv.state.shutdown.start_draining();
    let r = get(&srv.url("/readyz")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("cache-control"), "no-store");
    // Still serving while draining: liveness and real work.
    assert_eq!(get(&srv.url("/healthz")).await.status, 200);
    let path = png_path(&srv, "https://qr.example.com/r/draining");
    assert_eq!(get(&srv.url(&path)).await.status, 200);
    let addr = srv.addr;
    tokio::time::timeout(PATIENCE, srv.stop())
        .await
        .expect("an idle server drains at once");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_expected_series() {
    let srv = start().await;
    let path = png_path(&srv, "https://qr.example.com/r/metrics");
    assert_eq!(get(&srv.url(&path)).await.status, 200);
    assert_eq!(get(&srv.url(&path)).await.status, 200);
    let svg = ImageClaims::new("https://qr.example.com/r/m-svg", Format::Svg, 300);
    let svg_path = image_path(&srv.state.keyring.sign(&svg));
    assert_eq!(get(&srv.url(&svg_path)).await.status, 200);
    assert_eq!(
        get(&srv.url("/qr-generator/v1?token=a.b.c")).await.status,
        400
    );
    srv.state.origin.settle().await;
    let m = get(&srv.url("/metrics")).await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(m.body.to_vec()).unwrap();
    for needle in [
        "qr_origin_http_requests_total{route=\"origin\",status=\"200\"} 3\n",
        "qr_origin_http_requests_total{route=\"origin\",status=\"400\"} 1\n",
        "qr_origin_http_request_duration_seconds_bucket{route=\"origin\",le=\"+Inf\"} 4\n",
        "qr_origin_http_request_duration_seconds_count{route=\"origin\"} 4\n",
        "qr_origin_cache_hits_total 1\n",
        "qr_origin_cache_misses_total 2\n",
        "qr_origin_cache_evictions_total 0\n",
        "qr_origin_cache_entries 2\n",
        "qr_origin_render_duration_seconds_count{format=\"png\"} 1\n",
        "qr_origin_render_duration_seconds_count{format=\"svg\"} 1\n",
        "qr_origin_token_rejections_total{reason=\"malformed\"} 1\n",
        "# TYPE qr_origin_http_request_duration_seconds histogram\n",
        "# TYPE qr_origin_cache_bytes gauge\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let bytes_line = text
        .lines()
        .find(|l| l.starts_with("qr_origin_cache_bytes "))
        .unwrap();
    let bytes: u64 = bytes_line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(bytes > 0, "{bytes_line}");
}

#[tokio::test]
async fn the_openapi_document_is_served_from_the_binary() {
    let srv = common::start().await;
    let r = common::get(&srv.url("/openapi.yaml")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/yaml");
    assert_eq!(
        r.body.as_ref(),
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
    );
}
