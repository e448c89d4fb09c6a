//! LZ77 for the plain PNG writer, asked per module boundary instead of per byte.
//!
//! A pixel row of a plain code is a pure function of its module row (and the fixed pixel
//! phase of each module), so whether a byte run copies a source is known from the module rows:
//! a copy from the same column of an earlier row extends until the first module that differs
//! there (one bit scan over the XOR of the two module rows), and a table maps that module to
//! the byte holding its first pixel; a run of one byte (distance 1) extends until the next
//! colour change the same way. Each source's answer holds for every byte up to that end, so it
//! is cached and asked again only when the position passes it: a byte costs a compare per
//! source, a module boundary a bit scan. Other columns (the same module sequence at the same
//! pixel phase elsewhere) are found through a small hash table of the bytes at colour
//! changes, looked up only where the sources above fall short: the rows and that table are the
//! [`History`] the styled writer's matcher keeps too, so the chain walk is one piece of code.
//! See `PERFORMANCE.md` ("The PNG writer") for the measurements.

use super::deflate::{Tokens, WINDOW, dist_extra_bits};
use super::lz::{History, equal};

/// Bit words of a module row with its quiet zone: up to 177 + 2 · 16 modules.
const LINE_WORDS: usize = 4;
/// A module row with its quiet zone, bit m = module m is dark; bits past the row are 0.
pub(crate) type FullLine = [u64; LINE_WORDS];
const LINE_BITS: usize = LINE_WORDS * 64;

/// Distinct rows just above a new row asked for same-column copies. One: over the 48 plain
/// cases of `tests/it/render/png_size.rs` (ratio to `zopflipng -m`, with [`LEAD`] = 3) 1 row
/// gives a median of 1.092×, 2 rows 1.100×, 3 rows 1.101×, 6 rows 1.106× (worst 1.194× each):
/// a farther row's longer copy costs distance bits and leaves a short, costly tail, and each
/// row asked costs a compare per token.
const ABOVE: usize = 1;
/// A match from the sources this long is taken without a hash lookup. 9 and no lazy step
/// (a literal where the copy one byte on gains more): 1.098× median / 1.188× worst over the 48
/// plain cases with 2 % fewer instructions than 6 with the lazy step (1.099× / 1.185×); 6
/// without it went over the median target (1.100×).
const GOOD_MATCH: usize = 9;
/// Estimated bits of a literal, against ~6 of a match plus its distance's extra bits. 3, not
/// the byte matcher's 2 ([`super::deflate::LITERAL_BITS`]): over the 48 plain cases of
/// `tests/it/render/png_size.rs` (ratio to `zopflipng -m`) 2 gives 1.096× median / 1.194× worst,
/// 3 gives 1.099× / 1.185× with 4 % fewer instructions (short link, 800 px) and 7 % fewer at
/// version 40 (fewer, longer copies: a literal is most often an edge byte, which costs ~7 bits).
const LITERAL_BITS: isize = 3;
/// Bytes before each colour change that are looked up too (a copy from another column often
/// starts on the uniform bytes before the change). Measured (median / worst ratio to
/// `zopflipng -m`, one row above, each of these bytes hashed itself): 0 → 1.111× / 1.243×,
/// 1 → 1.209× worst, 3 → 1.092× / 1.194×, 5 → 1.090× / 1.193×.
const LEAD: usize = 3;
/// Bytes hashed at each change column. The table holds the change columns alone, and a lookup
/// up to [`LEAD`] bytes before a change uses that change's key, each entry tried as a source
/// as many bytes before it: a quarter of the inserts of hashing every looked-up byte. With 8
/// bytes the worst case went to 1.205×; the key must not be longer than the copies that start
/// on the lead bytes and end a few bytes past the change (measured in `PERFORMANCE.md`).
const KEY: usize = 7;

/// What one source answers at the current position: no copy before `from`, a copy ending at
/// `end` from there; asked again at `end`.
#[derive(Clone, Copy, Default)]
struct Span {
    from: usize,
    end: usize,
}

/// LZ77 over the distinct pixel rows of a plain code, each followed by its repeats.
pub(crate) struct GridLz {
    /// Bytes per row (filter byte + packed pixels).
    n: usize,
    /// Byte holding module m's first pixel; `n` for m ≥ total.
    first_byte: [u16; LINE_BITS + 1],
    /// First byte whose first pixel is at or after module m's first pixel.
    after_byte: [u16; LINE_BITS + 1],
    /// Module holding byte i's first pixel (byte 0, the filter byte, counts as module 0).
    module_of: Vec<u8>,
    /// The distinct pixel rows and the hash table of their colour-change columns.
    history: History,
    /// The module row of each distinct row.
    lines: Vec<FullLine>,
    /// The table slot of each change column of the row being tokenized (set before it is
    /// read, so never cleared), computed once for its lookups and its insert.
    slot: [u16; LINE_BITS],
    /// The change columns of the row being tokenized that have a slot (a bit per byte).
    keyed: FullLine,
    /// Whether other columns are looked up in the table at all: not when every module starts
    /// on a multiple of 4 pixels (4, 8, 12 … px per module, so a byte holds at most two
    /// modules and the rows' bytes take at most four values, a literal ~2 bits). There the
    /// table's copies cost more than the literals and nearer copies they displace: over the 48
    /// plain cases of `tests/it/render/png_size.rs` (ratio to `zopflipng -m`) the six at 4 px
    /// per module went from 1.066–1.157× with the table to 1.022–1.077× without it (median
    /// 1.098× → 1.089×, no other case changed); with the table and a literal estimated at 2
    /// bits they stayed at 1.066–1.145×. zopflipng codes those images almost all in
    /// literals too; with the bytes between copy starts put out without asking the sources
    /// ([`GridLz::copy_starts`]), writer alone (prof, callgrind): short link at 148 px 170 689 →
    /// 99 681 instructions, long at 244 px 482 860 → 207 128, version 40 at 740 px 2 305 306 →
    /// 1 720 446 (asking at every byte, it took 2 913 216: 8 884 tokens became 15 866).
    table: bool,
}

impl GridLz {
    /// A matcher for rows of `n` bytes holding `size` pixels whose modules start at
    /// `starts[0..=total]` (pixels), at most `rows` distinct rows.
    pub(crate) fn new(n: usize, size: usize, starts: &[usize], rows: usize) -> GridLz {
        let total = starts.len() - 1;
        let mut first_byte = [n as u16; LINE_BITS + 1];
        let mut after_byte = [n as u16; LINE_BITS + 1];
        let mut module_of = vec![0u8; n];
        for m in 0..total {
            first_byte[m] = (1 + starts[m] / 8) as u16;
            after_byte[m] = (1 + starts[m].div_ceil(8)) as u16;
            let bytes = after_byte[m] as usize..(1 + starts[m + 1].div_ceil(8)).min(n);
            module_of[bytes].fill(m as u8);
        }
        // the padding after the last pixel is light: a change there if the last module is dark
        first_byte[total] = (1 + size / 8).min(n) as u16;
        let table = !starts.iter().all(|&p| p % 4 == 0);
        // Room for every entry the table can get, one per change column (≤ total + 1 a row),
        // so it never grows: growing from a per-row guess copied it twice per image (12.5 k
        // instructions a render under jemalloc, server callgrind profile). Room for one entry
        // per byte (30 KB for the short link at 800 px, not 11 KB) cost the gate's
        // `render_image/short_png_800` 7.4 k instructions more in the allocator.
        let entries = if table { rows * (total + 1) } else { 0 };
        GridLz {
            n,
            first_byte,
            after_byte,
            module_of,
            history: History::new(n, rows, entries),
            lines: Vec::with_capacity(rows),
            slot: [0; LINE_BITS],
            keyed: [0; LINE_WORDS],
            table,
        }
    }

    /// The slot the caller fills with the pixel row of the next distinct module row.
    pub(crate) fn next_row(&mut self) -> &mut [u8] {
        self.history.next_row()
    }

    /// Tokenizes the row in the `next_row` slot, whose module row is `line`, followed by
    /// `count - 1` copies of it. Greedy by estimated bits saved.
    pub(crate) fn tokenize(&mut self, tokens: &mut Tokens, line: &FullLine, count: usize) {
        let n = self.n;
        let cur = self.history.rows_held();
        let mut s = Sources::default();
        // The rows above: a copy breaks where a module differs.
        for r in (cur.saturating_sub(ABOVE)..cur).rev() {
            let d = self.history.back_to(r);
            if d > WINDOW {
                break;
            }
            let k = cur - 1 - r;
            for ((b, &x), &y) in s.breaks[k].iter_mut().zip(line).zip(&self.lines[r]) {
                *b = x ^ y;
            }
            s.dist[k] = d;
            s.cost[k] = 6 + dist_extra_bits(d) as isize;
            s.span[k] = Span { from: 0, end: 0 };
        }
        // The run: a copy of the byte before breaks at a colour change (module m unlike
        // m − 1; the padding after the last pixel is light).
        let mut carry = 0;
        for (c, &x) in s.changes.iter_mut().zip(line) {
            *c = x ^ (x << 1 | carry);
            carry = x >> 63;
        }
        s.run = Span { from: 2, end: 2 };
        if !self.table {
            self.without_table(tokens, s, cur);
        } else {
            // Where other columns are looked up, and the change columns the table gets.
            let (at_change, mut unhashed) = self.lookup_columns(&s.changes, cur);
            let mut i = 0;
            while i < n {
                let mut best = self.best(&mut s, i, tokens.pending_distance());
                if best.len < GOOD_MATCH && bit(&at_change, i) {
                    self.insert_below(cur, &mut unhashed, i);
                    self.search(cur, i, &mut best);
                }
                if best.len == 0 {
                    tokens.literal(self.history.byte(cur, i));
                    i += 1;
                    continue;
                }
                tokens.copy(best.dist, best.len);
                i += best.len;
            }
            self.insert_below(cur, &mut unhashed, n);
        }
        if count > 1 {
            // the repeats copy the row above; `Tokens` merges this with a copy from the row
            // above that ended the row and one that starts the next row
            tokens.copy(n, (count - 1) * n);
        }
        self.lines.push(*line);
        self.history.finish_row(count);
    }

    /// The bytes of row `cur` (colour changes `changes`) where other columns are looked up (each
    /// byte holding a change and the [`LEAD`] bytes before it), and the change columns to put
    /// in the table (each hashed here, once for its lookups and its insert).
    fn lookup_columns(&mut self, changes: &FullLine, cur: usize) -> (FullLine, FullLine) {
        let n = self.n;
        // The bytes holding colour changes: where other columns are worth looking up.
        let mut at_change = [0u64; LINE_WORDS];
        for (k, &word) in changes.iter().enumerate() {
            let mut bits = if k == 0 { word & !1 } else { word }; // from module 1 on
            while bits != 0 {
                let b = self.first_byte[k * 64 + bits.trailing_zeros() as usize] as usize;
                at_change[b / 64] |= 1 << (b % 64);
                bits &= bits - 1;
            }
        }
        // keyed where KEY bytes and one more of the row follow (keying the last column too
        // measured 1.0971× median against 1.0958×, with a 2-bit literal)
        let mut keyed = at_change;
        for (k, w) in keyed.iter_mut().enumerate() {
            *w &= low_bits(n.saturating_sub(KEY), k);
        }
        for (k, &word) in keyed.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let col = k * 64 + bits.trailing_zeros() as usize;
                self.slot[col] = self.history.hash_len_at(cur, col, KEY) as u16;
                bits &= bits - 1;
            }
        }
        self.keyed = keyed;
        // Looked up there and at the LEAD bytes before each (shifts by 1 then 2 spread a bit
        // over the 3 bytes before it).
        const _: () = assert!(LEAD == 3, "the spread below covers 3 bytes");
        for shift in [1, 2] {
            let w = at_change;
            for k in 0..LINE_WORDS {
                let above = if k + 1 < LINE_WORDS {
                    w[k + 1] << (64 - shift)
                } else {
                    0
                };
                at_change[k] |= w[k] >> shift | above;
            }
        }
        (at_change, keyed) // every keyed column is not yet in the table
    }

    /// The tokens of row `cur` where the table is off ([`GridLz::table`]): most bytes are
    /// literals (zopfli's choice too), so where copies can start is found once per row
    /// ([`GridLz::copy_starts`]) and the bytes between are put out without asking the sources.
    /// Out of line: as a branch of the loop above, the renders that use the table took
    /// 0.9–2.1 % more instructions in the gate (fat LTO, the same tokens); out of line, 2.2 %
    /// more at 100 px and at most 0.4 % at 800 and 2000 px.
    #[inline(never)]
    fn without_table(&self, tokens: &mut Tokens, mut s: Sources, cur: usize) {
        let n = self.n;
        let copy_starts = self.copy_starts(cur);
        let mut i = 0;
        while i < n {
            let best = self.best(&mut s, i, tokens.pending_distance());
            if best.len > 0 {
                tokens.copy(best.dist, best.len);
                i += best.len;
                continue;
            }
            // no copy is pending after a literal, so none starts before the next copy start
            let next = first_set(&copy_starts, i + 1).min(n);
            while i < next {
                tokens.literal(self.history.byte(cur, i));
                i += 1;
            }
        }
    }

    /// The bytes of row `cur` where a copy of at least 3 bytes from the sources can start: 3
    /// bytes equal to the byte before each (a run) or to the row above. A superset of where
    /// [`GridLz::best`] finds one with no copy pending (it needs 3 bytes even then).
    fn copy_starts(&self, cur: usize) -> FullLine {
        let (n, row) = (self.n, self.history.row(cur));
        let mut same = [0; LINE_WORDS]; // bit i + 1: byte i + 1 equals byte i
        equal(&mut same, &row[1..], &row[..n - 1]);
        let mut carry = 0;
        for w in &mut same {
            (*w, carry) = (*w << 1 | carry, *w >> 63);
        }
        let mut starts = three_from(&same);
        if cur > 0 && self.history.back_to(cur - 1) <= WINDOW {
            let mut above = [0; LINE_WORDS];
            equal(&mut above, row, self.history.row(cur - 1));
            for (s, t) in starts.iter_mut().zip(three_from(&above)) {
                *s |= t;
            }
        }
        starts
    }

    /// The best copy at byte `i` from the sources, by estimated bits saved; nearer wins ties.
    /// A source's span holds until `i` passes its end, so most calls only compare.
    #[inline(always)]
    fn best(&self, s: &mut Sources, i: usize, pending: usize) -> Best {
        let mut best = Best::default();
        if i >= s.run.end {
            s.run = self.run_span(&s.changes, i);
        }
        if i >= s.run.from {
            let len = s.run.end - i;
            let cost = if pending == 1 { 0 } else { 6 };
            best.consider(len, 1, LITERAL_BITS * len as isize - cost);
        }
        for k in 0..ABOVE {
            if i >= s.span[k].end {
                s.span[k] = self.copy_span(&s.breaks[k], i);
            }
            if i >= s.span[k].from {
                let len = s.span[k].end - i;
                let cost = if s.dist[k] == pending { 0 } else { s.cost[k] };
                best.consider(len, s.dist[k], LITERAL_BITS * len as isize - cost);
            }
        }
        best
    }

    /// A same-column copy at byte `i` from a row differing in the modules `diff`.
    #[inline(always)]
    fn copy_span(&self, diff: &FullLine, i: usize) -> Span {
        let m = first_set(diff, self.module_of[i] as usize);
        let end = self.first_byte[m] as usize;
        if end > i {
            return Span { from: i, end };
        }
        // byte i shows a differing module; the next copy starts past the differing ones
        let from = (self.after_byte[first_clear(diff, m)] as usize).max(i + 1);
        Span { from, end: from }
    }

    /// A run at byte `i` (a copy of the byte before) in a row whose colour changes are
    /// `changes`.
    #[inline(always)]
    fn run_span(&self, changes: &FullLine, i: usize) -> Span {
        if i < 2 {
            return Span { from: 2, end: 2 };
        }
        // bytes i − 1 … end − 1 hold no change after byte i − 1's first pixel
        let m = first_set(changes, self.module_of[i - 1] as usize + 1);
        let end = self.first_byte[m] as usize;
        if end > i {
            return Span { from: i, end };
        }
        Span {
            from: end + 1,
            end: end + 1,
        }
    }

    /// Puts the colour-change columns of row `cur` below `to` not yet in the table there.
    #[inline(always)]
    fn insert_below(&mut self, cur: usize, unhashed: &mut FullLine, to: usize) {
        for (k, word) in unhashed.iter_mut().enumerate().take(to.div_ceil(64)) {
            let mut bits = *word & low_bits(to, k);
            *word &= !bits;
            while bits != 0 {
                let col = k * 64 + bits.trailing_zeros() as usize;
                self.history
                    .insert_hashed(cur, col, self.slot[col] as usize);
                bits &= bits - 1;
            }
        }
    }

    /// Improves `best` at column `i` of row `cur` from the hash table (other columns).
    #[inline(always)]
    fn search(&self, cur: usize, i: usize, best: &mut Best) {
        // the change column at or ≤ LEAD bytes after i (none past the last keyed one)
        let c = first_set(&self.keyed, i);
        if c >= LINE_BITS {
            return;
        }
        self.history
            .search_hashed(cur, i, self.slot[c] as usize, c - i, best.len, |len, d| {
                best.consider(
                    len,
                    d,
                    LITERAL_BITS * len as isize - 6 - dist_extra_bits(d) as isize,
                );
                best.len
            });
    }
}

/// A chosen copy: `len` bytes from `dist` back, saving about `gain` bits (0: none).
#[derive(Default, Clone, Copy)]
struct Best {
    len: usize,
    dist: usize,
    gain: isize,
}

impl Best {
    /// Takes a copy that gains strictly more (so the one asked first wins ties). A copy of
    /// fewer than 3 bytes never gains (a new match costs ≥ 6 bits, two literals 6) unless it
    /// continues the pending one, which costs nothing.
    #[inline(always)]
    fn consider(&mut self, len: usize, dist: usize, gain: isize) {
        if gain > self.gain {
            *self = Best { len, dist, gain };
        }
    }
}

/// The sources of one row: per row above, the modules where a copy from it breaks, its
/// distance, estimated cost in bits and current span; the colour changes and span of the run.
struct Sources {
    breaks: [FullLine; ABOVE],
    dist: [usize; ABOVE],
    cost: [isize; ABOVE],
    span: [Span; ABOVE],
    changes: FullLine,
    run: Span,
}

impl Default for Sources {
    /// No rows above: their spans never open (nor are asked again).
    fn default() -> Sources {
        let never = Span {
            from: usize::MAX,
            end: usize::MAX,
        };
        Sources {
            breaks: [[0; LINE_WORDS]; ABOVE],
            dist: [0; ABOVE],
            cost: [0; ABOVE],
            span: [never; ABOVE],
            changes: [0; LINE_WORDS],
            run: never,
        }
    }
}

/// `row` (a module row without its quiet zone) shifted past a quiet zone of `border` modules.
pub(crate) fn full_line(row: &[u64], border: usize) -> FullLine {
    let mut out = [0u64; LINE_WORDS];
    let (words, bits) = (border / 64, border % 64);
    for (w, &x) in row.iter().enumerate() {
        if w + words < LINE_WORDS {
            out[w + words] |= x << bits;
        }
        if bits > 0 && w + words + 1 < LINE_WORDS {
            out[w + words + 1] |= x >> (64 - bits);
        }
    }
    out
}

/// Bit i set where bits i, i + 1 and i + 2 of `m` are.
fn three_from(m: &FullLine) -> FullLine {
    let mut out = *m;
    for shift in [1, 2] {
        for k in 0..LINE_WORDS {
            let next = if k + 1 < LINE_WORDS {
                m[k + 1] << (64 - shift)
            } else {
                0
            };
            out[k] &= m[k] >> shift | next;
        }
    }
    out
}

/// First set bit of `w` at or after `m`; `LINE_BITS` if none.
#[inline(always)]
fn first_set(w: &FullLine, m: usize) -> usize {
    first_differing(w, m, 0)
}

/// First clear bit of `w` at or after `m`; `LINE_BITS` if none.
#[inline(always)]
fn first_clear(w: &FullLine, m: usize) -> usize {
    first_differing(w, m, !0)
}

/// First bit of `w` at or after `m` unlike the bits of `skip` (all zeros or all ones).
#[inline(always)]
fn first_differing(w: &FullLine, m: usize, skip: u64) -> usize {
    let mut k = m / 64;
    if k >= LINE_WORDS {
        return LINE_BITS;
    }
    let mut b = (w[k] ^ skip) & (!0u64 << (m % 64));
    while b == 0 {
        k += 1;
        if k == LINE_WORDS {
            return LINE_BITS;
        }
        b = w[k] ^ skip;
    }
    k * 64 + b.trailing_zeros() as usize
}

/// Word `k` of a mask whose bits below `len` are set.
#[inline(always)]
fn low_bits(len: usize, k: usize) -> u64 {
    match len.saturating_sub(k * 64) {
        0 => 0,
        l if l >= 64 => !0,
        l => (1u64 << l) - 1,
    }
}

#[inline(always)]
fn bit(m: &[u64], i: usize) -> bool {
    m[i / 64] >> (i % 64) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is off exactly when every module starts on a multiple of 4 pixels.
    #[test]
    fn table_off_only_where_modules_start_on_half_bytes() {
        for (total, size, table) in [
            (37, 148, false), // 4 px per module
            (37, 296, false), // 8
            (185, 740, false),
            (37, 111, true), // 3
            (33, 198, true), // 6: every other module starts mid-half-byte
            (37, 800, true), // 21.6
        ] {
            let starts: Vec<usize> = (0..=total).map(|m| m * size / total).collect();
            let lz = GridLz::new(size.div_ceil(8) + 1, size, &starts, total);
            assert_eq!(lz.table, table, "{total} modules at {size} px");
        }
    }

    /// The copy starts' word arithmetic against their byte-wise definition, over rows with
    /// runs and with bytes shared with the row above.
    #[test]
    fn copy_starts_match_their_bytewise_definition() {
        let (total, size) = (37, 148);
        let starts: Vec<usize> = (0..=total).map(|m| m * size / total).collect();
        let n = size.div_ceil(8) + 1;
        let mut lz = GridLz::new(n, size, &starts, 16);
        let (mut runs, mut ups) = (0, 0);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed >> 32
        };
        let mut above: Vec<u8> = (0..n)
            .map(|_| [0x00, 0x0F, 0xF0, 0xFF][next() as usize % 4])
            .collect();
        for r in 0..16 {
            // each byte: the byte above (3 in 4), the byte before (half the rest), or new
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                let b = match next() % 8 {
                    0..6 => above[i],
                    6 if i > 0 => row[i - 1],
                    _ => [0x00, 0x0F, 0xF0, 0xFF][next() as usize % 4],
                };
                row.push(b);
            }
            lz.next_row().copy_from_slice(&row);
            let got = lz.copy_starts(r);
            for i in 0..n {
                let run = i >= 1 && i + 3 <= n && row[i..i + 3].iter().all(|&b| b == row[i - 1]);
                let up = r > 0 && i + 3 <= n && row[i..i + 3] == above[i..i + 3];
                assert_eq!(bit(&got, i), run || up, "row {r}, byte {i}");
                runs += usize::from(run);
                ups += usize::from(up);
            }
            lz.history.finish_row(1);
            above = row;
        }
        assert!(
            runs > 20 && ups > 20,
            "too easy: {runs} runs, {ups} copies from above"
        );
    }
}
