//! Durable state behind one async trait: merchants, credentials, access tokens and the short
//! links every QR points at.
//!
//! The HTTP layer reaches storage only through [`Store`]; it knows nothing of SQL. Every
//! implementation runs the same [`conformance`] suite, so the embedded SQLite store (the zero
//! set-up default, [`sqlite::SqliteStore`]) and a PostgreSQL store (next) behave identically.
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
//! # Extending (merchant-callback QRs, webhooks, outbox — issue 5)
//! - Callback QRs are [`LinkKind::Callback`] rows in the same `links` table (`qr_id` =
//!   `merchantQrId`, `target` unused); a migration may add a `location_description` column.
//!   The generic `*_link` methods already serve them.
//! - Webhooks and the outbox get their own tables in a new numbered migration
//!   (`migrations/0002_….sql`, appended to [`sqlite::MIGRATIONS`]) and their own methods on
//!   [`Store`], with cases added to [`conformance`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub mod conformance;
pub mod sqlite;

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
    /// Anything else from the backend (I/O, corruption, lock timeout). Logged, never shown.
    #[error("storage backend: {0}")]
    Backend(String),
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
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::MerchantMsn => "merchant serial number already registered",
            Conflict::ClientId => "client id already registered",
            Conflict::QrId => "id already in use",
            Conflict::Code => "short-link code already used",
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
    /// Merchant callback (`/c/{code}`): a scan notifies the merchant (issue 5).
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
}

impl Link {
    /// Whether the link still answers at `now_ms`: not deleted and not past its expiry.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.deleted_at_ms.is_none() && self.expires_at_ms.is_none_or(|exp| now_ms < exp)
    }
}

/// Durable storage. Object-safe; the server holds an `Arc<dyn Store>`.
///
/// "Live" below means not deleted and not expired at the `now_ms` the caller passes.
pub trait Store: Send + Sync + fmt::Debug {
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
    /// [`StoreError::Missing`] for an unknown merchant.
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

    /// Points the merchant's live link of this kind and id somewhere new; `None` if there is
    /// no such live link. Returns the updated row.
    fn set_link_target<'a>(
        &'a self,
        msn: &'a str,
        kind: LinkKind,
        qr_id: &'a str,
        target: &'a str,
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
}
