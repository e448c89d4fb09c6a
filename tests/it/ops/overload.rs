//! Attack and overload over real sockets, one test per attack found: a render flood, HTTP/2
//! connections that only answer pings, a flood of the public port, file-descriptor exhaustion,
//! large unfinished request heads, keep-alive clients across SIGTERM, a store that cannot be
//! written, and slow request bodies. Limits are small so each test takes a few seconds.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use qr_origin::render::{Ecc, Format};
use qr_origin::token::ImageClaims;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound on how long a test waits for the server to act; a safety net against hangs, not a
/// timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

/// A worst-case render: long content at the largest size and the lowest error correction (the
/// most modules), unique per `i` so nothing is cached.
fn worst_case_path(srv: &TestServer, i: usize) -> String {
    let content = format!("https://qr.example.com/{i}/{}", "x".repeat(1500));
    let mut claims = ImageClaims::new(content, Format::Png, 2000);
    claims.ecc = Ecc::L;
    image_path(&srv.state.keyring.sign(&claims))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_flood_gets_503s_while_hits_and_healthz_answer() {
    let srv = start_with(|c| {
        c.max_renders = 1;
        // Nine worst-case renders at most in the pool: long enough that the probes below are
        // answered while some still wait, whatever else the machine is doing.
        c.max_render_queue = 8;
    })
    .await;
    let hit_path = {
        let claims = ImageClaims::new("https://qr.example.com/r/hot", Format::Png, 200);
        image_path(&srv.state.keyring.sign(&claims))
    };
    assert_eq!(get(&srv.url(&hit_path)).await.header("x-cache"), "MISS");

    let (ok, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let flood: Vec<_> = (0..40)
        .map(|i| {
            let url = srv.url(&worst_case_path(&srv, i));
            let (ok, refused) = (ok.clone(), refused.clone());
            tokio::spawn(async move {
                let asked = std::time::Instant::now();
                let r = get(&url).await;
                match r.status.as_u16() {
                    200 => ok.fetch_add(1, Relaxed),
                    503 => {
                        assert_eq!(r.header("retry-after"), "1", "a 503 says when to retry");
                        // Held until then, so a flooding client cannot ask again at once.
                        assert!(
                            asked.elapsed() >= qr_origin::origin::OVERLOAD_HOLD,
                            "a refused render answered after {:?}, before its Retry-After",
                            asked.elapsed()
                        );
                        refused.fetch_add(1, Relaxed)
                    }
                    other => panic!("unexpected status {other}"),
                };
            })
        })
        .collect();
    // While renders are queued, probes and cache hits do not wait behind them.
    tokio::time::timeout(PATIENCE, async {
        while srv.state.origin.render_queue_depth() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the flood reaches the render pool");
    let health = get(&srv.url("/healthz")).await;
    let hit = get(&srv.url(&hit_path)).await;
    let still_rendering = srv.state.origin.render_queue_depth() > 0;
    assert_eq!(health.status, 200);
    assert_eq!(hit.header("x-cache"), "HIT");
    assert!(
        still_rendering,
        "the probe and the hit were answered while renders were still queued"
    );
    for t in flood {
        tokio::time::timeout(PATIENCE, t)
            .await
            .expect("every flood request is answered")
            .expect("no assertion failed");
    }
    let (ok, refused) = (ok.load(Relaxed), refused.load(Relaxed));
    assert!(
        refused > 0,
        "beyond the queue renders are refused ({ok} ok)"
    );
    assert!(
        ok >= 1,
        "the queue's renders are served ({refused} refused)"
    );
}

/// Waits until the server counts `n` open connections.
async fn until_open(srv: &TestServer, n: i64) {
    tokio::time::timeout(PATIENCE, async {
        while srv.state.metrics.connections_open.load(Relaxed) != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} connections open"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_the_public_port_leaves_the_ops_port_answering() {
    let srv = start_with(|c| {
        c.max_connections = 4;
        c.reserve_connections = 2;
        c.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let ops = srv.state.ops_addr.expect("an operator listener");
    // Normal slots and the reserve are all taken by clients that connect and say nothing.
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    until_open(&srv, 6).await;
    let (status, _) = tokio::time::timeout(PATIENCE, try_raw_get(srv.addr, "/healthz"))
        .await
        .expect("the public port answers or closes at once");
    assert_eq!(status, None, "the public port is full, reserve included");
    let r = get(&format!("http://{ops}/healthz")).await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&format!("http://{ops}/readyz")).await.status, 200);
    let m = get(&format!("http://{ops}/metrics")).await;
    assert!(String::from_utf8_lossy(&m.body).contains("qr_origin_render_queue_depth"));
    // Only the operator endpoints live there.
    let claims = ImageClaims::new("https://qr.example.com/r/ops", Format::Png, 200);
    let img = image_path(&srv.state.keyring.sign(&claims));
    assert_eq!(get(&format!("http://{ops}{img}")).await.status, 404);
}

/// Like `raw_get`, but `None` when the server closes the connection without an answer.
async fn try_raw_get(addr: std::net::SocketAddr, path: &str) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(req.as_bytes()).await;
    let mut resp = Vec::new();
    let _ = stream.read_to_end(&mut resp).await;
    let text = String::from_utf8_lossy(&resp).into_owned();
    (text.split(' ').nth(1).and_then(|s| s.parse().ok()), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_only_answers_pings_is_sent_away() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_millis(300)).await;
    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    // The client side answers the server's pings for as long as it runs.
    let conn = tokio::spawn(conn);
    let req = http::Request::get(srv.url("/healthz"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.expect("first request");
    assert_eq!(resp.status(), 200);
    drop(resp);
    // Then nothing: the server winds the connection down (GOAWAY) and it ends.
    let ended = tokio::time::timeout(PATIENCE, conn).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection is closed");
    until_open(&srv, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_with_a_zero_window_does_not_pin_its_image() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_millis(300)).await;
    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .handshake(TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    let conn = tokio::spawn(conn);
    let req = http::Request::get(srv.url(&worst_case_path(&srv, 0)))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.expect("headers arrive");
    assert_eq!(resp.status(), 200);
    assert!(
        srv.state.inflight.used() > 0,
        "the image is counted in flight"
    );
    // No window, so no data: the server gives up on the connection after the stall timeout.
    let body = tokio::time::timeout(PATIENCE, resp.into_body().collect())
        .await
        .expect("the stalled stream ends");
    assert!(body.is_err(), "the body never completes");
    let _ = tokio::time::timeout(PATIENCE, conn).await;
    tokio::time::timeout(PATIENCE, async {
        while srv.state.inflight.used() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the in-flight bytes are released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_beyond_the_inflight_budget_get_503() {
    let srv = start_with(|c| {
        c.header_read_timeout = Duration::from_secs(5);
        c.max_inflight_bytes = 1;
    })
    .await;
    // One zero-window stream holds the whole (tiny) budget.
    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .handshake(TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get(srv.url(&worst_case_path(&srv, 1)))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let held = sender.send_request(req).await.expect("headers arrive");
    assert_eq!(held.status(), 200);
    let r = get(&srv.url(&worst_case_path(&srv, 1))).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("retry-after"), "1");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keep_alive_request_is_lost_across_sigterm() {
    let srv = start_with(|c| c.header_read_timeout = Duration::from_secs(5)).await;
    let addr = srv.addr;
    let (served, lost, closes) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (served, lost, closes) = (served.clone(), lost.clone(), closes.clone());
            tokio::spawn(async move {
                // Each client reuses its connection until told to close, then reconnects;
                // it ends when the listener refuses it.
                'connect: loop {
                    let Ok(stream) = TcpStream::connect(addr).await else {
                        return;
                    };
                    let Ok((mut sender, conn)) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                    else {
                        return;
                    };
                    tokio::spawn(conn);
                    // A connect can succeed in the kernel's backlog after the server's last
                    // accept; a request on such a connection was never accepted, so only a
                    // failure on a connection that has already answered counts as lost.
                    let mut answered = false;
                    loop {
                        if sender.ready().await.is_err() {
                            // Closed while idle between requests: not a lost request.
                            continue 'connect;
                        }
                        let req = http::Request::get("/healthz")
                            .header("host", "x")
                            .body(Full::new(Bytes::new()))
                            .unwrap();
                        match sender.send_request(req).await {
                            Ok(resp) => {
                                answered = true;
                                served.fetch_add(1, Relaxed);
                                let close = resp
                                    .headers()
                                    .get("connection")
                                    .is_some_and(|v| v == "close");
                                let _ = resp.into_body().collect().await;
                                if close {
                                    closes.fetch_add(1, Relaxed);
                                    continue 'connect;
                                }
                            }
                            Err(_) if answered => {
                                lost.fetch_add(1, Relaxed);
                                continue 'connect;
                            }
                            Err(_) => continue 'connect,
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // What SIGTERM does (`Shutdown::on_signals`): drain for the delay, then stop.
    srv.state.shutdown.start_draining();
    tokio::time::sleep(Duration::from_millis(500)).await;
    srv.state.shutdown.stop();
    for c in clients {
        tokio::time::timeout(PATIENCE, c)
            .await
            .expect("clients end once the listener is closed")
            .unwrap();
    }
    assert!(served.load(Relaxed) > 0);
    assert!(
        closes.load(Relaxed) > 0,
        "draining responses carry Connection: close"
    );
    assert_eq!(lost.load(Relaxed), 0, "no request sent was left unanswered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_get_a_goaway_when_draining_starts() {
    let srv = start().await;
    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    let conn = tokio::spawn(conn);
    let req = || {
        http::Request::get(srv.url("/healthz"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    assert_eq!(sender.send_request(req()).await.unwrap().status(), 200);
    srv.state.shutdown.start_draining();
    // The connection winds down while the listener still accepts (the shutdown delay).
    let ended = tokio::time::timeout(PATIENCE, conn).await;
    assert!(ended.is_ok(), "GOAWAY ends the connection");
    assert_eq!(get(&srv.url("/healthz")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_a_store_that_cannot_be_written() {
    let srv = start_with(|c| c.store_probe_interval = Duration::from_millis(50)).await;
    assert_eq!(get(&srv.url("/readyz")).await.status, 200);
    // Another process's writer holds the database's write lock: every write fails (busy).
    let db = srv
        .state
        .config
        .data_dir
        .join(qr_origin::store::sqlite::DB_FILE);
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let until = |want: u16| {
        let url = srv.url("/readyz");
        async move {
            tokio::time::timeout(PATIENCE, async {
                while get(&url).await.status != want {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
        }
    };
    until(503).await.expect("not ready while writes fail");
    assert_eq!(get(&srv.url("/healthz")).await.status, 200, "still alive");
    locker.execute_batch("ROLLBACK").unwrap();
    until(200).await.expect("ready again by itself");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_body_gets_408() {
    let srv = start_with(|c| c.body_read_timeout = Duration::from_millis(300)).await;
    let creds = common::api::add_merchant(&srv.state.config.data_dir, "140001", "Slow AS");
    let api = common::api::Api::login(&srv.base, &creds).await;
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /qr/v1/merchant-redirect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Ocp-Apim-Subscription-Key: {}\r\nMerchant-Serial-Number: 140001\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":",
        api.token, creds.subscription_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // One more byte now and then, never the whole body.
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            tokio::select! {
                n = stream.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if got.windows(4).any(|w| w == b"\r\n\r\n") { break; }
                    }
                },
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    let _ = stream.write_all(b" ").await;
                }
            }
        }
    });
    read.await.expect("the server answers within the deadline");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

/// A `qr-origin serve` child whose stderr lines are collected.
struct Child {
    child: std::process::Child,
    public: std::net::SocketAddr,
    ops: std::net::SocketAddr,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary under `sh -c 'ulimit -n N; exec …'` when `nofile` is given.
fn spawn_serve(nofile: Option<u32>, data_dir: &std::path::Path, extra: &[&str]) -> Child {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let key = format!("{KID}={SECRET}");
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        "--signing-key",
        &key,
        "--data-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(data_dir.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let bin = env!("CARGO_BIN_EXE_qr-origin");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(bin)
                .args(&args);
            c
        }
        None => {
            let mut c = Command::new(bin);
            c.args(&args);
            c
        }
    };
    let mut child = cmd
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        let addr_after = |line: &str, marker: &str| {
            line.find(marker).map(|i| {
                line[i + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect::<String>()
            })
        };
        let mut ops = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("operator endpoints") {
                ops = addr_after(&line, "on http://");
            }
            if let Some(public) = addr_after(&line, "listening on http://") {
                let _ = tx.send((public, ops.clone()));
            }
            lines.lock().unwrap().push(line);
        }
    });
    let (public, ops) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server logs its addresses");
    Child {
        child,
        public: public.parse().unwrap(),
        ops: ops
            .expect("the operator address is logged")
            .parse()
            .unwrap(),
        log,
    }
}

/// The child's resident set, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_file_descriptor_limit_clamps_the_cap_and_probes_still_answer() {
    let dir = temp_dir("nofile");
    let srv = spawn_serve(Some(160), &dir, &[]);
    let warning = srv
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("does not fit RLIMIT_NOFILE"))
        .cloned()
        .expect("a warning names the limit");
    assert!(warning.contains("RLIMIT_NOFILE 160"), "{warning}");
    assert!(warning.contains("--max-connections 4096"), "{warning}");
    // 160 - (48 + 16 ops + 32 webhooks) = 64 descriptors: 60 normal + 4 reserve.
    assert!(
        warning.contains("at most 60 connections (+4 reserve)"),
        "{warning}"
    );
    // More idle connections than the descriptors allow: the cap refuses the surplus at once
    // instead of accept failing with EMFILE.
    let mut held = Vec::new();
    for _ in 0..120 {
        held.push(TcpStream::connect(srv.public).await.unwrap());
    }
    let (status, _) = tokio::time::timeout(PATIENCE, try_raw_get(srv.public, "/healthz"))
        .await
        .expect("a full public port closes at once");
    assert_eq!(status, None);
    let r = get(&format!("http://{}/healthz", srv.ops)).await;
    assert_eq!(r.status, 200);
    drop(held);
    tokio::time::timeout(PATIENCE, async {
        while try_raw_get(srv.public, "/healthz").await.0 != Some(200) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the public port recovers once the flood ends");
    let accept_errors = srv
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert_eq!(accept_errors, 0, "accept never ran out of descriptors");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_unfinished_heads_keep_rss_bounded() {
    let dir = temp_dir("heads");
    let srv = spawn_serve(None, &dir, &[]);
    let pid = srv.child.id();
    let before = rss_kib(pid);
    // 200 clients each try to send a 400 KB head (one endless header); none finishes it.
    const CLIENTS: usize = 200;
    let pad = vec![b'a'; 400 * 1024];
    let mut held = Vec::new();
    for _ in 0..CLIENTS {
        let mut s = TcpStream::connect(srv.public).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
            .await
            .unwrap();
        // The server stops reading (and closes) at its head limit; the rest may not fit.
        let _ = tokio::time::timeout(Duration::from_millis(50), s.write_all(&pad)).await;
        held.push(s);
    }
    let peak = rss_kib(pid);
    let grown = peak.saturating_sub(before);
    eprintln!("RSS {before} KiB before, {peak} KiB with {CLIENTS} unfinished heads");
    // hyper's default buffer (~400 KB each) would hold ~80 MB here; 80 KB each is 16 MB.
    assert!(
        grown < (CLIENTS as u64) * 120,
        "RSS grew {grown} KiB for {CLIENTS} unfinished heads"
    );
    // A head over the limit is refused, not buffered.
    let mut s = TcpStream::connect(srv.public).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        .await
        .unwrap();
    let _ = s.write_all(&pad).await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "an oversized head is refused: {text}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An HTTP/2 client that asks `GET /healthz` on stream 1 and reads until the answer is complete,
/// then never reads or writes again: it answers no PING and does not close its socket.
async fn h2_client_that_goes_quiet(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let authority = addr.to_string();
    // HPACK: `:method GET`, `:scheme http` indexed; `:path` and `:authority` as literals.
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x01, authority.len() as u8]);
    block.extend_from_slice(authority.as_bytes());
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]); // empty SETTINGS
    out.extend_from_slice(&(block.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[0x1, 0x4 | 0x1, 0, 0, 0, 1]); // HEADERS, END_HEADERS|END_STREAM
    out.extend_from_slice(&block);
    stream.write_all(&out).await.unwrap();
    loop {
        let mut head = [0u8; 9];
        stream.read_exact(&mut head).await.expect("a frame");
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        stream.read_exact(&mut payload).await.expect("its payload");
        let (kind, flags, id) = (
            head[3],
            head[4],
            u32::from_be_bytes([0, head[6], head[7], head[8]]),
        );
        if id == 1 && kind <= 1 && flags & 0x1 != 0 {
            return stream;
        }
    }
}

/// Operator finding: HTTP/2 connections the server had sent away (GOAWAY after the keep-alive
/// timeout) kept their connection slots while their clients held the sockets open, so the port
/// refused everyone else. The slot must come back once the server has ended the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_sent_away_give_their_slots_back() {
    let timeout = Duration::from_millis(200);
    let srv = start_with(|c| {
        c.header_read_timeout = timeout;
        // What `--max-connections 16` gives: 16 slots and a reserve of 4.
        c.max_connections = 16;
        c.reserve_connections = 4;
    })
    .await;
    let mut quiet = Vec::new();
    for _ in 0..20 {
        quiet.push(h2_client_that_goes_quiet(srv.addr).await);
    }
    // Every slot, the reserve included, is now held by a finished HTTP/2 connection whose client
    // stays silent. The server winds each down after `timeout` and must close it after another.
    until_open(&srv, 0).await;
    let fresh = tokio::time::timeout(PATIENCE, get(&srv.url("/healthz")))
        .await
        .expect("a fresh HTTP/1.1 request is answered");
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.version, http::Version::HTTP_11);
    for mut stream in quiet {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "the server closed the connection"
        );
    }
}
