//! Pre-rasterised module stamps: the anti-aliased pixels of one dark module, per shape and
//! neighbour pattern, for each of the whole-pixel module widths and heights the geometry
//! produces (⌊s⌋ and ⌈s⌉ px). A styled raster is these stamps copied row by row into the frame,
//! instead of thousands of tiny paths filled one by one.
//!
//! Every shape is made of one anti-aliased ellipse inscribed in the module (tiny-skia) and the
//! full square: a module quarter whose corner is round takes the ellipse's pixels, a square
//! corner's quarter is solid. A dot rounds all four corners; a rounded module rounds a corner
//! where neither of the two neighbours beside it is dark, so runs read as bars with round ends.

use tiny_skia::{FillRule, Mask, PathBuilder, Rect, Transform};

use crate::render::Shape;

/// Corner bits of a neighbour pattern: which of a module's corners are round.
pub(crate) const TOP_LEFT: u8 = 1;
pub(crate) const TOP_RIGHT: u8 = 2;
pub(crate) const BOTTOM_RIGHT: u8 = 4;
pub(crate) const BOTTOM_LEFT: u8 = 8;
/// Patterns 0..16: every set of round corners.
const PATTERNS: usize = 16;

/// The round corners of a dark module of `shape` whose four neighbours are dark as given.
#[inline]
pub(crate) fn pattern(shape: Shape, up: bool, right: bool, down: bool, left: bool) -> u8 {
    match shape {
        Shape::Square => 0,
        Shape::Dots => TOP_LEFT | TOP_RIGHT | BOTTOM_RIGHT | BOTTOM_LEFT,
        Shape::Rounded => {
            let mut p = 0;
            if !up && !left {
                p |= TOP_LEFT;
            }
            if !up && !right {
                p |= TOP_RIGHT;
            }
            if !down && !right {
                p |= BOTTOM_RIGHT;
            }
            if !down && !left {
                p |= BOTTOM_LEFT;
            }
            p
        }
    }
}

/// One module's pixels as palette levels, row-major, and which rows repeat the row above:
/// a module row of the raster repeats its previous pixel row wherever every stamp in it does.
pub(crate) struct Stamp {
    pub px: Vec<u8>,
    /// `same[j]`: row `j` equals row `j - 1` (`same[0]` is false).
    pub same: Vec<bool>,
}

impl Stamp {
    pub fn new(px: Vec<u8>, w: usize) -> Stamp {
        let h = px.len() / w;
        let same = (0..h)
            .map(|j| j > 0 && px[j * w..(j + 1) * w] == px[(j - 1) * w..j * w])
            .collect();
        Stamp { px, same }
    }

    /// Row `j` of a `w`-wide stamp.
    #[inline]
    pub fn row(&self, j: usize, w: usize) -> &[u8] {
        &self.px[j * w..(j + 1) * w]
    }
}

/// The stamps of one render, built on first use: per (width, height) class and pattern, the
/// module's pixels as palette levels.
pub(crate) struct Stamps {
    /// The narrower module width; the wider is `lo + 1`.
    lo: u32,
    /// Coverage (0..=255) → palette level of the dark colour.
    levels: [u8; 256],
    /// `[class · PATTERNS + pattern]`, class = 2·(height is wide) + (width is wide).
    stamps: Vec<Option<Stamp>>,
    /// The inscribed ellipse's levels per class.
    ellipses: [Option<Vec<u8>>; 4],
}

impl Stamps {
    pub fn new(lo: u32, levels: &[u8; 256]) -> Stamps {
        Stamps {
            lo,
            levels: *levels,
            stamps: (0..4 * PATTERNS).map(|_| None).collect(),
            ellipses: Default::default(),
        }
    }

    /// The id of the `w`×`h` stamp of `pattern` (`w`, `h` ∈ {lo, lo + 1}), built if new; see
    /// [`Stamps::stamp`].
    pub fn id(&mut self, w: u32, h: u32, pattern: u8) -> usize {
        let class = (2 * (h - self.lo) + (w - self.lo)) as usize;
        debug_assert!(class < 4 && (pattern as usize) < PATTERNS);
        let id = class * PATTERNS + pattern as usize;
        if self.stamps[id].is_none() {
            let full = self.levels[255];
            let px = if pattern == 0 {
                vec![full; (w * h) as usize]
            } else {
                let levels = &self.levels;
                let ellipse = self.ellipses[class].get_or_insert_with(|| ellipse(w, h, levels));
                quartered(ellipse, w, h, pattern, full)
            };
            self.stamps[id] = Some(Stamp::new(px, w as usize));
        }
        id
    }

    /// The stamp [`Stamps::id`] returned `id` for.
    #[inline]
    pub fn stamp(&self, id: usize) -> &Stamp {
        self.stamps[id].as_ref().expect("ids come from Stamps::id")
    }

    /// The `w`×`h` stamp of `pattern`, row-major levels.
    #[cfg(test)]
    pub fn get(&mut self, w: u32, h: u32, pattern: u8) -> &[u8] {
        let id = self.id(w, h, pattern);
        &self.stamp(id).px
    }
}

/// The levels of an anti-aliased ellipse inscribed in `w`×`h` pixels.
fn ellipse(w: u32, h: u32, levels: &[u8; 256]) -> Vec<u8> {
    let mut mask = Mask::new(w, h).expect("module sizes are at least 1 px");
    let rect = Rect::from_xywh(0.0, 0.0, w as f32, h as f32).expect("positive size");
    if let Some(path) = PathBuilder::from_oval(rect) {
        mask.fill_path(&path, FillRule::Winding, true, Transform::identity());
    }
    mask.data().iter().map(|&c| levels[c as usize]).collect()
}

/// A stamp whose round corners' quarters come from `ellipse` and the rest is `full`. A pixel
/// on the centre line of an odd width or height belongs to both halves: it is round only if
/// every quarter it touches is, so a round end joins a square one without a notch.
fn quartered(ellipse: &[u8], w: u32, h: u32, pattern: u8, full: u8) -> Vec<u8> {
    // Quarters a column / row touches: bit 0 = left / top half, bit 1 = right / bottom half.
    let side = |i: u32, n: u32| match (2 * i + 1).cmp(&n) {
        std::cmp::Ordering::Less => 1u8,
        std::cmp::Ordering::Equal => 3,
        std::cmp::Ordering::Greater => 2,
    };
    let round = |xs: u8, ys: u8| {
        let mut all = true;
        for (corner, x, y) in [
            (TOP_LEFT, 1, 1),
            (TOP_RIGHT, 2, 1),
            (BOTTOM_RIGHT, 2, 2),
            (BOTTOM_LEFT, 1, 2),
        ] {
            if xs & x != 0 && ys & y != 0 && pattern & corner == 0 {
                all = false;
            }
        }
        all
    };
    let xs: Vec<u8> = (0..w).map(|x| side(x, w)).collect();
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        // whether a pixel is round depends only on the halves its column and row touch
        let ys = side(y, h);
        let table = [false, round(1, ys), round(2, ys), round(3, ys)];
        let row = &ellipse[(y * w) as usize..((y + 1) * w) as usize];
        out.extend(
            row.iter()
                .zip(&xs)
                .map(|(&e, &x)| if table[x as usize] { e } else { full }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> [u8; 256] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn patterns_round_only_free_corners() {
        assert_eq!(pattern(Shape::Square, false, false, false, false), 0);
        assert_eq!(pattern(Shape::Dots, true, true, true, true), 15);
        assert_eq!(pattern(Shape::Rounded, false, false, false, false), 15);
        // The left end of a horizontal bar: left corners round.
        assert_eq!(
            pattern(Shape::Rounded, false, true, false, false),
            TOP_LEFT | BOTTOM_LEFT
        );
        assert_eq!(pattern(Shape::Rounded, true, true, true, true), 0);
    }

    #[test]
    fn stamps_are_solid_inside_and_soft_at_round_corners() {
        let levels = identity();
        let mut s = Stamps::new(9, &levels);
        let square = s.get(9, 10, 0).to_vec();
        assert_eq!(square.len(), 90);
        assert!(square.iter().all(|&c| c == 255));
        let dot = s.get(10, 10, 15).to_vec();
        assert_eq!(dot[0], 0, "a dot's corner pixel is empty");
        assert_eq!(dot[5 * 10 + 5], 255, "its centre is full");
        assert!(dot.iter().any(|&c| c > 0 && c < 255), "anti-aliased edge");
        // Left end of a bar: the right half is solid, the left half round.
        let end = s.get(9, 9, TOP_LEFT | BOTTOM_LEFT).to_vec();
        assert_eq!(end[8], 255);
        assert_eq!(end[0], 0);
        assert_eq!(end[4], 255, "the centre column joins the square half");
        // Symmetric: the dot is the same mirrored.
        for y in 0..10 {
            for x in 0..10 {
                let d = i32::from(dot[y * 10 + x]) - i32::from(dot[y * 10 + 9 - x]);
                assert!(d.abs() <= 2, "({x}, {y})");
            }
        }
    }
}
