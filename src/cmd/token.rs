//! `qr-origin token`: print a full image URL signed with the configured key, for CDN tests,
//! load tests and curl.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use super::look::LookArgs;
use super::render::StyleArgs;
use crate::clock::{Clock, SystemClock};
use crate::config::keys;
use crate::config::{self, KeyArgs};
use crate::origin;
use crate::render::{DEFAULT_SIZE, Format};
use crate::token::{ImageClaims, VerifyLimits};

/// Arguments of `qr-origin token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Content to encode in the QR code (usually a URL).
    #[arg(long)]
    pub url: String,
    /// Image format: png, svg or pdf.
    #[arg(long, default_value = "png", value_parser = ["png", "svg", "pdf"])]
    pub format: String,
    /// Edge in pixels, 100..=2000.
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    pub size: u32,
    #[command(flatten)]
    pub look: LookArgs,
    // The branded-code flags, as `render` takes them. `--logo` names the file's logo by its
    // content hash: the origin serving the URL must hold that logo (uploaded through the API).
    #[command(flatten)]
    pub style: StyleArgs,
    /// Lifetime of the URL, e.g. `10m`, `1h`, `7d`; without it the URL never expires.
    #[arg(long, value_parser = config::parse_duration)]
    pub ttl: Option<Duration>,
    /// Print only the token, not the full URL.
    #[arg(long)]
    pub token_only: bool,
    /// Print this many URLs, the i-th encoding `<url><i>`: every one a different image, for
    /// load tests where each request must render.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub count: u64,
    /// The server's listen address: the base of the printed URLs when `--public-url` is not
    /// given (read from the same env var as `serve`, so both agree).
    #[arg(long, env = "QR_ORIGIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs the subcommand: prints the URL(s) (or tokens) on stdout, one a line.
pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let (public_url, signing_keys) = args.keys.validate()?;
    let keyring = keys::load_keyring(&args.keys.data_dir, &signing_keys, VerifyLimits::default())?;
    let format: Format = args.format.parse()?;
    let now = SystemClock.now_unix();
    let mut claims = ImageClaims::new(args.url, format, args.size);
    claims.iss = Some("qr-origin".to_owned());
    claims.iat = Some(now);
    claims.nbf = Some(now);
    claims.ecc = args.look.ecc;
    claims.border = args.look.border;
    claims.dark = args.look.fg;
    claims.light = args.look.bg;
    claims.style = super::render::style(&args.style)?.0;
    if let Some(ttl) = args.ttl {
        if ttl < Duration::from_secs(1) {
            anyhow::bail!("--ttl: at least 1s (tokens count whole seconds)");
        }
        let ttl = i64::try_from(ttl.as_secs()).context("--ttl is too large")?;
        claims.exp = Some(now.saturating_add(ttl));
    }
    claims
        .validate()
        .context("these claims would never verify")?;
    let base = public_url.unwrap_or_else(|| config::default_public_url(args.listen));
    let prefix = claims.url.clone();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..args.count {
        if args.count > 1 {
            claims.url = format!("{prefix}{i}");
            claims
                .validate()
                .context("these claims would never verify")?;
        }
        if args.token_only {
            writeln!(out, "{}", keyring.sign(&claims))?;
        } else {
            writeln!(out, "{}", origin::image_url(&base, &keyring, &claims))?;
        }
    }
    out.flush()?;
    Ok(())
}
