//! `POST /qr/v1/exchange` and `POST /qr/v1/exchange/customer`: published calls that trade a QR
//! a user shows, or the `customerToken` of a scan event, for the user's data (the MSISDN).
//!
//! This service has no wallet and so no user accounts: there is no MSISDN to give. Both calls
//! authenticate like every other (so a client learns nothing without credentials) and then
//! answer `501 Not Implemented` with a problem body that says so, rather than a `404` that would
//! look like a wrong base URL.

use http::HeaderMap;

use super::ApiError;
use super::auth;
use super::context::ApiState;
use crate::http::Resp;

/// Both exchange calls.
pub async fn not_offered(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    auth::caller(state, headers).await?;
    Err(ApiError::NotImplemented(
        "QR and customer exchange need the wallet's user accounts, which this service does \
         not have; no user data can be returned",
    ))
}
