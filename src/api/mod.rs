//! The QR API v1 merchants integrate with, compatible with the published API: a merchant's
//! client changes only its base URL.
//!
//! Flow of a call: the router's table (`crate::router`) → [`handle`] → [`auth`] (token +
//! subscription key) → [`request`] (headers, capped JSON body) → [`dto`] (field rules) → the
//! [`crate::store::Store`] → a JSON answer, or an [`ApiError`] rendered in [`error`] (the one
//! place API errors become statuses).
//!
//! One file per resource: [`payment`] (`POST /qr/v1`), [`redirect`], [`callback`], [`beacon`]
//! (MobilePay beacons), [`exchange`] (not offered: `501`), [`webhooks`], and the extensions
//! [`logos`], [`style`] and [`scans`] (scan analytics of one QR). This file only dispatches ([`ApiRoute`] → handler); what the handlers
//! share is in [`context`] (state, fresh short-link codes), [`auth`] (the caller) and [`style`]
//! (image styles and URLs), each arrow pointing one way: resource → style → auth → context.
//!
//! Image URLs in answers are origin URLs signed by whatever [`context::ImageSigner`] the server
//! plugs in, so this module depends on neither the token's wire format nor the origin; a
//! branded-code [`style`] is read with the token's claim rules, so the two can never disagree.

use http::Request;

use crate::http::Resp;

pub mod auth;
pub mod beacon;
pub mod callback;
pub mod context;
pub mod dto;
pub mod error;
pub mod exchange;
pub mod logos;
pub mod payment;
pub mod redirect;
pub mod request;
pub mod scans;
pub mod style;
pub mod url;
pub mod webhooks;

pub use error::{ApiError, InvalidParam};

use context::ApiState;
use request::ApiBody;

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
    /// Scan analytics of one QR (an extension of the published API).
    RedirectScans,
    CallbackScans,
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
            ApiRoute::RedirectScans => "api_redirect_scans",
            ApiRoute::CallbackScans => "api_callback_scans",
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
        ApiRoute::RedirectScans => scans::of_redirect(state, headers, uri, param).await,
        ApiRoute::CallbackScans => scans::of_callback(state, headers, uri, param).await,
    };
    result.unwrap_or_else(|e| e.into_response_for(parts.extensions.get::<error::Instance>()))
}
