//! The rendered-image cache: moka, bounded in bytes, keyed by what determines the image
//! ([`RenderKey`]): every token ever minted for one QR shares one entry, which is what lets a
//! viral QR cost one render.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::HeaderMap;
use moka::future::Cache;
use moka::notification::RemovalCause;
use tokio::sync::OnceCell;

use super::key::{RenderKey, SeededFold};
use crate::metrics::CacheGauges;

/// A rendered image as kept in the cache (behind an `Arc`, so a lookup copies a pointer).
#[derive(Debug, Clone)]
pub struct CachedImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// The headers of a cache hit's `200` for it, built once when it is rendered
    /// ([`super::response::hit_headers`]); a hit clones them and adds at most its
    /// `Cache-Control`.
    pub head: HeaderMap,
}

/// What an image's prebuilt [`CachedImage::head`] weighs: about 8 header entries of ~100 bytes
/// in the map's entry table, its index and the ETag's bytes.
const HEAD_OVERHEAD: usize = 900;

/// Bookkeeping moka keeps per entry on top of key and value (hash-map slot, deque nodes,
/// frequency sketch), counted so a cache of tiny images cannot overshoot its byte budget by much.
const ENTRY_OVERHEAD: usize = 160;

/// One render in flight: callers for its key wait on the cell; the first one to arrive renders.
type Flight<E> = OnceCell<Result<Arc<CachedImage>, Arc<E>>>;

/// Renders in flight by key.
type Flights<E> = HashMap<RenderKey, Arc<Flight<E>>>;

/// The byte-bounded image cache; `E` is why a render may fail (handed to every waiter).
pub struct ImageCache<E> {
    inner: Cache<RenderKey, Arc<CachedImage>, SeededFold>,
    flights: Mutex<Flights<E>>,
    /// Entries dropped to stay under the byte budget (not replacements or expiries).
    evictions: Arc<AtomicU64>,
}

impl<E> std::fmt::Debug for ImageCache<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCache")
            .field("entries", &self.inner.entry_count())
            .field("bytes", &self.inner.weighted_size())
            .finish()
    }
}

impl<E: Send + Sync + 'static> ImageCache<E> {
    /// A cache that holds at most about `max_bytes` of images, keys and bookkeeping.
    pub fn new(max_bytes: u64) -> ImageCache<E> {
        let evictions = Arc::new(AtomicU64::new(0));
        let counter = evictions.clone();
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &RenderKey, v: &Arc<CachedImage>| {
                let w = k.content().len() + v.bytes.len() + ENTRY_OVERHEAD + HEAD_OVERHEAD;
                u32::try_from(w).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |_k, _v, cause| {
                if cause == RemovalCause::Size {
                    counter.fetch_add(1, Relaxed);
                }
            })
            .build_with_hasher(SeededFold::default());
        ImageCache {
            inner,
            flights: Mutex::default(),
            evictions,
        }
    }

    /// Returns the cached image for `key`, or runs `render` to make it. Concurrent callers with
    /// the same key wait for one `render`; an error is handed to all of them and nothing is
    /// cached. The flag is `true` when this call did not render (found the image cached, or
    /// waited for another caller's render).
    ///
    /// A hit is a plain lookup by reference. Misses coalesce in our own in-flight map rather
    /// than moka's `entry().or_try_insert_with`: its waiter and key-lock maps grow and shrink on
    /// every miss, and in the all-unique-tokens load test their bookkeeping (and rehashing) was
    /// a tenth of the server's CPU.
    pub async fn get_or_render<F>(
        &self,
        key: &RenderKey,
        render: impl FnOnce() -> F,
    ) -> Result<(Arc<CachedImage>, bool), Arc<E>>
    where
        F: Future<Output = Result<CachedImage, E>>,
    {
        if let Some(image) = self.inner.get(key).await {
            return Ok((image, true));
        }
        let flight = Arc::clone(lock(&self.flights).entry(key.clone()).or_default());
        // Set by whichever caller initialises the flight; that caller takes the flight down
        // when it ends, finished or cancelled (a waiter then takes the flight over).
        let led_here = AtomicBool::new(false);
        let rendered_here = AtomicBool::new(false);
        let _leave = LeaveFlight {
            flights: &self.flights,
            key,
            flight: &flight,
            led_here: &led_here,
        };
        let result = flight
            .get_or_init(|| {
                led_here.store(true, Relaxed);
                async {
                    // A flight that finished between our cache miss and our joining the map
                    // has already published its image: use it rather than render again.
                    if let Some(image) = self.inner.get(key).await {
                        return Ok(image);
                    }
                    rendered_here.store(true, Relaxed);
                    let result = render().await.map(Arc::new).map_err(Arc::new);
                    // Published before the flight is left, so a request arriving in between
                    // finds the image in the cache rather than rendering it again.
                    if let Ok(image) = &result {
                        self.inner.insert(key.clone(), image.clone()).await;
                    }
                    result
                }
            })
            .await
            .clone();
        result.map(|image| (image, !rendered_here.load(Relaxed)))
    }

    /// Scrape-time figures for `/metrics`. moka counts entries and bytes lazily, in its pending
    /// maintenance: without running it first, the gauges lagged the cache (one entry reported
    /// after two renders). Scrapes are rare; the maintenance would run soon anyway.
    pub async fn gauges(&self) -> CacheGauges {
        self.inner.run_pending_tasks().await;
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

/// Entries are inserted and removed whole; a poisoned map is still consistent.
fn lock<E>(flights: &Mutex<Flights<E>>) -> std::sync::MutexGuard<'_, Flights<E>> {
    flights.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a flight from the map when the caller that initialised it is done with it, unless
/// the map already holds a newer flight for the key.
struct LeaveFlight<'a, E> {
    flights: &'a Mutex<Flights<E>>,
    key: &'a RenderKey,
    flight: &'a Arc<Flight<E>>,
    led_here: &'a AtomicBool,
}

impl<E> Drop for LeaveFlight<'_, E> {
    fn drop(&mut self) {
        if !self.led_here.load(Relaxed) {
            return;
        }
        let mut flights = lock(self.flights);
        if flights
            .get(self.key)
            .is_some_and(|f| Arc::ptr_eq(f, self.flight))
        {
            flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn key(i: usize) -> RenderKey {
        let content = format!("https://qr.example.com/r/{i}");
        RenderKey::new(content, crate::render::RenderOptions::default())
    }

    fn image(len: usize) -> CachedImage {
        CachedImage {
            bytes: Bytes::from(vec![7u8; len]),
            content_type: "image/png",
            head: HeaderMap::new(),
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
        let g = cache.gauges().await;
        assert!(g.bytes <= budget, "{g:?}");
        assert!(g.entries < 200 && g.entries > 0, "{g:?}");
        assert!(g.evictions > 0, "{g:?}");
    }

    #[tokio::test]
    async fn gauges_count_every_image_at_once() {
        let cache = ImageCache::<Infallible>::new(1 << 20);
        for i in 0..2 {
            cache
                .get_or_render(&key(i), || async { Ok(image(100)) })
                .await
                .unwrap();
        }
        let g = cache.gauges().await;
        assert_eq!(g.entries, 2, "{g:?}");
        assert!(g.bytes >= 200, "{g:?}");
    }

    #[tokio::test]
    async fn second_lookup_is_a_hit_and_errors_are_not_cached() {
        let cache = ImageCache::<&str>::new(1 << 20);
        let err = cache.get_or_render(&key(1), || async { Err("boom") }).await;
        assert_eq!(*err.expect_err("failed"), "boom");
        let (_, hit) = cache
            .get_or_render(&key(1), || async { Ok(image(10)) })
            .await
            .unwrap();
        assert!(!hit, "the failed render must not have left an entry");
        let (img, hit) = cache
            .get_or_render(&key(1), || async { Ok(image(99)) })
            .await
            .unwrap();
        assert!(hit);
        assert_eq!(img.bytes.len(), 10);
        assert!(
            lock(&cache.flights).is_empty(),
            "no flight outlives its render"
        );
    }

    /// Renders that wait until `gate` opens, counting how many ran.
    async fn gated_render(
        gate: &tokio::sync::Notify,
        renders: &AtomicU64,
    ) -> Result<CachedImage, Infallible> {
        renders.fetch_add(1, Relaxed);
        gate.notified().await;
        Ok(image(42))
    }

    #[tokio::test]
    async fn concurrent_misses_wait_for_one_render() {
        let cache = ImageCache::<Infallible>::new(1 << 20);
        let (gate, renders) = (tokio::sync::Notify::new(), AtomicU64::new(0));
        let k = key(7);
        let callers: Vec<_> = (0..16)
            .map(|_| Box::pin(cache.get_or_render(&k, || gated_render(&gate, &renders))))
            .collect();
        let all = drive_all(callers, &gate).await;
        assert_eq!(renders.load(Relaxed), 1, "one render for sixteen callers");
        assert_eq!(all.iter().filter(|(_, hit)| !hit).count(), 1, "one miss");
        assert!(all.iter().all(|(img, _)| img.bytes.len() == 42));
        assert!(lock(&cache.flights).is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_render_is_taken_over_by_a_waiter() {
        let cache = ImageCache::<Infallible>::new(1 << 20);
        let (gate, renders) = (tokio::sync::Notify::new(), AtomicU64::new(0));
        let k = key(8);
        let mut leader = Box::pin(cache.get_or_render(&k, || gated_render(&gate, &renders)));
        let mut follower = Box::pin(cache.get_or_render(&k, || gated_render(&gate, &renders)));
        // The leader starts rendering and the follower waits for it; then the leader's client
        // goes away.
        assert!(poll_once(&mut leader).await.is_none());
        assert!(poll_once(&mut follower).await.is_none());
        assert_eq!(renders.load(Relaxed), 1);
        drop(leader);
        let all = drive_all(vec![follower], &gate).await;
        assert_eq!(renders.load(Relaxed), 2, "the waiter rendered in its place");
        assert_eq!(all[0].0.bytes.len(), 42);
        assert!(lock(&cache.flights).is_empty(), "no flight is left behind");
    }

    /// Polls `f` once; `Some` if it finished.
    async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
        use std::task::Poll;
        match std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *f).poll(cx))).await {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }

    /// Drives every lookup to its end, opening `gate` each round once all have been polled.
    async fn drive_all<F>(
        mut lookups: Vec<F>,
        gate: &tokio::sync::Notify,
    ) -> Vec<(Arc<CachedImage>, bool)>
    where
        F: Future<Output = Result<(Arc<CachedImage>, bool), Arc<Infallible>>> + Unpin,
    {
        let mut done: Vec<Option<(Arc<CachedImage>, bool)>> =
            lookups.iter().map(|_| None).collect();
        for _round in 0..1000 {
            for (f, out) in lookups.iter_mut().zip(done.iter_mut()) {
                if out.is_none()
                    && let Some(r) = poll_once(f).await
                {
                    *out = Some(r.expect("infallible"));
                }
            }
            if done.iter().all(Option::is_some) {
                return done.into_iter().flatten().collect();
            }
            gate.notify_waiters();
            tokio::task::yield_now().await;
        }
        panic!("the lookups did not finish");
    }
}
