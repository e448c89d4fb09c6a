//! Merchant authentication: `POST /accesstoken/get` and the check every `/qr/v1` call passes.
//!
//! Access tokens are opaque random strings (256 bits), stored as SHA-256 hashes with their
//! expiry. Chosen over self-contained JWTs because a stored token can be revoked (remove the
//! credential and its tokens stop working), needs no second signing key to manage and rotate,
//! and is checked by one indexed lookup; clients of the published API treat the token as opaque.

use http::HeaderMap;
use serde::Serialize;

use super::context::ApiState;
use super::error::ApiError;
use super::request::{self, ImageRequest};
use crate::secret;
use crate::store::{NewAccessToken, Store};

/// Header carrying the subscription key on every call.
pub const SUBSCRIPTION_KEY: &str = "ocp-apim-subscription-key";
/// Optional header naming the merchant the caller acts for.
pub const MERCHANT_SERIAL_NUMBER: &str = "merchant-serial-number";

/// The merchant an authenticated request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub msn: String,
}

/// `POST /accesstoken/get` answer; every value a string, as published.
#[derive(Debug, Serialize)]
pub struct AccessTokenResponse {
    pub token_type: &'static str,
    pub expires_in: String,
    pub ext_expires_in: String,
    pub expires_on: String,
    pub not_before: String,
    pub resource: String,
    pub access_token: String,
}

/// The `resource` value published in access-token answers.
const RESOURCE: &str = "00000002-0000-0000-c000-000000000000";

/// Who is calling: the access token and subscription key, checked.
pub(super) async fn caller(state: &ApiState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    authenticate(state.store.as_ref(), state.clock.now_ms(), headers).await
}

/// The opening of every call answered with QRs: who is calling, then which image (format,
/// size) the answer's URLs ask for.
pub(super) async fn caller_and_image(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<(Caller, ImageRequest), ApiError> {
    let caller = caller(state, headers).await?;
    Ok((caller, request::image_request(headers)?))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Issues an access token for valid `client_id` + `client_secret` + subscription key (and
/// matching `Merchant-Serial-Number`, when sent). Any mismatch is the same 401.
pub async fn access_token(
    state: &ApiState,
    headers: &HeaderMap,
) -> Result<AccessTokenResponse, ApiError> {
    let (Some(client_id), Some(client_secret), Some(key)) = (
        header(headers, "client_id"),
        header(headers, "client_secret"),
        header(headers, SUBSCRIPTION_KEY),
    ) else {
        return Err(ApiError::Unauthorized);
    };
    let credential = state.store.credential(client_id).await?;
    // SECURITY: hash and compare even for an unknown client id, so the answer takes as long
    // whether or not the id exists.
    let (secret_hash, key_hash, msn) = match &credential {
        Some(c) => (
            c.client_secret_sha256.as_str(),
            c.subscription_key_sha256.as_str(),
            c.msn.as_str(),
        ),
        None => ("", "", ""),
    };
    let secret_ok = secret::matches(client_secret, secret_hash);
    let key_ok = secret::matches(key, key_hash);
    let msn_ok = header(headers, MERCHANT_SERIAL_NUMBER).is_none_or(|h| h == msn);
    let Some(credential) = credential.filter(|_| secret_ok && key_ok && msn_ok) else {
        return Err(ApiError::Unauthorized);
    };

    let token = secret::random_token()?;
    let now_ms = state.clock.now_ms();
    let lifetime = state.config.access_token_ttl_secs;
    state
        .store
        .add_access_token(&NewAccessToken {
            token_sha256: secret::sha256_hex(&token),
            client_id: credential.client_id,
            msn: credential.msn,
            created_at_ms: now_ms,
            expires_at_ms: now_ms + lifetime * 1000,
        })
        .await?;
    let now_s = now_ms.div_euclid(1000);
    Ok(AccessTokenResponse {
        token_type: "Bearer",
        expires_in: lifetime.to_string(),
        ext_expires_in: "0".to_owned(),
        expires_on: (now_s + lifetime).to_string(),
        not_before: now_s.to_string(),
        resource: RESOURCE.to_owned(),
        access_token: token,
    })
}

/// Checks `Authorization: Bearer …` and `Ocp-Apim-Subscription-Key` (and
/// `Merchant-Serial-Number`, when sent) and names the merchant the call acts for.
pub async fn authenticate(
    store: &dyn Store,
    now_ms: i64,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let token = header(headers, "authorization")
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let key = header(headers, SUBSCRIPTION_KEY).ok_or(ApiError::Unauthorized)?;
    let grant = store
        .access_grant(&secret::sha256_hex(token), now_ms)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !secret::matches(key, &grant.subscription_key_sha256) {
        return Err(ApiError::Unauthorized);
    }
    if header(headers, MERCHANT_SERIAL_NUMBER).is_some_and(|h| h != grant.msn) {
        return Err(ApiError::Forbidden(
            "the access token does not belong to the merchant serial number in Merchant-Serial-Number",
        ));
    }
    Ok(Caller { msn: grant.msn })
}
