//! The application state: built once at start-up, shared by every connection as one
//! `Arc<AppState>`: the config, keys, clock, metrics, the origin's cache, the store and the
//! handlers' state built on it, and the webhook delivery worker.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::analytics::Scans;
use crate::api::context::{ApiState, ImageSigner};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::config::api::ApiConfig;
use crate::links::Links;
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::server::access_log::AccessLog;
use crate::server::inflight::InflightBytes;
use crate::server::shutdown::Shutdown;
use crate::store::Store;
use crate::token::{ImageClaims, Keyring};
use crate::webhooks::deliver::{Deliverer, DeliveryStats};

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
    /// Durable state (the embedded store in the data dir, or PostgreSQL); the same handle as
    /// `api.store`.
    pub store: Arc<dyn Store>,
    /// Short-link lookups (`/r/`, `/p/`) through the in-process cache the QR API writes through.
    pub links: Arc<Links>,
    /// The scan counter: fed by `links` when `--scan-counting on`, flushed by `server::run`;
    /// its counters are exported either way.
    pub scans: Arc<Scans>,
    /// The QR API's handlers' state.
    pub api: ApiState,
    /// The webhook delivery worker; `server::run` runs it until shutdown.
    pub deliverer: Arc<Deliverer>,
    /// Whether the store takes writes (`/readyz`); kept by [`probe_store_writes`].
    pub store_health: StoreHealth,
    /// Response bytes held by connections still sending them, against `max_inflight_bytes`.
    pub inflight: Arc<InflightBytes>,
    /// The operator listener, bound by `server::bind` and taken by `server::run`.
    pub ops_listener: Mutex<Option<tokio::net::TcpListener>>,
    /// Where the operator listener is bound (`None`: no separate listener).
    pub ops_addr: Option<std::net::SocketAddr>,
    /// `Some` with `--access-log`: the request-id source, and the switch the server reads.
    pub access_log: Option<AccessLog>,
}

impl AppState {
    /// Builds the state from a validated config. `public_url` is the config's, or derived from
    /// the address actually bound.
    pub async fn new(
        config: Config,
        public_url: String,
        keyring: Keyring,
        clock: SharedClock,
    ) -> anyhow::Result<AppState> {
        let store = crate::store::open(&config.data_dir, &config.store)
            .await
            .with_context(|| config.store.describe(&config.data_dir))?;
        let origin = Origin::new(
            config.cache_bytes,
            config.max_renders,
            config.max_render_queue,
        )
        .with_logo_store(Arc::clone(&store));
        let scans = Arc::new(Scans::new(
            Arc::clone(&store),
            clock.clone(),
            config.scans.clone(),
        ));
        let mut links = Links::new(Arc::clone(&store), clock.clone());
        if config.scans.counting {
            // The day's key before the first scan, so the first visitors count too.
            scans.ensure_keys().await;
            links = links.with_scans(Arc::clone(&scans));
        }
        let links = Arc::new(links);
        let api = ApiState {
            store: Arc::clone(&store),
            links: Arc::clone(&links),
            clock: clock.clone(),
            images: image_signer(public_url.clone(), keyring.clone()),
            config: ApiConfig::from_config(&config, public_url.clone()),
        };
        let deliverer = Arc::new(Deliverer::new(
            Arc::clone(&store),
            clock.clone(),
            config.webhooks.delivery,
            links.outbox_signal(),
            Arc::new(DeliveryStats::default()),
        ));
        let inflight = Arc::new(InflightBytes::new(config.max_inflight_bytes));
        Ok(AppState {
            store_health: StoreHealth::default(),
            inflight,
            ops_listener: Mutex::new(None),
            ops_addr: None,
            access_log: config.access_log.then(AccessLog::new),
            config,
            public_url,
            keyring,
            clock,
            metrics: Metrics::new(),
            shutdown: Shutdown::new(),
            origin,
            store,
            links,
            scans,
            api,
            deliverer,
        })
    }

    /// The image URL for `claims`, signed by the current signing key.
    pub fn image_url(&self, claims: &ImageClaims) -> String {
        crate::origin::image_url(&self.public_url, &self.keyring, claims)
    }
}

/// Signs the QR API's image URLs with the key ring's current signing key.
fn image_signer(public_url: String, keyring: Keyring) -> ImageSigner {
    Arc::new(move |claims: &ImageClaims| crate::origin::image_url(&public_url, &keyring, claims))
}

/// Whether the store took its last write probe.
#[derive(Debug)]
pub struct StoreHealth {
    writable: AtomicBool,
}

impl Default for StoreHealth {
    fn default() -> Self {
        StoreHealth {
            writable: AtomicBool::new(true),
        }
    }
}

impl StoreHealth {
    pub fn is_writable(&self) -> bool {
        self.writable.load(Relaxed)
    }
}

/// Probes the store with a write every `every` until `state.shutdown` stops: a prune that
/// matches nothing, which still needs the write lock (SQLite's `IMMEDIATE` transaction, a
/// PostgreSQL write transaction) and so fails exactly when real writes would. Changes are logged
/// once each way.
pub async fn probe_store_writes(state: Arc<AppState>, every: Duration) {
    let mut stop = std::pin::pin!(state.shutdown.stopped());
    loop {
        let result = state.store.prune_outbox(i64::MIN).await;
        let writable = result.is_ok();
        let was = state.store_health.writable.swap(writable, Relaxed);
        match (&result, was) {
            (Err(e), true) => tracing::error!(error = %e, "store write probe failed: /readyz 503"),
            (Ok(_), false) => tracing::warn!("store writable again: /readyz 200"),
            _ => {}
        }
        tokio::select! {
            () = stop.as_mut() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
