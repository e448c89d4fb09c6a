//! The PostgreSQL side of merchant-callback QRs, webhooks, scans and the outbox.
//!
//! # Lanes
//! Every webhook has one row in `webhook_lanes` (owner, lease-until). A worker claims lanes,
//! not events: `SELECT … FOR UPDATE OF l SKIP LOCKED` picks free (or lapsed) lanes whose oldest
//! pending event is due, and sets a fresh owner and lease on them, so two instances never hold
//! one lane and the per-webhook order holds. The claim commits before any HTTP call; the
//! attempt's result is written by [`finish_delivery`] only while the lane still names the
//! claim (a worker whose lease lapsed and was taken over writes nothing), and that same
//! transaction frees the lane for the webhook's next event.

use deadpool_postgres::{Object, Transaction};
use tokio_postgres::types::ToSql;

use super::{live, lock_merchant, notify_link, pg, query_all, query_opt, write_err};
use crate::store::rows::{self, link_columns};
use crate::store::{
    CallbackQr, Conflict, Delivery, DeliveryResult, NewCallbackQr, NewScan, NewWebhook,
    OutboxStats, PutCallbackQr, Scan, ScanRecorded, StoreError, Webhook,
};

/// `links` columns followed by the description, as [`rows::callback_qr`] reads them.
macro_rules! callback_select {
    ($filter:expr) => {
        concat!(
            "SELECT ",
            link_columns!(),
            ", location_description FROM links WHERE kind = 'callback' AND ",
            $filter
        )
    };
}

const LIVE_CALLBACK: &str = callback_select!(concat!("msn = $1 AND qr_id = $2 AND ", live!("$3")));

pub(super) async fn callback_qr(
    c: Object,
    msn: &str,
    qr_id: &str,
    now_ms: i64,
) -> Result<Option<CallbackQr>, StoreError> {
    query_opt(
        &c,
        LIVE_CALLBACK,
        &[&msn, &qr_id, &now_ms],
        rows::callback_qr,
    )
    .await
}

pub(super) async fn callback_qrs(
    c: Object,
    msn: &str,
    now_ms: i64,
) -> Result<Vec<CallbackQr>, StoreError> {
    const SQL: &str = concat!(
        callback_select!(concat!("msn = $1 AND ", live!("$2"))),
        " ORDER BY created_at, code"
    );
    query_all(&c, SQL, &[&msn, &now_ms], rows::callback_qr).await
}

pub(super) async fn put_callback_qr(
    mut c: Object,
    instance: &str,
    qr: &NewCallbackQr,
    now_ms: i64,
) -> Result<PutCallbackQr, StoreError> {
    // Two instances creating one id at once: the loser's insert hits the unique index, and its
    // second round finds the winner's row and updates it, as a create-or-update should.
    for _ in 0..2 {
        let tx = c.transaction().await.map_err(pg)?;
        const LOCKED: &str = concat!(
            callback_select!(concat!("msn = $1 AND qr_id = $2 AND ", live!("$3"))),
            " FOR UPDATE"
        );
        let params: [&(dyn ToSql + Sync); 3] = [&qr.msn, &qr.qr_id, &now_ms];
        let existing = query_opt(&tx, LOCKED, &params, rows::callback_qr).await?;
        super::logos::check_style_logo(&tx, &qr.msn, qr.style.logo()).await?;
        if let Some(mut existing) = existing {
            existing.update(qr, now_ms);
            let stmt = tx
                .prepare_cached(
                    "UPDATE links SET location_description = $1, updated_at = $2, style = $3,
                         style_logo = $4
                     WHERE code = $5",
                )
                .await
                .map_err(pg)?;
            let style = existing.link.style.as_ref();
            tx.execute(
                &stmt,
                &[
                    &existing.location_description,
                    &existing.link.updated_at_ms,
                    &style.map(|s| &s.style),
                    &style.and_then(|s| s.logo.as_ref()),
                    &existing.link.code,
                ],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            return Ok(PutCallbackQr {
                qr: existing,
                created: false,
            });
        }
        let stmt = tx
            .prepare_cached("SELECT 1 FROM links WHERE code = $1")
            .await
            .map_err(pg)?;
        if tx
            .query_opt(&stmt, &[&qr.code])
            .await
            .map_err(pg)?
            .is_some()
        {
            return Err(StoreError::Conflict(Conflict::Code));
        }
        const INSERT: &str = concat!(
            "INSERT INTO links (",
            link_columns!(),
            ", location_description)
             VALUES ($1, 'callback', $2, $3, NULL, $4, $4, NULL, NULL, $6, $7, $5)"
        );
        let stmt = tx.prepare_cached(INSERT).await.map_err(pg)?;
        let inserted = tx
            .execute(
                &stmt,
                &[
                    &qr.code,
                    &qr.msn,
                    &qr.qr_id,
                    &qr.created_at_ms,
                    &qr.location_description,
                    &qr.style.for_new().map(|s| &s.style),
                    &qr.style.logo(),
                ],
            )
            .await;
        match inserted.map_err(|e| {
            write_err(
                e,
                &[
                    ("links_pkey", Conflict::Code),
                    ("links_live_qr_id", Conflict::QrId),
                ],
                Some("merchant"),
            )
        }) {
            Ok(_) => {}
            Err(StoreError::Conflict(Conflict::QrId)) => continue,
            Err(e) => return Err(e),
        }
        notify_link(&tx, instance, &qr.code).await?;
        let created = query_opt(&tx, LIVE_CALLBACK, &params, rows::callback_qr)
            .await?
            .ok_or_else(|| StoreError::Backend("callback QR vanished after insert".into()))?;
        tx.commit().await.map_err(pg)?;
        return Ok(PutCallbackQr {
            qr: created,
            created: true,
        });
    }
    Err(StoreError::Unavailable(
        "callback QR id raced twice; try again".into(),
    ))
}

pub(super) async fn record_scan(
    mut c: Object,
    instance: &str,
    scan: &NewScan,
) -> Result<Option<ScanRecorded>, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    const QR: &str = callback_select!(concat!("code = $1 AND ", live!("$2")));
    let params: [&(dyn ToSql + Sync); 2] = [&scan.code, &scan.scanned_at_ms];
    let Some(qr) = query_opt(&tx, QR, &params, rows::callback_qr).await? else {
        return Ok(None);
    };
    let qr_id = qr.link.qr_id.clone().unwrap_or_default();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO scans (customer_token, code, msn, qr_id, scanned_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &scan.customer_token,
            &scan.code,
            &qr.link.msn,
            &qr_id,
            &scan.scanned_at_ms,
            &scan.expires_at_ms,
        ],
    )
    .await
    .map_err(
        |e| match write_err(e, &[("scans_pkey", Conflict::Code)], None) {
            StoreError::Conflict(_) => StoreError::Backend("customer token already issued".into()),
            other => other,
        },
    )?;
    // Bumping each webhook's counter takes its row lock, so two scans for one webhook get
    // their sequence numbers in commit order (per-webhook delivery order).
    let stmt = tx
        .prepare_cached(
            "UPDATE webhooks w SET next_seq = next_seq + 1
             FROM webhook_events e
             WHERE e.webhook_id = w.id AND w.msn = $1 AND w.deleted_at IS NULL AND e.event = $2
             RETURNING w.id, w.next_seq",
        )
        .await
        .map_err(pg)?;
    let hooks = tx
        .query(&stmt, &[&qr.link.msn, &scan.event])
        .await
        .map_err(pg)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO outbox (id, webhook_id, seq, event, body, created_at, state, attempts,
                                 next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)",
        )
        .await
        .map_err(pg)?;
    for h in &hooks {
        let webhook_id: String = h.try_get(0).map_err(pg)?;
        let seq: i64 = h.try_get(1).map_err(pg)?;
        tx.execute(
            &insert,
            &[
                &uuid::Uuid::new_v4().to_string(),
                &webhook_id,
                &seq,
                &scan.event,
                &scan.body,
                &scan.scanned_at_ms,
            ],
        )
        .await
        .map_err(pg)?;
    }
    if !hooks.is_empty() {
        // Wakes idle workers on every instance once the events are committed.
        let stmt = tx
            .prepare_cached("SELECT pg_notify('qr_origin_outbox', $1)")
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&instance]).await.map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(Some(ScanRecorded {
        qr,
        enqueued: hooks.len(),
    }))
}

pub(super) async fn scan_by_token(
    c: Object,
    token: &str,
    now_ms: i64,
) -> Result<Option<Scan>, StoreError> {
    const SQL: &str = "SELECT customer_token, code, msn, qr_id, scanned_at, expires_at FROM scans
         WHERE customer_token = $1 AND expires_at > $2";
    query_opt(&c, SQL, &[&token, &now_ms], rows::scan).await
}

pub(super) async fn add_webhook(
    mut c: Object,
    w: &NewWebhook,
    max_per_event: usize,
) -> Result<Webhook, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The merchant's lock: two registrations at once cannot both pass the per-event limit.
    if !lock_merchant(&tx, &w.msn).await? {
        return Err(StoreError::Missing("merchant"));
    }
    let count = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.id
             WHERE w.msn = $1 AND w.deleted_at IS NULL AND e.event = $2",
        )
        .await
        .map_err(pg)?;
    let max = i64::try_from(max_per_event).unwrap_or(i64::MAX);
    for event in &w.events {
        let live: i64 = tx
            .query_one(&count, &[&w.msn, event])
            .await
            .map_err(pg)?
            .get(0);
        if live >= max {
            return Err(StoreError::Conflict(Conflict::WebhookLimit));
        }
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO webhooks (id, msn, url, secret, next_seq, created_at, deleted_at)
             VALUES ($1, $2, $3, $4, 0, $5, NULL)",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&w.id, &w.msn, &w.url, &w.secret, &w.created_at_ms])
        .await
        .map_err(|e| {
            write_err(
                e,
                &[("webhooks_pkey", Conflict::WebhookId)],
                Some("merchant"),
            )
        })?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO webhook_lanes (webhook_id, owner, lease_until) VALUES ($1, NULL, NULL)",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&w.id]).await.map_err(pg)?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO webhook_events (webhook_id, event) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(pg)?;
    for event in &w.events {
        tx.execute(&stmt, &[&w.id, event]).await.map_err(pg)?;
    }
    let events = webhook_events(&tx, &w.id).await?;
    tx.commit().await.map_err(pg)?;
    Ok(w.listed(events))
}

async fn webhook_events(c: &Transaction<'_>, id: &str) -> Result<Vec<String>, StoreError> {
    const SQL: &str = "SELECT event FROM webhook_events WHERE webhook_id = $1 ORDER BY event";
    query_all(c, SQL, &[&id], |r| rows::Columns::col(r, 0)).await
}

/// The merchant's live webhooks (one, when `id` is given), with their events, oldest first.
pub(super) async fn live_webhooks(
    c: &Object,
    msn: &str,
    id: Option<&str>,
) -> Result<Vec<Webhook>, StoreError> {
    const SQL: &str = "SELECT w.id, w.msn, w.url, w.created_at,
                ARRAY(SELECT e.event FROM webhook_events e WHERE e.webhook_id = w.id
                      ORDER BY e.event)
         FROM webhooks w
         WHERE w.msn = $1 AND w.deleted_at IS NULL AND ($2::TEXT IS NULL OR w.id = $2)
         ORDER BY w.created_at, w.id";
    query_all(c, SQL, &[&msn, &id], |r| {
        Ok(Webhook {
            events: r.try_get(4).map_err(pg)?,
            ..rows::webhook(r)?
        })
    })
    .await
}

pub(super) async fn delete_webhook(
    mut c: Object,
    msn: &str,
    id: &str,
    now_ms: i64,
) -> Result<Option<Webhook>, StoreError> {
    let Some(hook) = live_webhooks(&c, msn, Some(id)).await?.into_iter().next() else {
        return Ok(None);
    };
    let tx = c.transaction().await.map_err(pg)?;
    let stmt = tx
        .prepare_cached(
            "UPDATE webhooks SET deleted_at = $1
             WHERE id = $2 AND msn = $3 AND deleted_at IS NULL",
        )
        .await
        .map_err(pg)?;
    if tx.execute(&stmt, &[&now_ms, &id, &msn]).await.map_err(pg)? == 0 {
        // Deleted by another instance since the read.
        return Ok(None);
    }
    let stmt = tx
        .prepare_cached(
            "UPDATE outbox SET state = 'dropped', finished_at = $1
             WHERE webhook_id = $2 AND state = 'pending'",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&now_ms, &id]).await.map_err(pg)?;
    // Freeing the lane fences off an attempt in flight: its result is no longer recorded.
    let stmt = tx
        .prepare_cached(
            "UPDATE webhook_lanes SET owner = NULL, lease_until = NULL WHERE webhook_id = $1",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&id]).await.map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(Some(hook))
}

/// Takes up to `limit` free (or lapsed) lanes whose head event is due, in order of the heads'
/// due times; locked lanes (another worker claiming at this moment) are skipped, not waited on.
const CLAIM_LANES: &str = "
    WITH free AS (
        SELECT l.webhook_id
        FROM webhook_lanes l
        JOIN webhooks w ON w.id = l.webhook_id AND w.deleted_at IS NULL
        JOIN LATERAL (
            SELECT o.next_attempt_at, o.created_at FROM outbox o
            WHERE o.webhook_id = l.webhook_id AND o.state = 'pending'
            ORDER BY o.seq LIMIT 1
        ) head ON TRUE
        WHERE (l.lease_until IS NULL OR l.lease_until <= $1) AND head.next_attempt_at <= $1
        ORDER BY head.next_attempt_at, head.created_at, l.webhook_id
        LIMIT $2
        FOR UPDATE OF l SKIP LOCKED
    )
    UPDATE webhook_lanes l SET owner = gen_random_uuid()::TEXT, lease_until = $3
    FROM free WHERE l.webhook_id = free.webhook_id
    RETURNING l.webhook_id, l.owner";

/// The head events of claimed lanes. A statement of its own, so its snapshot is taken after
/// the lanes were locked: a head finished by the previous owner just before is not seen again.
const LANE_HEADS: &str = "
    SELECT o.id, o.webhook_id, w.url, w.secret, o.event, o.body, o.created_at, o.attempts,
           o.next_attempt_at
    FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
    WHERE o.webhook_id = ANY($1) AND o.state = 'pending'
      AND o.seq = (SELECT MIN(p.seq) FROM outbox p
                   WHERE p.webhook_id = o.webhook_id AND p.state = 'pending')";

pub(super) async fn claim_deliveries(
    mut c: Object,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let stmt = tx.prepare_cached(CLAIM_LANES).await.map_err(pg)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let lanes = tx
        .query(&stmt, &[&now_ms, &limit, &now_ms.saturating_add(lease_ms)])
        .await
        .map_err(pg)?;
    if lanes.is_empty() {
        return Ok(Vec::new());
    }
    let mut owners = std::collections::HashMap::with_capacity(lanes.len());
    for r in &lanes {
        let id: String = r.try_get(0).map_err(pg)?;
        let owner: String = r.try_get(1).map_err(pg)?;
        owners.insert(id, owner);
    }
    let ids: Vec<&str> = owners.keys().map(String::as_str).collect();
    let stmt = tx.prepare_cached(LANE_HEADS).await.map_err(pg)?;
    let mut claimed = Vec::with_capacity(lanes.len());
    for r in tx.query(&stmt, &[&ids]).await.map_err(pg)? {
        let next_attempt_at: i64 = r.try_get(8).map_err(pg)?;
        if next_attempt_at > now_ms {
            // Rescheduled by the previous owner between the two statements; the lane is freed
            // again below.
            continue;
        }
        let webhook_id: String = r.try_get(1).map_err(pg)?;
        let Some(owner) = owners.remove(&webhook_id) else {
            continue;
        };
        claimed.push(rows::delivery(&r, owner)?);
    }
    if !owners.is_empty() {
        let idle: Vec<&str> = owners.values().map(String::as_str).collect();
        let stmt = tx
            .prepare_cached(
                "UPDATE webhook_lanes SET owner = NULL, lease_until = NULL WHERE owner = ANY($1)",
            )
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&idle]).await.map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    claimed.sort_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)));
    Ok(claimed)
}

pub(super) async fn finish_delivery(
    mut c: Object,
    d: &Delivery,
    result: &DeliveryResult,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let row = result.update(now_ms);
    let tx = c.transaction().await.map_err(pg)?;
    // The fence: only the lane's current owner records a result, and doing so frees the lane.
    let stmt = tx
        .prepare_cached(
            "UPDATE webhook_lanes SET owner = NULL, lease_until = NULL
             WHERE webhook_id = $1 AND owner = $2",
        )
        .await
        .map_err(pg)?;
    if tx
        .execute(&stmt, &[&d.webhook_id, &d.claim_id])
        .await
        .map_err(pg)?
        == 0
    {
        return Ok(false);
    }
    let stmt = tx
        .prepare_cached(
            "UPDATE outbox SET state = $1, attempts = attempts + 1,
                               next_attempt_at = COALESCE($2, next_attempt_at),
                               last_error = $3, finished_at = $4
             WHERE id = $5 AND state = 'pending'",
        )
        .await
        .map_err(pg)?;
    let changed = tx
        .execute(
            &stmt,
            &[
                &row.state.as_str(),
                &row.next_attempt_at_ms,
                &row.last_error,
                &row.finished_at_ms,
                &d.id,
            ],
        )
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(changed == 1)
}

#[cfg(any(test, feature = "testing"))]
pub(super) async fn outbox_events(
    c: Object,
    webhook_id: &str,
) -> Result<Vec<crate::store::OutboxEvent>, StoreError> {
    const SQL: &str = "SELECT id, webhook_id, seq, event, body, created_at, state, attempts,
                next_attempt_at, last_error, finished_at
         FROM outbox WHERE webhook_id = $1 ORDER BY seq";
    query_all(&c, SQL, &[&webhook_id], rows::outbox_event).await
}

pub(super) async fn outbox_stats(c: Object) -> Result<OutboxStats, StoreError> {
    const SQL: &str = "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'";
    query_opt(&c, SQL, &[], rows::outbox_stats)
        .await?
        .ok_or_else(|| StoreError::Backend("an aggregate answered no row".into()))
}

pub(super) async fn prune_outbox(mut c: Object, before_ms: i64) -> Result<u64, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let stmt = tx
        .prepare_cached("DELETE FROM outbox WHERE state <> 'pending' AND finished_at < $1")
        .await
        .map_err(pg)?;
    let removed = tx.execute(&stmt, &[&before_ms]).await.map_err(pg)?;
    let stmt = tx
        .prepare_cached("DELETE FROM scans WHERE expires_at < $1")
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&before_ms]).await.map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(removed)
}
