//! Render core: QR content + options → image bytes. No HTTP, no I/O in here.
//!
//! [`render`] is the one entry point; everything else (the origin, the QR API, the CLI) calls it.
//! The options are validated here, so every caller gets the same typed errors.
//!
//! # Layout (data flow order)
//! - [`segment`]: content → the numeric/alphanumeric/byte segments that take fewest bits.
//! - [`codewords`]: segments → data + Reed–Solomon codewords for the smallest version, at the
//!   strongest ECC level it holds.
//! - [`matrix`]: codewords → module matrix (function patterns, placement, mask choice).
//! - [`penalty`]: the mask penalty score on bit-packed rows and columns.
//! - [`raster`]: module → pixel geometry (whole pixels per module) and dark runs of a row.
//! - [`png`] / [`svg`]: the image writers; [`deflate`] codes the PNG writer's matches.
//! - [`text`]: captions: the embedded font, the caption rules, shaping and outlines.
//! - [`styled`]: branded codes (shapes, eyes, logo, transparency) and the rules that keep
//!   them scannable; [`render`] sends every non-plain [`Style`] there, and a frame with a
//!   caption is drawn there around any code.
//! - [`pdf`]: one vector page for print, framed or not.
//!
//! `PERFORMANCE.md` beside this file has the design history and the bench figures.

use std::fmt;
use std::str::FromStr;

mod codewords;
mod deflate;
mod grid_lz;
mod lz;
pub mod matrix;
mod pdf;
mod penalty;
mod png;
mod raster;
pub mod segment;
pub mod style;
mod styled;
mod svg;
pub mod text;

pub use style::{Eyes, Frame, LogoRef, Shape, Style};
pub use text::{Caption, CaptionError};

/// Bumped whenever the bytes produced for the same inputs change; part of every ETag, so a CDN
/// never mixes images from two renderer versions under one validator.
pub const RENDERER_VERSION: &str = "10";

/// Smallest and largest image edge in pixels (as published for the QR API).
pub const MIN_SIZE: u32 = 100;
/// See [`MIN_SIZE`].
pub const MAX_SIZE: u32 = 2000;
/// Default edge in pixels.
pub const DEFAULT_SIZE: u32 = 800;
/// Quiet zone in modules required by ISO/IEC 18004.
pub const DEFAULT_BORDER: u32 = 4;
/// Largest quiet zone accepted; more only wastes pixels the modules need.
pub const MAX_BORDER: u32 = 16;

/// What the caller wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Svg,
    /// The QR content itself (`text/targetUrl` in the QR API).
    Text,
    /// One vector page of `size` points, for print.
    Pdf,
}

impl Format {
    /// The `Content-Type` of a rendered image of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
            Format::Text => "text/plain; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }

    /// The format an image writer draws: `Text` has no image and gets the PNG.
    pub fn image(self) -> Format {
        match self {
            Format::Text => Format::Png,
            f => f,
        }
    }
}

impl FromStr for Format {
    type Err = RenderError;
    /// Accepts short names and the MIME types used in tokens (`image/png`, `image/svg+xml`,
    /// `application/pdf`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "png" | "image/png" => Ok(Format::Png),
            "svg" | "image/svg+xml" => Ok(Format::Svg),
            "text" | "text/targetUrl" | "text/plain" => Ok(Format::Text),
            "pdf" | "application/pdf" => Ok(Format::Pdf),
            _ => Err(RenderError::InvalidOption {
                name: "format",
                allowed: "png | svg | pdf | text (or image/png, image/svg+xml, application/pdf, \
                          text/targetUrl)",
            }),
        }
    }
}

/// Error-correction level: the share of the symbol that may be damaged and still decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ecc {
    L,
    #[default]
    M,
    Q,
    H,
}

impl FromStr for Ecc {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "L" | "l" => Ok(Ecc::L),
            "M" | "m" => Ok(Ecc::M),
            "Q" | "q" => Ok(Ecc::Q),
            "H" | "h" => Ok(Ecc::H),
            _ => Err(RenderError::InvalidOption {
                name: "ecc",
                allowed: "L | M | Q | H",
            }),
        }
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(255, 255, 255);
}

impl FromStr for Rgb {
    type Err = RenderError;
    /// `rrggbb` or `#rrggbb`, hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = RenderError::InvalidOption {
            name: "colour",
            allowed: "6 hex digits, optionally prefixed by #",
        };
        let hex = s.strip_prefix('#').unwrap_or(s);
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err);
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| err.clone());
        Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Everything that determines the rendered bytes besides the content. Together with the content
/// and [`RENDERER_VERSION`] it is the cache key and the ETag input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    pub format: Format,
    /// Width and height in pixels (PNG), and `width`/`height` of the SVG.
    pub size: u32,
    pub ecc: Ecc,
    /// Quiet zone in modules.
    pub border: u32,
    pub dark: Rgb,
    pub light: Rgb,
    /// Branded-code extras; the default is the plain square code.
    pub style: Style,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            format: Format::Png,
            size: DEFAULT_SIZE,
            ecc: Ecc::M,
            border: DEFAULT_BORDER,
            dark: Rgb::BLACK,
            light: Rgb::WHITE,
            style: Style::default(),
        }
    }
}

impl RenderOptions {
    /// Checks every option against its allowed range.
    pub fn validate(&self) -> Result<(), RenderError> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&self.size) {
            return Err(RenderError::InvalidOption {
                name: "size",
                allowed: "100..=2000 pixels",
            });
        }
        if self.border > MAX_BORDER {
            return Err(RenderError::InvalidOption {
                name: "border",
                allowed: "0..=16 modules",
            });
        }
        self.style.check_colours(self.dark, self.light)
    }
}

/// Why a render was refused. Every variant is the caller's fault; rendering valid input cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("invalid {name}: allowed {allowed}")]
    InvalidOption {
        name: &'static str,
        allowed: &'static str,
    },
    #[error("content is empty: at least 1 byte is required")]
    EmptyContent,
    #[error(
        "content is {len} bytes and does not fit a QR code at ECC level {ecc:?}: at most {max} \
         bytes of content like it fit (more of digits or upper-case letters)"
    )]
    ContentTooLong { len: usize, max: usize, ecc: Ecc },
    #[error("the QR code needs {modules} modules but {size} px cannot give each module a pixel")]
    TooSmall { modules: u32, size: u32 },
    /// Dots below [`styled::rules::DOT_MIN_PX`] px per module do not binarise reliably.
    #[error(
        "dots need at least 4 px per module: {modules} modules (quiet zone included) at \
         {size} px give fewer; use a size of at least {min_size} px, a smaller border, or \
         shape square or rounded"
    )]
    DotsTooSmall {
        modules: u32,
        size: u32,
        min_size: u32,
    },
    /// The logo's square would damage more codewords than half the correction capacity of
    /// some block allows; `largest` is what this content does allow.
    #[error(
        "logoSize {} is too large for this content (version {version}, ECC {ecc:?}): the \
         largest logo that keeps it scannable is logoSize {}",
        style::Permille(*requested),
        style::Permille(*largest)
    )]
    LogoTooLarge {
        requested: u16,
        largest: u16,
        version: u8,
        ecc: Ecc,
    },
    /// Not even the smallest logo fits: the correction capacity cannot spare the codewords of
    /// a single module and its margin (or, in principle, a function pattern is that close).
    #[error(
        "this content leaves no room for a logo: its version {version} symbol at ECC {ecc:?} {}",
        if *function_pattern { "has a finder, timing or alignment pattern there, which must stay" }
        else { "cannot spare the codewords even the smallest logo removes" }
    )]
    NoRoomForLogo {
        version: u8,
        ecc: Ecc,
        function_pattern: bool,
    },
    #[error(
        "{name} {dark} on {light} has a contrast ratio of {}{}; at least 3:1 is needed to scan",
        style::Ratio(*ratio_centi),
        if *inverted { " in the negative readers decode an inverted code from" } else { "" }
    )]
    LowContrast {
        name: &'static str,
        dark: Rgb,
        light: Rgb,
        ratio_centi: u32,
        /// The ratio is the negative image's (an inverted code).
        inverted: bool,
    },
    /// The caption's letters against its band, below WCAG's 4.5:1 for text.
    #[error(
        "captionColor {caption} on frameColor {frame} has a contrast ratio of {}; a caption \
         needs at least 4.5:1 to be read",
        style::Ratio(*ratio_centi)
    )]
    LowCaptionContrast {
        caption: Rgb,
        frame: Rgb,
        ratio_centi: u32,
    },
    #[error("{0}")]
    Caption(#[from] CaptionError),
    /// The caption at the smallest readable text size is wider than the band.
    #[error(
        "caption does not fit: at the smallest readable text size ({min_px} px) it is {width} \
         px wide and the band at size {size} holds {room} px; use a shorter caption or a size of \
         at least {min_size}"
    )]
    CaptionTooWide {
        min_px: u32,
        width: u32,
        room: u32,
        size: u32,
        min_size: u32,
    },
    /// The frame and band leave the code fewer pixels per module than a reader needs.
    #[error(
        "caption leaves too little room for the code: {modules} modules (quiet zone included) \
         in {room} px at size {size} is under {min_px} px per module; use a size of at least \
         {min_size}, a shorter content or no caption"
    )]
    CaptionCrowdsCode {
        modules: u32,
        room: u32,
        size: u32,
        min_px: u32,
        min_size: u32,
    },
    #[error(
        "{name} {dark} is {} than {light}: {}",
        if *invert { "darker" } else { "lighter" },
        if *invert { "invert: true needs light modules on a dark ground" }
        else { "an inverted code (light on dark) needs invert: true" }
    )]
    Inversion {
        name: &'static str,
        dark: Rgb,
        light: Rgb,
        invert: bool,
    },
}

/// A rendered image and its MIME type.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Renders `content` (its bytes, in the segments that take fewest bits; UTF-8 text beyond ASCII
/// named by an ECI designator) with `opts`.
pub fn render(content: &[u8], opts: &RenderOptions) -> Result<Rendered, RenderError> {
    opts.validate()?;
    match opts.format {
        // The same limits as an image: `text` is the content of a QR code that must exist.
        Format::Text => matrix::version_for(content, opts.ecc).map(|_| Rendered {
            bytes: content.to_vec(),
            content_type: Format::Text.content_type(),
        }),
        Format::Pdf => render_with_logo(content, opts, None),
        Format::Png | Format::Svg if !opts.style.is_plain() => styled::render(content, opts, None),
        Format::Png | Format::Svg => render_matrix(&matrix::encode(content, opts.ecc)?, opts),
    }
}

/// Draws an already encoded symbol as `opts.format` (PNG or SVG; `Text` has no matrix to draw
/// and gets the PNG, and so does `Pdf`, which [`render`] draws). Split from [`render`] so benches can time the image writers alone.
pub fn render_matrix(m: &matrix::QrMatrix, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    opts.validate()?;
    let g = raster::Geometry::new(m, opts.border, opts.size)?;
    Ok(match opts.format {
        Format::Svg => Rendered {
            bytes: svg::write(m, &g, opts),
            content_type: Format::Svg.content_type(),
        },
        Format::Png | Format::Text | Format::Pdf => Rendered {
            bytes: png::write(m, &g, opts),
            content_type: Format::Png.content_type(),
        },
    })
}

/// The side in pixels of the square a style's logo is drawn into, for this content and these
/// options (`None` without a logo). The caller scales the logo to it and passes the pixmap to
/// [`render_with_logo`]. Checks every rule first, so a logo too large for the correction budget
/// is refused here, before any logo is fetched.
pub fn logo_side(content: &[u8], opts: &RenderOptions) -> Result<Option<u32>, RenderError> {
    if opts.style.is_plain() {
        opts.validate()?;
        return Ok(None);
    }
    if let Some(frame) = &opts.style.frame {
        // The logo sits in the framed code's smaller square.
        return Ok(styled::frame::plan(content, opts, frame)?.0.logo_side());
    }
    Ok(styled::Plan::new(content, opts)?.logo_side())
}

/// The width in modules, quiet zone included, of the symbol a code of `content` with these
/// options is drawn as (a logo raises the ECC and may raise the version); `size` is ignored.
/// `n` × this is the smallest size that gives every module `n` whole pixels.
pub fn symbol_width(content: &[u8], opts: &RenderOptions) -> Result<u32, RenderError> {
    let matrix = if opts.style.is_plain() {
        matrix::encode(content, opts.ecc)?
    } else {
        styled::symbol(content, opts)?.0
    };
    Ok(matrix.size() as u32 + 2 * opts.border)
}

/// The largest `logoSize`, in thousandths of the symbol's width, that a code of `content` with
/// these options may carry (the style's own logo size is ignored), or `None` when the content
/// leaves no room for any logo. A logo forces ECC Q, or H above 0.2, so this may be larger
/// than what Q alone allows.
pub fn largest_logo_permille(
    content: &[u8],
    opts: &RenderOptions,
) -> Result<Option<u16>, RenderError> {
    opts.validate()?;
    styled::rules::largest_permille(content, opts.ecc)
}

/// [`render`] for a style that names a logo: `logo` is the uploaded logo scaled to
/// [`logo_side`] (premultiplied RGBA). Without a logo in the style, `logo` is ignored.
pub fn render_with_logo(
    content: &[u8],
    opts: &RenderOptions,
    logo: Option<&tiny_skia::Pixmap>,
) -> Result<Rendered, RenderError> {
    match opts.format {
        Format::Pdf => render_pdf(content, opts, logo.map(LogoArt::Raster)),
        Format::Text => render(content, opts),
        _ if opts.style.is_plain() => render(content, opts),
        _ => styled::render(content, opts, logo),
    }
}

/// The PDF of `content` (`opts.format` ignored) with the style's logo drawn from `logo`: an
/// SVG logo's outlines as vector paths, pixels as the page's one image. Without a logo in the
/// style, `logo` is ignored.
pub fn render_pdf(
    content: &[u8],
    opts: &RenderOptions,
    logo: Option<LogoArt<'_>>,
) -> Result<Rendered, RenderError> {
    Ok(Rendered {
        bytes: pdf::render(content, opts, logo)?,
        content_type: Format::Pdf.content_type(),
    })
}

/// A logo as a writer draws it. The PNG and SVG writers take pixels only; the PDF takes
/// either, so a print shop gets an SVG logo as sharp as the modules around it.
#[derive(Debug, Clone, Copy)]
pub enum LogoArt<'a> {
    /// The logo scaled to [`logo_side`] (premultiplied RGBA).
    Raster(&'a tiny_skia::Pixmap),
    /// An SVG logo's filled outlines.
    Vector(&'a VectorLogo),
}

/// An SVG logo as filled outlines in one colour each, drawn in order: what the PDF writes as
/// paths. `crate::logo` makes it from the SVG when every shape is a plain fill.
#[derive(Debug, Clone)]
pub struct VectorLogo {
    /// The logo's box: outlines lie in `0..width` × `0..height` (y down), the aspect of the
    /// SVG's own width and height.
    pub width: f32,
    pub height: f32,
    pub fills: Vec<VectorFill>,
}

/// One filled outline of a [`VectorLogo`].
#[derive(Debug, Clone)]
pub struct VectorFill {
    pub path: tiny_skia::Path,
    pub colour: Rgb,
    /// SVG's `fill-rule: evenodd` (PDF `f*`); non-zero otherwise.
    pub even_odd: bool,
}

/// Most content bytes of any kind that fit a QR code at `ecc` (a version-40 symbol in byte
/// mode); digits and upper case take fewer bits, so more of them fit.
pub fn max_content_len(ecc: Ecc) -> usize {
    codewords::max_content_len(ecc)
}
