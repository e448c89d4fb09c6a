//! The router: one `match` on (method, path). Adding a route is adding an arm.
//!
//! Each arm also names the route for metrics (a fixed label, never the raw path, so label
//! cardinality stays bounded whatever clients send).

use std::sync::Arc;

use http::{Method, Request};
use hyper::body::Incoming;

use crate::http::{HttpError, Resp};
use crate::state::AppState;
use crate::{ops, origin};

/// Routes one request; returns the route's metrics label and the response.
pub async fn route(state: &Arc<AppState>, req: Request<Incoming>) -> (&'static str, Resp) {
    // Cheap clones (an enum and a ref-counted URI) so `req` can move into handlers.
    let method = req.method().clone();
    let uri = req.uri().clone();
    match (&method, uri.path()) {
        (&Method::GET | &Method::HEAD, origin::PATH) => {
            let now = state.clock.now_unix();
            let res = state
                .origin
                .handle(
                    &state.keyring,
                    &state.metrics,
                    now,
                    &method,
                    &uri,
                    req.headers(),
                )
                .await;
            ("origin", res.unwrap_or_else(HttpError::into_response))
        }
        (_, origin::PATH) => ("origin", not_allowed("GET, HEAD")),
        (&Method::GET | &Method::HEAD, "/healthz") => ("healthz", ops::healthz()),
        (&Method::GET | &Method::HEAD, "/readyz") => ("readyz", ops::readyz(state)),
        (&Method::GET, "/metrics") => ("metrics", ops::metrics(state)),
        (_, "/healthz" | "/readyz" | "/metrics") => ("ops", not_allowed("GET, HEAD")),
        _ => ("not_found", HttpError::NotFound.into_response()),
    }
}

/// Routes a request that arrived on a reserve connection (the server is at its connection cap):
/// only the operator endpoints are served, everything else is told to come back later.
pub async fn route_reserve(state: &Arc<AppState>, req: Request<Incoming>) -> (&'static str, Resp) {
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/healthz" | "/readyz") | (&Method::GET, "/metrics") => {
            route(state, req).await
        }
        _ => (
            "overloaded",
            HttpError::Overloaded("too many open connections, retry shortly").into_response(),
        ),
    }
}

fn not_allowed(allow: &'static str) -> Resp {
    HttpError::MethodNotAllowed { allow }.into_response()
}
