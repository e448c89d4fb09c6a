//! A real webhook receiver for tests: a tiny hyper server on loopback that records every request
//! and answers a status the test sets. It can be stopped (listener and open connections closed,
//! so the port refuses) and started again on the same port, to play a merchant whose endpoint
//! goes down and comes back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent on the request line.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered it with.
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Debug)]
struct Shared {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    arrived: Notify,
}

/// A running (or stopped) receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts on a fresh loopback port, answering 200.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
            arrived: Notify::new(),
        });
        let task = Some(tokio::spawn(serve(listener, Arc::clone(&shared))));
        Receiver { addr, shared, task }
    }

    /// A receiver whose port is reserved but closed: starts, then stops at once.
    pub async fn start_stopped() -> Receiver {
        let mut r = Receiver::start().await;
        r.stop().await;
        r
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The status every later request is answered with.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Closes the listener and every open connection: the port refuses from now on.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port, keeping what was received so far.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the receiver's port");
        self.task = Some(tokio::spawn(serve(listener, Arc::clone(&self.shared))));
    }

    /// Every request received so far, in arrival order, whatever it was answered.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The requests answered 2xx (the deliveries), in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        let mut all = self.received();
        all.retain(|r| (200..300).contains(&r.answered));
        all
    }

    /// Waits until at least `n` requests were answered 2xx, or panics after `limit` (a hang guard, not a
    /// timing assertion: every caller expects the requests long before).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.delivered();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} webhook requests, got {}: {got:#?}", got.len());
            }
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in this set, so aborting the accept task closes them too.
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        conns.spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, hyper::Error>(record(&shared, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
}

async fn record(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let status = shared.status.load(Ordering::SeqCst);
    {
        shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Received {
                method: parts.method.to_string(),
                path_and_query: parts
                    .uri
                    .path_and_query()
                    .map_or("/".to_owned(), |p| p.to_string()),
                headers: parts.headers,
                body,
                answered: status,
            });
        shared.arrived.notify_waiters();
    }
    let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    res
}

/// The `Authorization` header a correctly signed delivery carries, recomputed here from the
/// request as received, straight from the published recipe (not with the crate's signer):
/// `base64(HMAC-SHA256(secret, "POST\n" + pathAndQuery + "\n" + date + ";" + host + ";" +
/// base64(SHA-256(body))))`. Also checks `x-ms-content-sha256` against the body.
pub fn expected_authorization(secret: &str, r: &Received) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};

    let content_hash = STANDARD.encode(Sha256::digest(&r.body));
    assert_eq!(
        r.header("x-ms-content-sha256"),
        content_hash,
        "content hash header"
    );
    let to_sign = format!(
        "POST\n{}\n{};{};{}",
        r.path_and_query,
        r.header("x-ms-date"),
        r.header("host"),
        content_hash
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(to_sign.as_bytes());
    format!(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={}",
        STANDARD.encode(mac.finalize().into_bytes())
    )
}
