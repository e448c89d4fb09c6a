//! The SQLite side of merchants' logos and default styles (migration 0003).
//!
//! Free functions over a connection, like `hooks.rs`; `sqlite.rs` runs them on the blocking
//! pool. The ownership rule (a default style, or a live QR's stored style, names only its
//! merchant's logos, and such a logo cannot be deleted) is checked here in the writing
//! transaction, and for default styles held again by the composite foreign key of
//! `merchant_styles`.

use rusqlite::{Connection, params};

use super::{LIVE, backend, exists, query_all, query_opt, require_merchant, write_tx};
use crate::store::rows;
use crate::store::{Conflict, DefaultStyle, LogoData, LogoInfo, NewLogo, StoreError};

/// Columns of `logos` (without the bytes), in the order [`rows::logo_info`] reads them.
const INFO_COLUMNS: &str = "id, msn, content_type, length(bytes), width, height, created_at";

pub(super) fn add_logo(
    conn: &mut Connection,
    logo: &NewLogo,
    max_per_merchant: usize,
) -> Result<bool, StoreError> {
    let tx = write_tx(conn)?;
    require_merchant(&tx, &logo.msn)?;
    if exists(
        &tx,
        "SELECT 1 FROM logos WHERE msn = ?1 AND id = ?2",
        [&logo.msn, &logo.id],
    )? {
        return Ok(false);
    }
    let count: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM logos WHERE msn = ?1",
            [&logo.msn],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if count as u64 >= max_per_merchant as u64 {
        return Err(StoreError::Conflict(Conflict::LogoLimit));
    }
    tx.execute(
        "INSERT INTO logos (msn, id, content_type, bytes, width, height, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            logo.msn,
            logo.id,
            logo.format.as_str(),
            logo.bytes,
            logo.width,
            logo.height,
            logo.created_at_ms
        ],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(true)
}

pub(super) fn merchant_logos(conn: &Connection, msn: &str) -> Result<Vec<LogoInfo>, StoreError> {
    query_all(
        conn,
        &format!("SELECT {INFO_COLUMNS} FROM logos WHERE msn = ?1 ORDER BY created_at, id"),
        [msn],
        |r| rows::logo_info(r),
    )
}

pub(super) fn merchant_logo(
    conn: &Connection,
    msn: &str,
    id: &str,
) -> Result<Option<LogoInfo>, StoreError> {
    query_opt(
        conn,
        &format!("SELECT {INFO_COLUMNS} FROM logos WHERE msn = ?1 AND id = ?2"),
        [msn, id],
        |r| rows::logo_info(r),
    )
}

pub(super) fn logo(conn: &Connection, id: &str) -> Result<Option<LogoData>, StoreError> {
    // Every copy has the same bytes (the id is their digest), so any row will do.
    query_opt(
        conn,
        "SELECT id, content_type, bytes FROM logos WHERE id = ?1 LIMIT 1",
        [id],
        |r| rows::logo_data(r),
    )
}

pub(super) fn delete_logo(
    conn: &mut Connection,
    msn: &str,
    id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let tx = write_tx(conn)?;
    if exists(
        &tx,
        "SELECT 1 FROM merchant_styles WHERE msn = ?1 AND logo_id = ?2",
        [msn, id],
    )? {
        return Err(StoreError::Conflict(Conflict::LogoInUse));
    }
    if exists(
        &tx,
        &format!("SELECT 1 FROM links WHERE msn = :msn AND style_logo = :id AND {LIVE}"),
        rusqlite::named_params! {":msn": msn, ":id": id, ":now": now_ms},
    )? {
        return Err(StoreError::Conflict(Conflict::LogoOnQr));
    }
    let n = tx
        .execute("DELETE FROM logos WHERE msn = ?1 AND id = ?2", [msn, id])
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(n > 0)
}

pub(super) fn put_default_style(
    conn: &mut Connection,
    style: &DefaultStyle,
) -> Result<(), StoreError> {
    let tx = write_tx(conn)?;
    require_merchant(&tx, &style.msn)?;
    if let Some(logo) = &style.logo
        && !exists(
            &tx,
            "SELECT 1 FROM logos WHERE msn = ?1 AND id = ?2",
            [&style.msn, logo],
        )?
    {
        return Err(StoreError::Missing("logo"));
    }
    tx.execute(
        "INSERT INTO merchant_styles (msn, style, logo_id, logo_msn, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (msn) DO UPDATE SET style = excluded.style, logo_id = excluded.logo_id,
             logo_msn = excluded.logo_msn, updated_at = excluded.updated_at",
        params![
            style.msn,
            style.style,
            style.logo,
            style.logo.as_ref().map(|_| &style.msn),
            style.updated_at_ms
        ],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)
}

pub(super) fn default_style(
    conn: &Connection,
    msn: &str,
) -> Result<Option<DefaultStyle>, StoreError> {
    query_opt(
        conn,
        "SELECT msn, style, logo_id, updated_at FROM merchant_styles WHERE msn = ?1",
        [msn],
        |r| rows::default_style(r),
    )
}

pub(super) fn delete_default_style(conn: &mut Connection, msn: &str) -> Result<bool, StoreError> {
    let n = conn
        .execute("DELETE FROM merchant_styles WHERE msn = ?1", [msn])
        .map_err(backend)?;
    Ok(n > 0)
}
