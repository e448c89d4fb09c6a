//! Byte-mode QR encoder: content → module matrix (ISO/IEC 18004).
//!
//! Our own because mask selection dominates a general encoder: `fast_qr` 0.14 spends ~90 % of
//! its 147 µs on scoring the 8 masks module by module. Here the matrix lives as bit-packed 64-bit
//! words, in rows *and* columns, so [`super::penalty`] scores a mask with word operations. The
//! result is checked module for module against the `qrcodegen` reference encoder
//! (`tests/it/render/conformance.rs`); see `PERFORMANCE.md` for the measurements.

use super::codewords::{self, MAX_CODEWORDS};
use super::penalty;
use super::{Ecc, RenderError};

/// Modules on a side of the largest symbol (version 40).
pub const MAX_MODULES: usize = 177;
/// 64-bit words per packed line; 3 × 64 ≥ 177.
pub const WORDS: usize = 3;

/// One row (or column) of modules, bit `x % 64` of word `x / 64` is module `x`; 1 = dark.
pub type Line = [u64; WORDS];

/// A square of modules stored as packed lines; only the first `size` lines and bits are used.
#[derive(Clone)]
pub(crate) struct Grid(pub [Line; MAX_MODULES]);

impl Grid {
    const EMPTY: Grid = Grid([[0; WORDS]; MAX_MODULES]);

    #[inline]
    pub(crate) fn get(&self, x: usize, y: usize) -> bool {
        (self.0[y][x / 64] >> (x % 64)) & 1 != 0
    }

    #[inline]
    fn put(&mut self, x: usize, y: usize, dark: bool) {
        let w = &mut self.0[y][x / 64];
        let bit = 1u64 << (x % 64);
        if dark {
            *w |= bit;
        } else {
            *w &= !bit;
        }
    }
}

/// An encoded QR symbol: version, ECC level, the chosen mask and the module matrix (without the
/// quiet zone).
#[derive(Clone)]
pub struct QrMatrix {
    version: u8,
    ecc: Ecc,
    mask: u8,
    size: usize,
    rows: Box<Grid>,
}

impl std::fmt::Debug for QrMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrMatrix")
            .field("version", &self.version)
            .field("ecc", &self.ecc)
            .field("mask", &self.mask)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl QrMatrix {
    /// QR version, 1..=40.
    pub fn version(&self) -> u8 {
        self.version
    }
    /// The error-correction level the symbol was built with.
    pub fn ecc(&self) -> Ecc {
        self.ecc
    }
    /// The data mask pattern chosen by the penalty rules, 0..=7.
    pub fn mask(&self) -> u8 {
        self.mask
    }
    /// Modules on a side (17 + 4 × version).
    pub fn size(&self) -> usize {
        self.size
    }
    /// Whether the module at column `x`, row `y` is dark. Panics outside the symbol.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        assert!(x < self.size && y < self.size, "module outside the symbol");
        self.rows.get(x, y)
    }
    /// Row `y` packed: bit `x % 64` of word `x / 64` is module `x`; bits past `size` are 0.
    pub fn row(&self, y: usize) -> &Line {
        &self.rows.0[y]
    }
}

/// Most content bytes a byte-mode symbol of `version` (1..=40) holds at `ecc`.
pub fn byte_capacity(version: u8, ecc: Ecc) -> usize {
    codewords::byte_capacity(version, ecc)
}

/// The smallest version whose byte mode holds `content` at `ecc`, or why there is none: the
/// one place that says which contents can be a QR code at all.
pub fn version_for(content: &[u8], ecc: Ecc) -> Result<u8, RenderError> {
    if content.is_empty() {
        return Err(RenderError::EmptyContent);
    }
    codewords::choose_version(content.len(), ecc).ok_or_else(|| RenderError::ContentTooLong {
        len: content.len(),
        max: codewords::max_content_len(ecc),
        ecc,
    })
}

/// Encodes `content` in byte mode at `ecc`, using the smallest version that holds it and the
/// mask with the lowest penalty score (the lowest-numbered one on ties).
pub fn encode(content: &[u8], ecc: Ecc) -> Result<QrMatrix, RenderError> {
    Ok(encode_at(content, ecc, version_for(content, ecc)?))
}

/// Encodes `content` like [`encode`] but in a symbol of `version`, which must hold it (at
/// least [`version_for`]): a logo may need a larger symbol than the content does.
pub(crate) fn encode_at(content: &[u8], ecc: Ecc, version: u8) -> QrMatrix {
    debug_assert!(content.len() <= byte_capacity(version, ecc));
    let mut data = Vec::with_capacity(MAX_CODEWORDS);
    codewords::encode(content, version, ecc, &mut data);

    let mut b = Builder::new(version);
    b.draw_function_patterns();
    b.place(&data);
    let mask = b.choose_mask(ecc);
    b.finish(ecc, mask)
}

/// Builds one symbol, row-major. Mask scoring also needs the columns as packed words: one
/// bit-matrix transpose of the unmasked symbol ([`transpose`]) gives them, and the function
/// module layout is symmetric about the main diagonal, so `func` serves rows and columns alike
/// (unit-tested for every version).
struct Builder {
    version: u8,
    size: usize,
    rows: Box<Grid>,
    /// Function modules (finder, timing, alignment, format, version): never masked.
    func: Box<Grid>,
}

impl Builder {
    fn new(version: u8) -> Builder {
        Builder {
            version,
            size: 17 + 4 * version as usize,
            rows: Box::new(Grid::EMPTY),
            func: Box::new(Grid::EMPTY),
        }
    }

    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        self.rows.put(x, y, dark);
        self.func.put(x, y, true);
    }

    fn draw_function_patterns(&mut self) {
        let size = self.size;
        // Timing patterns first; finders and alignment patterns overwrite where they overlap.
        for i in 0..size {
            self.set_function(6, i, i % 2 == 0);
            self.set_function(i, 6, i % 2 == 0);
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            // 7×7 finder with its light separator ring (clipped at the symbol edge).
            for dy in -4i32..=4 {
                for dx in -4i32..=4 {
                    let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                    if (0..size as i32).contains(&x) && (0..size as i32).contains(&y) {
                        let ring = dx.abs().max(dy.abs());
                        self.set_function(x as usize, y as usize, ring != 2 && ring != 4);
                    }
                }
            }
        }
        let (centres, n) = alignment_centres(self.version);
        for (i, &cy) in centres[..n].iter().enumerate() {
            for (j, &cx) in centres[..n].iter().enumerate() {
                // Not on the three finder corners.
                let corner = (i == 0 && (j == 0 || j == n - 1)) || (i == n - 1 && j == 0);
                if corner {
                    continue;
                }
                for dy in -2i32..=2 {
                    for dx in -2i32..=2 {
                        let ring = dx.abs().max(dy.abs());
                        let (x, y) = ((cx as i32 + dx) as usize, (cy as i32 + dy) as usize);
                        self.set_function(x, y, ring != 1);
                    }
                }
            }
        }
        // Reserve the format areas (drawn per mask later) and set the always-dark module.
        for &(x, y) in format_positions(size).iter() {
            self.set_function(x, y, false);
        }
        self.set_function(8, size - 8, true);
        if self.version >= 7 {
            let bits = version_bits(self.version);
            for i in 0..18 {
                let dark = (bits >> i) & 1 != 0;
                let (a, b) = (size - 11 + i % 3, i / 3);
                self.set_function(a, b, dark);
                self.set_function(b, a, dark);
            }
        }
    }

    /// Places the codewords MSB first in the standard's zig-zag ([`data_modules`]).
    fn place(&mut self, data: &[u8]) {
        let rows = &mut self.rows;
        let mut i = 0; // bit index into `data`; past its end come the 0..7 light remainder bits
        data_modules(self.size, &self.func, |x, y| {
            let byte = data.get(i >> 3).copied().unwrap_or(0);
            rows.0[y][x / 64] |= u64::from((byte >> (7 - (i & 7))) & 1) << (x % 64);
            i += 1;
        });
        debug_assert!(i >= data.len() * 8 && i < data.len() * 8 + 8);
    }

    /// The mask with the lowest penalty (ties → lowest number), as the standard prescribes.
    fn choose_mask(&self, ecc: Ecc) -> u8 {
        let mut cols = Grid::EMPTY;
        transpose(&self.rows, self.size, &mut cols);
        match self.size.div_ceil(64) {
            1 => self.choose_mask_words::<1>(&cols, ecc),
            2 => self.choose_mask_words::<2>(&cols, ecc),
            _ => self.choose_mask_words::<3>(&cols, ecc),
        }
    }

    fn choose_mask_words<const W: usize>(&self, base_cols: &Grid, ecc: Ecc) -> u8 {
        let size = self.size;
        let mut rows = [[0u64; W]; MAX_MODULES];
        let mut cols = [[0u64; W]; MAX_MODULES];
        let mut best = (u32::MAX, 0u8);
        for mask in 0..8u8 {
            let m = mask as usize;
            apply_mask::<W>(&self.rows, &self.func, &MASK_ROWS[m], size, &mut rows);
            apply_mask::<W>(base_cols, &self.func, &MASK_COLS[m], size, &mut cols);
            let format = format_bits(ecc, mask);
            for (k, &(x, y)) in format_positions(size).iter().enumerate() {
                if (format >> (k % 15)) & 1 != 0 {
                    rows[y][x / 64] |= 1 << (x % 64);
                    cols[x][y / 64] |= 1 << (y % 64);
                }
            }
            let score = penalty::score::<W>(&rows[..size], &cols[..size], size);
            if score < best.0 {
                best = (score, mask);
            }
        }
        best.1
    }

    fn finish(mut self, ecc: Ecc, mask: u8) -> QrMatrix {
        let size = self.size;
        let pattern = &MASK_ROWS[mask as usize];
        for (y, (row, func)) in self.rows.0[..size].iter_mut().zip(&self.func.0).enumerate() {
            let m = &pattern[y % MASK_PERIOD];
            for w in 0..WORDS {
                row[w] ^= m[w] & !func[w];
            }
        }
        let format = format_bits(ecc, mask);
        for (k, &(x, y)) in format_positions(size).iter().enumerate() {
            self.rows.put(x, y, (format >> (k % 15)) & 1 != 0);
        }
        // Keep the bits past `size` clear: the mask table covers all 192 columns.
        for y in 0..size {
            for w in 0..WORDS {
                self.rows.0[y][w] &= line_mask(size, w);
            }
        }
        QrMatrix {
            version: self.version,
            ecc,
            mask,
            size,
            rows: self.rows,
        }
    }
}

/// Calls `f(x, y)` for every data module of a `size`-module symbol whose function modules are
/// `func`, in placement order (bit `i` of the codeword sequence goes to the `i`-th call): the
/// standard's zig-zag of two-module columns from the right, alternately upwards and downwards,
/// skipping function modules and the timing column 6. One walk for placing codewords and for
/// finding which codeword a module carries ([`module_codewords`]), so the two cannot disagree.
#[inline]
fn data_modules(size: usize, func: &Grid, mut f: impl FnMut(usize, usize)) {
    let mut right = size - 1;
    loop {
        if right == 6 {
            right = 5;
        }
        let upward = (right + 1) & 2 == 0;
        for vert in 0..size {
            let y = if upward { size - 1 - vert } else { vert };
            for x in [right, right - 1] {
                if (func.0[y][x / 64] >> (x % 64)) & 1 == 0 {
                    f(x, y);
                }
            }
        }
        if right < 2 {
            break;
        }
        right -= 2;
    }
}

/// The function modules (finders with separators, timing, alignment, format and version areas)
/// of a `version` symbol: the modules no data lives in and no style may remove.
pub(crate) fn function_modules(version: u8) -> Box<Grid> {
    let mut b = Builder::new(version);
    b.draw_function_patterns();
    b.func
}

/// Calls `f(x, y, codeword)` for every data module of a `version` symbol with the index of the
/// codeword (in the interleaved sequence) whose bit it carries; the remainder bits after the last
/// codeword get an index ≥ the codeword count. `func` is [`function_modules`] of `version`.
pub(crate) fn module_codewords(version: u8, func: &Grid, mut f: impl FnMut(usize, usize, usize)) {
    let mut i = 0;
    data_modules(17 + 4 * version as usize, func, |x, y| {
        f(x, y, i / 8);
        i += 1;
    });
}

/// Writes the column-major copy of the first `size` lines of `rows` into `out`, one 64×64 bit
/// block at a time.
fn transpose(rows: &Grid, size: usize, out: &mut Grid) {
    let blocks = size.div_ceil(64);
    for bi in 0..blocks {
        for bj in 0..blocks {
            let mut a = [0u64; 64];
            for (r, word) in a.iter_mut().enumerate() {
                if let Some(line) = rows.0[..size].get(bi * 64 + r) {
                    *word = line[bj];
                }
            }
            transpose64(&mut a);
            for (c, &word) in a.iter().enumerate() {
                if let Some(line) = out.0[..size].get_mut(bj * 64 + c) {
                    line[bi] = word;
                }
            }
        }
    }
}

/// In-place transpose of a 64×64 bit matrix (bit `c` of `a[r]` ↔ bit `r` of `a[c]`): swap the
/// off-diagonal 32×32 blocks, then 16×16 inside each, … down to single bits; 6 rounds of 32
/// word swaps instead of 4096 bit moves.
fn transpose64(a: &mut [u64; 64]) {
    let mut j = 32;
    let mut m: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        let mut k = 0;
        while k < 64 {
            let t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k] ^= t << j;
            a[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        m ^= m << j;
    }
}

/// Bits of word `w` that lie inside a line of `size` modules.
#[inline]
pub(crate) fn line_mask(size: usize, w: usize) -> u64 {
    let lo = w * 64;
    if size >= lo + 64 {
        !0
    } else if size <= lo {
        0
    } else {
        (1u64 << (size - lo)) - 1
    }
}

/// Masked copy of `base` for scoring: data modules XOR the mask pattern, function modules kept.
#[inline]
fn apply_mask<const W: usize>(
    base: &Grid,
    func: &Grid,
    pattern: &[Line; MASK_PERIOD],
    size: usize,
    out: &mut [[u64; W]; MAX_MODULES],
) {
    let valid: [u64; W] = std::array::from_fn(|w| line_mask(size, w));
    for (i, line) in out[..size].iter_mut().enumerate() {
        let m = &pattern[i % MASK_PERIOD];
        for w in 0..W {
            line[w] = (base.0[i][w] ^ (m[w] & !func.0[i][w])) & valid[w];
        }
    }
}

/// All eight mask patterns repeat every 12 rows and every 12 columns (lcm of 2, 3, 4 and 6).
const MASK_PERIOD: usize = 12;

/// Whether mask `m` inverts the module at column `x`, row `y` (ISO/IEC 18004 table 10).
const fn mask_bit(m: usize, x: usize, y: usize) -> bool {
    match m {
        0 => (x + y).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (x + y).is_multiple_of(3),
        4 => (x / 3 + y / 2).is_multiple_of(2),
        5 => x * y % 2 + x * y % 3 == 0,
        6 => (x * y % 2 + x * y % 3).is_multiple_of(2),
        _ => ((x + y) % 2 + x * y % 3).is_multiple_of(2),
    }
}

/// `table[m][r]` is mask `m` along a whole line (192 modules) at row `r` (`transpose` false) or
/// column `r` (true) modulo [`MASK_PERIOD`].
const fn mask_table(transpose: bool) -> [[Line; MASK_PERIOD]; 8] {
    let mut t = [[[0u64; WORDS]; MASK_PERIOD]; 8];
    let mut m = 0;
    while m < 8 {
        let mut r = 0;
        while r < MASK_PERIOD {
            let mut i = 0;
            while i < WORDS * 64 {
                let (x, y) = if transpose { (r, i) } else { (i, r) };
                if mask_bit(m, x, y) {
                    t[m][r][i / 64] |= 1 << (i % 64);
                }
                i += 1;
            }
            r += 1;
        }
        m += 1;
    }
    t
}

static MASK_ROWS: [[Line; MASK_PERIOD]; 8] = mask_table(false);
static MASK_COLS: [[Line; MASK_PERIOD]; 8] = mask_table(true);

/// Alignment pattern centre coordinates of `version` (ISO/IEC 18004 annex E) and their count:
/// evenly spaced from the far edge back to 6, with an even step.
pub(crate) fn alignment_centres(version: u8) -> ([usize; 7], usize) {
    let mut out = [0usize; 7];
    if version == 1 {
        return (out, 0);
    }
    let v = version as usize;
    let n = v / 7 + 2;
    let step = if v == 32 {
        26
    } else {
        (v * 4 + n * 2 + 1) / (n * 2 - 2) * 2
    };
    let size = 17 + 4 * v;
    out[0] = 6;
    for i in 1..n {
        out[n - i] = size - 7 - (i - 1) * step;
    }
    (out, n)
}

/// The 15-bit format word: ECC level and mask, BCH(15,5)-protected, XOR 0x5412.
fn format_bits(ecc: Ecc, mask: u8) -> u32 {
    let level = match ecc {
        Ecc::L => 1,
        Ecc::M => 0,
        Ecc::Q => 3,
        Ecc::H => 2,
    };
    let data = (level << 3) | mask as u32;
    let mut rem = data;
    for _ in 0..10 {
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    }
    ((data << 10) | (rem & 0x3FF)) ^ 0x5412
}

/// The 18-bit version word (versions ≥ 7): version number, BCH(18,6)-protected.
fn version_bits(version: u8) -> u32 {
    let v = version as u32;
    let mut rem = v;
    for _ in 0..12 {
        rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
    }
    (v << 12) | (rem & 0xFFF)
}

/// Where the 15 format bits go, first copy (around the top-left finder) then second copy (split
/// between the top-right and bottom-left finders): entry `k` carries bit `k % 15`, as `(x, y)`.
fn format_positions(size: usize) -> [(usize, usize); 30] {
    std::array::from_fn(|k| match k {
        0..=5 => (8, k),
        6 => (8, 7),
        7 => (8, 8),
        8 => (7, 8),
        9..=14 => (14 - k, 8),
        15..=22 => (size - 1 - (k - 15), 8),
        _ => (8, size - 15 + (k - 15)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_version_words_match_the_standard() {
        // ISO/IEC 18004 annex C: M, mask 0 → 101010000010010; L, mask 0 → 111011111000100.
        assert_eq!(format_bits(Ecc::M, 0), 0b101010000010010);
        assert_eq!(format_bits(Ecc::L, 0), 0b111011111000100);
        // Annex D: version 7 → 000111110010010100.
        assert_eq!(version_bits(7), 0b000111110010010100);
    }

    #[test]
    fn alignment_centres_match_the_standard() {
        let c = |v| {
            let (a, n) = alignment_centres(v);
            a[..n].to_vec()
        };
        assert_eq!(c(1), Vec::<usize>::new());
        assert_eq!(c(2), vec![6, 18]);
        assert_eq!(c(7), vec![6, 22, 38]);
        assert_eq!(c(32), vec![6, 34, 60, 86, 112, 138]);
        assert_eq!(c(40), vec![6, 30, 58, 86, 114, 142, 170]);
    }

    #[test]
    fn data_modules_fill_exactly_the_codewords() {
        // Non-function modules = codewords × 8 + remainder bits (0..7).
        for v in 1..=40u8 {
            let mut b = Builder::new(v);
            b.draw_function_patterns();
            let size = b.size;
            let free: usize = (0..size)
                .map(|y| (0..size).filter(|&x| !b.func.get(x, y)).count())
                .sum();
            assert_eq!(free, codewords::raw_data_modules(v), "version {v}");
        }
    }

    #[test]
    fn transpose_and_function_symmetry() {
        for v in [1u8, 9, 14, 15, 27, 28, 40] {
            let mut b = Builder::new(v);
            b.draw_function_patterns();
            let data: Vec<u8> = (0..codewords::raw_data_modules(v) / 8)
                .map(|i| (i * 37 + 11) as u8)
                .collect();
            b.place(&data);
            let mut cols = Grid::EMPTY;
            transpose(&b.rows, b.size, &mut cols);
            for y in 0..b.size {
                for x in 0..b.size {
                    assert_eq!(b.rows.get(x, y), cols.get(y, x), "v{v} ({x}, {y})");
                    assert_eq!(b.func.get(x, y), b.func.get(y, x), "v{v} ({x}, {y})");
                }
            }
            for line in &cols.0[b.size..] {
                assert_eq!(line, &[0; WORDS]);
            }
        }
    }

    #[test]
    fn too_long_and_empty_are_typed_errors() {
        assert_eq!(encode(b"", Ecc::M).unwrap_err(), RenderError::EmptyContent);
        let long = vec![b'a'; 2332];
        assert_eq!(
            encode(&long, Ecc::M).unwrap_err(),
            RenderError::ContentTooLong {
                len: 2332,
                max: 2331,
                ecc: Ecc::M
            }
        );
        assert_eq!(encode(&long[..2331], Ecc::M).unwrap().version(), 40);
    }
}
