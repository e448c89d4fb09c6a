//! Merchants' logos: uploaded bytes → a validated, decoded image the styled renderer can draw.
//!
//! Everything here treats its input as hostile: a logo comes from a merchant's upload and is
//! decoded by the origin, the hottest process we run. No HTTP and no I/O in here; the API maps
//! [`LogoError`] to `400`/`413`/`415` in one place.
//!
//! # What is accepted
//! - `image/png`: decoded with the `png` crate (every frame byte read, so a truncated or
//!   corrupt file is refused at upload, not at the first render).
//! - `image/svg+xml`: first screened by [`svg_guard`] (no scripts, event handlers,
//!   `<foreignObject>`, DTDs or references to anything outside the document), then parsed and
//!   rasterised by `usvg`/`resvg` with every loader switched off.
//! - At most [`MAX_BYTES`] bytes and [`MAX_PX`]×[`MAX_PX`] pixels, at least 1×1.
//!
//! # Layout
//! - [`svg_guard`]: the structural screen of an SVG before any renderer sees it.
//! - this file: content types, limits, decoding, and scaling to the size a render needs.
//! - [`outlines`]: an SVG's filled paths, which the PDF draws as vectors.

use std::io::Cursor;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};

use resvg::usvg;

use crate::render::VectorLogo;
use crate::store::LogoFormat;

mod outlines;
pub mod svg_guard;

/// Largest upload accepted, in bytes (as published in the API extension).
pub const MAX_BYTES: usize = 256 * 1024;
/// Largest width and height accepted, in pixels (an SVG's at its own `width`/`height`).
pub const MAX_PX: u32 = 2048;
/// The most bytes the PNG decoder may allocate: an RGBA 16-bit frame of [`MAX_PX`]² (32 MiB)
/// plus its working rows.
const PNG_DECODE_LIMIT: usize = 40 << 20;

/// A logo id as tokens and the store spell it: the SHA-256 of its bytes, lower-case hex.
pub type LogoId = String;

/// Why a logo cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoFailure {
    /// No stored logo has this id (never uploaded, or deleted everywhere) → 400.
    #[error("unknown logo {0}")]
    Unknown(LogoId),
    /// The stored bytes no longer pass validation (a newer, stricter binary) → 400, as unknown.
    #[error("logo {0} cannot be drawn")]
    Undecodable(LogoId),
    /// The store could not be read and the logo is not in memory → 503.
    #[error("logo store unavailable")]
    Unavailable,
}

impl LogoFailure {
    /// The status an image request answers with: the token names a logo that cannot be drawn
    /// (400), or the store is down and the logo not in memory (503, retry shortly).
    pub fn status(&self) -> u16 {
        match self {
            LogoFailure::Unknown(_) | LogoFailure::Undecodable(_) => 400,
            LogoFailure::Unavailable => 503,
        }
    }
}

/// Why an upload is not an acceptable logo. Every variant is the uploader's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    /// The `Content-Type` is neither `image/png` nor `image/svg+xml` (→ 415).
    #[error("unsupported logo type {0:?}: upload image/png or image/svg+xml")]
    UnsupportedType(String),
    /// More than [`MAX_BYTES`] (→ 413).
    #[error("logo is larger than {MAX_BYTES} bytes, the most accepted")]
    TooLarge,
    /// Empty upload, or bytes that are not the declared format at all.
    #[error("not an image: {0}")]
    NotAnImage(&'static str),
    /// A PNG signature followed by something the decoder refuses.
    #[error("corrupt PNG: {0}")]
    CorruptPng(String),
    /// A zero width or height.
    #[error("logo has zero size ({width}x{height} px)")]
    ZeroSize { width: u32, height: u32 },
    /// Larger than [`MAX_PX`] in either direction.
    #[error("logo is {width}x{height} px: at most {max}x{max} px are accepted", max = MAX_PX)]
    TooManyPixels { width: u32, height: u32 },
    /// An SVG that could do more than draw itself (scripts, handlers, external references, …).
    #[error("SVG refused: {0}")]
    HostileSvg(String),
    /// An SVG that is not well-formed or that `usvg` cannot make sense of.
    #[error("invalid SVG: {0}")]
    InvalidSvg(String),
}

impl LogoError {
    /// The HTTP status the API answers with: 415 for the wrong type, 413 for too many bytes,
    /// 400 for everything about the content itself.
    pub fn status(&self) -> u16 {
        match self {
            LogoError::UnsupportedType(_) => 415,
            LogoError::TooLarge => 413,
            _ => 400,
        }
    }
}

/// The format a `Content-Type` header names (parameters such as `charset` ignored, case
/// ignored), or [`LogoError::UnsupportedType`].
pub fn format_of(content_type: &str) -> Result<LogoFormat, LogoError> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("image/png") {
        Ok(LogoFormat::Png)
    } else if essence.eq_ignore_ascii_case("image/svg+xml") {
        Ok(LogoFormat::Svg)
    } else {
        Err(LogoError::UnsupportedType(
            essence.chars().take(80).collect(),
        ))
    }
}

/// A logo's id: the lower-case hex SHA-256 of its bytes.
pub fn id_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// A logo that passed validation, decoded once.
#[derive(Debug)]
pub struct DecodedLogo {
    pub format: LogoFormat,
    /// Intrinsic size in pixels (an SVG's rounded up).
    pub width: u32,
    pub height: u32,
    source: Source,
    /// Length of the upload it was decoded from.
    upload_len: usize,
}

/// What scaling starts from: pixels for a PNG, the parsed vector tree for an SVG (so it is
/// rasterised crisply at whatever size a render needs), with its outlines when every shape in
/// it is a plain fill (what the PDF draws as paths).
#[derive(Debug)]
enum Source {
    Raster(Pixmap),
    Vector {
        tree: Box<usvg::Tree>,
        outlines: Option<Arc<VectorLogo>>,
    },
}

/// Validates and decodes an upload of `format`. Never panics, whatever the bytes.
pub fn decode(format: LogoFormat, bytes: &[u8]) -> Result<DecodedLogo, LogoError> {
    if bytes.len() > MAX_BYTES {
        return Err(LogoError::TooLarge);
    }
    if bytes.is_empty() {
        return Err(LogoError::NotAnImage("the upload is empty"));
    }
    match format {
        LogoFormat::Png => decode_png(bytes),
        LogoFormat::Svg => decode_svg(bytes),
    }
}

fn check_size(width: u32, height: u32) -> Result<(), LogoError> {
    if width == 0 || height == 0 {
        return Err(LogoError::ZeroSize { width, height });
    }
    if width > MAX_PX || height > MAX_PX {
        return Err(LogoError::TooManyPixels { width, height });
    }
    Ok(())
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn decode_png(bytes: &[u8]) -> Result<DecodedLogo, LogoError> {
    // SECURITY: the fuzz target found inputs on which png 0.18.1 panics (palette expansion of a
    // malformed PLTE). A panic is that crate's bug, not the uploader's, but it must still end as
    // a 400 rather than a failed request.
    std::panic::catch_unwind(|| decode_png_checked(bytes)).unwrap_or_else(|_| {
        Err(LogoError::CorruptPng(
            "the PNG decoder could not read this file".into(),
        ))
    })
}

fn decode_png_checked(bytes: &[u8]) -> Result<DecodedLogo, LogoError> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err(LogoError::NotAnImage(
            "declared image/png but does not start with the PNG signature",
        ));
    }
    let corrupt = |e: png::DecodingError| LogoError::CorruptPng(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: PNG_DECODE_LIMIT,
        },
    );
    // 8-bit channels, palettes and low bit depths expanded: four layouts to convert below.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    // SECURITY: the header is read first and the size checked before a frame buffer exists.
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(width, height)?;
    let len = reader
        .output_buffer_size()
        .ok_or(LogoError::CorruptPng("frame size overflows".into()))?;
    let mut buf = vec![0; len];
    let frame = reader.next_frame(&mut buf).map_err(corrupt)?;
    let (color, depth) = (frame.color_type, frame.bit_depth);
    if depth != png::BitDepth::Eight {
        return Err(LogoError::CorruptPng(format!(
            "unexpected bit depth {depth:?} after expansion"
        )));
    }
    let rows = &buf[..frame.buffer_size()];
    let mut pixmap = Pixmap::new(width, height).ok_or(LogoError::ZeroSize { width, height })?;
    let px = pixmap.pixels_mut();
    let expected = px.len();
    let mut put = |i: usize, r: u8, g: u8, b: u8, a: u8| {
        if let Some(p) = px.get_mut(i) {
            *p = tiny_skia::ColorU8::from_rgba(r, g, b, a).premultiply();
        }
    };
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(LogoError::CorruptPng(
                "palette not expanded by the decoder".into(),
            ));
        }
    };
    if rows.len() != expected * channels {
        return Err(LogoError::CorruptPng(format!(
            "frame holds {} bytes, {width}x{height} needs {}",
            rows.len(),
            expected * channels
        )));
    }
    for (i, c) in rows.chunks_exact(channels).enumerate() {
        match *c {
            [v] => put(i, v, v, v, 255),
            [v, a] => put(i, v, v, v, a),
            [r, g, b] => put(i, r, g, b, 255),
            [r, g, b, a] => put(i, r, g, b, a),
            _ => {}
        }
    }
    Ok(DecodedLogo {
        format: LogoFormat::Png,
        width,
        height,
        source: Source::Raster(pixmap),
        upload_len: bytes.len(),
    })
}

/// usvg options with every loader off: no files, no fonts, no nested images. The guard already
/// refused any reference to them; this makes sure nothing is fetched even if it missed one.
fn usvg_options() -> usvg::Options<'static> {
    usvg::Options {
        resources_dir: None,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    }
}

fn decode_svg(bytes: &[u8]) -> Result<DecodedLogo, LogoError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LogoError::NotAnImage("declared image/svg+xml but is not UTF-8 text"))?;
    svg_guard::check(text)?;
    let tree = usvg::Tree::from_str(text, &usvg_options())
        .map_err(|e| LogoError::InvalidSvg(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    // usvg refuses non-positive sizes itself; the guard here covers rounding and huge values.
    let width = if w.is_finite() && w > 0.0 {
        w.ceil().min(u32::MAX as f32) as u32
    } else {
        0
    };
    let height = if h.is_finite() && h > 0.0 {
        h.ceil().min(u32::MAX as f32) as u32
    } else {
        0
    };
    check_size(width, height)?;
    Ok(DecodedLogo {
        format: LogoFormat::Svg,
        width,
        height,
        source: Source::Vector {
            outlines: outlines::outlines(&tree),
            tree: Box::new(tree),
        },
        upload_len: bytes.len(),
    })
}

impl DecodedLogo {
    /// The logo drawn to fit a `box_px`×`box_px` square, keeping its aspect ratio (the long side
    /// is `box_px`). PNGs are resampled (bicubic); SVGs are rasterised at that size, so they stay
    /// crisp. `None` only for a zero `box_px`.
    pub fn fit(&self, box_px: u32) -> Option<Pixmap> {
        if box_px == 0 {
            return None;
        }
        let (w, h) = (self.width as f32, self.height as f32);
        let scale = box_px as f32 / w.max(h);
        let out_w = ((w * scale).round() as u32).clamp(1, box_px);
        let out_h = ((h * scale).round() as u32).clamp(1, box_px);
        let mut out = Pixmap::new(out_w, out_h)?;
        let sx = out_w as f32 / w;
        let sy = out_h as f32 / h;
        match &self.source {
            Source::Raster(src) => {
                let paint = PixmapPaint {
                    quality: FilterQuality::Bicubic,
                    ..PixmapPaint::default()
                };
                out.draw_pixmap(
                    0,
                    0,
                    src.as_ref(),
                    &paint,
                    Transform::from_scale(sx, sy),
                    None,
                );
            }
            Source::Vector { tree, .. } => {
                let size = tree.size();
                let t = Transform::from_scale(
                    out_w as f32 / size.width(),
                    out_h as f32 / size.height(),
                );
                resvg::render(tree, t, &mut out.as_mut());
            }
        }
        Some(out)
    }

    /// An SVG logo's filled outlines, for a PDF to draw as paths; `None` for a PNG, and for an
    /// SVG with anything but plain fills (a stroke, a gradient, transparency, …), which the
    /// PDF draws from [`DecodedLogo::fit`]'s pixels instead.
    pub fn outlines(&self) -> Option<&Arc<VectorLogo>> {
        match &self.source {
            Source::Vector { outlines, .. } => outlines.as_ref(),
            Source::Raster(_) => None,
        }
    }

    /// Bytes the decoded form holds in memory (for a byte-bounded cache's weigher): the pixels
    /// of a PNG; for an SVG, an estimate from the upload size (its tree is a few times the text)
    /// plus its outlines' points.
    pub fn weight(&self) -> usize {
        match &self.source {
            Source::Raster(p) => p.data().len(),
            Source::Vector { outlines, .. } => {
                let points: usize = outlines
                    .iter()
                    .flat_map(|o| &o.fills)
                    .map(|f| f.path.points().len())
                    .sum();
                self.upload_len.saturating_mul(8).saturating_add(points * 8)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w`×`h` RGBA PNG: red left half, transparent right half.
    pub(crate) fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut writer = e.write_header().expect("header");
        let mut data = Vec::with_capacity((w * h * 4) as usize);
        for _y in 0..h {
            for x in 0..w {
                if x < w / 2 {
                    data.extend_from_slice(&[255, 0, 0, 255]);
                } else {
                    data.extend_from_slice(&[0, 0, 0, 0]);
                }
            }
        }
        writer.write_image_data(&data).expect("data");
        writer.finish().expect("finish");
        out
    }

    const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 4 2"><defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/></linearGradient></defs><rect width="2" height="2" fill="url(#g)"/></svg>"##;

    #[test]
    fn content_types_pick_formats() {
        assert_eq!(format_of("image/png"), Ok(LogoFormat::Png));
        assert_eq!(format_of("IMAGE/PNG"), Ok(LogoFormat::Png));
        assert_eq!(
            format_of("image/svg+xml; charset=utf-8"),
            Ok(LogoFormat::Svg)
        );
        for bad in ["image/jpeg", "", "application/json", "image/png+xml"] {
            let e = format_of(bad).expect_err(bad);
            assert_eq!(e.status(), 415, "{bad}");
        }
    }

    #[test]
    fn ids_are_sha256_hex() {
        assert_eq!(
            id_of(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_png_decodes_and_scales_keeping_its_aspect() {
        let logo = decode(LogoFormat::Png, &png_bytes(64, 32)).expect("valid PNG");
        assert_eq!((logo.width, logo.height), (64, 32));
        let fit = logo.fit(100).expect("box");
        assert_eq!((fit.width(), fit.height()), (100, 50));
        let left = fit.pixel(10, 25).expect("in range");
        let right = fit.pixel(90, 25).expect("in range");
        assert_eq!((left.red(), left.alpha()), (255, 255));
        assert_eq!(right.alpha(), 0);
    }

    #[test]
    fn an_svg_rasterises_at_the_asked_size() {
        let logo = decode(LogoFormat::Svg, SVG.as_bytes()).expect("valid SVG");
        assert_eq!((logo.width, logo.height), (40, 20));
        let fit = logo.fit(200).expect("box");
        assert_eq!((fit.width(), fit.height()), (200, 100));
        let blue = fit.pixel(50, 50).expect("in range");
        assert_eq!((blue.blue(), blue.alpha()), (255, 255));
        assert_eq!(fit.pixel(150, 50).expect("in range").alpha(), 0);
    }

    /// Plain fills become outlines in the SVG's box, in drawing order, with their colours and
    /// fill rules; anything else leaves the logo to its pixels.
    #[test]
    fn plain_fills_are_outlines_and_the_rest_falls_back_to_pixels() {
        let plain = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 4 2"><g transform="translate(1 0)"><rect width="2" height="2" fill="#ff5b24"/></g><path d="M0 0h1v1H0z M0.25 0.25h.5v.5h-.5z" fill-rule="evenodd" fill="#1a3c8c"/><rect width="1" height="1" fill="none"/></svg>"##;
        let logo = decode(LogoFormat::Svg, plain.as_bytes()).expect("valid SVG");
        let v = logo.outlines().expect("plain fills");
        assert_eq!((v.width, v.height), (1000.0, 500.0));
        let fills: Vec<_> = v.fills.iter().map(|f| (f.colour, f.even_odd)).collect();
        assert_eq!(
            fills,
            [
                (crate::render::Rgb(0xff, 0x5b, 0x24), false),
                (crate::render::Rgb(0x1a, 0x3c, 0x8c), true)
            ]
        );
        // the viewBox and the group's translation applied: x 1..3 of 4 → 250..750
        let b = v.fills[0].path.bounds();
        assert_eq!((b.left(), b.right(), b.bottom()), (250.0, 750.0, 500.0));
        assert!(logo.weight() > plain.len() * 8);

        let stroked = r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="2" height="2" fill="red" stroke="blue"/></svg>"##;
        let translucent = r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><g opacity="0.5"><rect width="2" height="2" fill="red"/></g></svg>"##;
        // (`SVG`'s one-stop gradient is a solid colour to usvg, as the SVG spec says)
        let gradient = r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/><stop offset="1" stop-color="#f00"/></linearGradient></defs><rect width="2" height="2" fill="url(#g)"/></svg>"##;
        for svg in [gradient, stroked, translucent] {
            let logo = decode(LogoFormat::Svg, svg.as_bytes()).expect("valid SVG");
            assert!(logo.outlines().is_none(), "{svg}");
        }
        let png = decode(LogoFormat::Png, &png_bytes(4, 4)).expect("valid PNG");
        assert!(png.outlines().is_none());
    }

    #[test]
    fn bad_uploads_get_their_own_errors() {
        let png = png_bytes(8, 8);
        let mut truncated = png.clone();
        truncated.truncate(png.len() - 20);
        let mut bad_crc = png.clone();
        let n = bad_crc.len();
        bad_crc[n - 20] ^= 0xff;
        let cases: Vec<(LogoFormat, Vec<u8>, &str)> = vec![
            (
                LogoFormat::Png,
                Vec::new(),
                "not an image: the upload is empty",
            ),
            (
                LogoFormat::Png,
                b"GIF89a....".to_vec(),
                "not an image: declared image/png",
            ),
            (LogoFormat::Png, truncated, "corrupt PNG"),
            (LogoFormat::Png, bad_crc, "corrupt PNG"),
            (LogoFormat::Png, png_bytes(2049, 1), "logo is 2049x1 px"),
            (
                LogoFormat::Svg,
                png.clone(),
                "not an image: declared image/svg+xml",
            ),
            (LogoFormat::Svg, b"<svg".to_vec(), "invalid SVG"),
            (LogoFormat::Svg, b"<html/>".to_vec(), "invalid SVG"),
            (
                LogoFormat::Svg,
                br#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="5"/>"#.to_vec(),
                "",
            ),
            (
                LogoFormat::Svg,
                br#"<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="5"/>"#.to_vec(),
                "logo is 3000x5 px",
            ),
            (
                LogoFormat::Png,
                vec![0; MAX_BYTES + 1],
                "logo is larger than 262144 bytes",
            ),
        ];
        for (format, bytes, want) in cases {
            let e = decode(format, &bytes).expect_err(want);
            assert!(e.to_string().starts_with(want), "{want:?} vs {e}");
            assert_eq!(e.status(), if want.contains("larger") { 413 } else { 400 });
        }
    }

    #[test]
    fn a_png_that_panics_the_decoder_is_refused_as_corrupt() {
        // Found by the `logo` fuzz target (png 0.18.1 panics in palette expansion).
        let bytes = include_bytes!("testdata/png-palette-panic.png");
        let e = decode(LogoFormat::Png, bytes).expect_err("refused");
        assert!(matches!(e, LogoError::CorruptPng(_)), "{e}");
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn every_png_layout_decodes() {
        for (color, channels) in [
            (png::ColorType::Grayscale, 1usize),
            (png::ColorType::GrayscaleAlpha, 2),
            (png::ColorType::Rgb, 3),
        ] {
            let mut out = Vec::new();
            let mut e = png::Encoder::new(&mut out, 3, 2);
            e.set_color(color);
            let mut w = e.write_header().expect("header");
            w.write_image_data(&vec![200; 6 * channels]).expect("data");
            w.finish().expect("finish");
            let logo = decode(LogoFormat::Png, &out).expect("decodes");
            assert_eq!((logo.width, logo.height), (3, 2));
            let p = logo.fit(3).expect("box").pixel(0, 0).expect("pixel");
            assert_eq!(p.red(), if channels == 2 { 157 } else { 200 }, "{color:?}");
        }
    }
}
