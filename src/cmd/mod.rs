//! Command-line subcommands. `main.rs` parses [`Cli`] and calls the matching `run`.

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

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

/// Opens the configured store (`--database-url`, else the embedded store in `--data-dir`),
/// runs `job` on it on a one-thread runtime and prints the JSON it returns: the shape of every
/// store-editing subcommand (`merchant`, `logo`).
pub(crate) fn print_from_store<F, Fut>(
    args: &crate::config::StoreArgs,
    job: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<dyn crate::store::Store>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    use anyhow::Context;
    let settings = args.validate()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        let store = crate::store::open(&args.data_dir, &settings)
            .await
            .with_context(|| settings.describe(&args.data_dir))?;
        job(store).await
    })?;
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Command};

    /// The store flags parse after the action as well as before it, for both store-editing
    /// subcommands.
    #[test]
    fn store_flags_work_after_the_action() {
        let url = "postgres://qr@db.internal/qr";
        let store = [
            "--database-url",
            url,
            "--database-pool",
            "3",
            "--data-dir",
            "d",
        ];
        let before =
            |sub: &[&'static str], action: &[&'static str]| [sub, &store[..], action].concat();
        let after =
            |sub: &[&'static str], action: &[&'static str]| [sub, action, &store[..]].concat();
        let merchant_add = ["add", "--msn", "1", "--name", "A"];
        let logo_add = ["add", "f.png", "--msn", "1"];
        let cases = [
            after(&["merchant"], &merchant_add),
            before(&["merchant"], &["list"]),
            after(&["logo"], &["list", "--msn", "1"]),
            after(&["logo"], &logo_add),
            before(&["logo"], &logo_add),
        ];
        for args in cases {
            let argv = std::iter::once("qr-origin").chain(args.iter().copied());
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let store = match cli.command {
                Some(Command::Merchant(m)) => m.store,
                Some(Command::Logo(l)) => l.store,
                other => panic!("{args:?}: {other:?}"),
            };
            assert_eq!(
                store.database.database_url.as_deref(),
                Some(url),
                "{args:?}"
            );
            assert_eq!(store.database.database_pool, 3, "{args:?}");
            assert_eq!(store.data_dir, std::path::Path::new("d"), "{args:?}");
            assert_eq!(store.validate().expect("valid").pool_size, 3);
        }
    }
}
