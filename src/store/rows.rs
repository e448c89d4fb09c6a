//! Result rows → store records, once for both backends. SQLite and PostgreSQL select the same
//! columns in the same order; each backend only says how one column of its own row type is
//! read ([`Columns`], implemented beside each driver), so a column added to a table is mapped
//! here once and both stores read it alike.

use super::{
    AccessGrant, CallbackQr, Credential, DefaultStyle, Delivery, Link, LinkKind, LogoData,
    LogoFormat, LogoInfo, Merchant, OutboxStats, Scan, StoreError, StoredStyle, Webhook,
};

/// A value both drivers can read out of a column (`String`, `i64`, `i32`, their `Option`s…).
pub(crate) trait Value:
    rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>
{
}

impl<T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>> Value for T {}

/// One result row of either backend, read by column index.
pub(crate) trait Columns {
    /// Column `i`, or the backend's error for a missing column or a type mismatch.
    fn col<T: Value>(&self, i: usize) -> Result<T, StoreError>;
}

/// Columns of `links`, in the order [`link`] reads them. A macro, so PostgreSQL's constant
/// statements can `concat!` it.
macro_rules! link_columns {
    () => {
        "code, kind, msn, qr_id, target, created_at, updated_at, expires_at, deleted_at, style, \
         style_logo"
    };
}
pub(crate) use link_columns;

/// A `links` row selected as [`link_columns!`].
pub(crate) fn link(r: &impl Columns) -> Result<Link, StoreError> {
    let kind: String = r.col(1)?;
    Ok(Link {
        code: r.col(0)?,
        kind: LinkKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown link kind {kind:?}")))?,
        msn: r.col(2)?,
        qr_id: r.col(3)?,
        target: r.col(4)?,
        created_at_ms: r.col(5)?,
        updated_at_ms: r.col(6)?,
        expires_at_ms: r.col(7)?,
        deleted_at_ms: r.col(8)?,
        style: match r.col::<Option<String>>(9)? {
            Some(style) => Some(StoredStyle {
                style,
                logo: r.col(10)?,
            }),
            None => None,
        },
    })
}

/// A callback QR: [`link_columns!`] followed by `location_description`.
pub(crate) fn callback_qr(r: &impl Columns) -> Result<CallbackQr, StoreError> {
    Ok(CallbackQr {
        link: link(r)?,
        location_description: r.col::<Option<String>>(11)?.unwrap_or_default(),
    })
}

/// `client_id, msn, client_secret_sha256, subscription_key_sha256` of `api_credentials`.
pub(crate) fn credential(r: &impl Columns) -> Result<Credential, StoreError> {
    Ok(Credential {
        client_id: r.col(0)?,
        msn: r.col(1)?,
        client_secret_sha256: r.col(2)?,
        subscription_key_sha256: r.col(3)?,
    })
}

/// `client_id, msn, subscription_key_sha256, expires_at` of a token joined to its credential.
pub(crate) fn access_grant(r: &impl Columns) -> Result<AccessGrant, StoreError> {
    Ok(AccessGrant {
        client_id: r.col(0)?,
        msn: r.col(1)?,
        subscription_key_sha256: r.col(2)?,
        expires_at_ms: r.col(3)?,
    })
}

/// Adds one `msn, name, created_at, client_id` row of merchants left-joined to their
/// credentials (ordered by merchant) to `out`: a merchant's first row opens its entry, each row
/// with a client id adds that id.
pub(crate) fn push_merchant(out: &mut Vec<Merchant>, r: &impl Columns) -> Result<(), StoreError> {
    let msn: String = r.col(0)?;
    if out.last().is_none_or(|m| m.msn != msn) {
        out.push(Merchant {
            msn,
            name: r.col(1)?,
            client_ids: Vec::new(),
            created_at_ms: r.col(2)?,
        });
    }
    if let (Some(id), Some(m)) = (r.col::<Option<String>>(3)?, out.last_mut()) {
        m.client_ids.push(id);
    }
    Ok(())
}

/// `customer_token, code, msn, qr_id, scanned_at, expires_at` of `scans`.
pub(crate) fn scan(r: &impl Columns) -> Result<Scan, StoreError> {
    Ok(Scan {
        customer_token: r.col(0)?,
        code: r.col(1)?,
        msn: r.col(2)?,
        qr_id: r.col(3)?,
        scanned_at_ms: r.col(4)?,
        expires_at_ms: r.col(5)?,
    })
}

/// `id, msn, url, created_at` of `webhooks`; the events are the caller's to add.
pub(crate) fn webhook(r: &impl Columns) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: r.col(0)?,
        msn: r.col(1)?,
        url: r.col(2)?,
        events: Vec::new(),
        created_at_ms: r.col(3)?,
    })
}

/// `o.id, o.webhook_id, w.url, w.secret, o.event, o.body, o.created_at, o.attempts` of an
/// outbox event joined to its webhook, claimed as `claim_id`.
pub(crate) fn delivery(r: &impl Columns, claim_id: String) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.col(0)?,
        webhook_id: r.col(1)?,
        url: r.col(2)?,
        secret: r.col(3)?,
        event: r.col(4)?,
        body: r.col(5)?,
        created_at_ms: r.col(6)?,
        attempts: attempts(r, 7)?,
        claim_id,
    })
}

/// `COUNT(*), MIN(created_at)` of the pending outbox.
pub(crate) fn outbox_stats(r: &impl Columns) -> Result<OutboxStats, StoreError> {
    Ok(OutboxStats {
        pending: r.col::<i64>(0)?.max(0) as u64,
        oldest_pending_created_at_ms: r.col(1)?,
    })
}

/// `id, webhook_id, seq, event, body, created_at, state, attempts, next_attempt_at,
/// last_error, finished_at` of `outbox`.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn outbox_event(r: &impl Columns) -> Result<super::OutboxEvent, StoreError> {
    let state: String = r.col(6)?;
    Ok(super::OutboxEvent {
        id: r.col(0)?,
        webhook_id: r.col(1)?,
        seq: r.col(2)?,
        event: r.col(3)?,
        body: r.col(4)?,
        created_at_ms: r.col(5)?,
        state: super::OutboxState::parse(&state)
            .ok_or_else(|| StoreError::Backend(format!("unknown outbox state {state:?}")))?,
        attempts: attempts(r, 7)?,
        next_attempt_at_ms: r.col(8)?,
        last_error: r.col(9)?,
        finished_at_ms: r.col(10)?,
    })
}

/// `id, msn, content_type, <length of bytes>, width, height, created_at` of `logos`.
pub(crate) fn logo_info(r: &impl Columns) -> Result<LogoInfo, StoreError> {
    Ok(LogoInfo {
        id: r.col(0)?,
        msn: r.col(1)?,
        format: logo_format(r, 2)?,
        len: u64::try_from(r.col::<i64>(3)?).unwrap_or(0),
        width: dimension(r, 4)?,
        height: dimension(r, 5)?,
        created_at_ms: r.col(6)?,
    })
}

/// `id, content_type, bytes` of `logos`.
pub(crate) fn logo_data(r: &impl Columns) -> Result<LogoData, StoreError> {
    Ok(LogoData {
        id: r.col(0)?,
        format: logo_format(r, 1)?,
        bytes: r.col(2)?,
    })
}

/// `msn, style, logo_id, updated_at` of `merchant_styles`.
pub(crate) fn default_style(r: &impl Columns) -> Result<DefaultStyle, StoreError> {
    Ok(DefaultStyle {
        msn: r.col(0)?,
        style: r.col(1)?,
        logo: r.col(2)?,
        updated_at_ms: r.col(3)?,
    })
}

fn logo_format(r: &impl Columns, i: usize) -> Result<LogoFormat, StoreError> {
    let s: String = r.col(i)?;
    LogoFormat::parse(&s)
        .ok_or_else(|| StoreError::Backend(format!("unknown logo content type {s:?}")))
}

/// A logo's width or height: a `BIGINT`/`INTEGER` column holding a `u32`.
fn dimension(r: &impl Columns, i: usize) -> Result<u32, StoreError> {
    let v: i64 = r.col(i)?;
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("logo dimension {v} out of range")))
}

/// The `attempts` column: an `INTEGER` in both schemas (PostgreSQL's is 32 bits), never
/// negative.
fn attempts(r: &impl Columns, i: usize) -> Result<u32, StoreError> {
    Ok(u32::try_from(r.col::<i32>(i)?).unwrap_or(0))
}
