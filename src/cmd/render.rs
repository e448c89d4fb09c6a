//! `qr-origin render`: write one QR image to a file, or to stdout with `--out -`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;

use super::look::LookArgs;
use crate::logo;
use crate::render::style::DEFAULT_LOGO_PERMILLE;
use crate::render::{
    self, Caption, Eyes, Format, Frame, LogoArt, LogoRef, RenderOptions, Rgb, Shape, Style,
};
use crate::store::LogoFormat;

/// Arguments of `qr-origin render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Content to encode (a URL or any UTF-8 text), encoded as bytes.
    #[arg(long, value_name = "CONTENT")]
    pub url: String,
    /// Image format: png | svg | pdf | text.
    #[arg(long, default_value = "png")]
    pub format: Format,
    /// Width and height in pixels, 100..=2000.
    #[arg(long, default_value_t = render::DEFAULT_SIZE)]
    pub size: u32,
    #[command(flatten)]
    pub look: LookArgs,
    #[command(flatten)]
    pub style: StyleArgs,
    /// File to write; `-` writes the image to stdout (and nothing else).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// The branded-code flags, named like the QR API's `style` fields.
#[derive(Debug, clap::Args)]
pub struct StyleArgs {
    /// Module shape: square | rounded | dots.
    #[arg(long, default_value = "square")]
    pub shape: Shape,
    /// Eye (finder pattern) shape: square | rounded | circle.
    #[arg(long, default_value = "square")]
    pub eyes: Eyes,
    /// Colour of the three eyes, rrggbb or #rrggbb (default: the foreground).
    #[arg(long, value_name = "RRGGBB")]
    pub eye_color: Option<Rgb>,
    /// A logo for the centre: a PNG or SVG file (`.svg` is read as SVG), validated like an
    /// upload.
    #[arg(long, value_name = "FILE")]
    pub logo: Option<PathBuf>,
    /// The logo's width as a share of the symbol's, e.g. 0.2.
    #[arg(long, value_name = "SHARE", requires = "logo")]
    pub logo_size: Option<f64>,
    /// No background: PNG with alpha, SVG without a background rectangle.
    #[arg(long)]
    pub transparent: bool,
    /// Light modules on a dark ground (give --fg lighter than --bg).
    #[arg(long)]
    pub invert: bool,
    /// A call to action in a band below the code, inside a frame: 1..=40 characters.
    #[arg(long, value_name = "TEXT")]
    pub caption: Option<String>,
    /// The frame's colour, rrggbb or #rrggbb (default: the foreground).
    #[arg(long, value_name = "RRGGBB", requires = "caption")]
    pub frame_color: Option<Rgb>,
    /// The caption's colour, rrggbb or #rrggbb (default: the background).
    #[arg(long, value_name = "RRGGBB", requires = "caption")]
    pub caption_color: Option<Rgb>,
}

/// The logo file decoded like an upload, and the style naming it by its content's SHA-256.
pub(super) fn style(args: &StyleArgs) -> anyhow::Result<(Style, Option<logo::DecodedLogo>)> {
    let decoded = match &args.logo {
        None => None,
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let svg = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
            let format = if svg {
                LogoFormat::Svg
            } else {
                LogoFormat::Png
            };
            let decoded = logo::decode(format, &bytes)
                .with_context(|| format!("{} is not a usable logo", path.display()))?;
            let id = LogoRef::parse_id(&logo::id_of(&bytes)).expect("id_of is 64 hex digits");
            Some((id, decoded))
        }
    };
    let permille = match args.logo_size {
        None => DEFAULT_LOGO_PERMILLE,
        // Out-of-range shares become 0 or > 1000 and are refused by the render rules.
        Some(share) => (share * 1000.0).round().clamp(0.0, f64::from(u16::MAX)) as u16,
    };
    let style = Style {
        shape: args.shape,
        eyes: args.eyes,
        eye_color: args.eye_color,
        logo: decoded.as_ref().map(|&(id, _)| LogoRef {
            id,
            size_permille: permille,
        }),
        transparent: args.transparent,
        invert: args.invert,
        frame: match &args.caption {
            None => None,
            Some(text) => Some(Frame {
                caption: Caption::new(text).context("--caption")?,
                frame_color: args.frame_color,
                caption_color: args.caption_color,
            }),
        },
    };
    Ok((style, decoded.map(|(_, d)| d)))
}

/// Renders and writes the file; every invalid option comes back as the render layer's message.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let (style, logo) = style(&args.style)?;
    let opts = RenderOptions {
        format: args.format,
        size: args.size,
        ecc: args.look.ecc,
        border: args.look.border,
        dark: args.look.fg,
        light: args.look.bg,
        style,
    };
    let content = args.url.as_bytes();
    let side = render::logo_side(content, &opts).context("cannot render")?;
    // A PDF draws an SVG logo's outlines when it has them, like the origin; pixels otherwise.
    let outlines = logo
        .as_ref()
        .and_then(|l| l.outlines())
        .filter(|_| opts.format == Format::Pdf);
    let pixmap = match (side, &logo, outlines) {
        (Some(side), Some(logo), None) => logo.fit(side),
        _ => None,
    };
    let rendered = match opts.format {
        Format::Pdf => {
            let art = match outlines {
                Some(v) => Some(LogoArt::Vector(v)),
                None => pixmap.as_ref().map(LogoArt::Raster),
            };
            render::render_pdf(content, &opts, art)
        }
        _ => render::render_with_logo(content, &opts, pixmap.as_ref()),
    }
    .context("cannot render")?;
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
