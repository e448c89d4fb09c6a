//! The accept loop, in hyper-util's graceful-shutdown shape: accept in a `select!` with the stop
//! signal, serve each connection with the auto builder (HTTP/1.1 keep-alive and HTTP/2 prior
//! knowledge on one port), watch it for graceful shutdown, and on stop drop the listener and
//! drain with a deadline.
//!
//! Limits that keep one client from pinning the server:
//! - a request head must arrive within `header_read_timeout` (hyper's HTTP/1 timer, plus a
//!   watchdog covering the protocol sniffing before it, where hyper has no timer);
//! - a response write may stall (a client that stops reading) for no longer than the same
//!   timeout ([`StallTimeout`]);
//! - at most `max_connections` normal connections; a small reserve beyond that serves only the
//!   operator endpoints (so `/healthz` answers while the server is full); beyond that, new
//!   connections are closed at once rather than left in the kernel backlog.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::head_errors::HeadErrors;
use crate::keys;
use crate::router;
use crate::stall::StallTimeout;
use crate::state::AppState;
use crate::token::VerifyLimits;

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
    let keyring = keys::load_keyring(&config.data_dir, &config.signing_keys, limits)?;
    let state = AppState::new(config, public_url, keyring, clock)?;
    Ok((listener, Arc::new(state)))
}

/// Serves until `state.shutdown` says stop, then drains for at most the configured deadline.
pub async fn run(listener: TcpListener, state: Arc<AppState>) {
    let cfg = &state.config;
    let normal = Arc::new(Semaphore::new(cfg.max_connections));
    let reserve = Arc::new(Semaphore::new(cfg.reserve_connections));
    let builders = Arc::new([http_builder(cfg, true), http_builder(cfg, false)]);
    let graceful = GracefulShutdown::new();
    let mut stopped = pin!(state.shutdown.stopped());
    let mut backoff = Duration::from_millis(5);
    // The webhook delivery worker lives as long as the server and stops on the same signal.
    let deliveries = {
        let state = state.clone();
        tokio::spawn(async move {
            let stop = state.shutdown.stopped();
            Arc::clone(&state.deliverer).run(stop).await;
        })
    };

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
        let (permit, is_reserve) = if let Ok(p) = normal.clone().try_acquire_owned() {
            (p, false)
        } else if let Ok(p) = reserve.clone().try_acquire_owned() {
            (p, true)
        } else {
            state.metrics.connections_refused.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "connection refused: every slot taken");
            drop(stream);
            continue;
        };
        let watcher = graceful.watcher();
        let builders = builders.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let builder = &builders[usize::from(is_reserve)];
            serve_connection(builder, stream, peer, state, permit, is_reserve, watcher).await;
        });
    }

    drop(listener);
    let open = graceful.count();
    let deadline = state.config.drain_timeout;
    tracing::info!(
        open,
        deadline_ms = deadline.as_millis() as u64,
        "stopped accepting; draining"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained; bye"),
        () = tokio::time::sleep(deadline) => tracing::warn!("drain deadline reached; closing the rest"),
    }
    // In-flight deliveries end within their timeout; an unfinished one is retried after a
    // restart (its lease lapses), so cutting it off at the drain deadline loses nothing.
    if tokio::time::timeout(deadline, deliveries).await.is_err() {
        tracing::warn!("webhook deliveries still running at the drain deadline");
    }
}

/// Serves one connection until it closes, times out or is drained.
async fn serve_connection(
    builder: &Builder<TokioExecutor>,
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<AppState>,
    permit: OwnedSemaphorePermit,
    is_reserve: bool,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let _slot = Slot::open(state.clone(), permit);
    let _ = stream.set_nodelay(true);
    let header_timeout = state.config.header_read_timeout;
    // Set by the first request; until then the watchdog below may close the connection.
    let seen_request = Arc::new(AtomicBool::new(false));
    let seen = seen_request.clone();
    let svc = service_fn(move |req| {
        seen.store(true, Relaxed);
        let state = state.clone();
        async move {
            let start = Instant::now();
            let (route, resp) = if is_reserve {
                router::route_reserve(&state, req).await
            } else {
                router::route(&state, req).await
            };
            state
                .metrics
                .observe_request(route, resp.status().as_u16(), start.elapsed());
            Ok::<_, Infallible>(resp)
        }
    });
    let io = TokioIo::new(HeadErrors::new(StallTimeout::new(stream, header_timeout)));
    let conn = watcher.watch(builder.serve_connection(io, svc));
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        () = first_request_deadline(&seen_request, header_timeout) => {
            tracing::debug!(%peer, "no request head within the header timeout; closing");
        }
    }
}

/// Resolves if no request has started within `timeout`; otherwise never. Covers the protocol
/// sniffing that precedes hyper's own header timer (a client that connects and sends nothing,
/// or half an HTTP/2 preface).
async fn first_request_deadline(seen: &AtomicBool, timeout: Duration) {
    tokio::time::sleep(timeout).await;
    if seen.load(Relaxed) {
        std::future::pending::<()>().await;
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
fn http_builder(cfg: &Config, keep_alive: bool) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .keep_alive(keep_alive);
    b.http2()
        .timer(TokioTimer::new())
        // Dead HTTP/2 peers are found by pings rather than a header timer.
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(256);
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
