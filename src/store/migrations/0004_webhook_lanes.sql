-- 0004: one delivery lane per webhook (per-webhook order across workers and instances).
--
-- A lane is the unit a delivery worker claims: whoever holds a webhook's lane is the only one
-- delivering its events, and only the oldest undelivered event of the lane at a time, so the
-- per-webhook order holds however many instances deliver. PostgreSQL claims lanes with
-- `FOR UPDATE SKIP LOCKED`; the embedded store under its single write lock.
--   owner        the claim id of the worker holding the lane (NULL: free)
--   lease_until  when the holder's claim lapses; past it any worker may take the lane over
--                (the holder crashed). A finished attempt is recorded only while `owner`
--                still names its claim, so a worker whose lease was taken over cannot
--                overwrite the new owner's result.
CREATE TABLE webhook_lanes (
    webhook_id  TEXT PRIMARY KEY REFERENCES webhooks (id),
    owner       TEXT,
    lease_until BIGINT
);
INSERT INTO webhook_lanes (webhook_id, owner, lease_until)
    SELECT id, NULL, NULL FROM webhooks;
