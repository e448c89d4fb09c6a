//! Webhook delivery: the published request signature and the retry schedule.
//!
//! Events are written to the store's durable outbox by the short-link handler; a delivery worker
//! claims them in per-webhook order, signs each POST ([`sign`]) and retries failures on the
//! [`backoff`] schedule for up to 7 days.

pub mod backoff;
pub mod sign;
