//! Short links: `GET /r/{code}` (merchant redirect) and `GET /p/{code}` (one-time payment).
//!
//! A phone scanning a QR lands here; the answer is a `302` to the link's current target, or a
//! small `404` page once the link is deleted, expired or was never issued. Lookups go through an
//! in-process cache; the QR API writes every change through [`Links::remember`], so an update or
//! delete takes effect at once on this instance.
//!
//! With several instances sharing one PostgreSQL store, another instance's cached copy can be
//! up to [`CACHE_TTL`] old; that bound is why the cache has a TTL at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

use crate::clock::SharedClock;
use crate::secret::{RandomError, random_bytes};
use crate::store::{Link, LinkKind, Store, StoreError};

/// Characters of a short-link code.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of a code: 62^10 ≈ 2^59.5 possibilities, well above the 48 bits unguessability needs.
pub const CODE_LEN: usize = 10;
/// How long a cached lookup may be served before the store is asked again (see module docs).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Cached lookups kept at most; a row is a few hundred bytes.
const CACHE_ENTRIES: u64 = 100_000;

/// The page phones see for a dead or unknown code.
const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>QR code not found</title></head>\n<body><h1>QR code not found</h1>\
<p>This QR code has expired or been removed. Ask the merchant for a new one.</p></body></html>\n";

/// A fresh random code (uniform over [`ALPHABET`], by rejection sampling).
pub fn new_code() -> Result<String, RandomError> {
    let mut code = String::with_capacity(CODE_LEN);
    while code.len() < CODE_LEN {
        for b in random_bytes::<16>()? {
            // 248 = 4 × 62: bytes at or above it would bias the first 8 characters.
            if b < 248 && code.len() < CODE_LEN {
                code.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(code)
}

/// Whether `code` could have been issued by [`new_code`]; anything else is a 404 without a
/// store lookup.
pub fn is_well_formed(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The path prefix of a kind's short links.
pub fn path_prefix(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Redirect => "/r/",
        LinkKind::Payment => "/p/",
        LinkKind::Callback => "/c/",
    }
}

/// The absolute short link a QR encodes, e.g. `https://qr.example.com/r/DI5bjNA0xY`.
pub fn short_url(public_url: &str, kind: LinkKind, code: &str) -> String {
    format!(
        "{}{}{code}",
        public_url.trim_end_matches('/'),
        path_prefix(kind)
    )
}

/// Resolves codes to links, through the cache.
#[derive(Debug)]
pub struct Links {
    store: Arc<dyn Store>,
    clock: SharedClock,
    /// `None` remembers "no such code" too, so a flood of made-up codes costs one lookup each
    /// per TTL rather than one per request.
    cache: moka::future::Cache<String, Option<Arc<Link>>>,
    /// Bumped by every [`Links::remember`] after the store write and before the cache write. A
    /// cache fill re-reads the store when it moved during the read, so a fill that raced a
    /// write can never put the pre-write row back over the writer's.
    writes: Arc<AtomicU64>,
}

impl Links {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock) -> Links {
        Links {
            store,
            clock,
            cache: moka::future::Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(CACHE_TTL)
                .build(),
            writes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records the current state of a link just written to the store (created, retargeted or
    /// deleted), so this instance answers with it from now on.
    pub async fn remember(&self, link: &Link) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.cache
            .insert(link.code.clone(), Some(Arc::new(link.clone())))
            .await;
    }

    /// The live link of this kind with this code, if any. Concurrent misses on one code share
    /// one store lookup.
    pub async fn resolve(
        &self,
        kind: LinkKind,
        code: &str,
    ) -> Result<Option<Arc<Link>>, StoreError> {
        if !is_well_formed(code) {
            return Ok(None);
        }
        let store = Arc::clone(&self.store);
        let writes = Arc::clone(&self.writes);
        let key = code.to_owned();
        let found = self
            .cache
            .try_get_with(key.clone(), async move {
                // Bounded, so a storm of API writes cannot pin a scan here; the last read is
                // then at worst CACHE_TTL stale.
                let mut row = None;
                for _ in 0..8 {
                    let before = writes.load(Ordering::SeqCst);
                    row = store.link_by_code(&key).await?;
                    if writes.load(Ordering::SeqCst) == before {
                        break;
                    }
                }
                Ok::<_, StoreError>(row.map(Arc::new))
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let now = self.clock.now_ms();
        Ok(found.filter(|l| l.kind == kind && l.is_live(now)))
    }

    /// Answers `GET /r/{code}` or `GET /p/{code}`.
    pub async fn respond(&self, kind: LinkKind, code: &str) -> Response<Full<Bytes>> {
        match self.resolve(kind, code).await {
            Ok(Some(link)) => match link.target.as_deref() {
                Some(target) => redirect(target),
                None => not_found(),
            },
            Ok(None) => not_found(),
            Err(e) => {
                tracing::error!(error = %e, "short-link lookup failed");
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable, try again\n",
                )
            }
        }
    }
}

fn redirect(target: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::FOUND;
    // Targets were validated as https URLs of printable ASCII when stored, so they are valid
    // header values; the fallback only guards against a hand-edited database.
    match header::HeaderValue::from_str(target) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => return not_found(),
    }
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

fn not_found() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(NOT_FOUND_PAGE.as_bytes())));
    *res.status_mut() = StatusCode::NOT_FOUND;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::conformance::{merchant, redirect as new_redirect};
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn codes_are_ten_base62_chars_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let c = new_code().expect("rng");
            assert!(is_well_formed(&c), "{c}");
            assert!(seen.insert(c), "a repeated code in 1000 draws");
        }
    }

    #[test]
    fn malformed_codes_are_rejected() {
        for bad in ["", "short", "ABCDEFGHIJK", "ABCDE-GHIJ", "ABCDEFGHIæ"] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn short_urls_join_without_double_slashes() {
        assert_eq!(
            short_url("https://qr.example.com/", LinkKind::Payment, "AbCdEfGhIj"),
            "https://qr.example.com/p/AbCdEfGhIj"
        );
    }

    #[tokio::test]
    async fn redirects_until_deleted_and_sees_writes_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
        let clock = Arc::new(ManualClock::new(5_000));
        let links = Links::new(Arc::clone(&store), clock.clone());
        store
            .add_merchant(&merchant("123456"))
            .await
            .expect("merchant");
        let link = store
            .create_link(&new_redirect("123456", "sign", "AbCdEfGhIj"), 5_000)
            .await
            .expect("link");
        links.remember(&link).await;

        let res = links.respond(LinkKind::Redirect, "AbCdEfGhIj").await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://example.com/AbCdEfGhIj"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            links
                .respond(LinkKind::Payment, "AbCdEfGhIj")
                .await
                .status(),
            StatusCode::NOT_FOUND,
            "a redirect code is not a payment code"
        );

        let moved = store
            .set_link_target(
                "123456",
                LinkKind::Redirect,
                "sign",
                "https://example.com/new",
                6_000,
            )
            .await
            .expect("update")
            .expect("found");
        links.remember(&moved).await;
        let res = links.respond(LinkKind::Redirect, "AbCdEfGhIj").await;
        assert_eq!(res.headers()[header::LOCATION], "https://example.com/new");

        let gone = store
            .delete_link("123456", LinkKind::Redirect, "sign", 7_000)
            .await
            .expect("delete")
            .expect("found");
        links.remember(&gone).await;
        let res = links.respond(LinkKind::Redirect, "AbCdEfGhIj").await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[tokio::test]
    async fn cached_links_still_expire_on_the_clock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
        let clock = Arc::new(ManualClock::new(1_000));
        let links = Links::new(Arc::clone(&store), clock.clone());
        store
            .add_merchant(&merchant("123456"))
            .await
            .expect("merchant");
        let mut new = new_redirect("123456", "pay", "PayCode001");
        new.kind = LinkKind::Payment;
        new.qr_id = None;
        new.expires_at_ms = Some(601_000);
        store.create_link(&new, 1_000).await.expect("link");

        assert_eq!(
            links
                .respond(LinkKind::Payment, "PayCode001")
                .await
                .status(),
            StatusCode::FOUND
        );
        clock.set_ms(600_999);
        assert_eq!(
            links
                .respond(LinkKind::Payment, "PayCode001")
                .await
                .status(),
            StatusCode::FOUND
        );
        clock.set_ms(601_000);
        assert_eq!(
            links
                .respond(LinkKind::Payment, "PayCode001")
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            links
                .respond(LinkKind::Payment, "Unknown123")
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
}
