//! HTTP caching semantics of image responses: the ETag, `Cache-Control`, `If-None-Match`, and the
//! headers every image carries.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;

use super::cache::CachedImage;
use super::key::RenderKey;
use crate::http::{Resp, empty};
use crate::render::Format;

/// One year: the longest `max-age` worth sending (RFC 9111 suggests no more).
pub const MAX_AGE_FOREVER: i64 = 365 * 24 * 3600;

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");
/// Headers [`image`] may send (the CSP only on SVG).
const IMAGE_HEADERS: usize = 8;
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const HIT: HeaderValue = HeaderValue::from_static("HIT");
const MISS: HeaderValue = HeaderValue::from_static("MISS");
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// SECURITY: an SVG opened directly is a document; forbid scripts, loads and plugins outright.
const SVG_CSP: HeaderValue =
    HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox");

/// The strong ETag of the image for `key`: its digest (renderer version and render inputs) in
/// lowercase hex, so every replica computes the same tag.
pub fn etag(key: &RenderKey) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut tag = [b'"'; 34];
    for (i, b) in key.digest().iter().enumerate() {
        tag[1 + 2 * i] = HEX[usize::from(b >> 4)];
        tag[2 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    HeaderValue::from_bytes(&tag).expect("quoted lowercase hex is a valid header value")
}

/// `Cache-Control` for a token expiring at `exp` (seconds) seen at `now`: public for at most the
/// token's remaining life, so no cache serves the image after its URL has expired. Without
/// `exp` the URL is valid forever and its bytes never change: a year, `immutable`.
pub fn cache_control(exp: Option<i64>, now_unix: i64) -> HeaderValue {
    match exp {
        None => IMMUTABLE,
        Some(exp) => {
            let max_age = exp.saturating_sub(now_unix).clamp(0, MAX_AGE_FOREVER) as u64;
            // Digits written by hand into the text: `format!` was most of this function.
            const PREFIX: &[u8] = b"public, max-age=";
            let mut text = [0u8; PREFIX.len() + 20];
            text[..PREFIX.len()].copy_from_slice(PREFIX);
            let digits = if max_age == 0 {
                1
            } else {
                max_age.ilog10() as usize + 1
            };
            let mut n = max_age;
            for d in text[PREFIX.len()..PREFIX.len() + digits].iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
            HeaderValue::from_bytes(&text[..PREFIX.len() + digits])
                .expect("digits are a valid header value")
        }
    }
}

/// What `If-None-Match` asks of a representation whose tag is `etag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// No header: answer normally.
    None,
    /// One listed tag matches (weak comparison, as RFC 9110 §13.1.2 prescribes): answer 304.
    Matches,
    /// `*`: matches if the image exists at all, i.e. once it renders.
    Any,
    /// Tags listed, none ours: answer normally.
    NoMatch,
}

/// Evaluates every `If-None-Match` header against `etag` (lists, `W/` tags and `*`).
pub fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> Precondition {
    let ours = etag.as_bytes();
    let mut seen = false;
    for value in headers.get_all(header::IF_NONE_MATCH) {
        seen = true;
        let mut rest = value.as_bytes();
        loop {
            rest = rest.trim_ascii_start();
            if rest.is_empty() {
                break;
            }
            if let Some(after) = rest.strip_prefix(b"*")
                && (after.trim_ascii_start().is_empty() || after.trim_ascii_start()[0] == b',')
            {
                return Precondition::Any;
            }
            let tagged = rest.strip_prefix(b"W/").unwrap_or(rest);
            if tagged.first() == Some(&b'"') {
                // A quoted tag: up to and including the closing quote.
                match tagged[1..].iter().position(|&c| c == b'"') {
                    Some(end) => {
                        if &tagged[..end + 2] == ours {
                            return Precondition::Matches;
                        }
                        rest = &tagged[end + 2..];
                    }
                    None => break, // unterminated: ignore the rest
                }
            }
            // Skip to the next list element (also skips junk between elements).
            match rest.iter().position(|&c| c == b',') {
                Some(comma) => rest = &rest[comma + 1..],
                None => break,
            }
        }
    }
    if seen {
        Precondition::NoMatch
    } else {
        Precondition::None
    }
}

/// `304 Not Modified`: the validators and freshness of the 200 it stands for, no body.
pub fn not_modified(etag: HeaderValue, cache_control: HeaderValue) -> Resp {
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    resp
}

/// The headers of a cache hit's `200` for an image of `len` bytes and `content_type` whose
/// tag is `etag`: everything but a token's own `Cache-Control`, which is there as the
/// `immutable` one of a token without expiry. Built once per cached image: building them per
/// request (seven map inserts, each hashing its name) was the largest part of the origin's own
/// code on a cache hit (callgrind, release server).
pub fn hit_headers(len: usize, content_type: &'static str, etag: HeaderValue) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(IMAGE_HEADERS);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, IMMUTABLE);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    if content_type == Format::Svg.content_type() {
        h.insert(header::CONTENT_SECURITY_POLICY, SVG_CSP);
    }
    h.insert(X_CACHE, HIT);
    debug_assert!(h.len() <= IMAGE_HEADERS, "raise IMAGE_HEADERS");
    h
}

/// `200` with the image (or, for `HEAD`, the same headers and no body): its prebuilt headers,
/// with the `Cache-Control` of a token expiring at `exp` (seen at `now_unix`) and `X-Cache:
/// MISS` when this request rendered it.
pub fn image(
    method: &Method,
    img: &CachedImage,
    exp: Option<i64>,
    now_unix: i64,
    hit: bool,
) -> Resp {
    let body = if method == Method::HEAD {
        empty()
    } else {
        Full::new(Bytes::clone(&img.bytes))
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    *h = img.head.clone();
    if exp.is_some() {
        h.insert(header::CACHE_CONTROL, cache_control(exp, now_unix));
    }
    if !hit {
        h.insert(X_CACHE, MISS);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderOptions;

    fn key(content: &str) -> RenderKey {
        RenderKey::new(content.into(), RenderOptions::default())
    }

    #[test]
    fn etag_is_the_quoted_digest_of_the_render_inputs() {
        let a = etag(&key("https://x/1"));
        assert_eq!(a, etag(&key("https://x/1")));
        assert_eq!(a.len(), 34);
        assert_ne!(a, etag(&key("https://x/2")));
        let svg = RenderOptions {
            format: Format::Svg,
            ..RenderOptions::default()
        };
        assert_ne!(a, etag(&RenderKey::new("https://x/1".into(), svg)));
    }

    #[test]
    fn etag_is_fixed_across_builds() {
        // Pinned: a change here invalidates every CDN copy, so it must be deliberate (bump
        // RENDERER_VERSION instead when the bytes change).
        let pinned = |version| {
            let content = "https://qr.example.com/r/DI5bjNA0".to_string();
            etag(&RenderKey::for_version(
                version,
                content,
                RenderOptions::default(),
            ))
        };
        assert_eq!(pinned("1"), "\"52eda6d4e5d4d0543efdd62f1a03f422\"");
        assert_ne!(
            pinned("1"),
            pinned("2"),
            "the renderer version is part of the tag"
        );
    }

    #[test]
    fn cache_control_follows_expiry() {
        assert_eq!(
            cache_control(None, 0),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control(Some(1600), 1000), "public, max-age=600");
        assert_eq!(cache_control(Some(900), 1000), "public, max-age=0");
        assert_eq!(cache_control(Some(i64::MAX), 0), "public, max-age=31536000");
    }

    fn inm(values: &[&str]) -> Precondition {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        if_none_match(&h, &HeaderValue::from_static("\"abc\""))
    }

    #[test]
    fn if_none_match_handles_lists_weak_tags_and_star() {
        assert_eq!(inm(&[]), Precondition::None);
        assert_eq!(inm(&["\"abc\""]), Precondition::Matches);
        assert_eq!(inm(&["W/\"abc\""]), Precondition::Matches);
        assert_eq!(inm(&["\"x\", \"abc\""]), Precondition::Matches);
        assert_eq!(inm(&["\"x\",W/\"abc\""]), Precondition::Matches);
        assert_eq!(inm(&["\"x\"", "\"abc\""]), Precondition::Matches);
        assert_eq!(inm(&["*"]), Precondition::Any);
        assert_eq!(inm(&["\"x\", \"abcd\""]), Precondition::NoMatch);
        assert_eq!(inm(&["abc"]), Precondition::NoMatch);
        assert_eq!(inm(&["\"ab"]), Precondition::NoMatch);
        assert_eq!(inm(&["\"a,bc\", \"abc\""]), Precondition::Matches);
    }
}
