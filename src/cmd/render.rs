//! `qr-origin render`: write one QR image to a file, or to stdout with `--out -`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;

use super::look::LookArgs;
use crate::render::{self, Format, RenderOptions};

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
    #[command(flatten)]
    pub look: LookArgs,
    /// File to write; `-` writes the image to stdout (and nothing else).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Renders and writes the file; every invalid option comes back as the render layer's message.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let opts = RenderOptions {
        format: args.format,
        size: args.size,
        ecc: args.look.ecc,
        border: args.look.border,
        dark: args.look.fg,
        light: args.look.bg,
        style: Default::default(),
    };
    let rendered = render::render(args.url.as_bytes(), &opts).context("cannot render")?;
    if args.out.as_os_str() == "-" {
        // Only the image on stdout, so `render --out - > qr.png` and pipes get clean bytes.
        let mut out = std::io::stdout().lock();
        out.write_all(&rendered.bytes)
            .and_then(|()| out.flush())
            .context("cannot write the image to stdout")?;
        return Ok(());
    }
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
