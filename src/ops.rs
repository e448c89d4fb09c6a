//! Operator endpoints: liveness, readiness and metrics.

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
/// balancers take it out before its listener closes.
pub fn readyz(state: &AppState) -> Resp {
    if state.shutdown.is_draining() {
        text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        text(StatusCode::OK, "ready\n")
    }
}

/// `/metrics`: Prometheus text format.
pub fn metrics(state: &AppState) -> Resp {
    let mut body = state.metrics.encode(state.origin.cache_gauges());
    state.deliverer.stats().encode(&mut body);
    let mut resp = text(StatusCode::OK, Bytes::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
