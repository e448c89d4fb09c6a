//! LZ77 over an image given as its distinct pixel rows, each followed by its repeats: the rows
//! and hash table both PNG writers look back into ([`History`], with its one chain walk), and
//! the byte matcher the styled writer runs on them ([`Matcher`]; the plain writer's own,
//! asked per module boundary, is `grid_lz.rs`).
//!
//! Images drawn from a module grid repeat along rows and columns, so the matches worth having
//! are known before any search: a row's repeats copy the row (distance one row, taken without
//! looking), a new row copies the spans it shares with the few distinct rows above it (same
//! column), and a run of one byte copies the byte before. Those are bit masks from word-wide
//! compares, made once per row (a match is a count of set bits). Only where they fall short
//! is a small hash table of earlier columns looked up (the same bytes elsewhere: finder, timing
//! and alignment patterns, a stamp at the same pixel phase).
//! See `PERFORMANCE.md` for the measurements behind each choice.

use super::deflate::{Best, LITERAL_BITS, Tokens, WINDOW, common_prefix};

/// How many of the distinct rows just above a new row are compared with it column by column.
const ABOVE: usize = 4;
/// A match from the rows above or a run this long is taken without looking in the hash table.
/// 6 against 16: the same plain bytes within 0.1 % (`tests/it/render/png_size.rs` cases), ~2 % fewer
/// instructions.
const GOOD_MATCH: usize = 6;
/// Bytes hashed per table entry. A match from the table reaches back hundreds of bytes, where
/// it must be ~7 bytes long to beat literals (see [`super::deflate::match_gain`]); hashing 8
/// bytes keeps the chains to real candidates. A 3-byte hash filled the chains with `00 00 00`
/// / `FF FF FF` (a 32-entry walk cost 76 % of the plain writer, perf); 8 bytes and 8 entries
/// give the same bytes within 2 %. A 4-byte hash gained ~2 % in the median plain case and lost
/// 3 % in the worst, for 15 % more instructions.
pub(crate) const HASH_LEN: usize = 8;
/// Chain entries tried per searched position (measured: 4 → worst plain case 1.198×
/// zopflipng, 8 → 1.186×, 32 → 1.176×).
const CHAIN: usize = 8;
/// A small table: 4 KiB to reset per image. Each tokenizer puts in only the columns worth
/// finding (this one: those that do not start a run; `grid_lz.rs`: those at colour changes).
const HASH_BITS: u32 = 10;
const NONE: u32 = u32::MAX;
/// Mask slots: bytes equal to the byte before, bytes hashed, then one per row above.
const SAME_PREV: usize = 0;
const HASHED: usize = 1;
const FIRST_ABOVE: usize = 2;

/// The distinct rows of an image and a hash table of some of their columns: what both row
/// tokenizers (this file's [`Matcher`], the plain writer's `GridLz`) look back into. The rows
/// are held back to back in `rows`; in the stream each is followed by its repeats, so a byte
/// of row `r` is `row_at[r]` (its last copy) plus its column, and what follows a row's last
/// copy is the next row's first: `rows` in order.
pub(crate) struct History {
    stride: usize,
    /// Distinct rows back to back, 8 spare bytes after the last for the hash reads.
    rows: Vec<u8>,
    /// Stream offset of each finished row's last copy.
    row_at: Vec<usize>,
    /// Stream bytes before the row being tokenized.
    pos: usize,
    /// Newest entry per hash of [`HASH_LEN`] bytes; an entry is (row << 16 | column, the
    /// index of the previous entry with the same hash): one push per insert.
    head: [u32; 1 << HASH_BITS],
    entries: Vec<(u32, u32)>,
}

impl History {
    /// Room for `rows` distinct rows of `stride` (< 2¹⁶) bytes and `hashed` table entries.
    pub(crate) fn new(stride: usize, rows: usize, hashed: usize) -> History {
        History {
            stride,
            rows: Vec::with_capacity((rows + 1) * stride + 8),
            row_at: Vec::with_capacity(rows),
            pos: 0,
            head: [NONE; 1 << HASH_BITS],
            entries: Vec::with_capacity(hashed),
        }
    }

    /// The slot the caller fills with the next distinct row.
    pub(crate) fn next_row(&mut self) -> &mut [u8] {
        let start = self.row_at.len() * self.stride;
        // room for the 8-byte hash reads past the row's end
        self.rows.resize(start + self.stride + 8, 0);
        &mut self.rows[start..start + self.stride]
    }

    /// How many distinct rows are finished (the index of the one in the `next_row` slot).
    #[inline]
    pub(crate) fn rows_held(&self) -> usize {
        self.row_at.len()
    }

    /// Distinct row `r`: the finished ones and the one in the `next_row` slot.
    #[inline]
    pub(crate) fn row(&self, r: usize) -> &[u8] {
        let n = self.stride;
        &self.rows[r * n..r * n + n]
    }

    /// Byte `col` of distinct row `r` (one bounds check: a literal's cost in the token loops).
    #[inline]
    pub(crate) fn byte(&self, r: usize, col: usize) -> u8 {
        self.rows[r * self.stride + col]
    }

    /// The stream distance from the start of the row in the `next_row` slot back to the last
    /// copy of finished row `r`.
    #[inline]
    pub(crate) fn back_to(&self, r: usize) -> usize {
        self.pos - self.row_at[r]
    }

    /// Finishes the row in the `next_row` slot, followed in the stream by `count - 1` copies.
    #[inline]
    pub(crate) fn finish_row(&mut self, count: usize) {
        self.pos += count * self.stride;
        self.row_at.push(self.pos - self.stride);
    }

    /// The table slot of the [`HASH_LEN`] bytes at column `col` of row `r`.
    #[inline]
    pub(crate) fn hash_at(&self, r: usize, col: usize) -> usize {
        self.hash_len_at(r, col, HASH_LEN)
    }

    /// The table slot of the `len` (1..=8) bytes at column `col` of row `r`.
    #[inline]
    pub(crate) fn hash_len_at(&self, r: usize, col: usize, len: usize) -> usize {
        let j = r * self.stride + col;
        let v =
            u64::from_le_bytes(self.rows[j..j + 8].try_into().expect("8 bytes")) << (64 - 8 * len);
        (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HASH_BITS)) as usize
    }

    /// Puts column `col` of row `cur` (its [`HASH_LEN`] bytes) in the table.
    #[inline(always)]
    pub(crate) fn insert(&mut self, cur: usize, col: usize) {
        self.insert_hashed(cur, col, self.hash_at(cur, col));
    }

    /// [`History::insert`] with the slot given ([`History::hash_at`] of the same column).
    #[inline(always)]
    pub(crate) fn insert_hashed(&mut self, cur: usize, col: usize, h: usize) {
        let previous = std::mem::replace(&mut self.head[h], self.entries.len() as u32);
        self.entries
            .push(((cur as u32) << 16 | col as u32, previous));
    }

    /// Walks the table's chain for column `i` of row `cur` (newest, so nearest, first; at
    /// most [`CHAIN`] entries, none beyond the window) for copies longer than `len` bytes:
    /// `take(len, dist)` is told of each candidate that agrees one byte past `len` (a farther
    /// candidate must be longer to gain more: that one byte rejects most) and answers the
    /// length to beat from then on. Stops when that length reaches the row's end.
    #[inline(always)]
    pub(crate) fn search(
        &self,
        cur: usize,
        i: usize,
        len: usize,
        take: impl FnMut(usize, usize) -> usize,
    ) {
        self.search_hashed(cur, i, self.hash_at(cur, i), 0, len, take);
    }

    /// [`History::search`] with the slot given: [`History::hash_at`] of column `i + back`, whose
    /// entries are tried as sources `back` bytes before them.
    #[inline(always)]
    pub(crate) fn search_hashed(
        &self,
        cur: usize,
        i: usize,
        h: usize,
        back: usize,
        mut len: usize,
        mut take: impl FnMut(usize, usize) -> usize,
    ) {
        let n = self.stride;
        let base = cur * n;
        let here = &self.rows[base + i..base + n];
        if len >= here.len() {
            return;
        }
        let mut e = self.head[h];
        for _ in 0..CHAIN {
            if e == NONE {
                break;
            }
            let (entry, previous) = self.entries[e as usize];
            let (r, col) = ((entry >> 16) as usize, (entry & 0xFFFF) as usize);
            e = previous;
            let Some(col) = col.checked_sub(back) else {
                continue;
            };
            let at = if r == cur { self.pos } else { self.row_at[r] } + col;
            let d = self.pos + i - at;
            if d > WINDOW {
                break;
            }
            let src = &self.rows[r * n + col..];
            if src[len] == here[len] {
                len = take(common_prefix(here, src), d);
                if len >= here.len() {
                    break;
                }
            }
        }
    }
}

/// LZ77 over distinct pixel rows (held in a [`History`]) by byte masks; see the module doc.
pub(crate) struct Matcher {
    stride: usize,
    /// u64 words of one mask (one bit per byte of a row).
    words: usize,
    history: History,
    /// `FIRST_ABOVE + ABOVE` masks of `words` words for the current row: bit i of
    /// `SAME_PREV` is column i equal to column i − 1, of `HASHED` column i goes into the hash
    /// table, of `FIRST_ABOVE + k` column i equal to the k-th row above.
    masks: Vec<u64>,
    /// Distance of each row above (nearest first).
    above: [usize; ABOVE],
    n_above: usize,
}

impl Matcher {
    /// A matcher for rows of `stride` (< 2¹⁶) bytes, at most `rows` distinct ones.
    pub(crate) fn new(stride: usize, rows: usize) -> Matcher {
        let words = stride.div_ceil(64) + 1;
        Matcher {
            stride,
            words,
            history: History::new(stride, rows, rows * stride / 2),
            masks: vec![0; (FIRST_ABOVE + ABOVE) * words],
            above: [0; ABOVE],
            n_above: 0,
        }
    }

    /// The slot the caller fills with the next distinct row.
    pub(crate) fn next_row(&mut self) -> &mut [u8] {
        self.history.next_row()
    }

    /// How many distinct rows the matcher holds (the index the next one gets).
    pub(crate) fn rows_held(&self) -> usize {
        self.history.rows_held()
    }

    /// Distinct row `r` (< [`Matcher::rows_held`]): the stream distance from the start of the
    /// next row back to its last copy, and its bytes. A writer that finds whole rows again
    /// asks here instead of keeping rows of its own.
    pub(crate) fn earlier_row(&self, r: usize) -> (usize, &[u8]) {
        (self.history.back_to(r), self.history.row(r))
    }

    fn mask(&self, slot: usize) -> &[u64] {
        &self.masks[slot * self.words..(slot + 1) * self.words]
    }

    /// Hashes the columns `[from, to)` of the current row that are in the `HASHED` mask.
    #[inline(always)]
    fn insert(&mut self, cur: usize, from: usize, to: usize) {
        let mut w = from / 64;
        while w * 64 < to {
            let lo = w * 64;
            let mut bits = self.masks[HASHED * self.words + w];
            if from > lo {
                bits &= !0u64 << (from - lo);
            }
            if to < lo + 64 {
                bits &= (1u64 << (to - lo)) - 1;
            }
            while bits != 0 {
                let i = lo + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.history.insert(cur, i);
            }
            w += 1;
        }
    }

    /// Tokenizes the row in the `next_row` slot followed by `count - 1` copies of it. Greedy
    /// by estimated bits saved, one step lazy.
    pub(crate) fn tokenize(&mut self, tokens: &mut Tokens, count: usize) {
        let (n, words) = (self.stride, self.words);
        let cur = self.history.rows_held();
        {
            let (row, masks) = (self.history.row(cur), &mut self.masks);
            // SAME_PREV: equal(row[1..], row[..n-1]) shifted up one column
            let m = &mut masks[SAME_PREV * words..(SAME_PREV + 1) * words];
            equal(m, &row[1..], &row[..n - 1]);
            let mut carry = 0;
            for w in m.iter_mut() {
                let next = *w >> 63;
                *w = *w << 1 | carry;
                carry = next;
            }
        }
        self.n_above = 0;
        for r in (cur.saturating_sub(ABOVE)..cur).rev() {
            let d = self.history.back_to(r);
            if d > WINDOW {
                break;
            }
            let slot = FIRST_ABOVE + self.n_above;
            let (row, src) = (self.history.row(cur), self.history.row(r));
            equal(&mut self.masks[slot * words..(slot + 1) * words], row, src);
            self.above[self.n_above] = d;
            self.n_above += 1;
        }
        // HASHED: columns with HASH_LEN bytes of the row from them, except those starting
        // three equal bytes (the run's, distance 1: hashing them filled the chains with
        // useless `00`/`FF` candidates).
        let hashable = (n + 1).saturating_sub(HASH_LEN);
        for w in 0..words {
            let sp = &self.masks[SAME_PREV * words..];
            let shr = |s: usize| {
                let hi = if w + 1 < words {
                    sp[w + 1] << (64 - s)
                } else {
                    0
                };
                sp[w] >> s | hi
            };
            let uniform = shr(1) & shr(2);
            let lo = w * 64;
            let below = if hashable >= lo + 64 {
                !0
            } else if hashable > lo {
                (1u64 << (hashable - lo)) - 1
            } else {
                0
            };
            self.masks[HASHED * words + w] = below & !uniform;
        }
        let mut i = 0;
        while i < n {
            let Best {
                len: best,
                dist,
                gain,
                ..
            } = self.longest(cur, i, tokens.pending_distance());
            // Lazy: a literal here pays if the match one byte on gains more than it costs.
            let defer = best > 0 && best < GOOD_MATCH && i + 1 < n && {
                self.insert(cur, i, i + 1);
                let next = self.longest(cur, i + 1, 0);
                next.gain > gain + LITERAL_BITS
            };
            if best == 0 || defer {
                tokens.literal(self.history.byte(cur, i));
                if !defer {
                    self.insert(cur, i, i + 1);
                }
                i += 1;
                continue;
            }
            let first = if best < GOOD_MATCH && i + 1 < n {
                i + 1 // column i went in for the lazy look
            } else {
                i
            };
            self.insert(cur, first, i + best);
            i += best;
            tokens.copy(dist, best);
        }
        if count > 1 {
            // the repeats copy the row above; `Tokens` merges this with a copy from the row
            // above that ended the row and one that starts the next row
            tokens.copy(n, (count - 1) * n);
        }
        self.history.finish_row(count);
    }

    /// Takes the row in the `next_row` slot followed by `count - 1` copies of it as coded by
    /// the caller (a writer that knows where the row differs from the one above): later rows
    /// compare with it and copy from it, but it puts nothing in the hash table.
    pub(crate) fn coded(&mut self, count: usize) {
        self.history.finish_row(count);
    }

    /// The best match for column `i` of row `cur`; nearer wins ties. `pending` is the distance
    /// of the copy the last token continues (0: none).
    fn longest(&self, cur: usize, i: usize, pending: usize) -> Best {
        let left = self.stride - i;
        let mut best = Best {
            pending,
            ..Best::default()
        };
        for (k, &d) in self.above[..self.n_above].iter().enumerate() {
            best.consider(ones_from(self.mask(FIRST_ABOVE + k), i).min(left), d);
        }
        best.consider(ones_from(self.mask(SAME_PREV), i).min(left), 1);
        if best.len >= GOOD_MATCH || best.len == left || !bit(self.mask(HASHED), i) {
            return best;
        }
        self.history.search(cur, i, best.len, |len, d| {
            best.consider(len, d);
            best.len
        });
        best
    }
}

/// Sets bit i of `m` to `a[i] == b[i]` for i < a.len() ≤ b.len(), clears the rest. Eight bytes
/// at a time: the high bit of each nonzero byte of a ^ b, gathered into one byte by a multiply.
pub(crate) fn equal(m: &mut [u64], a: &[u8], b: &[u8]) {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    m.fill(0);
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.len() * 8;
    for (c, (x, y)) in ca.zip(cb).enumerate() {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"))
            ^ u64::from_le_bytes(y.try_into().expect("8 bytes"));
        let nonzero = (((x & LOW7).wrapping_add(LOW7) | x) & !LOW7) >> 7;
        let ne = nonzero.wrapping_mul(0x0102_0408_1020_4080) >> 56;
        m[c / 8] |= (!ne & 0xFF) << (8 * (c % 8));
    }
    for i in tail..a.len() {
        m[i / 64] |= u64::from(a[i] == b[i]) << (i % 64);
    }
}

/// How many bits of `m` from `i` on are set.
#[inline]
fn ones_from(m: &[u64], i: usize) -> usize {
    let (mut w, b) = (i / 64, i % 64);
    let first = (m[w] >> b).trailing_ones() as usize;
    if first < 64 - b {
        return first;
    }
    let mut n = 64 - b;
    w += 1;
    while w < m.len() {
        let t = m[w].trailing_ones() as usize;
        n += t;
        if t < 64 {
            break;
        }
        w += 1;
    }
    n
}

#[inline]
fn bit(m: &[u64], i: usize) -> bool {
    m[i / 64] >> (i % 64) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_bytewise_comparisons() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut byte = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            [0x00, 0xFF, 0x0F, 0xF0][(s % 4) as usize]
        };
        for n in [1usize, 7, 8, 9, 63, 64, 65, 101, 200, 251, 1001] {
            let a: Vec<u8> = (0..n).map(|_| byte()).collect();
            let b: Vec<u8> = (0..n).map(|_| byte()).collect();
            let mut m = vec![!0u64; n.div_ceil(64) + 1];
            equal(&mut m, &a, &b);
            for i in 0..m.len() * 64 {
                assert_eq!(bit(&m, i), i < n && a[i] == b[i], "n {n} bit {i}");
            }
            for i in 0..n {
                let run = (i..n).take_while(|&k| a[k] == b[k]).count();
                assert_eq!(ones_from(&m, i), run, "n {n} from {i}");
            }
        }
        let mut full = vec![0u64; 5];
        equal(&mut full, &[7; 251], &[7; 251]);
        assert_eq!(ones_from(&full, 0), 251);
        assert_eq!(ones_from(&full, 64), 187);
    }

    /// Writes rows through the matcher into an 8-bit greyscale PNG and decodes it with the
    /// `png` crate: the tokens must rebuild the rows.
    #[test]
    fn tokens_rebuild_the_rows() {
        use crate::render::png::{Adler, data_and_end, signature_and_ihdr};
        let mut s = 0x9E37_79B9u64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for stride in [4usize, 13, 101, 300] {
            let mut m = Matcher::new(stride, 40);
            let mut tokens = Tokens::with_capacity(1024);
            let mut adler = Adler::new();
            let mut want = Vec::new();
            let mut prev: Vec<u8> = vec![0; stride];
            let mut height = 0;
            for _ in 0..40 {
                // rows that resemble the one before, with runs and some noise; filter byte 0
                let mut row: Vec<u8> = prev
                    .iter()
                    .map(|&b| match rnd() % 8 {
                        0 => rnd() as u8,
                        1 => 0xFF,
                        _ => b,
                    })
                    .collect();
                row[0] = 0;
                let count = 1 + (rnd() % 4) as usize;
                m.next_row().copy_from_slice(&row);
                adler.rows(&row, count);
                m.tokenize(&mut tokens, count);
                for _ in 0..count {
                    want.extend_from_slice(&row[1..]);
                }
                height += count;
                prev = row;
            }
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
