//! Geometry shared by the image writers: where each module lands in pixels, and the dark runs
//! of a module row.

use super::RenderError;
use super::matrix::{Line, QrMatrix, WORDS};

/// A symbol of `modules` modules plus a quiet zone of `border` on each side, drawn on
/// `size` × `size` pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// Modules on a side of the symbol itself.
    pub modules: u32,
    /// Quiet-zone width in modules.
    pub border: u32,
    /// Modules on a side including the quiet zone.
    pub total: u32,
    /// Image edge in pixels.
    pub size: u32,
}

impl Geometry {
    /// Refuses sizes that cannot give every module at least one whole pixel.
    pub fn new(m: &QrMatrix, border: u32, size: u32) -> Result<Geometry, RenderError> {
        let modules = m.size() as u32;
        let total = modules + 2 * border;
        if total > size {
            return Err(RenderError::TooSmall {
                modules: total,
                size,
            });
        }
        Ok(Geometry {
            modules,
            border,
            total,
            size,
        })
    }

    /// The table of module edges: ⌈m · size / total⌉ stepped as quotient and remainder.
    pub fn pixel_starts(&self) -> PixelStarts {
        let (size, total) = (self.size, self.total);
        let (step_q, step_r) = (size / total, size % total);
        let mut t = [0u32; MAX_TOTAL + 1];
        let (mut q, mut r) = (0u32, 0u32); // m · size = q · total + r
        for edge in t.iter_mut().take(total as usize + 1) {
            *edge = q + u32::from(r > 0);
            q += step_q;
            r += step_r;
            if r >= total {
                q += 1;
                r -= total;
            }
        }
        PixelStarts(t)
    }
}

/// Most modules across an image: version 40 plus the widest quiet zone on both sides.
const MAX_TOTAL: usize = super::matrix::MAX_MODULES + 2 * super::MAX_BORDER as usize;

/// The first pixel of every module edge `0..=total`. Pixel `p` shows module ⌊p · total / size⌋,
/// so module `m` covers `[⌈m · size / total⌉, ⌈(m+1) · size / total⌉)`: ⌊s⌋ or ⌈s⌉ whole
/// pixels for s = size / total, never a shared (grey) pixel. Computed without a division per
/// edge. The writers look edges up per dark run; two 32-bit divisions per run were most of
/// the PNG writer's time (perf, long deeplink at 800 px).
pub(crate) struct PixelStarts([u32; MAX_TOTAL + 1]);

impl PixelStarts {
    /// First pixel of module `m`, `m ≤ total`.
    #[inline(always)]
    pub fn at(&self, m: usize) -> usize {
        self.0[m] as usize
    }
}

/// Dark runs `[start, end)` of a packed line, in module coordinates, left to right.
pub(crate) fn dark_runs(line: &Line) -> DarkRuns<'_> {
    DarkRuns { line, pos: 0 }
}

/// Iterator of [`dark_runs`]; each step is two word scans (find a 1, then find a 0).
pub(crate) struct DarkRuns<'a> {
    line: &'a Line,
    pos: usize,
}

impl Iterator for DarkRuns<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        let start = find(self.line, self.pos, 0)?;
        // Bits past the symbol are 0, so a dark run always ends inside the last word or at the
        // end of the words.
        let end = find(self.line, start, !0).unwrap_or(WORDS * 64);
        self.pos = end;
        Some((start, end))
    }
}

/// First position ≥ `from` whose bit differs from `skip` (all-zeros or all-ones word).
#[inline]
fn find(line: &Line, from: usize, skip: u64) -> Option<usize> {
    let mut w = from / 64;
    if w >= WORDS {
        return None;
    }
    let mut bits = (line[w] ^ skip) & (!0u64 << (from % 64));
    loop {
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        w += 1;
        if w == WORDS {
            return None;
        }
        bits = line[w] ^ skip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Ecc;
    use crate::render::matrix::encode;

    #[test]
    fn modules_get_floor_or_ceil_pixels() {
        let m = encode(b"https://qr.example.com/r/DI5bjNA0", Ecc::M).unwrap();
        for size in [37, 100, 101, 333, 800, 2000] {
            let g = Geometry::new(&m, 4, size).unwrap();
            let table = g.pixel_starts();
            for m in 0..=g.total {
                assert_eq!(table.at(m as usize), (m * size).div_ceil(g.total) as usize);
            }
            let (lo, hi) = (size / g.total, size.div_ceil(g.total));
            assert_eq!(table.at(0), 0);
            assert_eq!(table.at(g.total as usize), size as usize);
            for i in 0..g.total as usize {
                let w = (table.at(i + 1) - table.at(i)) as u32;
                assert!(w == lo || w == hi, "size {size} module {i}: {w} px");
            }
        }
        assert_eq!(
            Geometry::new(&m, 4, 36).unwrap_err(),
            RenderError::TooSmall {
                modules: 37,
                size: 36
            }
        );
    }

    #[test]
    fn runs_cover_exactly_the_dark_bits() {
        let mut line: Line = [0; WORDS];
        let dark = [0, 1, 2, 63, 64, 65, 100, 127, 128, 176];
        for &x in &dark {
            line[x / 64] |= 1 << (x % 64);
        }
        let runs: Vec<_> = dark_runs(&line).collect();
        assert_eq!(
            runs,
            vec![(0, 3), (63, 66), (100, 101), (127, 129), (176, 177)]
        );
        assert_eq!(dark_runs(&[0; WORDS]).count(), 0);
        assert_eq!(dark_runs(&[!0; WORDS]).collect::<Vec<_>>(), vec![(0, 192)]);
    }
}
