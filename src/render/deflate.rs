//! Deflate (RFC 1951) for the image writers: a list of literals and back-references, coded as
//! one block with Huffman codes built for exactly that list.
//!
//! The PNG writer knows where the repeats of a QR raster are (rows equal to the row above,
//! runs of one byte), so it finds the matches itself; this module only turns them into bits.
//! A QR raster uses few distinct bytes (`0x00`, `0xFF`, and a handful of edge bytes) and few
//! distances (one row, one byte), so codes built for them beat the fixed code by far: most
//! symbols cost one to three bits.

/// Literal/length alphabet size: 256 literals, end of block, 29 length symbols.
const LITLEN: usize = 286;
/// Distance alphabet size.
const DISTS: usize = 30;
/// End-of-block symbol.
const EOB: usize = 256;
/// Longest and shortest match.
const MAX_MATCH: usize = 258;
const MIN_MATCH: usize = 3;
/// Farthest back a match may reach.
pub(crate) const WINDOW: usize = 32768;

/// A match token has this bit set; below it, the symbols the block writer puts out, split
/// when the match is counted: length symbol − 257 (bits 0–4) and its extra bits' value (5–9),
/// distance symbol (10–14) and its extra bits' value (15–27). The writer then only looks up
/// codes (with the Huffman build below, the writer alone for the short link at 800 px went
/// from 256 619 to 248 781 instructions, callgrind).
const MATCH: u32 = 1 << 31;
/// A token with this bit (and not `MATCH`) repeats the match before it as many more times as
/// its low bits say: a row's repeats are hundreds of one 258-byte match, one token here.
const REPEAT: u32 = 1 << 30;

/// The token list of one block and its symbol counts.
pub(crate) struct Tokens {
    toks: Vec<u32>,
    /// The copy not yet split into matches: consecutive copies from one distance are one copy
    /// (a row's repeats and the start of the next row both copy the row above).
    pending: (usize, usize),
    lit: [u32; LITLEN],
    dist: [u32; DISTS],
}

impl Tokens {
    pub fn with_capacity(n: usize) -> Tokens {
        Tokens {
            toks: Vec::with_capacity(n),
            pending: (0, 0),
            lit: [0; LITLEN],
            dist: [0; DISTS],
        }
    }

    #[inline(always)]
    pub fn literal(&mut self, b: u8) {
        // most literals follow a literal: no call then
        if self.pending.0 != 0 {
            self.split_pending();
        }
        self.toks.push(u32::from(b));
        self.lit[b as usize] += 1;
    }

    /// Copies `len` bytes from `dist` (1..=32768) back: at least 3, unless it extends the
    /// pending copy (see [`Tokens::pending_distance`]).
    #[inline]
    pub fn copy(&mut self, dist: usize, len: usize) {
        debug_assert!(len >= MIN_MATCH || dist == self.pending.1);
        debug_assert!((1..=WINDOW).contains(&dist));
        if self.pending.1 == dist {
            self.pending.0 += len;
        } else {
            self.split_pending();
            self.pending = (len, dist);
        }
    }

    /// The distance of the copy a `copy` from it would extend (0: none); such an extension
    /// may be shorter than 3 bytes.
    pub fn pending_distance(&self) -> usize {
        self.pending.1
    }

    /// Emits the pending copy as matches of at most 258 bytes: a row's repeats are hundreds
    /// of identical 258-byte matches, pushed as one batch.
    #[inline(always)]
    fn split_pending(&mut self) {
        let (len, dist) = std::mem::take(&mut self.pending);
        if len == 0 {
            return;
        }
        if len <= MAX_MATCH {
            // one match (most copies): a pending copy starts at 3 bytes and only grows
            self.push_match(len, dist_token(dist));
            return;
        }
        self.split_long(len, dist);
    }

    /// Pushes a match of `len` (3..=258) bytes whose distance is `dist` ([`dist_token`]) and
    /// counts its two symbols.
    #[inline(always)]
    fn push_match(&mut self, len: usize, dist: u32) {
        let (sym, value) = LEN_SYMBOL[len];
        self.toks
            .push(MATCH | u32::from(sym) | u32::from(value) << 5 | dist);
        self.lit[257 + sym as usize] += 1;
        self.dist[(dist >> 10 & 31) as usize] += 1;
    }

    /// [`Tokens::split_pending`] of a copy longer than one match.
    #[inline(never)]
    fn split_long(&mut self, len: usize, dist: usize) {
        let dist = dist_token(dist);
        let (mut full, rem) = (len / MAX_MATCH, len % MAX_MATCH);
        // a last piece of 1 or 2 bytes cannot be a match: the one before gives it bytes
        let tail: &[usize] = match rem {
            0 => &[],
            1 | 2 => {
                full -= 1;
                &[MAX_MATCH + rem - MIN_MATCH, MIN_MATCH]
            }
            _ => &[rem],
        };
        if full > 0 {
            self.push_match(MAX_MATCH, dist);
            if full > 1 {
                self.toks.push(REPEAT | (full - 1) as u32);
                self.lit[257 + LEN_SYMBOL[MAX_MATCH].0 as usize] += full as u32 - 1;
                self.dist[(dist >> 10 & 31) as usize] += full as u32 - 1;
            }
        }
        for &piece in tail {
            self.push_match(piece, dist);
        }
    }

    /// Writes the tokens as one dynamic-Huffman block (the last one when `last`).
    pub fn write_block(&mut self, bits: &mut BitWriter, out: &mut Vec<u8>, last: bool) {
        self.split_pending();
        self.lit[EOB] = 1;
        let mut lit_len = [0u8; LITLEN];
        let mut dist_len = [0u8; DISTS];
        code_lengths(&self.lit, 15, &mut lit_len);
        code_lengths(&self.dist, 15, &mut dist_len);
        let lit_code = canonical(&lit_len);
        let dist_code = canonical(&dist_len);

        bits.put(out, u32::from(last) | 0b100, 3); // BFINAL, BTYPE = 10
        write_header(bits, out, &lit_len, &dist_len);
        // Per length and distance symbol: its code, the code's bit count (where the extra
        // bits go) and the bit count with them.
        let mut len_code = [(0u32, 0u32, 0u32); 29];
        for (sym, c) in len_code.iter_mut().enumerate() {
            let n = u32::from(lit_len[257 + sym]);
            *c = (lit_code[257 + sym], n, n + u32::from(LENGTH_EXTRA[sym]));
        }
        let mut dist_sym = [(0u32, 0u32, 0u32); DISTS];
        for (d, c) in dist_sym.iter_mut().enumerate() {
            let n = u32::from(dist_len[d]);
            *c = (dist_code[d], n, n + DIST_EXTRA[d]);
        }
        // the last match's bits, for the repeats that follow it
        let (mut len_bits, mut dist_bits) = ((0, 0), (0, 0));
        for &t in &self.toks {
            if t & MATCH == 0 {
                if t & REPEAT == 0 {
                    let s = t as usize;
                    bits.put(out, lit_code[s], u32::from(lit_len[s]));
                } else if len_bits.1 + dist_bits.1 <= 32 {
                    let both = len_bits.0 | dist_bits.0 << len_bits.1;
                    for _ in 0..t & !REPEAT {
                        bits.put(out, both, len_bits.1 + dist_bits.1);
                    }
                } else {
                    for _ in 0..t & !REPEAT {
                        bits.put(out, len_bits.0, len_bits.1);
                        bits.put(out, dist_bits.0, dist_bits.1);
                    }
                }
                continue;
            }
            let (code, n, all) = len_code[(t & 31) as usize];
            len_bits = (code | (t >> 5 & 31) << n, all);
            let (code, n, all) = dist_sym[(t >> 10 & 31) as usize];
            dist_bits = (code | (t >> 15 & 0x1FFF) << n, all);
            bits.put(out, len_bits.0, len_bits.1);
            bits.put(out, dist_bits.0, dist_bits.1);
        }
        bits.put(out, lit_code[EOB], u32::from(lit_len[EOB]));
    }
}

/// Order in which the code-length code's lengths are sent (RFC 1951 §3.2.7).
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The dynamic block header: alphabet sizes, the code-length code, then both codes' lengths
/// run-length coded with it.
fn write_header(bits: &mut BitWriter, out: &mut Vec<u8>, lit_len: &[u8], dist_len: &[u8]) {
    let hlit = 257
        + lit_len[257..]
            .iter()
            .rposition(|&l| l > 0)
            .map_or(0, |i| i + 1);
    let hdist = 1 + dist_len[1..]
        .iter()
        .rposition(|&l| l > 0)
        .map_or(0, |i| i + 1);
    let mut seq = [0u8; LITLEN + DISTS];
    seq[..hlit].copy_from_slice(&lit_len[..hlit]);
    seq[hlit..hlit + hdist].copy_from_slice(&dist_len[..hdist]);
    let seq = &seq[..hlit + hdist];

    // (symbol, extra bits value); symbols 16/17/18 repeat the previous length or zeros.
    let mut ops = [(0u8, 0u8); LITLEN + DISTS];
    let mut n_ops = 0;
    let mut freq = [0u32; 19];
    let mut emit = |sym: u8, extra: u8| {
        ops[n_ops] = (sym, extra);
        n_ops += 1;
        freq[sym as usize] += 1;
    };
    let mut i = 0;
    while i < seq.len() {
        let v = seq[i];
        let mut run = seq[i..].iter().take_while(|&&l| l == v).count();
        i += run;
        if v == 0 {
            while run >= 11 {
                let r = run.min(138);
                emit(18, (r - 11) as u8);
                run -= r;
            }
            if run >= 3 {
                emit(17, (run - 3) as u8);
                run = 0;
            }
        } else {
            emit(v, 0);
            run -= 1;
            while run >= 3 {
                let r = run.min(6);
                emit(16, (r - 3) as u8);
                run -= r;
            }
        }
        for _ in 0..run {
            emit(v, 0);
        }
    }

    let mut cl_len = [0u8; 19];
    code_lengths(&freq, 7, &mut cl_len);
    let cl_code = canonical(&cl_len);
    let hclen = 4.max(1 + CL_ORDER.iter().rposition(|&s| cl_len[s] > 0).unwrap_or(0));
    bits.put(out, (hlit - 257) as u32, 5);
    bits.put(out, (hdist - 1) as u32, 5);
    bits.put(out, (hclen - 4) as u32, 4);
    for &s in &CL_ORDER[..hclen] {
        bits.put(out, u32::from(cl_len[s]), 3);
    }
    for &(sym, extra) in &ops[..n_ops] {
        let s = sym as usize;
        let n = u32::from(cl_len[s]);
        let extra_bits = match sym {
            16 => 2,
            17 => 3,
            18 => 7,
            _ => 0,
        };
        bits.put(out, cl_code[s] | u32::from(extra) << n, n + extra_bits);
    }
}

/// Huffman code lengths for `freq` (0 = unused), none longer than `limit`. The code is always
/// complete (zlib refuses incomplete literal/length codes): a lone used symbol gets a one-bit
/// partner. Too deep a tree is rebuilt from flattened counts, halved towards 1 until it fits;
/// counts of 1 and 2 give depth ≤ ⌈log₂ n⌉ + 1, within every limit deflate sets.
fn code_lengths(freq: &[u32], limit: u8, out: &mut [u8]) {
    out.fill(0);
    // count << 16 | symbol, so one integer sort orders by count then symbol; a Vec sized for
    // every symbol, not a 286-entry array: zeroing that per code cost more than building the
    // code (callgrind), and a collected iterator grew by reallocating
    let mut leaves: Vec<u64> = Vec::with_capacity(freq.len());
    for (s, &f) in freq.iter().enumerate() {
        if f > 0 {
            leaves.push(u64::from(f) << 16 | s as u64);
        }
    }
    let n = leaves.len();
    if n < 2 {
        // zero or one symbol: two one-bit codes (symbol 0 or 1 as the spare)
        let used = if n == 1 {
            (leaves[0] & 0xFFFF) as usize
        } else {
            0
        };
        out[used] = 1;
        out[usize::from(used == 0)] = 1;
        return;
    }
    leaves.sort_unstable();
    let mut depth = [0u32; LITLEN];
    loop {
        let depth = &mut depth[..n];
        for (d, &l) in depth.iter_mut().zip(&leaves) {
            *d = (l >> 16) as u32;
        }
        huffman_depths(depth);
        // the least frequent leaf is the deepest
        if depth[0] <= u32::from(limit) {
            for (&d, &l) in depth.iter().zip(&leaves) {
                out[(l & 0xFFFF) as usize] = d as u8;
            }
            return;
        }
        for l in leaves.iter_mut() {
            *l = ((*l >> 17) + 1) << 16 | (*l & 0xFFFF);
        }
    }
}

/// Huffman depths in place (Moffat and Katajainen's method): `a` holds n ≥ 2 weights in
/// non-decreasing order and ends holding each one's depth. Internal nodes are made in
/// non-decreasing weight order into the front of `a` (two queues, a leaf taken on ties), each
/// then holding its parent's index; one pass back down gives their depths, and a last pass
/// hands the leaves the depths level by level, the deepest to the lightest. No allocation
/// and no tree (the three codes of the short link at 800 px: 13.5 k → 10.5 k instructions
/// against a node array, callgrind). 32-bit weights hold any sum: a block's symbol counts
/// add up to its token count.
fn huffman_depths(a: &mut [u32]) {
    let n = a.len();
    a[0] += a[1];
    let (mut root, mut leaf) = (0, 2);
    for next in 1..n - 1 {
        if leaf >= n || a[root] < a[leaf] {
            a[next] = a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] = a[leaf];
            leaf += 1;
        }
        if leaf >= n || (root < next && a[root] < a[leaf]) {
            a[next] += a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] += a[leaf];
            leaf += 1;
        }
    }
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[a[next] as usize] + 1;
    }
    let (mut avail, mut used, mut depth) = (1, 0, 0);
    let (mut root, mut next) = (n as isize - 2, n - 1);
    while avail > 0 {
        while root >= 0 && a[root as usize] == depth {
            used += 1;
            root -= 1;
        }
        while avail > used {
            a[next] = depth;
            next = next.wrapping_sub(1);
            avail -= 1;
        }
        avail = 2 * used;
        depth += 1;
        used = 0;
    }
}

/// Canonical codes of `lens` (RFC 1951 §3.2.2), bit-reversed for the LSB-first stream.
fn canonical<const N: usize>(lens: &[u8; N]) -> [u32; N] {
    let mut count = [0u32; 16];
    for_each_used(lens, |_, l| count[l as usize] += 1);
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    let mut codes = [0u32; N];
    for_each_used(lens, |s, l| {
        codes[s] = next[l as usize].reverse_bits() >> (32 - u32::from(l));
        next[l as usize] += 1;
    });
    codes
}

/// Calls `f(symbol, length)` for each non-zero length in `lens`, in symbol order, testing
/// eight lengths per word: an image's codes use a few dozen of the 286 literal/length
/// symbols (the short link at 800 px: 1.6 k fewer instructions than a pass per entry).
#[inline(always)]
fn for_each_used(lens: &[u8], mut f: impl FnMut(usize, u8)) {
    let mut words = lens.chunks_exact(8);
    for (k, w) in (&mut words).enumerate() {
        let mut x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        while x != 0 {
            let b = x.trailing_zeros() / 8;
            f(k * 8 + b as usize, (x >> (8 * b)) as u8);
            x &= !(0xFF << (8 * b));
        }
    }
    let at = lens.len() - words.remainder().len();
    for (i, &l) in words.remainder().iter().enumerate() {
        if l > 0 {
            f(at + i, l);
        }
    }
}

/// Base lengths of symbols 257..=285 (RFC 1951 §3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of codes 0..=29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];

/// Extra bits of distance codes 0..=29.
const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Match length → (length symbol − 257, its extra bits' value), a table: a scan of the bases
/// per match cost a third of an earlier writer's time (perf).
const LEN_SYMBOL: [(u8, u8); 259] = {
    let mut t = [(0u8, 0u8); 259];
    let mut len = MIN_MATCH;
    while len <= MAX_MATCH {
        let mut i = 28;
        while LENGTH_BASE[i] as usize > len {
            i -= 1;
        }
        t[len] = (i as u8, (len - LENGTH_BASE[i] as usize) as u8);
        len += 1;
    }
    t
};

/// A distance's bits in a match token: its symbol at bit 10, its extra bits' value at bit 15.
#[inline(always)]
fn dist_token(dist: usize) -> u32 {
    let (code, _, value) = dist_symbol(dist);
    (code as u32) << 10 | value << 15
}

/// Distance → (code, extra bit count, extra bits value). Codes past 3 come in pairs per power
/// of two: code 2·⌊log₂(d−1)⌋ + the next bit down of d − 1.
#[inline]
fn dist_symbol(dist: usize) -> (usize, u32, u32) {
    let d1 = (dist - 1) as u32;
    if d1 < 4 {
        return (d1 as usize, 0, 0);
    }
    let top = 31 - d1.leading_zeros();
    let code = (2 * top + ((d1 >> (top - 1)) & 1)) as usize;
    (code, top - 1, dist as u32 - u32::from(DIST_BASE[code]))
}

/// Extra bits a match at `dist` carries.
#[inline]
pub(crate) fn dist_extra_bits(dist: usize) -> u32 {
    dist_symbol(dist).1
}

/// LSB-first bit packer for the deflate stream.
#[derive(Default)]
pub(crate) struct BitWriter {
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `count` (≤ 32) bits of `bits`; whole 32-bit words go out as they fill
    /// (fewer instructions per symbol than storing every byte as it completes).
    #[inline(always)]
    pub fn put(&mut self, out: &mut Vec<u8>, bits: u32, count: u32) {
        self.acc |= u64::from(bits) << self.n;
        self.n += count;
        if self.n >= 32 {
            out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary and writes out what is pending.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        while self.n > 0 {
            out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.acc = 0;
    }
}

// Match choice for the row matcher both PNG writers share (`lz.rs`).

/// The best match so far by [`match_gain`]; a later candidate must gain strictly more, so the
/// nearer (tried first) wins ties.
#[derive(Default)]
pub(crate) struct Best {
    pub len: usize,
    pub dist: usize,
    pub gain: isize,
    /// The distance of the pending copy: continuing it costs no new match.
    pub pending: usize,
}

impl Best {
    #[inline]
    pub(crate) fn consider(&mut self, len: usize, dist: usize) {
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
pub(crate) const LITERAL_BITS: isize = 2;

/// Estimated bits a match of `len` at `dist` saves over literals (≤ 0: not worth it). Literals
/// of a QR raster cost ~3 bits (few distinct bytes); a match's two symbols ~6 plus the
/// distance's extra bits, so a short match far back costs more than it saves.
#[inline]
pub(crate) fn match_gain(len: usize, dist: usize) -> isize {
    if len < 3 {
        return 0;
    }
    LITERAL_BITS * len as isize - 6 - dist_extra_bits(dist) as isize
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline]
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_symbols_match_the_table() {
        for dist in 1..=WINDOW {
            let i = DIST_BASE.iter().rposition(|&b| b as usize <= dist).unwrap();
            let want = (i, DIST_EXTRA[i], (dist - DIST_BASE[i] as usize) as u32);
            assert_eq!(dist_symbol(dist), want, "distance {dist}");
        }
    }

    #[test]
    fn length_symbols_cover_their_ranges() {
        for (len, &(sym, value)) in LEN_SYMBOL.iter().enumerate().skip(MIN_MATCH) {
            let base = LENGTH_BASE[sym as usize] as usize;
            assert_eq!(base + value as usize, len, "length {len}");
            assert!(
                u32::from(value) < 1 << LENGTH_EXTRA[sym as usize],
                "length {len}"
            );
        }
        assert_eq!(LEN_SYMBOL[258], (28, 0));
        assert_eq!(LEN_SYMBOL[257], (27, 30));
    }

    /// Kraft sum of `lens` in units of 2^-15: exactly 2^15 for a complete code.
    fn kraft(lens: &[u8]) -> u32 {
        lens.iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u32 << (15 - l))
            .sum()
    }

    #[test]
    fn codes_are_complete_and_limited() {
        // Fibonacci counts make the deepest possible tree: 30 symbols would need 29 bits.
        let mut fib = [0u32; 30];
        let (mut a, mut b) = (1u32, 1u32);
        for f in fib.iter_mut() {
            *f = a;
            (a, b) = (b, a + b);
        }
        for (freq, limit) in [
            (&fib[..], 15u8),
            (&fib[..19], 7),
            (&[0, 0, 5, 0][..], 15),
            (&[0, 0, 0][..], 15),
            (&[3, 3, 3, 3, 3][..], 7),
        ] {
            let mut lens = vec![0u8; freq.len().max(2)];
            let mut f = freq.to_vec();
            f.resize(lens.len(), 0);
            code_lengths(&f, limit, &mut lens);
            assert!(lens.iter().all(|&l| l <= limit), "{lens:?}");
            assert_eq!(kraft(&lens), 1 << 15, "{freq:?} → {lens:?}");
            for (s, &c) in f.iter().enumerate() {
                assert!(c == 0 || lens[s] > 0, "used symbol {s} has a code");
            }
        }
    }

    #[test]
    fn huffman_lengths_are_optimal_when_unconstrained() {
        let freq = [45u32, 13, 12, 16, 9, 5];
        let mut lens = [0u8; 6];
        code_lengths(&freq, 15, &mut lens);
        let cost: u32 = freq.iter().zip(lens).map(|(&f, l)| f * u32::from(l)).sum();
        assert_eq!(cost, 224); // the textbook example's optimum
    }
}
