//! Webhook delivery: the published request signature, the retry schedule and the worker.
//!
//! Events are written to the store's durable outbox by the short-link handler; the delivery
//! worker ([`deliver`]) claims them in per-webhook order, signs each POST ([`sign`]) and retries
//! failures on the [`backoff`] schedule for up to 7 days.

pub mod backoff;
pub mod deliver;
pub mod sign;

/// The event a scan of a merchant-callback QR sends.
pub const CHECKED_IN_V1: &str = "user.checked-in.v1";

/// Every event type a webhook can be registered for.
pub const KNOWN_EVENTS: &[&str] = &[CHECKED_IN_V1];

/// At most this many live webhooks per event per merchant (as published).
pub const MAX_WEBHOOKS_PER_EVENT: usize = 25;
