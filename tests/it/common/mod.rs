//! Shared integration-test harness: the real server on `127.0.0.1:0` in-process (same
//! `server::bind` + `server::run` as `qr-origin serve`), a temp data dir, a manual clock, a
//! small hyper client, and QR decoding with `rqrr` (through `crate::render_common`).

pub mod api;
pub mod jwt_hmac;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use qr_origin::clock::{Clock, ManualClock};
use qr_origin::config::Config;
use qr_origin::state::AppState;
use tokio::task::JoinHandle;

use crate::render_common;

pub mod receiver;

/// The key every test server trusts (and signs with).
pub const KID: &str = "test-key";
/// A 40-byte secret; its UTF-8 bytes are the HMAC key, as for any JWT library.
pub const SECRET: &str = "integration-test-secret-0123456789abcdef";
/// Where the manual clock starts: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000;

/// A running in-process server.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub state: Arc<AppState>,
    /// The server's clock; move it to test expiry.
    pub clock: Arc<ManualClock>,
    task: Option<JoinHandle<()>>,
    data_dir: PathBuf,
}

/// A fresh, unique, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qr-origin-test-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// The config every test server starts from: port 0, temp data dir, the test key.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut cfg = Config::local(data_dir);
    cfg.signing_keys = vec![(KID.to_owned(), SECRET.to_owned())];
    cfg
}

/// Starts a server with the default test config.
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// Starts a server after `tweak` adjusted its config.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let data_dir = temp_dir("srv");
    let mut cfg = test_config(&data_dir);
    tweak(&mut cfg);
    let clock = Arc::new(ManualClock::new(T0 * 1000));
    let (listener, state) = qr_origin::server::bind(cfg, clock.clone())
        .await
        .expect("test server binds");
    let addr = listener.local_addr().expect("bound address");
    let task = tokio::spawn(qr_origin::server::run(listener, state.clone()));
    TestServer {
        addr,
        base: format!("http://{addr}"),
        state,
        clock,
        task: Some(task),
        data_dir,
    }
}

impl TestServer {
    /// `base` + `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// The server's current time in seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Stops accepting and waits for the drain to finish.
    pub async fn stop(mut self) {
        self.state.shutdown.stop();
        if let Some(task) = self.task.take() {
            task.await.expect("server task does not panic");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.shutdown.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A finished response, body collected.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
            .unwrap_or("")
    }
}

/// Sends `method url` with `headers` over HTTP/1.1 on a fresh connection.
pub async fn request(method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::new())).expect("valid request");
    let resp = client.request(req).await.expect("server answers");
    collect(resp).await
}

/// `GET url`.
pub async fn get(url: &str) -> Reply {
    request(Method::GET, url, &[]).await
}

/// `GET url` with extra headers.
pub async fn get_with(url: &str, headers: &[(&str, &str)]) -> Reply {
    request(Method::GET, url, headers).await
}

/// `GET url` over HTTP/2 with prior knowledge (h2c, no upgrade dance).
pub async fn get_h2(url: &str) -> Reply {
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let req = Request::get(url)
        .body(Full::new(Bytes::new()))
        .expect("valid request");
    let resp = client.request(req).await.expect("server answers over h2");
    collect(resp).await
}

/// One HTTP/1.1 connection on which several requests can be sent in turn (keep-alive).
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Conn {
            sender,
            host: addr.to_string(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = Request::get(path)
            .header(http::header::HOST, &self.host)
            .body(Full::new(Bytes::new()))
            .expect("valid request");
        self.sender.ready().await.expect("connection still open");
        let resp = self.sender.send_request(req).await.expect("server answers");
        collect(resp).await
    }

    /// Whether the server has closed this connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

async fn collect(resp: http::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("full body").to_bytes();
    Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    }
}

/// Decodes the single QR code in a PNG (any colour type; transparent pixels over white, as on
/// the paper a code is printed on) and returns its content.
pub fn decode_png(png: &[u8]) -> String {
    let (w, h, luma) = render_common::png_luma(png);
    one_code(w, h, &luma)
}

/// Rasterises an SVG (resvg, over white) and decodes the QR code in it.
pub fn decode_svg(svg: &[u8]) -> String {
    let (w, h, luma) = render_common::rasterise_svg(svg);
    one_code(w, h, &luma)
}

/// The content of the one QR code `rqrr` finds in a luma image, as text.
fn one_code(w: u32, h: u32, luma: &[u8]) -> String {
    let mut found = render_common::read_qr(w as usize, h as usize, luma);
    assert_eq!(found.len(), 1, "exactly one QR code in the image");
    String::from_utf8(found.remove(0)).expect("UTF-8 content")
}

/// Mints an HS256 token with the independent `jsonwebtoken` crate.
pub fn jwt(claims: &serde_json::Value, kid: Option<&str>, secret: &str) -> String {
    jwt_hmac::install();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("jsonwebtoken signs")
}

/// The image URL for `token` on `srv`.
pub fn image_path(token: &str) -> String {
    format!("/qr-generator/v1?token={token}")
}

/// Sends a hand-written `GET path` over a raw socket (for request lines no URI type accepts,
/// such as a 100 KB query) and returns the status code and the whole response text.
pub async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("send");
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await.expect("read");
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// Starts the `qr-origin` binary with `args` and `--data-dir data_dir`, and waits for its
/// "listening on" log line. Returns the child and the address it bound. stderr is drained for
/// the child's whole life, so it never blocks on a full pipe.
pub fn spawn_binary(
    args: &[&str],
    data_dir: &std::path::Path,
) -> (std::process::Child, SocketAddr) {
    spawn_binary_with_env(args, &[], data_dir)
}

/// [`spawn_binary`] with extra environment variables (the `QR_ORIGIN_*` configuration).
pub fn spawn_binary_with_env(
    args: &[&str],
    env: &[(&str, &str)],
    data_dir: &std::path::Path,
) -> (std::process::Child, SocketAddr) {
    let (child, addr, _log) = spawn_binary_logged(args, env, data_dir);
    (child, addr)
}

/// [`spawn_binary_with_env`] that also hands back every stderr line (the child's log), in
/// order, from its first line on.
pub fn spawn_binary_logged(
    args: &[&str],
    env: &[(&str, &str)],
    data_dir: &std::path::Path,
) -> (
    std::process::Child,
    SocketAddr,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_qr-origin"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        // Never the fixed default port: test servers run side by side.
        .env("QR_ORIGIN_OPS_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let (log_tx, log_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let marker = "listening on http://";
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find(marker) {
                let addr: String = line[i + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                let _ = tx.send(addr);
            }
            // Nobody listening (the caller dropped the receiver) is fine: keep draining.
            let _ = log_tx.send(line);
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server logs its address")
        .parse()
        .expect("a socket address");
    (child, addr, log_rx)
}

/// A `qr-origin serve` child on `data_dir` with the test signing key, on a fresh loopback port.
/// Killed with SIGKILL on drop (no shutdown hook runs); the data dir is kept for a restart.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl ServeProcess {
    /// Starts `qr-origin serve` with `extra` flags after the listen address and key.
    pub fn start(data_dir: &std::path::Path, extra: &[&str]) -> ServeProcess {
        let key = format!("{KID}={SECRET}");
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--signing-key", &key];
        args.extend_from_slice(extra);
        let (child, addr) = spawn_binary(&args, data_dir);
        ServeProcess { child, addr }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no shutdown hook, no flush, no chance to finish anything.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
