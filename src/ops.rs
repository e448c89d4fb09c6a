//! Operator endpoints: liveness, readiness (which follows the store write probe,
//! [`crate::state::probe_store_writes`]) and metrics.
//!
//! They are served on their own listener (`--ops-listen`, default `127.0.0.1:9090`) with its own
//! small connection budget, so a flood of the public port cannot starve the probes; the public
//! port keeps answering `/healthz` for compatibility.

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderValue};

use crate::http::{Resp, text};
use crate::metrics;
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
    state.scans.stats.encode(&mut body);
    metrics::single(
        &mut body,
        "qr_origin_render_queue_depth",
        "gauge",
        "Renders queued or running on the render pool.",
        state.origin.render_queue_depth(),
    );
    metrics::single(
        &mut body,
        "qr_origin_inflight_response_bytes",
        "gauge",
        "Response bytes held by connections sending them.",
        state.inflight.used(),
    );
    let mut resp = text(StatusCode::OK, Bytes::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
