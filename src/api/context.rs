//! What the QR API's handlers share: their state, who is calling, short-link codes drawn until
//! one is free, path parameters, and the image URL an answer carries. [`super::handle`] only
//! dispatches; every resource file builds on this one.

use std::future::Future;
use std::sync::Arc;

use http::HeaderMap;

use super::request::ImageRequest;
use super::style;
use super::{ApiError, InvalidParam, auth, request};
use crate::clock::SharedClock;
use crate::config::api::ApiConfig;
use crate::links::{self, Links};
use crate::render::Format;
use crate::store::{Conflict, Link, Store, StoreError};

/// What an image URL must encode; the server turns it into a signed origin URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The QR content (the short link).
    pub content: String,
    /// [`Format::Png`] or [`Format::Svg`].
    pub format: Format,
    /// PNG edge in pixels.
    pub size: u32,
    /// Colours, shapes, logo: the call's style, the merchant's default, or the plain code.
    pub style: style::ImageStyle,
    /// Token `iat`/`nbf`: the QR's creation, so the same QR always gets the same URL.
    pub issued_at: i64,
    /// Token `exp` (Unix seconds); `None` for QRs that never expire.
    pub expires_at: Option<i64>,
}

/// Turns an [`ImageSpec`] into an image URL (`{public_url}/qr-generator/v1?token=…`).
pub type ImageSigner = Arc<dyn Fn(&ImageSpec) -> String + Send + Sync>;

/// Everything the QR API handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    /// Shared with the short-link routes, so writes here are seen there at once.
    pub links: Arc<Links>,
    pub clock: SharedClock,
    pub images: ImageSigner,
    pub config: ApiConfig,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Who is calling: the access token and subscription key, checked.
pub(super) async fn caller(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<auth::Caller, ApiError> {
    auth::authenticate(state.store.as_ref(), state.clock.now_ms(), headers).await
}

/// The opening of every call answered with QRs: who is calling, then which image (format,
/// size) the answer's URLs ask for.
pub(super) async fn caller_and_image(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<(auth::Caller, ImageRequest), ApiError> {
    let caller = caller(state, headers).await?;
    Ok((caller, request::image_request(headers)?))
}

/// How many fresh short-link codes a create draws before giving up. A collision is ≈2⁻⁵⁹
/// likely, so a second draw is already a sign of a broken random source.
const CODE_ATTEMPTS: usize = 4;

/// Runs `attempt` with freshly drawn short-link codes until the store takes one: a
/// [`Conflict::Code`] (the code was handed out before) means "draw again", anything else is the
/// answer. The one copy of this loop, for every kind of QR.
pub(super) async fn with_fresh_code<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    for _ in 0..CODE_ATTEMPTS {
        match attempt(links::new_code()?).await {
            Err(StoreError::Conflict(Conflict::Code)) => continue,
            done => return done.map_err(ApiError::from),
        }
    }
    Err(StoreError::Backend(format!(
        "no unused short-link code in {CODE_ATTEMPTS} draws"
    ))
    .into())
}

/// Decodes a path parameter; `name` is what a 400 calls it.
pub(super) fn path_param(raw: &str, name: &str) -> Result<String, ApiError> {
    request::decode_path_segment(raw).ok_or_else(|| {
        ApiError::Invalid(vec![InvalidParam::new(
            name,
            "is not a valid percent-encoded UTF-8 path segment",
        )])
    })
}

/// Whole seconds left (rounded up), or `-1` for a QR that never expires.
pub(super) fn expires_in(link: &Link, now_ms: i64) -> i64 {
    match link.expires_at_ms {
        Some(exp) => ((exp - now_ms).max(0) + 999).div_euclid(1000),
        None => -1,
    }
}

/// The image URL of a QR holding `content`, or with `text/targetUrl` the content itself. A
/// style that cannot be drawn at the size asked for is a 400, never a URL that will not render.
fn image_url_for(
    state: &ApiState,
    content: String,
    link: &Link,
    image: ImageRequest,
    style: &style::CallStyle,
) -> Result<String, ApiError> {
    if image.format == Format::Text {
        return Ok(content);
    }
    style.check_for(&content, image.format, image.size)?;
    Ok((state.images)(&ImageSpec {
        content,
        format: image.format,
        size: image.size,
        style: style.style,
        issued_at: link.created_at_ms.div_euclid(1000),
        // The origin answers `max-age = exp - now` in whole seconds, `now` rounded down; with
        // `exp` one second below the link's expiry (rounded down), no cached copy outlives the
        // link (a payment QR answered `expiresIn: 600` with `max-age=601`).
        expires_at: link.expires_at_ms.map(|e| e.div_euclid(1000) - 1),
    }))
}

/// The `url` of an answer for a QR that encodes its short link.
pub(super) fn image_url(
    state: &ApiState,
    link: &Link,
    image: ImageRequest,
    style: &style::CallStyle,
) -> Result<String, ApiError> {
    let content = links::short_url(
        &state.config.public_url,
        state.config.short_link_case,
        link.kind,
        &link.code,
    );
    image_url_for(state, content, link, image, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_rounds_up_and_marks_forever() {
        let mut link = Link {
            code: "AbCdEfGhIj".into(),
            kind: crate::store::LinkKind::Redirect,
            msn: "1".into(),
            qr_id: Some("a".into()),
            target: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            expires_at_ms: None,
            deleted_at_ms: None,
            style: None,
        };
        assert_eq!(expires_in(&link, 5), -1);
        link.expires_at_ms = Some(600_000);
        assert_eq!(expires_in(&link, 0), 600);
        assert_eq!(expires_in(&link, 1), 600);
        assert_eq!(expires_in(&link, 599_999), 1);
        assert_eq!(expires_in(&link, 700_000), 0);
    }
}
