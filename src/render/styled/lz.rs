//! LZ77 for the styled PNG's rows: greedy, at each byte the longest of a same-column match in
//! the few distinct rows just above (a stamp's rows repeat its neighbours'), a run of the
//! previous byte, then a hash chain; lazy by one byte. Rows are any width (a 2000 px RGBA row
//! is 8 KB), unlike the plain writer's bit-mask matcher in [`crate::render::png`], which is
//! built for the ≤ 251-byte rows of 1-bit images. This is that writer's previous matcher
//! (RENDERER_VERSION 2), kept here for the styled rows.

use crate::render::deflate::{Best, LITERAL_BITS, Tokens, WINDOW, common_prefix};

/// How many of the distinct rows just above a new row are tried at the same column first: QR
/// rows resemble their neighbours (a module column that keeps its colour is the same bytes).
const ABOVE: usize = 4;
/// A same-column match this long is taken without searching the hash chains. Measured with
/// CHAIN on the styled bench (800 px, rounded): 16/32 gave 13 844 / 20 772 B in 2.58 / 3.32 ms
/// (short / long), 8/8 gives 14 242 / 21 904 B in 2.09 / 2.15 ms, and the long deeplink with
/// a logo 2.91 ms instead of 4.00 (bytes +3–8 %, still within 2× zopflipng; no chain at all
/// only saves another 0.2 ms).
const GOOD_MATCH: usize = 8;
/// Chain entries tried per searched position. Most bytes are `0x00`/`0xFF`, so chains are long
/// and their newest entries the nearest.
const CHAIN: usize = 8;
const HASH_BITS: u32 = 12;
const NONE: u32 = u32::MAX;

/// LZ77 over the distinct pixel rows. They are held back to back in `rows`; in the stream each
/// is followed by its repeats, so a byte of row `r` is `row_at[r]` (its last copy) plus its
/// column, and a match never crosses the end of its source row.
pub(crate) struct Matcher {
    stride: usize,
    rows: Vec<u8>,
    /// Stream offset of each finished row's last copy.
    row_at: Vec<usize>,
    /// Stream bytes before the row being tokenized.
    pos: usize,
    /// Newest position (index into `rows`) per hash of three bytes, and each position's
    /// previous one with the same hash.
    head: Vec<u32>,
    prev: Vec<u32>,
}

impl Matcher {
    pub(crate) fn new(stride: usize, total: usize) -> Matcher {
        Matcher {
            stride,
            rows: vec![0; (total + 1) * stride],
            row_at: Vec::with_capacity(total),
            pos: 0,
            head: vec![NONE; 1 << HASH_BITS],
            prev: vec![NONE; total * stride],
        }
    }

    /// The slot the caller fills with the next distinct row.
    pub(crate) fn next_row(&mut self) -> &mut [u8] {
        let start = self.row_at.len() * self.stride;
        &mut self.rows[start..start + self.stride]
    }

    #[inline]
    fn hash(&self, j: usize) -> usize {
        let r = &self.rows[j..j + 3];
        let v = u32::from(r[0]) | u32::from(r[1]) << 8 | u32::from(r[2]) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    fn insert(&mut self, j: usize) {
        let h = self.hash(j);
        self.prev[j] = self.head[h];
        self.head[h] = j as u32;
    }

    /// Tokenizes the row in the `next_row` slot followed by `count - 1` copies of it. Greedy:
    /// at each byte the longest match found (same column of the rows just above, a run of the
    /// previous byte, then the hash chain), else a literal.
    pub(crate) fn tokenize(&mut self, tokens: &mut Tokens, count: usize) {
        let n = self.stride;
        let cur = self.row_at.len();
        let base = cur * n;
        let mut i = 0;
        while i < n {
            let Best {
                len: best,
                dist,
                gain,
                ..
            } = self.longest(cur, i, tokens.pending_distance());
            // Lazy: a literal here pays if the match one byte on gains more than it costs.
            let defer = best > 0 && best < GOOD_MATCH && i + 1 < n && i + 3 <= n && {
                self.insert(base + i);
                // after a literal no copy is pending
                let next = self.longest(cur, i + 1, 0);
                next.gain > gain + LITERAL_BITS
            };
            if best == 0 || defer {
                tokens.literal(self.rows[base + i]);
                if i + 3 <= n && !defer {
                    self.insert(base + i);
                }
                i += 1;
                continue;
            }
            let first = if i + 3 <= n && best < GOOD_MATCH && i + 1 < n {
                i + 1 // position i went in for the lazy look
            } else {
                i
            };
            for k in first..(i + best).min(n.saturating_sub(2)) {
                self.insert(base + k);
            }
            i += best;
            tokens.copy(dist, best);
        }
        if count > 1 {
            // the repeats copy the row above; `Tokens` merges this with a copy from the row
            // above that ended the row and one that starts the next row
            tokens.copy(n, (count - 1) * n);
        }
        self.finish(count);
    }

    /// The longest match (length, distance) for column `i` of row `cur`; nearer wins ties.
    /// `pending` is the distance of the copy the last token continues (0: none).
    fn longest(&self, cur: usize, i: usize, pending: usize) -> Best {
        let n = self.stride;
        let base = cur * n;
        let here = &self.rows[base + i..base + n];
        let mut best = Best {
            pending,
            ..Best::default()
        };
        for r in (cur.saturating_sub(ABOVE)..cur).rev() {
            let d = self.pos - self.row_at[r];
            if d > WINDOW {
                break;
            }
            best.consider(common_prefix(here, &self.rows[r * n + i..r * n + n]), d);
        }
        if i > 0 {
            let prev = self.rows[base + i - 1];
            best.consider(here.iter().take_while(|&&b| b == prev).count(), 1);
        }
        if best.len >= GOOD_MATCH || best.len == here.len() || here.len() < 3 {
            return best;
        }
        let mut j = self.head[self.hash(base + i)];
        for _ in 0..CHAIN {
            if j == NONE {
                break;
            }
            let jj = j as usize;
            let (r, col) = (jj / n, jj % n);
            let at = if r == cur { self.pos } else { self.row_at[r] } + col;
            let d = self.pos + i - at;
            if d > WINDOW {
                break;
            }
            let end = if r == cur { base + n } else { r * n + n };
            best.consider(common_prefix(here, &self.rows[jj..end]), d);
            j = self.prev[jj];
        }
        best
    }

    /// Closes the row just tokenized: its last copy is the stream's last `stride` bytes.
    fn finish(&mut self, count: usize) {
        self.pos += count * self.stride;
        self.row_at.push(self.pos - self.stride);
    }
}
