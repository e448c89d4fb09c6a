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

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::{
    AccessGrant, CallbackQr, Change, Conflict, Credential, DefaultStyle, Delivery, DeliveryResult,
    Link, LinkKind, LogoData, LogoInfo, Merchant, NewAccessToken, NewCallbackQr, NewLink, NewLogo,
    NewMerchant, NewScan, NewWebhook, OutboxStats, PutCallbackQr, Scan, ScanRecorded, Store,
    StoreError, StoreFuture, StoredStyle, StyleChange, Webhook, migrations,
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

/// Columns of `links`, in the order [`link_from_row`] reads them.
macro_rules! link_columns {
    () => {
        "code, kind, msn, qr_id, target, created_at, updated_at, expires_at, deleted_at, style, \
         style_logo"
    };
}
pub(crate) use link_columns;

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

pub(crate) fn link_from_row(r: &Row) -> Result<Link, StoreError> {
    let kind: String = r.try_get(1).map_err(pg)?;
    Ok(Link {
        code: r.try_get(0).map_err(pg)?,
        kind: LinkKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown link kind {kind:?}")))?,
        msn: r.try_get(2).map_err(pg)?,
        qr_id: r.try_get(3).map_err(pg)?,
        target: r.try_get(4).map_err(pg)?,
        created_at_ms: r.try_get(5).map_err(pg)?,
        updated_at_ms: r.try_get(6).map_err(pg)?,
        expires_at_ms: r.try_get(7).map_err(pg)?,
        deleted_at_ms: r.try_get(8).map_err(pg)?,
        style: match r.try_get::<_, Option<String>>(9).map_err(pg)? {
            Some(style) => Some(StoredStyle {
                style,
                logo: r.try_get(10).map_err(pg)?,
            }),
            None => None,
        },
    })
}

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
    let stmt = c
        .prepare_cached(if lock { LOCKED } else { LIVE_LINK })
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&msn, &kind.as_str(), &qr_id, &now_ms])
        .await
        .map_err(pg)?
        .map(|r| link_from_row(&r))
        .transpose()
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
        Box::pin(async move {
            let mut c = self.conn().await?;
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
        Box::pin(async move {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT m.msn, m.name, m.created_at, c.client_id
                     FROM merchants m LEFT JOIN api_credentials c ON c.msn = m.msn
                     ORDER BY m.msn, c.created_at, c.client_id",
                )
                .await
                .map_err(pg)?;
            let mut out: Vec<Merchant> = Vec::new();
            for r in c.query(&stmt, &[]).await.map_err(pg)? {
                let msn: String = r.try_get(0).map_err(pg)?;
                if out.last().is_none_or(|m| m.msn != msn) {
                    out.push(Merchant {
                        msn,
                        name: r.try_get(1).map_err(pg)?,
                        client_ids: Vec::new(),
                        created_at_ms: r.try_get(2).map_err(pg)?,
                    });
                }
                let client_id: Option<String> = r.try_get(3).map_err(pg)?;
                if let (Some(id), Some(m)) = (client_id, out.last_mut()) {
                    m.client_ids.push(id);
                }
            }
            Ok(out)
        })
    }

    fn credential<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Option<Credential>> {
        Box::pin(async move {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT client_id, msn, client_secret_sha256, subscription_key_sha256
                     FROM api_credentials WHERE client_id = $1",
                )
                .await
                .map_err(pg)?;
            let row = c.query_opt(&stmt, &[&client_id]).await.map_err(pg)?;
            row.map(|r| {
                Ok(Credential {
                    client_id: r.try_get(0).map_err(pg)?,
                    msn: r.try_get(1).map_err(pg)?,
                    client_secret_sha256: r.try_get(2).map_err(pg)?,
                    subscription_key_sha256: r.try_get(3).map_err(pg)?,
                })
            })
            .transpose()
        })
    }

    fn add_access_token<'a>(&'a self, t: &'a NewAccessToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut c = self.conn().await?;
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
        Box::pin(async move {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT t.client_id, t.msn, c.subscription_key_sha256, t.expires_at
                     FROM access_tokens t JOIN api_credentials c ON c.client_id = t.client_id
                     WHERE t.token_sha256 = $1 AND t.expires_at > $2",
                )
                .await
                .map_err(pg)?;
            let row = c
                .query_opt(&stmt, &[&token_sha256, &now_ms])
                .await
                .map_err(pg)?;
            row.map(|r| {
                Ok(AccessGrant {
                    client_id: r.try_get(0).map_err(pg)?,
                    msn: r.try_get(1).map_err(pg)?,
                    subscription_key_sha256: r.try_get(2).map_err(pg)?,
                    expires_at_ms: r.try_get(3).map_err(pg)?,
                })
            })
            .transpose()
        })
    }

    fn create_link<'a>(&'a self, l: &'a NewLink, now_ms: i64) -> StoreFuture<'a, Link> {
        Box::pin(async move {
            let mut c = self.conn().await?;
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
            Ok(Link {
                code: l.code.clone(),
                kind: l.kind,
                msn: l.msn.clone(),
                qr_id: l.qr_id.clone(),
                target: l.target.clone(),
                created_at_ms: l.created_at_ms,
                updated_at_ms: l.created_at_ms,
                expires_at_ms: l.expires_at_ms,
                deleted_at_ms: None,
                style: l.style.clone(),
            })
        })
    }

    fn link_by_code<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Link>> {
        Box::pin(async move {
            const SQL: &str = concat!("SELECT ", link_columns!(), " FROM links WHERE code = $1");
            let c = self.conn().await?;
            let stmt = c.prepare_cached(SQL).await.map_err(pg)?;
            c.query_opt(&stmt, &[&code])
                .await
                .map_err(pg)?
                .map(|r| link_from_row(&r))
                .transpose()
        })
    }

    fn merchant_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        Box::pin(async move {
            let c = self.conn().await?;
            let stmt = c.prepare_cached(LIVE_LINK).await.map_err(pg)?;
            c.query_opt(&stmt, &[&msn, &kind.as_str(), &qr_id, &now_ms])
                .await
                .map_err(pg)?
                .map(|r| link_from_row(&r))
                .transpose()
        })
    }

    fn merchant_links<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<Link>> {
        Box::pin(async move {
            const SQL: &str = concat!(
                "SELECT ",
                link_columns!(),
                " FROM links WHERE msn = $1 AND kind = $2 AND ",
                live!("$3"),
                " ORDER BY created_at, code"
            );
            let c = self.conn().await?;
            let stmt = c.prepare_cached(SQL).await.map_err(pg)?;
            c.query(&stmt, &[&msn, &kind.as_str(), &now_ms])
                .await
                .map_err(pg)?
                .iter()
                .map(link_from_row)
                .collect()
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
        Box::pin(async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.map_err(pg)?;
            let Some(mut link) = live_link(&tx, msn, kind, qr_id, now_ms, true).await? else {
                return Ok(None);
            };
            logos::check_style_logo(&tx, msn, style.logo()).await?;
            link.style = style.apply(link.style.take());
            let stmt = tx
                .prepare_cached(
                    "UPDATE links SET target = $1, updated_at = $2, style = $3, style_logo = $4
                     WHERE code = $5",
                )
                .await
                .map_err(pg)?;
            let stored = link.style.as_ref();
            tx.execute(
                &stmt,
                &[
                    &target,
                    &now_ms,
                    &stored.map(|s| &s.style),
                    &stored.and_then(|s| s.logo.as_ref()),
                    &link.code,
                ],
            )
            .await
            .map_err(pg)?;
            notify_link(&tx, &self.instance, &link.code).await?;
            tx.commit().await.map_err(pg)?;
            link.target = Some(target.to_owned());
            link.updated_at_ms = now_ms;
            Ok(Some(link))
        })
    }

    fn delete_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.map_err(pg)?;
            let Some(mut link) = live_link(&tx, msn, kind, qr_id, now_ms, true).await? else {
                return Ok(None);
            };
            let stmt = tx
                .prepare_cached("UPDATE links SET deleted_at = $1, updated_at = $1 WHERE code = $2")
                .await
                .map_err(pg)?;
            tx.execute(&stmt, &[&now_ms, &link.code])
                .await
                .map_err(pg)?;
            notify_link(&tx, &self.instance, &link.code).await?;
            tx.commit().await.map_err(pg)?;
            link.deleted_at_ms = Some(now_ms);
            link.updated_at_ms = now_ms;
            Ok(Some(link))
        })
    }

    fn put_callback_qr<'a>(
        &'a self,
        qr: &'a NewCallbackQr,
        now_ms: i64,
    ) -> StoreFuture<'a, PutCallbackQr> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::put_callback_qr(&mut c, &self.instance, qr, now_ms).await
        })
    }

    fn callback_qr<'a>(
        &'a self,
        msn: &'a str,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<CallbackQr>> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::callback_qr(&c, msn, qr_id, now_ms).await
        })
    }

    fn callback_qrs<'a>(&'a self, msn: &'a str, now_ms: i64) -> StoreFuture<'a, Vec<CallbackQr>> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::callback_qrs(&c, msn, now_ms).await
        })
    }

    fn record_scan<'a>(&'a self, scan: &'a NewScan) -> StoreFuture<'a, Option<ScanRecorded>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::record_scan(&mut c, &self.instance, scan).await
        })
    }

    fn scan_by_token<'a>(&'a self, token: &'a str, now_ms: i64) -> StoreFuture<'a, Option<Scan>> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::scan_by_token(&c, token, now_ms).await
        })
    }

    fn add_webhook<'a>(
        &'a self,
        webhook: &'a NewWebhook,
        max_per_event: usize,
    ) -> StoreFuture<'a, Webhook> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::add_webhook(&mut c, webhook, max_per_event).await
        })
    }

    fn webhooks<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<Webhook>> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::live_webhooks(&c, msn, None).await
        })
    }

    fn delete_webhook<'a>(
        &'a self,
        msn: &'a str,
        id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Webhook>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::delete_webhook(&mut c, msn, id, now_ms).await
        })
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Delivery>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::claim_deliveries(&mut c, now_ms, lease_ms, limit).await
        })
    }

    fn finish_delivery<'a>(
        &'a self,
        delivery: &'a Delivery,
        result: &'a DeliveryResult,
        now_ms: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::finish_delivery(&mut c, delivery, result, now_ms).await
        })
    }

    #[cfg(any(test, feature = "testing"))]
    fn outbox_events<'a>(
        &'a self,
        webhook_id: &'a str,
    ) -> StoreFuture<'a, Vec<super::OutboxEvent>> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::outbox_events(&c, webhook_id).await
        })
    }

    fn outbox_stats(&self) -> StoreFuture<'_, OutboxStats> {
        Box::pin(async move {
            let c = self.conn().await?;
            outbox::outbox_stats(&c).await
        })
    }

    fn prune_outbox(&self, before_ms: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            outbox::prune_outbox(&mut c, before_ms).await
        })
    }

    fn add_logo<'a>(&'a self, logo: &'a NewLogo, max_per_merchant: usize) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            logos::add_logo(&mut c, logo, max_per_merchant).await
        })
    }

    fn merchant_logos<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<LogoInfo>> {
        Box::pin(async move { logos::merchant_logos(&self.conn().await?, msn).await })
    }

    fn merchant_logo<'a>(&'a self, msn: &'a str, id: &'a str) -> StoreFuture<'a, Option<LogoInfo>> {
        Box::pin(async move { logos::merchant_logo(&self.conn().await?, msn, id).await })
    }

    fn logo<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LogoData>> {
        Box::pin(async move { logos::logo(&self.conn().await?, id).await })
    }

    fn delete_logo<'a>(&'a self, msn: &'a str, id: &'a str, now_ms: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            logos::delete_logo(&mut c, msn, id, now_ms).await
        })
    }

    fn put_default_style<'a>(&'a self, style: &'a DefaultStyle) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            logos::put_default_style(&mut c, style).await
        })
    }

    fn default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Option<DefaultStyle>> {
        Box::pin(async move { logos::default_style(&self.conn().await?, msn).await })
    }

    fn delete_default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move { logos::delete_default_style(&self.conn().await?, msn).await })
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
