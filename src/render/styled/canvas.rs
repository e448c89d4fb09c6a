//! The styled raster before it is encoded: one palette level per pixel. Data modules are
//! stamped ([`super::stamps`]), the three eyes drawn with tiny-skia, and the logo's square and
//! margin left as ground for the writer to composite the logo into.

use tiny_skia::{FillRule, Mask, Path, PathBuilder, Transform};

use super::Plan;
use super::palette::Palette;
use super::stamps::{self, Stamps};
use crate::render::raster::{PixelStarts, dark_runs};
use crate::render::{Eyes, Style};

/// `size`×`size` palette levels, row-major.
pub(crate) struct Canvas {
    pub size: usize,
    pub px: Vec<u8>,
}

/// Whether module (`x`, `y`) of an `n`-module symbol lies in one of the three 7×7 eyes.
#[inline]
fn in_eye(x: usize, y: usize, n: usize) -> bool {
    (x < 7 && (y < 7 || y >= n - 7)) || (x >= n - 7 && y < 7)
}

impl Canvas {
    /// Draws `plan` in `style` with the levels of `palette`.
    pub fn paint(plan: &Plan, style: &Style, palette: &Palette) -> Canvas {
        let g = &plan.geometry;
        let size = g.size as usize;
        let mut canvas = Canvas {
            size,
            px: vec![0; size * size],
        };
        let starts = g.pixel_starts();
        canvas.modules(plan, style, palette, &starts);
        canvas.eyes(plan, style.eyes, palette, &starts);
        canvas
    }

    fn modules(&mut self, plan: &Plan, style: &Style, palette: &Palette, starts: &PixelStarts) {
        let m = &plan.matrix;
        let n = m.size();
        let b = plan.geometry.border as usize;
        let removed = |x: usize, y: usize| plan.logo.is_some_and(|a| a.removes(x as u32, y as u32));
        // A neighbour counts when it is drawn as a data module: eyes and the logo's square are
        // not, so modules beside them round off.
        let dark = |x: usize, y: usize| {
            x < n && y < n && m.is_dark(x, y) && !in_eye(x, y, n) && !removed(x, y)
        };
        let mut stamps = Stamps::new(plan.geometry.size / plan.geometry.total, &palette.dark);
        for y in 0..n {
            let (py, h) = (starts.at(b + y), starts.at(b + y + 1) - starts.at(b + y));
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
                    let stamp = stamps.get(w as u32, h as u32, p);
                    for (j, src) in stamp.chunks_exact(w).enumerate() {
                        let at = (py + j) * self.size + px;
                        self.px[at..at + w].copy_from_slice(src);
                    }
                }
            }
        }
    }

    fn eyes(&mut self, plan: &Plan, eyes: Eyes, palette: &Palette, starts: &PixelStarts) {
        let n = plan.matrix.size();
        let b = plan.geometry.border as usize;
        for (fx, fy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
            let (x0, y0) = (starts.at(b + fx), starts.at(b + fy));
            let (w, h) = (starts.at(b + fx + 7) - x0, starts.at(b + fy + 7) - y0);
            let Some(path) = eye_path(eyes) else {
                // Square eyes: the finder's own modules, on the module grid like the plain code.
                for my in 0..7 {
                    for mx in 0..7 {
                        if plan.matrix.is_dark(fx + mx, fy + my) {
                            let (px, py) = (starts.at(b + fx + mx), starts.at(b + fy + my));
                            let (pw, ph) = (
                                starts.at(b + fx + mx + 1) - px,
                                starts.at(b + fy + my + 1) - py,
                            );
                            for row in py..py + ph {
                                self.px[row * self.size + px..][..pw].fill(palette.eye[255]);
                            }
                        }
                    }
                }
                continue;
            };
            let mut mask = Mask::new(w as u32, h as u32).expect("an eye is at least 7 px");
            let scale = Transform::from_scale(w as f32 / 7.0, h as f32 / 7.0);
            mask.fill_path(&path, FillRule::EvenOdd, true, scale);
            for (j, cov) in mask.data().chunks_exact(w).enumerate() {
                let row = &mut self.px[(y0 + j) * self.size + x0..][..w];
                for (p, &c) in row.iter_mut().zip(cov) {
                    *p = palette.eye[c as usize];
                }
            }
        }
    }
}

/// The eye shape in module units (a 7×7 square): outer ring and inner 3×3 ball, filled
/// even-odd. `None` for square eyes, which are drawn as modules.
///
/// The ring stays one module thick and the ball three, so a scan line through the centre still
/// crosses dark:light:dark:light:dark in 1:1:3:1:1, which is what finder detection looks for.
fn eye_path(eyes: Eyes) -> Option<Path> {
    let mut pb = PathBuilder::new();
    match eyes {
        Eyes::Square => return None,
        Eyes::Rounded => {
            rounded_rect(&mut pb, 0.0, 7.0, 1.0);
            rounded_rect(&mut pb, 1.0, 5.0, 0.5);
            rounded_rect(&mut pb, 2.0, 3.0, 0.75);
        }
        Eyes::Circle => {
            pb.push_circle(3.5, 3.5, 3.5);
            pb.push_circle(3.5, 3.5, 2.5);
            pb.push_circle(3.5, 3.5, 1.5);
        }
    }
    pb.finish()
}

/// A square at (`at`, `at`) of side `side` with corners of radius `r`, as four lines and four
/// cubic quarter circles.
fn rounded_rect(pb: &mut PathBuilder, at: f32, side: f32, r: f32) {
    // Control-point distance of a cubic Bézier quarter circle.
    const K: f32 = 0.552_284_8;
    let (l, t, rt, bt) = (at, at, at + side, at + side);
    let k = r * K;
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
