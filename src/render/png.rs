//! One-pass PNG writer for two-colour, row-repeating images (a QR symbol).
//!
//! A QR image of `size` px has only `total` (≤ 209) distinct pixel rows, each repeated ⌊s⌋ or
//! ⌈s⌉ times. So: 1 bit per pixel (greyscale for black on white, else a 2-entry palette), filter
//! None, and a zlib stream that carries each distinct row once as a stored deflate block followed
//! by a fixed-Huffman block of back-references (distance = one row) for its repeats. The
//! Adler-32 of a repeated row is a closed-form update from the row's byte sum and weighted sum,
//! so the ~80 KB of pixel data behind an 800 px image is never materialised.
//! See `PERFORMANCE.md` for the measurements against the `png` crate.

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

    let mut row = vec![0u8; stride];
    let mut adler = Adler::new();
    let mut bits = BitWriter::default();
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
        let last = next == total;

        fill_row(&mut row, line, &starts, border);
        bits.stored_block(&mut out, &row, last && count == 1);
        if count > 1 {
            bits.repeat_block(&mut out, stride, (count - 1) * stride, last);
        }
        adler.rows(&row, count);
        y = next;
    }
    bits.flush(&mut out);
    out.extend_from_slice(&adler.value().to_be_bytes());

    let len = (out.len() - idat_start - 8) as u32;
    out[idat_start..idat_start + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32fast::hash(&out[idat_start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    chunk(&mut out, b"IEND", &[]);
    out
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

/// LSB-first bit packer for the deflate stream.
#[derive(Default)]
struct BitWriter {
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `count` (≤ 32) bits of `bits`. Branch-free: always stores 8 bytes
    /// and keeps the whole ones, so fewer than 8 bits stay pending.
    #[inline(always)]
    fn put(&mut self, out: &mut Vec<u8>, bits: u32, count: u32) {
        self.acc |= (bits as u64) << self.n;
        self.n += count;
        let len = out.len();
        out.extend_from_slice(&self.acc.to_le_bytes());
        let whole = self.n / 8; // ≤ 4: n < 8 before, count ≤ 32
        out.truncate(len + whole as usize);
        self.acc >>= whole * 8;
        self.n &= 7;
    }

    /// Pads with zero bits to a byte boundary and writes out what is pending.
    fn flush(&mut self, out: &mut Vec<u8>) {
        while self.n > 0 {
            out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.acc = 0;
    }

    /// A stored (uncompressed) block holding `data` (≤ 65535 bytes).
    fn stored_block(&mut self, out: &mut Vec<u8>, data: &[u8], last: bool) {
        self.put(out, u32::from(last), 3); // BFINAL, BTYPE = 00
        self.flush(out);
        let len = data.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(data);
    }

    /// Back-references copying the previous `distance` bytes until `len` (≥ 3) bytes are
    /// produced.
    fn matches(&mut self, out: &mut Vec<u8>, distance: usize, mut len: usize) {
        let (dist_bits, dist_count) = distance_code(distance);
        while len > 0 {
            let mut piece = len.min(258);
            if len - piece > 0 && len - piece < 3 {
                piece = len - 3; // a match is at least 3 bytes: leave exactly 3
            }
            let (bits, count) = length_code(piece);
            self.put(out, bits | (dist_bits << count), count + dist_count);
            len -= piece;
        }
    }

    /// A fixed-Huffman block of back-references copying the previous `distance` bytes until
    /// `len` bytes are produced.
    fn repeat_block(&mut self, out: &mut Vec<u8>, distance: usize, len: usize, last: bool) {
        self.put(out, u32::from(last) | 0b010, 3); // BFINAL, BTYPE = 01
        self.matches(out, distance, len);
        self.put(out, 0, 7); // end of block: symbol 256 = 0000000
    }
}

/// Base lengths of symbols 257..=285 and their extra bits (RFC 1951 §3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of codes 0..=29 and their extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Reverses the low `n` bits: Huffman codes go into the stream MSB first.
fn reverse(code: u32, n: u32) -> u32 {
    code.reverse_bits() >> (32 - n)
}

/// Fixed-Huffman code of match length `len` (3..=258) with its extra bits, as stream bits and
/// their count; a table lookup (a scan of the length bases per match cost a third of the
/// writer's time in the run-compressing variant, perf).
#[inline(always)]
fn length_code(len: usize) -> (u32, u32) {
    LENGTH_CODES[len]
}

const LENGTH_CODES: [(u32, u32); 259] = {
    let mut t = [(0u32, 0u32); 259];
    let mut len = 3;
    while len <= 258 {
        let mut i = 28;
        while LENGTH_BASE[i] as usize > len {
            i -= 1;
        }
        let sym = 257 + i as u32;
        // Symbols 256..=279 have 7-bit codes 0..=23; 280..=287 have 8-bit codes 0xC0..=0xC7.
        let (code, n) = if sym < 280 {
            ((sym - 256).reverse_bits() >> 25, 7)
        } else {
            ((sym - 280 + 0xC0).reverse_bits() >> 24, 8)
        };
        let extra = LENGTH_EXTRA[i] as u32;
        let value = (len - LENGTH_BASE[i] as usize) as u32;
        t[len] = (code | (value << n), n + extra);
        len += 1;
    }
    t
};

/// Fixed 5-bit distance code of `dist` (1..=32768) with its extra bits.
fn distance_code(dist: usize) -> (u32, u32) {
    let i = DIST_BASE
        .iter()
        .rposition(|&b| b as usize <= dist)
        .unwrap_or(0);
    let extra = DIST_EXTRA[i] as u32;
    let value = (dist - DIST_BASE[i] as usize) as u32;
    (reverse(i as u32, 5) | (value << 5), 5 + extra)
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

    #[test]
    fn length_and_distance_codes() {
        // 258 is symbol 285 = 8-bit code 11000101, no extra bits.
        assert_eq!(length_code(258), (reverse(0b1100_0101, 8), 8));
        // 3 is symbol 257 = 7-bit code 0000001.
        assert_eq!(length_code(3), (reverse(1, 7), 7));
        // 13 is symbol 266 (base 13, 1 extra bit = 0).
        assert_eq!(length_code(14), (reverse(10, 7) | (1 << 7), 8));
        // Distance 101: code 13 (base 97, 5 extra bits = 4).
        assert_eq!(distance_code(101), (reverse(13, 5) | (4 << 5), 10));
        assert_eq!(distance_code(1), (0, 5));
    }
}
