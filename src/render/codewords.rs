//! Data codewords: version and ECC level choice, the data bit stream of the content's
//! [`super::segment`]s, Reed–Solomon error correction and block interleaving (ISO/IEC 18004
//! §7.4–7.6). Output: the final codeword sequence that [`super::matrix`] places in the symbol.

use super::Ecc;
use super::segment::{self, Mode, Segmentation};

/// Largest QR version.
pub const MAX_VERSION: u8 = 40;

/// Error-correction codewords per block, by ECC level (L, M, Q, H) and version (index 0 unused).
/// From ISO/IEC 18004 table 9.
const ECC_PER_BLOCK: [[u8; 41]; 4] = [
    [
        0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28,
        30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28,
        28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    ],
    [
        0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30,
        30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24,
        30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
];

/// Number of error-correction blocks, by ECC level (L, M, Q, H) and version (index 0 unused).
/// From ISO/IEC 18004 table 9.
const NUM_BLOCKS: [[u8; 41]; 4] = [
    [
        0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13,
        14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25,
    ],
    [
        0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21,
        23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
    ],
    [
        0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29,
        34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68,
    ],
    [
        0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32,
        35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81,
    ],
];

fn level(ecc: Ecc) -> usize {
    match ecc {
        Ecc::L => 0,
        Ecc::M => 1,
        Ecc::Q => 2,
        Ecc::H => 3,
    }
}

/// Modules left for data and ECC after the function patterns of `version` (remainder bits
/// included): the whole square minus finders, timing, alignment, format and version areas.
pub const fn raw_data_modules(version: u8) -> usize {
    let v = version as usize;
    let mut n = (16 * v + 128) * v + 64;
    if v >= 2 {
        let align = v / 7 + 2;
        n -= (25 * align - 10) * align - 55;
        if v >= 7 {
            n -= 36;
        }
    }
    n
}

/// Data codewords (before ECC) that `version` holds at `ecc`.
pub fn data_codewords(version: u8, ecc: Ecc) -> usize {
    let l = level(ecc);
    let v = version as usize;
    raw_data_modules(version) / 8 - ECC_PER_BLOCK[l][v] as usize * NUM_BLOCKS[l][v] as usize
}

/// Width of the byte-mode character count field.
fn count_bits(version: u8) -> usize {
    if version <= 9 { 8 } else { 16 }
}

/// Most content bytes a byte-mode symbol of `version` holds at `ecc`.
pub fn byte_capacity(version: u8, ecc: Ecc) -> usize {
    (data_codewords(version, ecc) * 8 - 4 - count_bits(version)) / 8
}

/// Most content bytes any QR symbol holds at `ecc` (version 40).
pub fn max_content_len(ecc: Ecc) -> usize {
    byte_capacity(MAX_VERSION, ecc)
}

/// Most bytes of content of `content`'s kind a QR symbol holds at `ecc` in one byte segment:
/// [`max_content_len`], less the ECI designator that UTF-8 text beyond ASCII carries (2952,
/// not 2953, at L). Digits and upper case fit more, in their own segments.
pub fn max_len_like(content: &[u8], ecc: Ecc) -> usize {
    let eci = segment::eci_bits(segment::needs_eci(content));
    (data_bits(MAX_VERSION, ecc) - eci - 4 - count_bits(MAX_VERSION)) / 8
}

/// Data bits a `version` symbol holds at `ecc`.
pub fn data_bits(version: u8, ecc: Ecc) -> usize {
    data_codewords(version, ecc) * 8
}

/// The smallest version whose data bits at `ecc` hold `content` in its optimal segmentation
/// for that version's count fields, with that segmentation; `None` when version 40 does not.
pub fn choose_version(content: &[u8], ecc: Ecc) -> Option<(u8, Segmentation)> {
    // A class whose largest symbol cannot hold even the lower bound needs no search: a
    // version-40 byte content searches one class, not three.
    let floor = segment::lower_bound_bits(content);
    (0..3).find_map(|class| {
        let mut versions = segment::class_versions(class);
        if floor > data_bits(*versions.end(), ecc) {
            return None;
        }
        let seg = segment::optimal(content, class);
        let v = versions.find(|&v| data_bits(v, ecc) >= seg.bits)?;
        Some((v, seg))
    })
}

/// The strongest ECC level, `floor` or above, at which a `version` symbol still holds `bits`
/// data bits: the symbol's size is set by `floor`, and correction it has room for is free.
pub fn boosted(bits: usize, version: u8, floor: Ecc) -> Ecc {
    [Ecc::H, Ecc::Q, Ecc::M]
        .into_iter()
        .take_while(|&e| level(e) > level(floor))
        .find(|&e| data_bits(version, e) >= bits)
        .unwrap_or(floor)
}

/// How a `version`/`ecc` symbol's codewords are split into Reed–Solomon blocks, to find the
/// block an interleaved codeword belongs to and how many damaged codewords a block survives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blocks {
    /// Number of blocks.
    pub count: usize,
    /// ECC codewords per block.
    pub ecc_len: usize,
    /// Blocks holding one data codeword less than the rest (they come first).
    short: usize,
    /// Data codewords of a short block.
    short_data: usize,
    /// Misdecode-protection codewords (ISO/IEC 18004 table 9, `p`): ECC codewords of the
    /// smallest symbols reserved for detecting, not correcting, errors.
    protection: usize,
}

impl Blocks {
    pub fn new(version: u8, ecc: Ecc) -> Blocks {
        let l = level(ecc);
        let v = version as usize;
        let total = raw_data_modules(version) / 8;
        let count = NUM_BLOCKS[l][v] as usize;
        let ecc_len = ECC_PER_BLOCK[l][v] as usize;
        let protection = match (version, ecc) {
            (1, Ecc::L) => 3,
            (1, Ecc::M) | (2, Ecc::L) => 2,
            (1, _) | (3, Ecc::L) => 1,
            _ => 0,
        };
        Blocks {
            count,
            ecc_len,
            short: count - total % count,
            short_data: total / count - ecc_len,
            protection,
        }
    }

    /// The block of codeword `i` of the interleaved sequence ([`encode`]'s output order), `None`
    /// for the remainder bits past the last codeword.
    pub fn block_of(&self, i: usize) -> Option<usize> {
        let head = self.short_data * self.count; // data codewords every block has
        let data = head + (self.count - self.short);
        if i < head {
            Some(i % self.count)
        } else if i < data {
            Some(self.short + (i - head))
        } else if i < data + self.ecc_len * self.count {
            Some((i - data) % self.count)
        } else {
            None
        }
    }

    /// Wrong codewords one block can correct: half its ECC codewords, less the misdecode
    /// protection.
    pub fn correctable(&self) -> usize {
        (self.ecc_len - self.protection) / 2
    }
}

/// GF(256) with the QR field polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D): antilog table, doubled so
/// `EXP[log a + log b]` needs no reduction.
const EXP: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 512 {
        t[i] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11D;
        }
        i += 1;
    }
    t
};

/// Discrete logarithm base 2 in GF(256); `LOG[0]` is unused.
const LOG: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        t[EXP[i] as usize] = i as u8;
        i += 1;
    }
    t
};

const fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// Most ECC codewords per block in any version.
const MAX_ECC: usize = 30;

/// Generator polynomials ∏(x − αⁱ), i < d, for every degree d ≤ 30, as the logarithms of their
/// coefficients from x^(d−1) down to x⁰ (the leading 1 is implicit). Every coefficient of these
/// generators is non-zero, so logs are enough (asserted by a unit test); built at compile time so
/// an encode spends nothing on them.
const GEN_LOG: [[u8; MAX_ECC]; MAX_ECC + 1] = {
    let mut out = [[0u8; MAX_ECC]; MAX_ECC + 1];
    let mut d = 1;
    while d <= MAX_ECC {
        // coef[j] is the coefficient of x^(d-1-j); start from the polynomial 1 (= x^0).
        let mut coef = [0u8; MAX_ECC];
        coef[d - 1] = 1;
        let mut root: u8 = 1;
        let mut i = 0;
        while i < d {
            // Multiply by (x + root): shift up one degree and add root × the old polynomial.
            let mut j = 0;
            while j < d {
                let mut c = gf_mul(coef[j], root);
                if j + 1 < d {
                    c ^= coef[j + 1];
                }
                coef[j] = c;
                j += 1;
            }
            root = gf_mul(root, 2);
            i += 1;
        }
        let mut j = 0;
        while j < d {
            out[d][j] = LOG[coef[j] as usize];
            j += 1;
        }
        d += 1;
    }
    out
};

/// The products of every generator with every nibble value, for the division below: for degree
/// `d`, `GEN_NIBBLE[d][0][f]` is `f` × generator and `GEN_NIBBLE[d][1][f]` is `16·f` × generator
/// (multiplication in GF(256)), the `d` coefficients below the leading one as bytes, byte `j` of
/// the 32 being the coefficient of x^(d−1−j). Multiplication by a field element is linear over
/// GF(2), so `f` × generator is the XOR of the rows of its two nibbles. 31 KiB, built at compile
/// time; it turns the division into four or fewer word XORs per data codeword instead of `d`
/// logarithm lookups (26 per codeword for the version-3 short link, 30 for version 40).
static GEN_NIBBLE: [[[[u64; 4]; 16]; 2]; MAX_ECC + 1] = {
    let mut out = [[[[0u64; 4]; 16]; 2]; MAX_ECC + 1];
    let mut d = 1;
    while d <= MAX_ECC {
        let mut half = 0;
        while half < 2 {
            let mut f = 1;
            while f < 16 {
                let factor = (f << (4 * half)) as u8;
                let mut j = 0;
                while j < d {
                    let c = gf_mul(EXP[GEN_LOG[d][j] as usize], factor) as u64;
                    out[d][half][f][j / 8] |= c << (8 * (j % 8));
                    j += 1;
                }
                f += 1;
            }
            half += 1;
        }
        d += 1;
    }
    out
};

/// The `ecc.len()` Reed–Solomon check codewords of `data` (remainder of data·x^d ÷ generator).
fn reed_solomon(data: &[u8], ecc: &mut [u8]) {
    match ecc.len().div_ceil(8) {
        1 => reed_solomon_words::<1>(data, ecc),
        2 => reed_solomon_words::<2>(data, ecc),
        3 => reed_solomon_words::<3>(data, ecc),
        _ => reed_solomon_words::<4>(data, ecc),
    }
}

/// [`reed_solomon`] with the remainder held in `N` little-endian words: byte 0 is the
/// coefficient that leaves next, so one division step is a one-byte shift of the words and an
/// XOR of the factor's generator multiple.
#[inline(always)]
fn reed_solomon_words<const N: usize>(data: &[u8], ecc: &mut [u8]) {
    let d = ecc.len();
    let table = &GEN_NIBBLE[d];
    let mut rem = [0u64; N];
    for &b in data {
        let factor = (b ^ rem[0] as u8) as usize;
        let lo = &table[0][factor & 15];
        let hi = &table[1][factor >> 4];
        for i in 0..N {
            let next = if i + 1 < N { rem[i + 1] << 56 } else { 0 };
            rem[i] = ((rem[i] >> 8) | next) ^ lo[i] ^ hi[i];
        }
    }
    for (j, e) in ecc.iter_mut().enumerate() {
        *e = (rem[j / 8] >> (8 * (j % 8))) as u8;
    }
}

/// Writes the final codeword sequence of `content`, split as `seg`, for `version`/`ecc` into
/// `out` (cleared first): the segments, terminator, pad bytes, then the blocks' data and ECC
/// codewords interleaved. The caller has checked `seg.bits <= data_bits(version, ecc)` and
/// that `seg` is for `version`'s class.
pub fn encode(content: &[u8], seg: &Segmentation, version: u8, ecc: Ecc, out: &mut Vec<u8>) {
    let l = level(ecc);
    let v = version as usize;
    let total = raw_data_modules(version) / 8;
    let blocks = NUM_BLOCKS[l][v] as usize;
    let ecc_len = ECC_PER_BLOCK[l][v] as usize;
    let data_len = total - blocks * ecc_len;
    debug_assert!(seg.bits <= data_len * 8);
    debug_assert_eq!(seg.class, segment::class_of(version));

    // One block (versions 1–5 at most levels) is already in the final order: data then ECC,
    // written in place. More blocks are written block by block and then interleaved.
    out.clear();
    out.resize(total, 0);
    let mut blocked = Vec::new();
    let seq: &mut [u8] = if blocks == 1 {
        out
    } else {
        blocked.resize(total, 0);
        &mut blocked
    };
    if seg.is_single_byte() {
        byte_stream(content, version, &mut seq[..data_len]);
    } else {
        segment_stream(content, seg, &mut seq[..data_len]);
    }

    // The first `short` blocks hold one data codeword less than the rest; ECC after all data.
    let short = blocks - total % blocks;
    let short_data = total / blocks - ecc_len;
    let (data, ecc_all) = seq.split_at_mut(data_len);
    let mut start = 0;
    for (b, ecc_block) in ecc_all.chunks_exact_mut(ecc_len).enumerate() {
        let len = short_data + usize::from(b >= short);
        reed_solomon(&data[start..start + len], ecc_block);
        start += len;
    }
    if blocks == 1 {
        return;
    }

    let mut i = 0;
    for k in 0..=short_data {
        let mut start = 0;
        for b in 0..blocks {
            let len = short_data + usize::from(b >= short);
            if k < len {
                out[i] = blocked[start + k];
                i += 1;
            }
            start += len;
        }
    }
    for k in 0..ecc_len {
        for b in 0..blocks {
            out[i] = blocked[data_len + b * ecc_len + k];
            i += 1;
        }
    }
    debug_assert_eq!(i, total);
}

/// The data codewords of one byte segment: mode indicator, count, bytes, terminator, pad
/// bytes, into `data` (its length is the symbol's data codeword count). Byte-aligned, so
/// faster than [`segment_stream`], which writes the same bits.
fn byte_stream(content: &[u8], version: u8, data: &mut [u8]) {
    // The 4-bit mode plus an 8- or 16-bit count is 4 bits short of a byte boundary, so every
    // content byte straddles two codewords: carry its low nibble.
    let n = content.len();
    let mut pos;
    if count_bits(version) == 8 {
        data[0] = 0x40 | (n >> 4) as u8;
        pos = 1;
    } else {
        data[0] = 0x40 | (n >> 12) as u8;
        data[1] = (n >> 4) as u8;
        pos = 2;
    }
    // low nibble of the previous field, already shifted to the high half
    let mut carry = ((n & 0x0F) as u8) << 4;
    for (d, &b) in data[pos..pos + n].iter_mut().zip(content) {
        *d = carry | (b >> 4);
        carry = b << 4;
    }
    pos += n;
    // The last nibble plus a 4-bit terminator (capacity is checked, so it always fits).
    data[pos] = carry;
    pos += 1;
    for (i, d) in data[pos..].iter_mut().enumerate() {
        *d = if i % 2 == 0 { 0xEC } else { 0x11 };
    }
}

/// Appends bit fields to the data codewords, most significant bit first.
struct BitWriter<'a> {
    data: &'a mut [u8],
    /// Pending bits, the low `pending` of them not yet written.
    acc: u64,
    pending: u32,
    /// Next codeword to write.
    pos: usize,
}

impl BitWriter<'_> {
    /// Appends the low `len` (≤ 32) bits of `value`.
    fn put(&mut self, value: u32, len: u32) {
        self.acc = (self.acc << len) | u64::from(value);
        self.pending += len;
        while self.pending >= 8 {
            self.pending -= 8;
            self.data[self.pos] = (self.acc >> self.pending) as u8;
            self.pos += 1;
        }
    }
}

/// The data codewords of any segmentation: per segment mode indicator, count and data, then
/// terminator, zero bits to the byte boundary and pad bytes, into `data` (its length is the
/// symbol's data codeword count).
fn segment_stream(content: &[u8], seg: &Segmentation, data: &mut [u8]) {
    let capacity = data.len() * 8;
    let mut w = BitWriter {
        data,
        acc: 0,
        pending: 0,
        pos: 0,
    };
    if seg.eci {
        w.put(0b0111, 4);
        w.put(segment::ECI_UTF8, 8);
    }
    for s in &seg.segments {
        let part = &content[s.start..s.end];
        w.put(s.mode.indicator(), 4);
        w.put(part.len() as u32, s.mode.count_bits(seg.class) as u32);
        match s.mode {
            Mode::Numeric => {
                for group in part.chunks(3) {
                    let v = group.iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0'));
                    w.put(v, [0, 4, 7, 10][group.len()]);
                }
            }
            Mode::Alphanumeric => {
                let value = |b| u32::from(segment::alphanumeric_value(b).unwrap_or(0));
                for pair in part.chunks(2) {
                    match *pair {
                        [a, b] => w.put(value(a) * 45 + value(b), 11),
                        [a] => w.put(value(a), 6),
                        _ => {}
                    }
                }
            }
            Mode::Byte => part.iter().for_each(|&b| w.put(u32::from(b), 8)),
        }
    }
    // Terminator: up to 4 zero bits, fewer when the symbol is full; then to the byte boundary.
    w.put(0, (capacity - seg.bits).min(4) as u32);
    if w.pending > 0 {
        w.put(0, 8 - w.pending);
    }
    let pos = w.pos;
    for (i, d) in data[pos..].iter_mut().enumerate() {
        *d = if i % 2 == 0 { 0xEC } else { 0x11 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_match_the_standard() {
        // ISO/IEC 18004 table 7, byte mode.
        assert_eq!(byte_capacity(1, Ecc::L), 17);
        assert_eq!(byte_capacity(1, Ecc::H), 7);
        assert_eq!(byte_capacity(9, Ecc::M), 180);
        assert_eq!(byte_capacity(10, Ecc::M), 213);
        assert_eq!(max_content_len(Ecc::L), 2953);
        assert_eq!(max_len_like(&[b'a'; 3], Ecc::L), 2953);
        // not UTF-8: no character set to name, no designator
        assert_eq!(max_len_like(&[0xff; 3], Ecc::L), 2953);
        let text = "ø".repeat(1476);
        assert_eq!(max_len_like(text.as_bytes(), Ecc::L), 2952);
        assert!(choose_version(text.as_bytes(), Ecc::L).is_some());
        let longer = text + "a";
        assert!(choose_version(longer.as_bytes(), Ecc::L).is_none());
        assert_eq!(max_content_len(Ecc::M), 2331);
        assert_eq!(max_content_len(Ecc::Q), 1663);
        assert_eq!(max_content_len(Ecc::H), 1273);
        assert_eq!(raw_data_modules(MAX_VERSION) / 8, 3706);
    }

    #[test]
    fn generator_coefficients_are_never_zero() {
        for d in 1..=MAX_ECC {
            let mut coef = vec![1u8];
            let mut root = 1u8;
            for _ in 0..d {
                // coef (highest first) × (x + root)
                let mut next = coef.clone();
                next.push(0);
                for (j, &c) in coef.iter().enumerate() {
                    next[j + 1] ^= gf_mul(c, root);
                }
                coef = next;
                root = gf_mul(root, 2);
            }
            assert!(coef[1..].iter().all(|&c| c != 0), "degree {d}");
            let logs: Vec<u8> = coef[1..].iter().map(|&c| LOG[c as usize]).collect();
            assert_eq!(&GEN_LOG[d][..d], &logs[..], "degree {d}");
        }
    }

    /// The division by logarithms, one coefficient at a time: the oracle for the word version.
    fn reed_solomon_by_logs(data: &[u8], d: usize) -> Vec<u8> {
        let mut rem = vec![0u8; d + 1];
        for &b in data {
            let factor = b ^ rem[0];
            rem.copy_within(1..=d, 0);
            rem[d] = 0;
            if factor != 0 {
                let lf = LOG[factor as usize] as usize;
                for (r, &g) in rem[..d].iter_mut().zip(&GEN_LOG[d][..d]) {
                    *r ^= EXP[g as usize + lf];
                }
            }
        }
        rem.truncate(d);
        rem
    }

    #[test]
    fn word_division_equals_division_by_logs() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        for d in 1..=MAX_ECC {
            for len in [1, 2, 13, 44, 123] {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        s as u8
                    })
                    .collect();
                let mut ecc = vec![0u8; d];
                reed_solomon(&data, &mut ecc);
                assert_eq!(
                    ecc,
                    reed_solomon_by_logs(&data, d),
                    "degree {d}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn reed_solomon_of_a_known_message() {
        // "HELLO WORLD" 1-M from Thonky's worked example: data and its 10 ECC codewords.
        let data = [
            32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17,
        ];
        let mut ecc = [0u8; 10];
        reed_solomon(&data, &mut ecc);
        assert_eq!(ecc, [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
    }
}
