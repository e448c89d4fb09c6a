//! Command-line subcommands. `main.rs` parses [`Cli`] and calls the matching `run`.

use clap::{Parser, Subcommand};

pub mod merchant;
pub mod render;

/// qr-origin: QR API, short links and QR image origin.
#[derive(Debug, Parser)]
#[command(name = "qr-origin", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render one QR code to a file.
    Render(render::RenderArgs),
    /// Create and list merchants' API credentials.
    Merchant(merchant::MerchantArgs),
}
