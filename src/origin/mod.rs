//! The image origin: `GET|HEAD /qr-generator/v1?token=<jwt>`.
//!
//! Flow: token → verify (key ring, or the memo of verified tokens; clock) → render key → ETag /
//! `If-None-Match` → cache (render on miss, bounded concurrency) → response. The CDN in front
//! caches by URL; this origin caches by render inputs, so every token for one QR costs one render.
//!
//! # Layout
//! - [`memo`]: tokens already verified, so repeated URLs skip the MAC and decoding.
//! - [`key`]: what names an image (content and render options) and its digest, the ETag.
//! - [`cache`]: the byte-bounded moka cache.
//! - [`logos`]: logos named by styled tokens, decoded once and kept scaled, byte-bounded.
//! - [`pool`]: the render threads and their bounded queue (every render runs there).
//! - [`response`]: ETag, `Cache-Control`, `If-None-Match`, image headers.

pub mod cache;
pub mod key;
pub mod logos;
pub mod memo;
pub mod pool;
pub mod response;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

use crate::http::{HttpError, Resp};
use crate::metrics::{CacheGauges, Metrics};
use crate::render::{self, RenderError};
use crate::token::{ImageClaims, Keyring};
use cache::{CachedImage, ImageCache};
use key::RenderKey;
use memo::{TokenMemo, Verified};
use pool::{PoolError, RenderPool};
use response::Precondition;

/// The path of image URLs, as published.
pub const PATH: &str = "/qr-generator/v1";

/// The full image URL for `claims`, signed with the ring's signing key:
/// `{public_url}/qr-generator/v1?token=…`. Tokens are base64url and dots, so they need no
/// percent-encoding.
pub fn image_url(public_url: &str, keyring: &Keyring, claims: &ImageClaims) -> String {
    format!("{public_url}{PATH}?token={}", keyring.sign(claims))
}

/// How long a refused render's `503` is held before it goes out: the `Retry-After` it carries,
/// so a client gets its answer when it may ask again. Without the hold a flooding client asks
/// again at once, and every flooding connection stays in the async workers' run queue: in the
/// render-flood campaign (1 200 connections, the server on one core) cache hits and `/healthz`
/// waited 33–51 ms behind the refusals. A held refusal costs a timer, not a worker.
pub const OVERLOAD_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// The origin's own state: the image cache and the render pool.
#[derive(Debug)]
pub struct Origin {
    cache: ImageCache<RenderFailure>,
    /// Tokens verified before: a repeated URL costs a hash lookup, not a MAC.
    memo: TokenMemo,
    /// `max_renders` render threads; past `max_queue` waiting renders the origin answers 503
    /// instead of queueing without bound.
    pool: RenderPool,
    /// Decoded and scaled logos for styled tokens that name one (read from the store once).
    logos: logos::Logos,
}

/// A token that passed verification (now, or earlier and found in the memo).
struct Checked {
    verified: Arc<Verified>,
    /// Found in the memo, so there is nothing to remember.
    memoised: bool,
}

/// Why a render did not produce an image; shared by every request waiting on it.
#[derive(Debug, Clone)]
enum RenderFailure {
    Invalid(RenderError),
    Overloaded,
    /// A render thread panicked or the pool is shutting down.
    PoolGone,
    /// The token's logo is unknown (400) or cannot be read now (503).
    Logo(crate::logo::LogoFailure),
}

impl From<RenderFailure> for HttpError {
    fn from(f: RenderFailure) -> HttpError {
        match f {
            RenderFailure::Invalid(e) => HttpError::Render(e),
            RenderFailure::Overloaded => HttpError::Overloaded("too many renders queued"),
            RenderFailure::PoolGone => HttpError::Internal("the render pool has stopped".into()),
            RenderFailure::Logo(e) => HttpError::Logo(e),
        }
    }
}

impl Origin {
    pub fn new(cache_bytes: u64, max_renders: usize, max_queue: usize) -> Origin {
        Origin {
            cache: ImageCache::new(cache_bytes),
            memo: TokenMemo::default(),
            pool: RenderPool::new(max_renders, max_queue),
            logos: logos::Logos::new(None, logos::LOGO_CACHE_BYTES),
        }
    }

    /// The origin with logos read from `store` (without one, every logo is unknown).
    pub fn with_logo_store(mut self, store: Arc<dyn crate::store::Store>) -> Origin {
        self.logos = logos::Logos::new(Some(store), logos::LOGO_CACHE_BYTES);
        self
    }

    /// The decoded-logo cache, for the styled render path.
    pub fn logos(&self) -> &logos::Logos {
        &self.logos
    }

    /// Renders queued or running, for `/metrics`.
    pub fn render_queue_depth(&self) -> usize {
        self.pool.depth()
    }

    pub async fn cache_gauges(&self) -> CacheGauges {
        self.cache.gauges().await
    }

    /// Applies the cache's pending bookkeeping (for exact figures in tests).
    pub async fn settle(&self) {
        self.cache.settle().await;
    }

    /// Answers one image request. `now_unix` comes from the app's clock.
    pub async fn handle(
        &self,
        keyring: &Keyring,
        metrics: &Metrics,
        now_unix: i64,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Resp, HttpError> {
        let token = token_param(uri)?;
        let checked = self.verify(keyring, metrics, token, now_unix)?;
        let verified = &checked.verified;
        let exp = verified.validity.exp;
        let precondition = response::if_none_match(headers, &verified.etag);
        if precondition == Precondition::Matches {
            // The tag names exactly these render inputs, so the client's copy is current: no
            // need to look at the cache at all.
            self.remember(token, &checked);
            let cache_control = response::cache_control(exp, now_unix);
            return Ok(response::not_modified(verified.etag.clone(), cache_control));
        }
        let key = &verified.key;
        let recent = verified.recent_image();
        let found = match recent {
            Some(img) => Ok((img, true)),
            None => {
                let found = self
                    .cache
                    .get_or_render(key, || self.render(metrics, key))
                    .await;
                if let Ok((img, _)) = &found {
                    verified.found_image(img);
                }
                found
            }
        };
        let (img, hit) = match found {
            Ok(found) => found,
            Err(e) => {
                let failure = RenderFailure::clone(&e);
                if matches!(failure, RenderFailure::Overloaded) {
                    tokio::time::sleep(OVERLOAD_HOLD).await;
                }
                return Err(failure.into());
            }
        };
        let counter = if hit {
            self.remember(token, &checked);
            &metrics.cache_hits
        } else {
            &metrics.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if precondition == Precondition::Any {
            let cache_control = response::cache_control(exp, now_unix);
            return Ok(response::not_modified(verified.etag.clone(), cache_control));
        }
        Ok(response::image(method, &img, exp, now_unix, hit))
    }

    /// Memoises a freshly verified token once its request shows the URL repeats: its image was
    /// already cached, or the client already holds it. A one-off URL (every unique-token request
    /// renders) is never stored, so a flood of them neither pays for memo entries nor pushes
    /// the repeating URLs out of the memo; a repeating one costs one extra verification.
    fn remember(&self, token: &str, checked: &Checked) {
        if !checked.memoised {
            self.memo.insert(token, Arc::clone(&checked.verified));
        }
    }

    /// Verifies `token`, or finds it verified before in the memo (whose answer still gets the
    /// time-window check). Rejections are counted by reason.
    fn verify(
        &self,
        keyring: &Keyring,
        metrics: &Metrics,
        token: &str,
        now_unix: i64,
    ) -> Result<Checked, HttpError> {
        let limits = keyring.limits();
        // SECURITY: the length cap applies before the memo hashes the token, as before decoding.
        let remembered = if token.len() <= limits.max_token_len {
            self.memo.get(token)
        } else {
            None
        };
        let checked = match remembered {
            Some(verified) => verified
                .validity
                .check(now_unix, limits.leeway_secs)
                .map(|()| Checked {
                    verified,
                    memoised: true,
                }),
            None => keyring.verify(token, now_unix).map(|claims| Checked {
                verified: Arc::new(Verified::new(claims)),
                memoised: false,
            }),
        };
        checked.map_err(|e| {
            metrics.token_rejected(e.reason());
            HttpError::from(e)
        })
    }

    /// Renders `key` on the render pool (never on the async worker that asked), or refuses at
    /// once when the pool's queue is full. Moving off the reactor costs a thread hop per miss;
    /// what it buys is that a flood of slow renders delays only other renders. Styled renders
    /// take the same path and the same queue, so they can only ever delay other renders.
    ///
    /// A style naming a logo first asks the renderer how large the logo is drawn (which also
    /// refuses a logo too large for the content, before any logo is read), then fetches the
    /// logo scaled to that side from the logo cache (for a PDF, an SVG logo's outlines). Only
    /// misses come here: a cache hit never touches the logo store.
    async fn render(
        &self,
        metrics: &Metrics,
        key: &RenderKey,
    ) -> Result<CachedImage, RenderFailure> {
        let logo = match key.opts().style.logo {
            None => None,
            Some(logo) => {
                // The rules encode the symbol (CPU work), so they run on the pool as well: a
                // second trip there, for logo tokens only, and only on a miss.
                let job_key = key.clone();
                let side = self
                    .on_pool(move || {
                        render::logo_side(job_key.content().as_bytes(), job_key.opts())
                    })
                    .await?
                    .map_err(RenderFailure::Invalid)?;
                match side {
                    Some(side) => Some(
                        self.logos
                            .drawing(&logo.id_hex(), side, key.opts().format)
                            .await
                            .map_err(RenderFailure::Logo)?,
                    ),
                    None => None,
                }
            }
        };
        let job_key = key.clone();
        let (rendered, took) = self
            .on_pool(move || {
                let start = Instant::now();
                let (content, opts) = (job_key.content().as_bytes(), job_key.opts());
                let r = match opts.format {
                    render::Format::Pdf => {
                        render::render_pdf(content, opts, logo.as_ref().map(|l| l.art()))
                    }
                    _ => render::render_with_logo(
                        content,
                        opts,
                        logo.as_ref().and_then(|l| l.pixels()),
                    ),
                };
                (r, start.elapsed())
            })
            .await?;
        let rendered = rendered.map_err(RenderFailure::Invalid)?;
        metrics.observe_render(key.opts().format, took);
        // Exactly sized: the cache's weigher counts `len`, and a writer's spare capacity would
        // otherwise sit in the cache uncounted (shrinking in place is a cheap realloc).
        let bytes = Bytes::from(rendered.bytes.into_boxed_slice());
        let head = response::hit_headers(bytes.len(), rendered.content_type, response::etag(key));
        Ok(CachedImage {
            bytes,
            content_type: rendered.content_type,
            head,
        })
    }

    /// Runs `job` on the render pool; a full queue is [`RenderFailure::Overloaded`] at once.
    async fn on_pool<T, F>(&self, job: F) -> Result<T, RenderFailure>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.pool.run(job).await.map_err(|e| match e {
            PoolError::Full => RenderFailure::Overloaded,
            PoolError::Gone => RenderFailure::PoolGone,
        })
    }
}

/// The `token` query parameter, as sent (tokens are URL-safe; other parameters are ignored so a
/// CDN's cache-busting suffix does no harm). The first `token=` counts, even if empty.
fn token_param(uri: &Uri) -> Result<&str, HttpError> {
    let mut rest = uri.query().unwrap_or("");
    loop {
        // memchr's vectorised search: the token (~300 bytes) is usually the whole query, and
        // `str::split` scanned it a byte-word at a time (~450 instructions per request).
        let (pair, next) = match memchr::memchr(b'&', rest.as_bytes()) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some(token) = pair.strip_prefix("token=") {
            if !token.is_empty() {
                return Ok(token);
            }
            break;
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    Err(HttpError::BadRequest(
        "missing token: expected /qr-generator/v1?token=<jwt>",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;
    use crate::token::{ImageClaims, SigningKey};
    use http::HeaderValue;

    #[tokio::test]
    async fn only_tokens_whose_url_repeats_are_memoised() {
        let keyring = Keyring::new(vec![
            SigningKey::new("k", "memo-test-secret-0123456789-abcdefgh").unwrap(),
        ])
        .unwrap();
        let metrics = Metrics::new();
        let origin = Origin::new(1 << 20, 4, 16);
        let request = |content: &str, if_none_match: Option<&HeaderValue>| {
            let token = keyring.sign(&ImageClaims::new(content, Format::Svg, 100));
            let uri: Uri = format!("{PATH}?token={token}").parse().unwrap();
            let mut headers = HeaderMap::new();
            if let Some(tag) = if_none_match {
                headers.insert(http::header::IF_NONE_MATCH, tag.clone());
            }
            let origin = &origin;
            let (keyring, metrics) = (&keyring, &metrics);
            async move {
                let r = origin.handle(keyring, metrics, 0, &Method::GET, &uri, &headers);
                r.await.unwrap()
            }
        };
        // One-off URLs render and are not remembered.
        for i in 0..3 {
            assert_eq!(request(&format!("https://x/{i}"), None).await.status(), 200);
        }
        assert_eq!(origin.memo.len(), 0);
        // The same URL again: a cache hit, and now remembered; a third time uses the memo.
        request("https://x/0", None).await;
        assert_eq!(origin.memo.len(), 1);
        request("https://x/0", None).await;
        assert_eq!(origin.memo.len(), 1);
        // A revalidation (the client holds the image) also shows the URL repeats.
        let first = request("https://x/9", None).await;
        let tag = first.headers()[http::header::ETAG].clone();
        assert_eq!(origin.memo.len(), 1);
        let r = request("https://x/9", Some(&tag)).await;
        assert_eq!(r.status(), http::StatusCode::NOT_MODIFIED);
        assert_eq!(origin.memo.len(), 2);
    }

    #[test]
    fn token_param_is_found_among_others() {
        for (query, token) in [
            ("x=1&token=a.b.c&y", "a.b.c"),
            ("token=a.b.c", "a.b.c"),
            ("token=a.b.c&", "a.b.c"),
            ("&&token=t&token=u", "t"),
            ("xtoken=no&token=yes", "yes"),
        ] {
            let uri: Uri = format!("/qr-generator/v1?{query}").parse().unwrap();
            assert_eq!(token_param(&uri).unwrap(), token, "{query}");
        }
        for bad in [
            "/qr-generator/v1",
            "/qr-generator/v1?",
            "/qr-generator/v1?token=",
            "/qr-generator/v1?token=&token=later",
            "/qr-generator/v1?tok=a",
            "/qr-generator/v1?a&b&",
        ] {
            let uri: Uri = bad.parse().unwrap();
            assert!(token_param(&uri).is_err(), "{bad}");
        }
    }
}
