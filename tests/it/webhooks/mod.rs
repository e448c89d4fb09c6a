//! Webhooks: the API, the delivery worker, and delivery across a crash.

mod api;
mod crash;
mod worker;
