//! The PostgreSQL store: what several instances behind one load balancer share.
//!
//! # Connections
//! A bounded deadpool pool (`--database-pool`) of tokio-postgres connections. Every query is a
//! constant SQL string prepared once per connection (`prepare_cached`), so a request costs a
//! bind and an execute, never SQL built per request or parsed again. Timeouts on connecting and
//! on waiting for a pooled connection keep a dead database from pinning requests: they fail
//! fast with [`StoreError::Unavailable`] (the API answers `503` + `Retry-After`).
//!
//! # Consistency
//! Transactions run at READ COMMITTED. Uniqueness is the database's: the primary keys and the
//! partial unique index on live QR ids decide races between instances (two creates of one id:
//! one commits, the other gets [`Conflict::QrId`]), mapped by constraint name.
//!
//! # Several instances
//! Link writes and new outbox events `NOTIFY` in the writing transaction (delivered on commit);
//! [`listen`] holds one extra connection that `LISTEN`s, feeds [`Store::changes`], and is also
//! what [`Store::is_available`] reports on. The outbox is claimed lane by lane with
//! `FOR UPDATE SKIP LOCKED` ([`outbox`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::future::Future;

use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::rows::{self, link_columns};
use super::{
    AccessGrant, CallbackQr, Change, Conflict, Credential, DefaultStyle, Delivery, DeliveryResult,
    Link, LinkKind, LogoData, LogoInfo, Merchant, NewAccessToken, NewCallbackQr, NewLink, NewLogo,
    NewMerchant, NewScan, NewWebhook, OutboxStats, PutCallbackQr, Scan, ScanRecorded, Store,
    StoreError, StoreFuture, StyleChange, Webhook, migrations,
};

mod listen;
mod logos;
mod outbox;
mod scans;
mod tls;
pub mod url;

/// Default `--database-pool`: enough for a 2–4 core instance (requests hold a connection for
/// one short transaction), small enough that ten instances stay well inside PostgreSQL's
/// default `max_connections` of 100.
pub const DEFAULT_POOL_SIZE: usize = 8;
/// Longest a request waits for a pooled connection, or for a new one to be made.
const POOL_TIMEOUT: Duration = Duration::from_secs(3);
/// Key of the advisory lock migrations run under (any fixed number; "qrorigin" in ASCII).
const MIGRATION_LOCK: i64 = 0x7172_6f72_6967_696e;
/// `NOTIFY` channel for link writes; the payload is `<instance> <code>`.
pub(crate) const LINKS_CHANNEL: &str = "qr_origin_links";
/// `NOTIFY` channel for new outbox events; the payload is `<instance>`.
pub(crate) const OUTBOX_CHANNEL: &str = "qr_origin_outbox";

/// The PostgreSQL [`Store`].
pub struct PostgresStore {
    pool: Pool,
    /// Random id of this process, sent with its notifications so it can skip its own.
    instance: Arc<str>,
    changes: broadcast::Sender<Change>,
    available: Arc<AtomicBool>,
    /// Stops the `LISTEN` task when the store goes away.
    _listener: listen::Guard,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("instance", &self.instance)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects (checking the server answers), migrates under the advisory lock, and starts
    /// listening for other instances' changes. One clear error when the URL is bad or the
    /// server cannot be reached.
    pub async fn connect(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        let parsed = url::parse(url)?;
        let target = url::describe(&parsed.config);
        let tls = tls::connector(&parsed.tls)?;
        let manager_config = ManagerConfig {
            // Checking `is_closed` only: a connection the server dropped is replaced, and a
            // round trip per checkout is not paid on the request path.
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Some(tls) => Manager::from_config(parsed.config.clone(), tls.clone(), manager_config),
            None => Manager::from_config(parsed.config.clone(), NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot reach PostgreSQL at {target}: {}",
                chain(&e)
            ))
        })?;
        migrate(&mut client).await?;
        drop(client);
        let instance: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
        let (changes, _) = broadcast::channel(1024);
        let available = Arc::new(AtomicBool::new(true));
        let listening = Arc::new(tokio::sync::Notify::new());
        let listener = listen::spawn(listen::Listener {
            config: parsed.config,
            tls,
            instance: Arc::clone(&instance),
            changes: changes.clone(),
            available: Arc::clone(&available),
            listening: Arc::clone(&listening),
        });
        // Serve only once other instances' changes are heard (bounded: a listener that cannot
        // connect keeps retrying, and /readyz says so).
        let _ = tokio::time::timeout(POOL_TIMEOUT, listening.notified()).await;
        Ok(PostgresStore {
            pool,
            instance,
            changes,
            available,
            _listener: listener,
        })
    }

    /// A pooled connection, or [`StoreError::Unavailable`].
    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!("no PostgreSQL connection: {}", chain(&e)))
        })
    }

    /// The write of [`Store::set_link_target`] and [`Store::delete_link`]: the merchant's live
    /// link `(msn, kind, qr_id, now_ms)`, locked, changed by `change` once a style's `logo` is
    /// checked to be the merchant's, written back and announced to the other instances.
    async fn rewrite_live_link(
        &self,
        mut c: Object,
        (msn, kind, qr_id, now_ms): (&str, LinkKind, &str, i64),
        logo: Option<&str>,
        change: impl FnOnce(&mut Link),
    ) -> Result<Option<Link>, StoreError> {
        let tx = c.transaction().await.map_err(pg)?;
        let Some(mut link) = live_link(&tx, msn, kind, qr_id, now_ms, true).await? else {
            return Ok(None);
        };
        logos::check_style_logo(&tx, msn, logo).await?;
        change(&mut link);
        let stmt = tx
            .prepare_cached(
                "UPDATE links SET target = $1, updated_at = $2, deleted_at = $3, style = $4,
                     style_logo = $5
                 WHERE code = $6",
            )
            .await
            .map_err(pg)?;
        let stored = link.style.as_ref();
        tx.execute(
            &stmt,
            &[
                &link.target,
                &link.updated_at_ms,
                &link.deleted_at_ms,
                &stored.map(|s| &s.style),
                &stored.and_then(|s| s.logo.as_ref()),
                &link.code,
            ],
        )
        .await
        .map_err(pg)?;
        notify_link(&tx, &self.instance, &link.code).await?;
        tx.commit().await.map_err(pg)?;
        Ok(Some(link))
    }

    /// Runs `f` on a pooled connection: the one shape of every [`Store`] method, which only
    /// differ in what they do with the connection (it goes back to the pool when `f` is done).
    fn on_conn<'a, T, Fut>(
        &'a self,
        f: impl FnOnce(Object) -> Fut + Send + 'a,
    ) -> StoreFuture<'a, T>
    where
        Fut: Future<Output = Result<T, StoreError>> + Send + 'a,
    {
        Box::pin(async move { f(self.conn().await?).await })
    }
}

impl rows::Columns for Row {
    fn col<T: rows::Value>(&self, i: usize) -> Result<T, StoreError> {
        self.try_get(i).map_err(pg)
    }
}

/// Locks the merchant's row for the rest of `tx`; `false` when there is no such merchant. A
/// write on a merchant's behalf takes it first, which also serialises that merchant's writes
/// across instances (two registrations at once cannot both pass a per-merchant limit).
pub(crate) async fn lock_merchant(
    tx: &deadpool_postgres::Transaction<'_>,
    msn: &str,
) -> Result<bool, StoreError> {
    let stmt = tx
        .prepare_cached("SELECT 1 FROM merchants WHERE msn = $1 FOR UPDATE")
        .await
        .map_err(pg)?;
    Ok(tx.query_opt(&stmt, &[&msn]).await.map_err(pg)?.is_some())
}

/// The first row the constant statement `sql` answers, read by `map` (a [`rows`] function).
pub(crate) async fn query_opt<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: impl FnOnce(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_opt(&stmt, params)
        .await
        .map_err(pg)?
        .map(|r| map(&r))
        .transpose()
}

/// Every row the constant statement `sql` answers, read by `map` (a [`rows`] function).
pub(crate) async fn query_all<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(pg)?;
    c.query(&stmt, params)
        .await
        .map_err(pg)?
        .iter()
        .map(map)
        .collect()
}

/// Applies pending migrations in one transaction holding a transaction-level advisory lock:
/// instances starting at once queue on the lock, and the second finds nothing left to do.
async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    tx.batch_execute(migrations::CREATE_VERSION_TABLE)
        .await
        .map_err(pg)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    for m in migrations::pending(current)? {
        tx.batch_execute(&migrations::postgres_sql(m))
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "migration {} ({}): {}",
                    m.version,
                    m.name,
                    chain(&e)
                ))
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_ms],
        )
        .await
        .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)
}

/// The error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let next = src.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = src.source();
    }
    s
}

/// Maps a driver error: transient ones (lost connection, server shutting down, serialization
/// failure, deadlock, too many connections) are retryable, the rest are backend failures.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (I/O, closed, TLS).
        return StoreError::Unavailable(chain(&e));
    };
    let transient = *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || code.code().starts_with("08");
    if transient {
        StoreError::Unavailable(chain(&e))
    } else {
        StoreError::Backend(chain(&e))
    }
}

/// Maps a failed write: a unique violation on one of `rules` (constraint name → conflict) or a
/// foreign-key violation (→ `missing`) becomes the store's own answer.
pub(crate) fn write_err(
    e: tokio_postgres::Error,
    rules: &[(&str, Conflict)],
    missing: Option<&'static str>,
) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION
            && let Some(c) = rules
                .iter()
                .find(|(name, _)| db.constraint() == Some(name))
                .map(|(_, c)| *c)
        {
            return StoreError::Conflict(c);
        }
        if *db.code() == SqlState::FOREIGN_KEY_VIOLATION
            && let Some(what) = missing
        {
            return StoreError::Missing(what);
        }
    }
    pg(e)
}

/// The "live" filter of per-merchant link queries (`$now` is the caller's clock).
macro_rules! live {
    ($now:literal) => {
        concat!(
            "deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ",
            $now,
            ")"
        )
    };
}
pub(crate) use live;

const LIVE_LINK: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE msn = $1 AND kind = $2 AND qr_id = $3 AND ",
    live!("$4")
);
const NOTIFY_LINK: &str = "SELECT pg_notify('qr_origin_links', $1)";

/// The live link of one merchant, kind and id (locked for update when `lock`).
async fn live_link(
    c: &deadpool_postgres::Transaction<'_>,
    msn: &str,
    kind: LinkKind,
    qr_id: &str,
    now_ms: i64,
    lock: bool,
) -> Result<Option<Link>, StoreError> {
    const LOCKED: &str = concat!(
        "SELECT ",
        link_columns!(),
        " FROM links WHERE msn = $1 AND kind = $2 AND qr_id = $3 AND ",
        live!("$4"),
        " FOR UPDATE"
    );
    let sql = if lock { LOCKED } else { LIVE_LINK };
    query_opt(c, sql, &[&msn, &kind.as_str(), &qr_id, &now_ms], rows::link).await
}

/// Queues a link-change notification for other instances (sent when `tx` commits).
async fn notify_link(
    tx: &deadpool_postgres::Transaction<'_>,
    instance: &str,
    code: &str,
) -> Result<(), StoreError> {
    let stmt = tx.prepare_cached(NOTIFY_LINK).await.map_err(pg)?;
    tx.execute(&stmt, &[&format!("{instance} {code}")])
        .await
        .map_err(pg)?;
    Ok(())
}

impl Store for PostgresStore {
    fn add_merchant<'a>(&'a self, m: &'a NewMerchant) -> StoreFuture<'a, ()> {
        self.on_conn(move |mut c| async move {
            let tx = c.transaction().await.map_err(pg)?;
            let rules = [
                ("merchants_pkey", Conflict::MerchantMsn),
                ("api_credentials_pkey", Conflict::ClientId),
            ];
            let stmt = tx
                .prepare_cached("INSERT INTO merchants (msn, name, created_at) VALUES ($1, $2, $3)")
                .await
                .map_err(pg)?;
            tx.execute(&stmt, &[&m.msn, &m.name, &m.created_at_ms])
                .await
                .map_err(|e| write_err(e, &rules, None))?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO api_credentials
                         (client_id, msn, client_secret_sha256, subscription_key_sha256, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await
                .map_err(pg)?;
            tx.execute(
                &stmt,
                &[
                    &m.client_id,
                    &m.msn,
                    &m.client_secret_sha256,
                    &m.subscription_key_sha256,
                    &m.created_at_ms,
                ],
            )
            .await
            .map_err(|e| write_err(e, &rules, None))?;
            tx.commit().await.map_err(pg)
        })
    }

    fn list_merchants(&self) -> StoreFuture<'_, Vec<Merchant>> {
        self.on_conn(|c| async move {
            const SQL: &str = "SELECT m.msn, m.name, m.created_at, c.client_id
                 FROM merchants m LEFT JOIN api_credentials c ON c.msn = m.msn
                 ORDER BY m.msn, c.created_at, c.client_id";
            let mut out = Vec::new();
            query_all(&c, SQL, &[], |r| rows::push_merchant(&mut out, r)).await?;
            Ok(out)
        })
    }

    fn credential<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Option<Credential>> {
        self.on_conn(move |c| async move {
            const SQL: &str = "SELECT client_id, msn, client_secret_sha256, subscription_key_sha256
                 FROM api_credentials WHERE client_id = $1";
            query_opt(&c, SQL, &[&client_id], rows::credential).await
        })
    }

    fn add_access_token<'a>(&'a self, t: &'a NewAccessToken) -> StoreFuture<'a, ()> {
        self.on_conn(move |mut c| async move {
            let tx = c.transaction().await.map_err(pg)?;
            let stmt = tx
                .prepare_cached("DELETE FROM access_tokens WHERE expires_at <= $1")
                .await
                .map_err(pg)?;
            tx.execute(&stmt, &[&t.created_at_ms]).await.map_err(pg)?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO access_tokens (token_sha256, client_id, msn, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await
                .map_err(pg)?;
            tx.execute(
                &stmt,
                &[
                    &t.token_sha256,
                    &t.client_id,
                    &t.msn,
                    &t.created_at_ms,
                    &t.expires_at_ms,
                ],
            )
            .await
            .map_err(|e| write_err(e, &[], Some("client id")))?;
            tx.commit().await.map_err(pg)
        })
    }

    fn access_grant<'a>(
        &'a self,
        token_sha256: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<AccessGrant>> {
        self.on_conn(move |c| async move {
            const SQL: &str = "SELECT t.client_id, t.msn, c.subscription_key_sha256, t.expires_at
                 FROM access_tokens t JOIN api_credentials c ON c.client_id = t.client_id
                 WHERE t.token_sha256 = $1 AND t.expires_at > $2";
            query_opt(&c, SQL, &[&token_sha256, &now_ms], rows::access_grant).await
        })
    }

    fn create_link<'a>(&'a self, l: &'a NewLink, now_ms: i64) -> StoreFuture<'a, Link> {
        self.on_conn(move |mut c| async move {
            let tx = c.transaction().await.map_err(pg)?;
            let stmt = tx
                .prepare_cached("SELECT 1 FROM links WHERE code = $1")
                .await
                .map_err(pg)?;
            if tx.query_opt(&stmt, &[&l.code]).await.map_err(pg)?.is_some() {
                return Err(StoreError::Conflict(Conflict::Code));
            }
            let style = l.style.as_ref();
            logos::check_style_logo(&tx, &l.msn, style.and_then(|s| s.logo.as_deref())).await?;
            if let Some(qr_id) = &l.qr_id {
                // An expired QR frees its id: retire it (as deleted at its expiry) first.
                let stmt = tx
                    .prepare_cached(
                        "UPDATE links SET deleted_at = expires_at
                         WHERE msn = $1 AND kind = $2 AND qr_id = $3 AND deleted_at IS NULL
                           AND expires_at IS NOT NULL AND expires_at <= $4",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&stmt, &[&l.msn, &l.kind.as_str(), qr_id, &now_ms])
                    .await
                    .map_err(pg)?;
                if live_link(&tx, &l.msn, l.kind, qr_id, now_ms, false)
                    .await?
                    .is_some()
                {
                    return Err(StoreError::Conflict(Conflict::QrId));
                }
            }
            const INSERT: &str = concat!(
                "INSERT INTO links (",
                link_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $6, $7, NULL, $8, $9)"
            );
            let stmt = tx.prepare_cached(INSERT).await.map_err(pg)?;
            // A concurrent create of the same id on another instance gets past the check
            // above; the partial unique index decides which one commits.
            tx.execute(
                &stmt,
                &[
                    &l.code,
                    &l.kind.as_str(),
                    &l.msn,
                    &l.qr_id,
                    &l.target,
                    &l.created_at_ms,
                    &l.expires_at_ms,
                    &style.map(|s| &s.style),
                    &style.and_then(|s| s.logo.as_ref()),
                ],
            )
            .await
            .map_err(|e| {
                write_err(
                    e,
                    &[
                        ("links_pkey", Conflict::Code),
                        ("links_live_qr_id", Conflict::QrId),
                    ],
                    Some("merchant"),
                )
            })?;
            notify_link(&tx, &self.instance, &l.code).await?;
            tx.commit().await.map_err(pg)?;
            Ok(l.clone().created())
        })
    }

    fn link_by_code<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Link>> {
        self.on_conn(move |c| async move {
            const SQL: &str = concat!("SELECT ", link_columns!(), " FROM links WHERE code = $1");
            query_opt(&c, SQL, &[&code], rows::link).await
        })
    }

    fn merchant_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        self.on_conn(move |c| async move {
            let params: [&(dyn ToSql + Sync); 4] = [&msn, &kind.as_str(), &qr_id, &now_ms];
            query_opt(&c, LIVE_LINK, &params, rows::link).await
        })
    }

    fn merchant_links<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<Link>> {
        self.on_conn(move |c| async move {
            const SQL: &str = concat!(
                "SELECT ",
                link_columns!(),
                " FROM links WHERE msn = $1 AND kind = $2 AND ",
                live!("$3"),
                " ORDER BY created_at, code"
            );
            query_all(&c, SQL, &[&msn, &kind.as_str(), &now_ms], rows::link).await
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
        let change = move |link: &mut Link| link.retarget(target, style, now_ms);
        let live = (msn, kind, qr_id, now_ms);
        self.on_conn(move |c| self.rewrite_live_link(c, live, style.logo(), change))
    }

    fn delete_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        let change = move |link: &mut Link| link.delete(now_ms);
        let live = (msn, kind, qr_id, now_ms);
        self.on_conn(move |c| self.rewrite_live_link(c, live, None, change))
    }

    fn put_callback_qr<'a>(
        &'a self,
        qr: &'a NewCallbackQr,
        now_ms: i64,
    ) -> StoreFuture<'a, PutCallbackQr> {
        self.on_conn(move |c| outbox::put_callback_qr(c, &self.instance, qr, now_ms))
    }

    fn callback_qr<'a>(
        &'a self,
        msn: &'a str,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<CallbackQr>> {
        self.on_conn(move |c| outbox::callback_qr(c, msn, qr_id, now_ms))
    }

    fn callback_qrs<'a>(&'a self, msn: &'a str, now_ms: i64) -> StoreFuture<'a, Vec<CallbackQr>> {
        self.on_conn(move |c| outbox::callback_qrs(c, msn, now_ms))
    }

    fn record_scan<'a>(&'a self, scan: &'a NewScan) -> StoreFuture<'a, Option<ScanRecorded>> {
        self.on_conn(move |c| outbox::record_scan(c, &self.instance, scan))
    }

    fn scan_by_token<'a>(&'a self, token: &'a str, now_ms: i64) -> StoreFuture<'a, Option<Scan>> {
        self.on_conn(move |c| outbox::scan_by_token(c, token, now_ms))
    }

    fn add_webhook<'a>(
        &'a self,
        webhook: &'a NewWebhook,
        max_per_event: usize,
    ) -> StoreFuture<'a, Webhook> {
        self.on_conn(move |c| outbox::add_webhook(c, webhook, max_per_event))
    }

    fn webhooks<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<Webhook>> {
        self.on_conn(move |c| async move { outbox::live_webhooks(&c, msn, None).await })
    }

    fn delete_webhook<'a>(
        &'a self,
        msn: &'a str,
        id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Webhook>> {
        self.on_conn(move |c| outbox::delete_webhook(c, msn, id, now_ms))
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Delivery>> {
        self.on_conn(move |c| outbox::claim_deliveries(c, now_ms, lease_ms, limit))
    }

    fn finish_delivery<'a>(
        &'a self,
        delivery: &'a Delivery,
        result: &'a DeliveryResult,
        now_ms: i64,
    ) -> StoreFuture<'a, bool> {
        self.on_conn(move |c| outbox::finish_delivery(c, delivery, result, now_ms))
    }

    #[cfg(any(test, feature = "testing"))]
    fn outbox_events<'a>(
        &'a self,
        webhook_id: &'a str,
    ) -> StoreFuture<'a, Vec<super::OutboxEvent>> {
        self.on_conn(move |c| outbox::outbox_events(c, webhook_id))
    }

    fn outbox_stats(&self) -> StoreFuture<'_, OutboxStats> {
        self.on_conn(outbox::outbox_stats)
    }

    fn prune_outbox(&self, before_ms: i64) -> StoreFuture<'_, u64> {
        self.on_conn(move |c| outbox::prune_outbox(c, before_ms))
    }

    fn add_logo<'a>(&'a self, logo: &'a NewLogo, max_per_merchant: usize) -> StoreFuture<'a, bool> {
        self.on_conn(move |c| logos::add_logo(c, logo, max_per_merchant))
    }

    fn merchant_logos<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<LogoInfo>> {
        self.on_conn(move |c| logos::merchant_logos(c, msn))
    }

    fn merchant_logo<'a>(&'a self, msn: &'a str, id: &'a str) -> StoreFuture<'a, Option<LogoInfo>> {
        self.on_conn(move |c| logos::merchant_logo(c, msn, id))
    }

    fn logo<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LogoData>> {
        self.on_conn(move |c| logos::logo(c, id))
    }

    fn delete_logo<'a>(&'a self, msn: &'a str, id: &'a str, now_ms: i64) -> StoreFuture<'a, bool> {
        self.on_conn(move |c| logos::delete_logo(c, msn, id, now_ms))
    }

    fn put_default_style<'a>(&'a self, style: &'a DefaultStyle) -> StoreFuture<'a, ()> {
        self.on_conn(move |c| logos::put_default_style(c, style))
    }

    fn default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Option<DefaultStyle>> {
        self.on_conn(move |c| logos::default_style(c, msn))
    }

    fn delete_default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, bool> {
        self.on_conn(move |c| logos::delete_default_style(c, msn))
    }

    fn is_available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestDatabase, conformance};

    #[tokio::test]
    async fn passes_the_store_conformance_suite() {
        let Some(db) = TestDatabase::create().await else {
            return;
        };
        let store = db.store().await;
        conformance::run_all(&*store).await;
    }

    #[tokio::test]
    async fn instances_starting_at_once_migrate_once() {
        let Some(db) = TestDatabase::create().await else {
            return;
        };
        let (a, b, c) = tokio::join!(db.open(), db.open(), db.open());
        let (a, _b, _c) = (a.expect("a"), b.expect("b"), c.expect("c"));
        let client = a.conn().await.expect("conn");
        let rows = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await
            .expect("versions");
        let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let known: Vec<i64> = migrations::MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, known, "each version applied exactly once");
    }

    #[tokio::test]
    async fn refuses_a_schema_newer_than_it_knows() {
        let Some(db) = TestDatabase::create().await else {
            return;
        };
        let store = db.store().await;
        store
            .conn()
            .await
            .expect("conn")
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
                &[],
            )
            .await
            .expect("insert");
        match db.open().await {
            Err(e @ StoreError::SchemaTooNew { found: 999, .. }) => {
                assert!(e.to_string().contains("newer"), "{e}");
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_one_retryable_error() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let url = format!("postgres://postgres:hunter2@127.0.0.1:{port}/nowhere");
        let e = PostgresStore::connect(&url, 2)
            .await
            .expect_err("nobody listens");
        assert!(e.is_retryable(), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}/nowhere")), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[tokio::test]
    async fn other_instances_hear_about_link_writes() {
        let Some(db) = TestDatabase::create().await else {
            return;
        };
        let (a, b) = (db.store().await, db.store().await);
        let mut feed = b.changes().expect("postgres has a feed");
        // The first message of a fresh feed may be the listener's start-up resync.
        a.add_merchant(&conformance::merchant("555001"))
            .await
            .expect("merchant");
        let link = conformance::redirect("555001", "q", "Notify0001");
        a.create_link(&link, 1_000).await.expect("create");
        let mut own = a.changes().expect("feed");
        let heard = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match feed.recv().await.expect("feed open") {
                    Change::Link(code) => return code,
                    _ => continue,
                }
            }
        })
        .await
        .expect("B hears A's write");
        assert_eq!(heard, "Notify0001");
        a.set_link_target(
            "555001",
            LinkKind::Redirect,
            "q",
            "https://x.example/",
            &StyleChange::Keep,
            2_000,
        )
        .await
        .expect("retarget")
        .expect("live");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    if let Ok(Change::Link(_)) = own.recv().await {
                        return;
                    }
                }
            })
            .await
            .is_err(),
            "an instance is not told about its own writes"
        );
    }
}
