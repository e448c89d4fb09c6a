//! Merchant-callback QRs: `PUT/GET/DELETE /qr/v1/merchant-callback/{merchantQrId}` and
//! `GET /qr/v1/merchant-callback`.
//!
//! A callback QR encodes a `/c/{code}` short link; scanning it tells the merchant's webhooks
//! (`user.checked-in.v1`, see [`crate::links`] and [`crate::webhooks`]). The merchant picks the
//! id; the code is ours and never changes, so a printed QR keeps working while only its
//! `locationDescription` is edited. Every call needs the `Merchant-Serial-Number` header, and it
//! must name the merchant the access token belongs to.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, Uri};
use http_body_util::Full;
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::{self, Caller};
use super::error::{ApiError, InvalidParam};
use super::request::{ApiBody, ImageRequest};
use super::{ApiState, json, no_content, request};
use crate::links;
use crate::render::{Format, MAX_SIZE, MIN_SIZE};
use crate::store::{CallbackQr, Conflict, LinkKind, NewCallbackQr, StoreError};

/// Longest `locationDescription`, in characters (as published).
pub const MAX_DESCRIPTION_CHARS: usize = 36;

/// A callback QR as the GET calls return it (published field names).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackQrResponse {
    pub merchant_serial_number: String,
    pub merchant_qr_id: String,
    pub location_description: String,
    pub qr_image_url: String,
    /// The `/c/` short link the QR encodes.
    pub qr_content: String,
}

/// `PUT` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutCallbackRequest {
    pub location_description: String,
}

impl PutCallbackRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let reason = match body.get("locationDescription") {
            None | Some(Value::Null) => "is required".to_owned(),
            Some(Value::String(s)) => match validate_description(s) {
                Ok(()) => {
                    return Ok(PutCallbackRequest {
                        location_description: s.clone(),
                    });
                }
                Err(reason) => reason,
            },
            Some(_) => "must be a string".to_owned(),
        };
        Err(ApiError::Invalid(vec![InvalidParam::new(
            "locationDescription",
            reason,
        )]))
    }
}

/// 1–36 characters, not blank, no control characters (it is shown to the user who scans).
fn validate_description(s: &str) -> Result<(), String> {
    let chars = s.chars().count();
    if s.trim().is_empty() {
        return Err("must not be empty or blank".to_owned());
    }
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "must be at most {MAX_DESCRIPTION_CHARS} characters (got {chars})"
        ));
    }
    if let Some(bad) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "must not contain control characters (found {bad:?})"
        ));
    }
    Ok(())
}

/// The image the GET calls link to. As published, the `Accept` and `Size` headers choose it,
/// exactly as on the other QR calls (`text/targetUrl` puts the QR content itself in
/// `qrImageUrl`); the query parameters `qrImageFormat=PNG|SVG` and `qrImageSize=100..2000`
/// override them when given. Without either: SVG. Every failure is reported together.
pub fn image_choice(uri: &Uri, headers: &HeaderMap) -> Result<ImageRequest, ApiError> {
    let (mut choice, mut invalid) = match request::image_request(headers) {
        Ok(choice) => (choice, Vec::new()),
        Err(ApiError::Invalid(invalid)) => (ImageRequest::default(), invalid),
        Err(other) => return Err(other),
    };
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = request::decode_path_segment(value).unwrap_or_default();
        match name {
            "qrImageFormat" => match value.to_ascii_uppercase().as_str() {
                "PNG" => choice.format = Format::Png,
                "SVG" => choice.format = Format::Svg,
                _ => invalid.push(InvalidParam::new("qrImageFormat", "must be PNG or SVG")),
            },
            "qrImageSize" => match value.trim().parse::<u32>() {
                Ok(n) if (MIN_SIZE..=MAX_SIZE).contains(&n) => choice.size = n,
                _ => invalid.push(InvalidParam::new(
                    "qrImageSize",
                    format!("must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}"),
                )),
            },
            _ => {}
        }
    }
    if invalid.is_empty() {
        Ok(choice)
    } else {
        Err(ApiError::Invalid(invalid))
    }
}

/// Authenticates and insists on the `Merchant-Serial-Number` header (which `authenticate`
/// already checked against the token when present).
async fn callback_caller(state: &ApiState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let caller = super::caller(state, headers).await?;
    let sent = headers
        .get(auth::MERCHANT_SERIAL_NUMBER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !sent {
        return Err(ApiError::Invalid(vec![InvalidParam::new(
            "Merchant-Serial-Number",
            "header is required on merchant-callback calls",
        )]));
    }
    Ok(caller)
}

/// Decodes and checks a `merchantQrId` from the path (the published id rules).
fn qr_id(raw: &str) -> Result<String, ApiError> {
    super::path_id(raw).map_err(|e| match e {
        ApiError::Invalid(params) => ApiError::Invalid(
            params
                .into_iter()
                .map(|p| InvalidParam::new("merchantQrId", p.reason))
                .collect(),
        ),
        other => other,
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no merchant callback QR with merchantQrId {id:?}"))
}

fn response(state: &ApiState, qr: &CallbackQr, image: ImageRequest) -> CallbackQrResponse {
    CallbackQrResponse {
        merchant_serial_number: qr.link.msn.clone(),
        merchant_qr_id: qr.link.qr_id.clone().unwrap_or_default(),
        location_description: qr.location_description.clone(),
        qr_image_url: super::image_url(state, &qr.link, image),
        qr_content: links::short_url(&state.config.public_url, LinkKind::Callback, &qr.link.code),
    }
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}`: creates the QR, or changes only its
/// description. Answers `204` either way: as published, the QR itself comes from the GET calls.
pub async fn put<B>(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
    body: B,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: ApiBody,
{
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id);
    let body = PutCallbackRequest::from_json(&request::json_object(headers, body).await?);
    let (id, req) = match (id, body) {
        (Ok(id), Ok(req)) => (id, req),
        (Err(ApiError::Invalid(mut a)), Err(ApiError::Invalid(b))) => {
            a.extend(b);
            return Err(ApiError::Invalid(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    const ATTEMPTS: usize = 4;
    let now = state.clock.now_ms();
    for _ in 0..ATTEMPTS {
        let new = NewCallbackQr {
            code: links::new_code()?,
            msn: caller.msn.clone(),
            qr_id: id.clone(),
            location_description: req.location_description.clone(),
            created_at_ms: now,
        };
        match state.store.put_callback_qr(&new, now).await {
            Ok(put) => {
                state.links.remember(&put.qr.link).await;
                return Ok(no_content());
            }
            Err(StoreError::Conflict(Conflict::Code)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Backend(format!("no unused short-link code in {ATTEMPTS} draws")).into())
}

/// `GET /qr/v1/merchant-callback/{merchantQrId}`.
pub async fn get(
    state: &ApiState,
    headers: &HeaderMap,
    uri: &Uri,
    raw_id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id)?;
    let image = image_choice(uri, headers)?;
    let qr = state
        .store
        .callback_qr(&caller.msn, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(json(StatusCode::OK, &response(state, &qr, image)))
}

/// `GET /qr/v1/merchant-callback`: all the merchant's callback QRs, oldest first, as a JSON
/// array (the published example wraps the list in braces, which is not JSON; an array is what
/// it shows).
pub async fn list(
    state: &ApiState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let image = image_choice(uri, headers)?;
    let all = state
        .store
        .callback_qrs(&caller.msn, state.clock.now_ms())
        .await?;
    let answer: Vec<_> = all.iter().map(|qr| response(state, qr, image)).collect();
    Ok(json(StatusCode::OK, &answer))
}

/// `DELETE /qr/v1/merchant-callback/{merchantQrId}`: scans of the printed QR answer "not
/// found" from now on.
pub async fn delete(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id)?;
    let link = state
        .store
        .delete_link(&caller.msn, LinkKind::Callback, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Invalid(p) => p.into_iter().map(|p| p.name).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn put_body(v: Value) -> Result<PutCallbackRequest, ApiError> {
        match v {
            Value::Object(m) => PutCallbackRequest::from_json(&m),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn descriptions_are_one_to_36_printable_characters() {
        for good in ["K", "Kiosk 4, 2nd floor", &"æ".repeat(36), "<b>&amp;</b>"] {
            assert!(
                put_body(json!({ "locationDescription": good })).is_ok(),
                "{good}"
            );
        }
        for bad in [
            json!({}),
            json!({ "locationDescription": null }),
            json!({ "locationDescription": 5 }),
            json!({ "locationDescription": "" }),
            json!({ "locationDescription": "   " }),
            json!({ "locationDescription": "a".repeat(37) }),
            json!({ "locationDescription": "line\nbreak" }),
        ] {
            let err = put_body(bad.clone()).expect_err("invalid");
            assert_eq!(names(err), ["locationDescription"], "{bad}");
        }
    }

    #[test]
    fn image_choice_follows_accept_and_size_and_the_query_overrides_them() {
        let q = |uri: &str, hdrs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in hdrs {
                h.insert(*name, http::HeaderValue::from_static(value));
            }
            image_choice(&uri.parse::<Uri>().expect("uri"), &h)
        };
        let choice = |format, size| ImageRequest { format, size };
        assert_eq!(q("/x", &[]).expect("default"), choice(Format::Svg, 800));
        assert_eq!(
            q("/x", &[("accept", "image/png"), ("size", "300")]).expect("headers"),
            choice(Format::Png, 300)
        );
        assert_eq!(
            q("/x", &[("accept", "text/targetUrl")]).expect("content"),
            choice(Format::Text, 800)
        );
        assert_eq!(
            q("/x?qrImageFormat=PNG&qrImageSize=300", &[]).expect("png"),
            choice(Format::Png, 300)
        );
        assert_eq!(
            q(
                "/x?qrImageFormat=svg",
                &[("accept", "image/png"), ("size", "400")]
            )
            .expect("query wins"),
            choice(Format::Svg, 400)
        );
        let err = q("/x?qrImageFormat=GIF&qrImageSize=99", &[]).expect_err("bad");
        assert_eq!(names(err), ["qrImageFormat", "qrImageSize"]);
        let err = q("/x?qrImageSize=99", &[("accept", "image/gif")]).expect_err("bad");
        assert_eq!(names(err), ["Accept", "qrImageSize"]);
        for bad in ["2001", "abc", "", "-1"] {
            let err = q(&format!("/x?qrImageSize={bad}"), &[]).expect_err(bad);
            assert_eq!(names(err), ["qrImageSize"], "{bad}");
        }
    }

    #[test]
    fn path_ids_are_named_merchant_qr_id() {
        assert_eq!(qr_id("kiosk%201").expect("valid"), "kiosk 1");
        assert_eq!(names(qr_id("a.b").expect_err("bad")), ["merchantQrId"]);
        assert_eq!(names(qr_id("%ZZ").expect_err("bad")), ["merchantQrId"]);
    }
}
