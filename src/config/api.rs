//! The QR API's settings: what the handlers read from the validated [`Config`], in the units
//! they compute with.

use super::Config;

/// Lifetime of access tokens, as published.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 3600;

/// Settings of the QR API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL phones and CDNs reach this service at, e.g. `https://qr.example.com`.
    pub public_url: String,
    /// How the short links QR codes hold are written.
    pub short_link_case: super::ShortLinkCase,
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
    /// The API's share of `config`, for a service reachable at `public_url` (the config's, or
    /// derived from the address bound).
    pub fn from_config(config: &Config, public_url: String) -> ApiConfig {
        ApiConfig {
            public_url,
            short_link_case: config.short_link_case,
            payment_ttl_secs: config.payment_ttl.as_secs() as i64,
            access_token_ttl_secs: ACCESS_TOKEN_TTL_SECS,
            allow_insecure_webhooks: config.webhooks.allow_insecure,
            max_webhooks_per_event: crate::webhooks::MAX_WEBHOOKS_PER_EVENT,
        }
    }
}
