//! The rendered-image cache: moka, bounded in bytes, keyed by what determines the image.
//!
//! The key is the content plus [`RenderOptions`], never the token's `exp`/`iat`: every token ever
//! minted for one QR shares one entry, which is what lets a viral QR cost one render.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use moka::future::Cache;
use moka::notification::RemovalCause;

use crate::metrics::CacheGauges;
use crate::render::RenderOptions;

/// What determines the rendered bytes (with [`crate::render::RENDERER_VERSION`], which is the
/// same for the whole process).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    pub content: String,
    pub opts: RenderOptions,
}

/// A rendered image as kept in the cache. Cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct CachedImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// Bookkeeping moka keeps per entry on top of key and value (hash-map slot, deque nodes,
/// frequency sketch), counted so a cache of tiny images cannot overshoot its byte budget by much.
const ENTRY_OVERHEAD: usize = 160;

/// The byte-bounded image cache.
#[derive(Clone)]
pub struct ImageCache {
    inner: Cache<RenderKey, CachedImage>,
    /// Entries dropped to stay under the byte budget (not replacements or expiries).
    evictions: Arc<AtomicU64>,
}

impl std::fmt::Debug for ImageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCache")
            .field("entries", &self.inner.entry_count())
            .field("bytes", &self.inner.weighted_size())
            .finish()
    }
}

impl ImageCache {
    /// A cache that holds at most about `max_bytes` of images, keys and bookkeeping.
    pub fn new(max_bytes: u64) -> ImageCache {
        let evictions = Arc::new(AtomicU64::new(0));
        let counter = evictions.clone();
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &RenderKey, v: &CachedImage| {
                let w = k.content.len() + v.bytes.len() + ENTRY_OVERHEAD;
                u32::try_from(w).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |_k, _v, cause| {
                if cause == RemovalCause::Size {
                    counter.fetch_add(1, Relaxed);
                }
            })
            .build();
        ImageCache { inner, evictions }
    }

    /// Returns the cached image for `key`, or runs `render` to make it. Concurrent callers with
    /// the same key wait for one `render` (moka coalesces them); an error is handed to all of them
    /// and nothing is cached. The flag is `true` when this call found the image already cached.
    ///
    /// A hit is a plain lookup by reference; only a miss pays for cloning the key and for moka's
    /// coalescing machinery (the cache-hit load test showed both on the hit path).
    pub async fn get_or_render<F, E>(
        &self,
        key: &RenderKey,
        render: impl FnOnce() -> F,
    ) -> Result<(CachedImage, bool), Arc<E>>
    where
        F: Future<Output = Result<CachedImage, E>>,
        E: Send + Sync + 'static,
    {
        if let Some(image) = self.inner.get(key).await {
            return Ok((image, true));
        }
        let entry = self
            .inner
            .entry(key.clone())
            .or_try_insert_with(render())
            .await?;
        let hit = !entry.is_fresh();
        Ok((entry.into_value(), hit))
    }

    /// Scrape-time figures for `/metrics`.
    pub fn gauges(&self) -> CacheGauges {
        CacheGauges {
            bytes: self.inner.weighted_size(),
            entries: self.inner.entry_count(),
            evictions: self.evictions.load(Relaxed),
        }
    }

    /// Applies pending evictions and size bookkeeping now (moka does it lazily); for tests.
    pub async fn settle(&self) {
        self.inner.run_pending_tasks().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn key(i: usize) -> RenderKey {
        RenderKey {
            content: format!("https://qr.example.com/r/{i}"),
            opts: RenderOptions::default(),
        }
    }

    fn image(len: usize) -> CachedImage {
        CachedImage {
            bytes: Bytes::from(vec![7u8; len]),
            content_type: "image/png",
        }
    }

    #[tokio::test]
    async fn stays_within_its_byte_budget() {
        let budget = 64 * 1024;
        let cache = ImageCache::new(budget);
        for i in 0..200 {
            let (_, hit) = cache
                .get_or_render(&key(i), || async { Ok::<_, Infallible>(image(2000)) })
                .await
                .unwrap();
            assert!(!hit);
        }
        cache.settle().await;
        let g = cache.gauges();
        assert!(g.bytes <= budget, "{g:?}");
        assert!(g.entries < 200 && g.entries > 0, "{g:?}");
        assert!(g.evictions > 0, "{g:?}");
    }

    #[tokio::test]
    async fn second_lookup_is_a_hit_and_errors_are_not_cached() {
        let cache = ImageCache::new(1 << 20);
        let err = cache
            .get_or_render(&key(1), || async { Err::<CachedImage, _>("boom") })
            .await;
        assert!(err.is_err());
        let (_, hit) = cache
            .get_or_render(&key(1), || async { Ok::<_, Infallible>(image(10)) })
            .await
            .unwrap();
        assert!(!hit, "the failed render must not have left an entry");
        let (img, hit) = cache
            .get_or_render(&key(1), || async { Ok::<_, Infallible>(image(99)) })
            .await
            .unwrap();
        assert!(hit);
        assert_eq!(img.bytes.len(), 10);
    }
}
