//! The QR API v1 merchants integrate with, compatible with the published API: a merchant's
//! client changes only its base URL.
//!
//! Flow of a call: the router's table (`crate::router`) → [`handle`] → [`auth`] (token +
//! subscription key) → [`request`] (headers, capped JSON body) → [`dto`] (field rules) → the
//! [`Store`] → a JSON answer, or an [`ApiError`] rendered in [`error`] (the one place API errors
//! become statuses).
//!
//! One file per resource: [`payment`] (`POST /qr/v1`), [`redirect`], [`callback`], [`beacon`]
//! (MobilePay beacons), [`exchange`] (not offered: `501`) and [`webhooks`]. This file keeps what
//! they share: the state, the route list, authentication and the short-link helpers.
//!
//! Image URLs in answers are origin URLs signed by whatever [`ImageSigner`] the server plugs in,
//! so this module depends on neither the token's wire format nor the origin; a branded-code
//! [`style`] is read with the token's claim rules, so the two can never disagree.

use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, Request};

use crate::clock::SharedClock;
use crate::http::Resp;
use crate::links::{self, Links};
use crate::render::Format;
use crate::store::{Conflict, Link, Store, StoreError};

pub mod auth;
pub mod beacon;
pub mod callback;
pub mod dto;
pub mod error;
pub mod exchange;
pub mod logos;
pub mod payment;
pub mod redirect;
pub mod request;
pub mod style;
pub mod url;
pub mod webhooks;

pub use error::{ApiError, InvalidParam};

use request::{ApiBody, ImageRequest};

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

/// Lifetime of access tokens, as published.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 3600;
/// Lifetime of one-time payment QRs unless configured otherwise, as published.
pub const PAYMENT_TTL_SECS: i64 = 600;

/// Settings of the QR API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL phones and CDNs reach this service at, e.g. `https://qr.example.com`.
    pub public_url: String,
    /// Lifetime of one-time payment QRs (published: 600 s).
    pub payment_ttl_secs: i64,
    /// Lifetime of access tokens (published: 3600 s).
    pub access_token_ttl_secs: i64,
    /// Accept `http://` webhook URLs to loopback hosts (local development and tests only).
    pub allow_insecure_webhooks: bool,
    /// Live webhooks a merchant may register per event (published: 25).
    pub max_webhooks_per_event: usize,
}

impl ApiConfig {
    /// The published defaults for a service reachable at `public_url`.
    pub fn new(public_url: impl Into<String>) -> ApiConfig {
        ApiConfig {
            public_url: public_url.into(),
            payment_ttl_secs: PAYMENT_TTL_SECS,
            access_token_ttl_secs: ACCESS_TOKEN_TTL_SECS,
            allow_insecure_webhooks: false,
            max_webhooks_per_event: crate::webhooks::MAX_WEBHOOKS_PER_EVENT,
        }
    }
}

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

/// One QR API endpoint. The router's table names these; the path parameter (still
/// percent-encoded, `""` for paths without one) travels beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRoute {
    AccessToken,
    CreatePayment,
    ListRedirects,
    CreateRedirect,
    GetRedirect,
    UpdateRedirect,
    DeleteRedirect,
    ListCallbacks,
    GetCallback,
    PutCallback,
    DeleteCallback,
    PutBeacon,
    ExchangeQr,
    ExchangeCustomer,
    CreateWebhook,
    ListWebhooks,
    DeleteWebhook,
    /// Logos and the default style (extensions of the published API).
    CreateLogo,
    ListLogos,
    DeleteLogo,
    PutStyle,
    GetStyle,
    DeleteStyle,
}

impl ApiRoute {
    /// The metrics label (fixed, so label cardinality stays bounded).
    pub fn label(self) -> &'static str {
        match self {
            ApiRoute::AccessToken => "api_access_token",
            ApiRoute::CreatePayment => "api_create_payment",
            ApiRoute::ListRedirects => "api_list_redirects",
            ApiRoute::CreateRedirect => "api_create_redirect",
            ApiRoute::GetRedirect => "api_get_redirect",
            ApiRoute::UpdateRedirect => "api_update_redirect",
            ApiRoute::DeleteRedirect => "api_delete_redirect",
            ApiRoute::ListCallbacks => "api_list_callbacks",
            ApiRoute::GetCallback => "api_get_callback",
            ApiRoute::PutCallback => "api_put_callback",
            ApiRoute::DeleteCallback => "api_delete_callback",
            ApiRoute::PutBeacon => "api_put_beacon",
            ApiRoute::ExchangeQr => "api_exchange_qr",
            ApiRoute::ExchangeCustomer => "api_exchange_customer",
            ApiRoute::CreateWebhook => "api_create_webhook",
            ApiRoute::ListWebhooks => "api_list_webhooks",
            ApiRoute::DeleteWebhook => "api_delete_webhook",
            ApiRoute::CreateLogo => "api_create_logo",
            ApiRoute::ListLogos => "api_list_logos",
            ApiRoute::DeleteLogo => "api_delete_logo",
            ApiRoute::PutStyle => "api_put_style",
            ApiRoute::GetStyle => "api_get_style",
            ApiRoute::DeleteStyle => "api_delete_style",
        }
    }
}

/// Answers one QR API call; `param` is the path parameter as it appeared in the path.
pub async fn handle<B>(state: &ApiState, route: ApiRoute, param: &str, req: Request<B>) -> Resp
where
    B: ApiBody,
{
    let (parts, body) = req.into_parts();
    let (headers, uri) = (&parts.headers, &parts.uri);
    let result = match route {
        ApiRoute::AccessToken => auth::access_token(state, headers)
            .await
            .map(|t| crate::http::json(http::StatusCode::OK, &t)),
        ApiRoute::CreatePayment => payment::create(state, headers, body).await,
        ApiRoute::ListRedirects => redirect::list(state, headers).await,
        ApiRoute::CreateRedirect => redirect::create(state, headers, body).await,
        ApiRoute::GetRedirect => redirect::get(state, headers, param).await,
        ApiRoute::UpdateRedirect => redirect::update(state, headers, param, body).await,
        ApiRoute::DeleteRedirect => redirect::delete(state, headers, param).await,
        ApiRoute::ListCallbacks => callback::list(state, headers, uri).await,
        ApiRoute::GetCallback => callback::get(state, headers, uri, param).await,
        ApiRoute::PutCallback => callback::put(state, headers, param, body).await,
        ApiRoute::DeleteCallback => callback::delete(state, headers, param).await,
        ApiRoute::PutBeacon => beacon::put(state, headers, param, body).await,
        ApiRoute::ExchangeQr | ApiRoute::ExchangeCustomer => {
            exchange::not_offered(state, headers).await
        }
        ApiRoute::CreateWebhook => webhooks::create(state, headers, body).await,
        ApiRoute::ListWebhooks => webhooks::list(state, headers).await,
        ApiRoute::DeleteWebhook => webhooks::delete(state, headers, param).await,
        ApiRoute::CreateLogo => logos::create(state, headers, body).await,
        ApiRoute::ListLogos => logos::list(state, headers).await,
        ApiRoute::DeleteLogo => logos::delete(state, headers, param).await,
        ApiRoute::PutStyle => style::put(state, headers, body).await,
        ApiRoute::GetStyle => style::get(state, headers).await,
        ApiRoute::DeleteStyle => style::delete(state, headers).await,
    };
    result.unwrap_or_else(|e| e.into_response_for(parts.extensions.get::<error::Instance>()))
}

/// Who is calling: the access token and subscription key, checked.
async fn caller(state: &ApiState, headers: &HeaderMap) -> Result<auth::Caller, ApiError> {
    auth::authenticate(state.store.as_ref(), state.clock.now_ms(), headers).await
}

/// How many fresh short-link codes a create draws before giving up. A collision is ≈2⁻⁵⁹
/// likely, so a second draw is already a sign of a broken random source.
const CODE_ATTEMPTS: usize = 4;

/// Runs `attempt` with freshly drawn short-link codes until the store takes one: a
/// [`Conflict::Code`] (the code was handed out before) means "draw again", anything else is the
/// answer. The one copy of this loop, for every kind of QR.
async fn with_fresh_code<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
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
fn path_param(raw: &str, name: &str) -> Result<String, ApiError> {
    request::decode_path_segment(raw).ok_or_else(|| {
        ApiError::Invalid(vec![InvalidParam::new(
            name,
            "is not a valid percent-encoded UTF-8 path segment",
        )])
    })
}

/// Whole seconds left (rounded up), or `-1` for a QR that never expires.
fn expires_in(link: &Link, now_ms: i64) -> i64 {
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
fn image_url(
    state: &ApiState,
    link: &Link,
    image: ImageRequest,
    style: &style::CallStyle,
) -> Result<String, ApiError> {
    let content = links::short_url(&state.config.public_url, link.kind, &link.code);
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
