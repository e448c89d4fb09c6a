//! Render core: QR content + options → image bytes. No HTTP, no I/O in here.
//!
//! [`render`] is the one entry point; everything else (the origin, the QR API, the CLI) calls it.
//! The options are validated here, so every caller gets the same typed errors.

use std::fmt;
use std::str::FromStr;

/// Bumped whenever the bytes produced for the same inputs change; part of every ETag, so a CDN
/// never mixes images from two renderer versions under one validator.
pub const RENDERER_VERSION: &str = "1";

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
}

impl Format {
    /// The `Content-Type` of a rendered image of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
            Format::Text => "text/plain; charset=utf-8",
        }
    }
}

impl FromStr for Format {
    type Err = RenderError;
    /// Accepts short names and the MIME types used in tokens (`image/png`, `image/svg+xml`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "png" | "image/png" => Ok(Format::Png),
            "svg" | "image/svg+xml" => Ok(Format::Svg),
            "text" | "text/targetUrl" | "text/plain" => Ok(Format::Text),
            _ => Err(RenderError::InvalidOption {
                name: "format",
                allowed: "png | svg | text (or image/png, image/svg+xml, text/targetUrl)",
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
        Ok(())
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
    #[error("content is {len} bytes: at most {max} bytes fit a QR code at ECC level {ecc:?}")]
    ContentTooLong { len: usize, max: usize, ecc: Ecc },
    #[error("the QR code needs {modules} modules but {size} px cannot give each module a pixel")]
    TooSmall { modules: u32, size: u32 },
}

/// A rendered image and its MIME type.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Renders `content` (encoded in byte mode, UTF-8 text as its bytes) with `opts`.
pub fn render(content: &[u8], opts: &RenderOptions) -> Result<Rendered, RenderError> {
    opts.validate()?;
    if content.is_empty() {
        return Err(RenderError::EmptyContent);
    }
    if opts.format == Format::Text {
        return Ok(Rendered {
            bytes: content.to_vec(),
            content_type: Format::Text.content_type(),
        });
    }
    stub::render(content, opts)
}

/// Placeholder implementation on `fast_qr` + the `png` crate until the real pipeline lands.
mod stub {
    use super::*;
    use fast_qr::{ECL, Mode, QRBuilder};

    const MAX_BYTES: [usize; 4] = [2953, 2331, 1663, 1273];

    pub fn render(content: &[u8], opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let (ecl, max) = match opts.ecc {
            Ecc::L => (ECL::L, MAX_BYTES[0]),
            Ecc::M => (ECL::M, MAX_BYTES[1]),
            Ecc::Q => (ECL::Q, MAX_BYTES[2]),
            Ecc::H => (ECL::H, MAX_BYTES[3]),
        };
        let too_long = RenderError::ContentTooLong {
            len: content.len(),
            max,
            ecc: opts.ecc,
        };
        if content.len() > max {
            return Err(too_long);
        }
        let qr = QRBuilder::new(content.to_vec())
            .mode(Mode::Byte)
            .ecl(ecl)
            .build()
            .map_err(|_| too_long)?;
        let n = qr.size as u32;
        let total = n + 2 * opts.border;
        if total > opts.size {
            return Err(RenderError::TooSmall {
                modules: total,
                size: opts.size,
            });
        }
        let dark = |x: u32, y: u32| -> bool {
            let b = opts.border;
            x >= b
                && y >= b
                && x < b + n
                && y < b + n
                && qr[(y - b) as usize][(x - b) as usize].value()
        };
        match opts.format {
            Format::Svg => Ok(Rendered {
                bytes: svg(total, opts, dark).into_bytes(),
                content_type: Format::Svg.content_type(),
            }),
            _ => Ok(Rendered {
                bytes: png(total, opts, dark),
                content_type: Format::Png.content_type(),
            }),
        }
    }

    fn svg(total: u32, opts: &RenderOptions, dark: impl Fn(u32, u32) -> bool) -> String {
        let mut d = String::new();
        for y in 0..total {
            let mut x = 0;
            while x < total {
                if dark(x, y) {
                    let start = x;
                    while x < total && dark(x, y) {
                        x += 1;
                    }
                    d.push_str(&format!("M{start} {y}h{}v1h-{}z", x - start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{s}\" height=\"{s}\" viewBox=\"0 0 {total} {total}\" shape-rendering=\"crispEdges\"><rect width=\"{total}\" height=\"{total}\" fill=\"{bg}\"/><path fill=\"{fg}\" d=\"{d}\"/></svg>",
            s = opts.size,
            bg = opts.light,
            fg = opts.dark
        )
    }

    fn png(total: u32, opts: &RenderOptions, dark: impl Fn(u32, u32) -> bool) -> Vec<u8> {
        let size = opts.size;
        // Pixel p belongs to module p * total / size: edges snap to whole pixels.
        let mut pixels = Vec::with_capacity((size * size) as usize);
        for py in 0..size {
            let my = py * total / size;
            for px in 0..size {
                let mx = px * total / size;
                pixels.push(u8::from(!dark(mx, my)));
            }
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, size, size);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        let (d, l) = (opts.dark, opts.light);
        enc.set_palette(vec![d.0, d.1, d.2, l.0, l.1, l.2]);
        let mut w = enc.write_header().expect("writing to a Vec cannot fail");
        w.write_image_data(&pixels)
            .expect("pixel buffer has the declared size");
        w.finish().expect("writing to a Vec cannot fail");
        out
    }
}
