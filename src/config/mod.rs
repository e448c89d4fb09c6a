//! Start-up configuration: command-line flags, each also read from a `QR_ORIGIN_*` env var, and
//! validated once into a [`Config`] before anything binds or opens files. Nothing here is read on
//! the request path; handlers see the validated [`Config`] only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

pub mod api;
pub mod file;
pub mod keys;
pub mod scans;

/// 256 MiB: room for ~100k typical PNGs (2-3 KB each) on a small instance.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;
/// The token module's default: fits the longest accepted content once base64url-encoded, and
/// keeps a hostile 100 KB query string from costing more than a length comparison.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 10240;
/// The published lifetime of one-time payment QRs.
pub const DEFAULT_PAYMENT_TTL: Duration = Duration::from_secs(600);
/// Leeway on `exp`/`nbf` for clock skew between the issuer and this origin.
pub const DEFAULT_TOKEN_LEEWAY_SECS: i64 = 30;

/// `(kid, secret)` pairs in command-line order; the first signs.
pub type KeyPairs = Vec<(String, String)>;

/// Where keys live and which key signs; shared by `serve` and `token`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Directory for state kept between runs (the generated dev signing key, the embedded store).
    #[arg(long, env = "QR_ORIGIN_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// HMAC key as KID=SECRET (the secret's UTF-8 bytes are the key). Repeatable; every key
    /// verifies, the first one signs. In the env var, separate keys with commas.
    #[arg(
        long = "signing-key",
        env = "QR_ORIGIN_SIGNING_KEY",
        value_name = "KID=SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub signing_keys: Vec<String>,

    /// Base of the image URLs this service hands out [default: http://<listen>].
    #[arg(long, env = "QR_ORIGIN_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

/// Flags of `qr-origin serve` (also what a bare `qr-origin` runs).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "QR_ORIGIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the operator listener (`/healthz`, `/readyz`, `/metrics`), with its own small
    /// connection budget so a flood of the public port cannot reach it; `off` to disable. The
    /// public listener keeps answering `/healthz` too.
    #[arg(long, env = "QR_ORIGIN_OPS_LISTEN", default_value = "127.0.0.1:9090", value_parser = parse_ops_listen)]
    pub ops_listen: OpsListen,

    #[command(flatten)]
    pub keys: KeyArgs,

    /// Upper bound of the rendered-image cache, in bytes.
    #[arg(long, env = "QR_ORIGIN_CACHE_BYTES", default_value_t = DEFAULT_CACHE_BYTES)]
    pub cache_bytes: u64,

    /// Longest accepted image token, in bytes; checked before any decoding.
    #[arg(long, env = "QR_ORIGIN_MAX_TOKEN_BYTES", default_value_t = DEFAULT_MAX_TOKEN_BYTES)]
    pub max_token_bytes: usize,

    /// Render threads [default: number of CPUs]; renders never run on the request workers.
    #[arg(long, env = "QR_ORIGIN_MAX_RENDERS")]
    pub max_renders: Option<usize>,

    /// Renders that may wait for a render thread [default: 32 per thread]; beyond it image
    /// misses answer 503 with Retry-After at once.
    #[arg(long, env = "QR_ORIGIN_RENDER_QUEUE")]
    pub render_queue: Option<usize>,

    /// Time a client has to send a complete request head, e.g. `10s` or `500ms`; also the
    /// HTTP/1 idle keep-alive timeout and the longest a response write may stall on a client
    /// that stopped reading.
    #[arg(long, env = "QR_ORIGIN_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Open connections served normally; a small reserve beyond it answers only the health
    /// endpoints, so probes get through while the server is full.
    #[arg(long, env = "QR_ORIGIN_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Time a client has to send a whole request body once its head has arrived; slower
    /// bodies get 408.
    #[arg(long, env = "QR_ORIGIN_BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,

    /// After SIGTERM, keep serving (with /readyz at 503) this long so load balancers stop
    /// sending traffic, then stop accepting. Ctrl-C skips it.
    #[arg(long, env = "QR_ORIGIN_SHUTDOWN_DELAY", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_delay: Duration,

    /// Deadline for in-flight requests to finish once the server stops accepting.
    #[arg(long, env = "QR_ORIGIN_DRAIN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// How long a one-time payment QR (and its `/p/` link) stays valid, e.g. `600s` or `10m`.
    #[arg(long, env = "QR_ORIGIN_PAYMENT_TTL", default_value = "600s", value_parser = parse_duration)]
    pub payment_ttl: Duration,

    /// How the short links QR codes hold are written: `host` (`https://QR.EXAMPLE.COM/R/CODE`),
    /// `upper` (`HTTPS://…`, the smallest symbol) or `lower` (`https://qr.example.com/r/CODE`).
    /// README: the symbol versions each gives.
    #[arg(long, env = "QR_ORIGIN_SHORT_LINK_CASE", value_enum, default_value_t = ShortLinkCase::Host)]
    pub short_link_case: ShortLinkCase,

    /// Log one line per request (method, route, status, duration, body bytes, cache HIT/MISS,
    /// request id) at info level, target `qr_origin::access`. Off by default: it costs every
    /// request a formatted write to stderr (README: the measured cost).
    #[arg(long, env = "QR_ORIGIN_ACCESS_LOG")]
    pub access_log: bool,

    #[command(flatten)]
    pub webhooks: WebhookArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub scans: scans::ScanArgs,
}

/// The letter case of the short links handed out. Upper case fits QR's alphanumeric mode (5.5
/// bits a character against byte mode's 8), so the symbol is smaller and scans from further;
/// the scheme is kept lower case by default because some camera apps do not open `HTTPS://`
/// (Pixel Camera in 2025, Firefox for iOS in 2021, in their public trackers), while DNS names
/// are case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShortLinkCase {
    /// `https://QR.EXAMPLE.COM/R/CODE`: upper case from the host on.
    #[default]
    Host,
    /// `HTTPS://QR.EXAMPLE.COM/R/CODE`: all of it, one alphanumeric segment.
    Upper,
    /// `https://qr.example.com/r/CODE`: the configured URL as it is.
    Lower,
}

/// Which store `serve` uses (its data dir is [`KeyArgs::data_dir`]); the store-editing
/// subcommands take [`StoreArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL database shared by several instances, e.g.
    /// `postgres://qr@db.internal/qr?sslmode=verify-full` (`sslmode=require|verify-full`,
    /// `sslrootcert=FILE`). Without it the embedded store in the data dir is used.
    #[arg(
        long,
        env = "QR_ORIGIN_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Most PostgreSQL connections this instance holds (requests beyond wait up to 3 s, then
    /// answer 503).
    #[arg(long, env = "QR_ORIGIN_DATABASE_POOL", default_value_t = crate::store::postgres::DEFAULT_POOL_SIZE)]
    pub database_pool: usize,
}

impl DatabaseArgs {
    /// Checks the URL's scheme and the pool size; the URL's details are checked on connect.
    pub fn validate(&self) -> anyhow::Result<crate::store::StoreSettings> {
        if let Some(url) = &self.database_url
            && !crate::store::postgres::url::is_postgres_url(url)
        {
            bail!("--database-url: must start with postgres:// or postgresql://");
        }
        if !(1..=1000).contains(&self.database_pool) {
            bail!(
                "--database-pool {}: must be within 1..=1000",
                self.database_pool
            );
        }
        Ok(crate::store::StoreSettings {
            database_url: self.database_url.clone(),
            pool_size: self.database_pool,
        })
    }
}

/// The store of the store-editing subcommands (`merchant`, `logo`): `serve`'s store flags, made
/// global so each may follow the action as well as precede it (`merchant add --database-url U`
/// and `merchant --database-url U add` alike). Only here: global on `serve`, whose flags the
/// top level takes too, they would reach every subcommand.
#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("database_url", |a| a.global(true)),
    mut_arg("database_pool", |a| a.global(true))
)]
pub struct StoreArgs {
    /// Directory holding the embedded store (the same as `serve --data-dir`).
    #[arg(
        long,
        env = "QR_ORIGIN_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl StoreArgs {
    /// Checked as `serve` checks its store flags.
    pub fn validate(&self) -> anyhow::Result<crate::store::StoreSettings> {
        self.database.validate()
    }
}

/// Webhook registration and delivery flags (part of `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Accept `http://` webhook URLs to loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`); for
    /// local development and tests only. Without it every webhook URL must be https.
    #[arg(long, env = "QR_ORIGIN_ALLOW_INSECURE_WEBHOOKS")]
    pub allow_insecure_webhooks: bool,

    /// Give an undelivered webhook event up this long after it was created, e.g. `7d`, `12h`.
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_GIVE_UP_AFTER", default_value = "7d", value_parser = parse_duration)]
    pub webhook_give_up_after: Duration,

    /// Delay before the first retry of a failed delivery; doubles per failure (with jitter).
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_RETRY_INITIAL", default_value = "5s", value_parser = parse_duration)]
    pub webhook_retry_initial: Duration,

    /// Longest wait between two attempts at one event.
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_RETRY_MAX", default_value = "1h", value_parser = parse_duration)]
    pub webhook_retry_max: Duration,

    /// Deadline of one delivery attempt, connecting included.
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// Delivery attempts in flight at once, across all webhooks.
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: usize,

    /// How long a delivery worker holds a webhook's lane before another instance may take it
    /// over (the holder crashed) [default: 3 × --webhook-timeout + 5s, i.e. 35s]. Must exceed
    /// --webhook-timeout, so a live worker always finishes first.
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_LEASE", value_parser = parse_duration)]
    pub webhook_lease: Option<Duration>,

    /// How often the delivery worker looks for due retries (it is also woken by every scan).
    #[arg(long, env = "QR_ORIGIN_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub webhook_poll_interval: Duration,
}

/// `--ops-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpsListen(pub Option<SocketAddr>);

fn parse_ops_listen(s: &str) -> Result<OpsListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(OpsListen(None));
    }
    s.parse()
        .map(|a| OpsListen(Some(a)))
        .map_err(|_| format!("{s:?}: expected ADDR:PORT or off"))
}

/// Validated webhook settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookSettings {
    pub allow_insecure: bool,
    pub delivery: crate::webhooks::deliver::DeliveryConfig,
}

impl WebhookArgs {
    /// Checks ranges and derives the claim lease from the timeout.
    pub fn validate(&self) -> anyhow::Result<WebhookSettings> {
        use crate::webhooks::backoff::RetryPolicy;
        use crate::webhooks::deliver::DeliveryConfig;
        if !(Duration::from_secs(60)..=Duration::from_secs(30 * 86_400))
            .contains(&self.webhook_give_up_after)
        {
            bail!("--webhook-give-up-after: must be from 1m to 30d");
        }
        if self.webhook_retry_initial < Duration::from_millis(10)
            || self.webhook_retry_initial > self.webhook_retry_max
        {
            bail!("--webhook-retry-initial: must be at least 10ms and at most --webhook-retry-max");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(300)).contains(&self.webhook_timeout)
        {
            bail!("--webhook-timeout: must be from 100ms to 300s");
        }
        if !(1..=1024).contains(&self.webhook_concurrency) {
            bail!("--webhook-concurrency: must be within 1..=1024");
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(60))
            .contains(&self.webhook_poll_interval)
        {
            bail!("--webhook-poll-interval: must be from 10ms to 60s");
        }
        // Comfortably past the timeout by default, so a live worker never loses its claim.
        let lease = self
            .webhook_lease
            .unwrap_or(self.webhook_timeout * 3 + Duration::from_secs(5));
        if lease <= self.webhook_timeout || lease > Duration::from_secs(3600) {
            bail!("--webhook-lease: must be longer than --webhook-timeout and at most 1h");
        }
        Ok(WebhookSettings {
            allow_insecure: self.allow_insecure_webhooks,
            delivery: DeliveryConfig {
                policy: RetryPolicy {
                    initial: self.webhook_retry_initial,
                    max_delay: self.webhook_retry_max,
                    give_up_after: self.webhook_give_up_after,
                },
                timeout: self.webhook_timeout,
                concurrency: self.webhook_concurrency,
                lease,
                poll_interval: self.webhook_poll_interval,
            },
        })
    }
}

/// Validated configuration. Built once at start-up by [`ServeArgs::into_config`] (or by tests
/// with [`Config::local`]); handlers read it through the app state.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The operator listener; `None` serves the operator endpoints on `listen` only.
    pub ops_listen: Option<SocketAddr>,
    /// Connections the operator listener serves at once (probes and scrapes: a handful).
    pub ops_connections: usize,
    /// `None` means "derive from the bound address" (useful with port 0).
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub signing_keys: KeyPairs,
    pub cache_bytes: u64,
    pub max_token_bytes: usize,
    pub token_leeway_secs: i64,
    /// Render threads.
    pub max_renders: usize,
    /// Renders allowed to wait for a render thread before the origin answers 503.
    pub max_render_queue: usize,
    pub header_read_timeout: Duration,
    /// Deadline for a whole request body once the head is in (408 past it).
    pub body_read_timeout: Duration,
    /// Response bytes that may be held by connections still sending them, across the server:
    /// what slow readers can pin beyond the cache. New responses past it answer 503.
    pub max_inflight_bytes: usize,
    /// How often the store is probed with a write for `/readyz`.
    pub store_probe_interval: Duration,
    pub max_connections: usize,
    /// Extra connections beyond `max_connections` that only health/metrics requests may use.
    pub reserve_connections: usize,
    pub shutdown_delay: Duration,
    pub drain_timeout: Duration,
    /// Lifetime of one-time payment QRs (published default: 600 s).
    pub payment_ttl: Duration,
    /// One `qr_origin::access` log line per request ([`crate::server::access_log`]).
    pub access_log: bool,
    /// How the short links QR codes hold are written.
    pub short_link_case: ShortLinkCase,
    /// Webhook registration rules and the delivery worker's pacing.
    pub webhooks: WebhookSettings,
    /// The embedded store or a PostgreSQL database.
    pub store: crate::store::StoreSettings,
    /// Scan analytics: counting, flush window, retention, trusted proxies.
    pub scans: scans::ScanSettings,
}

impl Config {
    /// Defaults for a server on an ephemeral localhost port with state in `data_dir`;
    /// what tests and benches start from.
    pub fn local(data_dir: impl Into<PathBuf>) -> Config {
        let max_renders = default_max_renders();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // Tests that want the operator listener ask for it (port 0).
            ops_listen: None,
            ops_connections: DEFAULT_OPS_CONNECTIONS,
            public_url: None,
            data_dir: data_dir.into(),
            signing_keys: Vec::new(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_leeway_secs: DEFAULT_TOKEN_LEEWAY_SECS,
            max_renders,
            max_render_queue: max_renders * RENDER_QUEUE_PER_THREAD,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_inflight_bytes: inflight_budget(DEFAULT_CACHE_BYTES),
            store_probe_interval: DEFAULT_STORE_PROBE_INTERVAL,
            max_connections: 4096,
            reserve_connections: 64,
            shutdown_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(30),
            payment_ttl: DEFAULT_PAYMENT_TTL,
            access_log: false,
            short_link_case: ShortLinkCase::Host,
            webhooks: WebhookSettings::default(),
            store: crate::store::StoreSettings::default(),
            scans: scans::ScanSettings::default(),
        }
    }

    /// The public base URL (no trailing slash), falling back to the address actually bound.
    pub fn public_url_or(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => default_public_url(bound),
        }
    }
}

/// How often `/readyz` re-checks that the store takes writes.
pub const DEFAULT_STORE_PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Connections the operator listener serves at once.
pub const DEFAULT_OPS_CONNECTIONS: usize = 16;
/// Default render queue per render thread: at a worst-case render (~5 ms) a full queue is
/// ~160 ms of waiting, past which a client is better off with a 503 and a retry.
pub const RENDER_QUEUE_PER_THREAD: usize = 32;

/// The in-flight response budget for a cache of `cache_bytes`: a quarter of it, within
/// 8..=256 MiB (images are a few KB; this is for thousands of slow readers at once).
pub fn inflight_budget(cache_bytes: u64) -> usize {
    let quarter = usize::try_from(cache_bytes / 4).unwrap_or(usize::MAX);
    quarter.clamp(8 << 20, 256 << 20)
}

/// The base URL of a server with no `--public-url`: plain HTTP on the listen address.
pub fn default_public_url(listen: SocketAddr) -> String {
    format!("http://{listen}")
}

impl ServeArgs {
    /// Checks every value once; the error names the flag and what it accepts.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let ServeArgs {
            listen,
            ops_listen,
            keys,
            cache_bytes,
            max_token_bytes,
            max_renders,
            render_queue,
            header_read_timeout,
            body_read_timeout,
            max_connections,
            shutdown_delay,
            drain_timeout,
            payment_ttl,
            access_log,
            short_link_case,
            webhooks,
            database,
            scans,
        } = self;
        let webhooks = webhooks.validate()?;
        let scans = scans.validate()?;
        let store = database.validate()?;
        let (public_url, signing_keys) = keys.validate()?;
        if cache_bytes < 1024 * 1024 {
            bail!("--cache-bytes {cache_bytes}: must be at least 1048576 (1 MiB)");
        }
        if !(512..=1024 * 1024).contains(&max_token_bytes) {
            bail!("--max-token-bytes {max_token_bytes}: must be within 512..=1048576");
        }
        let max_renders = max_renders.unwrap_or_else(default_max_renders);
        if !(1..=4096).contains(&max_renders) {
            bail!("--max-renders {max_renders}: must be within 1..=4096");
        }
        let max_render_queue =
            render_queue.unwrap_or(max_renders.saturating_mul(RENDER_QUEUE_PER_THREAD));
        if max_render_queue > 1_000_000 {
            bail!("--render-queue {max_render_queue}: must be at most 1000000");
        }
        if body_read_timeout < Duration::from_millis(10) {
            bail!("--body-read-timeout: must be at least 10ms");
        }
        if ops_listen.0.is_some_and(|a| a == listen && a.port() != 0) {
            bail!("--ops-listen {listen}: must differ from --listen");
        }
        if header_read_timeout < Duration::from_millis(10) {
            bail!("--header-read-timeout: must be at least 10ms");
        }
        if !(1..=1_000_000).contains(&max_connections) {
            bail!("--max-connections {max_connections}: must be within 1..=1000000");
        }
        if !(Duration::from_secs(10)..=Duration::from_secs(86_400)).contains(&payment_ttl) {
            bail!("--payment-ttl: must be from 10s to 1440m (one day)");
        }
        Ok(Config {
            payment_ttl,
            access_log,
            short_link_case,
            webhooks,
            store,
            scans,
            listen,
            ops_listen: ops_listen.0,
            ops_connections: DEFAULT_OPS_CONNECTIONS,
            public_url,
            data_dir: keys.data_dir,
            signing_keys,
            cache_bytes,
            max_token_bytes,
            token_leeway_secs: DEFAULT_TOKEN_LEEWAY_SECS,
            max_renders,
            max_render_queue,
            header_read_timeout,
            body_read_timeout,
            max_inflight_bytes: inflight_budget(cache_bytes),
            store_probe_interval: DEFAULT_STORE_PROBE_INTERVAL,
            max_connections,
            reserve_connections: (max_connections / 16).clamp(4, 256),
            shutdown_delay,
            drain_timeout,
        })
    }
}

impl KeyArgs {
    /// Validates the public URL and splits the `KID=SECRET` pairs.
    pub fn validate(&self) -> anyhow::Result<(Option<String>, KeyPairs)> {
        let public_url = match &self.public_url {
            None => None,
            Some(u) => Some(validate_public_url(u)?),
        };
        let mut keys = KeyPairs::new();
        for raw in &self.signing_keys {
            let (kid, secret) = raw
                .split_once('=')
                .with_context(|| "--signing-key: expected KID=SECRET (secret not shown)")?;
            if kid.is_empty() || secret.is_empty() {
                bail!("--signing-key: KID and SECRET must both be non-empty");
            }
            if keys.iter().any(|(k, _)| k == kid) {
                bail!("--signing-key: kid {kid:?} given twice");
            }
            keys.push((kid.to_owned(), secret.to_owned()));
        }
        Ok((public_url, keys))
    }
}

/// `http(s)://host[:port][/prefix]`, stored without a trailing slash.
fn validate_public_url(u: &str) -> anyhow::Result<String> {
    let trimmed = u.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !u.contains(['?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => bail!("--public-url {u:?}: expected http(s)://host[:port][/path] without query"),
    }
}

fn default_max_renders() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The one parser of every duration flag (and `token --ttl`): a number with a unit, `500ms`,
/// `10s`, `10m`, `12h`, `7d`, or several added up (`1h 30m`), as `humantime` reads them. A bare
/// number is refused rather than guessed: `--shutdown-delay 5` could mean seconds or minutes.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{s:?} has no unit: write e.g. {t}s or {t}ms (units: ms, s, m, h, d)"
        ));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!("{s:?}: {e}; expected a duration like 500ms, 10s, 10m, 12h, 7d or 1h 30m")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> anyhow::Result<Config> {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::try_parse_from(v)?.serve.into_config()
    }

    #[test]
    fn defaults_are_valid() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.cache_bytes, DEFAULT_CACHE_BYTES);
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    }

    #[test]
    fn signing_keys_keep_order_and_reject_duplicates() {
        let c = parse(&["--signing-key", "new=s1", "--signing-key", "old=s2"]).unwrap();
        assert_eq!(c.signing_keys[0], ("new".into(), "s1".into()));
        assert_eq!(c.signing_keys[1].0, "old");
        assert!(parse(&["--signing-key", "a=1", "--signing-key", "a=2"]).is_err());
        assert!(parse(&["--signing-key", "nosecret"]).is_err());
        assert!(parse(&["--signing-key", "=x"]).is_err());
    }

    #[test]
    fn public_url_is_checked_and_trimmed() {
        let c = parse(&["--public-url", "https://qr.example.com/"]).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://qr.example.com"));
        assert!(parse(&["--public-url", "qr.example.com"]).is_err());
        assert!(parse(&["--public-url", "https://x/?a=b"]).is_err());
    }

    #[test]
    fn durations_parse_with_units_only() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5h"), Ok(Duration::from_secs(5 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bare in ["7", "0", "1.5"] {
            let e = parse_duration(bare).unwrap_err();
            assert!(
                e.contains("has no unit") && e.contains(&format!("{bare}s")),
                "{e}"
            );
        }
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn every_duration_flag_takes_the_same_units() {
        // The flags that used to disagree: --shutdown-delay refused hours, webhook flags took them.
        let c = parse(&[
            "--shutdown-delay",
            "1h",
            "--drain-timeout",
            "2m",
            "--payment-ttl",
            "1h",
            "--webhook-give-up-after",
            "2d",
            "--header-read-timeout",
            "1500ms",
        ])
        .unwrap();
        assert_eq!(c.shutdown_delay, Duration::from_secs(3600));
        assert_eq!(c.drain_timeout, Duration::from_secs(120));
        assert_eq!(c.payment_ttl, Duration::from_secs(3600));
        assert_eq!(
            c.webhooks.delivery.policy.give_up_after,
            Duration::from_secs(2 * 86_400)
        );
        assert_eq!(c.header_read_timeout, Duration::from_millis(1500));
        assert!(parse(&["--drain-timeout", "30"]).is_err(), "bare number");
    }

    #[test]
    fn webhook_flags_are_validated() {
        let c = parse(&[]).unwrap();
        assert!(!c.webhooks.allow_insecure);
        assert_eq!(
            c.webhooks.delivery.policy.give_up_after,
            Duration::from_secs(7 * 86_400),
            "7 days by default"
        );
        let c = parse(&[
            "--allow-insecure-webhooks",
            "--webhook-give-up-after",
            "12h",
            "--webhook-timeout",
            "2s",
        ])
        .unwrap();
        assert!(c.webhooks.allow_insecure);
        assert_eq!(
            c.webhooks.delivery.policy.give_up_after,
            Duration::from_secs(12 * 3600)
        );
        assert!(c.webhooks.delivery.lease > c.webhooks.delivery.timeout);
        assert!(parse(&["--webhook-give-up-after", "10s"]).is_err());
        assert!(parse(&["--webhook-concurrency", "0"]).is_err());
        assert!(parse(&["--webhook-retry-initial", "2h"]).is_err());
    }

    #[test]
    fn database_flags_are_validated() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.store.database_url, None, "embedded by default");
        let c = parse(&[
            "--database-url",
            "postgresql://qr@db/qr?sslmode=require",
            "--database-pool",
            "4",
        ])
        .unwrap();
        assert_eq!(
            c.store.database_url.as_deref(),
            Some("postgresql://qr@db/qr?sslmode=require")
        );
        assert_eq!(c.store.pool_size, 4);
        assert!(parse(&["--database-url", "sqlite:///tmp/x"]).is_err());
        assert!(parse(&["--database-pool", "0"]).is_err());
        assert_eq!(
            parse(&["--webhook-lease", "2s", "--webhook-timeout", "1s"])
                .unwrap()
                .webhooks
                .delivery
                .lease,
            Duration::from_secs(2)
        );
        assert!(parse(&["--webhook-lease", "1s", "--webhook-timeout", "1s"]).is_err());
        assert!(parse(&[]).unwrap().webhooks.delivery.lease < Duration::from_secs(60));
    }

    #[test]
    fn limits_are_validated() {
        assert!(parse(&["--cache-bytes", "10"]).is_err());
        assert!(parse(&["--max-renders", "0"]).is_err());
        assert!(parse(&["--max-connections", "0"]).is_err());
        assert!(parse(&["--payment-ttl", "5s"]).is_err());
        assert_eq!(
            parse(&["--payment-ttl", "5m"]).unwrap().payment_ttl,
            Duration::from_secs(300)
        );
    }
}
