//! `qr-origin render`: write one QR image to a file.

/// Arguments of `qr-origin render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {}

/// Runs the subcommand.
pub fn run(_args: RenderArgs) -> anyhow::Result<()> {
    anyhow::bail!("render: not implemented yet")
}
