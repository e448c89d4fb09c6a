//! The SQLite side of merchant-callback QRs, webhooks, scans and the outbox (migration 0002).
//!
//! Free functions over a connection, each one transaction; `sqlite.rs` runs them on the
//! blocking pool through `SqliteStore::call`. Writes use `IMMEDIATE` transactions, which in
//! SQLite take the one write lock up front: that is what makes the outbox claim exclusive here
//! (PostgreSQL gets the same from `FOR UPDATE SKIP LOCKED`).

use rusqlite::{Connection, Transaction, params};

use super::{
    LINK_COLUMNS, LIVE, backend, exists, query_all, query_opt, require_merchant, write_tx,
};
use crate::store::rows;
use crate::store::{
    CallbackQr, Conflict, Delivery, DeliveryResult, LinkKind, NewCallbackQr, NewScan, NewWebhook,
    OutboxStats, PutCallbackQr, Scan, ScanRecorded, StoreError, Webhook,
};

/// `links` columns followed by the description, as [`rows::callback_qr`] reads them.
fn callback_select(filter: &str) -> String {
    format!(
        "SELECT {LINK_COLUMNS}, location_description FROM links
         WHERE kind = '{kind}' AND {filter}",
        kind = LinkKind::Callback.as_str()
    )
}

fn live_callback(
    tx: &Transaction<'_>,
    msn: &str,
    qr_id: &str,
    now_ms: i64,
) -> Result<Option<CallbackQr>, StoreError> {
    query_opt(
        tx,
        &callback_select(&format!("msn = :msn AND qr_id = :qr_id AND {LIVE}")),
        rusqlite::named_params! {":msn": msn, ":qr_id": qr_id, ":now": now_ms},
        |r| rows::callback_qr(r),
    )
}

pub(super) fn put_callback_qr(
    conn: &mut Connection,
    qr: &NewCallbackQr,
    now_ms: i64,
) -> Result<PutCallbackQr, StoreError> {
    let tx = write_tx(conn)?;
    super::check_style_logo(&tx, &qr.msn, qr.style.logo())?;
    if let Some(mut existing) = live_callback(&tx, &qr.msn, &qr.qr_id, now_ms)? {
        existing.update(qr, now_ms);
        let style = existing.link.style.as_ref();
        tx.execute(
            "UPDATE links SET location_description = ?1, updated_at = ?2, style = ?3,
                 style_logo = ?4
             WHERE code = ?5",
            params![
                existing.location_description,
                existing.link.updated_at_ms,
                style.map(|s| &s.style),
                style.and_then(|s| s.logo.as_ref()),
                existing.link.code
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        return Ok(PutCallbackQr {
            qr: existing,
            created: false,
        });
    }
    require_merchant(&tx, &qr.msn)?;
    if exists(&tx, "SELECT 1 FROM links WHERE code = ?1", [&qr.code])? {
        return Err(StoreError::Conflict(Conflict::Code));
    }
    tx.execute(
        &format!(
            "INSERT INTO links ({LINK_COLUMNS}, location_description)
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?5, NULL, NULL, ?6, ?7, ?8)"
        ),
        params![
            qr.code,
            LinkKind::Callback.as_str(),
            qr.msn,
            qr.qr_id,
            qr.created_at_ms,
            qr.style.for_new().map(|s| &s.style),
            qr.style.logo(),
            qr.location_description
        ],
    )
    .map_err(backend)?;
    let created = live_callback(&tx, &qr.msn, &qr.qr_id, now_ms)?
        .ok_or_else(|| StoreError::Backend("callback QR vanished after insert".into()))?;
    tx.commit().map_err(backend)?;
    Ok(PutCallbackQr {
        qr: created,
        created: true,
    })
}

pub(super) fn callback_qr(
    conn: &mut Connection,
    msn: &str,
    qr_id: &str,
    now_ms: i64,
) -> Result<Option<CallbackQr>, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    live_callback(&tx, msn, qr_id, now_ms)
}

pub(super) fn callback_qrs(
    conn: &mut Connection,
    msn: &str,
    now_ms: i64,
) -> Result<Vec<CallbackQr>, StoreError> {
    query_all(
        conn,
        &format!(
            "{} ORDER BY created_at, code",
            callback_select(&format!("msn = :msn AND {LIVE}"))
        ),
        rusqlite::named_params! {":msn": msn, ":now": now_ms},
        |r| rows::callback_qr(r),
    )
}

pub(super) fn record_scan(
    conn: &mut Connection,
    scan: &NewScan,
) -> Result<Option<ScanRecorded>, StoreError> {
    let tx = write_tx(conn)?;
    let Some(qr) = query_opt(
        &tx,
        &callback_select(&format!("code = :code AND {LIVE}")),
        rusqlite::named_params! {":code": scan.code, ":now": scan.scanned_at_ms},
        |r| rows::callback_qr(r),
    )?
    else {
        return Ok(None);
    };
    let msn = qr.link.msn.clone();
    let qr_id = qr.link.qr_id.clone().unwrap_or_default();
    tx.execute(
        "INSERT INTO scans (customer_token, code, msn, qr_id, scanned_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            scan.customer_token,
            scan.code,
            msn,
            qr_id,
            scan.scanned_at_ms,
            scan.expires_at_ms
        ],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            StoreError::Backend("customer token already issued".into())
        }
        _ => backend(e),
    })?;
    let hooks: Vec<String> = query_all(
        &tx,
        "SELECT w.id FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.id
         WHERE w.msn = ?1 AND w.deleted_at IS NULL AND e.event = ?2
         ORDER BY w.created_at, w.id",
        params![msn, scan.event],
        |r| rows::Columns::col(r, 0),
    )?;
    for webhook_id in &hooks {
        // Bumping the counter first also takes the row lock in PostgreSQL, so two scans for one
        // webhook get their sequence numbers in commit order.
        let seq: i64 = tx
            .query_row(
                "UPDATE webhooks SET next_seq = next_seq + 1 WHERE id = ?1 RETURNING next_seq",
                [webhook_id],
                |r| r.get(0),
            )
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO outbox (id, webhook_id, seq, event, body, created_at, state, attempts,
                                 next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?6)",
            params![
                uuid::Uuid::new_v4().to_string(),
                webhook_id,
                seq,
                scan.event,
                scan.body,
                scan.scanned_at_ms
            ],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)?;
    Ok(Some(ScanRecorded {
        qr,
        enqueued: hooks.len(),
    }))
}

pub(super) fn scan_by_token(
    conn: &mut Connection,
    token: &str,
    now_ms: i64,
) -> Result<Option<Scan>, StoreError> {
    query_opt(
        conn,
        "SELECT customer_token, code, msn, qr_id, scanned_at, expires_at FROM scans
         WHERE customer_token = ?1 AND expires_at > ?2",
        params![token, now_ms],
        |r| rows::scan(r),
    )
}

/// The events of one webhook, sorted.
fn webhook_events(tx: &Transaction<'_>, id: &str) -> Result<Vec<String>, StoreError> {
    query_all(
        tx,
        "SELECT event FROM webhook_events WHERE webhook_id = ?1 ORDER BY event",
        [id],
        |r| rows::Columns::col(r, 0),
    )
}

pub(super) fn add_webhook(
    conn: &mut Connection,
    w: &NewWebhook,
    max_per_event: usize,
) -> Result<Webhook, StoreError> {
    let tx = write_tx(conn)?;
    require_merchant(&tx, &w.msn)?;
    if exists(&tx, "SELECT 1 FROM webhooks WHERE id = ?1", [&w.id])? {
        return Err(StoreError::Conflict(Conflict::WebhookId));
    }
    for event in &w.events {
        let live: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.id
                 WHERE w.msn = ?1 AND w.deleted_at IS NULL AND e.event = ?2",
                params![w.msn, event],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if live >= i64::try_from(max_per_event).unwrap_or(i64::MAX) {
            return Err(StoreError::Conflict(Conflict::WebhookLimit));
        }
    }
    tx.execute(
        "INSERT INTO webhooks (id, msn, url, secret, next_seq, created_at, deleted_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, NULL)",
        params![w.id, w.msn, w.url, w.secret, w.created_at_ms],
    )
    .map_err(backend)?;
    tx.execute(
        "INSERT INTO webhook_lanes (webhook_id, owner, lease_until) VALUES (?1, NULL, NULL)",
        [&w.id],
    )
    .map_err(backend)?;
    for event in &w.events {
        tx.execute(
            "INSERT OR IGNORE INTO webhook_events (webhook_id, event) VALUES (?1, ?2)",
            params![w.id, event],
        )
        .map_err(backend)?;
    }
    let events = webhook_events(&tx, &w.id)?;
    tx.commit().map_err(backend)?;
    Ok(w.listed(events))
}

fn live_webhooks(
    tx: &Transaction<'_>,
    msn: &str,
    id: Option<&str>,
) -> Result<Vec<Webhook>, StoreError> {
    let mut hooks = query_all(
        tx,
        "SELECT id, msn, url, created_at FROM webhooks
         WHERE msn = ?1 AND deleted_at IS NULL AND (?2 IS NULL OR id = ?2)
         ORDER BY created_at, id",
        params![msn, id],
        |r| rows::webhook(r),
    )?;
    for h in &mut hooks {
        h.events = webhook_events(tx, &h.id)?;
    }
    Ok(hooks)
}

pub(super) fn webhooks(conn: &mut Connection, msn: &str) -> Result<Vec<Webhook>, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    live_webhooks(&tx, msn, None)
}

pub(super) fn delete_webhook(
    conn: &mut Connection,
    msn: &str,
    id: &str,
    now_ms: i64,
) -> Result<Option<Webhook>, StoreError> {
    let tx = write_tx(conn)?;
    let Some(hook) = live_webhooks(&tx, msn, Some(id))?.into_iter().next() else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE webhooks SET deleted_at = ?1 WHERE id = ?2",
        params![now_ms, id],
    )
    .map_err(backend)?;
    tx.execute(
        "UPDATE outbox SET state = 'dropped', finished_at = ?1
         WHERE webhook_id = ?2 AND state = 'pending'",
        params![now_ms, id],
    )
    .map_err(backend)?;
    // Freeing the lane fences off an attempt in flight: its result is no longer recorded.
    tx.execute(
        "UPDATE webhook_lanes SET owner = NULL, lease_until = NULL WHERE webhook_id = ?1",
        [id],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(Some(hook))
}

pub(super) fn claim_deliveries(
    conn: &mut Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let tx = write_tx(conn)?;
    // Free lanes' heads only: the lowest pending seq of each webhook whose lane nobody holds
    // (or whose holder's lease lapsed), and only when it is due. A later event of a webhook
    // thus waits for the earlier one to finish.
    let claimed = query_all(
        &tx,
        "SELECT o.id, o.webhook_id, w.url, w.secret, o.event, o.body, o.created_at, o.attempts
         FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
              JOIN webhook_lanes l ON l.webhook_id = o.webhook_id
         WHERE o.state = 'pending' AND w.deleted_at IS NULL
           AND o.seq = (SELECT MIN(p.seq) FROM outbox p
                        WHERE p.webhook_id = o.webhook_id AND p.state = 'pending')
           AND o.next_attempt_at <= ?1
           AND (l.lease_until IS NULL OR l.lease_until <= ?1)
         ORDER BY o.next_attempt_at, o.created_at, o.id
         LIMIT ?2",
        params![now_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| rows::delivery(r, uuid::Uuid::new_v4().to_string()),
    )?;
    let until = now_ms.saturating_add(lease_ms);
    for d in &claimed {
        tx.execute(
            "UPDATE webhook_lanes SET owner = ?1, lease_until = ?2 WHERE webhook_id = ?3",
            params![d.claim_id, until, d.webhook_id],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)?;
    Ok(claimed)
}

pub(super) fn finish_delivery(
    conn: &mut Connection,
    d: &Delivery,
    result: &DeliveryResult,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let tx = write_tx(conn)?;
    let row = result.update(now_ms);
    // Fenced on the lane: only the current holder's result counts, and recording it frees
    // the lane for the next event.
    let held = tx
        .execute(
            "UPDATE webhook_lanes SET owner = NULL, lease_until = NULL
             WHERE webhook_id = ?1 AND owner = ?2",
            params![d.webhook_id, d.claim_id],
        )
        .map_err(backend)?;
    if held == 0 {
        return Ok(false);
    }
    let changed = tx
        .execute(
            "UPDATE outbox SET state = ?1, attempts = attempts + 1,
                               next_attempt_at = COALESCE(?2, next_attempt_at),
                               last_error = ?3, finished_at = ?4
             WHERE id = ?5 AND state = 'pending'",
            params![
                row.state.as_str(),
                row.next_attempt_at_ms,
                row.last_error,
                row.finished_at_ms,
                d.id
            ],
        )
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(changed == 1)
}

#[cfg(any(test, feature = "testing"))]
pub(super) fn outbox_events(
    conn: &mut Connection,
    webhook_id: &str,
) -> Result<Vec<crate::store::OutboxEvent>, StoreError> {
    query_all(
        conn,
        "SELECT id, webhook_id, seq, event, body, created_at, state, attempts,
                next_attempt_at, last_error, finished_at
         FROM outbox WHERE webhook_id = ?1 ORDER BY seq",
        [webhook_id],
        |r| rows::outbox_event(r),
    )
}

pub(super) fn outbox_stats(conn: &mut Connection) -> Result<OutboxStats, StoreError> {
    query_opt(
        conn,
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'",
        [],
        |r| rows::outbox_stats(r),
    )?
    .ok_or_else(|| StoreError::Backend("an aggregate answered no row".into()))
}

pub(super) fn prune_outbox(conn: &mut Connection, before_ms: i64) -> Result<u64, StoreError> {
    let tx = write_tx(conn)?;
    let removed = tx
        .execute(
            "DELETE FROM outbox WHERE state <> 'pending' AND finished_at < ?1",
            [before_ms],
        )
        .map_err(backend)?;
    tx.execute("DELETE FROM scans WHERE expires_at < ?1", [before_ms])
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(removed as u64)
}
