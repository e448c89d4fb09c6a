//! The attacker and the probe of `scripts/abuse.sh` (not part of the server).
//!
//! ```text
//! abuse probe  PUBLIC OPS HIT_PATH SECS WARMUP_MS
//!                                           healthz (ops port, a new connection each) and cache
//!                                           hit (public port, keep-alive) latencies: p99s; the
//!                                           hit connection opens at once, measuring starts
//!                                           WARMUP_MS later
//! abuse idle   ADDR N SECS                  N connections that send nothing (re-opened when
//!                                           closed)
//! abuse h2ping ADDR N SECS KEY              N HTTP/2 connections: one request, then only pings;
//!                                           half also open 64 zero-window image streams
//! abuse flood  ADDR CONNS SECS KEY          worst-case unique renders (2 940 bytes, ECC L,
//!                                           2000 px) on CONNS keep-alive connections
//! abuse hitpath KEY                         prints the image path the probe uses
//! ```
//! KEY is `KID=SECRET`, the server's signing key, to mint tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use qr_origin::render::{Ecc, Format};
use qr_origin::token::{ImageClaims, Keyring, SigningKey};
use tokio::net::TcpStream;

fn keyring(key: &str) -> Keyring {
    let (kid, secret) = key.split_once('=').expect("KEY is KID=SECRET");
    Keyring::new(vec![SigningKey::new(kid, secret).expect("valid key")]).expect("one key")
}

fn image_path(ring: &Keyring, claims: &ImageClaims) -> String {
    format!("/qr-generator/v1?token={}", ring.sign(claims))
}

fn hit_path(ring: &Keyring) -> String {
    image_path(
        ring,
        &ImageClaims::new("https://qr.example.com/r/abuse-hit", Format::Png, 400),
    )
}

/// The worst case for the renderer: the longest content version 40-L holds, at 2000 px.
fn worst_path(ring: &Keyring, i: u64) -> String {
    let prefix = format!("https://qr.example.com/{i}/");
    let content = format!("{prefix}{}", "x".repeat(2940 - prefix.len()));
    let mut claims = ImageClaims::new(content, Format::Png, 2000);
    claims.ecc = Ecc::L;
    image_path(ring, &claims)
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn h1(addr: SocketAddr) -> Option<Sender> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// One GET on `sender`; the status, or `None` if the connection failed.
async fn get(sender: &mut Sender, path: &str) -> Option<u16> {
    sender.ready().await.ok()?;
    let req = http::Request::get(path)
        .header("host", "abuse")
        .body(Full::new(Bytes::new()))
        .ok()?;
    let resp = sender.send_request(req).await.ok()?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await.ok()?;
    Some(status)
}

fn p99_ms(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    let i = ((v.len() as f64) * 0.99).ceil() as usize - 1;
    v[i.min(v.len() - 1)].as_secs_f64() * 1e3
}

async fn probe(public: SocketAddr, ops: SocketAddr, hit: String, secs: u64, warmup_ms: u64) {
    // The hit connection is open before the attack starts, as a CDN's pooled keep-alive
    // connections to its origin are: a flood beyond --max-connections refuses new connections by
    // design, so a probe that only connected during it would measure the refusal, not the hits.
    let mut conn = h1(public).await;
    eprintln!("probe: hit connection open");
    tokio::time::sleep(Duration::from_millis(warmup_ms)).await;
    let end = Instant::now() + Duration::from_secs(secs);
    let health = tokio::spawn(async move {
        let (mut lat, mut failed) = (Vec::new(), 0u64);
        while Instant::now() < end {
            let t = Instant::now();
            let ok = tokio::time::timeout(Duration::from_secs(2), async {
                let mut s = h1(ops).await?;
                get(&mut s, "/healthz").await
            })
            .await;
            match ok {
                Ok(Some(200)) => lat.push(t.elapsed()),
                _ => {
                    failed += 1;
                    lat.push(Duration::from_secs(2));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (lat, failed)
    });
    let hits = tokio::spawn(async move {
        let (mut lat, mut failed) = (Vec::new(), 0u64);
        while Instant::now() < end {
            let t = Instant::now();
            let status = match conn.as_mut() {
                Some(s) => tokio::time::timeout(Duration::from_secs(2), get(s, &hit))
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            if status == Some(200) {
                lat.push(t.elapsed());
            } else {
                failed += 1;
                lat.push(Duration::from_secs(2));
                conn = h1(public).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (lat, failed)
    });
    let (health, health_failed) = health.await.unwrap();
    let (hits, hits_failed) = hits.await.unwrap();
    println!(
        "healthz_p99_ms={:.2} healthz_probes={} healthz_failed={health_failed} hit_p99_ms={:.2} hits={} hit_failed={hits_failed}",
        p99_ms(health.clone()),
        health.len(),
        p99_ms(hits.clone()),
        hits.len()
    );
}

async fn idle(addr: SocketAddr, n: usize, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    let opened = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let opened = opened.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                while Instant::now() < end {
                    let Ok(mut s) = TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    opened.fetch_add(1, Relaxed);
                    let mut buf = [0u8; 64];
                    let left = end.saturating_duration_since(Instant::now());
                    let _ = tokio::time::timeout(left, s.read(&mut buf)).await;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    println!("idle_connections_opened={}", opened.load(Relaxed));
}

async fn h2ping(addr: SocketAddr, n: usize, secs: u64, key: String) {
    let ring = Arc::new(keyring(&key));
    let end = Instant::now() + Duration::from_secs(secs);
    let (opened, streams) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (ring, opened, streams) = (ring.clone(), opened.clone(), streams.clone());
            tokio::spawn(async move {
                let mut round = 0u64;
                while Instant::now() < end {
                    round += 1;
                    let Ok(stream) = TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let zero_window = i % 2 == 1;
                    let mut b = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
                    if zero_window {
                        b.initial_stream_window_size(0);
                    }
                    let Ok((mut sender, conn)) = b.handshake(TokioIo::new(stream)).await else {
                        continue;
                    };
                    let conn = tokio::spawn(conn);
                    opened.fetch_add(1, Relaxed);
                    let count = if zero_window { 64 } else { 1 };
                    let mut held = Vec::new();
                    for s in 0..count {
                        let path = if zero_window {
                            worst_path(&ring, (i as u64) << 32 | round << 8 | s)
                        } else {
                            "/healthz".to_owned()
                        };
                        let req = http::Request::get(format!("http://{addr}{path}"))
                            .body(Full::new(Bytes::new()))
                            .unwrap();
                        if sender.ready().await.is_err() {
                            break;
                        }
                        let fut = sender.send_request(req);
                        held.push(tokio::spawn(async move {
                            // Hold the response (and its unread body) until the end.
                            let r = fut.await;
                            tokio::time::sleep_until(end.into()).await;
                            drop(r);
                        }));
                        streams.fetch_add(1, Relaxed);
                    }
                    // The connection answers pings until the server closes it.
                    let left = end.saturating_duration_since(Instant::now());
                    let _ = tokio::time::timeout(left, conn).await;
                    for h in held {
                        h.abort();
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "h2_connections_opened={} h2_streams={}",
        opened.load(Relaxed),
        streams.load(Relaxed)
    );
}

async fn flood(addr: SocketAddr, conns: usize, secs: u64, key: String) {
    let ring = Arc::new(keyring(&key));
    let end = Instant::now() + Duration::from_secs(secs);
    let next = Arc::new(AtomicU64::new(0));
    let counts = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]);
    let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (ring, next, counts, lat) =
                (ring.clone(), next.clone(), counts.clone(), lat.clone());
            tokio::spawn(async move {
                let mut conn = h1(addr).await;
                while Instant::now() < end {
                    let Some(s) = conn.as_mut() else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        conn = h1(addr).await;
                        continue;
                    };
                    let path = worst_path(&ring, next.fetch_add(1, Relaxed));
                    let t = Instant::now();
                    let slot = match get(s, &path).await {
                        Some(200) => 0,
                        Some(503) => 1,
                        Some(_) => 2,
                        None => {
                            conn = h1(addr).await;
                            3
                        }
                    };
                    if slot == 0 {
                        lat.lock().unwrap().push(t.elapsed());
                    }
                    counts[slot].fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let lat = std::mem::take(&mut *lat.lock().unwrap());
    println!(
        "flood_200={} flood_503={} flood_other={} flood_conn_errors={} flood_render_p99_ms={:.1}",
        counts[0].load(Relaxed),
        counts[1].load(Relaxed),
        counts[2].load(Relaxed),
        counts[3].load(Relaxed),
        p99_ms(lat)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = |i: usize| {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| panic!("argument {i} missing"))
    };
    let addr = |i: usize| -> SocketAddr { a(i).parse().expect("ADDR") };
    let num = |i: usize| -> u64 { a(i).parse().expect("a number") };
    match a(0).as_str() {
        "probe" => probe(addr(1), addr(2), a(3), num(4), num(5)).await,
        "idle" => idle(addr(1), num(2) as usize, num(3)).await,
        "h2ping" => h2ping(addr(1), num(2) as usize, num(3), a(4)).await,
        "flood" => flood(addr(1), num(2) as usize, num(3), a(4)).await,
        "hitpath" => println!("{}", hit_path(&keyring(&a(1)))),
        other => panic!("unknown mode {other}"),
    }
}
