//! One-time payment QRs: `POST /qr/v1`.
//!
//! The QR encodes a `/p/{code}` short link that redirects to the payment landing page until the
//! QR expires (600 s unless configured otherwise); the image URL expires with it. The body may
//! name a branded-code `style` ([`super::style`]); without one the merchant's default applies.

use http::{HeaderMap, StatusCode};

use super::ApiError;
use super::auth;
use super::context::{ApiState, expires_in, with_fresh_code};
use super::dto::{OneTimePaymentRequest, OneTimePaymentResponse};
use super::request::{self, ApiBody};
use super::style;
use crate::http::{self as resp, Resp};
use crate::store::{LinkKind, NewLink};

/// `POST /qr/v1`.
pub async fn create<B>(state: &ApiState, headers: &HeaderMap, body: B) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let (caller, image) = auth::caller_and_image(state, headers).await?;
    let body = request::json_object(headers, body).await?;
    let req = OneTimePaymentRequest::from_json(&body)?;
    let named = style::named_in(state, &caller.msn, LinkKind::Payment, &body).await?;
    let style = style::for_call(state, &caller.msn, named).await?;
    let now = state.clock.now_ms();
    let ttl_ms = state.config.payment_ttl_secs.saturating_mul(1000);
    let template = NewLink {
        code: String::new(),
        kind: LinkKind::Payment,
        msn: caller.msn,
        qr_id: None,
        target: Some(req.url),
        created_at_ms: now,
        expires_at_ms: Some(now.saturating_add(ttl_ms)),
        // A one-time QR is shown once, in the answer: its style is the call's, not stored.
        style: None,
    };
    let link = with_fresh_code(|code| {
        let new = NewLink {
            code,
            ..template.clone()
        };
        async move { state.store.create_link(&new, now).await }
    })
    .await?;
    state.links.remember(&link).await;
    let answer = OneTimePaymentResponse {
        url: style::image_url(state, &link, image, &style)?,
        expires_in: expires_in(&link, now),
    };
    Ok(resp::json(StatusCode::OK, &answer))
}
