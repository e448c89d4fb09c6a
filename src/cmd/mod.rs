//! Command-line subcommands. `main.rs` parses [`Cli`] and calls the matching `run`.

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

pub mod config_file;
pub mod logo;
pub mod look;
pub mod merchant;
pub mod render;
pub mod serve;
pub mod token;

/// qr-origin: QR API, short links and QR image origin.
///
/// Without a subcommand it runs `serve` (the serve flags are accepted at the top level too).
#[derive(Debug, Parser)]
#[command(
    name = "qr-origin",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,

    /// TOML file of settings, keyed by long flag name (`listen = "0.0.0.0:8080"`); flags and
    /// env vars override it. See deploy/qr-origin.toml.
    #[arg(long, global = true, env = "QR_ORIGIN_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// Log format on stderr: `text` for people, `json` (one object per line) for collectors.
    #[arg(long, global = true, env = "QR_ORIGIN_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve(Box<ServeArgs>),
    /// Print a signed image URL (for CDN and load tests).
    Token(token::TokenArgs),
    /// Render one QR code to a file.
    Render(render::RenderArgs),
    /// Create and list merchants' API credentials.
    Merchant(merchant::MerchantArgs),
    /// Store a merchant's logo from a file, or list its logos (branded QR codes).
    Logo(logo::LogoArgs),
}

/// Opens the configured store (`--database-url`, else the embedded store in `data_dir`),
/// runs `job` on it on a one-thread runtime and prints the JSON it returns: the shape of every
/// store-editing subcommand (`merchant`, `logo`).
pub(crate) fn print_from_store<F, Fut>(
    data_dir: &std::path::Path,
    settings: &crate::store::StoreSettings,
    job: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<dyn crate::store::Store>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    use anyhow::Context;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        let store = crate::store::open(data_dir, settings)
            .await
            .with_context(|| match settings.database_url {
                Some(_) => "opening the PostgreSQL store (--database-url)".to_owned(),
                None => format!("opening the store in {}", data_dir.display()),
            })?;
        job(store).await
    })?;
    println!("{out}");
    Ok(())
}
