//! The vector shapes of a styled code, described once for the two vector writers: the styled
//! SVG ([`super::svg`]) writes them as path data with arcs, the PDF ([`crate::render::pdf`])
//! as path operators with cubic Béziers. Everything is a [`RoundRect`] in half modules (so
//! every corner radius a style uses is a whole number) with the quiet zone included:
//!
//! - square and rounded modules: one rectangle per horizontal run. Inside a run every module
//!   has a dark neighbour left and right, so only the run's two ends can round, and an end's
//!   corner rounds (rounded shape) where the end module has no dark neighbour above or below.
//! - dots: a circle per module (a 2×2 rectangle with radius 1).
//! - eyes: per eye an outer square, the ring's inner square and the ball, filled even-odd
//!   (circle eyes with flatter corners than a circle's, as the PNG draws them: `ROUND_EYE.md`);
//!   the ring stays one module thick and the ball three whatever the corners, so a scan line
//!   through the centre still crosses dark:light:dark:light:dark in 1:1:3:1:1.

use super::Plan;
pub(crate) use super::canvas::ROUND_EYE_K;
use crate::render::matrix::{Line, WORDS};
use crate::render::raster::dark_runs;
use crate::render::{Eyes, Shape};

/// A rectangle at (`x`, `y`), `w`×`h`, whose corners are quarter circles of radius `r`
/// (top-left, top-right, bottom-right, bottom-left; 0 for a square corner), in half modules.
/// `flattened`: the corners are the circle eyes' flatter curves ([`ROUND_EYE_K`]), not
/// quarter circles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoundRect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub r: [i32; 4],
    pub flattened: bool,
}

impl RoundRect {
    /// Whether every corner is square (a plain rectangle).
    pub fn is_square(&self) -> bool {
        self.r == [0; 4]
    }

    /// The outline as one closed subpath, clockwise (y down) from the top edge's start, to
    /// `sink`: four sides, each followed by its corner's quarter circle when it has one.
    pub fn trace(&self, sink: &mut impl Outline) {
        let [tl, tr, br, bl] = self.r;
        let (w, h) = (self.w, self.h);
        sink.start(self.x + tl, self.y);
        sink.side(Dir::H, w - tl - tr);
        let f = self.flattened;
        sink.quarter(tr, (1, 1), f);
        sink.side(Dir::V, h - tr - br);
        sink.quarter(br, (-1, 1), f);
        sink.side(Dir::H, -(w - br - bl));
        sink.quarter(bl, (-1, -1), f);
        sink.side(Dir::V, -(h - bl - tl));
        sink.quarter(tl, (1, -1), f);
        sink.close();
    }
}

/// A straight side's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    H,
    V,
}

/// What a writer does with a [`RoundRect`]'s outline, in half modules, relative to where the
/// pen is (the start is absolute).
pub(crate) trait Outline {
    fn start(&mut self, x: i32, y: i32);
    /// A straight side of `d` half modules (nothing when 0).
    fn side(&mut self, dir: Dir, d: i32);
    /// A clockwise quarter circle of radius `r` (nothing when 0) ending (`sx`·r, `sy`·r) away;
    /// `flattened`: the cubic of control-point distance [`ROUND_EYE_K`] instead.
    fn quarter(&mut self, r: i32, s: (i32, i32), flattened: bool);
    fn close(&mut self);
}

/// The data modules of `plan` drawn as `shape`, top to bottom.
pub(crate) fn modules(plan: &Plan, shape: Shape) -> Vec<RoundRect> {
    let lines = drawn_lines(plan);
    let b = 2 * plan.geometry.border as i32;
    let mut out = Vec::with_capacity(lines.len() * 8);
    for (y, line) in lines.iter().enumerate() {
        let top = b + 2 * y as i32;
        for (x0, x1) in dark_runs(line) {
            if shape == Shape::Dots {
                out.extend((x0..x1).map(|x| RoundRect {
                    x: b + 2 * x as i32,
                    y: top,
                    w: 2,
                    h: 2,
                    r: [1; 4],
                    flattened: false,
                }));
                continue;
            }
            // a corner of the run's end module rounds when nothing dark is above (below) it
            let r = |x: usize, dy: isize| -> i32 {
                let yy = y as isize + dy;
                i32::from(shape == Shape::Rounded && (yy < 0 || !dark(&lines, x, yy as usize)))
            };
            out.push(RoundRect {
                x: b + 2 * x0 as i32,
                y: top,
                w: 2 * (x1 - x0) as i32,
                h: 2,
                r: [r(x0, -1), r(x1 - 1, -1), r(x1 - 1, 1), r(x0, 1)],
                flattened: false,
            });
        }
    }
    out
}

/// The three eyes of `plan` as `eyes`: per eye the outer square, the ring's inner square and
/// the ball (fill them even-odd).
pub(crate) fn eyes(plan: &Plan, eyes: Eyes) -> Vec<RoundRect> {
    let n = plan.matrix.size() as i32;
    let b = plan.geometry.border as i32;
    // Each shape as (offset from the eye's corner, side, corner radius).
    let parts = match eyes {
        Eyes::Square => [(0, 14, 0), (2, 10, 0), (4, 6, 0)],
        Eyes::Rounded => [(0, 14, 2), (2, 10, 1), (4, 6, 1)],
        Eyes::Circle => [(0, 14, 7), (2, 10, 5), (4, 6, 3)],
    };
    [(0, 0), (n - 7, 0), (0, n - 7)]
        .into_iter()
        .flat_map(|(fx, fy)| {
            parts.map(|(off, side, r)| RoundRect {
                x: 2 * (b + fx) + off,
                y: 2 * (b + fy) + off,
                w: side,
                h: side,
                r: [r; 4],
                flattened: eyes == Eyes::Circle,
            })
        })
        .collect()
}

/// The symbol's rows with only the modules drawn as data modules: eyes and the logo's
/// square (with its margin) cleared.
fn drawn_lines(plan: &Plan) -> Vec<Line> {
    let m = &plan.matrix;
    let n = m.size();
    (0..n)
        .map(|y| {
            let mut line = *m.row(y);
            let mut clear = |x0: usize, x1: usize| {
                for x in x0..x1 {
                    line[x / 64] &= !(1u64 << (x % 64));
                }
            };
            if y < 7 {
                clear(0, 7);
                clear(n - 7, n);
            } else if y >= n - 7 {
                clear(0, 7);
            }
            if let Some(a) = plan.logo {
                let (lo, hi) = (a.start as usize - 1, (a.start + a.side) as usize);
                if (lo..=hi).contains(&y) {
                    clear(lo, hi + 1);
                }
            }
            line
        })
        .collect()
}

#[inline]
fn dark(lines: &[Line], x: usize, y: usize) -> bool {
    lines
        .get(y)
        .is_some_and(|l| x < WORDS * 64 && (l[x / 64] >> (x % 64)) & 1 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{RenderOptions, Style};

    const SHORT: &[u8] = b"https://qr.example.com/r/DI5bjNA0";

    fn plan(shape: Shape) -> Plan {
        let opts = RenderOptions {
            style: Style {
                shape,
                ..Style::default()
            },
            ..RenderOptions::default()
        };
        Plan::new(SHORT, &opts).unwrap()
    }

    /// Sums a rectangle's area in quarter modules (corners as squares) per dark module.
    #[test]
    fn runs_and_dots_cover_the_same_modules() {
        let area = |rs: &[RoundRect]| rs.iter().map(|r| r.w * r.h).sum::<i32>();
        let square = modules(&plan(Shape::Square), Shape::Square);
        let dots = modules(&plan(Shape::Dots), Shape::Dots);
        let rounded = modules(&plan(Shape::Rounded), Shape::Rounded);
        assert_eq!(area(&square), area(&dots));
        assert_eq!(area(&square), area(&rounded));
        assert!(square.iter().all(RoundRect::is_square));
        assert!(dots.iter().all(|r| r.r == [1; 4]));
        // a lone module is a circle in the rounded shape too
        assert!(rounded.iter().any(|r| r.w == 2 && r.r == [1; 4]));
        assert!(rounded.iter().any(|r| r.is_square()));
    }

    #[test]
    fn eyes_keep_the_one_one_three_one_one_ratio() {
        for e in [Eyes::Square, Eyes::Rounded, Eyes::Circle] {
            let rs = eyes(&plan(Shape::Square), e);
            assert_eq!(rs.len(), 9);
            let [outer, inner, ball] = [rs[0], rs[1], rs[2]];
            assert_eq!((outer.x, outer.w), (8, 14));
            assert_eq!((inner.x - outer.x, inner.w), (2, 10));
            assert_eq!((ball.x - outer.x, ball.w), (4, 6));
        }
    }
}
