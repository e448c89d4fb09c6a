//! Framed codes: the code with its quiet zone inside a frame, and the caption centred in a
//! band of the frame below it, all within the `size` × `size` image.
//!
//! ```text
//!   ┌─────────┐      the card: frame colour, rounded outer corners, `thickness` thick on
//!   │┌───────┐│      top, left and right; the code's square (quiet zone included) is a hole
//!   ││ code  ││      in it, so the quiet zone is never covered. The band below holds the
//!   │└───────┘│      caption, scaled down to fit its width (never below `MIN_TEXT_PX`).
//!   │ Scan me │      The card fills the height; its width is the code's plus two frame
//!   └─────────┘      thicknesses, centred.
//! ```
//!
//! [`Layout`] is the one geometry the PNG ([`png`], the branded palette writer's rows), the SVG
//! ([`svg`], the code's own SVG nested in the frame) and the PDF ([`crate::render::pdf`]) draw,
//! in the same units: pixels, SVG user units and PDF points are all `size` across.

use tiny_skia::{Path, PathBuilder};

use super::Plan;
use crate::render::text::Line;
use crate::render::{Frame, RenderError, RenderOptions};

mod png;
mod svg;

pub(crate) use png::png;
pub(crate) use svg::svg;

/// Smallest caption height in pixels (points in a PDF), as the em size: below it letters
/// blur together on screen and print as fine print.
pub const MIN_TEXT_PX: u32 = 10;
/// Fewest whole pixels per module in a framed code: the shrunk code must still binarise
/// (the plain code allows 1; a frame is asked for on codes meant to be seen, not to be small).
pub const MIN_MODULE_PX: u32 = 2;
/// The text's em size as a share of the band's height, in hundredths: with Open Sans' cap
/// height of 0.71 em, capitals take about 43 % of the band, accents and descenders stay in it.
const TEXT_PER_BAND: u32 = 60;

/// Where everything of a framed code goes, in pixels from the top-left corner.
pub(crate) struct Layout {
    pub size: u32,
    /// The card's left edge and width (it spans the full height).
    pub card_x: u32,
    pub card_w: u32,
    /// Radius of the card's outer corners.
    pub radius: f32,
    /// The code's square, quiet zone included: left, top, side.
    pub code_x: u32,
    pub code_y: u32,
    pub code_side: u32,
    /// The caption's em size, pen start and baseline.
    pub text_px: f32,
    pub text_x: f32,
    pub baseline: f32,
    pub line: Line,
}

/// The size-only part of the layout.
struct Frame0 {
    thickness: u32,
    band: u32,
    code_side: u32,
    card_w: u32,
}

impl Frame0 {
    fn new(size: u32) -> Frame0 {
        let thickness = (size / 40).max(2);
        // At small sizes the band grows past size/8 so that its text can still be MIN_TEXT_PX.
        let band = (size / 8).max((MIN_TEXT_PX * 100).div_ceil(TEXT_PER_BAND));
        let code_side = size - thickness - band;
        Frame0 {
            thickness,
            band,
            code_side,
            card_w: code_side + 2 * thickness,
        }
    }

    /// Width the caption may take: the card less two frame thicknesses a side.
    fn room(&self) -> u32 {
        self.card_w.saturating_sub(4 * self.thickness)
    }

    /// The caption's em size for a line `width` font units wide (`upem` per em).
    fn text_px(&self, width: i32, upem: u16) -> f32 {
        let max = (self.band * TEXT_PER_BAND) as f32 / 100.0;
        let fit = self.room() as f32 * f32::from(upem) / width.max(1) as f32;
        max.min(fit)
    }
}

impl Layout {
    /// Lays out `frame` for a code of `total` modules (quiet zone included) at `size`, or says
    /// why it cannot be: the caption too wide at the smallest text, or the code too crowded.
    pub fn new(frame: &Frame, total: u32, size: u32) -> Result<Layout, RenderError> {
        let line = Line::shape(&frame.caption);
        let f = Frame0::new(size);
        let fits = |f: &Frame0| f.text_px(line.width, line.units_per_em) >= MIN_TEXT_PX as f32;
        let smallest = |ok: &dyn Fn(&Frame0) -> bool| {
            (size..=crate::render::MAX_SIZE)
                .find(|&s| ok(&Frame0::new(s)))
                .unwrap_or(crate::render::MAX_SIZE)
        };
        if !fits(&f) {
            return Err(RenderError::CaptionTooWide {
                min_px: MIN_TEXT_PX,
                width: (line.width as f32 * MIN_TEXT_PX as f32 / f32::from(line.units_per_em))
                    .ceil() as u32,
                room: f.room(),
                size,
                min_size: smallest(&|f| fits(f)),
            });
        }
        let roomy = |f: &Frame0| f.code_side >= total * MIN_MODULE_PX;
        if !roomy(&f) {
            return Err(RenderError::CaptionCrowdsCode {
                modules: total,
                room: f.code_side,
                size,
                min_px: MIN_MODULE_PX,
                min_size: smallest(&|f| roomy(f)),
            });
        }
        let text_px = f.text_px(line.width, line.units_per_em);
        let scale = text_px / f32::from(line.units_per_em);
        let card_x = (size - f.card_w) / 2;
        let band_top = f.thickness + f.code_side;
        Ok(Layout {
            size,
            card_x,
            card_w: f.card_w,
            radius: f.thickness as f32,
            code_x: card_x + f.thickness,
            code_y: f.thickness,
            code_side: f.code_side,
            text_px,
            text_x: card_x as f32 + (f.card_w as f32 - line.width as f32 * scale) / 2.0,
            baseline: band_top as f32 + (f.band as f32 + line.cap_height as f32 * scale) / 2.0,
            line,
        })
    }

    /// The card with the code's square cut out: fill it even-odd.
    pub fn card(&self) -> Path {
        let mut pb = PathBuilder::new();
        let (x, w, h, r) = (
            self.card_x as f32,
            self.card_w as f32,
            self.size as f32,
            self.radius,
        );
        // Control-point distance of a cubic Bézier quarter circle.
        let k = r * 0.552_284_8;
        pb.move_to(x + r, 0.0);
        pb.line_to(x + w - r, 0.0);
        pb.cubic_to(x + w - r + k, 0.0, x + w, r - k, x + w, r);
        pb.line_to(x + w, h - r);
        pb.cubic_to(x + w, h - r + k, x + w - r + k, h, x + w - r, h);
        pb.line_to(x + r, h);
        pb.cubic_to(x + r - k, h, x, h - r + k, x, h - r);
        pb.line_to(x, r);
        pb.cubic_to(x, r - k, x + r - k, 0.0, x + r, 0.0);
        pb.close();
        let (cx, cy, s) = (
            self.code_x as f32,
            self.code_y as f32,
            self.code_side as f32,
        );
        pb.move_to(cx, cy);
        pb.line_to(cx, cy + s);
        pb.line_to(cx + s, cy + s);
        pb.line_to(cx + s, cy);
        pb.close();
        pb.finish().expect("a card has area")
    }

    /// The caption's outlines; `None` for a caption of spaces.
    pub fn caption(&self) -> Option<Path> {
        self.line.outline(self.text_px, self.text_x, self.baseline)
    }
}

/// A styled plan of the code inside the frame, and the layout around it.
pub(crate) fn plan(
    content: &[u8],
    opts: &RenderOptions,
    frame: &Frame,
) -> Result<(Plan, Layout), RenderError> {
    opts.validate()?;
    check_border(opts.border)?;
    let (matrix, logo) = super::symbol(content, opts)?;
    let total = matrix.size() as u32 + 2 * opts.border;
    let layout = Layout::new(frame, total, opts.size)?;
    let plan = Plan::at(matrix, logo, opts, layout.code_side)?;
    Ok((plan, layout))
}

/// Fewest quiet-zone modules inside a frame: the frame is a dark edge a reader must tell
/// from the finder patterns, so two light modules at least keep them apart.
pub const MIN_FRAMED_BORDER: u32 = 2;

/// A framed code keeps at least [`MIN_FRAMED_BORDER`] modules of quiet zone.
pub(crate) fn check_border(border: u32) -> Result<(), RenderError> {
    if border < MIN_FRAMED_BORDER {
        return Err(RenderError::InvalidOption {
            name: "border",
            allowed: "2..=16 modules with a caption: the frame must not touch the code",
        });
    }
    Ok(())
}

/// A coordinate to two decimals without trailing zeros: `12`, `12.5`, `12.25`.
pub(crate) struct Hundredths(pub f32);

impl std::fmt::Display for Hundredths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = (self.0 * 100.0).round() as i64;
        let (sign, a) = if c < 0 { ("-", -c) } else { ("", c) };
        let (int, frac) = (a / 100, a % 100);
        match frac {
            0 => write!(f, "{sign}{int}"),
            _ if frac % 10 == 0 => write!(f, "{sign}{int}.{}", frac / 10),
            _ => write!(f, "{sign}{int}.{frac:02}"),
        }
    }
}
