//! Printed MobilePay beacons: `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`.
//!
//! A merchant migrating from MobilePay keeps its printed PoS stickers: this call maps a
//! sticker's beacon id to the merchant, so a scan of it (`GET /m/{beaconId}`,
//! [`crate::links::Links::scan_beacon`]) runs the same pipeline as a callback QR's scan and sends
//! `user.checked-in.v1` with `merchantQrId` = the beacon id. No new QR is made.
//!
//! A beacon is stored as a merchant-callback QR whose `merchantQrId` is the beacon id and whose
//! code is derived from it ([`links::beacon_code`]): it is listed, read and deleted through the
//! merchant-callback calls like any callback QR. One code per beacon means one holder: a beacon
//! another merchant holds is a `409`, and, as with every short-link code, a deleted beacon is
//! never handed out again (a sticker that was taken out of service stays dead).

use http::{HeaderMap, StatusCode};

use super::callback::{PutCallbackRequest, callback_caller, put_input};
use super::context::{ApiState, path_param};
use super::error::{ApiError, InvalidParam};
use super::request::{self, ApiBody};
use crate::http::{self as resp, Resp};
use crate::links;
use crate::store::{Conflict, NewCallbackQr, StoreError, StyleChange};

/// `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`: maps the beacon to the caller, or
/// changes its description. `200` without a body, as published.
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
    let id = beacon_id(raw_id);
    let body = PutCallbackRequest::from_json(&request::json_object(headers, body).await?);
    let ((id, code), req) = put_input(id, body)?;
    let now = state.clock.now_ms();
    // The merchant's own callback QR with this id would otherwise just get the new description:
    // refuse, since a scan event could not tell the two apart.
    if let Some(qr) = state.store.callback_qr(&caller.msn, &id, now).await?
        && qr.link.code != code
    {
        return Err(taken(
            &id,
            "is already the merchantQrId of another of your merchant-callback QRs",
        ));
    }
    let new = NewCallbackQr {
        code: code.clone(),
        msn: caller.msn.clone(),
        qr_id: id.clone(),
        location_description: req.location_description,
        created_at_ms: now,
        // A printed MobilePay sticker has no image of ours to style.
        style: StyleChange::Keep,
    };
    match state.store.put_callback_qr(&new, now).await {
        Ok(put) => {
            state.links.remember(&put.qr.link).await;
            Ok(resp::status_only(StatusCode::OK))
        }
        Err(StoreError::Conflict(Conflict::Code)) => {
            let holder = state.store.link_by_code(&code).await?;
            // SECURITY: never say which merchant holds it.
            Err(match holder {
                Some(link) if link.msn != caller.msn => taken(&id, "is mapped to another merchant"),
                _ => taken(&id, "was deleted and cannot be mapped again"),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Decodes and checks a beacon id from the path; the code it is stored under comes with it.
fn beacon_id(raw: &str) -> Result<(String, String), ApiError> {
    let id = path_param(raw, "beaconId")?;
    match links::beacon_code(&id) {
        Some(code) => Ok((id, code)),
        None => Err(ApiError::Invalid(vec![InvalidParam::new(
            "beaconId",
            format!(
                "must be 1 to {} of the characters A-Z a-z 0-9 - . _ ~",
                links::MAX_BEACON_ID_LEN
            ),
        )])),
    }
}

fn taken(id: &str, why: &str) -> ApiError {
    ApiError::Taken {
        name: "beaconId",
        id: id.to_owned(),
        detail: format!("beacon {id:?} {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beacon_ids_are_url_safe_and_bounded() {
        let (id, code) = beacon_id("100000625947428").expect("digits");
        assert_eq!(id, "100000625947428");
        assert_eq!(code, "beacon:100000625947428");
        assert!(beacon_id("a-b.c_d~e").is_ok());
        for bad in ["a%20b", "a%2Fb", "%C3%A6", "x".repeat(65).as_str(), "%ZZ"] {
            assert!(
                matches!(beacon_id(bad), Err(ApiError::Invalid(p)) if p[0].name == "beaconId"),
                "{bad}"
            );
        }
    }
}
