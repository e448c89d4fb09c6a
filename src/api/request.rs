//! Reading what a QR API request says: its JSON body (typed, capped), the `Accept` and `Size`
//! headers, and percent-encoded ids in the path.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use super::error::{ApiError, InvalidParam};
use crate::render::{DEFAULT_SIZE, Format, MAX_SIZE, MIN_SIZE};

/// Largest request body accepted. The biggest legitimate body is a one-time payment URL
/// (a few kB with its embedded token); 64 KiB leaves room and bounds memory per request.
pub const MAX_BODY: usize = 64 * 1024;

/// The values `Accept` may take, as listed in 400 answers.
pub const ACCEPT_VALUES: &str =
    "image/*, image/svg+xml, image/png, application/pdf, text/targetUrl";

/// Any request body the API reads: hyper's `Incoming` in the server, `Full` in unit tests.
pub trait ApiBody:
    hyper::body::Body<Data = Bytes, Error: std::error::Error + Send + Sync + 'static>
{
}

impl<B> ApiBody for B where
    B: hyper::body::Body<Data = Bytes, Error: std::error::Error + Send + Sync + 'static>
{
}

/// Reads a capped JSON object body. Non-JSON `Content-Type` → 415, over the cap → 413,
/// unparsable or not an object → 400 naming `body`.
pub async fn json_object(
    headers: &HeaderMap,
    body: impl ApiBody,
) -> Result<Map<String, Value>, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = read_capped(body, MAX_BODY, ApiError::TooLarge(MAX_BODY)).await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Invalid(vec![InvalidParam::new(
            "body",
            "must be a JSON object",
        )])),
        Err(e) => Err(ApiError::Invalid(vec![InvalidParam::new(
            "body",
            format!("not valid JSON: {e}"),
        )])),
    }
}

/// Reads a whole body of at most `max` bytes: past it `too_large`, past the body deadline 408,
/// and a body that breaks off a 400 naming `body`.
pub async fn read_capped(
    body: impl ApiBody,
    max: usize,
    too_large: ApiError,
) -> Result<Bytes, ApiError> {
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large),
        Err(e) if crate::server::body::ReadError::is_timeout(&*e) => Err(ApiError::BodyTimeout),
        Err(_) => Err(ApiError::Invalid(vec![InvalidParam::new(
            "body",
            "the request body could not be read",
        )])),
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// What the client asked the returned `url` to be: an image URL of a format and size, or the
/// QR content itself (`text/targetUrl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRequest {
    pub format: Format,
    /// PNG edge in pixels (also baked into SVG tokens, where renderers ignore it).
    pub size: u32,
}

/// No `Accept` and no `Size`: an SVG (baked at the default size).
impl Default for ImageRequest {
    fn default() -> ImageRequest {
        ImageRequest {
            format: Format::Svg,
            size: DEFAULT_SIZE,
        }
    }
}

/// What an `Accept` naming no image format means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherAccept {
    /// A `400` naming `Accept`: on the calls where the published `Accept` parameter picks the
    /// image (`POST /qr/v1`, the merchant-redirect calls), anything else is a client mistake.
    Refuse,
    /// The default image: on the merchant-callback GETs, where `Accept` is no published
    /// parameter and clients (axios, .NET) send `application/json` for the JSON answer. An
    /// `Accept` that asks only for image formats we cannot make (`image/gif`) is still refused.
    Ignore,
}

/// Reads `Accept` and `Size`. Both are checked, and both failures are reported together.
///
/// `Accept` lists media ranges; the first one we know wins (`q` weights are ignored). A missing
/// `Accept` and `*/*` (what curl and most HTTP clients send by default) mean SVG, like `image/*`.
pub fn image_request(headers: &HeaderMap) -> Result<ImageRequest, ApiError> {
    image_request_with(headers, OtherAccept::Refuse)
}

/// [`image_request`], with `other` deciding what an `Accept` without an image format means.
pub fn image_request_with(
    headers: &HeaderMap,
    other: OtherAccept,
) -> Result<ImageRequest, ApiError> {
    let mut invalid = Vec::new();
    let format = match headers.get(ACCEPT) {
        None => Some(Format::Svg),
        Some(v) => v.to_str().ok().and_then(|accept| {
            accepted_format(accept).or_else(|| {
                (other == OtherAccept::Ignore && !names_an_image(accept)).then_some(Format::Svg)
            })
        }),
    };
    if format.is_none() {
        invalid.push(InvalidParam::new(
            "Accept",
            format!("must be one of {ACCEPT_VALUES}"),
        ));
    }
    let size = match headers.get("size") {
        None => Some(DEFAULT_SIZE),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|n| (MIN_SIZE..=MAX_SIZE).contains(n)),
    };
    if size.is_none() {
        invalid.push(InvalidParam::new(
            "Size",
            format!("must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}"),
        ));
    }
    match (format, size) {
        (Some(format), Some(size)) => Ok(ImageRequest { format, size }),
        _ => Err(ApiError::Invalid(invalid)),
    }
}

fn accepted_format(accept: &str) -> Option<Format> {
    accept.split(',').find_map(|range| {
        let essence = range.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("image/png") {
            Some(Format::Png)
        } else if essence.eq_ignore_ascii_case("image/svg+xml")
            || essence.eq_ignore_ascii_case("image/*")
            || essence == "*/*"
        {
            Some(Format::Svg)
        } else if essence.eq_ignore_ascii_case("text/targetUrl") {
            Some(Format::Text)
        } else if essence.eq_ignore_ascii_case("application/pdf") {
            Some(Format::Pdf)
        } else {
            None
        }
    })
}

/// Whether any media range of `accept` asks for an image (a PDF page, or the QR content
/// itself).
fn names_an_image(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let essence = range.split(';').next().unwrap_or("").trim();
        let lower = essence.to_ascii_lowercase();
        lower.starts_with("image/") || lower == "text/targeturl" || lower == "application/pdf"
    })
}

/// Decodes a percent-encoded path segment (ids may hold spaces, `%`, `+` and æøå). `+` stays a
/// plus: it means space only in query strings. `None` for bad escapes or non-UTF-8 results.
pub fn decode_path_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The query string's `name=value` pairs, values percent-decoded (an undecodable value reads
/// as empty, which every caller then refuses or ignores as it would a blank one). Names stay as
/// sent: callers match them exactly or in any case, as their published parameters are.
pub fn query_pairs(uri: &http::Uri) -> impl Iterator<Item = (&str, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name, decode_path_segment(value).unwrap_or_default())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http_body_util::Full;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    #[test]
    fn accept_values_map_to_formats() {
        for (accept, format) in [
            ("image/png", Format::Png),
            ("image/svg+xml", Format::Svg),
            ("image/*", Format::Svg),
            ("text/targetUrl", Format::Text),
            ("application/pdf", Format::Pdf),
            ("*/*", Format::Svg),
            ("application/json, image/png;q=0.9", Format::Png),
        ] {
            let r = image_request(&headers(&[("accept", accept)])).expect(accept);
            assert_eq!(r.format, format, "{accept}");
            assert_eq!(r.size, 800, "default size");
        }
        assert_eq!(
            image_request(&HeaderMap::new()).expect("none").format,
            Format::Svg
        );
    }

    #[test]
    fn accept_without_an_image_is_ignored_only_where_asked() {
        for accept in [
            "application/json",
            "application/json, text/plain",
            "text/html",
        ] {
            let h = headers(&[("accept", accept)]);
            assert_eq!(
                image_request_with(&h, OtherAccept::Ignore)
                    .expect(accept)
                    .format,
                Format::Svg
            );
            assert_eq!(
                image_request(&h).expect_err(accept).invalid_names(),
                ["Accept"]
            );
        }
        let gif = headers(&[("accept", "image/gif")]);
        let err = image_request_with(&gif, OtherAccept::Ignore).expect_err("no GIFs");
        assert_eq!(err.invalid_names(), ["Accept"]);
        let png = headers(&[("accept", "application/json, image/png")]);
        assert_eq!(
            image_request_with(&png, OtherAccept::Ignore)
                .expect("png")
                .format,
            Format::Png
        );
    }

    #[test]
    fn unknown_accept_and_bad_size_are_both_named() {
        let err = image_request(&headers(&[("accept", "application/json"), ("size", "99")]))
            .expect_err("invalid");
        assert_eq!(err.invalid_names(), ["Accept", "Size"]);
        for bad in ["2001", "abc", "-5", "800.5", ""] {
            let err = image_request(&headers(&[("size", bad)])).expect_err(bad);
            assert_eq!(err.invalid_names(), ["Size"], "{bad}");
        }
        for good in ["100", "2000", " 640 "] {
            assert!(image_request(&headers(&[("size", good)])).is_ok(), "{good}");
        }
    }

    #[test]
    fn path_segments_decode_percent_escapes_only() {
        assert_eq!(
            decode_path_segment("billboard_1").as_deref(),
            Some("billboard_1")
        );
        assert_eq!(decode_path_segment("a%20b+c%25").as_deref(), Some("a b+c%"));
        assert_eq!(
            decode_path_segment("%C3%A6%C3%B8%C3%A5").as_deref(),
            Some("æøå")
        );
        assert_eq!(decode_path_segment("bad%2"), None);
        assert_eq!(decode_path_segment("bad%zz"), None);
        assert_eq!(decode_path_segment("%FF"), None, "not UTF-8");
    }

    #[tokio::test]
    async fn bodies_must_be_capped_json_objects() {
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        let ok = json_object(&json, Full::new(Bytes::from_static(b"{\"a\":1}"))).await;
        assert_eq!(ok.expect("object")["a"], 1);

        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let err = json_object(&form, Full::new(Bytes::from_static(b"{}"))).await;
        assert!(matches!(err, Err(ApiError::UnsupportedMediaType)));
        let err = json_object(&HeaderMap::new(), Full::new(Bytes::from_static(b"{}"))).await;
        assert!(
            matches!(err, Err(ApiError::UnsupportedMediaType)),
            "no Content-Type"
        );

        let big = Bytes::from(vec![b' '; MAX_BODY + 1]);
        let err = json_object(&json, Full::new(big)).await;
        assert!(matches!(err, Err(ApiError::TooLarge(_))));

        for bad in [&b"[1]"[..], b"{", b""] {
            let err = json_object(&json, Full::new(Bytes::from_static(bad)))
                .await
                .expect_err("invalid");
            assert_eq!(err.invalid_names(), ["body"]);
        }
    }
}
