//! What a connection has in flight: requests being handled, response bodies being sent, and the
//! global budget of response bytes held by connections still sending them.
//!
//! Two things need this beyond hyper's own limits:
//! - **Idle and stall deadlines.** hyper closes neither an HTTP/1 keep-alive connection whose
//!   next head is overdue (its per-request header timer is off, see `server/mod.rs`) nor an
//!   HTTP/2 one whose client answers pings (it would keep its connection, and slot, forever),
//!   and a stream whose flow-control window stays at zero never blocks a socket write, so
//!   [`crate::server::stall`] never sees it. The connection's watchdog (`server/mod.rs`) reads
//!   the counters here: no request open for the header timeout → close (HTTP/1) or GOAWAY
//!   (HTTP/2); bodies in flight but none finished for the stall timeout → close.
//! - **Memory pinned by slow readers.** A response body shares its bytes with the image cache,
//!   but once the cache evicts the image only the connection holds it; thousands of zero-window
//!   streams once pinned ten times the cache bound. Every body reserves its length against
//!   [`InflightBytes`] until it is done; past the budget new responses get 503.
//!
//! [`TrackedBody`] holds both reservations until hyper drops it: over HTTP/2 that is once the
//! stream has send capacity for its data (hyper keeps the body while the window is zero).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};

/// The server-wide budget of response bytes in flight.
#[derive(Debug)]
pub struct InflightBytes {
    used: AtomicUsize,
    max: usize,
}

impl InflightBytes {
    pub fn new(max: usize) -> InflightBytes {
        InflightBytes {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Reserves `n` bytes; `false` (and nothing reserved) if that would pass the budget. A body
    /// larger than the whole budget is still let through when nothing else is in flight, so a
    /// small budget cannot make an image unservable.
    fn try_reserve(&self, n: usize) -> bool {
        let before = self.used.fetch_add(n, Relaxed);
        if before + n > self.max && before > 0 {
            self.used.fetch_sub(n, Relaxed);
            return false;
        }
        true
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Relaxed);
    }

    /// Bytes reserved right now, for `/metrics`.
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }
}

/// One connection's counters, shared by its requests and its watchdog.
#[derive(Debug, Default)]
pub struct ConnActivity {
    /// Requests started (the service was called).
    started: AtomicU64,
    /// Requests finished: their response body is done, or they were cancelled.
    finished: AtomicU64,
    /// Response bodies created and not yet done.
    sending: AtomicUsize,
    /// Response bodies done (sent, or dropped with the stream).
    sent: AtomicU64,
    /// Whether a request came over HTTP/2.
    h2: AtomicBool,
}

/// A snapshot for the watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivitySnapshot {
    pub started: u64,
    pub open: u64,
    pub sending: usize,
    pub sent: u64,
}

impl ConnActivity {
    pub fn snapshot(&self) -> ActivitySnapshot {
        // `finished` before `started`: a request starting in between is counted open, never
        // negative.
        let finished = self.finished.load(Relaxed);
        let started = self.started.load(Relaxed);
        ActivitySnapshot {
            started,
            open: started.saturating_sub(finished),
            sending: self.sending.load(Relaxed),
            sent: self.sent.load(Relaxed),
        }
    }

    pub fn is_h2(&self) -> bool {
        self.h2.load(Relaxed)
    }

    /// Counts a request as open until the returned guard (or the body it moves into) is done.
    pub fn start(self: &Arc<Self>, is_h2: bool) -> RequestGuard {
        if is_h2 {
            self.h2.store(true, Relaxed);
        }
        self.started.fetch_add(1, Relaxed);
        RequestGuard {
            conn: Arc::clone(self),
        }
    }
}

/// An open request; finished when dropped.
#[derive(Debug)]
pub struct RequestGuard {
    conn: Arc<ConnActivity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.conn.finished.fetch_add(1, Relaxed);
    }
}

impl RequestGuard {
    /// Turns the handler's body into one that is counted as sending (and its bytes against
    /// `budget`) until it is done. `Err` gives the guard back: the budget is spent, answer 503.
    pub fn track(
        self,
        body: Full<Bytes>,
        budget: &Arc<InflightBytes>,
    ) -> Result<TrackedBody, RequestGuard> {
        let len = body.size_hint().exact().unwrap_or(0) as usize;
        if len > 0 && !budget.try_reserve(len) {
            return Err(self);
        }
        Ok(self.sending(body, Some((Arc::clone(budget), len))))
    }

    /// [`RequestGuard::track`] outside the budget, for the small refusal sent when it is spent.
    pub fn track_unbudgeted(self, body: Full<Bytes>) -> TrackedBody {
        self.sending(body, None)
    }

    fn sending(
        self,
        body: Full<Bytes>,
        reserved: Option<(Arc<InflightBytes>, usize)>,
    ) -> TrackedBody {
        self.conn.sending.fetch_add(1, Relaxed);
        TrackedBody {
            inner: body,
            _sending: Sending {
                request: self,
                reserved,
            },
        }
    }
}

/// A sending body's reservations; released when the body is dropped.
#[derive(Debug)]
struct Sending {
    request: RequestGuard,
    reserved: Option<(Arc<InflightBytes>, usize)>,
}

impl Drop for Sending {
    fn drop(&mut self) {
        if let Some((budget, len)) = &self.reserved {
            budget.release(*len);
        }
        let conn = &self.request.conn;
        conn.sending.fetch_sub(1, Relaxed);
        conn.sent.fetch_add(1, Relaxed);
    }
}

/// Every response body the server sends: the handler's bytes plus the reservations above.
#[derive(Debug)]
pub struct TrackedBody {
    inner: Full<Bytes>,
    _sending: Sending,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_holds_its_bytes_and_its_stream_until_done() {
        let conn = Arc::new(ConnActivity::default());
        let budget = Arc::new(InflightBytes::new(10));
        let body = conn
            .start(true)
            .track(Full::new(Bytes::from_static(b"12345678")), &budget)
            .expect("fits");
        assert_eq!(budget.used(), 8);
        assert!(conn.is_h2());
        let s = conn.snapshot();
        assert_eq!((s.open, s.sending), (1, 1));
        // Another body would pass the budget while the first is in flight.
        let refused = conn
            .start(true)
            .track(Full::new(Bytes::from_static(b"abc")), &budget);
        assert!(refused.is_err());
        drop(refused);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"12345678");
        assert_eq!(budget.used(), 0);
        let s = conn.snapshot();
        assert_eq!((s.started, s.open, s.sending, s.sent), (2, 0, 0, 1));
    }

    #[test]
    fn one_body_larger_than_the_budget_still_goes_out_alone() {
        let budget = InflightBytes::new(4);
        assert!(budget.try_reserve(100));
        assert!(!budget.try_reserve(1));
        budget.release(100);
        assert!(budget.try_reserve(1));
    }
}
