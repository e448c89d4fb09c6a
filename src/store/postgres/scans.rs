//! The PostgreSQL side of scan analytics (migration 0006, [`crate::store::scans`]).
//!
//! Several instances flush into one database: hour rows are `ON CONFLICT DO UPDATE` additions
//! (atomic per row under read committed), and a day's visitor set is read `FOR UPDATE`, merged
//! and written back, so two instances merging one set queue on its row rather than overwrite
//! each other. A batch's rows are taken in (code, hour) and (code, day) order, the same on every
//! instance, which keeps two flushes from deadlocking on each other; a deadlock or
//! serialization failure is still only a retryable error (the caller keeps the batch). The
//! statements are the portable ones of [`crate::store::scans::sql`].

use deadpool_postgres::Transaction;

use super::{PostgresStore, pg};
use crate::store::scans::{DAY_MS, ScanBatch, ScanCounts, ScanStore, VisitorSet, sql};
use crate::store::{StoreError, StoreFuture};

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn add_hour(
    tx: &Transaction<'_>,
    code: &str,
    hour: i64,
    c: &ScanCounts,
) -> Result<(), StoreError> {
    let stmt = tx.prepare_cached(sql::ADD_HOUR).await.map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &code,
            &hour,
            &signed(c.ios),
            &signed(c.android),
            &signed(c.other),
            &signed(c.bots),
            &signed(c.visitors),
        ],
    )
    .await
    .map(|_| ())
    .map_err(pg)
}

impl ScanStore for PostgresStore {
    fn scan_key(&self, day_ms: i64, candidate: [u8; 16]) -> StoreFuture<'_, [u8; 16]> {
        Box::pin(async move {
            let c = self.conn().await?;
            c.execute(sql::PUT_KEY, &[&day_ms, &candidate.as_slice()])
                .await
                .map_err(pg)?;
            let row = c.query_one(sql::GET_KEY, &[&day_ms]).await.map_err(pg)?;
            let key: Vec<u8> = row.try_get(0).map_err(pg)?;
            key.try_into()
                .map_err(|_| StoreError::Backend("a scan key is not 16 bytes".into()))
        })
    }

    fn add_scans<'a>(&'a self, batch: &'a ScanBatch) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut hours: Vec<_> = batch.hours.iter().collect();
            hours.sort_by(|a, b| (&a.code, a.hour_ms).cmp(&(&b.code, b.hour_ms)));
            let mut days: Vec<_> = batch.visitors.iter().collect();
            days.sort_by(|a, b| (&a.code, a.day_ms).cmp(&(&b.code, b.day_ms)));

            let mut c = self.conn().await?;
            let tx = c.transaction().await.map_err(pg)?;
            for h in hours {
                add_hour(&tx, &h.code, h.hour_ms, &h.counts).await?;
            }
            for day in days {
                let live = tx
                    .query_opt(sql::IS_LIVE, &[&day.code])
                    .await
                    .map_err(pg)?
                    .is_some();
                if !live {
                    continue;
                }
                tx.execute(
                    "INSERT INTO scan_visitors (code, day, visitors) VALUES ($1, $2, $3)
                     ON CONFLICT (code, day) DO NOTHING",
                    &[&day.code, &day.day_ms, &VisitorSet::default().encode()],
                )
                .await
                .map_err(pg)?;
                let row = tx
                    .query_one(
                        "SELECT visitors FROM scan_visitors WHERE code = $1 AND day = $2 FOR UPDATE",
                        &[&day.code, &day.day_ms],
                    )
                    .await
                    .map_err(pg)?;
                let stored: Vec<u8> = row.try_get(0).map_err(pg)?;
                let mut set = VisitorSet::decode(&stored);
                for (hour, new) in set.merge(&day.seen) {
                    let counts = ScanCounts {
                        visitors: new,
                        ..ScanCounts::default()
                    };
                    add_hour(&tx, &day.code, hour, &counts).await?;
                }
                tx.execute(
                    "UPDATE scan_visitors SET visitors = $3 WHERE code = $1 AND day = $2",
                    &[&day.code, &day.day_ms, &set.encode()],
                )
                .await
                .map_err(pg)?;
            }
            tx.commit().await.map_err(pg)
        })
    }

    fn scan_counts<'a>(
        &'a self,
        code: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreFuture<'a, Vec<(i64, ScanCounts)>> {
        Box::pin(async move {
            let c = self.conn().await?;
            let rows = c
                .query(sql::HOURS, &[&code, &from_ms, &to_ms])
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|r| {
                    let n = |i: usize| -> Result<u64, StoreError> {
                        let v: i64 = r.try_get(i).map_err(pg)?;
                        Ok(u64::try_from(v).unwrap_or(0))
                    };
                    Ok((
                        r.try_get::<_, i64>(0).map_err(pg)?,
                        ScanCounts {
                            ios: n(1)?,
                            android: n(2)?,
                            other: n(3)?,
                            bots: n(4)?,
                            visitors: n(5)?,
                        },
                    ))
                })
                .collect()
        })
    }

    fn delete_scans<'a>(&'a self, code: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.map_err(pg)?;
            for stmt in sql::DROP_CODE {
                tx.execute(stmt, &[&code]).await.map_err(pg)?;
            }
            tx.commit().await.map_err(pg)
        })
    }

    fn prune_scans(&self, today_ms: i64, fold_before_ms: i64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.map_err(pg)?;
            for stmt in [sql::DROP_OLD_KEYS, sql::DROP_OLD_VISITORS] {
                tx.execute(stmt, &[&today_ms]).await.map_err(pg)?;
            }
            for stmt in [sql::FOLD_HOURS, sql::DROP_FOLDED] {
                tx.execute(stmt, &[&DAY_MS, &fold_before_ms])
                    .await
                    .map_err(pg)?;
            }
            for stmt in sql::DROP_DELETED {
                tx.execute(stmt, &[]).await.map_err(pg)?;
            }
            tx.commit().await.map_err(pg)
        })
    }
}
