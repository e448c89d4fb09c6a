-- 0003: merchants' logos and default styles (branded QR codes).
--
-- Portable SQL as in 0001, except `bytes`: BLOB here, BYTEA in PostgreSQL. Times are
-- milliseconds since the Unix epoch, from the caller's clock.

-- A merchant's uploaded logo. `id` is the SHA-256 (hex) of `bytes`, so a row never changes;
-- two merchants uploading the same file each hold their own row (a merchant deleting its copy
-- leaves the other's alone).
--   content_type  'image/png' | 'image/svg+xml'
--   width/height  intrinsic size in pixels, measured when the upload was validated
CREATE TABLE logos (
    msn           TEXT NOT NULL REFERENCES merchants (msn),
    id            TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (msn, id)
);
-- The origin looks logos up by id alone.
CREATE INDEX logos_by_id ON logos (id);

-- A merchant's default style (a JSON object the store does not interpret). `logo_msn` repeats
-- `msn` so the composite foreign key holds the rule "a style names only its merchant's logos",
-- and keeps a named logo from being deleted under the style.
CREATE TABLE merchant_styles (
    msn         TEXT PRIMARY KEY REFERENCES merchants (msn),
    style       TEXT NOT NULL,
    logo_id     TEXT,
    logo_msn    TEXT,
    updated_at  BIGINT NOT NULL,
    FOREIGN KEY (logo_msn, logo_id) REFERENCES logos (msn, id),
    CHECK ((logo_id IS NULL AND logo_msn IS NULL) OR logo_msn = msn)
);
