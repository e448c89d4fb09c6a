//! One-pass PNG writer for two-colour, row-repeating images (a QR symbol).
//!
//! A QR image of `size` px has only `total` (≤ 209) distinct pixel rows, each repeated ⌊s⌋ or
//! ⌈s⌉ times. So: 1 bit per pixel (greyscale for black on white, else a 2-entry palette), filter
//! None, and one deflate block whose matches come mostly from the structure: a new row copies
//! the spans it shares with the few distinct rows above it (found by word-wide compares, as bit
//! masks), runs of one byte copy the byte before, and a row's repeats copy the row (distance one
//! row); only what those miss is looked up in a small hash table. The block's Huffman codes are
//! built for those few symbols (`deflate.rs`). The Adler-32 of a repeated row is a closed-form
//! update from the row's byte sum and weighted sum, so the ~80 KB of pixel data behind an
//! 800 px image is never materialised.
//! See `PERFORMANCE.md` for the measurements.

use super::deflate::{Best, BitWriter, LITERAL_BITS, Tokens, WINDOW, common_prefix};
use super::matrix::{QrMatrix, WORDS};
use super::raster::{Geometry, PixelStarts, dark_runs};
use super::{RenderOptions, Rgb};

/// Largest prime below 2¹⁶, the Adler-32 modulus.
const ADLER_MOD: u64 = 65521;

/// Writes the PNG of `m` as laid out by `g`, colours from `opts`.
pub(crate) fn write(m: &QrMatrix, g: &Geometry, opts: &RenderOptions) -> Vec<u8> {
    let size = g.size as usize;
    let stride = size.div_ceil(8) + 1; // filter byte + packed pixels
    let greyscale = opts.dark == Rgb::BLACK && opts.light == Rgb::WHITE;

    let mut out = Vec::with_capacity(128 + g.total as usize * (stride + 40));
    // bit depth 1, greyscale | indexed
    signature_and_header(&mut out, g.size, 1, if greyscale { 0 } else { 3 });
    if !greyscale {
        // Index 0 is dark and 1 light, like black = 0 and white = 1 in 1-bit greyscale, so the
        // pixel data is the same either way.
        let (d, l) = (opts.dark, opts.light);
        chunk(&mut out, b"PLTE", &[d.0, d.1, d.2, l.0, l.1, l.2]);
    }

    let border = g.border as usize;
    let modules = g.modules as usize;
    let total = g.total as usize;
    let light_line = [0u64; WORDS];
    let line_at = |y: usize| {
        if y < border || y >= border + modules {
            &light_line
        } else {
            m.row(y - border)
        }
    };

    let starts = g.pixel_starts();
    let mut matcher = Matcher::new(stride, total);
    let mut tokens = Tokens::with_capacity(total * (stride / 2 + 16));
    let mut adler = Adler::new();
    let mut y = 0;
    while y < total {
        // Consecutive identical module rows (the quiet zone above and below, sometimes data
        // rows) form one group of identical pixel rows.
        let line = line_at(y);
        let mut next = y + 1;
        while next < total && line_at(next) == line {
            next += 1;
        }
        let count = starts.at(next) - starts.at(y);
        let row = matcher.next_row();
        fill_row(row, line, &starts, border);
        adler.rows(row, count);
        matcher.tokenize(&mut tokens, count);
        y = next;
    }
    data_and_end(&mut out, &mut tokens, &adler);
    out
}

/// How many of the distinct rows just above a new row are compared with it column by column: QR
/// rows resemble their neighbours (a module column that keeps its colour is the same bytes).
const ABOVE: usize = 4;
/// A match from the rows above or a run this long is taken without looking in the hash table.
/// 6 against 16: the same bytes within 0.1 % (`tests/it/render/png_size.rs` cases), ~2 % fewer
/// instructions.
const GOOD_MATCH: usize = 6;
/// Bytes hashed per table entry. A match from the table reaches back hundreds of bytes, where
/// it must be ~7 bytes long to beat literals (see [`match_gain`]); hashing 8 bytes keeps the
/// chains to real candidates. A 3-byte hash filled the chains with `00 00 00`/`FF FF FF` (and a
/// 32-entry walk cost 76 % of the writer, perf); 8 bytes and 8 entries give the same bytes
/// within 2 %.
const HASH_LEN: usize = 8;
/// Chain entries tried per searched position (measured: 4 → worst case 1.198× zopflipng, 8 →
/// 1.186×, 32 → 1.176×).
const CHAIN: usize = 8;
/// A small table: 4 KiB to reset per image (a 16 KiB one re-zeroed per image was 8 % of the
/// writer's time). Only non-uniform columns go in (see `Matcher::hashed`), a few thousand per
/// 800 px image.
const HASH_BITS: u32 = 10;
const NONE: u32 = u32::MAX;
/// Bytes of a row a [`Mask`] covers: a 2000 px row is 251.
const MASK_WORDS: usize = 4;

/// One bit per byte of a row.
#[derive(Clone, Copy, Default)]
struct Mask([u64; MASK_WORDS]);

impl Mask {
    /// Bit i: `a[i] == b[i]`, for i < a.len() ≤ b.len(). Eight bytes at a time: the high bit of
    /// each nonzero byte of a ^ b, gathered into one byte by a multiply.
    fn equal(a: &[u8], b: &[u8]) -> Mask {
        const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        let mut m = Mask::default();
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail = ca.len() * 8;
        for (c, (x, y)) in ca.zip(cb).enumerate() {
            let x = u64::from_le_bytes(x.try_into().expect("8 bytes"))
                ^ u64::from_le_bytes(y.try_into().expect("8 bytes"));
            let nonzero = (((x & LOW7).wrapping_add(LOW7) | x) & !LOW7) >> 7;
            let ne = nonzero.wrapping_mul(0x0102_0408_1020_4080) >> 56;
            m.0[c / 8] |= (!ne & 0xFF) << (8 * (c % 8));
        }
        for i in tail..a.len() {
            m.0[i / 64] |= u64::from(a[i] == b[i]) << (i % 64);
        }
        m
    }

    /// Bits `[0, n)` set.
    fn below(n: usize) -> Mask {
        let mut m = Mask::default();
        for (w, word) in m.0.iter_mut().enumerate() {
            let lo = w * 64;
            *word = if n >= lo + 64 {
                !0
            } else if n > lo {
                (1u64 << (n - lo)) - 1
            } else {
                0
            };
        }
        m
    }

    /// Bit i of the result is bit i + s of `self` (s < 64).
    fn shr(&self, s: usize) -> Mask {
        let mut m = Mask::default();
        for w in 0..MASK_WORDS {
            let hi = if w + 1 < MASK_WORDS && s > 0 {
                self.0[w + 1] << (64 - s)
            } else {
                0
            };
            m.0[w] = self.0[w] >> s | hi;
        }
        m
    }

    /// Bit i of the result is bit i − 1 of `self`.
    fn shl1(&self) -> Mask {
        let mut m = Mask::default();
        let mut carry = 0;
        for w in 0..MASK_WORDS {
            m.0[w] = self.0[w] << 1 | carry;
            carry = self.0[w] >> 63;
        }
        m
    }

    fn and(&self, o: &Mask) -> Mask {
        let mut m = *self;
        for (a, b) in m.0.iter_mut().zip(o.0) {
            *a &= b;
        }
        m
    }

    fn and_not(&self, o: &Mask) -> Mask {
        let mut m = *self;
        for (a, b) in m.0.iter_mut().zip(o.0) {
            *a &= !b;
        }
        m
    }

    /// How many bits from `i` on are set.
    #[inline]
    fn ones_from(&self, i: usize) -> usize {
        let (mut w, b) = (i / 64, i % 64);
        let first = (self.0[w] >> b).trailing_ones() as usize;
        if first < 64 - b {
            return first;
        }
        let mut n = 64 - b;
        w += 1;
        while w < MASK_WORDS {
            let t = self.0[w].trailing_ones() as usize;
            n += t;
            if t < 64 {
                break;
            }
            w += 1;
        }
        n
    }

    #[inline]
    fn bit(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

/// LZ77 over the distinct pixel rows. They are held back to back in `rows`; in the stream each
/// is followed by its repeats, so a byte of row `r` is `row_at[r]` (its last copy) plus its
/// column, and what follows a row's last copy is the next row's first: `rows` in order.
///
/// Per new row, word-wide compares give bit masks of the columns equal to each of the rows just
/// above and to the byte before (a run); a match from those is a count of set bits. Only the
/// columns those miss are looked up in a hash table of earlier columns (same bytes elsewhere:
/// finder and timing patterns, repeated module sequences at the same bit phase).
struct Matcher {
    stride: usize,
    rows: Vec<u8>,
    /// Stream offset of each finished row's last copy.
    row_at: Vec<usize>,
    /// Stream bytes before the row being tokenized.
    pos: usize,
    /// Bit i: column i of the current row equals column i − 1 (a distance-1 copy continues).
    same_prev: Mask,
    /// Columns of the current row that go into the hash table.
    hashed: Mask,
    /// Per row just above (nearest first): columns equal to the current row, and distance.
    above: [(Mask, usize); ABOVE],
    n_above: usize,
    /// Newest entry per hash of [`HASH_LEN`] bytes; entries are (row << 16 | column) and
    /// `link` holds each entry's previous one with the same hash.
    head: [u32; 1 << HASH_BITS],
    entries: Vec<u32>,
    link: Vec<u32>,
}

impl Matcher {
    fn new(stride: usize, total: usize) -> Matcher {
        Matcher {
            stride,
            rows: vec![0; (total + 1) * stride + 8],
            row_at: Vec::with_capacity(total),
            pos: 0,
            same_prev: Mask::default(),
            hashed: Mask::default(),
            above: [(Mask::default(), 0); ABOVE],
            n_above: 0,
            head: [NONE; 1 << HASH_BITS],
            entries: Vec::with_capacity(total * stride / 2),
            link: Vec::with_capacity(total * stride / 2),
        }
    }

    /// The slot the caller fills with the next distinct row.
    fn next_row(&mut self) -> &mut [u8] {
        let start = self.row_at.len() * self.stride;
        &mut self.rows[start..start + self.stride]
    }

    #[inline]
    fn hash(&self, j: usize) -> usize {
        let v = u64::from_le_bytes(self.rows[j..j + 8].try_into().expect("8 bytes"))
            << (64 - 8 * HASH_LEN);
        (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HASH_BITS)) as usize
    }

    /// Hashes the columns `[from, to)` of the current row that are in `hashed`.
    #[inline]
    fn insert(&mut self, cur: usize, from: usize, to: usize) {
        let mut w = from / 64;
        while w * 64 < to {
            let lo = w * 64;
            let mut bits = self.hashed.0[w];
            if from > lo {
                bits &= !0u64 << (from - lo);
            }
            if to < lo + 64 {
                bits &= (1u64 << (to - lo)) - 1;
            }
            while bits != 0 {
                let i = lo + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let h = self.hash(cur * self.stride + i);
                self.link.push(self.head[h]);
                self.head[h] = self.entries.len() as u32;
                self.entries.push((cur as u32) << 16 | i as u32);
            }
            w += 1;
        }
    }

    /// Tokenizes the row in the `next_row` slot followed by `count - 1` copies of it. Greedy
    /// by estimated bits saved, one step lazy.
    fn tokenize(&mut self, tokens: &mut Tokens, count: usize) {
        let n = self.stride;
        let cur = self.row_at.len();
        let base = cur * n;
        let row = &self.rows[base..base + n];
        self.same_prev = Mask::equal(&row[1..], &row[..n - 1]).shl1();
        self.n_above = 0;
        for r in (cur.saturating_sub(ABOVE)..cur).rev() {
            let d = self.pos - self.row_at[r];
            if d > WINDOW {
                break;
            }
            let m = Mask::equal(&self.rows[base..base + n], &self.rows[r * n..r * n + n]);
            self.above[self.n_above] = (m, d);
            self.n_above += 1;
        }
        // Three equal bytes are the run's (distance 1): hashing them filled the chains with
        // useless `00`/`FF` candidates. A column needs HASH_LEN bytes of the row to hash.
        let uniform = self.same_prev.shr(1).and(&self.same_prev.shr(2));
        self.hashed = Mask::below((n + 1).saturating_sub(HASH_LEN)).and_not(&uniform);
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
                tokens.literal(self.rows[base + i]);
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
        self.finish(count);
    }

    /// The best match for column `i` of row `cur`; nearer wins ties. `pending` is the distance
    /// of the copy the last token continues (0: none).
    fn longest(&self, cur: usize, i: usize, pending: usize) -> Best {
        let n = self.stride;
        let base = cur * n;
        let left = n - i;
        let mut best = Best {
            pending,
            ..Best::default()
        };
        for (m, d) in &self.above[..self.n_above] {
            best.consider(m.ones_from(i).min(left), *d);
        }
        best.consider(self.same_prev.ones_from(i).min(left), 1);
        if best.len >= GOOD_MATCH || best.len == left || !self.hashed.bit(i) {
            return best;
        }
        let here = &self.rows[base + i..base + n];
        let mut e = self.head[self.hash(base + i)];
        for _ in 0..CHAIN {
            if e == NONE {
                break;
            }
            let entry = self.entries[e as usize];
            let (r, col) = ((entry >> 16) as usize, (entry & 0xFFFF) as usize);
            let at = if r == cur { self.pos } else { self.row_at[r] } + col;
            let d = self.pos + i - at;
            if d > WINDOW {
                break;
            }
            let src = &self.rows[r * n + col..];
            // a farther candidate must be longer to gain more: one byte rejects most
            if src[best.len] == here[best.len] {
                best.consider(common_prefix(here, src), d);
                if best.len == left {
                    break;
                }
            }
            e = self.link[e as usize];
        }
        best
    }

    /// Closes the row just tokenized: its last copy is the stream's last `stride` bytes.
    fn finish(&mut self, count: usize) {
        self.pos += count * self.stride;
        self.row_at.push(self.pos - self.stride);
    }
}

/// One pixel row of the module row `line`: filter byte 0, then 1 bit per pixel, MSB first,
/// 1 = light. Starts all light and clears each dark run's pixel span.
fn fill_row(row: &mut [u8], line: &[u64; WORDS], starts: &PixelStarts, border: usize) {
    row[0] = 0;
    let px = &mut row[1..];
    px.fill(0xFF);
    for (a, b) in dark_runs(line) {
        clear_bits(px, starts.at(a + border), starts.at(b + border));
    }
}

/// Clears bits `[start, end)` of an MSB-first bit string.
#[inline]
fn clear_bits(px: &mut [u8], start: usize, end: usize) {
    let (first, last) = (start / 8, (end - 1) / 8);
    let head = 0xFFu8 >> (start % 8); // bits at and after `start` in its byte
    let tail = 0xFFu8 << (7 - (end - 1) % 8); // bits up to and including `end - 1`
    if first == last {
        px[first] &= !(head & tail);
    } else {
        px[first] &= !head;
        px[first + 1..last].fill(0);
        px[last] &= !tail;
    }
}

/// Appends the PNG signature and the IHDR of a square `size`-px image (no interlace).
pub(crate) fn signature_and_header(out: &mut Vec<u8>, size: u32, depth: u8, colour_type: u8) {
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&size.to_be_bytes());
    ihdr[4..8].copy_from_slice(&size.to_be_bytes());
    ihdr[8] = depth;
    ihdr[9] = colour_type;
    chunk(out, b"IHDR", &ihdr);
}

/// Appends the IDAT (a zlib stream of one final deflate block of `tokens`, whose uncompressed
/// bytes `adler` summed) and the IEND.
pub(crate) fn data_and_end(out: &mut Vec<u8>, tokens: &mut Tokens, adler: &Adler) {
    let idat_start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IDAT");
    out.extend_from_slice(&[0x78, 0x01]); // zlib: deflate, 32 KiB window, no dictionary
    let mut bits = BitWriter::default();
    tokens.write_block(&mut bits, out, true);
    bits.flush(out);
    out.extend_from_slice(&adler.value().to_be_bytes());
    let len = (out.len() - idat_start - 8) as u32;
    out[idat_start..idat_start + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32fast::hash(&out[idat_start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    chunk(out, b"IEND", &[]);
}

/// Appends a PNG chunk with its length and CRC.
pub(crate) fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Running Adler-32 of the uncompressed stream, advanced a whole row at a time.
pub(crate) struct Adler {
    a: u64,
    b: u64,
}

impl Adler {
    pub(crate) fn new() -> Adler {
        Adler { a: 1, b: 0 }
    }

    /// Feeds `row` `count` times. Over bytes r₀…rₙ₋₁, one pass adds s = Σ rᵢ to `a` and
    /// n·a + w to `b`, w = Σ (n − i)·rᵢ; k passes sum to a + k·s and
    /// b + k·n·a + k·w + n·s·k(k−1)/2. One reduction per group of rows: a first version
    /// reduced per repeated row, and its 1 600 64-bit divisions per 800 px image dominated
    /// the writer (perf).
    pub(crate) fn rows(&mut self, row: &[u8], count: usize) {
        let n = row.len() as u64;
        // u32 sums vectorise; 255 · Σ(n − i) < 2³² for rows up to 2¹² bytes.
        let (mut s, mut w) = (0u32, 0u32);
        for (i, &r) in row.iter().enumerate() {
            s += r as u32;
            w += (row.len() - i) as u32 * r as u32;
        }
        let (s, w, k) = (s as u64 % ADLER_MOD, w as u64 % ADLER_MOD, count as u64);
        let tri = (k * k.saturating_sub(1) / 2) % ADLER_MOD;
        self.b =
            (self.b + (k * n % ADLER_MOD) * self.a + k * w + (n * s % ADLER_MOD) * tri) % ADLER_MOD;
        self.a = (self.a + k * s) % ADLER_MOD;
    }

    pub(crate) fn value(&self) -> u32 {
        ((self.b << 16) | self.a) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_bits_spans() {
        let mut px = [0xFFu8; 4];
        clear_bits(&mut px, 3, 5);
        assert_eq!(px, [0b1110_0111, 0xFF, 0xFF, 0xFF]);
        let mut px = [0xFFu8; 4];
        clear_bits(&mut px, 6, 26);
        assert_eq!(px, [0b1111_1100, 0, 0, 0b0011_1111]);
        let mut px = [0xFFu8; 2];
        clear_bits(&mut px, 0, 16);
        assert_eq!(px, [0, 0]);
    }

    #[test]
    fn masks_match_bytewise_comparisons() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut byte = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            [0x00, 0xFF, 0x0F, 0xF0][(s % 4) as usize]
        };
        for n in [1, 7, 8, 9, 63, 64, 65, 101, 200, 251] {
            let a: Vec<u8> = (0..n).map(|_| byte()).collect();
            let b: Vec<u8> = (0..n).map(|_| byte()).collect();
            let m = Mask::equal(&a, &b);
            for i in 0..MASK_WORDS * 64 {
                assert_eq!(m.bit(i), i < n && a[i] == b[i], "n {n} bit {i}");
            }
            for i in 0..n {
                let run = (i..n).take_while(|&k| a[k] == b[k]).count();
                assert_eq!(m.ones_from(i), run, "n {n} from {i}");
                for sh in [1, 2, 7].into_iter().filter(|s| i + s < MASK_WORDS * 64) {
                    assert_eq!(m.shr(sh).bit(i), m.bit(i + sh), "n {n} shr {sh} bit {i}");
                }
                assert_eq!(m.shl1().bit(i + 1), m.bit(i));
            }
            let below = Mask::below(n);
            assert_eq!(below.ones_from(0), n);
            assert_eq!(m.and(&below).ones_from(0), m.ones_from(0));
            assert_eq!(m.and_not(&m).ones_from(0), 0);
        }
        let full = Mask::equal(&[7; 251], &[7; 251]);
        assert_eq!(full.ones_from(0), 251);
        assert_eq!(full.ones_from(64), 187);
    }

    #[test]
    fn adler_matches_the_bytewise_definition() {
        let row: Vec<u8> = (0..=250u32).map(|i| (i * 97 % 256) as u8).collect();
        let mut fast = Adler::new();
        fast.rows(&row, 7);
        fast.rows(&row[..13], 300);
        let (mut a, mut b) = (1u32, 0u32);
        let stream = row
            .iter()
            .cycle()
            .take(row.len() * 7)
            .chain(row[..13].iter().cycle().take(13 * 300));
        for &x in stream {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(fast.value(), (b << 16) | a);
    }
}
