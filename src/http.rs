//! Small HTTP vocabulary shared by every handler: the body type, response builders, and the one
//! place that turns an error into a status code, a short body and a log line ([`HttpError`]).

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::logo::LogoFailure;
use crate::render::RenderError;
use crate::server::log_throttle::LogThrottle;
use crate::token::TokenError;

/// Every response body: the whole body is in memory (images are a few KB), so `Full` it is.
pub type Body = Full<Bytes>;
/// The response type every handler returns.
pub type Resp = Response<Body>;

/// Errors carry `no-store`: a CDN must never keep a 4xx/5xx longer than the condition lasts
/// (an expired-token 404 could otherwise shadow a fresh token for the same image).
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT_HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
/// Pages are merchant-influenced text: no scripts, styles or external resources, whatever the
/// escaping missed.
const NOTHING_ALLOWED: HeaderValue = HeaderValue::from_static("default-src 'none'");

/// A small dynamic answer: `Content-Type`, `no-store` (it is about one moment's state) and
/// `nosniff`. Every builder below starts here.
pub fn body(status: StatusCode, content_type: HeaderValue, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CACHE_CONTROL, NO_STORE);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    resp
}

/// Escapes text for an HTML or SVG element body or attribute value.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A plain-text response with `no-store`, for probes, errors and other small answers.
pub fn text(status: StatusCode, text: impl Into<Bytes>) -> Resp {
    body(status, TEXT_PLAIN, text)
}

/// A JSON answer (`application/json`, `no-store`).
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Resp {
    let bytes = serde_json::to_vec(value).expect("answers are plain data and always serialise");
    body(status, APPLICATION_JSON, bytes)
}

/// A small HTML page for phones: `no-store`, and a CSP that allows nothing to load or run.
pub fn html(status: StatusCode, page: impl Into<Bytes>) -> Resp {
    let mut resp = body(status, TEXT_HTML, page);
    resp.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, NOTHING_ALLOWED);
    resp
}

/// A status without a body (`Content-Length: 0`, no `Content-Type`), e.g. the published `200`
/// of a delete.
pub fn status_only(status: StatusCode) -> Resp {
    let mut resp = Response::new(empty());
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
    resp
}

/// A `302` to `location`, never cached (the target can change at any moment); `None` when
/// `location` is not a valid header value.
pub fn found(location: &str) -> Option<Resp> {
    let location = HeaderValue::from_str(location).ok()?;
    let mut resp = status_only(StatusCode::FOUND);
    resp.headers_mut().insert(header::LOCATION, location);
    Some(resp)
}

/// An empty-bodied response (for `HEAD` and `304`), keeping the given headers.
pub fn empty() -> Body {
    Full::new(Bytes::new())
}

/// Why a request failed, as far as HTTP cares. Each layer's error converts into this, and
/// [`HttpError::into_response`] is the only place statuses, bodies and log levels are chosen.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The claims verified but cannot be rendered (e.g. content too long for the size).
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("not found")]
    NotFound,
    /// The route exists; `allow` lists the methods it takes.
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// The token's logo cannot be drawn: unknown (400), or the store is down and the logo not
    /// in memory (503, retry shortly).
    #[error("{0}")]
    Logo(#[from] LogoFailure),
    /// Too much work queued (renders or connections); the client should retry shortly.
    #[error("overloaded: {0}")]
    Overloaded(&'static str),
    /// A bug or an unexpected failure; details go to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::Token(e) => match e {
                TokenError::TooLong { .. }
                | TokenError::Malformed(_)
                | TokenError::InvalidClaim { .. }
                | TokenError::UnsupportedAlgorithm => StatusCode::BAD_REQUEST,
                TokenError::UnknownKey | TokenError::BadSignature | TokenError::NotYetValid => {
                    StatusCode::FORBIDDEN
                }
                // The API guide: an expired image URL answers 404.
                TokenError::Expired => StatusCode::NOT_FOUND,
                // Key errors happen only at start-up; seeing one here is a bug.
                TokenError::InvalidKey(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::Render(_) | HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::NotFound => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Logo(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response: status, a one-line plain-text body, `no-store`.
    pub fn into_response(self) -> Resp {
        let status = self.status();
        let body: String = match &self {
            // SECURITY: one message for every authentication failure, so a client learns
            // nothing about which keys exist or how the signature failed.
            HttpError::Token(TokenError::UnknownKey | TokenError::BadSignature) => {
                "forbidden: token signature does not verify\n".to_owned()
            }
            HttpError::Token(TokenError::Expired) => {
                "not found: the image URL has expired\n".into()
            }
            HttpError::Token(e) => format!("{e}\n"),
            HttpError::Internal(_) => "internal server error\n".to_owned(),
            e => format!("{e}\n"),
        };
        match &self {
            HttpError::Internal(detail) => tracing::error!(%detail, "internal error"),
            HttpError::Overloaded(what) => {
                // A flood draws a 503 per request: one line a second, counting the rest.
                static OVERLOAD_LOG: LogThrottle = LogThrottle::new();
                if let Some(suppressed) = OVERLOAD_LOG.admit() {
                    tracing::warn!(what, suppressed, "overloaded");
                }
            }
            e => tracing::debug!(error = %e, status = status.as_u16(), "request refused"),
        }
        let mut resp = text(status, body);
        match self {
            HttpError::MethodNotAllowed { allow } => {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            HttpError::Overloaded(_) => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            HttpError::Logo(LogoFailure::Unavailable) => {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(crate::store::RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_markup(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn token_errors_map_to_the_documented_statuses() {
        let cases = [
            (TokenError::TooLong { len: 9, max: 1 }, 400),
            (TokenError::Malformed("x"), 400),
            (
                TokenError::InvalidClaim {
                    name: "size",
                    reason: "r",
                },
                400,
            ),
            (TokenError::UnsupportedAlgorithm, 400),
            (TokenError::UnknownKey, 403),
            (TokenError::BadSignature, 403),
            (TokenError::NotYetValid, 403),
            (TokenError::Expired, 404),
        ];
        for (e, status) in cases {
            let resp = HttpError::from(e.clone()).into_response();
            assert_eq!(resp.status().as_u16(), status, "{e:?}");
            assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        }
    }

    #[test]
    fn unknown_key_and_bad_signature_look_the_same() {
        use http_body_util::BodyExt;
        let a = HttpError::from(TokenError::UnknownKey).into_response();
        let b = HttpError::from(TokenError::BadSignature).into_response();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (a, b) = rt.block_on(async {
            (
                a.into_body().collect().await.unwrap().to_bytes(),
                b.into_body().collect().await.unwrap().to_bytes(),
            )
        });
        assert_eq!(a, b);
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let resp = HttpError::MethodNotAllowed { allow: "GET, HEAD" }.into_response();
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()[header::ALLOW], "GET, HEAD");
    }
}
