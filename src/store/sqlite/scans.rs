//! The SQLite side of scan analytics (migration 0006, [`crate::store::scans`]).
//!
//! Every write is one `IMMEDIATE` transaction on the writer connection, so a flush is
//! all-or-nothing and nothing else writes between reading a visitor set and writing it back.
//! The statements are the portable ones of [`crate::store::scans::sql`].

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{SqliteStore, backend};
use crate::store::scans::{DAY_MS, ScanBatch, ScanCounts, ScanStore, VisitorSet, sql};
use crate::store::{StoreError, StoreFuture};

fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn add_hour(tx: &Transaction<'_>, code: &str, hour: i64, c: &ScanCounts) -> Result<(), StoreError> {
    tx.prepare_cached(sql::ADD_HOUR)
        .and_then(|mut s| {
            s.execute(params![
                code,
                hour,
                signed(c.ios),
                signed(c.android),
                signed(c.other),
                signed(c.bots),
                signed(c.visitors)
            ])
        })
        .map(|_| ())
        .map_err(backend)
}

fn add_batch(conn: &mut Connection, batch: &ScanBatch) -> Result<(), StoreError> {
    let tx = write_tx(conn)?;
    for h in &batch.hours {
        add_hour(&tx, &h.code, h.hour_ms, &h.counts)?;
    }
    for day in &batch.visitors {
        let live = tx
            .query_row(sql::IS_LIVE, [&day.code], |_| Ok(()))
            .optional()
            .map_err(backend)?
            .is_some();
        if !live {
            continue;
        }
        let stored: Option<Vec<u8>> = tx
            .query_row(
                "SELECT visitors FROM scan_visitors WHERE code = ?1 AND day = ?2",
                params![day.code, day.day_ms],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        let mut set = stored
            .as_deref()
            .map(VisitorSet::decode)
            .unwrap_or_default();
        for (hour, new) in set.merge(&day.seen) {
            let counts = ScanCounts {
                visitors: new,
                ..ScanCounts::default()
            };
            add_hour(&tx, &day.code, hour, &counts)?;
        }
        tx.execute(
            "INSERT INTO scan_visitors (code, day, visitors) VALUES (?1, ?2, ?3)
             ON CONFLICT (code, day) DO UPDATE SET visitors = excluded.visitors",
            params![day.code, day.day_ms, set.encode()],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn prune(conn: &mut Connection, today_ms: i64, fold_before_ms: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(sql::DROP_OLD_KEYS, [today_ms])?;
    tx.execute(sql::DROP_OLD_VISITORS, [today_ms])?;
    tx.execute(sql::FOLD_HOURS, [DAY_MS, fold_before_ms])?;
    tx.execute(sql::DROP_FOLDED, [DAY_MS, fold_before_ms])?;
    for stmt in sql::DROP_DELETED {
        tx.execute(stmt, [])?;
    }
    tx.commit()
}

impl ScanStore for SqliteStore {
    fn scan_key(&self, day_ms: i64, candidate: [u8; 16]) -> StoreFuture<'_, [u8; 16]> {
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            tx.execute(sql::PUT_KEY, params![day_ms, candidate.as_slice()])
                .map_err(backend)?;
            let key: Vec<u8> = tx
                .query_row(sql::GET_KEY, [day_ms], |r| r.get(0))
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            key.try_into()
                .map_err(|_| StoreError::Backend("a scan key is not 16 bytes".into()))
        })
    }

    fn add_scans<'a>(&'a self, batch: &'a ScanBatch) -> StoreFuture<'a, ()> {
        let batch = batch.clone();
        self.call(move |conn| add_batch(conn, &batch))
    }

    fn scan_counts<'a>(
        &'a self,
        code: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreFuture<'a, Vec<(i64, ScanCounts)>> {
        let code = code.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(sql::HOURS).map_err(backend)?;
            let rows = stmt
                .query_map(params![code, from_ms, to_ms], |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
                    Ok((
                        r.get::<_, i64>(0)?,
                        ScanCounts {
                            ios: n(1)?,
                            android: n(2)?,
                            other: n(3)?,
                            bots: n(4)?,
                            visitors: n(5)?,
                        },
                    ))
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
    }

    fn delete_scans<'a>(&'a self, code: &'a str) -> StoreFuture<'a, ()> {
        let code = code.to_owned();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            for stmt in sql::DROP_CODE {
                tx.execute(stmt, [&code]).map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    fn prune_scans(&self, today_ms: i64, fold_before_ms: i64) -> StoreFuture<'_, ()> {
        self.call(move |conn| prune(conn, today_ms, fold_before_ms).map_err(backend))
    }
}
