//! Operator endpoints: liveness, readiness and metrics, and the store write probe readiness
//! follows.
//!
//! They are served on their own listener (`--ops-listen`, default `127.0.0.1:9090`) with its own
//! small connection budget, so a flood of the public port cannot starve the probes; the public
//! port keeps answering `/healthz` for compatibility.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderValue};

use crate::http::{Resp, text};
use crate::state::AppState;

/// `/healthz`: the process is up and answering. Never depends on anything else, so an
/// orchestrator does not restart a server that is merely busy or draining.
pub fn healthz() -> Resp {
    text(StatusCode::OK, "ok\n")
}

/// `/readyz`: 200 while this instance should get traffic; 503 once shutdown has begun, so load
/// balancers take it out before its listener closes, and 503 while the store fails writes (every
/// API write would answer 500) until a probe succeeds again, or while the database is
/// unreachable.
pub fn readyz(state: &AppState) -> Resp {
    if state.shutdown.is_draining() {
        text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else if !state.store.is_available() {
        // The QR API cannot work; the image origin still does, but a load balancer should
        // prefer an instance that can serve everything.
        text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    } else if !state.store_health.is_writable() {
        text(StatusCode::SERVICE_UNAVAILABLE, "store not writable\n")
    } else {
        text(StatusCode::OK, "ready\n")
    }
}

/// Whether the store took its last write probe.
#[derive(Debug)]
pub struct StoreHealth {
    writable: AtomicBool,
}

impl Default for StoreHealth {
    fn default() -> Self {
        StoreHealth {
            writable: AtomicBool::new(true),
        }
    }
}

impl StoreHealth {
    pub fn is_writable(&self) -> bool {
        self.writable.load(Relaxed)
    }
}

/// Probes the store with a write every `every` until `state.shutdown` stops: a prune that
/// matches nothing, which still needs the write lock (SQLite's `IMMEDIATE` transaction, a
/// PostgreSQL write transaction) and so fails exactly when real writes would. Changes are logged
/// once each way.
pub async fn probe_store_writes(state: std::sync::Arc<AppState>, every: Duration) {
    let mut stop = std::pin::pin!(state.shutdown.stopped());
    loop {
        let result = state.store.prune_outbox(i64::MIN).await;
        let writable = result.is_ok();
        let was = state.store_health.writable.swap(writable, Relaxed);
        match (&result, was) {
            (Err(e), true) => tracing::error!(error = %e, "store write probe failed: /readyz 503"),
            (Ok(_), false) => tracing::warn!("store writable again: /readyz 200"),
            _ => {}
        }
        tokio::select! {
            () = stop.as_mut() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// The API document, compiled in: what a client fetches is what this binary implements.
const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// `/openapi.yaml`.
pub fn openapi() -> Resp {
    let mut resp = text(StatusCode::OK, OPENAPI_YAML);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    resp
}

/// `/metrics`: Prometheus text format.
pub async fn metrics(state: &AppState) -> Resp {
    let mut body = state.metrics.encode(state.origin.cache_gauges().await);
    state.deliverer.stats().encode(&mut body);
    body.push_str(&format!(
        "# HELP qr_origin_render_queue_depth Renders queued or running on the render pool.\n\
         # TYPE qr_origin_render_queue_depth gauge\n\
         qr_origin_render_queue_depth {}\n",
        state.origin.render_queue_depth()
    ));
    body.push_str(&format!(
        "# HELP qr_origin_inflight_response_bytes Response bytes held by connections sending them.\n\
         # TYPE qr_origin_inflight_response_bytes gauge\n\
         qr_origin_inflight_response_bytes {}\n",
        state.inflight.used()
    ));
    let mut resp = text(StatusCode::OK, Bytes::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
