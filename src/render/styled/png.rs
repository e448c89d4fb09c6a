//! The styled PNG: palette pixels, 4 bits each (the quantised edge shades; tRNS for a
//! transparent ground). A logo's composited colours join the palette after the levels, 8 bits
//! per pixel when they need more than 16 entries; a logo with more colours than a palette holds
//! (a photograph) makes the image 8-bit RGB/RGBA.
//!
//! The pixel rows go through a row matcher ([`crate::render::lz`]) and the plain writer's deflate: a
//! stamped raster repeats the same bytes at the same column of the rows above (a module's rows)
//! and one module row up (the same stamp), which is what that matcher tries first. Identical
//! consecutive pixel rows are one row with a repeat count: the canvas says which rows change
//! and where ([`super::canvas::Rows`]), so a repeat is never built or compared, and a changed
//! row re-encodes only its changed span.

use std::borrow::Cow;
use std::collections::HashMap;

use tiny_skia::{Pixmap, PremultipliedColorU8};

use super::Plan;
use super::canvas::{Canvas, Rows};
use super::delta::RowCoder;
use super::palette::Palette;
use crate::render::deflate::Tokens;
use crate::render::png::{Adler, chunk, data_and_end, signature_and_header};

/// Most entries a PNG palette holds.
const PLTE_MAX: usize = 256;

/// Palette levels a pixel row at a time, top to bottom: the styled canvas's rows
/// ([`super::canvas::Rows`]), or a framed image's ([`super::frame`]).
pub(crate) trait LevelRows {
    /// Steps to the next row and says whether it differs from the current one.
    fn step(&mut self) -> bool;
    /// The pixel spans `[lo, hi)` the last step changed, left to right, disjoint.
    fn spans(&self) -> &[(usize, usize)];
    /// The current row's levels.
    fn levels(&self) -> &[u8];
}

impl LevelRows for Rows<'_> {
    #[inline]
    fn step(&mut self) -> bool {
        Rows::step(self)
    }
    #[inline]
    fn spans(&self) -> &[(usize, usize)] {
        Rows::spans(self)
    }
    #[inline]
    fn levels(&self) -> &[u8] {
        Rows::levels(self)
    }
}

/// Writes the PNG of `canvas`, compositing `logo` into the plan's logo square.
pub(crate) fn write(
    plan: &Plan,
    canvas: &Canvas,
    palette: &Palette,
    logo: Option<&Pixmap>,
) -> Vec<u8> {
    write_rows(
        canvas.size,
        &mut canvas.rows(),
        palette,
        logo.zip(plan.logo_box()),
    )
}

/// Writes the `size`×`size` PNG of `rows` in `palette`'s colours, compositing `logo` into its
/// square (first column, first row, side).
pub(crate) fn write_rows(
    size: usize,
    rows: &mut impl LevelRows,
    palette: &Palette,
    logo: Option<(&Pixmap, (usize, usize, usize))>,
) -> Vec<u8> {
    let pixels = match logo {
        None => Pixels::Indexed {
            entries: Cow::Borrowed(&palette.entries),
            logo: None,
        },
        Some((pixmap, square)) => match LogoIndices::new(palette, pixmap, square) {
            Some((entries, indices)) => Pixels::Indexed {
                entries: Cow::Owned(entries),
                logo: Some(indices),
            },
            None => Pixels::Truecolour {
                channels: if palette.alpha { 4 } else { 3 },
                pixmap,
                square,
            },
        },
    };
    let (depth, colour, stride) = pixels.layout(size);
    let mut out = Vec::with_capacity(4096 + size * stride / 16);
    signature_and_header(&mut out, size as u32, depth, colour);
    if let Pixels::Indexed { entries, .. } = &pixels {
        let plte: Vec<u8> = entries.iter().flat_map(|e| [e[0], e[1], e[2]]).collect();
        chunk(&mut out, b"PLTE", &plte);
        if palette.alpha {
            // entries past the last translucent one are opaque without being listed
            let listed = entries
                .iter()
                .rposition(|e| e[3] != 255)
                .map_or(0, |i| i + 1);
            let trns: Vec<u8> = entries[..listed].iter().map(|e| e[3]).collect();
            chunk(&mut out, b"tRNS", &trns);
        }
    }

    let mut coder = RowCoder::new(stride, size);
    let mut tokens = Tokens::with_capacity(size * 64);
    let mut adler = Adler::new();
    // The current row (filter byte 0 first) and how often it repeats: rewritten only where the
    // canvas or the logo changes it, and handed to the coder when the next distinct row
    // starts, so a run of equal rows costs one row's coding.
    let mut row = vec![0u8; stride];
    let mut scratch = vec![0u8; size];
    let mut count = 0;
    for y in 0..size {
        let changed = rows.step();
        let logo = pixels.logo_change(y);
        if !changed && logo.is_none() {
            count += 1;
            continue;
        }
        if count > 0 {
            coder.row(&mut tokens, &mut adler, &row, count);
        }
        for &span in rows.spans().iter().chain(&logo) {
            let (lo, hi) = pixels.fill(rows.levels(), palette, y, span, &mut scratch, &mut row);
            coder.touched(lo, hi);
        }
        count = 1;
    }
    coder.row(&mut tokens, &mut adler, &row, count);
    data_and_end(&mut out, &mut tokens, &adler);
    out
}

/// How the pixels go out.
enum Pixels<'a> {
    /// Palette indices: the canvas levels, and in the logo square its composited colours.
    Indexed {
        /// The levels' colours, then (with a logo) its composited ones.
        entries: Cow<'a, [[u8; 4]]>,
        logo: Option<LogoIndices>,
    },
    /// 8-bit RGB (`channels` 3) or RGBA, the logo composited row by row.
    Truecolour {
        channels: usize,
        pixmap: &'a Pixmap,
        square: (usize, usize, usize),
    },
}

impl Pixels<'_> {
    /// Bit depth, PNG colour type and bytes per row (filter byte included).
    fn layout(&self, size: usize) -> (u8, u8, usize) {
        match self {
            Pixels::Indexed { entries, .. } if entries.len() <= 16 => (4, 3, 1 + size.div_ceil(2)),
            Pixels::Indexed { .. } => (8, 3, 1 + size),
            Pixels::Truecolour { channels: 4, .. } => (8, 6, 1 + 4 * size),
            Pixels::Truecolour { channels, .. } => (8, 2, 1 + channels * size),
        }
    }

    /// The pixel span the logo changes at row `y` against row `y - 1`: its square's columns
    /// where it starts, ends, or has a row unlike the one above.
    fn logo_change(&self, y: usize) -> Option<(usize, usize)> {
        match self {
            Pixels::Indexed { logo: None, .. } => None,
            Pixels::Indexed { logo: Some(l), .. } => {
                logo_span(y, (l.x0, l.y0, l.side), |ly| l.same[ly])
            }
            &Pixels::Truecolour { pixmap, square, .. } => logo_span(y, square, |ly| {
                logo_row(pixmap, square.2, ly) == logo_row(pixmap, square.2, ly - 1)
            }),
        }
    }

    /// Rewrites pixels `lo..hi` of `row` (filter byte 0 first) for pixel row `y` of `levels`,
    /// and returns the byte columns it rewrote; `scratch` holds one index per pixel.
    fn fill(
        &self,
        levels: &[u8],
        palette: &Palette,
        y: usize,
        (lo, hi): (usize, usize),
        scratch: &mut [u8],
        row: &mut [u8],
    ) -> (usize, usize) {
        let size = levels.len();
        match self {
            Pixels::Indexed { entries, logo } => {
                let packed = entries.len() <= 16;
                // two pixels a byte: whole bytes
                let (lo, hi) = if packed {
                    (lo & !1, (hi + (hi & 1)).min(size))
                } else {
                    (lo, hi)
                };
                let indices = &mut scratch[lo..hi];
                indices.copy_from_slice(&levels[lo..hi]);
                if let Some((x0, logo_row)) = logo.as_ref().and_then(|l| l.row(y)) {
                    let (a, b) = (lo.max(x0), hi.min(x0 + logo_row.len()));
                    if a < b {
                        scratch[a..b].copy_from_slice(&logo_row[a - x0..b - x0]);
                    }
                }
                if packed {
                    pack_nibbles(&scratch[lo..hi], &mut row[1 + lo / 2..]);
                    (1 + lo / 2, 1 + hi.div_ceil(2))
                } else {
                    row[1 + lo..1 + hi].copy_from_slice(&scratch[lo..hi]);
                    (1 + lo, 1 + hi)
                }
            }
            &Pixels::Truecolour {
                channels,
                pixmap,
                square: (x0, y0, side),
            } => {
                let dst = &mut row[1 + lo * channels..1 + hi * channels];
                for (out, &l) in dst.chunks_exact_mut(channels).zip(&levels[lo..hi]) {
                    out.copy_from_slice(&palette.entries[l as usize][..channels]);
                }
                if let Some((ox, src)) = logo_row(pixmap, side, y.wrapping_sub(y0)) {
                    let first = x0 + ox;
                    let (a, b) = (lo.max(first), hi.min(first + src.len()));
                    for x in a..b.max(a) {
                        let d = &mut row[1 + x * channels..1 + (x + 1) * channels];
                        let ground = [d[0], d[1], d[2], if channels == 4 { d[3] } else { 255 }];
                        d.copy_from_slice(&over(src[x - first], ground)[..channels]);
                    }
                }
                (1 + lo * channels, 1 + hi * channels)
            }
        }
    }
}

/// The span of a logo square (`x0`, `y0`, `side`) that changes at row `y`: all of it on its
/// first row and on the row after its last, and on a row inside where `same(ly)` (row `ly` of
/// the square equals row `ly - 1`) is false.
fn logo_span(
    y: usize,
    (x0, y0, side): (usize, usize, usize),
    same: impl Fn(usize) -> bool,
) -> Option<(usize, usize)> {
    let ly = y.checked_sub(y0)?;
    let changes = ly == 0 || ly == side || (ly < side && !same(ly));
    changes.then_some((x0, x0 + side))
}

/// The logo square as palette indices: the ground where the logo leaves it showing, the
/// composited colours (entries after the levels) where it covers it.
struct LogoIndices {
    x0: usize,
    y0: usize,
    side: usize,
    indices: Vec<u8>,
    /// `same[ly]`: row `ly` equals row `ly - 1`.
    same: Vec<bool>,
}

impl LogoIndices {
    /// The palette extended by the logo's composited colours and the square's indices, or
    /// `None` when they do not fit in [`PLTE_MAX`] entries.
    fn new(
        palette: &Palette,
        pixmap: &Pixmap,
        (x0, y0, side): (usize, usize, usize),
    ) -> Option<(Vec<[u8; 4]>, LogoIndices)> {
        let mut entries = palette.entries.clone();
        let mut index: HashMap<[u8; 4], u8> = HashMap::new();
        for (i, &e) in entries.iter().enumerate().rev() {
            index.insert(e, i as u8); // a colour listed twice maps to its first entry
        }
        let mut indices = Vec::with_capacity(side * side);
        // Flat logos repeat one colour over one ground for long stretches.
        let mut last: Option<((u8, PremultipliedColorU8), u8)> = None;
        // The canvas leaves the square (and the margin round it) ground: its modules are not
        // drawn, and no eye reaches it.
        for ly in 0..side {
            let start = indices.len();
            indices.resize(start + side, 0);
            let Some((ox, src)) = logo_row(pixmap, side, ly) else {
                continue;
            };
            for (i, &s) in indices[start + ox..].iter_mut().zip(src) {
                let key = (*i, s);
                if let Some((k, v)) = last
                    && k == key
                {
                    *i = v;
                    continue;
                }
                let colour = over(s, palette.entries[*i as usize]);
                let v = match index.get(&colour) {
                    Some(&v) => v,
                    None if entries.len() == PLTE_MAX => return None,
                    None => {
                        let v = entries.len() as u8;
                        entries.push(colour);
                        index.insert(colour, v);
                        v
                    }
                };
                last = Some((key, v));
                *i = v;
            }
        }
        let same = (0..side)
            .map(|ly| ly > 0 && indices[ly * side..][..side] == indices[(ly - 1) * side..][..side])
            .collect();
        Some((
            entries,
            LogoIndices {
                x0,
                y0,
                side,
                indices,
                same,
            },
        ))
    }

    /// The first column and the indices of pixel row `y`, when it crosses the square.
    fn row(&self, y: usize) -> Option<(usize, &[u8])> {
        let ly = y.checked_sub(self.y0).filter(|&ly| ly < self.side)?;
        Some((self.x0, &self.indices[ly * self.side..(ly + 1) * self.side]))
    }
}

/// Row `ly` of `logo` (at most `side` px, centred in the `side`-px square): its column offset
/// in the square and its pixels, or `None` above and below the logo.
fn logo_row(logo: &Pixmap, side: usize, ly: usize) -> Option<(usize, &[PremultipliedColorU8])> {
    let (w, h) = (logo.width() as usize, logo.height() as usize);
    let (ox, oy) = (side.saturating_sub(w) / 2, side.saturating_sub(h) / 2);
    let y = ly.checked_sub(oy).filter(|&y| y < h)?;
    Some((ox, &logo.pixels()[y * w..][..w.min(side)]))
}

/// `s` (premultiplied) source-over `ground` (straight RGBA), straight as PNG wants.
fn over(s: PremultipliedColorU8, ground: [u8; 4]) -> [u8; 4] {
    let sa = u32::from(s.alpha());
    let inv = 255 - sa;
    let da = u32::from(ground[3]);
    let out_a = sa + (da * inv + 127) / 255;
    if out_a == 0 {
        return ground;
    }
    // premultiplied sum, then back to straight colour by the result's alpha
    let mix = |sc: u8, dc: u8| {
        let premul = u32::from(sc) * 255 + u32::from(dc) * da * inv / 255;
        ((premul + out_a / 2) / out_a).min(255) as u8
    };
    [
        mix(s.red(), ground[0]),
        mix(s.green(), ground[1]),
        mix(s.blue(), ground[2]),
        out_a as u8,
    ]
}

/// Two indices per byte, high nibble first.
fn pack_nibbles(indices: &[u8], out: &mut [u8]) {
    let (pairs, rest) = indices.as_chunks::<2>();
    for (o, &[a, b]) in out.iter_mut().zip(pairs) {
        *o = a << 4 | b;
    }
    if let [a] = rest {
        out[pairs.len()] = a << 4;
    }
}

#[cfg(test)]
mod tests {
    use tiny_skia::{ColorU8, Pixmap};

    use super::super::Plan;
    use crate::render::{LogoRef, RenderOptions, Style, render_with_logo};

    const SHORT: &[u8] = b"https://qr.example.com/r/DI5bjNA0";

    /// Renders SHORT at 800 px with a logo square painted `colour(x, y)`, decodes it, and
    /// returns its colour type, bit depth, and the RGB of the centre pixel with the colour the
    /// logo has there.
    fn centre(
        colour: impl Fn(usize, usize) -> [u8; 3],
    ) -> (png::ColorType, png::BitDepth, [u8; 3], [u8; 3]) {
        let opts = RenderOptions {
            style: Style {
                logo: Some(LogoRef {
                    id: [9; 32],
                    size_permille: 200,
                }),
                ..Style::default()
            },
            ..RenderOptions::default()
        };
        let (x0, y0, side) = Plan::new(SHORT, &opts).unwrap().logo_box().unwrap();
        let mut logo = Pixmap::new(side as u32, side as u32).unwrap();
        for (i, p) in logo.pixels_mut().iter_mut().enumerate() {
            let [r, g, b] = colour(i % side, i / side);
            *p = ColorU8::from_rgba(r, g, b, 255).premultiply();
        }
        let bytes = render_with_logo(SHORT, &opts, Some(&logo)).unwrap().bytes;
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
        let mut reader = decoder.read_info().unwrap();
        let (colour_type, depth) = (reader.info().color_type, reader.info().bit_depth);
        let mut px = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut px).unwrap();
        let at = (400 * 800 + 400) * 4;
        let got = [px[at], px[at + 1], px[at + 2]];
        (colour_type, depth, got, colour(400 - x0, 400 - y0))
    }

    #[test]
    fn a_flat_logo_joins_the_palette() {
        let (colour_type, depth, got, want) = centre(|x, _| {
            if x < 10 {
                [0x1a, 0x3c, 0x8c]
            } else {
                [0xff, 0x5b, 0x24]
            }
        });
        assert_eq!(
            (colour_type, depth),
            (png::ColorType::Indexed, png::BitDepth::Eight)
        );
        assert_eq!(got, want);
    }

    #[test]
    fn a_logo_of_more_colours_than_a_palette_holds_is_truecolour() {
        // a distinct colour per pixel: no palette of 256 entries holds them
        let (colour_type, depth, got, want) = centre(|x, y| [x as u8, y as u8, (x * 7 + y) as u8]);
        assert_eq!(
            (colour_type, depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        assert_eq!(got, want);
    }
}
