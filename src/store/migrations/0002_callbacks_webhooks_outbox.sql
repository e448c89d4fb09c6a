-- 0002: merchant-callback QRs, webhook registrations, scans and the webhook outbox.
--
-- Portable SQL as in 0001. Times are milliseconds since the Unix epoch, from the caller's clock.

-- What a merchant-callback QR (kind 'callback') shows the user who scans it; NULL for the other
-- kinds. The only part of a callback QR a merchant can change.
ALTER TABLE links ADD COLUMN location_description TEXT;

-- A merchant's webhook registration. Rows are only marked deleted, so outbox rows keep their
-- reference and a deleted registration can be told apart from one that never existed.
--   secret    the HMAC key deliveries are signed with. SECURITY: kept as issued (not hashed),
--             because signing needs the key itself; it never leaves the store except in the
--             signature.
--   next_seq  the last sequence number handed to one of its outbox events; bumped with
--             UPDATE … RETURNING inside the enqueuing transaction, which also locks the row, so
--             concurrent enqueues for one webhook are ordered (per-webhook delivery order).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    msn         TEXT NOT NULL REFERENCES merchants (msn),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    next_seq    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX webhooks_by_merchant ON webhooks (msn, created_at);

-- The events a webhook is registered for (one row per event type).
CREATE TABLE webhook_events (
    webhook_id  TEXT NOT NULL REFERENCES webhooks (id),
    event       TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event)
);

-- One scan of a merchant-callback QR, with the customer token handed to the merchant.
CREATE TABLE scans (
    customer_token  TEXT PRIMARY KEY,
    code            TEXT NOT NULL REFERENCES links (code),
    msn             TEXT NOT NULL REFERENCES merchants (msn),
    qr_id           TEXT NOT NULL,
    scanned_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- The durable webhook outbox: one row per (event, webhook).
--   seq            per-webhook order; only the lowest pending seq of a webhook is ever claimed
--   state          'pending', then 'delivered' | 'failed' (given up) | 'dropped' (webhook deleted)
--   attempts       delivery attempts made so far
--   next_attempt_at  not claimed before this time
--   claim_id, claimed_until  a worker's lease: while it runs, no other worker takes the event;
--                  when it lapses (the worker died), the event is claimable again. A
--                  PostgreSQL store selects with FOR UPDATE SKIP LOCKED before setting it.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
    seq             BIGINT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claim_id        TEXT,
    claimed_until   BIGINT,
    last_error      TEXT,
    finished_at     BIGINT,
    UNIQUE (webhook_id, seq)
);
CREATE INDEX outbox_pending ON outbox (webhook_id, seq) WHERE state = 'pending';
CREATE INDEX outbox_pending_created ON outbox (created_at) WHERE state = 'pending';
