//! The styled writer's rows into tokens. A distinct pixel row of a stamped raster differs from
//! the row above in a few bytes (the anti-aliased ends of round corners moving by a pixel), and
//! the writer knows which bytes it rewrote: such a row goes out as copies of the row above and
//! literals for the bytes that differ, found by comparing only the rewritten bytes. A row that
//! differs in many bytes (a module row's first pixel row, a logo's) goes to the shared row
//! matcher ([`crate::render::lz`]), whose search finds the same bytes elsewhere; rows coded
//! here are still handed to it, so its later rows compare with them and copy from them. A row
//! equal to an earlier distinct row (the lower half of a band of dots mirrors its upper half)
//! is one copy of it, found by the Adler-32 sums kept anyway. See `../PERFORMANCE.md`, item 5.

use crate::render::deflate::{Tokens, WINDOW, common_prefix, dist_extra_bits};
use crate::render::lz::Matcher;
use crate::render::png::Adler;

/// A row differing from the row above in more bytes than this is searched by the matcher.
/// Measured (callgrind, 800 px, short rounded / dots): 16 → 8.24 M / 16.10 M instructions,
/// 14 502 / 16 697 B; 32 → 6.79 M / 13.08 M, 14 906 / 19 953 B; 64 → 6.49 M / 10.36 M,
/// 15 102 / 24 527 B; never → 6.14 M / 9.07 M, 16 088 / 27 312 B.
const SEARCH_FROM: usize = 32;
/// Equal bytes between two differing ones that join them into one literal run: a copy is at
/// least 3 bytes.
const JOIN: usize = 3;

/// Bytes hashed at a run start to find an earlier run of the same bytes.
const KEY: usize = 4;
const STARTS_BITS: u32 = 8;
/// Rows found by their sums: a table of 2^SUMS_BITS, the newest row per slot.
const SUMS_BITS: u32 = 9;
const NO_ROW: u32 = u32::MAX;
/// Estimated bits of an edge byte's literal (a few dozen distinct ones), of a copy from the
/// row above (distance one row: 7 extra bits) and of a copy's symbols without extra bits.
const LITERAL: isize = 6;
const ABOVE: isize = 19;
const COPY: isize = 12;

/// Rows in, tokens out; see the module doc.
pub(crate) struct RowCoder {
    /// Holds the rows handed over; the last one is the row above the next.
    matcher: Matcher,
    /// Byte columns `[lo, hi)` rewritten since the last row handed over, in any order.
    touched: Vec<(usize, usize)>,
    /// The bytes of the current row that differ from the row above, as runs `[lo, hi)` joined
    /// across fewer than [`JOIN`] equal bytes.
    differ: Vec<(usize, usize)>,
    /// The Adler-32 sums of the last row (s = Σ rᵢ, w = Σ (n − i)·rᵢ, see [`Adler::rows`]),
    /// kept up to date byte by byte as rows differ: only the first row is summed whole.
    sum: u64,
    weighted: u64,
    /// The newest distinct row per hash of its Adler-32 sums: (s, w, row), the row as the
    /// matcher numbers it (it holds the rows).
    by_sums: Vec<(u64, u64, u32)>,
    /// The newest run start of the current row per hash of the [`KEY`] bytes there, tagged
    /// with the row's `generation` (no clearing per row).
    starts: [(u32, u32); 1 << STARTS_BITS],
    generation: u32,
}

impl RowCoder {
    /// A coder for rows of `stride` bytes, at most `rows` distinct ones.
    pub fn new(stride: usize, rows: usize) -> RowCoder {
        RowCoder {
            matcher: Matcher::new(stride, rows),
            touched: Vec::with_capacity(64),
            differ: Vec::with_capacity(64),
            sum: 0,
            weighted: 0,
            by_sums: vec![(0, 0, NO_ROW); 1 << SUMS_BITS],
            starts: [(0, 0); 1 << STARTS_BITS],
            generation: 0,
        }
    }

    /// Notes that the writer rewrote byte columns `[lo, hi)` of the row it hands over next.
    #[inline]
    pub fn touched(&mut self, lo: usize, hi: usize) {
        self.touched.push((lo, hi));
    }

    /// Codes `row` followed by `count - 1` copies of it, and feeds them to `adler`: it equals
    /// the row handed over before outside the [`RowCoder::touched`] columns.
    pub fn row(&mut self, tokens: &mut Tokens, adler: &mut Adler, row: &[u8], count: usize) {
        let n = row.len();
        self.touched.sort_unstable();
        let differing = self.differ(row);
        debug_assert_eq!(
            (self.sum, self.weighted),
            sums(row),
            "touched {:?}",
            self.touched
        );
        adler.sums(n, self.sum, self.weighted, count);
        let r = self.matcher.rows_held();
        self.matcher.next_row().copy_from_slice(row);
        if let Some(d) = self.same_row(row) {
            // a whole earlier row: the lower half of a band of symmetric stamps (dots) mirrors
            // its upper half
            self.matcher.coded(count);
            tokens.copy(d, n);
            if count > 1 {
                tokens.copy(n, (count - 1) * n);
            }
        } else if r == 0 || differing > SEARCH_FROM {
            // the first row has no row above to be coded against
            self.matcher.tokenize(tokens, count);
        } else {
            self.matcher.coded(count);
            self.delta(tokens, row);
            if count > 1 {
                tokens.copy(n, (count - 1) * n);
            }
        }
        // for `same_row` to find it again
        let slot = self.sums_slot();
        self.by_sums[slot] = (self.sum, self.weighted, r as u32);
        self.touched.clear();
    }

    /// The distance back to an earlier distinct row equal to `row` within the window, found
    /// by its Adler-32 sums (kept up to date anyway) and checked byte by byte.
    fn same_row(&self, row: &[u8]) -> Option<usize> {
        let (s, w, r) = self.by_sums[self.sums_slot()];
        if (s, w) != (self.sum, self.weighted) || r == NO_ROW {
            return None;
        }
        let (d, earlier) = self.matcher.earlier_row(r as usize);
        (d <= WINDOW && earlier == row).then_some(d)
    }

    fn sums_slot(&self) -> usize {
        let h = (self.sum ^ self.weighted.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> (64 - SUMS_BITS)) as usize
    }

    /// Codes `row` from its differing runs: the bytes between them copy the row above; a run
    /// is literals, or a copy from an earlier run of this row whose bytes it repeats (the same
    /// stamp row at the same pixel phase), taken as far as the bytes agree when that saves
    /// bits over the literals and copies from above it replaces.
    fn delta(&mut self, tokens: &mut Tokens, row: &[u8]) {
        let n = row.len();
        self.generation = self.generation.wrapping_add(1);
        let mut i = 0;
        let mut k = 0;
        while k < self.differ.len() {
            let (lo, hi) = self.differ[k];
            let a = lo.max(i);
            k += 1;
            if a >= hi {
                continue;
            }
            copy_above(tokens, row, i, a);
            if let Some((d, len)) = self.earlier(row, a) {
                let end = a + len;
                // what the copy replaces: the literals of the runs it covers and the copies
                // from above between them
                let mut without = LITERAL * (hi.min(end) - a) as isize;
                let mut j = k;
                while j < self.differ.len() && self.differ[j].0 < end {
                    let (l, h) = self.differ[j];
                    without += ABOVE + LITERAL * (h.min(end) - l) as isize;
                    j += 1;
                }
                if without > COPY + dist_extra_bits(d) as isize {
                    // runs it covers are skipped; one it ends inside (this one too) goes on
                    // after it
                    tokens.copy(d, len);
                    i = end;
                    if end < hi {
                        k -= 1;
                    }
                    continue;
                }
            }
            for &b in &row[a..hi] {
                tokens.literal(b);
            }
            i = hi;
        }
        copy_above(tokens, row, i, n);
    }

    /// The nearest earlier run start of the current row whose bytes from there repeat those
    /// from `a` on: its distance and how many bytes agree (at least [`KEY`]). Notes `a`.
    #[inline]
    fn earlier(&mut self, row: &[u8], a: usize) -> Option<(usize, usize)> {
        let key = u32::from_le_bytes(row.get(a..a + KEY)?.try_into().expect("4 bytes"));
        let h = (key.wrapping_mul(0x9E37_79B1) >> (32 - STARTS_BITS)) as usize;
        let (generation, p) = std::mem::replace(&mut self.starts[h], (self.generation, a as u32));
        let p = p as usize;
        if generation != self.generation || row[p..p + KEY] != row[a..a + KEY] {
            return None;
        }
        Some((a - p, KEY + common_prefix(&row[a + KEY..], &row[p + KEY..])))
    }

    /// Fills `differ` with the runs of `row`'s touched bytes that differ from the row above,
    /// brings the row's Adler-32 sums up to date from them, and returns how many bytes they
    /// hold. The first row (no row above, and searched by the matcher) is summed whole.
    fn differ(&mut self, row: &[u8]) -> usize {
        self.differ.clear();
        let held = self.matcher.rows_held();
        if held == 0 {
            (self.sum, self.weighted) = sums(row);
            return row.len();
        }
        let (_, prev) = self.matcher.earlier_row(held - 1);
        let mut total = 0;
        let mut open: Option<(usize, usize)> = None;
        let mut from = 0;
        for &(lo, hi) in &self.touched {
            // touched spans may overlap (a packed byte shared by two pixel spans)
            for i in lo.max(from)..hi {
                let (new, old) = (row[i], prev[i]);
                if new == old {
                    continue;
                }
                total += 1;
                // wrapping: the sums of the whole row are never negative
                let delta = u64::from(new).wrapping_sub(u64::from(old));
                self.sum = self.sum.wrapping_add(delta);
                let weight = (row.len() - i) as u64;
                self.weighted = self.weighted.wrapping_add(weight.wrapping_mul(delta));
                open = match open {
                    Some((a, b)) if i < b + JOIN => Some((a, i + 1)),
                    Some(run) => {
                        self.differ.push(run);
                        Some((i, i + 1))
                    }
                    None => Some((i, i + 1)),
                };
            }
            from = from.max(hi);
        }
        self.differ.extend(open);
        total
    }
}

/// The Adler-32 sums of `row`: s = Σ rᵢ, w = Σ (n − i)·rᵢ.
fn sums(row: &[u8]) -> (u64, u64) {
    let n = row.len();
    row.iter().enumerate().fold((0, 0), |(s, w), (i, &r)| {
        (s + u64::from(r), w + (n - i) as u64 * u64::from(r))
    })
}

/// Columns `[from, to)` of `row` as a copy of the row above (distance one row): literals when
/// too short for a match of their own.
#[inline]
fn copy_above(tokens: &mut Tokens, row: &[u8], from: usize, to: usize) {
    let n = row.len();
    if to <= from {
        return;
    }
    if to - from >= 3 || tokens.pending_distance() == n {
        tokens.copy(n, to - from);
    } else {
        for &b in &row[from..to] {
            tokens.literal(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::png::{data_and_end, signature_and_ihdr};

    /// Rows that change a few bytes at a time (runs that repeat earlier in the row, rows
    /// equal to earlier ones, now and then a row of many changes) through the coder into an
    /// 8-bit greyscale PNG: the decoded rows and the Adler-32 must be the rows given.
    #[test]
    fn tokens_and_sums_rebuild_the_rows() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for stride in [9usize, 64, 201] {
            let mut coder = RowCoder::new(stride, 300);
            let (mut tokens, mut adler) = (Tokens::with_capacity(4096), Adler::new());
            let mut row = vec![0u8; stride];
            let mut history: Vec<Vec<u8>> = Vec::new();
            let mut want = Vec::new();
            let mut height = 0;
            for y in 0..300 {
                let many = y == 0 || rnd() % 16 == 0;
                if let Some(old) = (rnd() % 8 == 0).then_some(history.len()).filter(|&h| h > 2) {
                    // an earlier row again
                    let old = history[old - 1 - (rnd() as usize) % 2].clone();
                    row.copy_from_slice(&old);
                    coder.touched(1, stride);
                } else {
                    for _ in 0..if many { stride } else { 1 + rnd() as usize % 4 } {
                        let lo = 1 + rnd() as usize % (stride - 1);
                        let hi = (lo + 1 + rnd() as usize % 6).min(stride);
                        for x in lo..hi {
                            // a pattern that recurs along the row, so runs copy earlier ones
                            row[x] = [0x00, 0xFF, 0x3C, 0x81][(x + (rnd() % 2) as usize) % 4];
                        }
                        coder.touched(lo, hi);
                    }
                }
                let count = 1 + (rnd() % 3) as usize;
                coder.row(&mut tokens, &mut adler, &row, count);
                for _ in 0..count {
                    want.extend_from_slice(&row[1..]);
                }
                history.push(row.clone());
                height += count;
            }
            let stream: Vec<u8> = want
                .chunks(stride - 1)
                .flat_map(|r| std::iter::once(0).chain(r.iter().copied()))
                .collect();
            let (mut a, mut b) = (1u32, 0u32);
            for &x in &stream {
                a = (a + u32::from(x)) % 65521;
                b = (b + a) % 65521;
            }
            assert_eq!(adler.value(), b << 16 | a, "stride {stride}");
            let mut out = Vec::new();
            signature_and_ihdr(&mut out, [(stride - 1) as u32, height as u32], 8, 0);
            data_and_end(&mut out, &mut tokens, &adler);
            let decoder = ::png::Decoder::new(std::io::Cursor::new(out));
            let mut reader = decoder.read_info().expect("header");
            let mut got = vec![0; reader.output_buffer_size().expect("fits")];
            reader.next_frame(&mut got).expect("decodes");
            assert_eq!(got, want, "stride {stride}");
        }
    }
}
