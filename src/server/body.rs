//! Request bodies as handlers see them: hyper's `Incoming` with a deadline for the whole body.
//!
//! The connection's watchdog times out a slow request *head*, not a slow body: one byte every
//! few seconds once held
//! an authenticated create (and its connection) open for as long as the client liked. The
//! deadline starts when a handler first reads the body (right after the head, in practice) and
//! covers all of it; past it the read fails with [`BodyTimedOut`], which the API answers `408`.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

/// Every request body the router hands to a handler.
#[derive(Debug)]
pub struct ReqBody {
    inner: Incoming,
    limit: Duration,
    /// Armed on the first read, so a request whose body is never read costs no timer.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl ReqBody {
    pub fn new(inner: Incoming, limit: Duration) -> ReqBody {
        ReqBody {
            inner,
            limit,
            deadline: None,
        }
    }
}

/// Why reading a request body failed.
#[derive(Debug)]
pub enum ReadError {
    /// The whole body did not arrive within the deadline.
    TimedOut(BodyTimedOut),
    /// The connection failed or the body was malformed.
    Failed(hyper::Error),
}

/// The body deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimedOut(pub Duration);

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the request body did not arrive within {:?}", self.0)
    }
}

impl StdError for BodyTimedOut {}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TimedOut(t) => t.fmt(f),
            ReadError::Failed(e) => write!(f, "reading the request body: {e}"),
        }
    }
}

impl StdError for ReadError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ReadError::TimedOut(t) => Some(t),
            ReadError::Failed(e) => Some(e),
        }
    }
}

impl ReadError {
    /// Whether `e` (as a body-collecting wrapper such as `Limited` boxes it) is a missed
    /// deadline.
    pub fn is_timeout(e: &(dyn StdError + 'static)) -> bool {
        matches!(e.downcast_ref::<ReadError>(), Some(ReadError::TimedOut(_)))
    }
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = ReadError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ReadError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(ReadError::Failed)));
        }
        let limit = this.limit;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(ReadError::TimedOut(BodyTimedOut(limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
