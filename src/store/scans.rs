//! Scan analytics in the store (migration 0006): additive hourly counters per short-link code,
//! the day's visitor sets, and the day's shared hash key.
//!
//! [`ScanStore`] is a supertrait of [`super::Store`], implemented beside each backend in
//! `sqlite/scans.rs` and `postgres/scans.rs`; what both share (the visitor set and its byte
//! form, the batch types) lives here, so the two cannot count differently.
//!
//! # Contract
//! - [`ScanStore::add_scans`] is additive and atomic: several instances flushing at once add
//!   up, and a failed call writes nothing (the caller keeps the batch and tries again). Codes
//!   whose link is deleted (or unknown) are skipped, so a flush racing a delete never brings
//!   counts back.
//! - Counts are keyed by code: an id reused after a delete gets a new code and starts at zero;
//!   [`ScanStore::delete_scans`] drops a deleted QR's counts, and [`ScanStore::prune_scans`]
//!   sweeps any a crash left behind.
//! - Nothing stored identifies a person: visitors are 64-bit keyed hashes, kept only for their
//!   day, and the day's key is deleted with them.

use super::StoreFuture;

/// One hour of one code (or a sum of such hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanCounts {
    pub ios: u64,
    pub android: u64,
    pub other: u64,
    /// Link previewers and crawlers; not in the platform counts.
    pub bots: u64,
    /// The day's distinct visitors first seen in this hour (filled by the store on a flush).
    pub visitors: u64,
}

impl ScanCounts {
    /// Scans by people: every platform, bots apart.
    pub fn scans(&self) -> u64 {
        self.ios + self.android + self.other
    }

    /// Adds `other` field by field.
    pub fn add(&mut self, other: &ScanCounts) {
        self.ios += other.ios;
        self.android += other.android;
        self.other += other.other;
        self.bots += other.bots;
        self.visitors += other.visitors;
    }
}

/// Counts of one code in one hour, to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourScans {
    pub code: String,
    /// Start of the hour, ms since the epoch (a multiple of [`HOUR_MS`]).
    pub hour_ms: i64,
    pub counts: ScanCounts,
}

/// Visitors of one code seen on one day, to merge into the day's set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayVisitors {
    pub code: String,
    /// Start of the day (UTC), ms since the epoch.
    pub day_ms: i64,
    /// Keyed visitor hashes, each with the start of the hour it was first seen in this batch,
    /// sorted by hour: the store credits each hour with the visitors new to the day.
    pub seen: Vec<(u64, i64)>,
}

/// One flush: what an instance counted since its last one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanBatch {
    pub hours: Vec<HourScans>,
    pub visitors: Vec<DayVisitors>,
}

impl ScanBatch {
    pub fn is_empty(&self) -> bool {
        self.hours.is_empty() && self.visitors.is_empty()
    }
}

/// Statements both stores run as they are: portable SQL with `$N` parameters, each first named
/// in order (`$1` before `$2`), so SQLite's positional binding agrees with PostgreSQL's.
pub(crate) mod sql {
    /// The upsert tail of the statements that add counts: a row already there for the code and
    /// hour gets the new counts added to its own. A macro, so the statements stay constants.
    macro_rules! add_to_existing_row {
        () => {
            "
         ON CONFLICT (code, hour) DO UPDATE SET
             ios = scan_counts.ios + excluded.ios,
             android = scan_counts.android + excluded.android,
             other = scan_counts.other + excluded.other,
             bots = scan_counts.bots + excluded.bots,
             visitors = scan_counts.visitors + excluded.visitors"
        };
    }

    /// Adds one hour's counts to a live link's row: `$1` code, `$2` hour, `$3`..`$7` ios,
    /// android, other, bots, visitors. A deleted or unknown code adds nothing.
    pub const ADD_HOUR: &str = concat!(
        "INSERT INTO scan_counts (code, hour, ios, android, other, bots, visitors)
         SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE EXISTS (SELECT 1 FROM links WHERE code = $1 AND deleted_at IS NULL)",
        add_to_existing_row!()
    );

    /// Adds the hour rows before `$2` (a day start) to their day's row (`$1` = a day in ms).
    pub const FOLD_HOURS: &str = concat!(
        "INSERT INTO scan_counts (code, hour, ios, android, other, bots, visitors)
         SELECT code, hour - hour % $1, CAST(SUM(ios) AS BIGINT), CAST(SUM(android) AS BIGINT),
                CAST(SUM(other) AS BIGINT), CAST(SUM(bots) AS BIGINT),
                CAST(SUM(visitors) AS BIGINT)
         FROM scan_counts WHERE hour % $1 <> 0 AND hour < $2
         GROUP BY code, hour - hour % $1",
        add_to_existing_row!()
    );

    /// Then drops the hour rows [`FOLD_HOURS`] added up (same parameters).
    pub const DROP_FOLDED: &str = "DELETE FROM scan_counts WHERE hour % $1 <> 0 AND hour < $2";

    /// Upkeep after a day: its key and visitor sets (`$1` = today's start).
    pub const DROP_OLD_KEYS: &str = "DELETE FROM scan_keys WHERE day < $1";
    pub const DROP_OLD_VISITORS: &str = "DELETE FROM scan_visitors WHERE day < $1";

    /// What a deleted QR leaves behind, swept by the upkeep.
    pub const DROP_DELETED: [&str; 2] = [
        "DELETE FROM scan_counts WHERE code IN (SELECT code FROM links WHERE deleted_at IS NOT NULL)",
        "DELETE FROM scan_visitors WHERE code IN (SELECT code FROM links WHERE deleted_at IS NOT NULL)",
    ];

    /// A QR's rows (`$1` code), dropped when it is deleted.
    pub const DROP_CODE: [&str; 2] = [
        "DELETE FROM scan_counts WHERE code = $1",
        "DELETE FROM scan_visitors WHERE code = $1",
    ];

    /// Whether `$1` is a live (not deleted) link.
    pub const IS_LIVE: &str = "SELECT 1 FROM links WHERE code = $1 AND deleted_at IS NULL";

    /// `$1` code's hour rows in `[$2, $3)`, oldest first.
    pub const HOURS: &str = "SELECT hour, ios, android, other, bots, visitors FROM scan_counts
         WHERE code = $1 AND hour >= $2 AND hour < $3 ORDER BY hour";

    /// The day's key (`$1` day, `$2` candidate): stored unless one is, then read.
    pub const PUT_KEY: &str =
        "INSERT INTO scan_keys (day, hash_key) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING";
    pub const GET_KEY: &str = "SELECT hash_key FROM scan_keys WHERE day = $1";
}

/// An hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// A day in milliseconds (UTC days; no leap seconds in Unix time).
pub const DAY_MS: i64 = 86_400_000;

/// Scan analytics storage; part of every [`super::Store`].
pub trait ScanStore {
    /// The hash key of the day starting at `day_ms`: the stored one, or `candidate` stored now
    /// when the day has none yet (the first instance to ask decides for all).
    fn scan_key(&self, day_ms: i64, candidate: [u8; 16]) -> StoreFuture<'_, [u8; 16]>;

    /// Adds a batch, atomically (see the module docs).
    fn add_scans<'a>(&'a self, batch: &'a ScanBatch) -> StoreFuture<'a, ()>;

    /// The hour rows of `code` with `from_ms <= hour < to_ms`, oldest first (a folded day is
    /// one row at its day's start).
    fn scan_counts<'a>(
        &'a self,
        code: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreFuture<'a, Vec<(i64, ScanCounts)>>;

    /// Forgets every count and visitor of `code` (its QR was deleted).
    fn delete_scans<'a>(&'a self, code: &'a str) -> StoreFuture<'a, ()>;

    /// Upkeep: deletes visitor sets and hash keys of days before `today_ms`, folds hour rows
    /// before `fold_before_ms` (a day start) into their day's row, and drops the counts of
    /// deleted links.
    fn prune_scans(&self, today_ms: i64, fold_before_ms: i64) -> StoreFuture<'_, ()>;
}

/// Exact hashes kept at most per (code, day) before the set turns into a sketch: 2 048 × 8
/// bytes is the sketch's own 16 KiB, so a set never outgrows it.
pub const EXACT_MAX: usize = 2048;
/// Sketch registers: 2^14 gives HyperLogLog a standard error of 1.04/√16384 ≈ 0.8 %, so the
/// ≤ 2 % the API promises holds at 2.5 standard errors.
const REGISTER_BITS: u32 = 14;
const REGISTERS: usize = 1 << REGISTER_BITS;

/// The distinct visitors of one code on one day: exact while small, a HyperLogLog sketch once
/// there are more than [`EXACT_MAX`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorSet {
    /// Sorted, distinct keyed hashes.
    Exact(Vec<u64>),
    /// One rank per register.
    Sketch(Vec<u8>),
}

impl Default for VisitorSet {
    fn default() -> Self {
        VisitorSet::Exact(Vec::new())
    }
}

impl VisitorSet {
    /// Reads the stored form; an empty or unreadable value is an empty set (a damaged row
    /// undercounts one day rather than failing every flush).
    pub fn decode(bytes: &[u8]) -> VisitorSet {
        match bytes.split_first() {
            Some((1, regs)) if regs.len() == REGISTERS => VisitorSet::Sketch(regs.to_vec()),
            Some((0, rest)) if rest.len() % 8 == 0 => VisitorSet::Exact(
                rest.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
                    .collect(),
            ),
            _ => VisitorSet::default(),
        }
    }

    /// The stored form: a tag byte (0 exact, 1 sketch), then the hashes (little-endian) or the
    /// registers.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            VisitorSet::Exact(hashes) => {
                let mut out = Vec::with_capacity(1 + hashes.len() * 8);
                out.push(0);
                for h in hashes {
                    out.extend_from_slice(&h.to_le_bytes());
                }
                out
            }
            VisitorSet::Sketch(regs) => {
                let mut out = Vec::with_capacity(1 + regs.len());
                out.push(1);
                out.extend_from_slice(regs);
                out
            }
        }
    }

    /// Adds one visitor hash.
    pub fn insert(&mut self, hash: u64) {
        match self {
            VisitorSet::Exact(hashes) => {
                if let Err(at) = hashes.binary_search(&hash) {
                    hashes.insert(at, hash);
                }
                if hashes.len() > EXACT_MAX {
                    let mut regs = vec![0u8; REGISTERS];
                    for &h in hashes.iter() {
                        sketch_insert(&mut regs, h);
                    }
                    *self = VisitorSet::Sketch(regs);
                }
            }
            VisitorSet::Sketch(regs) => sketch_insert(regs, hash),
        }
    }

    /// How many distinct visitors the set holds (exact, or the sketch's estimate).
    pub fn count(&self) -> u64 {
        match self {
            VisitorSet::Exact(hashes) => hashes.len() as u64,
            VisitorSet::Sketch(regs) => estimate(regs),
        }
    }

    /// Merges `seen` (sorted by hour) and returns, per hour, how many visitors were new to
    /// the set: the difference of the counts before and after that hour's hashes, so the
    /// hours of a day add up to the day's count.
    pub fn merge(&mut self, seen: &[(u64, i64)]) -> Vec<(i64, u64)> {
        let mut out: Vec<(i64, u64)> = Vec::new();
        let mut before = self.count();
        for group in seen.chunk_by(|a, b| a.1 == b.1) {
            for &(hash, _) in group {
                self.insert(hash);
            }
            let after = self.count();
            let new = after.saturating_sub(before);
            before = before.max(after);
            if new > 0 {
                out.push((group[0].1, new));
            }
        }
        out
    }
}

fn sketch_insert(regs: &mut [u8], hash: u64) {
    let index = (hash >> (64 - REGISTER_BITS)) as usize;
    // The rank of the remaining 50 bits: leading zeros + 1, at most 51.
    let rest = hash << REGISTER_BITS;
    let rank = (rest.leading_zeros().min(64 - REGISTER_BITS) + 1) as u8;
    if regs[index] < rank {
        regs[index] = rank;
    }
}

/// HyperLogLog's estimate with linear counting for the small range (Flajolet et al. 2007);
/// 64-bit hashes need no large-range correction.
fn estimate(regs: &[u8]) -> u64 {
    let m = regs.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = regs.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = regs.iter().filter(|&&r| r == 0).count();
    let e = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    e.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of well-mixed 64-bit values (SplitMix64).
    fn hashes(seed: u64, n: usize) -> impl Iterator<Item = u64> {
        let mut x = seed;
        (0..n).map(move |_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    }

    #[test]
    fn small_sets_are_exact_and_round_trip() {
        let mut set = VisitorSet::default();
        for h in hashes(1, 500).chain(hashes(1, 500)) {
            set.insert(h);
        }
        assert_eq!(set.count(), 500);
        assert!(matches!(set, VisitorSet::Exact(_)));
        assert_eq!(VisitorSet::decode(&set.encode()), set);
        assert_eq!(VisitorSet::decode(b"junk"), VisitorSet::default());
    }

    #[test]
    fn large_sets_stay_within_two_percent() {
        for n in [EXACT_MAX + 1, 10_000, 100_000, 1_000_000] {
            let mut set = VisitorSet::default();
            for h in hashes(n as u64, n) {
                set.insert(h);
            }
            // Seen again: a sketch does not count repeats.
            for h in hashes(n as u64, n / 10) {
                set.insert(h);
            }
            assert!(matches!(set, VisitorSet::Sketch(_)), "{n}");
            let err = (set.count() as f64 - n as f64).abs() / n as f64;
            assert!(err <= 0.02, "{n}: estimate {} ({err})", set.count());
            assert_eq!(VisitorSet::decode(&set.encode()), set);
        }
    }

    #[test]
    fn merges_credit_each_hour_with_its_new_visitors() {
        let mut set = VisitorSet::default();
        let h: Vec<u64> = hashes(7, 4).collect();
        assert_eq!(
            set.merge(&[(h[0], 0), (h[1], 0), (h[0], HOUR_MS), (h[2], HOUR_MS)]),
            vec![(0, 2), (HOUR_MS, 1)]
        );
        // Another instance's batch of the same day: only h[3] is new.
        assert_eq!(
            set.merge(&[(h[1], 2 * HOUR_MS), (h[3], 3 * HOUR_MS)]),
            vec![(3 * HOUR_MS, 1)]
        );
        assert_eq!(set.count(), 4);
    }
}
