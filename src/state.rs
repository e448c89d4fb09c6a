//! The application state: built once at start-up, shared by every connection as one
//! `Arc<AppState>`. Other features add their fields here (the QR API's store, …) and initialise
//! them in [`AppState::new`].

use crate::clock::SharedClock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::shutdown::Shutdown;
use crate::token::Keyring;

/// Everything a request handler may need.
#[derive(Debug)]
pub struct AppState {
    /// The validated configuration.
    pub config: Config,
    /// Base of every URL handed out (no trailing slash), e.g. `https://qr.example.com`.
    pub public_url: String,
    /// Verifies image tokens; its first key signs the image URLs the API hands out.
    pub keyring: Keyring,
    /// Wall-clock time; a `ManualClock` in tests.
    pub clock: SharedClock,
    pub metrics: Metrics,
    pub shutdown: Shutdown,
    /// The image origin's cache and render limiter.
    pub origin: Origin,
}

impl AppState {
    /// Builds the state from a validated config. `public_url` is the config's, or derived from
    /// the address actually bound.
    pub fn new(
        config: Config,
        public_url: String,
        keyring: Keyring,
        clock: SharedClock,
    ) -> anyhow::Result<AppState> {
        let origin = Origin::new(
            config.cache_bytes,
            config.max_renders,
            config.max_render_queue,
        );
        Ok(AppState {
            config,
            public_url,
            keyring,
            clock,
            metrics: Metrics::new(),
            shutdown: Shutdown::new(),
            origin,
        })
    }

    /// The image URL for `claims`, signed by the current signing key.
    pub fn image_url(&self, claims: &crate::token::ImageClaims) -> String {
        crate::origin::image_url(&self.public_url, &self.keyring, claims)
    }
}
