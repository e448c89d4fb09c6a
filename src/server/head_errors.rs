//! Bodies for the answers hyper gives on its own to request heads it cannot parse.
//!
//! A request line over 64 KiB (`414`), a head over the buffer (`431`) or a malformed one
//! (`400`) never reaches a handler: hyper answers it itself with an empty body and closes the
//! connection, and hyper offers no hook to shape that answer. A client of the QR API expects
//! the API's JSON error body on every error, so [`HeadErrors`] watches the response bytes of a
//! connection and swaps exactly those automatic answers for the same status with a JSON problem
//! document (`application/json`, `no-store`). The path is unknown at that point (the head did not
//! parse), so every path gets the JSON body; the origin's contract allows "a short plain or JSON
//! body" on errors, so that is within it too.
//!
//! Recognised strictly: a write that starts with one of these statuses and holds a complete
//! head whose only headers are `connection`, `content-length: 0` and `date`. Every handler's
//! answer carries `cache-control`, so none can match; HTTP/2 frames never start with
//! `HTTP/1.1 `.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The statuses hyper answers by itself (and 413, should a layer below handlers add one).
const AUTOMATIC: [StatusCode; 4] = [
    StatusCode::BAD_REQUEST,
    StatusCode::PAYLOAD_TOO_LARGE,
    StatusCode::URI_TOO_LONG,
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
];

/// A server connection's stream whose automatic error answers get a JSON body.
pub struct HeadErrors<S> {
    inner: S,
    /// The replacement answer not yet handed to `inner`; drained before anything else.
    pending: Bytes,
}

impl<S> HeadErrors<S> {
    pub fn new(inner: S) -> HeadErrors<S> {
        HeadErrors {
            inner,
            pending: Bytes::new(),
        }
    }
}

impl<S: AsyncWrite + Unpin> HeadErrors<S> {
    /// Writes what is left of the replacement; `Ready(Ok)` once it is all out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.pending.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// If `buf` starts with an automatic answer, queues its replacement and returns how many
    /// bytes of `buf` it stands for.
    fn intercept(&mut self, buf: &[u8]) -> Option<usize> {
        let (head_len, replacement) = replacement_for(buf)?;
        tracing::debug!(
            status = %String::from_utf8_lossy(&buf[9..12]),
            "request head refused by the HTTP layer; answering with a JSON body"
        );
        self.pending = replacement;
        Some(head_len)
    }
}

/// The length of the automatic answer at the start of `buf` and the answer to send instead.
fn replacement_for(buf: &[u8]) -> Option<(usize, Bytes)> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status = StatusCode::from_bytes(rest.get(..3)?).ok()?;
    if !AUTOMATIC.contains(&status) {
        return None;
    }
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_len]).ok()?;
    let mut date = None;
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "connection" => {}
            "content-length" if value == "0" => {}
            "date" => date = Some(value),
            _ => return None,
        }
    }
    let detail = match status {
        StatusCode::URI_TOO_LONG => "the request line is longer than this server accepts (64 KiB)",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request headers are larger than this server accepts"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this server accepts",
        _ => "the request could not be parsed as HTTP",
    };
    let body = crate::api::error::problem_body(status, detail);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    );
    if let Some(date) = date {
        out.push_str(&format!("date: {date}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Some((head_len, Bytes::from(bytes)))
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        if let Some(n) = self.intercept(buf) {
            // Start sending at once; whatever is left goes out on the next write or flush.
            return match self.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(n)),
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(n) = self.intercept(first)
        {
            return match self.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(n)),
            };
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_414: &[u8] = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\n\
content-length: 0\r\ndate: Tue, 01 Dec 2026 21:31:00 GMT\r\n\r\n";

    fn parse(answer: &[u8]) -> (String, serde_json::Value) {
        let text = std::str::from_utf8(answer).expect("ASCII answer");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        (
            head.to_owned(),
            serde_json::from_str(body).expect("JSON body"),
        )
    }

    #[test]
    fn hypers_automatic_answers_get_a_json_problem_body() {
        let (n, answer) = replacement_for(HYPER_414).expect("recognised");
        assert_eq!(n, HYPER_414.len());
        let (head, body) = parse(&answer);
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("cache-control: no-store"), "{head}");
        assert!(
            head.contains("date: Tue, 01 Dec 2026 21:31:00 GMT"),
            "{head}"
        );
        let len = body.to_string().len();
        assert!(head.contains(&format!("content-length: {len}")), "{head}");
        assert_eq!(body["status"], 414);
        assert_eq!(body["title"], "URI Too Long");
        assert!(body["instance"].as_str().is_some_and(|s| !s.is_empty()));
        for status in ["400 Bad Request", "431 Request Header Fields Too Large"] {
            let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            assert!(replacement_for(head.as_bytes()).is_some(), "{status}");
        }
    }

    #[test]
    fn handler_answers_and_other_bytes_pass_untouched() {
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncache-control: no-store\r\ncontent-length: 5\r\n\r\nbad\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 7\r\n\r\n",
            b"\x00\x00\x12\x04\x00\x00\x00\x00\x00",
            b"{\"id\":1}",
            b"",
        ] {
            assert!(replacement_for(other).is_none(), "{other:?}");
        }
    }

    #[tokio::test]
    async fn the_replacement_survives_a_slow_reader() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A 16-byte pipe: the replacement cannot go out in one write.
        let (server, mut client) = tokio::io::duplex(16);
        let mut wrapped = HeadErrors::new(server);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.expect("read");
            got
        });
        let n = wrapped.write(HYPER_414).await.expect("write");
        assert_eq!(n, HYPER_414.len(), "hyper's head counts as written");
        wrapped
            .shutdown()
            .await
            .expect("flushes the rest, then closes");
        drop(wrapped);
        let got = reader.await.expect("reader");
        let (head, body) = parse(&got);
        assert!(head.starts_with("HTTP/1.1 414 "));
        assert_eq!(body["status"], 414);
    }
}
