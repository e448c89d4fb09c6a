//! The load test's ceiling: a bare hyper server (same auto builder, same runtime shape as
//! `qr-origin serve`) answering every request with the same bytes and image headers, no routing,
//! no token, no cache. `scripts/loadtest.sh` compares the origin's cache-hit throughput with it.
//!
//! With a third argument `BUSY_NS` it also busy-waits that long per request: a stand-in for a
//! render of that length, so the load test can ask what a server whose only work is the HTTP
//! exchange plus the render would reach at the same request rate (at that rate the load
//! generator's core idles between responses, and waking it costs the server's core too).
//!
//! Run: `cargo run --release --example bare -- 127.0.0.1:18081 image.png [BUSY_NS]`

use std::convert::Infallible;

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderValue};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare ADDR FILE [BUSY_NS]";
    let addr: std::net::SocketAddr = args.next().ok_or(anyhow::anyhow!(usage))?.parse()?;
    let file = args.next().ok_or(anyhow::anyhow!(usage))?;
    let body = Bytes::from(std::fs::read(&file)?);
    let busy = std::time::Duration::from_nanos(args.next().map_or(Ok(0), |n| n.parse())?);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("bare: serving {} bytes on http://{addr}", body.len());
    let builder = std::sync::Arc::new(Builder::new(TokioExecutor::new()));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |_req| {
                if !busy.is_zero() {
                    let start = std::time::Instant::now();
                    while start.elapsed() < busy {
                        std::hint::spin_loop();
                    }
                }
                let mut resp = Response::new(Full::new(body.clone()));
                let h = resp.headers_mut();
                // The same header set the origin sends, so both answers are the same size.
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
                h.insert(
                    header::ETAG,
                    HeaderValue::from_static("\"0123456789abcdef0123456789abcdef\""),
                );
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                );
                h.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                h.insert("x-cache", HeaderValue::from_static("HIT"));
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
