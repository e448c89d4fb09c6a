//! qr-origin: a payment provider's QR platform in one crate.
//!
//! Merchants create QR codes through the QR API, phones open the short links those codes hold,
//! and a high-throughput image origin renders the QR images a CDN serves from HMAC-signed URLs.
//! `docs/DESIGN.md` explains how it is built and why; `README.md` is the user's guide.
//!
//! # Layout
//! In data-flow order, from where a request or command enters down to the code that only
//! computes: each module uses only those below it (`layering` tests check every `use crate::`
//! against this list).
//! - [`cmd`]: the command-line subcommands (`serve`, `token`, `render`, `merchant`, `logo`);
//!   `main.rs` parses and calls one.
//! - [`server`]: the accept loops (public and operator listeners), connection limits and slots,
//!   graceful drain; [`server::head_errors`]: JSON bodies on hyper's own answers to unparsable
//!   request heads; [`server::rlimit`]: the file-descriptor limit and what it allows.
//! - [`router`]: (method, path) → handler.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`.
//! - [`state`]: the shared `AppState` built once at start-up, and the store write probe.
//! - [`origin`]: the image origin (`/qr-generator/v1`): verify → cache → render → headers.
//! - [`api`]: the QR API v1 (access tokens, one-time payment, merchant-redirect and
//!   merchant-callback QRs, MobilePay beacons) and the Webhooks API.
//! - [`links`]: short links `/r/{code}`, `/p/{code}` → 302, and `/c/{code}`, `/m/{beaconId}`
//!   → scan + outbox events, through an in-process cache.
//! - [`analytics`]: scan counting in memory (platform, bots, keyed visitor hashes), flushed to
//!   the store; the series and chart the scans API answers.
//! - [`config`]: every setting in one place: flags and env vars validated once at start-up, the
//!   `--config` file, the signing keys ([`config::keys`]) and the API's share ([`config::api`]).
//! - [`webhooks`]: signing, retry schedule and the delivery worker draining the outbox.
//! - [`http`]: body type, response helpers, the one error → status mapping.
//! - [`metrics`]: Prometheus counters and histograms.
//! - [`logo`]: uploaded logos (PNG, SVG) → validated, decoded, scaled pixmaps. No HTTP.
//! - [`store`]: durable state (merchants, access tokens, short links, callback QRs, webhooks,
//!   scans and the webhook outbox) behind an async trait.
//! - [`token`]: HS256 image tokens (compact JWT) → verified [`token::ImageClaims`]. No HTTP.
//! - [`render`]: content + options → PNG / SVG / text bytes. No HTTP, no I/O.
//! - [`secret`]: random credentials and their hashed, constant-time-compared stored form.
//! - [`clock`]: wall-clock time behind a trait (tests move a manual clock).
//! - [`server::access_log`], [`server::body`], [`server::inflight`], [`server::stall`],
//!   [`server::shutdown`], [`server::log_throttle`]: the connection pieces the layers above hold
//!   (request ids, request bodies with a read deadline, the in-flight response-bytes budget, the
//!   deadline on writes to a client that stopped reading, the shutdown signal, at most a log
//!   line a second); they use nothing else of the crate.

pub mod analytics;
pub mod api;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod http;
pub mod links;
pub mod logo;
pub mod metrics;
pub mod ops;
pub mod origin;
pub mod render;
pub mod router;
pub mod secret;
pub mod server;
pub mod state;
pub mod store;
pub mod token;
pub mod webhooks;

#[cfg(test)]
mod layering;
