//! `qr-origin render`: write one QR image to a file.

use std::path::PathBuf;

use anyhow::Context;

use crate::render::{self, Ecc, Format, RenderOptions, Rgb};

/// Arguments of `qr-origin render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Content to encode (a URL or any UTF-8 text), encoded as bytes.
    #[arg(long, value_name = "CONTENT")]
    pub url: String,
    /// Image format: png | svg | text.
    #[arg(long, default_value = "png")]
    pub format: Format,
    /// Width and height in pixels, 100..=2000.
    #[arg(long, default_value_t = render::DEFAULT_SIZE)]
    pub size: u32,
    /// Error-correction level: L | M | Q | H.
    #[arg(long, default_value = "M")]
    pub ecc: Ecc,
    /// Quiet zone in modules, 0..=16 (the standard asks for 4).
    #[arg(long, default_value_t = render::DEFAULT_BORDER)]
    pub border: u32,
    /// Dark colour, rrggbb.
    #[arg(long, default_value = "000000")]
    pub dark: Rgb,
    /// Light colour, rrggbb.
    #[arg(long, default_value = "ffffff")]
    pub light: Rgb,
    /// File to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Renders and writes the file; every invalid option comes back as the render layer's message.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let opts = RenderOptions {
        format: args.format,
        size: args.size,
        ecc: args.ecc,
        border: args.border,
        dark: args.dark,
        light: args.light,
    };
    let rendered = render::render(args.url.as_bytes(), &opts).context("cannot render")?;
    std::fs::write(&args.out, &rendered.bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({}, {} bytes)",
        args.out.display(),
        rendered.content_type,
        rendered.bytes.len()
    );
    Ok(())
}
