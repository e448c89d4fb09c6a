//! The framed PNG: the branded writer's palette PNG ([`crate::render::styled::png`]) of the
//! whole image, a pixel row at a time, never an RGB frame.
//!
//! Three kinds of rows: the card's top edge (`thickness` rows, its rounded corners
//! anti-aliased), the code's rows (ground and the card's sides left and right, both constant,
//! around the code canvas's own rows, so a code row repeats exactly when the canvas says so),
//! and the band (the card's bottom with its corners and the caption, anti-aliased). Only the
//! edge and the band are rasterised, each once, as coverage masks of their rows.
//!
//! The palette is the code's levels, then the frame colour at 15 coverages over the ground and
//! the caption colour at 15 coverages over the frame, each colour listed once: with the
//! default colours (frame = fg, caption = bg) every one of them is already a level of the
//! code, and the image stays 4 bits per pixel.

use tiny_skia::{FillRule, Mask, Path, Pixmap, Transform};

use super::{Layout, plan};
use crate::render::styled::canvas::{Canvas, Rows, common_len, common_len_rev};
use crate::render::styled::palette::Palette;
use crate::render::styled::png::{LevelRows, write_rows};
use crate::render::{Frame, RenderError, RenderOptions, Rgb};

/// Coverage steps of the frame's and the caption's edges: the dark levels' count, so the
/// default colours' shades coincide with the code's.
const STEPS: u32 = 15;

/// The framed PNG: the card, the code's canvas (every shape and eye style) in its square, the
/// caption, and the logo composited into its square.
pub(crate) fn png(
    content: &[u8],
    opts: &RenderOptions,
    frame: &Frame,
    logo: Option<&Pixmap>,
) -> Result<Vec<u8>, RenderError> {
    let (plan, layout) = plan(content, opts, frame)?;
    let code_palette = Palette::new(opts);
    let canvas = Canvas::paint(&plan, &opts.style, &code_palette);
    let (palette, levels) = FrameLevels::new(code_palette, opts, frame);
    let mut rows = FramedRows::new(&layout, &canvas, &levels);
    let square = plan.logo_box().map(|(lx, ly, side)| {
        (
            layout.code_x as usize + lx,
            layout.code_y as usize + ly,
            side,
        )
    });
    let windowed = crate::render::styled::window::through(&plan, opts, logo);
    Ok(write_rows(
        opts.size as usize,
        &mut rows,
        &palette,
        windowed.as_ref().or(logo).zip(square),
    ))
}

/// Coverage → palette level of the frame (over the ground) and of the caption (over the
/// frame).
struct FrameLevels {
    frame: [u8; 256],
    caption: [u8; 256],
}

impl FrameLevels {
    /// The code's palette extended by the frame's and caption's shades.
    fn new(mut palette: Palette, opts: &RenderOptions, frame: &Frame) -> (Palette, FrameLevels) {
        let ground = palette.entries[0];
        let transparent = palette.alpha;
        let frame_rgb = frame.frame_colour(opts.dark);
        let caption_rgb = frame.caption_colour(opts.light);
        let opaque = |c: Rgb| [c.0, c.1, c.2, 255];
        // The same rounding as the code's levels, so equal colours give equal entries.
        let mix = |c: Rgb, under: [u8; 4], k: u32| -> [u8; 4] {
            if transparent && under[3] == 0 {
                return [c.0, c.1, c.2, (k * 255 / STEPS) as u8];
            }
            let m = |a: u8, b: u8| {
                ((u32::from(a) * k + u32::from(b) * (STEPS - k) + STEPS / 2) / STEPS) as u8
            };
            [m(c.0, under[0]), m(c.1, under[1]), m(c.2, under[2]), 255]
        };
        let entries = &mut palette.entries;
        let mut level = |colour: [u8; 4]| -> u8 {
            let i = entries
                .iter()
                .position(|&e| e == colour)
                .unwrap_or_else(|| {
                    entries.push(colour);
                    entries.len() - 1
                });
            i as u8
        };
        let frame_levels: Vec<u8> = (0..=STEPS)
            .map(|k| match k {
                0 => 0,
                _ => level(mix(frame_rgb, ground, k)),
            })
            .collect();
        let full = opaque(frame_rgb);
        let caption_levels: Vec<u8> = (0..=STEPS)
            .map(|k| match k {
                0 => frame_levels[STEPS as usize],
                _ => level(mix(caption_rgb, full, k)),
            })
            .collect();
        let quantise = |levels: &[u8]| -> [u8; 256] {
            std::array::from_fn(|c| levels[(c as u32 * STEPS + 127) as usize / 255])
        };
        let levels = FrameLevels {
            frame: quantise(&frame_levels),
            caption: quantise(&caption_levels),
        };
        (palette, levels)
    }
}

/// The framed image's rows of levels (see the module doc).
struct FramedRows<'a> {
    size: usize,
    /// Rows `0..code_y`: the card's top edge, row-major.
    top: Vec<u8>,
    /// A code row outside the code's square: ground, and the card's sides.
    sides: Vec<u8>,
    /// Rows `band_top..size`: the card's bottom and the caption, row-major.
    band: Vec<u8>,
    code: Rows<'a>,
    code_x: usize,
    code_y: usize,
    band_top: usize,
    y: usize,
    levels: Vec<u8>,
    next: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl<'a> FramedRows<'a> {
    fn new(layout: &Layout, canvas: &'a Canvas, levels: &FrameLevels) -> FramedRows<'a> {
        let size = layout.size as usize;
        let code_y = layout.code_y as usize;
        let band_top = code_y + layout.code_side as usize;
        let card = layout.card();
        let top = coverage(&card, size, 0, code_y)
            .into_iter()
            .map(|c| levels.frame[c as usize])
            .collect();
        let band_card = coverage(&card, size, band_top, size);
        let band = match layout.caption() {
            Some(text) => {
                let text = coverage(&text, size, band_top, size);
                band_card
                    .iter()
                    .zip(&text)
                    .map(|(&f, &t)| match t {
                        0 => levels.frame[f as usize],
                        _ => levels.caption[t as usize],
                    })
                    .collect()
            }
            None => band_card
                .iter()
                .map(|&f| levels.frame[f as usize])
                .collect(),
        };
        let mut sides = vec![0u8; size];
        let (card_x, card_end) = (
            layout.card_x as usize,
            (layout.card_x + layout.card_w) as usize,
        );
        sides[card_x..card_end].fill(levels.frame[255]);
        FramedRows {
            size,
            top,
            sides,
            band,
            code: canvas.rows(),
            code_x: layout.code_x as usize,
            code_y,
            band_top,
            y: 0,
            levels: vec![0; size],
            next: vec![0; size],
            spans: Vec::with_capacity(64),
        }
    }

    /// Makes `next` the current row, reporting the one span where it differs.
    fn take_next(&mut self) -> bool {
        let lo = if self.y == 0 {
            0
        } else {
            common_len(&self.levels, &self.next)
        };
        if lo == self.size {
            return false;
        }
        let hi = self.size - common_len_rev(&self.levels[lo..], &self.next[lo..]);
        std::mem::swap(&mut self.levels, &mut self.next);
        self.spans.push((lo, hi));
        true
    }
}

impl LevelRows for FramedRows<'_> {
    fn step(&mut self) -> bool {
        self.spans.clear();
        let (y, size) = (self.y, self.size);
        let changed = if y < self.code_y {
            self.next.copy_from_slice(&self.top[y * size..][..size]);
            self.take_next()
        } else if y < self.band_top {
            let first = y == self.code_y;
            let code_changed = self.code.step();
            let x0 = self.code_x;
            if first {
                // the whole row: sides, then the code's first row
                self.next.copy_from_slice(&self.sides);
                let code = self.code.levels();
                self.next[x0..x0 + code.len()].copy_from_slice(code);
                self.take_next()
            } else {
                let code = self.code.levels();
                for &(lo, hi) in self.code.spans() {
                    self.levels[x0 + lo..x0 + hi].copy_from_slice(&code[lo..hi]);
                    self.spans.push((x0 + lo, x0 + hi));
                }
                code_changed
            }
        } else {
            let by = y - self.band_top;
            self.next.copy_from_slice(&self.band[by * size..][..size]);
            self.take_next()
        };
        self.y += 1;
        changed
    }

    fn spans(&self) -> &[(usize, usize)] {
        &self.spans
    }

    fn levels(&self) -> &[u8] {
        &self.levels
    }
}

/// The anti-aliased coverage of `path` in rows `y0..y1`, `size` wide, row-major.
fn coverage(path: &Path, size: usize, y0: usize, y1: usize) -> Vec<u8> {
    if y1 <= y0 {
        return Vec::new();
    }
    let mut mask = Mask::new(size as u32, (y1 - y0) as u32).expect("rows of a 100..=2000 image");
    mask.fill_path(
        path,
        FillRule::EvenOdd,
        true,
        Transform::from_translate(0.0, -(y0 as f32)),
    );
    mask.data().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Caption, Format, Style};

    const SHORT: &[u8] = b"https://qr.example.com/r/DI5bjNA0";

    fn opts(frame: Frame) -> RenderOptions {
        RenderOptions {
            format: Format::Png,
            style: Style {
                frame: Some(frame),
                ..Style::default()
            },
            ..RenderOptions::default()
        }
    }

    fn header(png: &[u8]) -> (u8, u8) {
        // IHDR: bit depth and colour type after the two 4-byte sizes
        (png[24], png[25])
    }

    #[test]
    fn default_colours_stay_four_bit_and_custom_ones_join_the_palette() {
        let scan = Caption::new("Scan me").unwrap();
        let plain = Frame {
            caption: scan,
            frame_color: None,
            caption_color: None,
        };
        let bytes = png(SHORT, &opts(plain), &plain, None).unwrap();
        assert_eq!(header(&bytes), (4, 3), "4-bit palette");
        let brand = Frame {
            caption: scan,
            frame_color: Some(Rgb(0xc2, 0x18, 0x5b)),
            caption_color: Some(Rgb(0xff, 0xf5, 0x9d)),
        };
        let bytes = png(SHORT, &opts(brand), &brand, None).unwrap();
        assert_eq!(header(&bytes), (8, 3), "8-bit palette");
    }
}
