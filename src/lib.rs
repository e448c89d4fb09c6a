//! qr-origin: a payment provider's QR platform in one crate.
//!
//! Merchants create QR codes through the QR API, phones open the short links those codes hold,
//! and a high-throughput image origin renders the QR images a CDN serves from HMAC-signed URLs.
//! `docs/DESIGN.md` explains how it is built and why; `README.md` is the user's guide.
//!
//! # Layout
//! Modules in dependency order: each uses only those above it.
//! - [`render`]: content + options → PNG / SVG / text bytes. No HTTP, no I/O.
//! - [`token`]: HS256 image tokens (compact JWT) → verified [`token::ImageClaims`]. No HTTP.
//! - [`clock`]: wall-clock time behind a trait (tests move a manual clock).
//! - [`logo`]: uploaded logos (PNG, SVG) → validated, decoded, scaled pixmaps. No HTTP.
//! - [`secret`]: random credentials and their hashed, constant-time-compared stored form.
//! - [`log_throttle`]: at most a log line a second for events that repeat at request rate.
//! - [`http`]: body type, response helpers, the one error → status mapping; [`body`]: request
//!   bodies with a read deadline.
//! - [`store`]: durable state (merchants, access tokens, short links, callback QRs, webhooks,
//!   scans and the webhook outbox) behind an async trait.
//! - [`webhooks`]: signing, retry schedule and the delivery worker draining the outbox.
//! - [`links`]: short links `/r/{code}`, `/p/{code}` → 302, and `/c/{code}`, `/m/{beaconId}`
//!   → scan + outbox events, through an in-process cache.
//! - [`api`]: the QR API v1 (access tokens, one-time payment, merchant-redirect and
//!   merchant-callback QRs, MobilePay beacons) and the Webhooks API.
//! - [`config`]: flags and env vars, validated once at start-up; [`keys`] loads signing keys.
//! - [`metrics`]: Prometheus counters and histograms; [`access_log`]: the per-request log line
//!   (`--access-log`) and request ids.
//! - [`origin`]: the image origin (`/qr-generator/v1`): verify → cache → render → headers.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`state`]: the shared `AppState`; [`router`]: (method, path) → handler.
//! - [`shutdown`], [`server`]: the accept loops (public and operator listeners), connection
//!   limits, graceful drain; [`stall`]: the deadline on writes to a client that stopped reading;
//!   [`inflight`]: per-connection stream counts and the in-flight response-bytes budget;
//!   [`rlimit`]: the file-descriptor limit and what it allows; [`head_errors`]: JSON bodies on
//!   hyper's own answers to unparsable request heads (`400`, `414`, `431`).
//! - [`cmd`]: the command-line subcommands (`serve`, `token`, `render`, `merchant`, `logo`).

pub mod access_log;
pub mod api;
pub mod body;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod head_errors;
pub mod http;
pub mod inflight;
pub mod keys;
pub mod links;
pub mod log_throttle;
pub mod logo;
pub mod metrics;
pub mod ops;
pub mod origin;
pub mod render;
pub mod rlimit;
pub mod router;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod stall;
pub mod state;
pub mod store;
pub mod token;
pub mod webhooks;
