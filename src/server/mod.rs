//! The accept loops and connection handling, in hyper-util's graceful-shutdown shape: accept in a
//! `select!` with the stop signal, serve each connection with the auto builder (HTTP/1.1
//! keep-alive and HTTP/2 prior knowledge on one port), and on stop drop the listeners and drain
//! with a deadline.
//!
//! Two listeners: the public one, and the operator one (`--ops-listen`) that serves only
//! `/healthz`, `/readyz` and `/metrics` from its own small connection budget, so a flood of the
//! public port (which takes the public reserve too) cannot reach the probes.
//!
//! Limits that keep one client from pinning the server:
//! - a request head must arrive within `header_read_timeout` of the connection opening or of
//!   the previous response (the connection's watchdog, which covers the protocol sniffing
//!   before hyper too), and a body within `body_read_timeout` ([`crate::server::body`]);
//! - an HTTP/1 request head is buffered up to [`MAX_HEAD_BUF`], not hyper's ~400 KB;
//! - a response write may stall (a client that stops reading) for no longer than the header
//!   timeout ([`StallTimeout`]); over HTTP/2, where flow control stalls a stream without blocking
//!   the socket, the connection's watchdog closes a connection whose bodies make no progress for
//!   as long;
//! - an HTTP/2 connection with no open stream for the keep-alive (header) timeout gets a GOAWAY,
//!   pings or not; streams per connection and each stream's send buffer are capped;
//! - response bodies count against a server-wide in-flight budget ([`crate::server::inflight`]);
//! - at most `max_connections` normal connections; a small reserve beyond that serves only the
//!   operator endpoints; beyond that, new connections are closed at once rather than left in the
//!   kernel backlog.
//!
//! From SIGTERM on (the shutdown delay), HTTP/1 responses carry `Connection: close` and HTTP/2
//! connections get a GOAWAY, so clients move to new connections before the listener closes.

pub mod access_log;
pub mod body;
pub mod head_errors;
pub mod inflight;
pub mod log_throttle;
pub mod rlimit;
pub mod shutdown;
pub mod stall;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context;
use http::header::{self, HeaderValue};
use http::{Request, Version};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::error::Instance;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::config::keys;
use crate::http::{HttpError, Resp};
use crate::router;
use crate::server::access_log::Started;
use crate::server::body::ReqBody;
use crate::server::head_errors::HeadErrors;
use crate::server::inflight::{ActivitySnapshot, ConnActivity, RequestGuard, TrackedBody};
use crate::server::stall::StallTimeout;
use crate::state::AppState;
use crate::token::VerifyLimits;

/// hyper's HTTP/1 read buffer: the longest request line we accept (a 64 KiB URL) plus room for
/// headers. hyper's default (~400 KB) let unfinished heads hold 400 KB per connection.
pub const MAX_HEAD_BUF: usize = 80 * 1024;
/// HTTP/2 streams open at once per connection.
pub const MAX_H2_STREAMS: u32 = 64;
/// HTTP/2 send buffer per stream; with [`MAX_H2_STREAMS`] it bounds a connection's buffered
/// response bytes to 4 MiB.
pub const MAX_H2_SEND_BUF: usize = 64 * 1024;

/// Binds the listener and builds the app state (keys, cache) from a validated config. Separate
/// from [`run`] so callers learn the bound address (port 0 in tests) before serving.
pub async fn bind(
    config: Config,
    clock: SharedClock,
) -> anyhow::Result<(TcpListener, Arc<AppState>)> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let public_url = config.public_url_or(addr);
    let limits = VerifyLimits {
        max_token_len: config.max_token_bytes,
        leeway_secs: config.token_leeway_secs,
    };
    let ops = match config.ops_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .with_context(|| format!("binding the operator listener {a}"))?,
        ),
        None => None,
    };
    let keyring = keys::load_keyring(&config.data_dir, &config.signing_keys, limits)?;
    let mut state = AppState::new(config, public_url, keyring, clock).await?;
    state.metrics.register_routes(router::labels());
    state.ops_addr = match &ops {
        Some(l) => Some(l.local_addr().context("reading the operator address")?),
        None => None,
    };
    state.ops_listener = std::sync::Mutex::new(ops);
    Ok((listener, Arc::new(state)))
}

/// Which listener and slot a connection came through: what it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Public,
    /// Beyond the public cap: operator endpoints only, one request per connection.
    Reserve,
    /// The operator listener.
    Ops,
}

/// Connection slots of one listener.
struct Slots {
    normal: Arc<Semaphore>,
    /// Public listener only: the health reserve.
    reserve: Option<Arc<Semaphore>>,
}

impl Slots {
    fn new(normal: usize, reserve: Option<usize>) -> Slots {
        Slots {
            normal: Arc::new(Semaphore::new(normal)),
            reserve: reserve.map(|n| Arc::new(Semaphore::new(n))),
        }
    }

    /// A slot for a new connection, or `None` when every one is taken.
    fn take(&self, normal_kind: Kind) -> Option<(OwnedSemaphorePermit, Kind)> {
        if let Ok(p) = self.normal.clone().try_acquire_owned() {
            return Some((p, normal_kind));
        }
        let p = self.reserve.as_ref()?.clone().try_acquire_owned().ok()?;
        Some((p, Kind::Reserve))
    }

    /// Resolves once every slot is back (every connection closed).
    async fn all_back(&self, normal: usize, reserve: usize) {
        let _n = self.normal.acquire_many(normal as u32).await;
        if let Some(r) = &self.reserve {
            let _r = r.acquire_many(reserve as u32).await;
        }
    }
}

/// Serves until `state.shutdown` says stop, then drains for at most the configured deadline.
pub async fn run(listener: TcpListener, state: Arc<AppState>) {
    let cfg = &state.config;
    let builders = Arc::new([http_builder(true), http_builder(false)]);
    let public = Arc::new(Slots::new(
        cfg.max_connections,
        Some(cfg.reserve_connections),
    ));
    let ops_slots = Arc::new(Slots::new(cfg.ops_connections, None));
    // The webhook delivery worker and the store probe live as long as the server and stop on
    // the same signal.
    let deliveries = {
        let state = state.clone();
        tokio::spawn(async move {
            let stop = state.shutdown.stopped();
            Arc::clone(&state.deliverer).run(stop).await;
        })
    };
    // Other instances' writes (PostgreSQL only): drop their links from the cache, wake the
    // delivery worker for their events.
    let _follower = state.store.changes().map(|feed| {
        let state = state.clone();
        tokio::spawn(async move {
            let stop = state.shutdown.stopped();
            Arc::clone(&state.links).follow(feed, stop).await;
        })
    });
    // Scan counts reach the store every --scan-flush until the stop; the last flush is below,
    // after the drain, so scans answered while draining count too.
    let scan_flusher = state.config.scans.counting.then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let stop = state.shutdown.stopped();
            Arc::clone(&state.scans).run(stop).await;
        })
    });
    tokio::spawn(crate::state::probe_store_writes(
        state.clone(),
        cfg.store_probe_interval,
    ));
    let ops_listener = state
        .ops_listener
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let ops_loop = ops_listener.map(|l| {
        let (state, slots, builders) = (state.clone(), ops_slots.clone(), builders.clone());
        tokio::spawn(async move { accept_loop(l, Kind::Ops, &slots, builders, state).await })
    });
    accept_loop(listener, Kind::Public, &public, builders, state.clone()).await;
    if let Some(ops) = ops_loop {
        let _ = ops.await;
    }

    let open = state.metrics.connections_open.load(Relaxed);
    let deadline = state.config.drain_timeout;
    tracing::info!(
        open,
        deadline_ms = deadline.as_millis() as u64,
        "stopped accepting; draining"
    );
    let cfg = &state.config;
    let drained = async {
        public
            .all_back(cfg.max_connections, cfg.reserve_connections)
            .await;
        ops_slots.all_back(cfg.ops_connections, 0).await;
    };
    tokio::select! {
        () = drained => tracing::info!("drained; bye"),
        () = tokio::time::sleep(deadline) => tracing::warn!("drain deadline reached; closing the rest"),
    }
    if let Some(flusher) = scan_flusher {
        let _ = flusher.await;
        match state.scans.flush().await {
            Ok(()) => tracing::info!("scan counts flushed"),
            Err(e) => {
                tracing::error!(error = %e, "the last flush of scan counts failed; they are lost")
            }
        }
    }
    // In-flight deliveries end within their timeout; an unfinished one is retried after a
    // restart (its lease lapses), so cutting it off at the drain deadline loses nothing.
    if tokio::time::timeout(deadline, deliveries).await.is_err() {
        tracing::warn!("webhook deliveries still running at the drain deadline");
    }
}

/// Accepts on `listener` until stop; each connection gets a slot of `slots` or is closed.
async fn accept_loop(
    listener: TcpListener,
    kind: Kind,
    slots: &Slots,
    builders: Arc<[Builder<TokioExecutor>; 2]>,
    state: Arc<AppState>,
) {
    let mut stopped = pin!(state.shutdown.stopped());
    let mut backoff = Duration::from_millis(5);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = stopped.as_mut() => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    backoff = Duration::from_millis(5);
                    conn
                }
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or similar: retrying at once would spin.
                    tracing::error!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        let Some((permit, kind)) = slots.take(kind) else {
            state.metrics.connections_refused.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "connection refused: every slot taken");
            drop(stream);
            continue;
        };
        let builders = builders.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let builder = &builders[usize::from(kind == Kind::Reserve)];
            serve_connection(builder, stream, peer, state, permit, kind).await;
        });
    }
}

/// What the connection watchdog wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Finish what is open, then close (HTTP/2 GOAWAY; HTTP/1 closes once idle).
    Wind,
    /// Close now: the client is not playing along.
    Close,
}

/// Serves one connection until it closes, times out or is drained.
async fn serve_connection(
    builder: &Builder<TokioExecutor>,
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<AppState>,
    permit: OwnedSemaphorePermit,
    kind: Kind,
) {
    let _slot = Slot::open(state.clone(), permit);
    let _ = stream.set_nodelay(true);
    let header_timeout = state.config.header_read_timeout;
    let activity = Arc::new(ConnActivity::default());
    let svc = {
        let (state, activity) = (state.clone(), activity.clone());
        service_fn(move |req: Request<Incoming>| {
            let is_h2 = req.version() == Version::HTTP_2;
            let guard = activity.start(is_h2);
            let state = state.clone();
            async move {
                let start = Instant::now();
                let logged = state.access_log.as_ref().map(|log| Started {
                    id: log.request_id(req.headers()),
                    method: req.method().clone(),
                    version: req.version(),
                    peer,
                });
                let mut req = req.map(|b| ReqBody::new(b, state.config.body_read_timeout));
                if let Some(logged) = &logged {
                    // The API's problem documents name the same id as the log line.
                    req.extensions_mut().insert(Instance(logged.id.to_string()));
                }
                let (route, resp) = match kind {
                    Kind::Public => router::route(&state, req, peer.ip()).await,
                    Kind::Reserve => router::route_reserve(&state, req, peer.ip()).await,
                    Kind::Ops => router::route_ops(&state, req, peer.ip()).await,
                };
                let (status, resp) = finish(&state, resp, guard, is_h2);
                let elapsed = start.elapsed();
                state.metrics.observe_request(route, status, elapsed);
                if let Some(logged) = logged {
                    logged.finish(route, &resp, elapsed);
                }
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let io = TokioIo::new(HeadErrors::new(StallTimeout::new(stream, header_timeout)));
    let mut conn = pin!(builder.serve_connection(io, svc));
    let mut stop = pin!(state.shutdown.stopped());
    let mut watch = pin!(watchdog(&state, &activity, false));
    let mut stop_seen = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = stop.as_mut(), if !stop_seen => {
                stop_seen = true;
                // A connection that has not asked anything yet may have its first request in
                // flight (it connected during the shutdown delay): let it be served, with
                // `Connection: close`; the watchdog closes it if nothing comes.
                let s = activity.snapshot();
                if s.started > 0 || activity.is_h2() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            verdict = watch.as_mut() => {
                match verdict {
                    Verdict::Wind => {
                        conn.as_mut().graceful_shutdown();
                        // Keep watching for a stall while the open streams finish.
                        watch.set(watchdog(&state, &activity, true));
                    }
                    Verdict::Close => {
                        tracing::debug!(%peer, "closing a connection that stalled, never asked, or outstayed its GOAWAY");
                        return;
                    }
                }
            }
        }
    }
}

/// The response as sent: its body tracked (or a 503 if the in-flight budget is spent), and
/// `Connection: close` on HTTP/1 from SIGTERM on. Returns the status for metrics.
fn finish(
    state: &AppState,
    resp: Resp,
    guard: RequestGuard,
    is_h2: bool,
) -> (u16, http::Response<TrackedBody>) {
    let (parts, body) = resp.into_parts();
    let (mut parts, body) = match guard.track(body, &state.inflight) {
        Ok(body) => (parts, body),
        Err(guard) => {
            let refusal = HttpError::Overloaded("too many responses in flight, retry shortly")
                .into_response();
            let (parts, body) = refusal.into_parts();
            (parts, guard.track_unbudgeted(body))
        }
    };
    if !is_h2 && state.shutdown.is_draining() {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    (
        parts.status.as_u16(),
        http::Response::from_parts(parts, body),
    )
}

/// Watches one connection and says when to wind it down or close it:
/// - no request within the header timeout → close (a client that connects and sends nothing,
///   half an HTTP/2 preface, or half a request head);
/// - HTTP/1 after its first request: no request open and none started for the header timeout →
///   close (the next head is due that long after the last response: an idle keep-alive client,
///   or one sending its head slowly). hyper's own header timer does the same per request, at
///   the cost of a timer armed and dropped for every request; this tick costs a connection a
///   few wake-ups per timeout, whatever its request rate. The deadline is met within a tick
///   (a quarter of the timeout) of the timeout. The stall guard on the socket and
///   `Connection: close` while draining do the rest;
/// - HTTP/2: wind down (GOAWAY) once draining, or after the keep-alive timeout with no stream
///   open and none started, pings or not; close when response bodies are in flight and none has
///   finished for the stall timeout (a zero flow-control window never blocks the socket);
/// - HTTP/2 after the GOAWAY: close once no stream has been open for the keep-alive timeout.
///   h2's graceful close sends a second, final GOAWAY only when the peer acknowledges a PING,
///   and closes only after that; a peer that neither answers nor closes would otherwise hold the
///   connection, and its slot, for as long as it keeps the socket.
///
/// `wound`: a GOAWAY went out already, so only the stall and the idle checks are left.
async fn watchdog(state: &AppState, activity: &ConnActivity, wound: bool) -> Verdict {
    let timeout = state.config.header_read_timeout;
    let tick = (timeout / 4).max(Duration::from_millis(5));
    let mut draining = pin!(state.shutdown.draining());
    let mut drain_seen = wound;
    let opened = Instant::now();
    let mut last: ActivitySnapshot = activity.snapshot();
    let (mut quiet_since, mut stuck_since) = (opened, opened);
    loop {
        tokio::select! {
            () = draining.as_mut(), if !drain_seen => drain_seen = true,
            () = tokio::time::sleep(tick) => {}
        }
        let now = activity.snapshot();
        let t = Instant::now();
        if now.started == 0 {
            if t - opened >= timeout {
                return Verdict::Close;
            }
            continue;
        }
        if !(now.sending > 0 && now.sent == last.sent) {
            stuck_since = t;
        }
        if !(now.open == 0 && now.started == last.started) {
            quiet_since = t;
        }
        last = now;
        if !activity.is_h2() {
            if t - quiet_since >= timeout {
                return Verdict::Close;
            }
            continue;
        }
        if t - stuck_since >= timeout || (wound && t - quiet_since >= timeout) {
            return Verdict::Close;
        }
        if !wound && (drain_seen || t - quiet_since >= timeout) {
            return Verdict::Wind;
        }
    }
}

/// Holds a connection slot and keeps the open-connections gauge honest.
struct Slot {
    state: Arc<AppState>,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn open(state: Arc<AppState>, permit: OwnedSemaphorePermit) -> Slot {
        state.metrics.connections_open.fetch_add(1, Relaxed);
        Slot {
            state,
            _permit: permit,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.metrics.connections_open.fetch_sub(1, Relaxed);
    }
}

/// The connection builder: HTTP/1.1 (keep-alive unless `keep_alive` is false, as for reserve
/// connections, which serve one probe and close) and HTTP/2 cleartext.
fn http_builder(keep_alive: bool) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        // The head deadline is the watchdog's (see there): hyper's per-request timer is off.
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BUF)
        .keep_alive(keep_alive);
    b.http2()
        .timer(TokioTimer::new())
        // Dead HTTP/2 peers are found by pings; live idle ones by the watchdog above.
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_send_buf_size(MAX_H2_SEND_BUF);
    b
}

/// Errors that concern one connection only (the client went away during the handshake).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}
