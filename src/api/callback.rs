//! Merchant-callback QRs: `PUT/GET/DELETE /qr/v1/merchant-callback/{merchantQrId}` and
//! `GET /qr/v1/merchant-callback`.
//!
//! A callback QR encodes a `/c/{code}` short link; scanning it tells the merchant's webhooks
//! (`user.checked-in.v1`, see [`crate::links`] and [`crate::webhooks`]). The merchant picks the
//! id; the code is ours and never changes, so a printed QR keeps working while only its
//! `locationDescription` is edited. Every call needs the `Merchant-Serial-Number` header, and it
//! must name the merchant the access token belongs to.
//!
//! The `PUT` may name a branded-code `style` (an extension): it is stored with the QR and the
//! GET calls draw the QR's image URL that way ([`style`] has the update rules); a QR without
//! one follows the merchant's default style.

use http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::{self, Caller};
use super::context::{self, ApiState, path_param, with_fresh_code};
use super::error::{ApiError, InvalidParam};
use super::request;
use super::request::{ApiBody, ImageRequest, OtherAccept};
use super::style::{self, CallStyle};
use crate::http::{self as resp, Resp};
use crate::links;
use crate::render::{Format, MAX_SIZE, MIN_SIZE};
use crate::store::{CallbackQr, LinkKind, NewCallbackQr};

/// Longest `locationDescription`, in characters (as published).
pub const MAX_DESCRIPTION_CHARS: usize = 36;
/// Longest `merchantQrId`, in characters. The published document sets no limit (any string);
/// this one only bounds storage and log lines, far above the UUIDs merchants use.
pub const MAX_QR_ID_CHARS: usize = 256;

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
    /// The style stored with the QR (an extension); absent when it follows the default style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<Map<String, Value>>,
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

/// The image the GET calls link to. As published, the query parameters `QrImageFormat=PNG|SVG`
/// and `QrImageSize=100..2000` choose it; their names are matched in any case (`qrImageFormat`
/// works too), and a bad value is a `400` naming the parameter as sent, never ignored. The
/// `Accept` and `Size` headers of the other QR calls are honoured too, under the query; an
/// `Accept` that names no image (`application/json`, which many clients send for the JSON
/// answer) is ignored. Without either: SVG. Every failure is reported together.
pub fn image_choice(uri: &Uri, headers: &HeaderMap) -> Result<ImageRequest, ApiError> {
    let (mut choice, mut invalid) = match request::image_request_with(headers, OtherAccept::Ignore)
    {
        Ok(choice) => (choice, Vec::new()),
        Err(ApiError::Invalid(invalid)) => (ImageRequest::default(), invalid),
        Err(other) => return Err(other),
    };
    for (name, value) in request::query_pairs(uri) {
        if name.eq_ignore_ascii_case("QrImageFormat") {
            match value.trim().to_ascii_uppercase().as_str() {
                "PNG" => choice.format = Format::Png,
                "SVG" => choice.format = Format::Svg,
                _ => invalid.push(InvalidParam::new(name, "must be PNG or SVG")),
            }
        } else if name.eq_ignore_ascii_case("QrImageSize") {
            match value.trim().parse::<u32>() {
                Ok(n) if (MIN_SIZE..=MAX_SIZE).contains(&n) => choice.size = n,
                _ => invalid.push(InvalidParam::new(
                    name,
                    format!("must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}"),
                )),
            }
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
pub(super) async fn callback_caller(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let caller = auth::caller(state, headers).await?;
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

/// Decodes a `merchantQrId` from the path. As published it is any string: dots, slashes
/// (`%2F`), emoji and all; only its length is bounded.
pub(super) fn qr_id(raw: &str) -> Result<String, ApiError> {
    let id = path_param(raw, "merchantQrId")?;
    let chars = id.chars().count();
    if chars > MAX_QR_ID_CHARS {
        return Err(ApiError::Invalid(vec![InvalidParam::new(
            "merchantQrId",
            format!("must be at most {MAX_QR_ID_CHARS} characters (got {chars})"),
        )]));
    }
    Ok(id)
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no merchant callback QR with merchantQrId {id:?}"))
}

fn response(
    state: &ApiState,
    qr: &CallbackQr,
    image: ImageRequest,
    style: &CallStyle,
) -> Result<CallbackQrResponse, ApiError> {
    Ok(CallbackQrResponse {
        merchant_serial_number: qr.link.msn.clone(),
        merchant_qr_id: qr.link.qr_id.clone().unwrap_or_default(),
        location_description: qr.location_description.clone(),
        qr_image_url: style::image_url(state, &qr.link, image, style)?,
        qr_content: links::short_url(
            &state.config.public_url,
            state.config.short_link_case,
            LinkKind::Callback,
            &qr.link.code,
        ),
        style: style::shown(&qr.link)?,
    })
}

/// The checked `merchantQrId` (or beacon id) and body of a `PUT`, with both failures reported
/// together.
pub(super) fn put_input<Id>(
    id: Result<Id, ApiError>,
    body: Result<PutCallbackRequest, ApiError>,
) -> Result<(Id, PutCallbackRequest), ApiError> {
    match (id, body) {
        (Ok(id), Ok(req)) => Ok((id, req)),
        (Err(ApiError::Invalid(mut a)), Err(ApiError::Invalid(b))) => {
            a.extend(b);
            Err(ApiError::Invalid(a))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}`: creates the QR, or changes its description
/// (and, with `style`, its stored style: absent keeps it, `null` removes it, an object replaces
/// it). Answers `200` without a body either way, as published: the QR itself comes from the
/// GET calls.
pub async fn put<B>(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
    body: B,
) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id);
    let body = request::json_object(headers, body).await?;
    let (id, req) = put_input(id, PutCallbackRequest::from_json(&body))?;
    let change = style::change_in(state, &caller.msn, LinkKind::Callback, &body).await?;
    let now = state.clock.now_ms();
    let put = with_fresh_code(|code| {
        let new = NewCallbackQr {
            code,
            msn: caller.msn.clone(),
            qr_id: id.clone(),
            location_description: req.location_description.clone(),
            created_at_ms: now,
            style: change.clone(),
        };
        async move { state.store.put_callback_qr(&new, now).await }
    })
    .await
    .map_err(|e| match e {
        ApiError::Store(e) => style::logo_gone(e, &change),
        other => other,
    })?;
    state.links.remember(&put.qr.link).await;
    Ok(resp::status_only(StatusCode::OK))
}

/// `GET /qr/v1/merchant-callback/{merchantQrId}`.
pub async fn get(
    state: &ApiState,
    headers: &HeaderMap,
    uri: &Uri,
    raw_id: &str,
) -> Result<Resp, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id)?;
    let image = image_choice(uri, headers)?;
    let qr = state
        .store
        .callback_qr(&caller.msn, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| not_found(&id))?;
    let style = style::for_link(state, &qr.link).await?;
    Ok(resp::json(
        StatusCode::OK,
        &response(state, &qr, image, &style)?,
    ))
}

/// `GET /qr/v1/merchant-callback`: all the merchant's callback QRs, oldest first, as a JSON
/// array (the published example wraps the list in braces, which is not JSON; an array is what
/// it shows).
pub async fn list(state: &ApiState, headers: &HeaderMap, uri: &Uri) -> Result<Resp, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let image = image_choice(uri, headers)?;
    let all = state
        .store
        .callback_qrs(&caller.msn, state.clock.now_ms())
        .await?;
    let fallback = style::for_call(state, &caller.msn, None).await?;
    let answer = all
        .iter()
        .map(|qr| response(state, qr, image, &style::of_link(&qr.link, &fallback)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(resp::json(StatusCode::OK, &answer))
}

/// `DELETE /qr/v1/merchant-callback/{merchantQrId}`: scans of the printed QR answer "not
/// found" from now on. `200` without a body, as published.
pub async fn delete(state: &ApiState, headers: &HeaderMap, raw_id: &str) -> Result<Resp, ApiError> {
    let caller = callback_caller(state, headers).await?;
    let id = qr_id(raw_id)?;
    let link = state
        .store
        .delete_link(&caller.msn, LinkKind::Callback, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| not_found(&id))?;
    state.links.remember(&link).await;
    context::forget_scans(state, &link).await;
    Ok(resp::status_only(StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            assert_eq!(err.invalid_names(), ["locationDescription"], "{bad}");
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
        assert_eq!(err.invalid_names(), ["qrImageFormat", "qrImageSize"]);
        let err = q("/x?qrImageSize=99", &[("accept", "image/gif")]).expect_err("bad");
        assert_eq!(err.invalid_names(), ["Accept", "qrImageSize"]);
        for bad in ["2001", "abc", "", "-1"] {
            let err = q(&format!("/x?qrImageSize={bad}"), &[]).expect_err(bad);
            assert_eq!(err.invalid_names(), ["qrImageSize"], "{bad}");
        }
    }

    #[test]
    fn published_query_names_match_in_any_case_and_are_named_as_sent() {
        let q = |uri: &str| image_choice(&uri.parse::<Uri>().expect("uri"), &HeaderMap::new());
        let png300 = ImageRequest {
            format: Format::Png,
            size: 300,
        };
        for uri in [
            "/x?QrImageFormat=PNG&QrImageSize=300",
            "/x?qrimageformat=png&QRIMAGESIZE=300",
        ] {
            assert_eq!(q(uri).expect(uri), png300, "{uri}");
        }
        let err = q("/x?QrImageSize=50").expect_err("out of range");
        assert_eq!(err.invalid_names(), ["QrImageSize"]);
        let err = q("/x?QrImageFormat=GIF").expect_err("unknown format");
        assert_eq!(err.invalid_names(), ["QrImageFormat"]);
        let mut json = HeaderMap::new();
        json.insert("accept", http::HeaderValue::from_static("application/json"));
        let ok = image_choice(&"/x?QrImageFormat=PNG".parse().expect("uri"), &json);
        assert_eq!(ok.expect("json is fine").format, Format::Png);
    }

    #[test]
    fn merchant_qr_ids_are_any_string() {
        assert_eq!(qr_id("kiosk%201").expect("valid"), "kiosk 1");
        assert_eq!(qr_id("kasse.1").expect("dots"), "kasse.1");
        assert_eq!(qr_id("a%2Fb~%F0%9F%98%80").expect("any"), "a/b~😀");
        assert_eq!(
            qr_id("%ZZ").expect_err("bad").invalid_names(),
            ["merchantQrId"]
        );
        let long = "x".repeat(MAX_QR_ID_CHARS + 1);
        assert_eq!(
            qr_id(&long).expect_err("long").invalid_names(),
            ["merchantQrId"]
        );
    }
}
