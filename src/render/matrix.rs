//! QR encoder: content → module matrix (ISO/IEC 18004), in the segments [`super::segment`]
//! chooses.
//!
//! Our own because mask selection dominates a general encoder: `fast_qr` 0.14 spends ~90 % of
//! its 147 µs on scoring the 8 masks module by module. Here the matrix lives as bit-packed 64-bit
//! row words, so [`super::penalty`] scores a mask with word operations, along the rows and
//! (one row word at a time) down the columns. The
//! result is checked module for module against the `qrcodegen` reference encoder
//! (`tests/it/render/conformance.rs`); see `PERFORMANCE.md` for the measurements.

use super::codewords;
use super::penalty;
use super::segment::{self, Segmentation};
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
}

/// An encoded QR symbol: version, ECC level, the chosen mask and the module matrix (without the
/// quiet zone).
#[derive(Clone)]
pub struct QrMatrix {
    version: u8,
    ecc: Ecc,
    mask: u8,
    size: usize,
    /// `size` rows; bits past `size` are 0.
    rows: Vec<Line>,
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
        (self.rows[y][x / 64] >> (x % 64)) & 1 != 0
    }
    /// Row `y` packed: bit `x % 64` of word `x / 64` is module `x`; bits past `size` are 0.
    pub fn row(&self, y: usize) -> &Line {
        &self.rows[y]
    }
}

/// Most content bytes a byte-mode symbol of `version` (1..=40) holds at `ecc`.
pub fn byte_capacity(version: u8, ecc: Ecc) -> usize {
    codewords::byte_capacity(version, ecc)
}

/// The smallest version that holds `content` at `ecc` (optimally segmented) with its
/// segmentation, or why there is none: the one place that says which contents can be a QR code
/// at all.
fn choose(content: &[u8], ecc: Ecc) -> Result<(u8, Segmentation), RenderError> {
    if content.is_empty() {
        return Err(RenderError::EmptyContent);
    }
    codewords::choose_version(content, ecc).ok_or_else(|| RenderError::ContentTooLong {
        len: content.len(),
        max: codewords::max_len_like(content, ecc),
        ecc,
    })
}

/// The smallest version that holds `content` at `ecc`, or why there is none.
pub fn version_for(content: &[u8], ecc: Ecc) -> Result<u8, RenderError> {
    choose(content, ecc).map(|(v, _)| v)
}

/// Encodes `content` at `ecc` or stronger: the smallest version that holds it at `ecc`, the
/// strongest level that version still holds it at ([`codewords::boosted`]), and the mask with
/// the lowest penalty score (the lowest-numbered one on ties).
pub fn encode(content: &[u8], ecc: Ecc) -> Result<QrMatrix, RenderError> {
    let (version, seg) = choose(content, ecc)?;
    let ecc = codewords::boosted(seg.bits, version, ecc);
    Ok(encode_segments(content, &seg, ecc, version))
}

/// The ECC level [`encode_at`] uses for `content` in a `version` symbol asked at `floor`.
pub(crate) fn ecc_at(content: &[u8], floor: Ecc, version: u8) -> Ecc {
    let seg = segment::optimal(content, segment::class_of(version));
    codewords::boosted(seg.bits, version, floor)
}

/// Encodes `content` like [`encode`] but in a symbol of `version`, which must hold it (at
/// least [`version_for`]): a logo may need a larger symbol than the content does. The level is
/// [`ecc_at`].
pub(crate) fn encode_at(content: &[u8], floor: Ecc, version: u8) -> QrMatrix {
    let seg = segment::optimal(content, segment::class_of(version));
    let ecc = codewords::boosted(seg.bits, version, floor);
    encode_segments(content, &seg, ecc, version)
}

fn encode_segments(content: &[u8], seg: &Segmentation, ecc: Ecc, version: u8) -> QrMatrix {
    // 8 zero bytes after the codewords: the light remainder bits, and room for the placement's
    // word reads.
    let mut data = Vec::with_capacity(codewords::raw_data_modules(version) / 8 + 8);
    codewords::encode(content, seg, version, ecc, &mut data);
    data.resize(data.len() + 8, 0);
    // Lines as narrow as the symbol: a version-1..9 symbol fits one word per line, and every
    // word operation of the mask choice runs a third as often as with three.
    // `R` rows of room: the symbol and the light rows the mask scoring keeps around it.
    match (17 + 4 * version as usize).div_ceil(64) {
        1 => build::<1, 80>(version, ecc, &data),
        2 => build::<2, 144>(version, ecc, &data),
        _ => build::<3, 192>(version, ecc, &data),
    }
}

fn build<const W: usize, const R: usize>(version: u8, ecc: Ecc, data: &[u8]) -> QrMatrix {
    let mut s = Symbol::<W, R>::new(version);
    s.draw_function_patterns();
    s.place(data);
    let mask = s.choose_mask(ecc);
    s.finish(ecc, mask)
}

/// One symbol being built, in lines of `W` words (`W` × 64 ≥ size) and room for `R` ≥ size
/// of them: rows only, the mask scoring reads the columns out of the row words
/// ([`penalty::score`]).
struct Symbol<const W: usize, const R: usize> {
    version: u8,
    size: usize,
    rows: [[u64; W]; R],
    /// Function modules (finder, timing, alignment, format, version): never masked.
    func: [[u64; W]; R],
}

/// Rows of a finder with its separator, 8 modules wide: `FINDER[0]` from the column left of
/// the centre by 3 (the left finders, whose separator is on the right), `FINDER[1]` from 4
/// left of the centre (the top-right finder); index `dy + 4` for rows `dy` = −4..=4 from the
/// centre. Dark where the ring (Chebyshev distance from the centre) is 0, 1 or 3.
const FINDER: [[u64; 9]; 2] = {
    let mut t = [[0u64; 9]; 2];
    let mut side = 0;
    while side < 2 {
        let mut r = 0;
        while r < 9 {
            let dy = r as i32 - 4;
            let mut i = 0;
            while i < 8 {
                let dx = i - 3 - side as i32;
                let ring = if dx.abs() > dy.abs() {
                    dx.abs()
                } else {
                    dy.abs()
                };
                if ring != 2 && ring != 4 {
                    t[side][r] |= 1 << i;
                }
                i += 1;
            }
            r += 1;
        }
        side += 1;
    }
    t
};

/// Rows of an alignment pattern, 5 modules wide: dark ring, light ring, dark centre.
const ALIGNMENT: [u64; 5] = [0x1F, 0x11, 0x15, 0x11, 0x1F];

/// Sets modules `x..x + len` (len ≤ 9) of `line` to the low `len` bits of `bits`.
#[inline(always)]
fn put_bits<const W: usize>(line: &mut [u64; W], x: usize, len: usize, bits: u64) {
    let mask = (1u64 << len) - 1;
    let (w, s) = (x / 64, x % 64);
    line[w] = (line[w] & !(mask << s)) | (bits << s);
    if s + len > 64 {
        let h = 64 - s;
        line[w + 1] = (line[w + 1] & !(mask >> h)) | (bits >> h);
    }
}

impl<const W: usize, const R: usize> Symbol<W, R> {
    fn new(version: u8) -> Self {
        Symbol {
            version,
            size: 17 + 4 * version as usize,
            rows: [[0; W]; R],
            func: [[0; W]; R],
        }
    }

    /// Function modules `x..x + len` of row `y`, set to `bits`.
    #[inline(always)]
    fn function_run(&mut self, x: usize, y: usize, len: usize, bits: u64) {
        put_bits(&mut self.rows[y], x, len, bits);
        put_bits(&mut self.func[y], x, len, (1 << len) - 1);
    }

    #[inline(never)] // one call per encode: kept out of line, so each is optimised on its own
    fn draw_function_patterns(&mut self) {
        let size = self.size;
        // Timing patterns first; finders and alignment patterns overwrite where they overlap.
        for w in 0..W {
            let valid = line_mask(size, w);
            self.rows[6][w] = 0x5555_5555_5555_5555 & valid;
            self.func[6][w] = valid;
        }
        for y in 0..size {
            self.rows[y][0] |= (!y as u64 & 1) << 6;
            self.func[y][0] |= 1 << 6;
        }
        for dy in 0..8 {
            self.function_run(0, dy, 8, FINDER[0][dy + 1]);
            self.function_run(size - 8, dy, 8, FINDER[1][dy + 1]);
            self.function_run(0, size - 8 + dy, 8, FINDER[0][dy]);
        }
        let (centres, n) = alignment_centres(self.version);
        for (i, &cy) in centres[..n].iter().enumerate() {
            for (j, &cx) in centres[..n].iter().enumerate() {
                // Not on the three finder corners.
                let corner = (i == 0 && (j == 0 || j == n - 1)) || (i == n - 1 && j == 0);
                if !corner {
                    for (dy, &bits) in ALIGNMENT.iter().enumerate() {
                        self.function_run(cx - 2, cy - 2 + dy, 5, bits);
                    }
                }
            }
        }
        // Reserve the format areas (drawn per mask later) and set the always-dark module.
        for &(x, y) in format_positions(size).iter() {
            self.function_run(x, y, 1, 0);
        }
        self.function_run(8, size - 8, 1, 1);
        if self.version >= 7 {
            let bits = version_bits(self.version);
            for i in 0..18 {
                let dark = u64::from((bits >> i) & 1);
                let (a, b) = (size - 11 + i % 3, i / 3);
                self.function_run(a, b, 1, dark);
                self.function_run(b, a, 1, dark);
            }
        }
    }

    /// Places the codewords MSB first in the standard's zig-zag (the order of
    /// [`data_modules`], checked against it by a unit test): two-module columns from the
    /// right, alternately upwards and downwards, skipping function modules and column 6.
    /// `data` ends in 8 zero bytes (the remainder bits, and room for a word read).
    ///
    /// A column pair is walked in runs of rows where both modules are free, found by bit
    /// scans: the function modules are symmetric about the diagonal, so column x's are the
    /// set bits of `func` row x. A run takes its bits 56 at a time from one big-endian word
    /// read, two per row: a row costs a shift and an OR, with no test of the function modules.
    #[inline(never)] // one call per encode: kept out of line, so each is optimised on its own
    fn place(&mut self, data: &[u8]) {
        let size = self.size;
        let read = |pos: usize| -> u64 {
            let bytes: [u8; 8] = data[pos / 8..pos / 8 + 8]
                .try_into()
                .expect("an 8-byte slice");
            u64::from_be_bytes(bytes) << (pos % 8)
        };
        let mut pos = 0; // next bit of `data`
        let mut right = size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            let left = right - 1;
            let upward = (right + 1) & 2 == 0;
            let step = if upward { usize::MAX } else { 1 }; // wrapping −1 or +1
            let (wl, sl) = (left / 64, left % 64);
            let (wr, sr) = (right / 64, right % 64);
            let (fl, fr) = (self.func[left], self.func[right]);
            let both: [u64; W] = std::array::from_fn(|w| !(fl[w] | fr[w]) & line_mask(size, w));
            let neither: [u64; W] = std::array::from_fn(|w| fl[w] & fr[w]);
            let mut y = if upward { size - 1 } else { 0 };
            let mut rows_left = size;
            while rows_left > 0 {
                let mut run = ones_from(&both, y, upward).min(rows_left);
                rows_left -= run;
                while run > 0 {
                    let n = run.min(28);
                    let mut window = read(pos);
                    pos += 2 * n;
                    run -= n;
                    let rows = if upward {
                        &mut self.rows[y + 1 - n..=y]
                    } else {
                        &mut self.rows[y..y + n]
                    };
                    y = y.wrapping_add(n.wrapping_mul(step));
                    let mut put = |row: &mut [u64; W]| {
                        // The right module takes the first bit.
                        if wl == wr {
                            row[wl] |= (window >> 62) << sl;
                        } else {
                            row[wr] |= (window >> 63) << sr;
                            row[wl] |= ((window >> 62) & 1) << sl;
                        }
                        window <<= 2;
                    };
                    if upward {
                        rows.iter_mut().rev().for_each(&mut put);
                    } else {
                        rows.iter_mut().for_each(&mut put);
                    }
                }
                if rows_left == 0 {
                    break;
                }
                // Rows of function modules only (finders, timing, alignment patterns).
                let skip = ones_from(&neither, y, upward).min(rows_left);
                y = y.wrapping_add(skip.wrapping_mul(step));
                rows_left -= skip;
                if skip > 0 {
                    continue;
                }
                // A row with one free module.
                for (w, s) in [(wr, sr), (wl, sl)] {
                    if (self.func[y][w] >> s) & 1 == 0 {
                        self.rows[y][w] |= (read(pos) >> 63) << s;
                        pos += 1;
                    }
                }
                y = y.wrapping_add(step);
                rows_left -= 1;
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
    }

    /// The mask with the lowest penalty (ties → lowest number), as the standard prescribes.
    #[inline(never)] // one call per encode: kept out of line, so each is optimised on its own
    fn choose_mask(&self, ecc: Ecc) -> u8 {
        let size = self.size;
        // Data modules: where a mask applies.
        let mut data = [[0u64; W]; R];
        for (d, f) in data[..size].iter_mut().zip(&self.func) {
            for w in 0..W {
                d[w] = !f[w] & line_mask(size, w);
            }
        }
        let mut scratch = penalty::Scratch::<W, R>::new();
        let mut scores = [0u32; 8];
        if W == 1 && size <= penalty::PACKED_MAX {
            // Two masks at a time, one in each half of the row words: the rows and data
            // modules repeated in the high half, the two patterns and format lines side by side.
            let mut rows = [[0u64; W]; R];
            for ((r, d), row) in rows[..size]
                .iter_mut()
                .zip(&mut data[..size])
                .zip(&self.rows)
            {
                r[0] = row[0] | row[0] << 32;
                d[0] |= d[0] << 32;
            }
            let base = penalty::Symbol {
                rows: &rows[..size],
                data: &data[..size],
            };
            for pair in 0..4 {
                let (a, b) = (2 * pair, 2 * pair + 1);
                let pattern: [[u64; WORDS]; MASK_PERIOD] = std::array::from_fn(|ph| {
                    [
                        MASK_ROWS[a][ph][0] & 0xFFFF_FFFF | MASK_ROWS[b][ph][0] << 32,
                        0,
                        0,
                    ]
                });
                let (row8a, col8a) = format_lines::<W>(size, format_bits(ecc, a as u8));
                let (row8b, col8b) = format_lines::<W>(size, format_bits(ecc, b as u8));
                let row8 = std::array::from_fn(|w| row8a[w] | row8b[w] << 32);
                let col8 = std::array::from_fn(|w| col8a[w] | col8b[w] << 32);
                let [sa, sb] =
                    penalty::score::<W, true, R>(&base, &pattern, &row8, &col8, &mut scratch);
                (scores[a], scores[b]) = (sa, sb);
            }
        } else {
            let base = penalty::Symbol {
                rows: &self.rows[..size],
                data: &data[..size],
            };
            for (mask, score) in scores.iter_mut().enumerate() {
                let (row8, col8) = format_lines::<W>(size, format_bits(ecc, mask as u8));
                let pattern = &MASK_ROWS[mask];
                *score =
                    penalty::score::<W, false, R>(&base, pattern, &row8, &col8, &mut scratch)[0];
            }
        }
        let mut best = 0;
        for (mask, &score) in scores.iter().enumerate() {
            if score < scores[best] {
                best = mask;
            }
        }
        best as u8
    }

    #[inline(never)] // one call per encode: kept out of line, so each is optimised on its own
    fn finish(self, ecc: Ecc, mask: u8) -> QrMatrix {
        let size = self.size;
        let pattern = &MASK_ROWS[mask as usize];
        let (row8, col8) = format_lines::<W>(size, format_bits(ecc, mask));
        let mut rows = Vec::with_capacity(size);
        for (y, (row, func)) in self.rows[..size].iter().zip(&self.func).enumerate() {
            let m = &pattern[y % MASK_PERIOD];
            let mut line: Line = [0; WORDS];
            for w in 0..W {
                // The mask table covers all 192 columns: keep the bits past `size` clear.
                line[w] = (row[w] ^ (m[w] & !func[w])) & line_mask(size, w);
            }
            line[0] |= ((col8[y / 64] >> (y % 64)) & 1) << 8;
            if y == 8 {
                for w in 0..W {
                    line[w] |= row8[w];
                }
            }
            rows.push(line);
        }
        QrMatrix {
            version: self.version,
            ecc,
            mask,
            size,
            rows,
        }
    }
}

/// How many of the lines `y`, `y ∓ 1`, … (`upward`: decreasing) have their bit set in `bits`.
#[inline]
fn ones_from<const W: usize>(bits: &[u64; W], y: usize, upward: bool) -> usize {
    let mut n = 0;
    let mut y = y;
    loop {
        let (w, s) = (y / 64, (y % 64) as u32);
        if upward {
            // Bits below 0 read as clear.
            let run = (!(bits[w] << (63 - s))).leading_zeros();
            n += run as usize;
            if run <= s || w == 0 {
                return n;
            }
            y -= run as usize;
        } else {
            let run = (!(bits[w] >> s)).trailing_zeros();
            n += run as usize;
            if run < 64 - s || w + 1 == W {
                return n;
            }
            y += run as usize;
        }
    }
}

/// The dark format modules of `format` (15 bits, [`format_bits`]) as two lines: those in row 8
/// and those in column 8 (module (8, 8) is in both), as [`format_positions`] places them. Bit
/// arithmetic rather than a walk of the 30 positions: this runs once per mask.
#[inline]
fn format_lines<const W: usize>(size: usize, format: u32) -> ([u64; W], [u64; W]) {
    let f = u64::from(format);
    // rev bit i = format bit 14 − i
    let rev = u64::from(format.reverse_bits() >> 17);
    let mut row8 = [0u64; W];
    let mut col8 = [0u64; W];
    // Row 8: bits 14..9 at x = 0..5, bit 8 at x = 7, bit 7 at x = 8; bits 7..0 at x = size − 8..
    row8[0] = (rev & 0x3F) | ((rev >> 6) & 3) << 7;
    put_bits(&mut row8, size - 8, 8, (rev >> 7) & 0xFF);
    // Column 8: bits 0..5 at y = 0..5, bits 6 and 7 at y = 7 and 8; bits 8..14 at y = size − 7..
    col8[0] = (f & 0x3F) | ((f >> 6) & 3) << 7;
    put_bits(&mut col8, size - 7, 7, f >> 8);
    (row8, col8)
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
    let mut s = Symbol::<WORDS, MAX_MODULES>::new(version);
    s.draw_function_patterns();
    let mut g = Box::new(Grid::EMPTY);
    g.0.copy_from_slice(&s.func);
    g
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

/// All eight mask patterns repeat every 12 rows and every 12 columns (lcm of 2, 3, 4 and 6).
pub(crate) const MASK_PERIOD: usize = 12;

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

/// `table[m][r]` is mask `m` along a whole row (192 modules) at row `r` modulo
/// [`MASK_PERIOD`].
const fn mask_table() -> [[Line; MASK_PERIOD]; 8] {
    let mut t = [[[0u64; WORDS]; MASK_PERIOD]; 8];
    let mut m = 0;
    while m < 8 {
        let mut r = 0;
        while r < MASK_PERIOD {
            let mut i = 0;
            while i < WORDS * 64 {
                if mask_bit(m, i, r) {
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

pub(crate) static MASK_ROWS: [[Line; MASK_PERIOD]; 8] = mask_table();

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
    fn format_lines_hold_the_format_positions() {
        for v in [1u8, 2, 9, 11, 12, 27, 28, 40] {
            let size = 17 + 4 * v as usize;
            for ecc in [Ecc::L, Ecc::M, Ecc::Q, Ecc::H] {
                for mask in 0..8 {
                    let format = format_bits(ecc, mask);
                    let (row8, col8) = format_lines::<WORDS>(size, format);
                    let mut want_row = [0u64; WORDS];
                    let mut want_col = [0u64; WORDS];
                    for (k, &(x, y)) in format_positions(size).iter().enumerate() {
                        if (format >> (k % 15)) & 1 != 0 {
                            if y == 8 {
                                want_row[x / 64] |= 1 << (x % 64);
                            }
                            if x == 8 {
                                want_col[y / 64] |= 1 << (y % 64);
                            }
                        }
                    }
                    assert_eq!(
                        (row8, col8),
                        (want_row, want_col),
                        "v{v} {ecc:?} mask {mask}"
                    );
                }
            }
        }
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

    fn bit<const W: usize>(line: &[u64; W], x: usize) -> bool {
        (line[x / 64] >> (x % 64)) & 1 != 0
    }

    /// The function patterns drawn module by module from the standard's description.
    fn reference_function_patterns(version: u8) -> (Vec<Vec<bool>>, Vec<Vec<bool>>) {
        let size = 17 + 4 * version as usize;
        let mut dark = vec![vec![false; size]; size];
        let mut func = vec![vec![false; size]; size];
        let mut set = |x: usize, y: usize, d: bool| {
            dark[y][x] = d;
            func[y][x] = true;
        };
        for i in 0..size {
            set(6, i, i % 2 == 0);
            set(i, 6, i % 2 == 0);
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4i32..=4 {
                for dx in -4i32..=4 {
                    let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                    if (0..size as i32).contains(&x) && (0..size as i32).contains(&y) {
                        let ring = dx.abs().max(dy.abs());
                        set(x as usize, y as usize, ring != 2 && ring != 4);
                    }
                }
            }
        }
        let (centres, n) = alignment_centres(version);
        for (i, &cy) in centres[..n].iter().enumerate() {
            for (j, &cx) in centres[..n].iter().enumerate() {
                if (i == 0 && (j == 0 || j == n - 1)) || (i == n - 1 && j == 0) {
                    continue;
                }
                for dy in -2i32..=2 {
                    for dx in -2i32..=2 {
                        let ring = dx.abs().max(dy.abs());
                        set(
                            (cx as i32 + dx) as usize,
                            (cy as i32 + dy) as usize,
                            ring != 1,
                        );
                    }
                }
            }
        }
        for &(x, y) in format_positions(size).iter() {
            set(x, y, false);
        }
        set(8, size - 8, true);
        if version >= 7 {
            let bits = version_bits(version);
            for i in 0..18 {
                let d = (bits >> i) & 1 != 0;
                set(size - 11 + i % 3, i / 3, d);
                set(i / 3, size - 11 + i % 3, d);
            }
        }
        (dark, func)
    }

    fn drawn<const W: usize>(v: u8) -> Symbol<W, MAX_MODULES> {
        let mut s = Symbol::<W, MAX_MODULES>::new(v);
        s.draw_function_patterns();
        s
    }

    #[test]
    fn function_patterns_match_a_module_by_module_drawing() {
        for v in 1..=40u8 {
            let s = drawn::<WORDS>(v);
            let (dark, func) = reference_function_patterns(v);
            for y in 0..s.size {
                for x in 0..s.size {
                    assert_eq!(bit(&s.rows[y], x), dark[y][x], "v{v} ({x}, {y})");
                    assert_eq!(bit(&s.func[y], x), func[y][x], "v{v} ({x}, {y})");
                }
                for w in 0..WORDS {
                    let outside = !line_mask(s.size, w);
                    assert_eq!((s.rows[y][w] | s.func[y][w]) & outside, 0, "v{v} row {y}");
                }
            }
        }
    }

    #[test]
    fn data_modules_fill_exactly_the_codewords() {
        // Non-function modules = codewords × 8 + remainder bits (0..7).
        for v in 1..=40u8 {
            let func = function_modules(v);
            let size = 17 + 4 * v as usize;
            let free: usize = (0..size)
                .map(|y| (0..size).filter(|&x| !func.get(x, y)).count())
                .sum();
            assert_eq!(free, codewords::raw_data_modules(v), "version {v}");
        }
    }

    fn placed<const W: usize>(v: u8, data: &[u8]) -> Symbol<W, MAX_MODULES> {
        let mut s = drawn::<W>(v);
        let mut padded = data.to_vec();
        padded.resize(data.len() + 8, 0);
        s.place(&padded);
        s
    }

    #[test]
    fn placement_follows_the_zigzag_walk() {
        for v in 1..=40u8 {
            let data: Vec<u8> = (0..codewords::raw_data_modules(v) / 8)
                .map(|i| (i * 37 + 11) as u8 ^ (i >> 8) as u8)
                .collect();
            let size = 17 + 4 * v as usize;
            let func = function_modules(v);
            let mut want = vec![vec![false; size]; size];
            let mut i = 0;
            data_modules(size, &func, |x, y| {
                want[y][x] = data.get(i / 8).is_some_and(|b| (b >> (7 - i % 8)) & 1 != 0);
                i += 1;
            });
            let (dark, _) = reference_function_patterns(v);
            let check = |get: &dyn Fn(usize, usize) -> bool, w: usize| {
                for y in 0..size {
                    for x in 0..size {
                        let expect = if func.get(x, y) {
                            dark[y][x]
                        } else {
                            want[y][x]
                        };
                        assert_eq!(get(x, y), expect, "v{v} W{w} ({x}, {y})");
                    }
                }
            };
            match size.div_ceil(64) {
                1 => {
                    let s = placed::<1>(v, &data);
                    check(&|x, y| bit(&s.rows[y], x), 1);
                }
                2 => {
                    let s = placed::<2>(v, &data);
                    check(&|x, y| bit(&s.rows[y], x), 2);
                }
                _ => {}
            }
            let s = placed::<3>(v, &data);
            check(&|x, y| bit(&s.rows[y], x), 3);
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
