//! The PostgreSQL side of merchants' logos and default styles (migration 0003).
//!
//! The same rules as the embedded store's `logos.rs`: a style (a default style, or a live QR's
//! stored style) names only its merchant's logos, and a named logo cannot be deleted. Across instances the merchant row is locked first in
//! every write here, so two uploads of one merchant at once cannot both pass the limit, and a
//! logo delete cannot slip between a style write's check and its insert.

use deadpool_postgres::{Object, Transaction};

use super::{live, lock_merchant, pg, query_all, query_opt, write_err};
use crate::store::rows;
use crate::store::{Conflict, DefaultStyle, LogoData, LogoInfo, NewLogo, StoreError};

/// Columns of `logos` (without the bytes), in the order [`rows::logo_info`] reads them.
macro_rules! info_columns {
    () => {
        "id, msn, content_type, octet_length(bytes)::BIGINT, width, height, created_at"
    };
}

pub(super) async fn add_logo(
    mut c: Object,
    logo: &NewLogo,
    max_per_merchant: usize,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    if !lock_merchant(&tx, &logo.msn).await? {
        return Err(StoreError::Missing("merchant"));
    }
    let stmt = tx
        .prepare_cached("SELECT 1 FROM logos WHERE msn = $1 AND id = $2")
        .await
        .map_err(pg)?;
    if tx
        .query_opt(&stmt, &[&logo.msn, &logo.id])
        .await
        .map_err(pg)?
        .is_some()
    {
        return Ok(false);
    }
    let stmt = tx
        .prepare_cached("SELECT COUNT(*) FROM logos WHERE msn = $1")
        .await
        .map_err(pg)?;
    let count: i64 = tx.query_one(&stmt, &[&logo.msn]).await.map_err(pg)?.get(0);
    if count as u64 >= max_per_merchant as u64 {
        return Err(StoreError::Conflict(Conflict::LogoLimit));
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO logos (msn, id, content_type, bytes, width, height, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &logo.msn,
            &logo.id,
            &logo.format.as_str(),
            &logo.bytes,
            &i64::from(logo.width),
            &i64::from(logo.height),
            &logo.created_at_ms,
        ],
    )
    .await
    .map_err(|e| write_err(e, &[], Some("merchant")))?;
    tx.commit().await.map_err(pg)?;
    Ok(true)
}

pub(super) async fn merchant_logos(c: Object, msn: &str) -> Result<Vec<LogoInfo>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        info_columns!(),
        " FROM logos WHERE msn = $1 ORDER BY created_at, id"
    );
    query_all(&c, SQL, &[&msn], rows::logo_info).await
}

pub(super) async fn merchant_logo(
    c: Object,
    msn: &str,
    id: &str,
) -> Result<Option<LogoInfo>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        info_columns!(),
        " FROM logos WHERE msn = $1 AND id = $2"
    );
    query_opt(&c, SQL, &[&msn, &id], rows::logo_info).await
}

pub(super) async fn logo(c: Object, id: &str) -> Result<Option<LogoData>, StoreError> {
    // Every copy has the same bytes (the id is their digest), so any row will do.
    const SQL: &str = "SELECT id, content_type, bytes FROM logos WHERE id = $1 LIMIT 1";
    query_opt(&c, SQL, &[&id], rows::logo_data).await
}

/// Holds the ownership rule of a write that stores a QR style naming `logo`: it must be one of
/// the merchant's logos. The merchant row is locked first, as in [`delete_logo`], so a logo
/// delete on another instance either commits before this check (which then fails) or waits
/// until this write commits (and then sees the QR naming the logo).
pub(super) async fn check_style_logo(
    tx: &Transaction<'_>,
    msn: &str,
    logo: Option<&str>,
) -> Result<(), StoreError> {
    let Some(id) = logo else {
        return Ok(());
    };
    if !lock_merchant(tx, msn).await? {
        return Err(StoreError::Missing("merchant"));
    }
    let stmt = tx
        .prepare_cached("SELECT 1 FROM logos WHERE msn = $1 AND id = $2")
        .await
        .map_err(pg)?;
    match tx.query_opt(&stmt, &[&msn, &id]).await.map_err(pg)? {
        Some(_) => Ok(()),
        None => Err(StoreError::Missing("logo")),
    }
}

pub(super) async fn delete_logo(
    mut c: Object,
    msn: &str,
    id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    if !lock_merchant(&tx, msn).await? {
        return Ok(false);
    }
    let stmt = tx
        .prepare_cached("SELECT 1 FROM merchant_styles WHERE msn = $1 AND logo_id = $2")
        .await
        .map_err(pg)?;
    if tx
        .query_opt(&stmt, &[&msn, &id])
        .await
        .map_err(pg)?
        .is_some()
    {
        return Err(StoreError::Conflict(Conflict::LogoInUse));
    }
    const ON_LIVE_QR: &str = concat!(
        "SELECT 1 FROM links WHERE msn = $1 AND style_logo = $2 AND ",
        live!("$3"),
        " LIMIT 1"
    );
    let stmt = tx.prepare_cached(ON_LIVE_QR).await.map_err(pg)?;
    if tx
        .query_opt(&stmt, &[&msn, &id, &now_ms])
        .await
        .map_err(pg)?
        .is_some()
    {
        return Err(StoreError::Conflict(Conflict::LogoOnQr));
    }
    let stmt = tx
        .prepare_cached("DELETE FROM logos WHERE msn = $1 AND id = $2")
        .await
        .map_err(pg)?;
    let n = tx.execute(&stmt, &[&msn, &id]).await.map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(n > 0)
}

pub(super) async fn put_default_style(
    mut c: Object,
    style: &DefaultStyle,
) -> Result<(), StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    if !lock_merchant(&tx, &style.msn).await? {
        return Err(StoreError::Missing("merchant"));
    }
    if let Some(logo) = &style.logo {
        let stmt = tx
            .prepare_cached("SELECT 1 FROM logos WHERE msn = $1 AND id = $2")
            .await
            .map_err(pg)?;
        if tx
            .query_opt(&stmt, &[&style.msn, logo])
            .await
            .map_err(pg)?
            .is_none()
        {
            return Err(StoreError::Missing("logo"));
        }
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO merchant_styles (msn, style, logo_id, logo_msn, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (msn) DO UPDATE SET style = excluded.style, logo_id = excluded.logo_id,
                 logo_msn = excluded.logo_msn, updated_at = excluded.updated_at",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &style.msn,
            &style.style,
            &style.logo,
            &style.logo.as_ref().map(|_| &style.msn),
            &style.updated_at_ms,
        ],
    )
    .await
    .map_err(|e| write_err(e, &[], Some("logo")))?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn default_style(
    c: Object,
    msn: &str,
) -> Result<Option<DefaultStyle>, StoreError> {
    const SQL: &str = "SELECT msn, style, logo_id, updated_at FROM merchant_styles WHERE msn = $1";
    query_opt(&c, SQL, &[&msn], rows::default_style).await
}

pub(super) async fn delete_default_style(c: Object, msn: &str) -> Result<bool, StoreError> {
    let stmt = c
        .prepare_cached("DELETE FROM merchant_styles WHERE msn = $1")
        .await
        .map_err(pg)?;
    Ok(c.execute(&stmt, &[&msn]).await.map_err(pg)? > 0)
}
