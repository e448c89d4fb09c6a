//! LZ77 for the plain PNG writer, found on the module grid instead of in the bytes.
//!
//! A plain code's pixel row is a pure function of its module row: a byte is equal to the byte
//! at the same column of another row exactly when every module its 8 pixels touch is equal in
//! both rows, and equal to the byte before exactly when its pixels and the previous byte's all
//! lie in one run of equal modules. So a match length is one bit scan over a module row (a few
//! `u64` words) and two table lookups (byte ↔ module), whatever the pixel size: no byte is
//! compared, hashed or searched. The pixel bytes are only read for literals.
//! See `PERFORMANCE.md` for the measurements.

use super::deflate::{LITERAL_BITS, Tokens, WINDOW, common_prefix, dist_extra_bits};
use super::raster::PixelStarts;

/// Words of a module row with its quiet zone: version 40 (177) plus two 16-module borders.
pub(crate) const LINE_WORDS: usize = 4;
/// A module row, quiet zone included: bit `m % 64` of word `m / 64` is module `m` (1 = dark);
/// bits past the row are 0 (light, like the padding bits of a row's last byte).
pub(crate) type FullLine = [u64; LINE_WORDS];

/// How many of the distinct rows above a new row are offered as same-column sources.
const ABOVE: usize = 6;
/// A match this long is taken without a lazy look one byte on.
const GOOD_MATCH: usize = 6;
/// [`find`]'s answer when no bit is set: one past every module.
const NOWHERE: usize = LINE_WORDS * 64;

/// Tokenizes a plain code's distinct pixel rows, each followed by its repeats.
pub(crate) struct GridMatcher {
    stride: usize,
    /// Words of a module row that hold modules (the rest are 0).
    words: usize,
    /// Per stream column (filter byte = column 0): the module of the byte's first pixel.
    first_mod: Vec<u8>,
    /// Per module `m` (and [`NOWHERE`]): the stream column of the byte holding `m`'s first
    /// pixel, `stride` past the row (the first byte a difference at `m` makes unequal).
    edge_col: Vec<u16>,
    /// The module row of each distinct row so far.
    lines: Vec<FullLine>,
    /// Stream offset of each distinct row's last copy.
    row_at: Vec<usize>,
    /// Stream bytes before the row being tokenized.
    pos: usize,
    /// Every distinct row's bytes back to back, then 8 zero bytes (for the hash's reads).
    rows: Vec<u8>,
    /// Newest entry per hash of the 8 bytes from a run's first byte; entries are
    /// (row << 16 | column), `link` holds each entry's previous one with the same hash.
    head: Vec<u16>,
    entries: Vec<u32>,
    link: Vec<u16>,
}

/// 512 heads of 2 bytes: glibc clears blocks above 2 KiB with `rep stosb`, which callgrind
/// counts per byte.
const HASH_BITS: u32 = 9;
const CHAIN: usize = 8;
const NONE: u16 = u16::MAX;
const SEARCH: bool = true;

impl GridMatcher {
    /// A matcher for `total` modules across drawn at `starts` into rows of `stride` bytes (the
    /// filter byte and 1 bit per pixel), at most `rows` distinct rows.
    pub(crate) fn new(starts: &PixelStarts, total: usize, stride: usize, rows: usize) -> Self {
        let mut first_mod = vec![0u8; stride];
        let mut edge_col = vec![stride as u16; NOWHERE + 1];
        for m in 0..total {
            let (a, b) = (starts.at(m), starts.at(m + 1));
            edge_col[m] = (1 + a / 8) as u16;
            // bytes whose first pixel is in [a, b)
            for col in 1 + a.div_ceil(8)..1 + b.div_ceil(8) {
                first_mod[col] = m as u8;
            }
        }
        // the padding bits past the last pixel: a module of their own, always light
        let end = starts.at(total);
        edge_col[total] = (1 + end / 8) as u16;
        GridMatcher {
            stride,
            words: (total + 1).div_ceil(64),
            first_mod,
            edge_col,
            lines: Vec::with_capacity(rows),
            row_at: Vec::with_capacity(rows),
            pos: 0,
            rows: {
                let mut v = Vec::with_capacity(rows * stride + 8);
                v.extend_from_slice(&[0; 8]);
                v
            },
            head: if SEARCH { vec![NONE; 1 << HASH_BITS] } else { Vec::new() },
            entries: Vec::with_capacity(rows * 16),
            link: Vec::with_capacity(rows * 16),
        }
    }

    /// Bytes from stream column `col` on equal to the same columns of a row whose modules
    /// differ from this one's at the set bits of `diff`.
    #[inline(always)]
    fn same_column(&self, diff: &FullLine, col: usize) -> usize {
        let m = find(diff, self.first_mod[col] as usize, self.words);
        (self.edge_col[m] as usize).saturating_sub(col)
    }

    /// Bytes from stream column `col` (≥ 2) equal to the byte before, given `change` (bit m:
    /// module m differs from module m − 1).
    #[inline(always)]
    fn run(&self, change: &FullLine, col: usize) -> usize {
        let m = find(change, self.first_mod[col - 1] as usize + 1, self.words);
        (self.edge_col[m] as usize).saturating_sub(col)
    }

    /// Tokenizes `row` (the pixel row of the module row `line`) followed by `count - 1`
    /// copies of it. Greedy by estimated bits saved, one step lazy.
    #[inline(never)]
    pub(crate) fn tokenize(&mut self, tokens: &mut Tokens, line: &FullLine, row: &[u8], count: usize) {
        let n = self.stride;
        let cur = self.lines.len();
        let mut diff = [[0u64; LINE_WORDS]; ABOVE];
        let mut dist = [0usize; ABOVE];
        let mut sources = 0;
        for r in (cur.saturating_sub(ABOVE)..cur).rev() {
            let d = self.pos - self.row_at[r];
            if d > WINDOW {
                break;
            }
            for w in 0..LINE_WORDS {
                diff[sources][w] = line[w] ^ self.lines[r][w];
            }
            dist[sources] = d;
            sources += 1;
        }
        let mut change = [0u64; LINE_WORDS];
        let mut carry = 0;
        for w in 0..LINE_WORDS {
            change[w] = line[w] ^ (line[w] << 1 | carry);
            carry = line[w] >> 63;
        }
        // a match's cost in bits besides the literals it replaces, per source
        let mut cost = [0isize; ABOVE];
        for k in 0..sources {
            cost[k] = MATCH_BITS + dist_extra_bits(dist[k]) as isize;
        }
        let base = self.rows.len() - 8;
        let mut run_cols = [0u64; LINE_WORDS];
        if SEARCH {
            self.rows.truncate(base);
            self.rows.extend_from_slice(row);
            self.rows.extend_from_slice(&[0; 8]);
            for w in 0..self.words {
                let mut bits = change[w];
                while bits != 0 {
                    let m = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let c = self.edge_col[m] as usize;
                    if c < n {
                        run_cols[c / 64] |= 1 << (c % 64);
                    }
                }
            }
        }
        let mut x = RowCtx {
            diff,
            dist,
            cost,
            sources,
            change,
            run_cols,
            uninserted: run_cols,
            base,
            cur,
        };
        let mut col = 0;
        while col < n {
            if SEARCH {
                self.insert_below(&mut x, col);
            }
            let Pick { len, dist, gain } = self.best_at(&x, col, tokens.pending_distance());
            // Lazy: a literal here pays if the match one byte on gains more than it costs.
            let defer = len > 0
                && len < GOOD_MATCH
                && col + 1 < n
                && self.best_at(&x, col + 1, 0).gain > gain + LITERAL_BITS;
            if len == 0 || defer {
                tokens.literal(row[col]);
                col += 1;
                continue;
            }
            tokens.copy(dist, len);
            col += len;
        }
        if count > 1 {
            tokens.copy(n, (count - 1) * n);
        }
        if SEARCH {
            self.insert_below(&mut x, n);
        }
        self.pos += count * n;
        self.row_at.push(self.pos - n);
        self.lines.push(*line);
    }

    /// The best match for stream column `col` of the row `x` describes.
    #[inline(always)]
    fn best_at(&self, x: &RowCtx, col: usize, pending: usize) -> Pick {
        let mut best = Pick::default();
        for k in 0..x.sources {
            best.consider(self.same_column(&x.diff[k], col), x.dist[k], x.cost[k], pending);
        }
        if col >= 2 {
            best.consider(self.run(&x.change, col), 1, MATCH_BITS, pending);
        }
        let left = self.stride - col;
        if SEARCH && best.len < GOOD_MATCH.min(left) && x.run_cols[col / 64] >> (col % 64) & 1 == 1
        {
            self.search(x.base + col, left, x.cur, pending, &mut best);
        }
        best
    }

    /// Hashes the runs of the current row that start before column `col` and are not in
    /// the table yet. ≤ 218 run starts in each of ≤ 218 rows: the entries fit a u16 index.
    #[inline(always)]
    #[inline(never)]
    fn insert_below(&mut self, x: &mut RowCtx, col: usize) {
        for w in 0..LINE_WORDS {
            let mut bits = x.uninserted[w];
            while bits != 0 {
                let c = w * 64 + bits.trailing_zeros() as usize;
                if c >= col {
                    return;
                }
                bits &= bits - 1;
                x.uninserted[w] = bits;
                let h = self.hash(x.base + c);
                self.link.push(self.head[h]);
                self.head[h] = self.entries.len() as u16;
                self.entries.push((x.cur as u32) << 16 | c as u32);
            }
        }
    }

    #[inline(always)]
    fn hash(&self, j: usize) -> usize {
        let v = u64::from_le_bytes(self.rows[j..j + 8].try_into().expect("8 bytes"));
        (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HASH_BITS)) as usize
    }

    /// Offers the earlier rows' runs that start with the bytes at `at` in `rows` (`left` of
    /// them in the row) to `best`.
    #[inline(never)]
    fn search(&self, at: usize, left: usize, cur: usize, pending: usize, best: &mut Pick) {
        let n = self.stride;
        let here = &self.rows[at..at + left];
        let mut e = self.head[self.hash(at)];
        let col = at - cur * n;
        for _ in 0..CHAIN {
            if e == NONE {
                break;
            }
            let entry = self.entries[e as usize];
            let (r, c) = ((entry >> 16) as usize, (entry & 0xFFFF) as usize);
            let at_r = if r == cur { self.pos } else { self.row_at[r] };
            let d = self.pos + col - at_r - c;
            if d > WINDOW {
                break;
            }
            let src = &self.rows[r * n + c..];
            if src[best.len] == here[best.len] {
                let len = common_prefix(here, src);
                best.consider(len, d, MATCH_BITS + dist_extra_bits(d) as isize, pending);
                if best.len == left {
                    break;
                }
            }
            e = self.link[e as usize];
        }
    }
}

/// What the matcher knows of the row being tokenized.
struct RowCtx {
    /// Per source row (nearest first): the modules where it differs from this row, its
    /// distance, and its match cost in bits besides the literals a match replaces.
    diff: [FullLine; ABOVE],
    dist: [usize; ABOVE],
    cost: [isize; ABOVE],
    sources: usize,
    /// Bit m: module m differs from module m − 1.
    change: FullLine,
    /// Stream columns of the bytes where a run of modules starts, and those not yet hashed.
    run_cols: [u64; LINE_WORDS],
    uninserted: [u64; LINE_WORDS],
    /// Where the row starts in `rows`, and its index.
    base: usize,
    cur: usize,
}

/// Estimated bits of a match's length and distance codes (see [`super::deflate::match_gain`]).
const MATCH_BITS: isize = 6;

/// The best match so far by estimated bits saved; a later candidate must save strictly more,
/// so the nearer (offered first) wins ties.
#[derive(Default)]
struct Pick {
    len: usize,
    dist: usize,
    gain: isize,
}

impl Pick {
    /// Offers `len` bytes at `dist`, whose codes cost `cost` bits unless they continue the
    /// pending copy (distance `pending`), which costs nothing.
    #[inline(always)]
    fn consider(&mut self, len: usize, dist: usize, cost: isize, pending: usize) {
        let gain = if dist == pending {
            LITERAL_BITS * len as isize
        } else if len >= 3 {
            LITERAL_BITS * len as isize - cost
        } else {
            0
        };
        if gain > self.gain {
            (self.len, self.dist, self.gain) = (len, dist, gain);
        }
    }
}

/// The first set bit of `bits` at or after `from` in its first `words` words, or [`NOWHERE`].
#[inline(always)]
fn find(bits: &FullLine, from: usize, words: usize) -> usize {
    let mut w = from / 64;
    if w >= words {
        return NOWHERE;
    }
    let mut b = bits[w] & (!0u64 << (from % 64));
    loop {
        if b != 0 {
            return w * 64 + b.trailing_zeros() as usize;
        }
        w += 1;
        if w == words {
            return NOWHERE;
        }
        b = bits[w];
    }
}
