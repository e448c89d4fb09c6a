//! What the QR API's handlers share: their state, short-link codes drawn until one is free,
//! path parameters and expiry in seconds. [`super::handle`] only dispatches; every resource
//! file builds on this one, and so do [`super::auth`] (who is calling) and [`super::style`]
//! (what an answer's image looks like, and its URL), so the arrows point one way.

use std::future::Future;
use std::sync::Arc;

use super::{ApiError, InvalidParam, request};
use crate::clock::SharedClock;
use crate::config::api::ApiConfig;
use crate::links::{self, Links};
use crate::store::{Conflict, Link, Store, StoreError};
use crate::token::ImageClaims;

/// Signs the claims of an image the QR API answers with into an image URL
/// (`{public_url}/qr-generator/v1?token=…`): the server plugs in its key ring, so the API
/// depends on neither the token's wire format nor the origin.
pub type ImageSigner = Arc<dyn Fn(&ImageClaims) -> String + Send + Sync>;

/// Everything the QR API handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    /// Shared with the short-link routes, so writes here are seen there at once.
    pub links: Arc<Links>,
    pub clock: SharedClock,
    pub images: ImageSigner,
    pub config: ApiConfig,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How many fresh short-link codes a create draws before giving up. A collision is ≈2⁻⁵⁹
/// likely, so a second draw is already a sign of a broken random source.
const CODE_ATTEMPTS: usize = 4;

/// Runs `attempt` with freshly drawn short-link codes until the store takes one: a
/// [`Conflict::Code`] (the code was handed out before) means "draw again", anything else is the
/// answer. The one copy of this loop, for every kind of QR.
pub(super) async fn with_fresh_code<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    for _ in 0..CODE_ATTEMPTS {
        match attempt(links::new_code()?).await {
            Err(StoreError::Conflict(Conflict::Code)) => continue,
            done => return done.map_err(ApiError::from),
        }
    }
    Err(StoreError::Backend(format!(
        "no unused short-link code in {CODE_ATTEMPTS} draws"
    ))
    .into())
}

/// Decodes a path parameter; `name` is what a 400 calls it.
pub(super) fn path_param(raw: &str, name: &str) -> Result<String, ApiError> {
    request::decode_path_segment(raw).ok_or_else(|| {
        ApiError::Invalid(vec![InvalidParam::new(
            name,
            "is not a valid percent-encoded UTF-8 path segment",
        )])
    })
}

/// Whole seconds left (rounded up), or `-1` for a QR that never expires.
pub(super) fn expires_in(link: &Link, now_ms: i64) -> i64 {
    match link.expires_at_ms {
        Some(exp) => ((exp - now_ms).max(0) + 999).div_euclid(1000),
        None => -1,
    }
}

/// Drops a deleted QR's scan counts. Best effort: the QR is already gone for the merchant (its
/// scans answer 404), and the store's hourly upkeep sweeps what a failure here leaves.
pub(super) async fn forget_scans(state: &ApiState, link: &Link) {
    if let Err(e) = state.store.delete_scans(&link.code).await {
        tracing::warn!(error = %e, "deleting a QR's scan counts failed; the upkeep will");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_rounds_up_and_marks_forever() {
        let mut link = Link {
            code: "AbCdEfGhIj".into(),
            kind: crate::store::LinkKind::Redirect,
            msn: "1".into(),
            qr_id: Some("a".into()),
            target: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            expires_at_ms: None,
            deleted_at_ms: None,
            style: None,
        };
        assert_eq!(expires_in(&link, 5), -1);
        link.expires_at_ms = Some(600_000);
        assert_eq!(expires_in(&link, 0), 600);
        assert_eq!(expires_in(&link, 1), 600);
        assert_eq!(expires_in(&link, 599_999), 1);
        assert_eq!(expires_in(&link, 700_000), 0);
    }
}
