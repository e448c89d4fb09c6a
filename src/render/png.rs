//! One-pass PNG writer for two-colour, row-repeating images (a QR symbol).
//!
//! A QR image of `size` px has only `total` (≤ 209) distinct pixel rows, each repeated ⌊s⌋ or
//! ⌈s⌉ times. So: 1 bit per pixel (greyscale for black on white, else a 2-entry palette), filter
//! None, and one deflate block whose matches come mostly from the structure: a new row copies
//! the spans it shares with the row above, runs of one byte copy the byte before (both found
//! per module boundary from the module rows), and a row's repeats copy the row (distance one
//! row); only what those miss is looked up in a small hash table (`grid_lz.rs`). The block's
//! Huffman codes are built for those few symbols (`deflate.rs`). The Adler-32 of a repeated
//! row is a closed-form update from the row's byte sum and weighted sum, so the ~80 KB of
//! pixel data behind an 800 px image is never materialised.
//! See `PERFORMANCE.md` for the measurements.

use super::deflate::{BitWriter, Tokens};
use super::grid_lz::{FullLine, GridLz, full_line};
use super::matrix::{QrMatrix, WORDS};
use super::raster::{Geometry, PixelStarts};
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
    let edges: Vec<usize> = (0..=total).map(|m| starts.at(m)).collect();
    let mut matcher = GridLz::new(stride, size, &edges, total);
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
        let full = full_line(line, border);
        let row = matcher.next_row();
        fill_row(row, &full, &starts);
        adler.rows(row, count);
        matcher.tokenize(&mut tokens, &full, count);
        y = next;
    }
    data_and_end(&mut out, &mut tokens, &adler);
    out
}

/// Pixel words of the widest row: 1 bit per pixel.
const PIXEL_WORDS: usize = (super::MAX_SIZE as usize).div_ceil(64);

/// One pixel row of the module row `line` (with its quiet zone): filter byte 0, then 1 bit per
/// pixel, MSB first, 1 = light. Each colour change marks its first pixel, and a prefix XOR
/// along each 64-pixel word (six shifts, the last pixel's state carried into the next word)
/// turns the marks into the dark pixels (a word without a change is the state carried in).
/// Against clearing each dark run's pixels (two bit scans to find the run, two masks), writer
/// alone under callgrind: version 40 at 2000 px −4.5 %, the long deeplink at 800 px −0.8 %, the
/// short link at 800 px the same, at 2000 px +1.3 % (its 32-word rows hold few changes).
fn fill_row(row: &mut [u8], line: &FullLine, starts: &PixelStarts) {
    let mut marks = [0u64; PIXEL_WORDS];
    let mut carry = 0;
    for (k, &x) in line.iter().enumerate() {
        // module m unlike m − 1 (light before the first; the padding after the last is light)
        let mut changes = x ^ (x << 1 | carry);
        carry = x >> 63;
        while changes != 0 {
            let p = starts.at(k * 64 + changes.trailing_zeros() as usize);
            marks[p / 64] |= 1 << (63 - p % 64);
            changes &= changes - 1;
        }
    }
    let words = (row.len() - 1).div_ceil(8); // 8 bytes a word
    let mut dark = 0u64; // all ones while a dark run continues from the word before
    for m in &mut marks[..words] {
        let mut x = *m;
        if x != 0 {
            x ^= x >> 1;
            x ^= x >> 2;
            x ^= x >> 4;
            x ^= x >> 8;
            x ^= x >> 16;
            x ^= x >> 32;
            x ^= dark;
            dark = 0u64.wrapping_sub(x & 1);
            *m = !x;
        } else {
            *m = !dark; // no change in these 64 pixels
        }
    }
    row[0] = 0;
    let whole = (row.len() - 1) / 8; // words stored whole; the rest is the last one's first bytes
    let mut bytes = row[1..].chunks_exact_mut(8);
    for (b, w) in (&mut bytes).zip(&marks) {
        b.copy_from_slice(&w.to_be_bytes());
    }
    let rest = bytes.into_remainder();
    let last = marks[whole].to_be_bytes();
    for (b, &x) in rest.iter_mut().zip(&last) {
        *b = x;
    }
}

/// Appends the PNG signature and the IHDR of a square `size`-px image (no interlace).
pub(crate) fn signature_and_header(out: &mut Vec<u8>, size: u32, depth: u8, colour_type: u8) {
    signature_and_ihdr(out, [size; 2], depth, colour_type);
}

/// Appends the PNG signature and the IHDR of a `[width, height]`-px image (no interlace).
pub(crate) fn signature_and_ihdr(out: &mut Vec<u8>, dims: [u32; 2], depth: u8, colour_type: u8) {
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&dims[0].to_be_bytes());
    ihdr[4..8].copy_from_slice(&dims[1].to_be_bytes());
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
        let (s, w) = row_sums(row);
        self.sums(row.len(), s, w, count);
    }

    /// Feeds `count` copies of a row of `n` bytes from its sums (s and w of [`Adler::rows`]):
    /// a writer that knows where a row differs from the one before keeps them up to date
    /// without reading the row.
    pub(crate) fn sums(&mut self, n: usize, s: u64, w: u64, count: usize) {
        let n = n as u64;
        let (s, w, k) = (s % ADLER_MOD, w % ADLER_MOD, count as u64);
        let tri = (k * k.saturating_sub(1) / 2) % ADLER_MOD;
        self.b =
            (self.b + (k * n % ADLER_MOD) * self.a + k * w + (n * s % ADLER_MOD) * tri) % ADLER_MOD;
        self.a = (self.a + k * s) % ADLER_MOD;
    }

    pub(crate) fn value(&self) -> u32 {
        ((self.b << 16) | self.a) as u32
    }
}

/// Σ rᵢ and Σ (n − i)·rᵢ over the n bytes of `row`, eight bytes per step: in 16-bit lanes, the
/// even bytes e and odd bytes o of a word at offset j give its byte sum Σ(e + o) and
/// Σ k·r = 2·Σ t·(e + o)ₜ + Σ o over lanes t, each a multiply that adds the lanes into the top
/// one (no lane exceeds 16 bits). A byte at a time, the sums were 11 % of the plain writer's
/// instructions (callgrind, short link at 800 px).
fn row_sums(row: &[u8]) -> (u64, u64) {
    const LANES: u64 = 0x00FF_00FF_00FF_00FF;
    const ADD: u64 = 0x0001_0001_0001_0001; // lanes summed into the top lane
    const RAMP: u64 = 0x0000_0001_0002_0003; // lane t weighted by t, summed into the top lane
    let n = row.len() as u64;
    let (mut s, mut w) = (0u64, 0u64);
    let words = row.chunks_exact(8);
    let tail = words.remainder();
    for (j, x) in words.enumerate() {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
        let (e, o) = (x & LANES, x >> 8 & LANES);
        let p = e + o;
        let sum = p.wrapping_mul(ADD) >> 48;
        let ramp = 2 * (p.wrapping_mul(RAMP) >> 48) + (o.wrapping_mul(ADD) >> 48);
        s += sum;
        w += (n - 8 * j as u64) * sum - ramp;
    }
    let at = (row.len() - tail.len()) as u64;
    for (k, &r) in tail.iter().enumerate() {
        s += u64::from(r);
        w += (n - at - k as u64) * u64::from(r);
    }
    (s, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Ecc;
    use crate::render::matrix::encode;

    /// Every pixel decodes to its module's colour, over versions, pixel phases and quiet zones
    /// (the tokenizer's copies are derived from module rows, so a wrong table shows here).
    #[test]
    fn pixels_decode_to_their_modules() {
        for (len, ecc) in [(10, Ecc::L), (33, Ecc::M), (180, Ecc::Q), (900, Ecc::L)] {
            let content: Vec<u8> = (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect();
            let m = encode(&content, ecc).unwrap();
            for (border, size) in [
                (4, 100),
                (0, 211),
                (4, 333),
                (16, 801),
                (1, 1130),
                (4, 2000),
            ] {
                let Ok(g) = Geometry::new(&m, border, size) else {
                    continue;
                };
                let png = write(&m, &g, &RenderOptions::default());
                let decoder = ::png::Decoder::new(std::io::Cursor::new(png));
                let mut reader = decoder.read_info().expect("header");
                let mut px = vec![0; reader.output_buffer_size().expect("fits")];
                reader.next_frame(&mut px).expect("decodes");
                let (stride, starts) = (size.div_ceil(8) as usize, g.pixel_starts());
                for my in 0..g.total as usize {
                    for y in [starts.at(my), starts.at(my + 1) - 1] {
                        for mx in 0..g.total as usize {
                            let dark = (border as usize..(border + g.modules) as usize)
                                .contains(&mx)
                                && (border as usize..(border + g.modules) as usize).contains(&my)
                                && {
                                    let (x, y) = (mx - border as usize, my - border as usize);
                                    m.row(y)[x / 64] >> (x % 64) & 1 == 1
                                };
                            for x in [starts.at(mx), starts.at(mx + 1) - 1] {
                                let bit = px[y * stride + x / 8] >> (7 - x % 8) & 1;
                                assert_eq!(
                                    bit == 0,
                                    dark,
                                    "len {len} size {size} module {mx},{my}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn row_sums_match_the_bytewise_sums() {
        let row: Vec<u8> = (0..300u32).map(|i| (i * 151 % 256) as u8).collect();
        for n in (0..40).chain([101, 251, 300]) {
            let r = &row[300 - n..];
            let s: u64 = r.iter().map(|&x| u64::from(x)).sum();
            let w: u64 = r
                .iter()
                .enumerate()
                .map(|(i, &x)| (n - i) as u64 * u64::from(x))
                .sum();
            assert_eq!(row_sums(r), (s, w), "{n} bytes");
        }
        assert_eq!(row_sums(&[0xFF; 251]).0, 255 * 251);
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
