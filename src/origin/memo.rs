//! Tokens already verified, so a repeated image URL skips the MAC, the base64 and JSON decoding
//! and the ETag hash.
//!
//! Behind a CDN most origin requests repeat a URL (a viral QR, a revalidation); profiling the
//! cache-hit load test put token verification plus the ETag at about a third of the origin's own
//! CPU time per hit. The memo maps the exact token text to what verifying it produced.
//!
//! SECURITY: an entry is made only after [`crate::token::Keyring::verify`] accepted the token, and
//! is found only by the byte-identical token, so it answers exactly what verifying again would
//! (the key ring never changes while the process runs), except for the time window, which
//! [`Validity::check`] checks on every use. The map's hasher is randomly seeded and
//! reads only a token's length and last [`HASHED_TAIL`] bytes, which lie in its HMAC signature:
//! only tokens that verified are ever stored, and no one without the key can choose their
//! signatures, so lookups stay spread over the buckets.
//!
//! Bounded by two generations of at most [`GENERATION`] entries: a lookup that finds a token in
//! the older generation moves it to the current one; when the current one is full, the older one
//! is dropped and the current one takes its place. Recently used tokens stay, the rest age out,
//! and every operation is O(1).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use http::HeaderValue;

use super::cache::CachedImage;
use super::key::{FoldHasher, RenderKey, SeededFold};
use super::response;
use crate::token::{ImageClaims, Validity};

/// Entries per generation. A memo entry is the token (~300 bytes), the content and the ETag:
/// 16 384 × 2 generations × ~1 KB bounds the memo at about 32 MB.
pub const GENERATION: usize = 16 * 1024;

/// A memoised token's cache lookup goes to the image cache once in this many hits; the others
/// use the image it found last ([`Verified::recent_image`]). A moka read (hash, segment lookup,
/// read-log entry, maintenance check) was ~1 000 instructions of a ~17 500-instruction cache
/// hit on the release server (callgrind); the one read in eight keeps the entry's frequency and
/// recency in moka's eviction policy well above those of a one-off image.
const CACHE_READ_EVERY: u32 = 8;

/// What verifying a token yields that a response needs.
#[derive(Debug)]
pub struct Verified {
    /// Checked again on every use; `exp` also bounds the `Cache-Control` lifetime.
    pub validity: Validity,
    pub key: RenderKey,
    pub etag: HeaderValue,
    /// The image a cache lookup for `key` found last: weak, so an image the cache evicted is
    /// freed as before (and found gone here) instead of living on in the memo.
    image: Mutex<Weak<CachedImage>>,
    lookups: AtomicU32,
}

impl Verified {
    /// Derives the render key and ETag of verified claims (the content moves into the key).
    pub fn new(claims: ImageClaims) -> Verified {
        let validity = claims.validity();
        let opts = claims.render_options();
        let key = RenderKey::new(claims.url, opts);
        let etag = response::etag(&key);
        Verified {
            validity,
            key,
            etag,
            image: Mutex::new(Weak::new()),
            lookups: AtomicU32::new(0),
        }
    }

    /// The image of `key` as last found in the cache, if it is still cached and this is not
    /// the lookup in [`CACHE_READ_EVERY`] that must ask the cache itself.
    pub fn recent_image(&self) -> Option<Arc<CachedImage>> {
        if self
            .lookups
            .fetch_add(1, Relaxed)
            .is_multiple_of(CACHE_READ_EVERY)
        {
            return None;
        }
        self.image
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade()
    }

    /// Remembers the image the cache holds for `key`.
    pub fn found_image(&self, image: &Arc<CachedImage>) {
        *self.image.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(image);
    }
}

/// Bytes of a token's end that its hash reads: 96 bits of the signature.
const HASHED_TAIL: usize = 16;

/// [`SeededFold`] over a key's length and last [`HASHED_TAIL`] bytes. A token is about 300
/// bytes, and hashing all of it was the larger part of a memo lookup on the cache-hit path.
/// Equal strings have equal tails, so this agrees with `Eq` (which still compares all bytes).
#[derive(Debug, Default, Clone)]
struct TailHash(SeededFold);

struct TailHasher(FoldHasher);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;
    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0
            .write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
    }
    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

type Generation = HashMap<Box<str>, Arc<Verified>, TailHash>;

#[derive(Debug, Default)]
struct Generations {
    current: Generation,
    older: Generation,
}

/// The memo of verified tokens.
#[derive(Debug)]
pub struct TokenMemo {
    generations: Mutex<Generations>,
    per_generation: usize,
}

impl Default for TokenMemo {
    fn default() -> TokenMemo {
        TokenMemo::with_generation(GENERATION)
    }
}

impl TokenMemo {
    pub fn with_generation(per_generation: usize) -> TokenMemo {
        TokenMemo {
            generations: Mutex::new(Generations::default()),
            per_generation: per_generation.max(1),
        }
    }

    /// The verification of `token`, if this exact token was verified before and not yet aged out.
    /// The caller still checks the time window.
    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let mut g = self.lock();
        if let Some(v) = g.current.get(token) {
            return Some(Arc::clone(v));
        }
        let (token, v) = g.older.remove_entry(token)?;
        let found = Arc::clone(&v);
        let retired = self.insert_locked(&mut g, token, v);
        drop(g);
        drop(retired);
        Some(found)
    }

    /// Remembers a token that has just been verified.
    pub fn insert(&self, token: &str, verified: Arc<Verified>) {
        let mut g = self.lock();
        let retired = self.insert_locked(&mut g, token.into(), verified);
        // Freeing a whole generation takes a while; other lookups need not wait for it.
        drop(g);
        drop(retired);
    }

    /// Entries held (both generations).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.older.len()
    }

    /// Inserts; returns the generation that aged out, if any, for the caller to drop unlocked.
    fn insert_locked(
        &self,
        g: &mut Generations,
        token: Box<str>,
        v: Arc<Verified>,
    ) -> Option<Generation> {
        let retired = (g.current.len() >= self.per_generation)
            .then(|| std::mem::replace(&mut g.older, std::mem::take(&mut g.current)));
        g.current.insert(token, v);
        retired
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters (at worst an entry is missing), so a poisoned lock is used as is.
        self.generations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;

    fn verified(i: usize) -> Arc<Verified> {
        Arc::new(Verified::new(ImageClaims::new(
            format!("https://x/{i}"),
            Format::Png,
            800,
        )))
    }

    #[test]
    fn recent_image_skips_the_cache_but_never_keeps_an_evicted_image() {
        let v = verified(1);
        let image = Arc::new(CachedImage {
            bytes: bytes::Bytes::from_static(b"png"),
            content_type: "image/png",
            head: http::HeaderMap::new(),
        });
        // Nothing found yet: every lookup goes to the cache.
        assert!((0..3).all(|_| v.recent_image().is_none()));
        v.found_image(&image);
        let found: Vec<bool> = (0..16).map(|_| v.recent_image().is_some()).collect();
        // One lookup in CACHE_READ_EVERY still asks the cache.
        assert_eq!(found.iter().filter(|&&f| !f).count(), 2, "{found:?}");
        // Evicted (the cache dropped it, no response holds it): gone here too.
        drop(image);
        assert!((0..16).all(|_| v.recent_image().is_none()));
    }

    #[test]
    fn finds_only_the_exact_token() {
        let memo = TokenMemo::default();
        memo.insert("a.b.c", verified(1));
        assert_eq!(
            memo.get("a.b.c").expect("found").key.content(),
            "https://x/1"
        );
        assert!(memo.get("a.b.C").is_none());
        assert!(memo.get("a.b.c ").is_none());
        assert!(memo.get("a.b").is_none());
        // Differing only before the hashed tail.
        let tail = ".".repeat(2 * HASHED_TAIL);
        memo.insert(&format!("x{tail}"), verified(2));
        memo.insert(&format!("y{tail}"), verified(3));
        let found = |t: &str| memo.get(t).map(|v| v.key.content().to_string());
        assert_eq!(found(&format!("x{tail}")).as_deref(), Some("https://x/2"));
        assert_eq!(found(&format!("y{tail}")).as_deref(), Some("https://x/3"));
        assert_eq!(found(&format!("z{tail}")), None);
    }

    #[test]
    fn stays_within_two_generations_and_keeps_what_is_used() {
        let memo = TokenMemo::with_generation(4);
        for i in 0..4 {
            memo.insert(&format!("t{i}"), verified(i));
        }
        // The fifth insert starts a new generation; t0..t3 become the older one.
        memo.insert("t4", verified(4));
        assert_eq!(memo.len(), 5);
        // Using t0 moves it into the current generation.
        assert!(memo.get("t0").is_some());
        for i in 5..7 {
            memo.insert(&format!("t{i}"), verified(i));
        }
        // The current generation (t4, t0, t5, t6) is full: the next insert drops t1..t3.
        memo.insert("t7", verified(7));
        assert!(memo.len() <= 8, "bounded by two generations");
        assert!(memo.get("t0").is_some(), "recently used");
        assert!(memo.get("t1").is_none(), "aged out");
        for i in 0..10_000 {
            memo.insert(&format!("flood{i}"), verified(i));
        }
        assert!(memo.len() <= 8, "a flood of tokens stays bounded");
    }
}
