//! Mask penalty score (ISO/IEC 18004 §7.8.3, rules N1–N4) on bit-packed lines.
//!
//! The score must equal, point for point, what the reference encoder (`qrcodegen`) computes,
//! or a different mask gets chosen and the symbol differs from every other conformant encoder.
//! The rules as that reference reads them:
//! - N1: each run of ≥ 5 same-coloured modules in a row or column scores 3 + (length − 5).
//! - N2: each 2×2 block of one colour scores 3 (overlapping blocks count separately).
//! - N3: each dark–light–dark–dark–dark–light–dark run sequence in ratio 1:1:3:1:1 (any module
//!   multiple n) with ≥ 4n light on one side and ≥ n light on the other scores 40, once per side
//!   that has the 4n; the area outside the symbol counts as light.
//! - N4: 10 per full 5 % that the dark share deviates from 50 %.
//!
//! Each rule becomes a handful of shifts, ANDs and popcounts per 64 modules, along a row word
//! or, for the columns, across consecutive row words. N3 for n = 1 is a fixed 12-module
//! window; n ≥ 2 needs a dark run of 3n ≥ 6, rare in masked data, so only the starts of such
//! runs are looked at one by one, after word-wide filters (the finders' runs of exactly 7 are
//! the usual ones). Sending every line with a run of ≥ 6 to a module-by-module scan instead
//! took two thirds of the encode time (perf, long deeplink): the finder lines always qualify.
//! The unit tests check the word version against a direct module-by-module transcription of the
//! rules on random matrices.

const N1: u32 = 3;
const N2: u32 = 3;
const N3: u32 = 40;
const N4: u32 = 10;
const _: () = assert!(N1 == 3, "run_points counts N1 runs as L − 2");

/// Line with bit `p` = `v[p + k]` (the line moved `k` places towards index 0); positions past
/// the end read `fill` (0 or !0).
#[inline(always)]
fn ahead<const W: usize>(v: &[u64; W], k: u32, fill: u64) -> [u64; W] {
    std::array::from_fn(|i| {
        let next = if i + 1 < W { v[i + 1] } else { fill };
        (v[i] >> k) | (next << (64 - k))
    })
}

/// Line with bit `p` = `v[p − k]`; positions before the start read `fill` (0 or !0).
#[inline(always)]
fn behind<const W: usize>(v: &[u64; W], k: u32, fill: u64) -> [u64; W] {
    std::array::from_fn(|i| {
        let prev = if i > 0 { v[i - 1] } else { fill };
        (v[i] << k) | (prev >> (64 - k))
    })
}

#[inline(always)]
fn and<const W: usize>(a: &[u64; W], b: &[u64; W]) -> [u64; W] {
    std::array::from_fn(|i| a[i] & b[i])
}

#[inline(always)]
fn popcount<const W: usize>(v: &[u64; W]) -> u32 {
    v.iter().map(|w| w.count_ones()).sum()
}

#[inline(always)]
fn is_zero<const W: usize>(v: &[u64; W]) -> bool {
    v.iter().all(|&w| w == 0)
}

/// Masks of the positions `0..n` of a line.
#[inline(always)]
fn first_bits<const W: usize>(n: usize) -> [u64; W] {
    std::array::from_fn(|w| super::matrix::line_mask(n, w))
}

/// Largest symbol whose lines go two to a word ([`score`] with `P`): two lanes of 32 bits,
/// each line followed by at least 3 light guard bits (version 3 is 29 modules wide).
pub(crate) const PACKED_MAX: usize = 29;

/// Bit positions of the two lanes of a packed word.
const LANE_BITS: u32 = 32;
const LOW_LANE: u64 = (1 << LANE_BITS) - 1;

/// `v`'s positions in every lane: itself, or (packed) also shifted into the high lane.
#[inline(always)]
fn in_lanes<const W: usize, const P: bool>(v: [u64; W]) -> [u64; W] {
    if P { [v[0] | v[0] << LANE_BITS; W] } else { v }
}

/// Lane `lane` of a packed line as a line of its own (bits past the symbol light).
#[inline(always)]
fn lane<const W: usize>(v: &[u64; W], lane: usize) -> [u64; W] {
    std::array::from_fn(|i| {
        if lane == 0 {
            v[i] & LOW_LANE
        } else {
            v[i] >> LANE_BITS
        }
    })
}

/// A sum of popcounts per lane. One lane: `count_ones` per word. Two lanes: the per-byte counts
/// of the SWAR popcount are added up and split by lane once per mask, which costs what one
/// popcount costs for both lanes. A byte gains at most 8 per line and a packed symbol has at
/// most [`PACKED_MAX`] + 2 lines, so no byte overflows.
#[derive(Default, Clone, Copy)]
struct Tally<const P: bool>(u64);

impl<const P: bool> Tally<P> {
    #[inline(always)]
    fn add<const W: usize>(&mut self, v: &[u64; W]) {
        if P {
            let x = v[0];
            let x = x - ((x >> 1) & 0x5555_5555_5555_5555);
            let x = (x & 0x3333_3333_3333_3333) + ((x >> 2) & 0x3333_3333_3333_3333);
            self.0 += (x + (x >> 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        } else {
            self.0 += u64::from(popcount(v));
        }
    }

    fn lanes(self) -> [u32; 2] {
        if P {
            // Bytes into 16-bit fields (each ≤ 8 × 31), then the sum of a lane's two fields.
            let x = (self.0 & 0x00FF_00FF_00FF_00FF) + ((self.0 >> 8) & 0x00FF_00FF_00FF_00FF);
            [
                ((x & 0xFFFF) + ((x >> 16) & 0xFFFF)) as u32,
                ((x >> 32 & 0xFFFF) + (x >> 48)) as u32,
            ]
        } else {
            [self.0 as u32, 0]
        }
    }
}

/// Popcounts of `v` per lane.
#[inline(always)]
fn lane_counts<const W: usize, const P: bool>(v: &[u64; W]) -> [u32; 2] {
    if P {
        [
            (v[0] & LOW_LANE).count_ones(),
            (v[0] >> LANE_BITS).count_ones(),
        ]
    } else {
        [popcount(v), 0]
    }
}

/// An unmasked symbol's rows and its data modules (`data`, where a mask applies). Bits past
/// the symbol are clear in both. Packed (`P` in [`score`]): every row in both lanes.
pub(crate) struct Symbol<'a, const W: usize> {
    pub rows: &'a [[u64; W]],
    pub data: &'a [[u64; W]],
}

/// Light rows kept above the symbol in [`Scratch::rows`], for the vertical windows that look
/// back 4 rows.
const ABOVE: usize = 4;
/// And below it, for those that look ahead 10.
const BELOW: usize = 11;

/// Working lines of [`score`], reused for every mask; `R` ≥ the symbol's size + 15. Every line
/// not written stays 0 (light).
pub(crate) struct Scratch<const W: usize, const R: usize> {
    /// The masked rows, between [`ABOVE`] and [`BELOW`] light rows.
    rows: [[u64; W]; R],
    /// `eq[y]`: modules of row y equal to their right neighbour.
    eq: [[u64; W]; R],
}

impl<const W: usize, const R: usize> Scratch<W, R> {
    pub(crate) fn new() -> Self {
        Scratch {
            rows: [[0; W]; R],
            eq: [[0; W]; R],
        }
    }
}

/// Total penalty of `base` under one mask, or (packed, `P`) under two: `pattern` is the mask
/// pattern along rows (index = row modulo 12; packed, the two masks' in the two lanes),
/// `row8`/`col8` the dark format modules in row 8 and column 8 ([`super::matrix`]'s
/// `format_lines`, in lanes as the pattern). Packed needs `W` = 1, size ≤ [`PACKED_MAX`].
///
/// Three passes over the rows, each with few enough values live to stay in registers (one
/// pass holding everything spilled a third of its instructions to the stack): the first makes
/// each masked row and scores it along the row (N1, N3) and its dark modules (N4); the second
/// takes each row with the one below (N2, the column runs of N1); the third finds the column
/// patterns of N3. The column rules run on the row words, a whole row of columns per word
/// operation, so there is no transposed copy. Every operation is bitwise along the lines or
/// shifts them by at most 2 places past a dark run of ≥ 3 (which no lane's light guard bits
/// let cross into the other lane), except the exact N3 checks, which see one lane at a time.
#[inline(never)] // inlined into the mask loop, the encode measured 74.8 k instead of 48.4 k instructions (short link)
pub(crate) fn score<const W: usize, const P: bool, const R: usize>(
    base: &Symbol<'_, W>,
    pattern: &[[u64; 3]; 12],
    row8: &[u64; W],
    col8: &[u64; W],
    scratch: &mut Scratch<W, R>,
) -> [u32; 2] {
    let size = base.rows.len();
    debug_assert!(!P || (W == 1 && size <= PACKED_MAX));
    debug_assert!(R >= ABOVE + size + BELOW);
    let mut finders = [0u32; 2]; // N3 patterns per lane

    // Along the rows. Outside the symbol is light: the shifts fill with 0.
    let pairs = in_lanes::<W, P>(first_bits::<W>(size - 1)); // x with x + 1 in the symbol
    let col_bit = in_lanes::<W, P>(first_bits::<W>(1))[0];
    let mut row_runs = Tally::<P>::default(); // N1 points
    let mut dark = Tally::<P>::default();
    let mut col8_rest = col8[0]; // W = 1: column 8's format bit of row y at bit 0 of each lane
    let mut phase = 0; // row index modulo 12
    for (y, (line, data)) in base.rows.iter().zip(base.data).enumerate() {
        let pat = &pattern[phase];
        phase = if phase == 11 { 0 } else { phase + 1 };
        let mut d: [u64; W] = std::array::from_fn(|w| line[w] ^ (pat[w] & data[w]));
        if W == 1 {
            d[0] |= (col8_rest & col_bit) << 8;
            col8_rest >>= 1;
        } else {
            d[0] |= ((col8[y / 64] >> (y % 64)) & 1) << 8;
        }
        if y == 8 {
            d = std::array::from_fn(|w| d[w] | row8[w]);
        }
        scratch.rows[ABOVE + y] = d;
        dark.add(&d);
        let d1 = ahead(&d, 1, 0); // d[p + 1]
        let eq: [u64; W] = std::array::from_fn(|i| !(d[i] ^ d1[i]) & pairs[i]);
        scratch.eq[y] = eq;
        row_runs.add(&run_points(&eq));
        finders_in_row::<W, P>(&d, &d1, &mut finders);
    }

    // Down the columns, each row with those below it.
    let (blocks, col_runs) = columns::<W, P, R>(scratch, size);
    let col_finders = column_finders::<W, P, R>(scratch, size);

    // N4, and the sum.
    let cells = (size * size) as i64;
    let (row_runs, col_runs, blocks, dark) = (
        row_runs.lanes(),
        col_runs.lanes(),
        blocks.lanes(),
        dark.lanes(),
    );
    std::array::from_fn(|l| {
        let k = ((i64::from(dark[l]) * 20 - cells * 10).abs() + cells - 1) / cells - 1;
        let finders = finders[l] + col_finders[l];
        row_runs[l] + col_runs[l] + blocks[l] * N2 + finders * N3 + k as u32 * N4
    })
}

/// N3 patterns of one masked row `d` into `count` (per lane); `d1` is `d` moved one place
/// left (d[p + 1]).
#[inline(always)]
fn finders_in_row<const W: usize, const P: bool>(
    d: &[u64; W],
    d1: &[u64; W],
    count: &mut [u32; 2],
) {
    let db = behind(d, 1, 0); // d[p − 1]
    let t3 = and(&and(d, d1), &ahead(d, 2, 0)); // d[p..p+3]
    // n = 1: core 1011101 at p..p+7 with light at p−1 and p+7: an isolated dark module, three
    // dark from p + 2, and another isolated one at p + 6. Outside the finders almost never
    // there in masked data, so the light margins (and their popcounts, ~12 operations each
    // without POPCNT on the baseline x86-64 target) are looked at only when it is.
    let iso: [u64; W] = std::array::from_fn(|i| d[i] & !(db[i] | d1[i]));
    let core = and(&and(&iso, &ahead(&t3, 2, 0)), &ahead(&iso, 6, 0));
    if !is_zero(&core) {
        let l: [u64; W] = std::array::from_fn(|i| !d[i]);
        if P {
            // The margins reach 4 past a lane: each lane sees the other one as light.
            let (lo, hi) = ([LOW_LANE; W], [!LOW_LANE; W]);
            let (l_lo, l_hi) = (or(&l, &lo), or(&l, &hi));
            count[0] += unit_patterns(&l, &l_hi, &and(&core, &lo));
            count[1] += unit_patterns(&l_lo, &l, &and(&core, &hi));
        } else {
            count[0] += unit_patterns(&l, &l, &core);
        }
    }
    // n ≥ 2: the middle run is a dark run of 3n ≥ 6, starting at a dark module after a light
    // one. Rare in masked data; the usual ones are the finders' runs of exactly 7, dropped
    // here word-wide (7 is no multiple of 3), the rest checked one by one.
    let wide: [u64; W] = {
        let t6 = ahead(&t3, 3, 0);
        std::array::from_fn(|i| t3[i] & t6[i] & !db[i])
    };
    if !is_zero(&wide) {
        let l: [u64; W] = std::array::from_fn(|i| !d[i]);
        let d7 = ahead(d, 6, 0);
        let l7 = ahead(&l, 7, !0);
        // A pattern also needs light two before the run (its light run of n ≥ 2, or the
        // outside), and a run of exactly 6 or of 9 or more.
        let lb2 = behind(&l, 2, !0);
        let l6 = ahead(&l, 6, !0);
        let d9 = ahead(&t3, 6, 0);
        let wide: [u64; W] =
            std::array::from_fn(|i| wide[i] & !(d7[i] & l7[i]) & lb2[i] & (l6[i] | d9[i]));
        if !is_zero(&wide) {
            for (l, c) in count.iter_mut().enumerate().take(if P { 2 } else { 1 }) {
                let (d, wide) = if P {
                    (lane(d, l), lane(&wide, l))
                } else {
                    (*d, wide)
                };
                *c += wide_patterns(&d, &wide);
            }
        }
    }
}

#[inline(always)]
fn or<const W: usize>(a: &[u64; W], b: &[u64; W]) -> [u64; W] {
    std::array::from_fn(|i| a[i] | b[i])
}

/// N2 blocks and the N1 points of the columns (per lane), from the masked rows and their `eq`
/// lines as [`score`]'s first pass leaves them in `s`. A run down a column is a run of set
/// bits at one position through consecutive rows' words. Separate loops for these and for
/// [`column_finders`]: one loop holding the values of both spilled a third of its
/// instructions.
#[inline(always)]
fn columns<const W: usize, const P: bool, const R: usize>(
    s: &Scratch<W, R>,
    size: usize,
) -> (Tally<P>, Tally<P>) {
    let valid = in_lanes::<W, P>(first_bits::<W>(size));
    let mut blocks = Tally::<P>::default();
    let mut col_runs = Tally::<P>::default();
    // v[r]: modules of row r equal to the one below. As
    // `run_points` does along a row: e4[k] = v[k..k + 4] all set, and the points of a
    // column are the positions in e4 or one or two after one. Kept for k = r − 1 (p2 =
    // v[k] & v[k + 1]) and before.
    let (mut v_1, mut p2_1, mut p2_2) = ([0u64; W], [0u64; W], [0u64; W]);
    let (mut e4_1, mut e4_2) = ([0u64; W], [0u64; W]);
    for r in 0..size - 1 {
        let (here, below) = (&s.rows[ABOVE + r], &s.rows[ABOVE + r + 1]);
        let v: [u64; W] = std::array::from_fn(|i| !(here[i] ^ below[i]) & valid[i]);
        let v1 = ahead(&v, 1, 0);
        let eq = &s.eq[r];
        blocks.add::<W>(&std::array::from_fn(|i| v[i] & v1[i] & eq[i]));
        let p2 = and(&v_1, &v); // k = r − 1
        let e4 = and(&p2_2, &p2); // k = r − 3
        col_runs.add::<W>(&std::array::from_fn(|i| e4[i] | e4_1[i] | e4_2[i]));
        (e4_2, e4_1) = (e4_1, e4);
        (p2_2, p2_1) = (p2_1, p2);
        v_1 = v;
    }
    // Past the last row everything differs (v = 0): the points one and two after the last e4.
    col_runs.add::<W>(&std::array::from_fn(|i| e4_1[i] | e4_2[i]));
    col_runs.add(&e4_1);
    (blocks, col_runs)
}

/// N3 patterns of the columns (per lane), as [`finders_in_row`] finds them along a row: bit x
/// of the word for row r stands for a pattern starting at (x, r).
#[inline(always)]
fn column_finders<const W: usize, const P: bool, const R: usize>(
    s: &Scratch<W, R>,
    size: usize,
) -> [u32; 2] {
    let mut count = [0u32; 2];
    for r in 0..size {
        let w: &[[u64; W]; ABOVE + BELOW] = s.rows[r..r + ABOVE + BELOW]
            .try_into()
            .expect("the window fits between the padding rows");
        // d(k) is row r + k.
        let d = |k: isize| &w[(ABOVE as isize + k) as usize];
        let core: [u64; W] = std::array::from_fn(|i| {
            d(0)[i]
                & d(2)[i]
                & d(3)[i]
                & d(4)[i]
                & d(6)[i]
                & !(d(-1)[i] | d(1)[i] | d(5)[i] | d(7)[i])
        });
        if !is_zero(&core) {
            let left4: [u64; W] =
                std::array::from_fn(|i| core[i] & !(d(-2)[i] | d(-3)[i] | d(-4)[i]));
            let right4: [u64; W] =
                std::array::from_fn(|i| core[i] & !(d(8)[i] | d(9)[i] | d(10)[i]));
            let (l, rr) = (lane_counts::<W, P>(&left4), lane_counts::<W, P>(&right4));
            count[0] += l[0] + rr[0];
            count[1] += l[1] + rr[1];
        }
        let wide: [u64; W] = std::array::from_fn(|i| {
            d(0)[i] & d(1)[i] & d(2)[i] & d(3)[i] & d(4)[i] & d(5)[i] & !d(-1)[i]
        });
        if !is_zero(&wide) {
            let wide: [u64; W] = std::array::from_fn(|i| {
                let exact7 = d(6)[i] & !d(7)[i];
                let d9 = d(6)[i] & d(7)[i] & d(8)[i];
                wide[i] & !exact7 & !d(-2)[i] & (!d(6)[i] | d9)
            });
            if !is_zero(&wide) {
                wide_columns::<W, P>(&s.rows, size, r, &wide, &mut count);
            }
        }
    }
    count
}

/// N3 patterns with n ≥ 2 whose middle run starts at row `r` of the columns set in `wide`,
/// checked module by module down each such column (the rules of [`wide_patterns`]); `rows`
/// are the masked rows between [`ABOVE`] and [`BELOW`] light rows.
#[inline(never)]
fn wide_columns<const W: usize, const P: bool>(
    rows: &[[u64; W]],
    size: usize,
    r: usize,
    wide: &[u64; W],
    count: &mut [u32; 2],
) {
    for (w, &bits) in wide.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let s = bits.trailing_zeros();
            bits &= bits - 1;
            // Rows outside the symbol are light.
            let dark = |y: isize| {
                (0..size as isize).contains(&y) && (rows[ABOVE + y as usize][w] >> s) & 1 != 0
            };
            let all = |from: isize, k: isize, want: bool| (from..from + k).all(|y| dark(y) == want);
            let p = r as isize;
            let len = (p..size as isize).take_while(|&y| dark(y)).count() as isize;
            if len % 3 != 0 {
                continue;
            }
            let n = len / 3;
            let start = p - 2 * n; // first dark module of the pattern
            let end = p + len + 2 * n; // first module after it
            let exact = all(start, n, true)
                && all(p - n, n, false)
                && all(p + len, n, false)
                && all(p + len + n, n, true);
            if exact {
                let l = usize::from(P && s >= LANE_BITS);
                count[l] += u32::from(all(start - 4 * n, 4 * n, false) && all(end, n, false));
                count[l] += u32::from(all(start - n, n, false) && all(end, 4 * n, false));
            }
        }
    }
}

/// N1 points of one line: `eq[x]` = module x equals module x+1. A run of length L ≥ 5 has
/// L − 4 positions where four consecutive eq bits start and scores L − 2 (N1 = 3 plus L − 5):
/// those L − 4 positions and the two after them. Two runs' sets never touch (a run's last
/// four positions start no four equal pairs), so one popcount counts the line.
#[inline(always)]
fn run_points<const W: usize>(eq: &[u64; W]) -> [u64; W] {
    let e2 = and(eq, &ahead(eq, 1, 0));
    let e4 = and(&e2, &ahead(&e2, 2, 0));
    let b1 = behind(&e4, 1, 0);
    let b2 = behind(&e4, 2, 0);
    std::array::from_fn(|i| e4[i] | b1[i] | b2[i])
}

/// N3 pattern count of one line `d` (one lane), as [`score`] counts a row.
#[cfg(test)]
fn finder_count<const W: usize>(d: &[u64; W]) -> u32 {
    let mut count = [0; 2];
    finders_in_row::<W, false>(d, &ahead(d, 1, 0), &mut count);
    count[0]
}

/// N3 patterns with n = 1 whose core 1011101 (light on both sides) starts at a bit of `core`:
/// one for 3 more light modules before it (4 in all), one for 3 more after it. The light
/// modules are read from `before` and `after` (the same line but for packed lanes).
#[inline(always)]
fn unit_patterns<const W: usize>(before: &[u64; W], after: &[u64; W], core: &[u64; W]) -> u32 {
    let l = after;
    let l3 = and(&and(l, &ahead(l, 1, !0)), &ahead(l, 2, !0)); // l[p..p+3]
    // Light at p−4..p−1: a window looking back, so that moving it reads the outside only
    // where the whole window is outside.
    let l = before;
    let lb3 = and(&and(l, &behind(l, 1, !0)), &behind(l, 2, !0)); // l[p−2..=p]
    let left4 = and(core, &behind(&lb3, 2, !0));
    let right4 = and(core, &ahead(&l3, 8, !0));
    popcount(&left4) + popcount(&right4)
}

/// N3 patterns with n ≥ 2 whose middle run starts at one of the bits of `wide`.
#[inline(never)]
fn wide_patterns<const W: usize>(d: &[u64; W], wide: &[u64; W]) -> u32 {
    let mut count = 0;
    for (w, &bits) in wide.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let p = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let len = run_end(d, p) - p;
            if !len.is_multiple_of(3) {
                continue;
            }
            let n = len / 3;
            let (p, n, len) = (p as isize, n as isize, len as isize);
            let start = p - 2 * n; // first dark module of the pattern
            let end = p + len + 2 * n; // first module after it
            // Runs n dark, n light, [3n dark], n light, n dark; the dark ones are bounded by
            // the light checks below, the light ones by the dark runs.
            let exact = dark_count(d, start, n) == n
                && dark_count(d, p - n, n) == 0
                && dark_count(d, p + len, n) == 0
                && dark_count(d, p + len + n, n) == n;
            if !exact {
                continue;
            }
            let light = |from: isize, k: isize| dark_count(d, from, k) == 0;
            count += u32::from(light(start - 4 * n, 4 * n) && light(end, n));
            count += u32::from(light(start - n, n) && light(end, 4 * n));
        }
    }
    count
}

/// Dark modules among positions `from..from + len`; positions outside the line are light.
fn dark_count<const W: usize>(d: &[u64; W], from: isize, len: isize) -> isize {
    let lo = from.max(0) as usize;
    let hi = ((from + len).max(0) as usize).min(W * 64);
    let mut c = 0;
    let mut x = lo;
    while x < hi {
        let w = x / 64;
        let upto = hi.min(w * 64 + 64);
        let width = upto - x;
        let mask = if width == 64 {
            !0
        } else {
            ((1u64 << width) - 1) << (x % 64)
        };
        c += (d[w] & mask).count_ones() as isize;
        x = upto;
    }
    c
}

/// First light position at or after dark position `p`.
fn run_end<const W: usize>(d: &[u64; W], p: usize) -> usize {
    let mut w = p / 64;
    let mut bits = !d[w] & (!0u64 << (p % 64));
    loop {
        if bits != 0 {
            return w * 64 + bits.trailing_zeros() as usize;
        }
        w += 1;
        if w == W {
            return W * 64;
        }
        bits = !d[w];
    }
}

/// Exact N3 pattern count of one line by its run lengths, for any module multiple n — the
/// reference's own procedure, kept as the oracle for the word version. `d` has bit `x` =
/// module `x` dark; the area outside `0..size` is light.
#[cfg(test)]
fn finder_runs_scalar<const W: usize>(d: &[u64; W], size: usize) -> u32 {
    // history[0] is the latest finished run; runs alternate colour. The outside light is
    // modelled by adding `size` (more than any 4n) to the first and last light runs.
    let mut history = [0usize; 7];
    let push = |history: &mut [usize; 7], len: usize| {
        let len = if history[0] == 0 { len + size } else { len };
        history.copy_within(0..6, 1);
        history[0] = len;
    };
    let patterns = |h: &[usize; 7]| -> u32 {
        let n = h[1];
        let core = n > 0 && h[2] == n && h[3] == n * 3 && h[4] == n && h[5] == n;
        u32::from(core && h[0] >= n * 4 && h[6] >= n)
            + u32::from(core && h[6] >= n * 4 && h[0] >= n)
    };
    let mut count = 0;
    let mut dark = false;
    let mut run = 0;
    for x in 0..size {
        let here = (d[x / 64] >> (x % 64)) & 1 != 0;
        if here == dark {
            run += 1;
        } else {
            push(&mut history, run);
            if !dark {
                count += patterns(&history);
            }
            dark = here;
            run = 1;
        }
    }
    if dark {
        push(&mut history, run);
        run = 0;
    }
    push(&mut history, run + size);
    count + patterns(&history)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules transcribed module by module (the reference encoder's reading), on a
    /// `Vec<Vec<bool>>` indexed `[y][x]`.
    fn reference(m: &[Vec<bool>]) -> u32 {
        let size = m.len();
        let mut total = 0;
        let line_n1 = |line: &[bool]| {
            let mut s = 0;
            let mut run = 1;
            for x in 1..=line.len() {
                if x < line.len() && line[x] == line[x - 1] {
                    run += 1;
                } else {
                    if run >= 5 {
                        s += N1 + (run - 5);
                    }
                    run = 1;
                }
            }
            s
        };
        let to_words = |line: &[bool]| {
            let mut w = [0u64; 3];
            for (x, &b) in line.iter().enumerate() {
                if b {
                    w[x / 64] |= 1 << (x % 64);
                }
            }
            w
        };
        for (y, row) in m.iter().enumerate() {
            let row: Vec<bool> = row.clone();
            let col: Vec<bool> = (0..size).map(|x| m[x][y]).collect();
            for line in [row, col] {
                total += line_n1(&line);
                total += finder_runs_scalar(&to_words(&line), size) * N3;
            }
        }
        for y in 0..size - 1 {
            for x in 0..size - 1 {
                let c = m[y][x];
                if c == m[y][x + 1] && c == m[y + 1][x] && c == m[y + 1][x + 1] {
                    total += N2;
                }
            }
        }
        let dark = m.iter().flatten().filter(|&&b| b).count() as i64;
        let cells = (size * size) as i64;
        let k = ((dark * 20 - cells * 10).abs() + cells - 1) / cells - 1;
        total + k as u32 * N4
    }

    /// Direct per-module finder-like pattern count for n = 1, for checking the scalar scan.
    fn finder_windows(line: &[bool]) -> u32 {
        let size = line.len() as i64;
        let at = |p: i64| p >= 0 && p < size && line[p as usize];
        let mut count = 0;
        for p in 0..size {
            let core = [true, false, true, true, true, false, true]
                .iter()
                .enumerate()
                .all(|(i, &want)| at(p + i as i64) == want);
            if core && !at(p - 1) && !at(p + 7) {
                count += u32::from((2..=4).all(|k| !at(p - k)));
                count += u32::from((8..=10).all(|k| !at(p + k)));
            }
        }
        count
    }

    fn score_of(m: &[Vec<bool>]) -> u32 {
        let size = m.len();
        let mut rows = vec![[0u64; 3]; size];
        let mut cols = vec![[0u64; 3]; size];
        for y in 0..size {
            for x in 0..size {
                if m[y][x] {
                    rows[y][x / 64] |= 1 << (x % 64);
                    cols[x][y / 64] |= 1 << (y % 64);
                }
            }
        }
        match size.div_ceil(64) {
            1 => {
                let r: Vec<[u64; 1]> = rows.iter().map(|l| [l[0]]).collect();
                let c: Vec<[u64; 1]> = cols.iter().map(|l| [l[0]]).collect();
                unmasked::<1>(&r, &c)
            }
            2 => {
                let r: Vec<[u64; 2]> = rows.iter().map(|l| [l[0], l[1]]).collect();
                let c: Vec<[u64; 2]> = cols.iter().map(|l| [l[0], l[1]]).collect();
                unmasked::<2>(&r, &c)
            }
            _ => unmasked::<3>(&rows, &cols),
        }
    }

    /// [`score`] of the symbol as given: no data modules, so no mask applies, and no format.
    fn unmasked<const W: usize>(rows: &[[u64; W]], _cols: &[[u64; W]]) -> u32 {
        let data = vec![[0u64; W]; rows.len()];
        let base = Symbol { rows, data: &data };
        let none = [[0u64; 3]; 12];
        let mut scratch = Box::new(Scratch::<W, 192>::new());
        score::<W, false, 192>(&base, &none, &[0; W], &[0; W], &mut scratch)[0]
    }

    /// [`score`] of two symbols of one size (≤ [`PACKED_MAX`]) in the two lanes of a word.
    fn packed(a: &[Vec<bool>], b: &[Vec<bool>]) -> [u32; 2] {
        let rows: Vec<[u64; 1]> = a
            .iter()
            .zip(b)
            .map(|(ra, rb)| {
                let mut w = 0u64;
                for x in 0..ra.len() {
                    w |= u64::from(ra[x]) << x | u64::from(rb[x]) << (x + 32);
                }
                [w]
            })
            .collect();
        let data = vec![[0u64; 1]; rows.len()];
        let base = Symbol {
            rows: &rows,
            data: &data,
        };
        let none = [[0u64; 3]; 12];
        let mut scratch = Scratch::<1, 80>::new();
        score::<1, true, 80>(&base, &none, &[0], &[0], &mut scratch)
    }

    /// Small deterministic generator (xorshift) so the tests need no extra dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Random matrix with long runs and scaled finder patterns planted so every rule fires.
    fn random_matrix(rng: &mut Rng, size: usize) -> Vec<Vec<bool>> {
        let bias = rng.next() % 4;
        let mut m: Vec<Vec<bool>> = (0..size)
            .map(|_| {
                (0..size)
                    .map(|_| match bias {
                        0 => rng.next().is_multiple_of(2),
                        1 => rng.next().is_multiple_of(5),
                        _ => !rng.next().is_multiple_of(7),
                    })
                    .collect()
            })
            .collect();
        for _ in 0..rng.next() % 6 {
            let n = 1 + (rng.next() % 4) as usize;
            let pattern = [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0];
            let len = pattern.len() * n;
            if len > size {
                continue;
            }
            let start = (rng.next() as usize) % (size - len + 1);
            let y = (rng.next() as usize) % size;
            let vertical = rng.next().is_multiple_of(2);
            for (i, &b) in pattern.iter().enumerate() {
                for k in 0..n {
                    let p = start + i * n + k;
                    if vertical {
                        m[p][y] = b == 1;
                    } else {
                        m[y][p] = b == 1;
                    }
                }
            }
        }
        m
    }

    #[test]
    fn scalar_finder_scan_agrees_with_windows_for_unit_patterns() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let size = 21 + (rng.next() % 40) as usize;
            let line: Vec<bool> = (0..size).map(|_| !rng.next().is_multiple_of(3)).collect();
            let mut w = [0u64; 3];
            for (x, &b) in line.iter().enumerate() {
                if b {
                    w[x / 64] |= 1 << (x % 64);
                }
            }
            // With no dark run ≥ 6 only n = 1 patterns exist.
            if line.windows(6).any(|s| s.iter().all(|&b| b)) {
                continue;
            }
            assert_eq!(
                finder_runs_scalar(&w, size),
                finder_windows(&line),
                "{line:?}"
            );
        }
    }

    #[test]
    fn word_finder_count_equals_run_scan() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for case in 0..20000 {
            let size = 21 + (rng.next() % 157) as usize;
            let m = random_matrix(&mut rng, size);
            let line = &m[(rng.next() as usize) % size];
            let mut w = [0u64; 3];
            for (x, &b) in line.iter().enumerate() {
                if b {
                    w[x / 64] |= 1 << (x % 64);
                }
            }
            assert_eq!(
                finder_count(&w),
                finder_runs_scalar(&w, size),
                "case {case} size {size}: {}",
                line.iter()
                    .map(|&b| if b { '#' } else { '.' })
                    .collect::<String>()
            );
        }
    }

    #[test]
    fn word_score_equals_module_reference() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for case in 0..400 {
            // Every symbol size class: one, two and three words per line, and the edges.
            let size = match case % 5 {
                0 => 21,
                1 => 17 + 4 * (1 + (rng.next() % 11) as usize),
                2 => 64,
                3 => 17 + 4 * (12 + (rng.next() % 16) as usize),
                _ => 17 + 4 * (28 + (rng.next() % 13) as usize),
            };
            let m = random_matrix(&mut rng, size);
            assert_eq!(score_of(&m), reference(&m), "case {case}, size {size}");
        }
    }

    #[test]
    fn packed_lanes_score_like_single_symbols() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        for case in 0..400 {
            let size = [21, 25, 29][case % 3];
            let (a, b) = (random_matrix(&mut rng, size), random_matrix(&mut rng, size));
            assert_eq!(
                packed(&a, &b),
                [reference(&a), reference(&b)],
                "case {case}, size {size}"
            );
        }
    }
}
