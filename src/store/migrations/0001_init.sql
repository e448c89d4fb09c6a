-- 0001: merchants, their API credentials, access tokens and short links.
--
-- Portable SQL: only types and constructs that SQLite and PostgreSQL both accept (TEXT, BIGINT,
-- partial unique indexes). Times are milliseconds since the Unix epoch, from the caller's clock.

-- A merchant (sales unit), identified by its merchant serial number.
CREATE TABLE merchants (
    msn         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- API keys of a merchant. Secrets are stored only as SHA-256 hex digests.
CREATE TABLE api_credentials (
    client_id               TEXT PRIMARY KEY,
    msn                     TEXT NOT NULL REFERENCES merchants (msn),
    client_secret_sha256    TEXT NOT NULL,
    subscription_key_sha256 TEXT NOT NULL,
    created_at              BIGINT NOT NULL
);
CREATE INDEX api_credentials_by_msn ON api_credentials (msn);

-- Opaque bearer tokens handed out by POST /accesstoken/get, stored as SHA-256 hex digests.
CREATE TABLE access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES api_credentials (client_id),
    msn          TEXT NOT NULL REFERENCES merchants (msn),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

-- Every QR's short link. A row is never deleted, only marked (`deleted_at`), so the primary key
-- keeps a printed code from ever being handed out again.
--   kind    'redirect' (/r/), 'payment' (/p/), 'callback' (/c/)
--   qr_id   the merchant's own id (NULL for one-time payments)
--   target  where the link redirects (NULL for callback QRs)
CREATE TABLE links (
    code        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    msn         TEXT NOT NULL REFERENCES merchants (msn),
    qr_id       TEXT,
    target      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    deleted_at  BIGINT
);
-- A merchant's id names at most one live QR of a kind; deleted ones free the id for reuse.
CREATE UNIQUE INDEX links_live_qr_id ON links (msn, kind, qr_id)
    WHERE deleted_at IS NULL AND qr_id IS NOT NULL;
CREATE INDEX links_by_merchant ON links (msn, kind, created_at);
