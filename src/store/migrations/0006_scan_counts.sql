-- 0006: scan analytics of merchant-redirect and merchant-callback QRs (issue 28).
--
-- Portable SQL as in 0001. Nothing here identifies a person: counts per hour, keyed hashes of
-- visitors that live for one day, and the day's hash key, deleted once the day is over.
--   scan_counts    additive counters per (short-link code, hour start in ms since the epoch).
--                  Hour rows older than --scan-retention are folded into the row at their day's
--                  start (hour 00), so a day's row then holds the whole day. Keyed by code, not
--                  by the merchant's id: a reused id gets a new code and so starts at zero.
--                  visitors counts the day's distinct visitors first seen in that hour, so the
--                  hours of a day add up to the day's distinct visitors.
--   scan_visitors  per (code, day start): the visitors seen that day, as a store::scans
--                  VisitorSet (exact keyed hashes while few, a HyperLogLog sketch beyond).
--   scan_keys      per day start: the random key visitor hashes are keyed with, shared by every
--                  instance; deleted with the day's visitor sets once the day is over.
CREATE TABLE scan_counts (
    code      TEXT NOT NULL,
    hour      BIGINT NOT NULL,
    ios       BIGINT NOT NULL DEFAULT 0,
    android   BIGINT NOT NULL DEFAULT 0,
    other     BIGINT NOT NULL DEFAULT 0,
    bots      BIGINT NOT NULL DEFAULT 0,
    visitors  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (code, hour)
);
CREATE TABLE scan_visitors (
    code      TEXT NOT NULL,
    day       BIGINT NOT NULL,
    visitors  BLOB NOT NULL,
    PRIMARY KEY (code, day)
);
CREATE TABLE scan_keys (
    day       BIGINT PRIMARY KEY,
    hash_key  BLOB NOT NULL
);
