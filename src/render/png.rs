//! One-pass PNG writer for two-colour, row-repeating images (a QR symbol).
//!
//! A QR image of `size` px has only `total` (≤ 209) distinct pixel rows, each repeated ⌊s⌋ or
//! ⌈s⌉ times. So: 1 bit per pixel (greyscale for black on white, else a 2-entry palette), filter
//! None, and one deflate block whose matches the writer knows without searching: a new row copies
//! the spans it shares with the few distinct rows above it, runs of one byte copy the byte before,
//! and a row's repeats copy the row (distance one row). The block's Huffman codes are built for
//! those few symbols (`deflate.rs`). The Adler-32 of a repeated row is a closed-form update from
//! the row's byte sum and weighted sum, so the ~80 KB of pixel data behind an 800 px image is
//! never materialised.
//! See `PERFORMANCE.md` for the measurements against the `png` crate.

use super::deflate::{BitWriter, Tokens, WINDOW, dist_extra_bits};
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
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&g.size.to_be_bytes());
    ihdr[4..8].copy_from_slice(&g.size.to_be_bytes());
    ihdr[8] = 1; // bit depth
    ihdr[9] = if greyscale { 0 } else { 3 }; // greyscale | indexed
    chunk(&mut out, b"IHDR", &ihdr);
    if !greyscale {
        // Index 0 is dark and 1 light, like black = 0 and white = 1 in 1-bit greyscale, so the
        // pixel data is the same either way.
        let (d, l) = (opts.dark, opts.light);
        chunk(&mut out, b"PLTE", &[d.0, d.1, d.2, l.0, l.1, l.2]);
    }

    let idat_start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IDAT");
    out.extend_from_slice(&[0x78, 0x01]); // zlib: deflate, 32 KiB window, no dictionary

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
    let mut bits = BitWriter::default();
    tokens.write_block(&mut bits, &mut out, true);
    bits.flush(&mut out);
    out.extend_from_slice(&adler.value().to_be_bytes());

    let len = (out.len() - idat_start - 8) as u32;
    out[idat_start..idat_start + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32fast::hash(&out[idat_start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// How many of the distinct rows just above a new row are tried at the same column first: QR
/// rows resemble their neighbours (a module column that keeps its colour is the same bytes).
const ABOVE: usize = 4;
/// A same-column match this long is taken without searching the hash chains.
const GOOD_MATCH: usize = 16;
/// Chain entries tried per searched position. Most bytes are `0x00`/`0xFF`, so chains are long
/// and their newest entries the nearest.
const CHAIN: usize = 32;
const HASH_BITS: u32 = 12;
const NONE: u32 = u32::MAX;

/// LZ77 over the distinct pixel rows. They are held back to back in `rows`; in the stream each
/// is followed by its repeats, so a byte of row `r` is `row_at[r]` (its last copy) plus its
/// column, and a match never crosses the end of its source row.
struct Matcher {
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
    fn new(stride: usize, total: usize) -> Matcher {
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
    fn next_row(&mut self) -> &mut [u8] {
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
    fn tokenize(&mut self, tokens: &mut Tokens, count: usize) {
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

/// The best match so far by [`match_gain`]; a later candidate must gain strictly more, so the
/// nearer (tried first) wins ties.
#[derive(Default)]
struct Best {
    len: usize,
    dist: usize,
    gain: isize,
    /// The distance of the pending copy: continuing it costs no new match.
    pending: usize,
}

impl Best {
    #[inline]
    fn consider(&mut self, len: usize, dist: usize) {
        let gain = if dist == self.pending {
            LITERAL_BITS * len as isize
        } else {
            match_gain(len, dist)
        };
        if gain > self.gain {
            (self.len, self.dist, self.gain) = (len, dist, gain);
        }
    }
}

/// Estimated bits of a literal.
const LITERAL_BITS: isize = 2;

/// Estimated bits a match of `len` at `dist` saves over literals (≤ 0: not worth it). Literals
/// of a QR raster cost ~3 bits (few distinct bytes); a match's two symbols ~6 plus the
/// distance's extra bits, so a short match far back costs more than it saves.
#[inline]
fn match_gain(len: usize, dist: usize) -> isize {
    if len < 3 {
        return 0;
    }
    LITERAL_BITS * len as isize - 6 - dist_extra_bits(dist) as isize
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"))
            ^ u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
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

/// Appends a PNG chunk with its length and CRC.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Running Adler-32 of the uncompressed stream, advanced a whole row at a time.
struct Adler {
    a: u64,
    b: u64,
}

impl Adler {
    fn new() -> Adler {
        Adler { a: 1, b: 0 }
    }

    /// Feeds `row` `count` times. Over bytes r₀…rₙ₋₁, one pass adds s = Σ rᵢ to `a` and
    /// n·a + w to `b`, w = Σ (n − i)·rᵢ; k passes sum to a + k·s and
    /// b + k·n·a + k·w + n·s·k(k−1)/2. One reduction per group of rows: a first version
    /// reduced per repeated row, and its 1 600 64-bit divisions per 800 px image dominated
    /// the writer (perf).
    fn rows(&mut self, row: &[u8], count: usize) {
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

    fn value(&self) -> u32 {
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
