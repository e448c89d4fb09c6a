//! Durable state behind one async trait: merchants, credentials, access tokens and the short
//! links every QR points at.
//!
//! The HTTP layer reaches storage only through [`Store`]; it knows nothing of SQL. Every
//! implementation runs the same [`conformance`] suite, so they behave identically; the embedded
//! SQLite store ([`sqlite::SqliteStore`]) is the zero set-up default.
//!
//! # Contract shared by every implementation
//! - A call that returns `Ok` is durable: it survives `kill -9` of the process (and, for the
//!   embedded store, power loss — see `sqlite.rs` on `synchronous=FULL`).
//! - Times are milliseconds since the Unix epoch and always come from the caller's clock; the
//!   store never reads the wall clock, so tests move a `ManualClock` instead of sleeping.
//! - Short-link codes are never reused: link rows are only ever marked deleted, and the code is
//!   the primary key, so a printed code can never point somewhere new.
//! - A merchant only ever sees its own QRs: every per-merchant query is keyed by `msn`.
//!
//! # Merchant-callback QRs, webhooks and the outbox
//! - A callback QR is a [`LinkKind::Callback`] link plus its location description
//!   ([`CallbackQr`]); `delete_link` and `link_by_code` serve it like any link.
//! - A scan ([`Store::record_scan`]) stores the scan and one outbox event per live webhook of the
//!   merchant registered for the event, in one transaction: once it returns, the events are
//!   durable, and only then does the phone get its answer.
//! - Delivery order is per webhook: each webhook has one lane (a lease row: owner and
//!   lease-until), a worker claims the lane ([`Store::claim_deliveries`]) and with it only the
//!   oldest pending event of that webhook, so a later event waits for the earlier one. A
//!   crashed worker's lanes are taken over when their lease lapses; its late result is refused
//!   ([`Store::finish_delivery`] is fenced on the lane's owner). PostgreSQL claims lanes with
//!   `FOR UPDATE SKIP LOCKED`, so any number of instances deliver from one outbox.
//!
//! # Schema
//! Both stores apply the one ordered set in [`migrations`]; [`open`] picks the store.
//!
//! # Several instances
//! A store shared by several processes may tell each of them what the others wrote
//! ([`Store::changes`]): PostgreSQL through `LISTEN/NOTIFY`, so link caches drop a changed row
//! at once and idle delivery workers wake for new events.
//!
//! # Scan analytics
//! Hourly counters per short-link code and the day's visitor sets ([`scans`]).
//!
//! # Logos and default styles
//! - A logo row is one merchant's copy of an uploaded image, keyed by (merchant, SHA-256 of the
//!   bytes): immutable, so an image URL naming it means one picture for as long as a CDN keeps
//!   it. The origin reads logos by id alone ([`Store::logo`]); the API checked ownership when
//!   it signed the URL.
//! - A merchant's [`DefaultStyle`] is a JSON object the store does not interpret, plus the logo
//!   it names, so the store can hold "only the merchant's own logos" and refuse to delete a logo
//!   the style still names ([`Conflict::LogoInUse`]).
//! - A merchant-redirect or merchant-callback QR may store a style of its own
//!   ([`StoredStyle`], on its link row): such a QR is printed and lives long, so it keeps its look
//!   whatever the merchant's default does later. The same rules hold for it: it names only the
//!   merchant's own logos, and a logo a live QR's style names cannot be deleted
//!   ([`Conflict::LogoOnQr`]).

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

pub mod migrations;
pub mod postgres;
mod rows;
pub mod scans;
pub mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The future every [`Store`] method returns. Boxed so the trait stays object-safe
/// (`Arc<dyn Store>` in the app state) without an extra macro crate.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Failures of the storage layer. The HTTP layer maps them to statuses in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the caller decides what that means to the client.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A referenced row does not exist (e.g. a link for an unknown merchant).
    #[error("unknown {0}")]
    Missing(&'static str),
    /// The database was written by a newer binary; refusing to run on a schema we do not know.
    #[error("database schema version {found} is newer than the newest this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// A failure that goes away by itself: the database is unreachable or restarting, the
    /// pool is exhausted, or a transaction lost a serialization race or a deadlock. Retrying
    /// later may well succeed; the API answers `503` with `Retry-After`.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    /// The store cannot be opened as configured (bad database URL, unreadable CA file).
    #[error("{0}")]
    Config(String),
    /// Anything else from the backend (I/O, corruption, lock timeout). Logged, never shown.
    #[error("storage backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the same call may succeed if simply tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// `Retry-After` (seconds) on a `503` for a [`StoreError::Unavailable`]: the pool reconnects
/// on the next request, so a client coming back after a couple of seconds finds the database
/// again if it is back.
pub const RETRY_AFTER_SECS: &str = "2";

/// Which store to open; built from `--data-dir`, `--database-url` and `--database-pool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `postgres://…` or `postgresql://…`; `None` = the embedded store in the data dir.
    pub database_url: Option<String>,
    /// Most PostgreSQL connections this process holds at once (requests beyond it wait).
    pub pool_size: usize,
}

impl StoreSettings {
    /// What opening this store means, for the one error line when it fails (never the URL:
    /// it may hold a password).
    pub fn describe(&self, data_dir: &std::path::Path) -> String {
        match self.database_url {
            Some(_) => "opening the PostgreSQL store (--database-url)".to_owned(),
            None => format!("opening the embedded store in {}", data_dir.display()),
        }
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            database_url: None,
            pool_size: postgres::DEFAULT_POOL_SIZE,
        }
    }
}

/// Opens the configured store and brings its schema up to date: PostgreSQL when a database
/// URL is set, else the embedded store in `data_dir`. The one way `serve` and every
/// subcommand reach storage.
pub async fn open(data_dir: &Path, settings: &StoreSettings) -> Result<Arc<dyn Store>, StoreError> {
    match &settings.database_url {
        Some(url) => Ok(Arc::new(
            postgres::PostgresStore::connect(url, settings.pool_size).await?,
        )),
        None => {
            let dir = data_dir.to_owned();
            let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open_in_dir(&dir))
                .await
                .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))??;
            Ok(Arc::new(store))
        }
    }
}

/// What another process sharing the store changed, as told by [`Store::changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The short link with this code was created, retargeted or deleted.
    Link(String),
    /// New webhook events were enqueued, or a lane was freed.
    Outbox,
    /// Notifications may have been missed (the feed reconnected, or a receiver lagged): drop
    /// everything cached.
    Resync,
}

/// Which uniqueness rule a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A merchant with this serial number exists.
    MerchantMsn,
    /// A credential with this client id exists.
    ClientId,
    /// The merchant already has a live QR of this kind with this id.
    QrId,
    /// The short-link code was handed out before (possibly to a deleted QR); draw another.
    Code,
    /// The merchant already has the maximum number of live webhooks for one of the events.
    WebhookLimit,
    /// A webhook with this id exists; draw another.
    WebhookId,
    /// The merchant already stores the maximum number of logos.
    LogoLimit,
    /// The merchant's default style names this logo; change or delete the style first.
    LogoInUse,
    /// A live QR's stored style names this logo; give the QR another style, or delete it, first.
    LogoOnQr,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::MerchantMsn => "merchant serial number already registered",
            Conflict::ClientId => "client id already registered",
            Conflict::QrId => "id already in use",
            Conflict::Code => "short-link code already used",
            Conflict::WebhookLimit => "too many webhooks registered for an event",
            Conflict::WebhookId => "webhook id already used",
            Conflict::LogoLimit => "too many logos stored",
            Conflict::LogoInUse => "logo is named by the default style",
            Conflict::LogoOnQr => "logo is named by a live QR's style",
        })
    }
}

/// A merchant and its first set of API credentials, created together by `merchant add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMerchant {
    pub msn: String,
    pub name: String,
    pub client_id: String,
    /// Lower-case hex SHA-256 of the client secret; the secret itself is never stored.
    pub client_secret_sha256: String,
    /// Lower-case hex SHA-256 of the subscription key.
    pub subscription_key_sha256: String,
    pub created_at_ms: i64,
}

/// A merchant as listed by `merchant list` (no secrets, not even their hashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub msn: String,
    pub name: String,
    /// Client ids of the merchant's credentials, oldest first.
    pub client_ids: Vec<String>,
    pub created_at_ms: i64,
}

/// What `POST /accesstoken/get` checks the presented credentials against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub client_id: String,
    pub msn: String,
    pub client_secret_sha256: String,
    pub subscription_key_sha256: String,
}

/// An access token to remember (by hash) until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessToken {
    /// Lower-case hex SHA-256 of the bearer token.
    pub token_sha256: String,
    pub client_id: String,
    pub msn: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Who an unexpired access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub client_id: String,
    pub msn: String,
    /// The subscription key that must accompany the token (`Ocp-Apim-Subscription-Key`).
    pub subscription_key_sha256: String,
    pub expires_at_ms: i64,
}

/// The kind of QR a short link belongs to; decides its path prefix and behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Merchant redirect (`/r/{code}`): 302 to a target the merchant can change.
    Redirect,
    /// One-time payment (`/p/{code}`): 302 to the payment URL until it expires.
    Payment,
    /// Merchant callback (`/c/{code}`): a scan notifies the merchant.
    Callback,
}

impl LinkKind {
    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Redirect => "redirect",
            LinkKind::Payment => "payment",
            LinkKind::Callback => "callback",
        }
    }

    /// Inverse of [`LinkKind::as_str`].
    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "redirect" => Some(LinkKind::Redirect),
            "payment" => Some(LinkKind::Payment),
            "callback" => Some(LinkKind::Callback),
            _ => None,
        }
    }
}

/// A short link to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// The random code; the caller draws a new one on [`Conflict::Code`].
    pub code: String,
    pub kind: LinkKind,
    pub msn: String,
    /// The merchant's id for the QR (`None` for one-time payments).
    pub qr_id: Option<String>,
    pub target: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    /// The QR's own style (merchant-redirect QRs); `None` follows the merchant's default.
    pub style: Option<StoredStyle>,
}

impl NewLink {
    /// The row a store holds once this link is created: what the caller gave, updated when
    /// created, not deleted. Both backends answer a create with it rather than reading back.
    pub(crate) fn created(self) -> Link {
        Link {
            code: self.code,
            kind: self.kind,
            msn: self.msn,
            qr_id: self.qr_id,
            target: self.target,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.created_at_ms,
            expires_at_ms: self.expires_at_ms,
            deleted_at_ms: None,
            style: self.style,
        }
    }
}

/// A stored short link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub code: String,
    pub kind: LinkKind,
    pub msn: String,
    pub qr_id: Option<String>,
    pub target: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub deleted_at_ms: Option<i64>,
    /// The style stored with the QR, if it has one of its own.
    pub style: Option<StoredStyle>,
}

/// A style stored with one QR: its image URLs are drawn this way for as long as it lives,
/// whatever the merchant's default style becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStyle {
    /// The style as the API validated it, a JSON object the store does not interpret.
    pub style: String,
    /// The logo it names, kept apart so the store holds the ownership rule (one of the
    /// merchant's logos) and refuses to delete the logo while the QR lives.
    pub logo: Option<String>,
}

/// What an update does to a QR's stored style.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StyleChange {
    /// Leave it as it is (a new QR: no style of its own).
    #[default]
    Keep,
    /// Remove it: the QR follows the merchant's default style again.
    Clear,
    /// Store this one, replacing any.
    Set(StoredStyle),
}

impl StyleChange {
    /// The style a QR created with this change stores.
    pub fn for_new(&self) -> Option<&StoredStyle> {
        match self {
            StyleChange::Set(s) => Some(s),
            StyleChange::Keep | StyleChange::Clear => None,
        }
    }

    /// The logo a write with this change must find among the merchant's logos.
    pub fn logo(&self) -> Option<&str> {
        self.for_new().and_then(|s| s.logo.as_deref())
    }

    /// `current` after the change.
    pub fn apply(&self, current: Option<StoredStyle>) -> Option<StoredStyle> {
        match self {
            StyleChange::Keep => current,
            StyleChange::Clear => None,
            StyleChange::Set(s) => Some(s.clone()),
        }
    }
}

impl Link {
    /// Whether the link still answers at `now_ms`: not deleted and not past its expiry.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.deleted_at_ms.is_none() && self.expires_at_ms.is_none_or(|exp| now_ms < exp)
    }

    /// The row [`Store::set_link_target`] writes: pointed at `target`, its style changed as
    /// `style` says, updated at `now_ms`. Both backends change the row here, then write it.
    pub(crate) fn retarget(&mut self, target: &str, style: &StyleChange, now_ms: i64) {
        self.style = style.apply(self.style.take());
        self.target = Some(target.to_owned());
        self.updated_at_ms = now_ms;
    }

    /// The row [`Store::delete_link`] writes: deleted (and updated) at `now_ms`.
    pub(crate) fn delete(&mut self, now_ms: i64) {
        self.deleted_at_ms = Some(now_ms);
        self.updated_at_ms = now_ms;
    }
}

impl CallbackQr {
    /// The row a [`Store::put_callback_qr`] of an existing QR writes: `qr`'s description, its
    /// style changed as `qr.style` says, updated at `now_ms`.
    pub(crate) fn update(&mut self, qr: &NewCallbackQr, now_ms: i64) {
        self.link.style = qr.style.apply(self.link.style.take());
        self.location_description = qr.location_description.clone();
        self.link.updated_at_ms = now_ms;
    }
}

/// A merchant-callback QR to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallbackQr {
    /// The random code of the `/c/` link; used only when the QR is created, not on an update.
    pub code: String,
    pub msn: String,
    /// The merchant's `merchantQrId`.
    pub qr_id: String,
    pub location_description: String,
    pub created_at_ms: i64,
    /// The QR's own style: set on a create or an update, kept by [`StyleChange::Keep`].
    pub style: StyleChange,
}

/// A stored merchant-callback QR: its short link and what it shows the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackQr {
    pub link: Link,
    pub location_description: String,
}

/// What [`Store::put_callback_qr`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutCallbackQr {
    pub qr: CallbackQr,
    /// `false` when a live QR with that id existed and only its description changed.
    pub created: bool,
}

/// A webhook registration to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Random id (a UUID), drawn by the caller.
    pub id: String,
    pub msn: String,
    pub url: String,
    /// The HMAC key deliveries are signed with, handed to the merchant once at registration.
    pub secret: String,
    /// Event types, e.g. `user.checked-in.v1`; at least one, no duplicates.
    pub events: Vec<String>,
    pub created_at_ms: i64,
}

impl NewWebhook {
    /// The registration as listed once stored, with `events` as the store now holds them.
    pub(crate) fn listed(&self, events: Vec<String>) -> Webhook {
        Webhook {
            id: self.id.clone(),
            msn: self.msn.clone(),
            url: self.url.clone(),
            events,
            created_at_ms: self.created_at_ms,
        }
    }
}

/// A webhook registration as listed (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub msn: String,
    pub url: String,
    /// Event types, sorted.
    pub events: Vec<String>,
    pub created_at_ms: i64,
}

/// A scan of a callback QR to record, with the event it triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScan {
    /// The `/c/` code that was opened.
    pub code: String,
    /// Random token handed to the merchant in the event; the key of the scan.
    pub customer_token: String,
    pub scanned_at_ms: i64,
    /// When the customer token stops being valid.
    pub expires_at_ms: i64,
    /// Event type enqueued for every webhook of the merchant registered for it.
    pub event: String,
    /// The event body, sent as is to every such webhook.
    pub body: String,
}

/// A recorded scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub customer_token: String,
    pub code: String,
    pub msn: String,
    pub qr_id: String,
    pub scanned_at_ms: i64,
    pub expires_at_ms: i64,
}

/// What [`Store::record_scan`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecorded {
    /// The QR as it was when scanned (for the page the phone sees).
    pub qr: CallbackQr,
    /// Outbox events created: one per webhook registered for the event.
    pub enqueued: usize,
}

/// An outbox event claimed for delivery; the worker owns it until `claimed_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event id (stable across attempts; receivers may use it to drop duplicates).
    pub id: String,
    pub webhook_id: String,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub body: String,
    pub created_at_ms: i64,
    /// Attempts made before this one.
    pub attempts: u32,
    /// Proof of the claim; [`Store::finish_delivery`] ignores results without it.
    pub claim_id: String,
}

/// How one delivery attempt ended, as recorded by [`Store::finish_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The receiver answered 2xx; the event is done.
    Delivered,
    /// The attempt failed; try again at this time.
    Retry {
        next_attempt_at_ms: i64,
        error: String,
    },
    /// The attempt failed and the event is given up for good.
    Failed { error: String },
}

/// The outbox row a [`DeliveryResult`] leaves behind; both backends write these columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutboxUpdate<'a> {
    pub state: OutboxState,
    /// When to try again (a retry only).
    pub next_attempt_at_ms: Option<i64>,
    /// The last attempt's error (every failure).
    pub last_error: Option<&'a str>,
    /// When the event was settled (delivered or given up).
    pub finished_at_ms: Option<i64>,
}

impl DeliveryResult {
    /// The columns this result sets on its outbox row at `now_ms`.
    pub(crate) fn update(&self, now_ms: i64) -> OutboxUpdate<'_> {
        let (state, next_attempt_at_ms, last_error, finished_at_ms) = match self {
            DeliveryResult::Delivered => (OutboxState::Delivered, None, None, Some(now_ms)),
            DeliveryResult::Retry {
                next_attempt_at_ms,
                error,
            } => (
                OutboxState::Pending,
                Some(*next_attempt_at_ms),
                Some(error.as_str()),
                None,
            ),
            DeliveryResult::Failed { error } => (
                OutboxState::Failed,
                None,
                Some(error.as_str()),
                Some(now_ms),
            ),
        };
        OutboxUpdate {
            state,
            next_attempt_at_ms,
            last_error,
            finished_at_ms,
        }
    }
}

/// Where an outbox event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    Pending,
    Delivered,
    /// Given up after the retry window.
    Failed,
    /// Its webhook was deleted before it was delivered.
    Dropped,
}

impl OutboxState {
    /// The value stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
            OutboxState::Dropped => "dropped",
        }
    }

    /// Inverse of [`OutboxState::as_str`].
    pub fn parse(s: &str) -> Option<OutboxState> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "delivered" => Some(OutboxState::Delivered),
            "failed" => Some(OutboxState::Failed),
            "dropped" => Some(OutboxState::Dropped),
            _ => None,
        }
    }
}

/// One outbox row, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: String,
    pub webhook_id: String,
    pub seq: i64,
    pub event: String,
    pub body: String,
    pub created_at_ms: i64,
    pub state: OutboxState,
    pub attempts: u32,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub finished_at_ms: Option<i64>,
}

/// Size of the outbox, for the queue-depth metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Events not yet delivered, given up or dropped.
    pub pending: u64,
    /// Creation time of the oldest pending event.
    pub oldest_pending_created_at_ms: Option<i64>,
}

/// The media type of an uploaded logo (the upload's `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogoFormat {
    Png,
    Svg,
}

impl LogoFormat {
    /// The MIME type, also the value stored in the `content_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            LogoFormat::Png => "image/png",
            LogoFormat::Svg => "image/svg+xml",
        }
    }

    /// Inverse of [`LogoFormat::as_str`].
    pub fn parse(s: &str) -> Option<LogoFormat> {
        match s {
            "image/png" => Some(LogoFormat::Png),
            "image/svg+xml" => Some(LogoFormat::Svg),
            _ => None,
        }
    }
}

/// A logo to store, already validated and decoded once by the caller (`crate::logo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogo {
    /// Lower-case hex SHA-256 of `bytes`: a logo is immutable, so an image URL naming it keeps
    /// meaning the same picture for as long as a CDN may cache it.
    pub id: String,
    pub msn: String,
    pub format: LogoFormat,
    pub bytes: Vec<u8>,
    /// Intrinsic size in pixels (an SVG's at its own width/height).
    pub width: u32,
    pub height: u32,
    pub created_at_ms: i64,
}

/// A logo as a merchant's listing shows it (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoInfo {
    pub id: String,
    pub msn: String,
    pub format: LogoFormat,
    /// Length of the stored bytes.
    pub len: u64,
    pub width: u32,
    pub height: u32,
    pub created_at_ms: i64,
}

/// What the origin needs to draw a logo: its bytes, whoever uploaded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoData {
    pub id: String,
    pub format: LogoFormat,
    pub bytes: Vec<u8>,
}

/// A merchant's default style: applied to every image URL the API hands the merchant when the
/// call names no style of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultStyle {
    pub msn: String,
    /// The style as the API validated it, a JSON object (the API's `style` field names). The
    /// store does not interpret it; the API parses it again when it signs an image URL.
    pub style: String,
    /// The logo the style names, kept apart so the store can hold the ownership rule: it must
    /// be one of the merchant's logos, and that logo cannot be deleted while the style names it.
    pub logo: Option<String>,
    pub updated_at_ms: i64,
}

/// Durable storage. Object-safe; the server holds an `Arc<dyn Store>`.
///
/// "Live" below means not deleted and not expired at the `now_ms` the caller passes.
///
/// Scan analytics are its supertrait [`scans::ScanStore`], kept in files of their own.
pub trait Store: scans::ScanStore + Send + Sync + fmt::Debug {
    /// Registers a merchant with its first credentials.
    /// [`Conflict::MerchantMsn`] / [`Conflict::ClientId`] when either exists.
    fn add_merchant<'a>(&'a self, merchant: &'a NewMerchant) -> StoreFuture<'a, ()>;

    /// All merchants, ordered by serial number.
    fn list_merchants(&self) -> StoreFuture<'_, Vec<Merchant>>;

    /// The credential with this client id, if any.
    fn credential<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Option<Credential>>;

    /// Remembers an access token. Also forgets tokens that expired before `created_at_ms`, so
    /// the table stays as small as the number of live tokens.
    fn add_access_token<'a>(&'a self, token: &'a NewAccessToken) -> StoreFuture<'a, ()>;

    /// Who the token with this hash speaks for, if it exists and has not expired at `now_ms`.
    fn access_grant<'a>(
        &'a self,
        token_sha256: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<AccessGrant>>;

    /// Creates a short link. When `qr_id` is set and the merchant has an expired (not deleted)
    /// QR of that kind and id, that one is retired first, so an expired id can be reused.
    /// [`Conflict::QrId`] for a live duplicate, [`Conflict::Code`] when the code was ever used,
    /// [`StoreError::Missing`] for an unknown merchant, or for a style naming a logo that is not
    /// one of the merchant's.
    fn create_link<'a>(&'a self, link: &'a NewLink, now_ms: i64) -> StoreFuture<'a, Link>;

    /// The link with this code, whatever its state (deleted and expired ones included), so the
    /// caller can tell "gone" from "never existed" and cache the row.
    fn link_by_code<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Link>>;

    /// The merchant's live link of this kind and id.
    fn merchant_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>>;

    /// All the merchant's live links of this kind, oldest first.
    fn merchant_links<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<Link>>;

    /// Points the merchant's live link of this kind and id somewhere new and changes its style
    /// as `style` says, in one write; `None` if there is no such live link. Returns the updated
    /// row. [`StoreError::Missing`] (and nothing written) when the new style names a logo that
    /// is not one of the merchant's.
    fn set_link_target<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        target: &'a str,
        style: &'a StyleChange,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>>;

    /// Marks the merchant's live link of this kind and id deleted, for good; `None` if there
    /// is no such live link. Returns the deleted row (so the caller can drop cached copies).
    fn delete_link<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Link>>;

    /// Creates the merchant's callback QR `qr_id` under `qr.code`, or, when a live one exists,
    /// changes only its description and, as `qr.style` says, its style (its code, and so its
    /// content, never change). [`Conflict::Code`] when a new QR's code was ever used;
    /// [`StoreError::Missing`] for an unknown merchant, or for a style naming a logo that is
    /// not one of the merchant's.
    fn put_callback_qr<'a>(
        &'a self,
        qr: &'a NewCallbackQr,
        now_ms: i64,
    ) -> StoreFuture<'a, PutCallbackQr>;

    /// The merchant's live callback QR with this id.
    fn callback_qr<'a>(
        &'a self,
        msn: &'a str,
        qr_id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<CallbackQr>>;

    /// All the merchant's live callback QRs, oldest first.
    fn callback_qrs<'a>(&'a self, msn: &'a str, now_ms: i64) -> StoreFuture<'a, Vec<CallbackQr>>;

    /// Records a scan of a live callback QR and enqueues `scan.event` (with `scan.body`) for
    /// every live webhook of the QR's merchant registered for it, atomically. `None` (and
    /// nothing written) when the code is not a live callback QR.
    fn record_scan<'a>(&'a self, scan: &'a NewScan) -> StoreFuture<'a, Option<ScanRecorded>>;

    /// The scan this customer token was issued for, while the token is valid at `now_ms`.
    fn scan_by_token<'a>(&'a self, token: &'a str, now_ms: i64) -> StoreFuture<'a, Option<Scan>>;

    /// Registers a webhook. [`Conflict::WebhookLimit`] when the merchant already has
    /// `max_per_event` live webhooks for one of its events, [`Conflict::WebhookId`] for a used
    /// id, [`StoreError::Missing`] for an unknown merchant.
    fn add_webhook<'a>(
        &'a self,
        webhook: &'a NewWebhook,
        max_per_event: usize,
    ) -> StoreFuture<'a, Webhook>;

    /// The merchant's live webhooks, oldest first.
    fn webhooks<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<Webhook>>;

    /// Deletes the merchant's webhook and drops its undelivered events, atomically; `None` when
    /// the merchant has no such live webhook.
    fn delete_webhook<'a>(
        &'a self,
        msn: &'a str,
        id: &'a str,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<Webhook>>;

    /// Claims up to `limit` due events for delivery, at most one per webhook and only the oldest
    /// pending event of each (per-webhook order), leasing each until `now_ms + lease_ms`.
    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Delivery>>;

    /// Records how an attempt on a claimed event ended. `false` (nothing written) when the claim
    /// is no longer held: the lease was taken over, or the webhook was deleted meanwhile.
    fn finish_delivery<'a>(
        &'a self,
        delivery: &'a Delivery,
        result: &'a DeliveryResult,
        now_ms: i64,
    ) -> StoreFuture<'a, bool>;

    /// A webhook's outbox events in delivery order (all states), for tests only.
    #[cfg(any(test, feature = "testing"))]
    fn outbox_events<'a>(&'a self, webhook_id: &'a str) -> StoreFuture<'a, Vec<OutboxEvent>>;

    /// Queue depth and the age of its oldest entry.
    fn outbox_stats(&self) -> StoreFuture<'_, OutboxStats>;

    /// Stores one of the merchant's logos. `true` when stored now, `false` when the merchant
    /// already had these bytes (same id; nothing written). [`Conflict::LogoLimit`] when the
    /// merchant already has `max_per_merchant` logos, [`StoreError::Missing`] for an unknown
    /// merchant. Two merchants uploading the same bytes each own their own copy.
    fn add_logo<'a>(&'a self, logo: &'a NewLogo, max_per_merchant: usize) -> StoreFuture<'a, bool>;

    /// The merchant's logos, oldest first.
    fn merchant_logos<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Vec<LogoInfo>>;

    /// One of the merchant's logos (the ownership check before a style may name it).
    fn merchant_logo<'a>(&'a self, msn: &'a str, id: &'a str) -> StoreFuture<'a, Option<LogoInfo>>;

    /// The bytes of the logo with this id, whichever merchant stored it: the origin draws what a
    /// signed image token names, and the API checked ownership before it signed.
    fn logo<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LogoData>>;

    /// Deletes one of the merchant's logos; `false` when it has no such logo.
    /// [`Conflict::LogoInUse`] (and nothing deleted) when the merchant's default style names it,
    /// [`Conflict::LogoOnQr`] when the stored style of a QR live at `now_ms` does (deleted and
    /// expired QRs never show an image again, so they hold nothing).
    fn delete_logo<'a>(&'a self, msn: &'a str, id: &'a str, now_ms: i64) -> StoreFuture<'a, bool>;

    /// Sets (creating or replacing) the merchant's default style. [`StoreError::Missing`] when
    /// `style.logo` is not one of the merchant's logos, or the merchant is unknown.
    fn put_default_style<'a>(&'a self, style: &'a DefaultStyle) -> StoreFuture<'a, ()>;

    /// The merchant's default style, if it has one.
    fn default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, Option<DefaultStyle>>;

    /// Removes the merchant's default style; `false` when it had none.
    fn delete_default_style<'a>(&'a self, msn: &'a str) -> StoreFuture<'a, bool>;

    /// Forgets finished (delivered, failed or dropped) outbox events that finished before
    /// `before_ms`, and scans whose customer token expired before it, so neither table grows
    /// without end. Pending events are never touched. Returns the outbox rows removed.
    fn prune_outbox(&self, before_ms: i64) -> StoreFuture<'_, u64>;

    /// Whether the backend answered lately; `/readyz` turns 503 while it does not. The embedded
    /// store is a local file and always is.
    fn is_available(&self) -> bool {
        true
    }

    /// A feed of what other processes sharing this store changed, or `None` when nothing
    /// else can write to it (the embedded store).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }
}
