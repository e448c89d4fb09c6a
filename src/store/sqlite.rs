//! The embedded store: one SQLite file in the data directory, zero set-up.
//!
//! # Durability
//! WAL journal with `synchronous=FULL`: every commit fsyncs the WAL before `Ok` is returned, so
//! an acknowledged write survives `kill -9` and power loss alike. (`NORMAL` would already
//! survive `kill -9` — the WAL sits in the OS page cache — but not a machine crash; QR API writes
//! are rare next to image reads, so the extra fsync per write is cheap.)
//!
//! # Concurrency
//! rusqlite is blocking, so every call runs on tokio's blocking pool. Writes hold the one writer
//! connection behind a mutex for the length of a short transaction. The reads on request paths
//! (access-token checks, short-link lookups, listings) use a small pool of read-only
//! connections instead, so they run beside a write's fsync rather than queueing behind it; WAL
//! gives each read a snapshot that includes every commit acknowledged before it began. Other
//! processes (`qr-origin merchant add` while the server runs) share the file through WAL and
//! wait out each other's write locks with `busy_timeout`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::rows::{self, link_columns};
use super::{
    AccessGrant, CallbackQr, Conflict, Credential, DefaultStyle, Delivery, DeliveryResult, Link,
    LinkKind, LogoData, LogoInfo, Merchant, NewAccessToken, NewCallbackQr, NewLink, NewLogo,
    NewMerchant, NewScan, NewWebhook, OutboxStats, PutCallbackQr, Scan, ScanRecorded, Store,
    StoreError, StoreFuture, StyleChange, Webhook, migrations,
};

mod hooks;
mod logos;
mod scans;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "qr-origin.sqlite3";

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections kept open beside the writer. Two: reads are index lookups of a few
/// microseconds, so more would only add file handles on a small machine.
const READERS: usize = 2;

/// The embedded SQLite [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
}

/// The pool of read-only connections; a permit guarantees an idle connection.
#[derive(Debug)]
struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// A reader taken from the pool; goes back on drop, even if the read panicked.
struct Lease<'a> {
    pool: &'a Mutex<Vec<Connection>>,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    pub fn open_in_dir(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        SqliteStore::open(&data_dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        // journal_mode answers with a row, so it is read rather than executed.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "cannot switch {} to WAL (journal_mode is {mode})",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(backend)?;
        migrate(&mut conn)?;
        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(path).map_err(backend)?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
            reader
                .execute_batch("PRAGMA query_only = ON;")
                .map_err(backend)?;
            idle.push(reader);
        }
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers {
                idle: Mutex::new(idle),
                permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
            }),
        })
    }

    /// Runs the read-only `f` on a pooled reader on the blocking pool.
    fn read<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        Box::pin(async move {
            let permit = Arc::clone(&readers.permits)
                .acquire_owned()
                .await
                .map_err(|_| StoreError::Backend("reader pool closed".into()))?;
            tokio::task::spawn_blocking(move || {
                let lease = Lease {
                    pool: &readers.idle,
                    conn: readers.idle.lock().unwrap_or_else(|p| p.into_inner()).pop(),
                };
                let result = match &lease.conn {
                    Some(conn) => f(conn),
                    None => Err(StoreError::Backend(
                        "no idle reader despite a permit".into(),
                    )),
                };
                drop(lease);
                drop(permit);
                result
            })
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    fn call<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A panic inside a transaction rolls it back when the transaction drops, so a
                // poisoned connection is still consistent and safe to reuse.
                let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
        })
    }
}

/// Applies pending migrations in one `IMMEDIATE` transaction, so two processes starting at once
/// (server and `merchant add`) cannot both apply the same version.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    tx.execute_batch(migrations::CREATE_VERSION_TABLE)
        .map_err(backend)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    for m in migrations::pending(current)? {
        tx.execute_batch(m.sql).map_err(|e| {
            StoreError::Backend(format!("migration {} ({}): {e}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_ms],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

/// A write transaction: `IMMEDIATE` takes SQLite's one write lock up front, so the checks a
/// write makes still hold when it commits (and two processes never deadlock upgrading a read).
fn write_tx(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Columns of `links`, in the order [`rows::link`] reads them.
const LINK_COLUMNS: &str = link_columns!();

/// The "live" filter shared by every per-merchant link query (`?now` is the caller's clock).
const LIVE: &str = "deleted_at IS NULL AND (expires_at IS NULL OR expires_at > :now)";

impl rows::Columns for Row<'_> {
    fn col<T: rows::Value>(&self, i: usize) -> Result<T, StoreError> {
        self.get(i).map_err(backend)
    }
}

/// The first row `sql` answers, read by `map` (a [`rows`] function).
fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = stmt.query(p).map_err(backend)?;
    rows.next().map_err(backend)?.map(map).transpose()
}

/// Every row `sql` answers, read by `map` (a [`rows`] function).
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    mut map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = stmt.query(p).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        out.push(map(r)?);
    }
    Ok(out)
}

/// Holds the ownership rule of a write that stores a QR style naming `logo`: it must be one of
/// the merchant's logos, checked in the writing transaction (logo deletes take the same write
/// lock, so none can slip between this check and the write).
fn check_style_logo(tx: &Connection, msn: &str, logo: Option<&str>) -> Result<(), StoreError> {
    match logo {
        Some(id)
            if !exists(
                tx,
                "SELECT 1 FROM logos WHERE msn = ?1 AND id = ?2",
                [msn, id],
            )? =>
        {
            Err(StoreError::Missing("logo"))
        }
        _ => Ok(()),
    }
}

fn exists(tx: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<bool, StoreError> {
    tx.query_row(sql, p, |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(backend)
}

/// Fails with [`StoreError::Missing`] unless merchant `msn` exists: what every write on a
/// merchant's behalf checks first, inside its transaction.
fn require_merchant(tx: &Connection, msn: &str) -> Result<(), StoreError> {
    if exists(tx, "SELECT 1 FROM merchants WHERE msn = ?1", [msn])? {
        Ok(())
    } else {
        Err(StoreError::Missing("merchant"))
    }
}

/// The live link of one merchant, kind and id, read inside `tx`.
fn live_link(
    tx: &Connection,
    msn: &str,
    kind: LinkKind,
    qr_id: &str,
    now_ms: i64,
) -> Result<Option<Link>, StoreError> {
    query_opt(
        tx,
        &format!(
            "SELECT {LINK_COLUMNS} FROM links
             WHERE msn = :msn AND kind = :kind AND qr_id = :qr_id AND {LIVE}"
        ),
        rusqlite::named_params! {":msn": msn, ":kind": kind.as_str(), ":qr_id": qr_id, ":now": now_ms},
        |r| rows::link(r),
    )
}

/// The write of [`Store::set_link_target`] and [`Store::delete_link`]: the merchant's live link
/// `(msn, kind, qr_id, now_ms)`, changed by `change` once a style's `logo` is checked to be the
/// merchant's, and written back, in one write transaction.
fn rewrite_live_link(
    conn: &mut Connection,
    (msn, kind, qr_id, now_ms): (&str, LinkKind, &str, i64),
    logo: Option<&str>,
    change: impl FnOnce(&mut Link),
) -> Result<Option<Link>, StoreError> {
    let tx = write_tx(conn)?;
    let Some(mut link) = live_link(&tx, msn, kind, qr_id, now_ms)? else {
        return Ok(None);
    };
    check_style_logo(&tx, msn, logo)?;
    change(&mut link);
    let stored = link.style.as_ref();
    tx.execute(
        "UPDATE links SET target = ?1, updated_at = ?2, deleted_at = ?3, style = ?4,
             style_logo = ?5
         WHERE code = ?6",
        params![
            link.target,
            link.updated_at_ms,
            link.deleted_at_ms,
            stored.map(|s| &s.style),
            stored.and_then(|s| s.logo.as_ref()),
            link.code
        ],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(Some(link))
}

impl Store for SqliteStore {
    fn add_merchant<'a>(&'a self, m: &'a NewMerchant) -> StoreFuture<'a, ()> {
        let m = m.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            if exists(&tx, "SELECT 1 FROM merchants WHERE msn = ?1", [&m.msn])? {
                return Err(StoreError::Conflict(Conflict::MerchantMsn));
            }
            if exists(
                &tx,
                "SELECT 1 FROM api_credentials WHERE client_id = ?1",
                [&m.client_id],
            )? {
                return Err(StoreError::Conflict(Conflict::ClientId));
            }
            tx.execute(
                "INSERT INTO merchants (msn, name, created_at) VALUES (?1, ?2, ?3)",
                params![m.msn, m.name, m.created_at_ms],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO api_credentials
                     (client_id, msn, client_secret_sha256, subscription_key_sha256, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    m.client_id,
                    m.msn,
                    m.client_secret_sha256,
                    m.subscription_key_sha256,
                    m.created_at_ms
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    fn list_merchants(&self) -> StoreFuture<'_, Vec<Merchant>> {
        self.read(|conn| {
            let mut out = Vec::new();
            query_all(
                conn,
                "SELECT m.msn, m.name, m.created_at, c.client_id
                 FROM merchants m LEFT JOIN api_credentials c ON c.msn = m.msn
                 ORDER BY m.msn, c.created_at, c.client_id",
                [],
                |r| rows::push_merchant(&mut out, r),
            )?;
            Ok(out)
        })
    }

    fn credential<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Option<Credential>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            query_opt(
                conn,
                "SELECT client_id, msn, client_secret_sha256, subscription_key_sha256
                 FROM api_credentials WHERE client_id = ?1",
                [&client_id],
                |r| rows::credential(r),
            )
        })
    }

    fn add_access_token<'a>(&'a self, t: &'a NewAccessToken) -> StoreFuture<'a, ()> {
        let t = t.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            tx.execute(
                "DELETE FROM access_tokens WHERE expires_at <= ?1",
                [t.created_at_ms],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO access_tokens (token_sha256, client_id, msn, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    t.token_sha256,
                    t.client_id,
                    t.msn,
                    t.created_at_ms,
                    t.expires_at_ms
                ],
            )
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Missing("client id"),
                _ => backend(e),
            })?;
            tx.commit().map_err(backend)
        })
    }

    fn access_grant<'a>(
        &'a self,
        token_sha256: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<AccessGrant>> {
        let hash = token_sha256.to_owned();
        self.read(move |conn| {
            query_opt(
                conn,
                "SELECT t.client_id, t.msn, c.subscription_key_sha256, t.expires_at
                 FROM access_tokens t JOIN api_credentials c ON c.client_id = t.client_id
                 WHERE t.token_sha256 = ?1 AND t.expires_at > ?2",
                params![hash, now_ms],
                |r| rows::access_grant(r),
            )
        })
    }

    fn create_link<'a>(&'a self, link: &'a NewLink, now_ms: i64) -> StoreFuture<'a, Link> {
        let l = link.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            require_merchant(&tx, &l.msn)?;
            if exists(&tx, "SELECT 1 FROM links WHERE code = ?1", [&l.code])? {
                return Err(StoreError::Conflict(Conflict::Code));
            }
            check_style_logo(
                &tx,
                &l.msn,
                l.style.as_ref().and_then(|s| s.logo.as_deref()),
            )?;
            if let Some(qr_id) = &l.qr_id {
                // An expired QR frees its id: retire it (as deleted at its expiry) first.
                tx.execute(
                    "UPDATE links SET deleted_at = expires_at
                     WHERE msn = ?1 AND kind = ?2 AND qr_id = ?3 AND deleted_at IS NULL
                       AND expires_at IS NOT NULL AND expires_at <= ?4",
                    params![l.msn, l.kind.as_str(), qr_id, now_ms],
                )
                .map_err(backend)?;
                if live_link(&tx, &l.msn, l.kind, qr_id, now_ms)?.is_some() {
                    return Err(StoreError::Conflict(Conflict::QrId));
                }
            }
            tx.execute(
                &format!(
                    "INSERT INTO links ({LINK_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, NULL, ?8, ?9)"
                ),
                params![
                    l.code,
                    l.kind.as_str(),
                    l.msn,
                    l.qr_id,
                    l.target,
                    l.created_at_ms,
                    l.expires_at_ms,
                    l.style.as_ref().map(|s| &s.style),
                    l.style.as_ref().and_then(|s| s.logo.as_ref()),
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(l.created())
        })
    }

    fn link_by_code<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Link>> {
        let code = code.to_owned();
        self.read(move |conn| {
            query_opt(
                conn,
                &format!("SELECT {LINK_COLUMNS} FROM links WHERE code = ?1"),
                [&code],
                |r| rows::link(r),
            )
        })
    }

    fn merchant_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        let (msn, qr_id) = (msn.to_owned(), qr_id.to_owned());
        self.read(move |conn| live_link(conn, &msn, kind, &qr_id, now_ms))
    }

    fn merchant_links<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<Link>> {
        let msn = msn.to_owned();
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {LINK_COLUMNS} FROM links
                     WHERE msn = :msn AND kind = :kind AND {LIVE}
                     ORDER BY created_at, code"
                ),
                rusqlite::named_params! {":msn": msn, ":kind": kind.as_str(), ":now": now_ms},
                |r| rows::link(r),
            )
        })
    }

    fn set_link_target<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        target: &'a str,
        style: &'a StyleChange,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        let (msn, qr_id, target) = (msn.to_owned(), qr_id.to_owned(), target.to_owned());
        let style = style.clone();
        self.call(move |conn| {
            let change = |link: &mut Link| link.retarget(&target, &style, now_ms);
            rewrite_live_link(conn, (&msn, kind, &qr_id, now_ms), style.logo(), change)
        })
    }

    fn delete_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        let (msn, qr_id) = (msn.to_owned(), qr_id.to_owned());
        self.call(move |conn| {
            let change = |link: &mut Link| link.delete(now_ms);
            rewrite_live_link(conn, (&msn, kind, &qr_id, now_ms), None, change)
        })
    }

    fn put_callback_qr<'a>(
        &'a self,
        qr: &'a NewCallbackQr,
        now_ms: i64,
    ) -> StoreFuture<'a, PutCallbackQr> {
        let qr = qr.clone();
        self.call(move |conn| hooks::put_callback_qr(conn, &qr, now_ms))
    }

    fn callback_qr<'a>(
        &'a self,
        msn: &'a str,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<CallbackQr>> {
        let (msn, qr_id) = (msn.to_owned(), qr_id.to_owned());
        self.call(move |conn| hooks::callback_qr(conn, &msn, &qr_id, now_ms))
    }

    fn callback_qrs<'a>(&'a self, msn: &'a str, now_ms: i64) -> StoreFuture<'a, Vec<CallbackQr>> {
        let msn = msn.to_owned();
        self.call(move |conn| hooks::callback_qrs(conn, &msn, now_ms))
    }

    fn record_scan<'a>(&'a self, scan: &'a NewScan) -> StoreFuture<'a, Option<ScanRecorded>> {
        let scan = scan.clone();
        self.call(move |conn| hooks::record_scan(conn, &scan))
    }

    fn scan_by_token<'a>(&'a self, token: &'a str, now_ms: i64) -> StoreFuture<'a, Option<Scan>> {
        let token = token.to_owned();
        self.call(move |conn| hooks::scan_by_token(conn, &token, now_ms))
    }

    fn add_webhook<'a>(
        &'a self,
        webhook: &'a NewWebhook,
        max_per_event: usize,
    ) -> StoreFuture<'a, Webhook> {
        let webhook = webhook.clone();
        self.call(move |conn| hooks::add_webhook(conn, &webhook, max_per_event))
    }

    fn webhooks<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<Webhook>> {
        let msn = msn.to_owned();
        self.call(move |conn| hooks::webhooks(conn, &msn))
    }

    fn delete_webhook<'a>(
        &'a self,
        msn: &'a str,
        id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Webhook>> {
        let (msn, id) = (msn.to_owned(), id.to_owned());
        self.call(move |conn| hooks::delete_webhook(conn, &msn, &id, now_ms))
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Delivery>> {
        self.call(move |conn| hooks::claim_deliveries(conn, now_ms, lease_ms, limit))
    }

    fn finish_delivery<'a>(
        &'a self,
        delivery: &'a Delivery,
        result: &'a DeliveryResult,
        now_ms: i64,
    ) -> StoreFuture<'a, bool> {
        let (delivery, result) = (delivery.clone(), result.clone());
        self.call(move |conn| hooks::finish_delivery(conn, &delivery, &result, now_ms))
    }

    #[cfg(any(test, feature = "testing"))]
    fn outbox_events<'a>(
        &'a self,
        webhook_id: &'a str,
    ) -> StoreFuture<'a, Vec<crate::store::OutboxEvent>> {
        let webhook_id = webhook_id.to_owned();
        self.call(move |conn| hooks::outbox_events(conn, &webhook_id))
    }

    fn outbox_stats(&self) -> StoreFuture<'_, OutboxStats> {
        self.call(hooks::outbox_stats)
    }

    fn prune_outbox(&self, before_ms: i64) -> StoreFuture<'_, u64> {
        self.call(move |conn| hooks::prune_outbox(conn, before_ms))
    }

    fn add_logo<'a>(&'a self, logo: &'a NewLogo, max_per_merchant: usize) -> StoreFuture<'a, bool> {
        let logo = logo.clone();
        self.call(move |conn| logos::add_logo(conn, &logo, max_per_merchant))
    }

    fn merchant_logos<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<LogoInfo>> {
        let msn = msn.to_owned();
        self.read(move |conn| logos::merchant_logos(conn, &msn))
    }

    fn merchant_logo<'a>(&'a self, msn: &'a str, id: &'a str) -> StoreFuture<'a, Option<LogoInfo>> {
        let (msn, id) = (msn.to_owned(), id.to_owned());
        self.read(move |conn| logos::merchant_logo(conn, &msn, &id))
    }

    fn logo<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LogoData>> {
        let id = id.to_owned();
        self.read(move |conn| logos::logo(conn, &id))
    }

    fn delete_logo<'a>(&'a self, msn: &'a str, id: &'a str, now_ms: i64) -> StoreFuture<'a, bool> {
        let (msn, id) = (msn.to_owned(), id.to_owned());
        self.call(move |conn| logos::delete_logo(conn, &msn, &id, now_ms))
    }

    fn put_default_style<'a>(&'a self, style: &'a DefaultStyle) -> StoreFuture<'a, ()> {
        let style = style.clone();
        self.call(move |conn| logos::put_default_style(conn, &style))
    }

    fn default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Option<DefaultStyle>> {
        let msn = msn.to_owned();
        self.read(move |conn| logos::default_style(conn, &msn))
    }

    fn delete_default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, bool> {
        let msn = msn.to_owned();
        self.call(move |conn| logos::delete_default_style(conn, &msn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::conformance;

    #[tokio::test]
    async fn passes_the_store_conformance_suite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("open store");
        conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn committed_writes_are_there_after_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let link = {
            let store = SqliteStore::open_in_dir(dir.path()).expect("open store");
            store
                .add_merchant(&conformance::merchant("900001"))
                .await
                .expect("add merchant");
            let link = conformance::redirect("900001", "persist me", "ReopenCod1");
            store.create_link(&link, 1_000).await.expect("create link")
        };
        let store = SqliteStore::open_in_dir(dir.path()).expect("reopen store");
        assert_eq!(
            store.link_by_code("ReopenCod1").await.expect("read"),
            Some(link)
        );
        assert_eq!(store.list_merchants().await.expect("list").len(), 1);
    }

    #[tokio::test]
    #[allow(clippy::await_holding_lock)] // Deliberate: the held writer is what is tested.
    async fn reads_do_not_queue_behind_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("open store");
        store
            .add_merchant(&conformance::merchant("900002"))
            .await
            .expect("add merchant");
        let link = conformance::redirect("900002", "r", "ReaderCod1");
        let created = store.create_link(&link, 1_000).await.expect("create link");
        // Hold the writer as a long write's fsync would; reads still answer.
        let writer = store.conn.lock().expect("not poisoned");
        let read = store.link_by_code("ReaderCod1").await.expect("read");
        let grant = store.credential("client-900002").await.expect("read");
        drop(writer);
        assert_eq!(read, Some(created));
        assert!(grant.is_some());
    }

    #[test]
    fn reopening_applies_no_migration_twice_and_uses_wal() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(SqliteStore::open_in_dir(dir.path()).expect("first open"));
        let store = SqliteStore::open_in_dir(dir.path()).expect("second open");
        let conn = store.conn.lock().expect("not poisoned");
        let versions: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .expect("count");
        assert_eq!(versions, migrations::MIGRATIONS.len() as i64);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("sync");
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    #[test]
    fn refuses_a_schema_newer_than_it_knows() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(SqliteStore::open_in_dir(dir.path()).expect("first open"));
        let conn = Connection::open(dir.path().join(DB_FILE)).expect("raw open");
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
            [],
        )
        .expect("insert");
        drop(conn);
        match SqliteStore::open_in_dir(dir.path()) {
            Err(StoreError::SchemaTooNew { found: 999, .. }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
}
