//! Scan analytics: every scan of a merchant-redirect or merchant-callback QR is counted in
//! memory here ([`Scans::record`], called by `links` after it answered the phone) and added to
//! the store every `--scan-flush` ([`Scans::run`]); what the API reads back is shaped in
//! [`series`] and drawn in [`chart`].
//!
//! # Cost and durability
//! A scan costs a User-Agent classification ([`agent`]), one keyed hash and one short mutex;
//! never a store call, so a slow or absent store never delays a redirect. A flush is one store
//! transaction of additive upserts, so any number of instances add up. `kill -9` loses at most
//! the window since the last flush; on SIGTERM the server flushes after its drain.
//!
//! # Bounded memory
//! Pending entries (one per code and hour, one per visitor and day) are capped: at half the cap
//! a flush starts early; at the cap (the store is down or slower than the scans) new scans are
//! dropped and counted in `qr_origin_scans_dropped_total`. A failed flush puts its entries back
//! under the same cap, so an outage keeps counting until the cap and loses only beyond it.
//!
//! # Privacy
//! A visitor is a SipHash of (client address, User-Agent, code) under the day's random key,
//! which the instances share through the store and which is deleted once the day is over, with
//! the day's hashes (the method Plausible Analytics documents). No address, User-Agent or
//! cookie is stored, and without the key a hash cannot be linked to an address.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hasher as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use siphasher::sip::SipHasher13;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::scans::ScanSettings;
use crate::metrics;
use crate::store::scans::{DAY_MS, DayVisitors, HOUR_MS, HourScans, ScanBatch, ScanCounts};
use crate::store::{Link, LinkKind, Store};

pub mod agent;
pub mod chart;
pub mod client;
pub mod series;

use agent::{Agents, Platform};

/// What a scan's request says about who scanned: its client address and User-Agent.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub client: IpAddr,
    /// The `User-Agent` header's bytes (empty without one).
    pub user_agent: &'a [u8],
}

impl<'a> Visit<'a> {
    /// The visit of a request from `peer`, with `--trusted-proxy` applied.
    pub fn of(
        peer: IpAddr,
        headers: &'a http::HeaderMap,
        trusted: &[crate::config::scans::Cidr],
    ) -> Visit<'a> {
        Visit {
            client: client::client_ip(peer, headers, trusted),
            user_agent: headers
                .get(http::header::USER_AGENT)
                .map_or(&[][..], |v| v.as_bytes()),
        }
    }
}

/// Counters `/metrics` exports (from start-up, at 0).
#[derive(Debug, Default)]
pub struct ScanStats {
    /// By [`Platform`], in [`Platform::ALL`] order.
    scans: [AtomicU64; 3],
    bots: [AtomicU64; 3],
    dropped: AtomicU64,
    flush_failures: AtomicU64,
}

impl ScanStats {
    pub fn encode(&self, out: &mut String) {
        use std::fmt::Write as _;
        for (name, help, values) in [
            (
                "qr_origin_scans_total",
                "Scans of dynamic QRs by people, by platform.",
                &self.scans,
            ),
            (
                "qr_origin_scan_bots_total",
                "Scans of dynamic QRs by link previewers and crawlers, by platform.",
                &self.bots,
            ),
        ] {
            metrics::family(out, name, "counter", help);
            for (p, n) in Platform::ALL.iter().zip(values) {
                let _ = writeln!(
                    out,
                    "{name}{{platform=\"{}\"}} {}",
                    p.as_str(),
                    n.load(Relaxed)
                );
            }
        }
        metrics::single(
            out,
            "qr_origin_scans_dropped_total",
            "counter",
            "Scans not counted: the pending-entry cap was reached (store down or too slow).",
            self.dropped.load(Relaxed),
        );
        metrics::single(
            out,
            "qr_origin_scan_flush_failures_total",
            "counter",
            "Flushes of counted scans the store refused (kept and tried again).",
            self.flush_failures.load(Relaxed),
        );
    }

    pub fn scans(&self, p: Platform) -> u64 {
        self.scans[p as usize].load(Relaxed)
    }

    pub fn bots(&self, p: Platform) -> u64 {
        self.bots[p as usize].load(Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

/// What one code counted since the last flush.
#[derive(Debug, Default)]
struct CodeCounts {
    /// Per hour start; a flush window spans one or two hours, so a short list.
    hours: Vec<(i64, ScanCounts)>,
    /// Visitor hash → (day start, hour first seen).
    visitors: HashMap<u64, (i64, i64)>,
}

/// One scan, classified and hashed, about to be added.
struct Scan {
    hour: i64,
    day: i64,
    bot: bool,
    platform: Platform,
    /// The keyed visitor hash; `None` for bots, or before the day's key is known.
    visitor: Option<u64>,
}

impl Scan {
    /// Adds the scan to its code's counts; `entries` grows by the entries it creates (a new
    /// hour, a new visitor; the visitor only while under `cap`).
    fn add_to(&self, counts: &mut CodeCounts, entries: &mut usize, cap: usize) {
        let slot = match counts.hours.iter().position(|(h, _)| *h == self.hour) {
            Some(i) => &mut counts.hours[i].1,
            None => {
                *entries += 1;
                counts.hours.push((self.hour, ScanCounts::default()));
                &mut counts.hours.last_mut().expect("just pushed").1
            }
        };
        match (self.bot, self.platform) {
            (true, _) => slot.bots += 1,
            (false, Platform::Ios) => slot.ios += 1,
            (false, Platform::Android) => slot.android += 1,
            (false, Platform::Other) => slot.other += 1,
        }
        if let Some(hash) = self.visitor
            && *entries < cap
            && let Entry::Vacant(v) = counts.visitors.entry(hash)
        {
            v.insert((self.day, self.hour));
            *entries += 1;
        }
    }
}

/// Everything counted since the last flush, and the day keys.
#[derive(Debug, Default)]
struct Pending {
    codes: HashMap<String, CodeCounts>,
    /// Hour entries plus visitor entries, against the cap.
    entries: usize,
    /// (day start, key): today's and, near midnight, tomorrow's.
    keys: Vec<(i64, [u8; 16])>,
}

/// The in-memory scan counter of one instance.
#[derive(Debug)]
pub struct Scans {
    store: Arc<dyn Store>,
    clock: SharedClock,
    settings: ScanSettings,
    agents: Agents,
    pending: Mutex<Pending>,
    /// Woken at half the cap, so a flood flushes before it fills the cap.
    early: Notify,
    pub stats: ScanStats,
}

impl Scans {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, settings: ScanSettings) -> Scans {
        Scans {
            store,
            clock,
            settings,
            agents: Agents::default(),
            pending: Mutex::new(Pending::default()),
            early: Notify::new(),
            stats: ScanStats::default(),
        }
    }

    /// Counts one scan of `link` (answered with its redirect or check-in page). Payment links
    /// are one-time and not counted.
    pub fn record(&self, link: &Link, visit: &Visit<'_>) {
        if link.kind == LinkKind::Payment {
            return;
        }
        let (bot, platform) = self.agents.classify(visit.user_agent);
        let stat = if bot {
            &self.stats.bots
        } else {
            &self.stats.scans
        };
        stat[platform as usize].fetch_add(1, Relaxed);
        let now = self.clock.now_ms();
        let hour = now - now.rem_euclid(HOUR_MS);
        let day = now - now.rem_euclid(DAY_MS);

        let mut guard = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let p = &mut *guard;
        let cap = self.settings.pending_max;
        if p.entries >= cap {
            self.stats.dropped.fetch_add(1, Relaxed);
            return;
        }
        let visitor = if bot {
            None
        } else {
            p.keys
                .iter()
                .find(|(d, _)| *d == day)
                .map(|(_, key)| visitor_hash(key, visit, &link.code))
        };
        let scan = Scan {
            hour,
            day,
            bot,
            platform,
            visitor,
        };
        // One lookup for a code already pending (the common case: a QR scanned again within
        // the window); the key is allocated only for its first scan of the window.
        match p.codes.get_mut(link.code.as_str()) {
            Some(counts) => scan.add_to(counts, &mut p.entries, cap),
            None => {
                let mut counts = CodeCounts::default();
                scan.add_to(&mut counts, &mut p.entries, cap);
                p.codes.insert(link.code.clone(), counts);
            }
        }
        if p.entries >= cap / 2 {
            self.early.notify_one();
        }
    }

    /// Makes sure today's and tomorrow's keys are known (tomorrow's in advance, so midnight
    /// needs no store round trip), and forgets older ones. A failure leaves scans counted
    /// without visitors until the next try.
    pub async fn ensure_keys(&self) {
        let now = self.clock.now_ms();
        let today = now - now.rem_euclid(DAY_MS);
        for day in [today, today + DAY_MS] {
            let known = {
                let p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                p.keys.iter().any(|(d, _)| *d == day)
            };
            if known {
                continue;
            }
            let Ok(candidate) = crate::secret::random_bytes::<16>() else {
                tracing::warn!("no randomness for a scan key; visitors are not counted");
                return;
            };
            match self.store.scan_key(day, candidate).await {
                Ok(key) => {
                    let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    p.keys.retain(|(d, _)| *d >= today && *d != day);
                    p.keys.push((day, key));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the day's scan key failed; visitors are not counted until it is read");
                    return;
                }
            }
        }
    }

    /// Adds everything counted so far to the store. On failure the entries go back (under the
    /// cap) for the next flush.
    pub async fn flush(&self) -> Result<(), crate::store::StoreError> {
        let taken = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.entries = 0;
            std::mem::take(&mut p.codes)
        };
        if taken.is_empty() {
            return Ok(());
        }
        let batch = to_batch(&taken);
        let result = self.store.add_scans(&batch).await;
        if result.is_err() {
            self.stats.flush_failures.fetch_add(1, Relaxed);
            self.put_back(taken);
        }
        result
    }

    /// Merges a batch that failed to flush back into what was counted meanwhile.
    fn put_back(&self, taken: HashMap<String, CodeCounts>) {
        let cap = self.settings.pending_max;
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let p = &mut *p;
        for (code, old) in taken {
            let counts = p.codes.entry(code).or_default();
            for (hour, c) in old.hours {
                match counts.hours.iter_mut().find(|(h, _)| *h == hour) {
                    Some((_, slot)) => slot.add(&c),
                    None if p.entries < cap => {
                        counts.hours.push((hour, c));
                        p.entries += 1;
                    }
                    None => {
                        self.stats.dropped.fetch_add(c.scans() + c.bots, Relaxed);
                    }
                }
            }
            for (hash, seen) in old.visitors {
                if p.entries >= cap {
                    break;
                }
                if let Entry::Vacant(v) = counts.visitors.entry(hash) {
                    v.insert(seen);
                    p.entries += 1;
                }
            }
        }
        p.codes
            .retain(|_, c| !c.hours.is_empty() || !c.visitors.is_empty());
    }

    /// Flushes every `--scan-flush` (sooner at half the cap) until `stop`, keeps the day keys
    /// fresh and, hourly, prunes old visitor sets and folds hours past `--scan-retention`.
    /// The final flush after the drain is the server's ([`Scans::flush`]).
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut last_prune = i64::MIN;
        loop {
            self.ensure_keys().await;
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(self.settings.flush) => {}
                () = self.early.notified() => {}
            }
            if let Err(e) = self.flush().await {
                tracing::warn!(error = %e, "flushing scan counts failed; kept for the next try");
            }
            let now = self.clock.now_ms();
            if now.saturating_sub(last_prune) >= HOUR_MS {
                last_prune = now;
                let today = now - now.rem_euclid(DAY_MS);
                let retention =
                    i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX);
                let horizon = now.saturating_sub(retention);
                let fold_before = horizon - horizon.rem_euclid(DAY_MS);
                if let Err(e) = self.store.prune_scans(today, fold_before).await {
                    tracing::warn!(error = %e, "pruning scan analytics failed");
                }
            }
        }
    }

    /// Pending entries (for tests and the cap).
    pub fn pending_entries(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
    }
}

/// The day's keyed hash of a visitor of `code`.
fn visitor_hash(key: &[u8; 16], visit: &Visit<'_>, code: &str) -> u64 {
    let mut h = SipHasher13::new_with_key(key);
    match visit.client.to_canonical() {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    // Lengths keep (address, agent, code) apart: no two triples hash the same bytes.
    h.write_usize(visit.user_agent.len());
    h.write(visit.user_agent);
    h.write(code.as_bytes());
    h.finish()
}

fn to_batch(codes: &HashMap<String, CodeCounts>) -> ScanBatch {
    let mut batch = ScanBatch::default();
    for (code, c) in codes {
        for (hour, counts) in &c.hours {
            batch.hours.push(HourScans {
                code: code.clone(),
                hour_ms: *hour,
                counts: *counts,
            });
        }
        let mut days: HashMap<i64, Vec<(u64, i64)>> = HashMap::new();
        for (hash, (day, hour)) in &c.visitors {
            days.entry(*day).or_default().push((*hash, *hour));
        }
        for (day, mut seen) in days {
            seen.sort_unstable_by_key(|&(hash, hour)| (hour, hash));
            batch.visitors.push(DayVisitors {
                code: code.clone(),
                day_ms: day,
                seen,
            });
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::sqlite::{DB_FILE, SqliteStore};
    use crate::store::testing::conformance::{merchant, redirect};

    const IPHONE: &[u8] = b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148";

    fn visit(n: u8) -> Visit<'static> {
        Visit {
            client: IpAddr::from([203, 0, 113, n]),
            user_agent: IPHONE,
        }
    }

    /// A SQLite store in a temporary directory (kept alive by the returned guard) holding one
    /// merchant and one short link, `code`, whose scans the tests record.
    async fn store_with_link(code: &str) -> (tempfile::TempDir, Arc<dyn Store>, Link) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
        store
            .add_merchant(&merchant("123456"))
            .await
            .expect("merchant");
        let link = store
            .create_link(&redirect("123456", "poster", code), 1_000)
            .await
            .expect("link");
        (dir, store, link)
    }

    #[tokio::test]
    async fn the_cap_drops_and_counts_and_a_failed_flush_keeps_what_it_had() {
        let (dir, store, link) = store_with_link("ScanCode01").await;
        let now = 20_000 * DAY_MS + 10 * HOUR_MS;
        let settings = ScanSettings {
            pending_max: 16,
            ..ScanSettings::default()
        };
        let scans = Scans::new(
            Arc::clone(&store),
            Arc::new(ManualClock::new(now)),
            settings,
        );
        scans.ensure_keys().await;

        // An hour entry and one entry per visitor: 15 visitors fill the cap of 16.
        for n in 0..20 {
            scans.record(&link, &visit(n));
        }
        assert_eq!(scans.pending_entries(), 16);
        assert_eq!(scans.stats.scans(Platform::Ios), 20, "every scan is seen");
        assert_eq!(scans.stats.dropped(), 5, "the 5 past the cap are dropped");

        // The store fails (its table is gone): the flush errs and keeps everything.
        let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("raw");
        raw.execute_batch("ALTER TABLE scan_counts RENAME TO scan_counts_away")
            .expect("break");
        assert!(scans.flush().await.is_err());
        assert_eq!(scans.pending_entries(), 16, "put back");
        scans.record(&link, &visit(99));
        assert_eq!(scans.stats.dropped(), 6, "still capped during the outage");

        // Back: the flush writes what was kept, and the buffer is empty again.
        raw.execute_batch("ALTER TABLE scan_counts_away RENAME TO scan_counts")
            .expect("repair");
        scans.flush().await.expect("flush");
        assert_eq!(scans.pending_entries(), 0);
        let rows = store
            .scan_counts("ScanCode01", 0, i64::MAX)
            .await
            .expect("read");
        assert_eq!(rows.len(), 1);
        let (hour, c) = rows[0];
        assert_eq!(hour, now - now.rem_euclid(HOUR_MS));
        assert_eq!((c.ios, c.visitors), (15, 15));
    }

    #[tokio::test]
    async fn repeat_visitors_and_bots_add_no_visitor_entries() {
        let (_dir, store, link) = store_with_link("ScanCode02").await;
        let scans = Scans::new(
            Arc::clone(&store),
            Arc::new(ManualClock::new(20_000 * DAY_MS)),
            ScanSettings::default(),
        );
        scans.ensure_keys().await;
        for _ in 0..5 {
            scans.record(&link, &visit(1));
        }
        let bot = Visit {
            client: IpAddr::from([192, 0, 2, 1]),
            user_agent: b"Twitterbot/1.0",
        };
        scans.record(&link, &bot);
        assert_eq!(scans.pending_entries(), 2, "one hour, one visitor");
        scans.flush().await.expect("flush");
        let rows = store
            .scan_counts("ScanCode02", 0, i64::MAX)
            .await
            .expect("read");
        assert_eq!(
            rows[0].1,
            ScanCounts {
                ios: 5,
                bots: 1,
                visitors: 1,
                ..ScanCounts::default()
            }
        );
    }
}
