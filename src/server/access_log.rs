//! The access log (`--access-log`): one structured line per request, at info level with the
//! target `qr_origin::access`, in the format every other log line has (`--log-format text` or
//! `json`):
//!
//! ```text
//! INFO qr_origin::access: request method=GET route=origin status=200 duration_us=232 bytes=511 cache=HIT request_id=d2aac7cd-1 version=HTTP/1.1 peer=127.0.0.1:43680
//! ```
//!
//! - `route` is the router's label (the same as the metrics' `route`), never the path: image
//!   tokens and short codes in paths are capabilities, and an access log is read by more people
//!   than the key ring is.
//! - `duration_us` is the time to produce the response (head ready, body in memory), the span
//!   `http_request_duration_seconds` measures; the body's transfer is not in it.
//! - `bytes` is the response body's length (`0` for `HEAD` and `304`).
//! - `cache` is the image origin's `X-Cache` (`HIT`/`MISS`), `-` for every other answer.
//! - `request_id` is the client's `X-Request-Id` when it sent a sane one (a load balancer's),
//!   else one made here: a random per-process prefix and a counter, unique across restarts and
//!   replicas for all practical purposes, and cheap (no random draw per request).
//!
//! Off by default: it costs every request a formatted write to stderr (README states the cost
//! the load test measured).

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Response, Version};

/// The request header whose value, when sane, becomes the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest client-supplied request id taken as is; longer ones are replaced.
pub const MAX_GIVEN_ID_BYTES: usize = 128;

/// Makes request ids; one per server, in the app state.
#[derive(Debug)]
pub struct AccessLog {
    /// Random per process, so ids made by two replicas or two runs do not collide.
    prefix: u32,
    next: AtomicU64,
}

impl Default for AccessLog {
    fn default() -> Self {
        AccessLog::new()
    }
}

impl AccessLog {
    pub fn new() -> AccessLog {
        let mut bytes = [0u8; 4];
        // A failed draw only makes ids less unique across processes; the counter keeps them
        // unique within this one, so it is no reason to refuse to start.
        let _ = getrandom::fill(&mut bytes);
        AccessLog {
            prefix: u32::from_le_bytes(bytes),
            next: AtomicU64::new(1),
        }
    }

    /// The request's id: the client's `X-Request-Id` if it is 1..=128 visible ASCII characters,
    /// else a new one.
    pub fn request_id(&self, headers: &HeaderMap) -> RequestId {
        if let Some(given) = headers.get(REQUEST_ID_HEADER)
            && is_sane_id(given)
        {
            return RequestId::Given(given.clone());
        }
        RequestId::Made {
            prefix: self.prefix,
            seq: self.next.fetch_add(1, Relaxed),
        }
    }
}

/// SECURITY: the value goes into log lines verbatim; anything but visible ASCII (no spaces,
/// no control characters, no quotes to break out of a field) is replaced.
fn is_sane_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_GIVEN_ID_BYTES
        && b.iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\\')
}

/// A request's id, formatted only when the line is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestId {
    /// From the client's `X-Request-Id`, checked by [`is_sane_id`].
    Given(HeaderValue),
    /// Made here: `{prefix:08x}-{seq:x}`.
    Made { prefix: u32, seq: u64 },
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Checked visible ASCII, so the lossy conversion never loses anything.
            RequestId::Given(v) => f.write_str(&String::from_utf8_lossy(v.as_bytes())),
            RequestId::Made { prefix, seq } => write!(f, "{prefix:08x}-{seq:x}"),
        }
    }
}

/// What the line needs from the request, taken before the request moves into the router.
#[derive(Debug)]
pub struct Started {
    pub id: RequestId,
    pub method: Method,
    pub version: Version,
    pub peer: SocketAddr,
}

impl Started {
    /// Writes the line for the response as it is sent.
    pub fn finish<B: hyper::body::Body>(
        self,
        route: &'static str,
        resp: &Response<B>,
        elapsed: Duration,
    ) {
        let cache = resp
            .headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        let bytes = resp.body().size_hint().exact().unwrap_or(0);
        tracing::info!(
            target: "qr_origin::access",
            method = %self.method,
            // Display, not Debug: `route=origin` rather than `route="origin"` in text logs.
            route = %route,
            status = resp.status().as_u16(),
            duration_us = elapsed.as_micros() as u64,
            bytes,
            cache = %cache,
            request_id = %self.id,
            version = ?self.version,
            peer = %self.peer,
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_bytes(id).expect("a valid header value"),
        );
        h
    }

    #[test]
    fn made_ids_are_distinct_and_share_the_process_prefix() {
        let log = AccessLog::new();
        let a = log.request_id(&HeaderMap::new()).to_string();
        let b = log.request_id(&HeaderMap::new()).to_string();
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
        assert_eq!(a, format!("{:08x}-1", log.prefix));
    }

    #[test]
    fn a_sane_client_id_is_kept() {
        let log = AccessLog::new();
        let id = log.request_id(&headers(b"lb-7f3a9c:42"));
        assert_eq!(id.to_string(), "lb-7f3a9c:42");
    }

    #[test]
    fn odd_client_ids_are_replaced() {
        let log = AccessLog::new();
        let long = vec![b'a'; MAX_GIVEN_ID_BYTES + 1];
        let bad: [&[u8]; 5] = [b"two words", b"q\"uote", b"back\\slash", b"\xc3\xa6", &long];
        for raw in bad {
            let id = log.request_id(&headers(raw));
            assert!(matches!(id, RequestId::Made { .. }), "{raw:?} was kept");
        }
        let longest = vec![b'a'; MAX_GIVEN_ID_BYTES];
        assert!(matches!(
            log.request_id(&headers(&longest)),
            RequestId::Given(_)
        ));
    }
}
