//! Merchants' logos (an extension of the published API): `POST/GET /qr/v1/logos` and
//! `DELETE /qr/v1/logos/{id}`.
//!
//! The body of an upload is the image itself (`image/png` or `image/svg+xml`, at most
//! [`logo::MAX_BYTES`]); it is validated and decoded once here ([`crate::logo`]) so a logo that
//! is stored always draws. Its id is the SHA-256 of its bytes: uploading the same file again is
//! a `200` with the same id, a new one a `201`.

use http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use serde::Serialize;

use super::auth;
use super::context::{ApiState, path_param};
use super::request::{self, ApiBody};
use super::{ApiError, InvalidParam};
use crate::http::{self as resp, Resp};
use crate::logo::{self, LogoError};
use crate::store::{Conflict, LogoInfo, NewLogo, StoreError};

/// Logos one merchant may store. Each is at most 256 KB, so this bounds a merchant's share of
/// the store at 12.5 MB, far above the handful of brand marks a merchant has.
pub const MAX_LOGOS_PER_MERCHANT: usize = 50;

/// A logo as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoResponse {
    /// SHA-256 of the bytes, lower-case hex; what a style's `logo` names.
    pub id: String,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// Length of the upload in bytes.
    pub bytes: u64,
}

impl From<&LogoInfo> for LogoResponse {
    fn from(l: &LogoInfo) -> LogoResponse {
        LogoResponse {
            id: l.id.clone(),
            content_type: l.format.as_str(),
            width: l.width,
            height: l.height,
            bytes: l.len,
        }
    }
}

/// `POST /qr/v1/logos`: `201` with the logo, or `200` when the merchant uploaded these bytes
/// before.
pub async fn create<B>(state: &ApiState, headers: &HeaderMap, body: B) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let caller = auth::caller(state, headers).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = logo::format_of(content_type)?;
    let bytes =
        request::read_capped(body, logo::MAX_BYTES, ApiError::Logo(LogoError::TooLarge)).await?;
    // Decoding a 2048² PNG or parsing an SVG takes milliseconds: off the reactor.
    let decoded = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || logo::decode(format, &bytes))
            .await
            .map_err(|e| StoreError::Backend(format!("logo decoding task failed: {e}")))??
    };
    let new = NewLogo {
        id: logo::id_of(&bytes),
        msn: caller.msn,
        format,
        bytes: bytes.to_vec(),
        width: decoded.width,
        height: decoded.height,
        created_at_ms: state.clock.now_ms(),
    };
    let created = state
        .store
        .add_logo(&new, MAX_LOGOS_PER_MERCHANT)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::LogoLimit) => {
                ApiError::Invalid(vec![InvalidParam::new(
                    "body",
                    format!(
                        "you already store {MAX_LOGOS_PER_MERCHANT} logos, the most allowed: \
                         delete one first"
                    ),
                )])
            }
            e => e.into(),
        })?;
    let answer = LogoResponse {
        id: new.id,
        content_type: format.as_str(),
        width: new.width,
        height: new.height,
        bytes: new.bytes.len() as u64,
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(resp::json(status, &answer))
}

/// `GET /qr/v1/logos`: the merchant's logos, oldest first.
pub async fn list(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let all = state.store.merchant_logos(&caller.msn).await?;
    let answer: Vec<LogoResponse> = all.iter().map(LogoResponse::from).collect();
    Ok(resp::json(StatusCode::OK, &answer))
}

/// `DELETE /qr/v1/logos/{id}`: `204`. Image URLs already handed out that name the logo stop
/// rendering at the origin, but copies already cached (by a CDN, a browser, or an origin
/// instance's memory) may be served until their `max-age` ends. Refused (`409`) while the
/// merchant's default style, or the stored style of one of its live QRs, names the logo: a
/// printed QR's image URL must keep rendering.
pub async fn delete(state: &ApiState, headers: &HeaderMap, raw_id: &str) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let id = logo_id(raw_id)?;
    match state
        .store
        .delete_logo(&caller.msn, &id, state.clock.now_ms())
        .await
    {
        Ok(true) => Ok(resp::status_only(StatusCode::NO_CONTENT)),
        Ok(false) => Err(ApiError::NotFound(format!("no logo with id {id:?}"))),
        Err(StoreError::Conflict(Conflict::LogoInUse)) => Err(ApiError::Taken {
            name: "id",
            id: id.clone(),
            detail: "your default style names this logo: change or delete the style \
                         (PUT or DELETE /qr/v1/style) first"
                .to_owned(),
        }),
        Err(StoreError::Conflict(Conflict::LogoOnQr)) => Err(ApiError::Taken {
            name: "id",
            id: id.clone(),
            detail: "the stored style of one of your live merchant-redirect or merchant-callback \
                     QRs names this logo: give the QR another style (PUT it with \"style\", or \
                     \"style\": null for your default style) or delete it first"
                .to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// A logo id from the path: 64 hex digits, compared in lower case.
pub(super) fn logo_id(raw: &str) -> Result<String, ApiError> {
    let id = path_param(raw, "id")?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Invalid(vec![InvalidParam::new(
            "id",
            "must be a logo id: 64 hex digits (the SHA-256 of the logo)",
        )]));
    }
    Ok(id.to_ascii_lowercase())
}
