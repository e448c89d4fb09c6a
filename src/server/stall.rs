//! A deadline on stalled writes for server connections.
//!
//! The connection's watchdog covers a client that is slow to *send* a head (the header read
//! timeout), but not one
//! that stops *reading*: once the socket's send buffer is full, the connection task waits for
//! writability forever and the client keeps a connection slot. [`StallTimeout`] fails a write
//! that has made no progress for `limit`, which ends the connection and frees the slot.
//!
//! Only writes are guarded; reads are the watchdog's (heads) and hyper's (HTTP/2 keep-alive
//! pings). The timer is armed only when a write would block, so a connection that
//! never fills its send buffer never touches the timer wheel.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// An I/O stream whose writes fail with `TimedOut` after `limit` without progress.
pub struct StallTimeout<S> {
    inner: S,
    limit: Duration,
    /// Created on the first stall and reset on later ones, so a connection allocates it at
    /// most once.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether `timer` currently measures a stall (a write returned `Pending` and nothing has
    /// been written since).
    armed: bool,
}

impl<S> StallTimeout<S> {
    pub fn new(inner: S, limit: Duration) -> StallTimeout<S> {
        StallTimeout {
            inner,
            limit,
            timer: None,
            armed: false,
        }
    }

    /// Passes a ready result through (progress: disarm), and turns a `Pending` that has lasted
    /// `limit` into an error.
    fn guard<T>(&mut self, cx: &mut Context<'_>, res: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if res.is_ready() {
            self.armed = false;
            return res;
        }
        let timer = match (&mut self.timer, self.armed) {
            (Some(timer), true) => timer,
            (slot, _) => {
                let deadline = Instant::now() + self.limit;
                self.armed = true;
                match slot {
                    Some(timer) => {
                        timer.as_mut().reset(deadline);
                        timer
                    }
                    None => slot.insert(Box::pin(tokio::time::sleep_until(deadline))),
                }
            }
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.armed = false;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client stopped reading: write stalled past the timeout",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, res)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, res)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A duplex pipe whose reader never reads: writes stall once its small buffer is full.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_fails_after_the_limit() {
        let (client, _server_end_never_read) = tokio::io::duplex(64);
        let mut s = StallTimeout::new(client, Duration::from_secs(10));
        s.write_all(&[0; 64]).await.expect("fits the buffer");
        let started = Instant::now();
        let err = s
            .write_all(&[0; 1])
            .await
            .expect_err("the reader never makes room");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    /// Progress resets the clock: a reader that drains slowly, but within the limit each time,
    /// never trips it however long the whole transfer takes.
    #[tokio::test(start_paused = true)]
    async fn progress_within_the_limit_never_times_out() {
        use tokio::io::AsyncReadExt;
        let (client, mut reader) = tokio::io::duplex(16);
        let drain = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(9)).await;
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n,
                }
            }
        });
        let mut s = StallTimeout::new(client, Duration::from_secs(10));
        let started = Instant::now();
        s.write_all(&[7; 160])
            .await
            .expect("each stall is under the limit");
        s.shutdown().await.expect("shuts down");
        drop(s);
        assert_eq!(drain.await.expect("drain task"), 160);
        assert!(
            started.elapsed() > Duration::from_secs(10),
            "the whole transfer took longer than one limit"
        );
    }
}
