//! The QR API v1 merchants integrate with, compatible with the published API: a merchant's
//! client changes only its base URL.
//!
//! Flow of a call: the router's table (`crate::router`) → [`handle`] → [`auth`] (token +
//! subscription key) → [`request`] (headers, capped JSON body) → [`dto`] (field rules) → the
//! [`Store`] → a JSON answer, or an [`ApiError`] rendered in [`error`] (the one place API errors
//! become statuses).
//!
//! Image URLs in answers are origin URLs signed by whatever [`ImageSigner`] the server plugs in,
//! so this module depends on neither the token format nor the origin.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use crate::clock::SharedClock;
use crate::links::{self, Links};
use crate::render::Format;
use crate::store::{Conflict, Link, LinkKind, NewLink, Store, StoreError};

pub mod auth;
pub mod callback;
pub mod dto;
pub mod error;
pub mod request;
pub mod webhooks;

pub use error::{ApiError, InvalidParam};

use dto::{
    CreateRedirectRequest, OneTimePaymentRequest, OneTimePaymentResponse, RedirectResponse,
    UpdateRedirectRequest,
};
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

/// One recognised QR API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    AccessToken,
    CreatePayment,
    ListRedirects,
    CreateRedirect,
    /// The id is still percent-encoded, as it appeared in the path.
    GetRedirect(String),
    UpdateRedirect(String),
    DeleteRedirect(String),
    /// Merchant-callback QRs ([`callback`]); ids still percent-encoded.
    ListCallbacks,
    GetCallback(String),
    PutCallback(String),
    DeleteCallback(String),
    /// The Webhooks API ([`webhooks`]).
    CreateWebhook,
    ListWebhooks,
    DeleteWebhook(String),
}

/// Answers one QR API call.
pub async fn handle<B>(state: &ApiState, route: ApiRoute, req: Request<B>) -> Response<Full<Bytes>>
where
    B: ApiBody,
{
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let result = match route {
        ApiRoute::AccessToken => auth::access_token(state, headers)
            .await
            .map(|t| json(StatusCode::OK, &t)),
        ApiRoute::CreatePayment => create_payment(state, headers, body).await,
        ApiRoute::ListRedirects => list_redirects(state, headers).await,
        ApiRoute::CreateRedirect => create_redirect(state, headers, body).await,
        ApiRoute::GetRedirect(id) => get_redirect(state, headers, &id).await,
        ApiRoute::UpdateRedirect(id) => update_redirect(state, headers, &id, body).await,
        ApiRoute::DeleteRedirect(id) => delete_redirect(state, headers, &id).await,
        ApiRoute::ListCallbacks => callback::list(state, headers, &parts.uri).await,
        ApiRoute::GetCallback(id) => callback::get(state, headers, &parts.uri, &id).await,
        ApiRoute::PutCallback(id) => callback::put(state, headers, &id, body).await,
        ApiRoute::DeleteCallback(id) => callback::delete(state, headers, &id).await,
        ApiRoute::CreateWebhook => webhooks::create(state, headers, body).await,
        ApiRoute::ListWebhooks => webhooks::list(state, headers).await,
        ApiRoute::DeleteWebhook(id) => webhooks::delete(state, headers, &id).await,
    };
    result.unwrap_or_else(ApiError::into_response)
}

async fn caller(state: &ApiState, headers: &HeaderMap) -> Result<auth::Caller, ApiError> {
    auth::authenticate(state.store.as_ref(), state.clock.now_ms(), headers).await
}

/// `POST /qr/v1`: a one-time payment QR whose `/p/` link redirects to `url` until it expires.
async fn create_payment<B>(
    state: &ApiState,
    headers: &HeaderMap,
    body: B,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: ApiBody,
{
    let caller = caller(state, headers).await?;
    let image = request::image_request(headers)?;
    let req = OneTimePaymentRequest::from_json(&request::json_object(headers, body).await?)?;
    let now = state.clock.now_ms();
    let ttl = state.config.payment_ttl_secs;
    let link = create_link(
        state,
        LinkKind::Payment,
        &caller.msn,
        None,
        req.url,
        Some(ttl),
        now,
    )
    .await?;
    let answer = OneTimePaymentResponse {
        url: image_url(state, &link, image),
        expires_in: expires_in(&link, now),
    };
    Ok(json(StatusCode::OK, &answer))
}

/// `GET /qr/v1/merchant-redirect`: all the merchant's live redirect QRs.
async fn list_redirects(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = caller(state, headers).await?;
    let image = request::image_request(headers)?;
    let now = state.clock.now_ms();
    let all = state
        .store
        .merchant_links(&caller.msn, LinkKind::Redirect, now)
        .await?;
    let answer: Vec<RedirectResponse> = all
        .iter()
        .map(|l| redirect_response(state, l, image, now))
        .collect();
    Ok(json(StatusCode::OK, &answer))
}

/// `POST /qr/v1/merchant-redirect`.
async fn create_redirect<B>(
    state: &ApiState,
    headers: &HeaderMap,
    body: B,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: ApiBody,
{
    let caller = caller(state, headers).await?;
    let image = request::image_request(headers)?;
    let req = CreateRedirectRequest::from_json(&request::json_object(headers, body).await?)?;
    let now = state.clock.now_ms();
    let link = create_link(
        state,
        LinkKind::Redirect,
        &caller.msn,
        Some(req.id),
        req.redirect_url,
        req.ttl,
        now,
    )
    .await?;
    Ok(json(
        StatusCode::CREATED,
        &redirect_response(state, &link, image, now),
    ))
}

/// `GET /qr/v1/merchant-redirect/{id}`.
async fn get_redirect(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = caller(state, headers).await?;
    let image = request::image_request(headers)?;
    let id = path_id(raw_id)?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .merchant_link(&caller.msn, LinkKind::Redirect, &id, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(json(
        StatusCode::OK,
        &redirect_response(state, &link, image, now),
    ))
}

/// `PUT /qr/v1/merchant-redirect/{id}`: a new target; the code and image stay the same.
async fn update_redirect<B>(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
    body: B,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: ApiBody,
{
    let caller = caller(state, headers).await?;
    let image = request::image_request(headers)?;
    let id = path_id(raw_id)?;
    let req = UpdateRedirectRequest::from_json(&request::json_object(headers, body).await?)?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .set_link_target(&caller.msn, LinkKind::Redirect, &id, &req.redirect_url, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    Ok(json(
        StatusCode::OK,
        &redirect_response(state, &link, image, now),
    ))
}

/// `DELETE /qr/v1/merchant-redirect/{id}`: the printed code is dead for good.
async fn delete_redirect(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = caller(state, headers).await?;
    let id = path_id(raw_id)?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .delete_link(&caller.msn, LinkKind::Redirect, &id, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    Ok(no_content())
}

/// An empty `204 No Content`.
fn no_content() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// Creates a link under a fresh code, drawing again in the (≈2⁻⁵⁹) case the code was used.
async fn create_link(
    state: &ApiState,
    kind: LinkKind,
    msn: &str,
    qr_id: Option<String>,
    target: String,
    ttl_secs: Option<i64>,
    now_ms: i64,
) -> Result<Link, ApiError> {
    const ATTEMPTS: usize = 4;
    let mut new = NewLink {
        code: String::new(),
        kind,
        msn: msn.to_owned(),
        qr_id,
        target: Some(target),
        created_at_ms: now_ms,
        expires_at_ms: ttl_secs.map(|t| now_ms.saturating_add(t.saturating_mul(1000))),
    };
    for _ in 0..ATTEMPTS {
        new.code = links::new_code()?;
        match state.store.create_link(&new, now_ms).await {
            Ok(link) => {
                state.links.remember(&link).await;
                return Ok(link);
            }
            Err(StoreError::Conflict(Conflict::Code)) => continue,
            Err(StoreError::Conflict(Conflict::QrId)) => {
                return Err(ApiError::DuplicateId(new.qr_id.unwrap_or_default()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Backend(format!("no unused short-link code in {ATTEMPTS} draws")).into())
}

/// Decodes and checks an id taken from the path.
fn path_id(raw: &str) -> Result<String, ApiError> {
    let id = request::decode_path_segment(raw).ok_or_else(|| {
        ApiError::Invalid(vec![InvalidParam::new(
            "id",
            "is not a valid percent-encoded UTF-8 path segment",
        )])
    })?;
    dto::validate_id(&id).map_err(|p| ApiError::Invalid(vec![p]))?;
    Ok(id)
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no merchant redirect QR with id {id:?}"))
}

/// Whole seconds left (rounded up), or `-1` for a QR that never expires.
fn expires_in(link: &Link, now_ms: i64) -> i64 {
    match link.expires_at_ms {
        Some(exp) => ((exp - now_ms).max(0) + 999).div_euclid(1000),
        None => -1,
    }
}

/// The `url` of an answer: a signed image URL, or with `text/targetUrl` the QR content itself.
fn image_url(state: &ApiState, link: &Link, image: ImageRequest) -> String {
    let content = links::short_url(&state.config.public_url, link.kind, &link.code);
    if image.format == Format::Text {
        return content;
    }
    (state.images)(&ImageSpec {
        content,
        format: image.format,
        size: image.size,
        issued_at: link.created_at_ms.div_euclid(1000),
        expires_at: link.expires_at_ms.map(|e| (e + 999).div_euclid(1000)),
    })
}

fn redirect_response(
    state: &ApiState,
    link: &Link,
    image: ImageRequest,
    now_ms: i64,
) -> RedirectResponse {
    RedirectResponse {
        id: link.qr_id.clone().unwrap_or_default(),
        url: image_url(state, link, image),
        redirect_url: link.target.clone().unwrap_or_default(),
        expires_in: expires_in(link, now_ms),
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).expect("API answers are plain data and always serialise");
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_rounds_up_and_marks_forever() {
        let mut link = Link {
            code: "AbCdEfGhIj".into(),
            kind: LinkKind::Redirect,
            msn: "1".into(),
            qr_id: Some("a".into()),
            target: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            expires_at_ms: None,
            deleted_at_ms: None,
        };
        assert_eq!(expires_in(&link, 5), -1);
        link.expires_at_ms = Some(600_000);
        assert_eq!(expires_in(&link, 0), 600);
        assert_eq!(expires_in(&link, 1), 600);
        assert_eq!(expires_in(&link, 599_999), 1);
        assert_eq!(expires_in(&link, 700_000), 0);
    }
}
