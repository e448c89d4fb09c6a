//! The styled raster before it is encoded: one palette level per pixel, produced a pixel row
//! at a time and never held as a whole frame. Data modules are stamped ([`super::stamps`]), the
//! three eyes drawn with tiny-skia, and the logo's square and margin left as ground for the
//! writer to composite the logo into.
//!
//! A pixel row differs from the one above only where a stamp or an eye has a row that differs
//! from its own row above (the anti-aliased ends of round corners), or at a module-row edge. So
//! each step rewrites just those spans and reports them: the writer re-encodes only those
//! bytes, and a row nothing changed in is a repeat without being built or compared. At 800 px
//! a rounded short link has 628 distinct rows of 800, and they differ from the row above in
//! 10 941 bytes of 252 000.

use tiny_skia::{FillRule, Mask, Path, PathBuilder, Transform};

use super::Plan;
use super::palette::Palette;
use super::stamps::{self, Stamp, Stamps};
use crate::render::raster::{PixelStarts, dark_runs};
use crate::render::{Eyes, Style};

/// The frame as module rows of stamps and the eyes' level masks.
pub(crate) struct Canvas {
    pub size: usize,
    stamps: Stamps,
    /// Per module row (quiet zone included): first pixel row and the range of its stamps in
    /// `items`.
    bands: Vec<Band>,
    items: Vec<Item>,
    eyes: Vec<Eye>,
    /// The eyes' distinct rasters.
    eye_levels: Vec<Stamp>,
}

struct Band {
    y: usize,
    items: std::ops::Range<usize>,
}

/// A stamped module: first pixel column, width, stamp id.
struct Item {
    x: usize,
    w: usize,
    stamp: usize,
}

/// An eye at (`x`, `y`), `w`×`h` px; its levels are `eye_levels[levels]`.
struct Eye {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
    levels: usize,
}

/// Whether module (`x`, `y`) of an `n`-module symbol lies in one of the three 7×7 eyes.
#[inline]
fn in_eye(x: usize, y: usize, n: usize) -> bool {
    (x < 7 && (y < 7 || y >= n - 7)) || (x >= n - 7 && y < 7)
}

impl Canvas {
    /// Lays out `plan` in `style` with the levels of `palette`.
    pub fn paint(plan: &Plan, style: &Style, palette: &Palette) -> Canvas {
        let g = &plan.geometry;
        let starts = g.pixel_starts();
        let mut canvas = Canvas {
            size: g.size as usize,
            stamps: Stamps::new(g.size / g.total, &palette.dark),
            bands: Vec::with_capacity(g.total as usize + 1),
            items: Vec::new(),
            eyes: Vec::with_capacity(3),
            eye_levels: Vec::with_capacity(3),
        };
        canvas.modules(plan, style, &starts);
        canvas.eyes(plan, style.eyes, palette, &starts);
        canvas
    }

    fn modules(&mut self, plan: &Plan, style: &Style, starts: &PixelStarts) {
        let m = &plan.matrix;
        let n = m.size();
        let b = plan.geometry.border as usize;
        let total = plan.geometry.total as usize;
        // The alignment pattern the logo covers is drawn (in its margin; the logo's pixels
        // draw it over the logo itself, `super::window`).
        let window = plan.covered_alignment();
        let removed = |x: usize, y: usize| {
            plan.logo.is_some_and(|a| a.removes(x as u32, y as u32))
                && !window.is_some_and(|at| x.abs_diff(at) <= 2 && y.abs_diff(at) <= 2)
        };
        // A neighbour counts when it is drawn as a data module: eyes and the logo's square are
        // not, so modules beside them round off.
        let dark = |x: usize, y: usize| {
            x < n && y < n && m.is_dark(x, y) && !in_eye(x, y, n) && !removed(x, y)
        };
        for band in 0..total {
            let first = self.items.len();
            let y = band.wrapping_sub(b);
            if y < n {
                let h = starts.at(band + 1) - starts.at(band);
                for (x0, x1) in dark_runs(m.row(y)) {
                    for x in x0..x1 {
                        if in_eye(x, y, n) || removed(x, y) {
                            continue;
                        }
                        let p = stamps::pattern(
                            style.shape,
                            y > 0 && dark(x, y - 1),
                            dark(x + 1, y),
                            dark(x, y + 1),
                            x > 0 && dark(x - 1, y),
                        );
                        let (px, w) = (starts.at(b + x), starts.at(b + x + 1) - starts.at(b + x));
                        let stamp = self.stamps.id(w as u32, h as u32, p);
                        self.items.push(Item { x: px, w, stamp });
                    }
                }
            }
            self.bands.push(Band {
                y: starts.at(band),
                items: first..self.items.len(),
            });
        }
        // a sentinel: the end of the last band
        self.bands.push(Band {
            y: self.size,
            items: self.items.len()..self.items.len(),
        });
    }

    fn eyes(&mut self, plan: &Plan, eyes: Eyes, palette: &Palette, starts: &PixelStarts) {
        let n = plan.matrix.size();
        let b = plan.geometry.border as usize;
        let path = eye_path(eyes);
        for (fx, fy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
            let (x0, y0) = (starts.at(b + fx), starts.at(b + fy));
            let (w, h) = (starts.at(b + fx + 7) - x0, starts.at(b + fy + 7) - y0);
            let levels = match &path {
                // Drawn eyes of one size are one raster (the module grid makes them differ by
                // a pixel at most, so two rasters at most).
                Some(path) => match self.eyes.iter().find(|e| (e.w, e.h) == (w, h)) {
                    Some(e) => e.levels,
                    None => {
                        let px = drawn_eye(path, w, h, &palette.eye);
                        self.eye_levels.push(Stamp::new(px, w));
                        self.eye_levels.len() - 1
                    }
                },
                None => {
                    // Square eyes: the finder's own modules, on the module grid like the plain
                    // code.
                    let mut px = vec![0u8; w * h];
                    for my in 0..7 {
                        for mx in 0..7 {
                            if plan.matrix.is_dark(fx + mx, fy + my) {
                                let px0 = starts.at(b + fx + mx) - x0;
                                let py0 = starts.at(b + fy + my) - y0;
                                let pw = starts.at(b + fx + mx + 1) - x0 - px0;
                                let ph = starts.at(b + fy + my + 1) - y0 - py0;
                                for row in py0..py0 + ph {
                                    px[row * w + px0..][..pw].fill(palette.eye[255]);
                                }
                            }
                        }
                    }
                    self.eye_levels.push(Stamp::new(px, w));
                    self.eye_levels.len() - 1
                }
            };
            self.eyes.push(Eye {
                x: x0,
                y: y0,
                w,
                h,
                levels,
            });
        }
    }

    /// The pixel rows top to bottom.
    pub fn rows(&self) -> Rows<'_> {
        Rows {
            canvas: self,
            y: 0,
            band: 0,
            levels: vec![0; self.size],
            next: vec![0; self.size],
            spans: Vec::with_capacity(64),
        }
    }
}

/// The levels of one pixel row after another ([`Canvas::rows`]).
pub(crate) struct Rows<'a> {
    canvas: &'a Canvas,
    /// The row the next step produces.
    y: usize,
    /// Its module row.
    band: usize,
    levels: Vec<u8>,
    /// Scratch for a module row's first pixel row.
    next: Vec<u8>,
    /// The pixel spans the last step changed, left to right.
    spans: Vec<(usize, usize)>,
}

impl Rows<'_> {
    /// The current row's levels.
    #[inline]
    pub fn levels(&self) -> &[u8] {
        &self.levels
    }

    /// The pixel spans `[lo, hi)` the last [`Rows::step`] changed, left to right, disjoint.
    #[inline]
    pub fn spans(&self) -> &[(usize, usize)] {
        &self.spans
    }

    /// Steps to the next row and says whether it differs from the current one, and where
    /// ([`Rows::spans`]). The first step spans the whole row.
    pub fn step(&mut self) -> bool {
        self.spans.clear();
        let c = self.canvas;
        let y = self.y;
        self.y += 1;
        while c.bands[self.band + 1].y <= y {
            self.band += 1;
        }
        let band = &c.bands[self.band];
        let j = y - band.y;
        let items = &c.items[band.items.clone()];
        let eyes = c.eyes.iter().filter(|e| (e.y..e.y + e.h).contains(&y));
        if j == 0 {
            // A new module row: built whole, then compared (the quiet zone's rows repeat).
            let next = &mut self.next;
            next.fill(0);
            for it in items {
                next[it.x..it.x + it.w].copy_from_slice(c.stamps.stamp(it.stamp).row(0, it.w));
            }
            for e in eyes {
                let levels = &c.eye_levels[e.levels];
                next[e.x..e.x + e.w].copy_from_slice(levels.row(y - e.y, e.w));
            }
            let lo = if y == 0 {
                0
            } else {
                common_len(&self.levels, &self.next)
            };
            if lo == c.size {
                return false;
            }
            let hi = if y == 0 {
                c.size
            } else {
                c.size - common_len_rev(&self.levels[lo..], &self.next[lo..])
            };
            std::mem::swap(&mut self.levels, &mut self.next);
            self.spans.push((lo, hi));
            return true;
        }
        let spans = &mut self.spans;
        // Adjacent modules' spans merge; the eyes lie left and right of every module in their
        // rows, so sorting them in keeps the list ordered.
        let mut add = |lo: usize, hi: usize| match spans.last_mut() {
            Some(last) if last.1 == lo => last.1 = hi,
            _ => spans.push((lo, hi)),
        };
        let mut eyes = eyes.peekable();
        for it in items {
            while let Some(e) = eyes.next_if(|e| e.x < it.x) {
                let (ey, levels) = (y - e.y, &c.eye_levels[e.levels]);
                if !levels.same[ey] {
                    self.levels[e.x..e.x + e.w].copy_from_slice(levels.row(ey, e.w));
                    add(e.x, e.x + e.w);
                }
            }
            let stamp = c.stamps.stamp(it.stamp);
            if !stamp.same[j] {
                self.levels[it.x..it.x + it.w].copy_from_slice(stamp.row(j, it.w));
                add(it.x, it.x + it.w);
            }
        }
        for e in eyes {
            let (ey, levels) = (y - e.y, &c.eye_levels[e.levels]);
            if !levels.same[ey] {
                self.levels[e.x..e.x + e.w].copy_from_slice(levels.row(ey, e.w));
                add(e.x, e.x + e.w);
            }
        }
        !self.spans.is_empty()
    }
}

/// Length of the common prefix of `a` and `b`.
pub(super) fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Length of the common suffix of `a` and `b` (equal lengths).
pub(super) fn common_len_rev(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The levels of a drawn eye `w`×`h` px: one quadrant rasterised (the shape is symmetric in
/// both axes), the other three mirrored from it, which also makes the pixels exactly symmetric.
fn drawn_eye(path: &Path, w: usize, h: usize, levels: &[u8; 256]) -> Vec<u8> {
    let (qw, qh) = (w.div_ceil(2), h.div_ceil(2));
    let mut mask = Mask::new(qw as u32, qh as u32).expect("an eye is at least 7 px");
    let scale = Transform::from_scale(w as f32 / 7.0, h as f32 / 7.0);
    mask.fill_path(path, FillRule::EvenOdd, true, scale);
    let q = mask.data();
    let mut px = vec![0u8; w * h];
    for (y, row) in px.chunks_exact_mut(w).enumerate() {
        let src = &q[y.min(h - 1 - y) * qw..][..qw];
        for (x, p) in row.iter_mut().enumerate() {
            *p = levels[src[x.min(w - 1 - x)] as usize];
        }
    }
    px
}

/// The eye shape in module units (a 7×7 square): outer ring and inner 3×3 ball, filled
/// even-odd. `None` for square eyes, which are drawn as modules.
///
/// The ring stays one module thick and the ball three, so a scan line through the centre still
/// crosses dark:light:dark:light:dark in 1:1:3:1:1, which is what finder detection looks for.
/// Circle eyes are round rings of [`ROUND_EYE_K`] (`ROUND_EYE.md` beside this file says why
/// not true circles).
fn eye_path(eyes: Eyes) -> Option<Path> {
    let mut pb = PathBuilder::new();
    match eyes {
        Eyes::Square => return None,
        Eyes::Rounded => {
            rounded_rect(&mut pb, 0.0, 7.0, 1.0, CIRCLE_K);
            rounded_rect(&mut pb, 1.0, 5.0, 0.5, CIRCLE_K);
            rounded_rect(&mut pb, 2.0, 3.0, 0.75, CIRCLE_K);
        }
        Eyes::Circle => {
            let k = ROUND_EYE_K as f32 / 100.0;
            rounded_rect(&mut pb, 0.0, 7.0, 3.5, k);
            rounded_rect(&mut pb, 1.0, 5.0, 2.5, k);
            rounded_rect(&mut pb, 2.0, 3.0, 1.5, k);
        }
    }
    pb.finish()
}

/// Control-point distance, in radii, of a cubic Bézier quarter circle.
const CIRCLE_K: f32 = 0.552_284_8;

/// Control-point distance, in hundredths of the radius, of the quarter curves a circle eye's
/// ring and ball are drawn with (a circle's is 55.23): rounder than a rounded eye, but with
/// sides flat enough near the axes that zbar's finder-edge fit is the same line whichever
/// edge points it samples. Measured with zbar 0.23.92 (`zbarimg`, one scan per image) over
/// 624 images (four contents of versions 1–4, 200–893 px, PNG and SVG rasterised by resvg,
/// quiet zone 5, ECC L): 70 missed 32, 80 missed 10, 85 missed 2, 90 none (rounded and square
/// eyes none); `ROUND_EYE.md` has the rest. Hundredths, so the SVG writes the same curves
/// exactly.
pub(crate) const ROUND_EYE_K: i32 = 90;

/// A square at (`at`, `at`) of side `side` with corners of radius `r`, as four lines and four
/// cubic quarter curves whose control points lie `k`·`r` from the corners' ends (`k` =
/// [`CIRCLE_K`]: quarter circles).
fn rounded_rect(pb: &mut PathBuilder, at: f32, side: f32, r: f32, k: f32) {
    let (l, t, rt, bt) = (at, at, at + side, at + side);
    let k = r * k;
    pb.move_to(l + r, t);
    pb.line_to(rt - r, t);
    pb.cubic_to(rt - r + k, t, rt, t + r - k, rt, t + r);
    pb.line_to(rt, bt - r);
    pb.cubic_to(rt, bt - r + k, rt - r + k, bt, rt - r, bt);
    pb.line_to(l + r, bt);
    pb.cubic_to(l + r - k, bt, l, bt - r + k, l, bt - r);
    pb.line_to(l, t + r);
    pb.cubic_to(l, t + r - k, l + r - k, t, l + r, t);
    pb.close();
}
