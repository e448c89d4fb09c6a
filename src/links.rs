//! Short links: `GET /r/{code}` (merchant redirect), `GET /p/{code}` (one-time payment),
//! `GET /c/{code}` (merchant-callback scan, [`Links::scan`]) and `GET /m/{beaconId}` (a scan of
//! a printed MobilePay beacon, [`Links::scan_beacon`]).
//!
//! A phone scanning a QR lands here; the answer is a `302` to the link's current target, or a
//! small `404` page once the link is deleted, expired or was never issued. Lookups go through an
//! in-process cache; the QR API writes every change through [`Links::remember`], so an update or
//! delete takes effect at once on this instance.
//!
//! With several instances sharing one PostgreSQL store, a write on one instance reaches the
//! others' caches through the store's change feed ([`Links::follow`]: `LISTEN/NOTIFY`), so an
//! update or delete is effective everywhere within a notification's latency, and a resolve stays
//! a cache hit. If the feed's connection drops, notifications may be lost, so on reconnect the
//! whole cache is flushed; [`CACHE_TTL`] remains the last-resort bound on staleness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::http::{Response, StatusCode};
use bytes::Bytes;
use http_body_util::Full;
use serde::Serialize;
use tokio::sync::Notify;

use crate::analytics::{Scans, Visit};
use crate::clock::SharedClock;
pub use crate::config::ShortLinkCase;
use crate::http;
use crate::secret::{RandomError, random_bytes, random_token};
use crate::store::{Change, Link, LinkKind, NewScan, Store, StoreError};
use crate::webhooks::CHECKED_IN_V1;

/// Characters of a short-link code: QR's alphanumeric mode holds `[0-9A-Z]` (and a few
/// marks) at 5.5 bits a character where byte mode takes 8, so a link that is upper case from
/// the host on ([`ShortLinkCase`]) is one alphanumeric segment after `https`.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Length of a code: 36^12 ≈ 2^62.0 possibilities, above the 60 bits unguessability is held to.
pub const CODE_LEN: usize = 12;
/// Length of the base62 codes (`[0-9A-Za-z]`, 62^10 ≈ 2^59.5) of links already printed, which
/// resolve for as long as their rows live.
const BASE62_CODE_LEN: usize = 10;
/// How long a cached lookup may be served before the store is asked again (see module docs).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Cached lookups kept at most; a row is a few hundred bytes.
const CACHE_ENTRIES: u64 = 100_000;
/// How long the customer token of a scan stays valid (as published: 15 minutes).
pub const CUSTOMER_TOKEN_TTL_MS: i64 = 15 * 60 * 1000;

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
            // 252 = 7 × 36: bytes at or above it would bias the first 0..=3 characters.
            if b < 252 && code.len() < CODE_LEN {
                code.push(char::from(ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    Ok(code)
}

/// Whether `code` could have been issued by [`new_code`], or is a base62 code of a link
/// already printed; anything else is a 404 without a store lookup.
pub fn is_well_formed(code: &str) -> bool {
    match code.len() {
        CODE_LEN => code.bytes().all(|b| ALPHABET.contains(&b)),
        BASE62_CODE_LEN => code.bytes().all(|b| b.is_ascii_alphanumeric()),
        _ => false,
    }
}

/// The path prefix of a kind's short links, as [`short_url`] writes it in `case`. Both cases
/// route (`/r/` and `/R/`): links printed either way resolve.
pub fn path_prefix(kind: LinkKind, case: ShortLinkCase) -> &'static str {
    let lower = case == ShortLinkCase::Lower;
    match kind {
        LinkKind::Redirect if lower => "/r/",
        LinkKind::Payment if lower => "/p/",
        LinkKind::Callback if lower => "/c/",
        LinkKind::Redirect => "/R/",
        LinkKind::Payment => "/P/",
        LinkKind::Callback => "/C/",
    }
}

/// Longest MobilePay beacon id accepted (printed beacon ids are 15 digits; UUIDs are 36).
pub const MAX_BEACON_ID_LEN: usize = 64;
/// Beacons are callback QRs whose code is derived from the printed id, not drawn: this prefix
/// keeps those codes apart from every drawn one (which are alphanumeric only), and one beacon id
/// is one code, so one merchant at a time holds a printed beacon.
const BEACON_CODE_PREFIX: &str = "beacon:";

/// The code under which the beacon `beacon_id` is stored; `None` when it is not a beacon id
/// (1–[`MAX_BEACON_ID_LEN`] of the URL-safe characters `A-Z a-z 0-9 - . _ ~`, so it sits in a
/// path as is).
pub fn beacon_code(beacon_id: &str) -> Option<String> {
    let ok = (1..=MAX_BEACON_ID_LEN).contains(&beacon_id.len())
        && beacon_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    ok.then(|| format!("{BEACON_CODE_PREFIX}{beacon_id}"))
}

/// The absolute short link a QR encodes, e.g. `https://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB` (the
/// default [`ShortLinkCase::Host`]), or for a beacon `https://qr.example.com/m/{beaconId}`
/// (its id is printed by MobilePay, so its link keeps the configured form).
pub fn short_url(public_url: &str, case: ShortLinkCase, kind: LinkKind, code: &str) -> String {
    let base = public_url.trim_end_matches('/');
    if let Some(beacon_id) = code.strip_prefix(BEACON_CODE_PREFIX) {
        return format!("{base}/m/{beacon_id}");
    }
    let prefix = path_prefix(kind, case);
    let Some((scheme, rest)) = base
        .split_once("://")
        .filter(|_| case != ShortLinkCase::Lower)
    else {
        return format!("{base}{prefix}{code}");
    };
    // DNS names and the scheme are case-insensitive; a path the base URL has (a proxy's
    // prefix) may not be, so it stays as configured.
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let scheme = match case {
        ShortLinkCase::Upper => scheme.to_ascii_uppercase(),
        _ => scheme.to_owned(),
    };
    format!(
        "{scheme}://{}{path}{prefix}{code}",
        authority.to_ascii_uppercase()
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
    /// Signalled after a scan stored outbox events, so the delivery worker starts at once
    /// instead of at its next poll.
    outbox: Arc<Notify>,
    /// Scan analytics (`--scan-counting on`): told of every answered scan that has a visit.
    scans: Option<Arc<Scans>>,
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
            outbox: Arc::new(Notify::new()),
            scans: None,
        }
    }

    /// Counts the scans answered from now on in `scans`.
    pub fn with_scans(mut self, scans: Arc<Scans>) -> Links {
        self.scans = Some(scans);
        self
    }

    /// Tells the scan counter of an answered scan (a `GET`: the router passes no visit for
    /// `HEAD`).
    fn count(&self, link: &Link, visit: Option<&Visit<'_>>) {
        if let (Some(scans), Some(visit)) = (&self.scans, visit) {
            scans.record(link, visit);
        }
    }

    /// What [`Links::scan`] signals after enqueuing webhook events; the delivery worker waits
    /// on it.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox)
    }

    /// Records the current state of a link just written to the store (created, retargeted or
    /// deleted), so this instance answers with it from now on.
    pub async fn remember(&self, link: &Link) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.cache
            .insert(link.code.clone(), Some(Arc::new(link.clone())))
            .await;
    }

    /// Drops a link another instance changed; the next lookup reads the store. Counts as a
    /// write, so a fill that read the row before the change re-reads it.
    pub async fn forget(&self, code: &str) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(code).await;
    }

    /// Drops every cached link (notifications may have been missed).
    pub fn forget_all(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    /// Applies other instances' changes until `stop`: a changed link leaves the cache, new
    /// outbox events wake the delivery worker, and a resync (the feed reconnected, or this
    /// task fell behind) flushes the cache and wakes the worker.
    pub async fn follow(
        self: Arc<Self>,
        mut feed: tokio::sync::broadcast::Receiver<Change>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        use tokio::sync::broadcast::error::RecvError;
        let mut stop = std::pin::pin!(stop);
        loop {
            let change = tokio::select! {
                () = &mut stop => return,
                c = feed.recv() => c,
            };
            match change {
                Ok(Change::Link(code)) => self.forget(&code).await,
                Ok(Change::Outbox) => self.outbox.notify_one(),
                Ok(Change::Resync) | Err(RecvError::Lagged(_)) => {
                    self.forget_all();
                    self.outbox.notify_one();
                }
                Err(RecvError::Closed) => return,
            }
        }
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
        self.lookup(kind, code).await
    }

    /// [`Links::resolve`] for any stored code (beacon codes included), without the shape check.
    async fn lookup(&self, kind: LinkKind, code: &str) -> Result<Option<Arc<Link>>, StoreError> {
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

    /// Answers `GET /r/{code}` or `GET /p/{code}`, uncounted.
    pub async fn respond(&self, kind: LinkKind, code: &str) -> Response<Full<Bytes>> {
        self.respond_to(kind, code, None).await
    }

    /// [`Links::respond`], counting a redirect as a scan of `visit`.
    pub async fn respond_to(
        &self,
        kind: LinkKind,
        code: &str,
        visit: Option<&Visit<'_>>,
    ) -> Response<Full<Bytes>> {
        match self.resolve(kind, code).await {
            Ok(Some(link)) => match link.target.as_deref() {
                Some(target) => {
                    self.count(&link, visit);
                    redirect(target)
                }
                None => not_found(),
            },
            Ok(None) => not_found(),
            Err(e) => {
                tracing::error!(error = %e, "short-link lookup failed");
                unavailable()
            }
        }
    }
}

/// The `user.checked-in.v1` body, in the published field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckedIn<'a> {
    customer_token: &'a str,
    merchant_qr_id: &'a str,
    msn: &'a str,
    initiated_at: &'a str,
}

impl Links {
    /// Answers `GET /c/{code}`: records the scan and, in the same store transaction, one
    /// `user.checked-in.v1` event per webhook of the merchant registered for it; only once
    /// that is durable does the phone get its page ("the merchant has been notified").
    /// Unknown or deleted codes get the 404 page and write nothing.
    pub async fn scan(&self, code: &str) -> Response<Full<Bytes>> {
        self.scan_to(code, None).await
    }

    /// [`Links::scan`], counting a check-in as a scan of `visit`.
    pub async fn scan_to(&self, code: &str, visit: Option<&Visit<'_>>) -> Response<Full<Bytes>> {
        if !is_well_formed(code) {
            return not_found();
        }
        self.scan_code(code, visit).await
    }

    /// Answers `GET /m/{beaconId}`: a scan of a printed MobilePay beacon mapped to a merchant
    /// (`PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`), through the same pipeline as
    /// [`Links::scan`]; the event's `merchantQrId` is the beacon id.
    pub async fn scan_beacon(
        &self,
        beacon_id: &str,
        visit: Option<&Visit<'_>>,
    ) -> Response<Full<Bytes>> {
        match beacon_code(beacon_id) {
            Some(code) => self.scan_code(&code, visit).await,
            None => not_found(),
        }
    }

    async fn scan_code(&self, code: &str, visit: Option<&Visit<'_>>) -> Response<Full<Bytes>> {
        match self.record_scan(code, visit).await {
            Ok(Some(description)) => notified(&description),
            Ok(None) => not_found(),
            Err(e) => {
                tracing::error!(error = %e, "recording a callback scan failed");
                unavailable()
            }
        }
    }

    /// The location description of the scanned QR, or `None` when it is not a live callback QR.
    async fn record_scan(
        &self,
        code: &str,
        visit: Option<&Visit<'_>>,
    ) -> Result<Option<String>, ScanError> {
        // The cache turns a flood of made-up or dead codes away without a store write.
        let Some(link) = self.lookup(LinkKind::Callback, code).await? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        let token = random_token()?;
        let initiated_at = rfc3339_7(now);
        let body = serde_json::to_string(&CheckedIn {
            customer_token: &token,
            merchant_qr_id: link.qr_id.as_deref().unwrap_or_default(),
            msn: &link.msn,
            initiated_at: &initiated_at,
        })
        .expect("a struct of strings always serialises");
        let scan = NewScan {
            code: link.code.clone(),
            customer_token: token,
            scanned_at_ms: now,
            expires_at_ms: now + CUSTOMER_TOKEN_TTL_MS,
            event: CHECKED_IN_V1.to_owned(),
            body,
        };
        // The store checks liveness again inside its transaction: a delete that raced past
        // the cache still wins.
        let Some(recorded) = self.store.record_scan(&scan).await? else {
            return Ok(None);
        };
        if recorded.enqueued > 0 {
            self.outbox.notify_one();
        }
        self.count(&link, visit);
        Ok(Some(recorded.qr.location_description))
    }
}

/// Why a scan could not be recorded (the phone sees a 503 and can try again).
#[derive(Debug, thiserror::Error)]
enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// `2026-11-22T10:45:40.3060000Z`: UTC with 7 fractional digits, the published `initiatedAt`
/// shape. The clock has millisecond resolution, so the last four digits are zeros.
pub fn rfc3339_7(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::clock::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}0000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        frac
    )
}

/// The page a phone sees after a successful scan.
fn notified(location_description: &str) -> Response<Full<Bytes>> {
    // SECURITY: the description is merchant input; escaped, and the CSP forbids scripts anyway.
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>The merchant has been notified</title></head>\n<body><h1>The merchant has been notified</h1>\
<p>{}</p><p>Please wait for the payment request in your app.</p></body></html>\n",
        http::escape_markup(location_description)
    );
    http::html(StatusCode::OK, page)
}

fn redirect(target: &str) -> Response<Full<Bytes>> {
    // Targets were validated as https URLs of printable ASCII when stored, so they are valid
    // header values; the fallback only guards against a hand-edited database.
    http::found(target).unwrap_or_else(not_found)
}

fn not_found() -> Response<Full<Bytes>> {
    http::html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE)
}

/// A `503` with `Retry-After`: the store failed (the database is down, most likely).
fn unavailable() -> Response<Full<Bytes>> {
    let mut res = http::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable, try again\n",
    );
    res.headers_mut().insert(
        ::http::header::RETRY_AFTER,
        ::http::HeaderValue::from_static(crate::store::RETRY_AFTER_SECS),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::store::sqlite::SqliteStore;
    use crate::store::testing::conformance::{
        callback, merchant, redirect as new_redirect, webhook,
    };
    use ::http::header;
    use http_body_util::BodyExt;

    async fn page(res: Response<Full<Bytes>>) -> String {
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn initiated_at_has_seven_fraction_digits_in_utc() {
        assert_eq!(rfc3339_7(0), "1970-01-01T00:00:00.0000000Z");
        // 2026-11-22T10:45:40.306Z
        assert_eq!(rfc3339_7(1_795_344_340_306), "2026-11-22T10:45:40.3060000Z");
        // A leap day and the last millisecond of a year.
        assert_eq!(rfc3339_7(951_782_400_000), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(rfc3339_7(1_735_689_599_999), "2024-12-31T23:59:59.9990000Z");
    }

    /// A fresh embedded store with merchant `123456`, a manual clock at `now_ms`, and the
    /// short links over them; the directory lives as long as the returned guard.
    async fn with_merchant(
        now_ms: i64,
    ) -> (tempfile::TempDir, Arc<dyn Store>, Arc<ManualClock>, Links) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
        let clock = Arc::new(ManualClock::new(now_ms));
        let links = Links::new(Arc::clone(&store), clock.clone());
        store
            .add_merchant(&merchant("123456"))
            .await
            .expect("merchant");
        (dir, store, clock, links)
    }

    #[tokio::test]
    async fn a_scan_stores_one_event_per_webhook_before_answering() {
        let (_dir, store, clock, links) = with_merchant(1_795_344_340_306).await;
        store
            .add_webhook(&webhook("123456", "hook-1"), 25)
            .await
            .expect("webhook");
        let mut qr = callback("123456", "kiosk 1", "CbCode0001");
        qr.location_description = "<b>Kiosk</b> & co".into();
        store.put_callback_qr(&qr, 1_000).await.expect("qr");
        let signal = links.outbox_signal();

        let res = links.scan("CbCode0001").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body = page(res).await;
        assert!(body.contains("merchant has been notified"), "{body}");
        assert!(body.contains("&lt;b&gt;Kiosk&lt;/b&gt; &amp; co"), "{body}");
        assert!(!body.contains("<b>Kiosk"), "escaped");
        // The worker was woken (a stored permit makes this return at once).
        signal.notified().await;

        let events = store.outbox_events("hook-1").await.expect("outbox");
        assert_eq!(events.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&events[0].body).expect("json");
        let keys: Vec<_> = v.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(v["merchantQrId"], "kiosk 1");
        assert_eq!(v["msn"], "123456");
        assert_eq!(v["initiatedAt"], "2026-11-22T10:45:40.3060000Z");
        let token = v["customerToken"].as_str().expect("token");
        assert!(token.len() >= 43, "{token}");
        let scan = store
            .scan_by_token(token, clock.now_ms() + CUSTOMER_TOKEN_TTL_MS - 1)
            .await
            .expect("read")
            .expect("valid for 15 minutes");
        assert_eq!(scan.code, "CbCode0001");
        assert_eq!(
            store
                .scan_by_token(token, clock.now_ms() + CUSTOMER_TOKEN_TTL_MS)
                .await
                .expect("read"),
            None
        );

        // A second scan gets its own token.
        links.scan("CbCode0001").await;
        let events = store.outbox_events("hook-1").await.expect("outbox");
        assert_eq!(events.len(), 2);
        assert_ne!(events[0].body, events[1].body);
    }

    #[tokio::test]
    async fn dead_and_foreign_codes_get_the_404_page_and_no_event() {
        let (_dir, store, _clock, links) = with_merchant(5_000).await;
        store
            .add_webhook(&webhook("123456", "hook-1"), 25)
            .await
            .expect("webhook");
        store
            .put_callback_qr(&callback("123456", "gone", "CbCode0002"), 1_000)
            .await
            .expect("qr");
        store
            .create_link(&new_redirect("123456", "sign", "RdCode0001"), 1_000)
            .await
            .expect("redirect");
        assert_eq!(links.scan("CbCode0002").await.status(), StatusCode::OK);
        let gone = store
            .delete_link("123456", LinkKind::Callback, "gone", 6_000)
            .await
            .expect("delete")
            .expect("found");
        links.remember(&gone).await;
        for code in ["CbCode0002", "RdCode0001", "Unknown123", "bad"] {
            let res = links.scan(code).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{code}");
            assert!(page(res).await.contains("not found"), "{code}");
        }
        assert_eq!(
            store.outbox_events("hook-1").await.expect("outbox").len(),
            1,
            "only the scan before the delete"
        );
    }

    #[test]
    fn codes_are_twelve_alphanumeric_chars_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let c = new_code().expect("rng");
            assert!(is_well_formed(&c), "{c}");
            assert_eq!(c.len(), 12);
            assert!(
                c.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "{c}"
            );
            assert!(seen.insert(c), "a repeated code in 1000 draws");
        }
    }

    #[test]
    fn malformed_codes_are_rejected() {
        for bad in [
            "",
            "short",
            "ABCDEFGHIJK",
            "ABCDE-GHIJ",
            "ABCDEFGHIæ",
            "ABCDEFGHIJKl",
            "ABCDEFGHIJKLM",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
        // Printed base62 codes and the alphanumeric ones both resolve.
        assert!(is_well_formed("AbCdEfGhIj") && is_well_formed("7K2D9QX4M1ZB"));
    }

    #[test]
    fn short_urls_join_without_double_slashes() {
        assert_eq!(
            short_url(
                "https://qr.example.com/",
                ShortLinkCase::Lower,
                LinkKind::Payment,
                "AbCdEfGhIj"
            ),
            "https://qr.example.com/p/AbCdEfGhIj"
        );
    }

    #[test]
    fn short_urls_in_each_case() {
        let url = |case, base| short_url(base, case, LinkKind::Redirect, "7K2D9QX4M1ZB");
        let base = "https://qr.example.com";
        assert_eq!(
            url(ShortLinkCase::Host, base),
            "https://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB"
        );
        assert_eq!(
            url(ShortLinkCase::Upper, base),
            "HTTPS://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB"
        );
        assert_eq!(
            url(ShortLinkCase::Lower, base),
            "https://qr.example.com/r/7K2D9QX4M1ZB"
        );
        // A proxy's path prefix keeps its case; a port goes along with the host.
        assert_eq!(
            url(ShortLinkCase::Upper, "https://pay.example:8443/qr/"),
            "HTTPS://PAY.EXAMPLE:8443/qr/R/7K2D9QX4M1ZB"
        );
        // Everything after the scheme is in QR's alphanumeric set.
        let link = url(ShortLinkCase::Host, base);
        assert!(
            link["https".len()..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b":/.".contains(&b))
        );
    }

    #[tokio::test]
    async fn redirects_until_deleted_and_sees_writes_at_once() {
        let (_dir, store, _clock, links) = with_merchant(5_000).await;
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
                &crate::store::StyleChange::Keep,
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
        let (_dir, store, clock, links) = with_merchant(1_000).await;
        let mut new = new_redirect("123456", "pay", "PayCode001");
        new.kind = LinkKind::Payment;
        new.qr_id = None;
        new.expires_at_ms = Some(601_000);
        store.create_link(&new, 1_000).await.expect("link");

        let links = &links;
        let status = move |code: &'static str| async move {
            links.respond(LinkKind::Payment, code).await.status()
        };
        assert_eq!(status("PayCode001").await, StatusCode::FOUND);
        clock.set_ms(600_999);
        assert_eq!(status("PayCode001").await, StatusCode::FOUND);
        clock.set_ms(601_000);
        assert_eq!(status("PayCode001").await, StatusCode::NOT_FOUND);
        assert_eq!(status("Unknown123").await, StatusCode::NOT_FOUND);
    }
}
