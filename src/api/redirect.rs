//! Merchant-redirect QRs: `POST/GET /qr/v1/merchant-redirect` and
//! `GET/PUT/DELETE /qr/v1/merchant-redirect/{id}`.
//!
//! The QR encodes a `/r/{code}` short link whose target the merchant can change at any time
//! without reprinting; deleting the QR kills the printed code for good (codes are never reused,
//! even when the id is).
//!
//! A create or update may name a branded-code `style` (an extension): it is stored with the QR,
//! and every later answer about the QR draws its image URL that way ([`style`] has the update
//! rules); a QR without one follows the merchant's default style.

use http::{HeaderMap, StatusCode};

use super::ApiError;
use super::auth;
use super::context::{self, ApiState, expires_in, with_fresh_code};
use super::dto::{self, CreateRedirectRequest, RedirectResponse, UpdateRedirectRequest};
use super::request::{self, ApiBody, ImageRequest};
use super::style::{self, CallStyle};
use crate::http::{self as resp, Resp};
use crate::store::{Conflict, Link, LinkKind, NewLink, StoreError, StyleChange};

/// `GET /qr/v1/merchant-redirect`: all the merchant's live redirect QRs, oldest first.
pub async fn list(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let (caller, image) = auth::caller_and_image(state, headers).await?;
    let now = state.clock.now_ms();
    let all = state
        .store
        .merchant_links(&caller.msn, LinkKind::Redirect, now)
        .await?;
    let fallback = style::for_call(state, &caller.msn, None).await?;
    let answer = all
        .iter()
        .map(|l| response(state, l, image, now, &style::of_link(l, &fallback)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(resp::json(StatusCode::OK, &answer))
}

/// `POST /qr/v1/merchant-redirect`. Answers `200` with the QR, as published (not `201`).
pub async fn create<B>(state: &ApiState, headers: &HeaderMap, body: B) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let (caller, image) = auth::caller_and_image(state, headers).await?;
    let body = request::json_object(headers, body).await?;
    let req = CreateRedirectRequest::from_json(&body)?;
    let named = style::named_in(state, &caller.msn, LinkKind::Redirect, &body).await?;
    let change = named.map_or(StyleChange::Keep, |s| StyleChange::Set(s.stored()));
    let now = state.clock.now_ms();
    let template = NewLink {
        code: String::new(),
        kind: LinkKind::Redirect,
        msn: caller.msn,
        qr_id: Some(req.id.clone()),
        target: Some(req.redirect_url),
        created_at_ms: now,
        expires_at_ms: req.ttl.map(|t| now.saturating_add(t.saturating_mul(1000))),
        style: change.for_new().cloned(),
    };
    let link = with_fresh_code(|code| {
        let new = NewLink {
            code,
            ..template.clone()
        };
        async move { state.store.create_link(&new, now).await }
    })
    .await
    .map_err(|e| match e {
        ApiError::Store(StoreError::Conflict(Conflict::QrId)) => ApiError::DuplicateId(req.id),
        ApiError::Store(e) => style::logo_gone(e, &change),
        other => other,
    })?;
    state.links.remember(&link).await;
    let style = style::for_link(state, &link).await?;
    Ok(resp::json(
        StatusCode::OK,
        &response(state, &link, image, now, &style)?,
    ))
}

/// `GET /qr/v1/merchant-redirect/{id}`.
pub async fn get(state: &ApiState, headers: &HeaderMap, raw_id: &str) -> Result<Resp, ApiError> {
    let (caller, image) = auth::caller_and_image(state, headers).await?;
    let id = path_id(raw_id)?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .merchant_link(&caller.msn, LinkKind::Redirect, &id, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let style = style::for_link(state, &link).await?;
    Ok(resp::json(
        StatusCode::OK,
        &response(state, &link, image, now, &style)?,
    ))
}

/// `PUT /qr/v1/merchant-redirect/{id}`: a new target; the code stays the same. With `style`
/// the stored style changes too (absent keeps it, `null` removes it, an object replaces it).
pub async fn update<B>(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
    body: B,
) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let (caller, image) = auth::caller_and_image(state, headers).await?;
    let id = path_id(raw_id)?;
    let body = request::json_object(headers, body).await?;
    let req = UpdateRedirectRequest::from_json(&body)?;
    let change = style::change_in(state, &caller.msn, LinkKind::Redirect, &body).await?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .set_link_target(
            &caller.msn,
            LinkKind::Redirect,
            &id,
            &req.redirect_url,
            &change,
            now,
        )
        .await
        .map_err(|e| style::logo_gone(e, &change))?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    let style = style::for_link(state, &link).await?;
    Ok(resp::json(
        StatusCode::OK,
        &response(state, &link, image, now, &style)?,
    ))
}

/// `DELETE /qr/v1/merchant-redirect/{id}`: the printed code is dead for good. `200` without a
/// body, as published.
pub async fn delete(state: &ApiState, headers: &HeaderMap, raw_id: &str) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let id = path_id(raw_id)?;
    let now = state.clock.now_ms();
    let link = state
        .store
        .delete_link(&caller.msn, LinkKind::Redirect, &id, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    context::forget_scans(state, &link).await;
    Ok(resp::status_only(StatusCode::OK))
}

/// Decodes an id taken from the path. An id no QR can have (not percent-decodable, or outside
/// the published id rule) is a `404`, as for any id the merchant has no QR under: the published
/// GET and DELETE list no `400`, and "no such QR" is the truth.
pub(super) fn path_id(raw: &str) -> Result<String, ApiError> {
    match request::decode_path_segment(raw) {
        Some(id) if dto::validate_id(&id).is_ok() => Ok(id),
        Some(id) => Err(not_found(&id)),
        None => Err(not_found(raw)),
    }
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no merchant redirect QR with id {id:?}"))
}

fn response(
    state: &ApiState,
    link: &Link,
    image: ImageRequest,
    now_ms: i64,
    style: &CallStyle,
) -> Result<RedirectResponse, ApiError> {
    Ok(RedirectResponse {
        id: link.qr_id.clone().unwrap_or_default(),
        url: style::image_url(state, link, image, style)?,
        redirect_url: link.target.clone().unwrap_or_default(),
        expires_in: expires_in(link, now_ms),
        style: style::shown(link)?,
    })
}
