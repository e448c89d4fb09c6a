//! Optimal segmentation (ISO/IEC 18004 §7.4.2–7.4.5): the content split into numeric,
//! alphanumeric and byte segments so that its data bits are fewest, for the count-field widths
//! of one version class (1–9, 10–26, 27–40). Digits cost 3⅓ bits in numeric mode, `[0-9A-Z $%*+-./:]`
//! 5½ in alphanumeric mode, any byte 8 in byte mode, and every segment pays a 4-bit mode
//! indicator and a count field; a short run of digits inside a URL is cheaper left in the byte
//! segment, a long one is not. A shortest-path search over (position, mode) finds the split, as
//! `QrSegmentAdvanced.makeSegmentsOptimally` of Project Nayuki's QR library does (Kanji left out:
//! the content is UTF-8, and Shift JIS bytes are not).
//!
//! Output: [`Segmentation`], the segments and their bit length, that [`super::codewords`] sizes
//! the symbol by and writes into the data codewords.

/// An encoding mode (no Kanji, see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `[0-9]`, three digits in 10 bits.
    Numeric,
    /// `[0-9A-Z $%*+\-./:]`, two characters in 11 bits.
    Alphanumeric,
    /// Any byte, 8 bits each.
    Byte,
}

const MODES: [Mode; 3] = [Mode::Numeric, Mode::Alphanumeric, Mode::Byte];

impl Mode {
    /// The 4-bit mode indicator.
    pub fn indicator(self) -> u32 {
        match self {
            Mode::Numeric => 0b0001,
            Mode::Alphanumeric => 0b0010,
            Mode::Byte => 0b0100,
        }
    }

    /// Width of the character count field in version class `class` ([`class_of`]).
    pub fn count_bits(self, class: usize) -> usize {
        const BITS: [[u8; 3]; 3] = [[10, 12, 14], [9, 11, 13], [8, 16, 16]];
        BITS[self as usize][class] as usize
    }

    /// Bits of `n` characters' data in this mode.
    pub fn data_bits(self, n: usize) -> usize {
        match self {
            Mode::Numeric => 10 * (n / 3) + [0, 4, 7][n % 3],
            Mode::Alphanumeric => 11 * (n / 2) + 6 * (n % 2),
            Mode::Byte => 8 * n,
        }
    }
}

/// The value of an alphanumeric-mode character, `None` outside the set.
pub const fn alphanumeric_value(b: u8) -> Option<u8> {
    Some(match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'Z' => b - b'A' + 10,
        b' ' => 36,
        b'$' => 37,
        b'%' => 38,
        b'*' => 39,
        b'+' => 40,
        b'-' => 41,
        b'.' => 42,
        b'/' => 43,
        b':' => 44,
        _ => return None,
    })
}

/// Which of the modes can hold byte `b`: 0 numeric (and the rest), 1 alphanumeric and byte,
/// 2 byte only. Numeric ⊂ alphanumeric ⊂ byte, so one number says it.
const fn narrowest(b: u8) -> usize {
    if b.is_ascii_digit() {
        0
    } else if alphanumeric_value(b).is_some() {
        1
    } else {
        2
    }
}

/// [`narrowest`] of every byte.
static NARROWEST: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = narrowest(b as u8) as u8;
        b += 1;
    }
    t
};

/// Longest digit run and longest alphanumeric run (digits included) that [`byte_segment_wins`]
/// lets through: 4 digits in numeric mode save 32 − 14 = 18 bits over bytes, more than the
/// 14-bit header of a numeric segment (count field 10 bits in the smallest versions); 3 save
/// 14, not more. 6 alphanumeric characters save 48 − 33 = 15 bits against a 13-bit header; 5
/// save 12.
const MAX_DIGIT_RUN: usize = 3;
const MAX_ALPHANUMERIC_RUN: usize = 5;

/// Whether one byte segment is a fewest-bits segmentation of `content` in every class, known
/// from its character runs alone: it holds a byte only byte mode takes, and no run of digits
/// or alphanumeric characters is long enough to save its own segment header. Then any other
/// split has a byte segment, and turning a numeric or alphanumeric segment next to one into
/// bytes merges it there, dropping a header that costs at least what its shorter characters
/// saved: repeated, that ends at the one byte segment without ever adding bits. A short link's
/// content takes this path, skipping the search (≈ 4 k instructions of a ≈ 40 k encode).
fn byte_segment_wins(content: &[u8]) -> bool {
    let (mut byte_only, mut digits, mut alphanumeric) = (false, 0, 0);
    for &b in content {
        match NARROWEST[b as usize] {
            0 => {
                digits += 1;
                alphanumeric += 1;
            }
            1 => {
                digits = 0;
                alphanumeric += 1;
            }
            _ => {
                byte_only = true;
                digits = 0;
                alphanumeric = 0;
            }
        }
        if digits > MAX_DIGIT_RUN || alphanumeric > MAX_ALPHANUMERIC_RUN {
            return false;
        }
    }
    byte_only
}

/// The version class whose count-field widths `version` uses: 0 for 1–9, 1 for 10–26, 2 for
/// 27–40.
pub fn class_of(version: u8) -> usize {
    match version {
        ..=9 => 0,
        10..=26 => 1,
        _ => 2,
    }
}

/// The versions of class `class`.
pub fn class_versions(class: usize) -> std::ops::RangeInclusive<u8> {
    [1..=9, 10..=26, 27..=40][class].clone()
}

/// One segment: `content[start..end]` in `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub mode: Mode,
    pub start: usize,
    pub end: usize,
}

/// The segments of a content for one version class, and the data bits they take (ECI
/// designator, mode indicators, counts and data; no terminator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    /// Whether the segments follow an ECI 26 (UTF-8) designator ([`needs_eci`]).
    pub eci: bool,
    pub segments: Vec<Segment>,
    pub bits: usize,
    /// The class the count fields are sized for.
    pub class: usize,
}

impl Segmentation {
    /// The whole content as one byte segment (what [`optimal`] falls back to on a tie, so
    /// a content no other mode helps encodes exactly as a plain byte-mode encoder would).
    fn single(content: &[u8], mode: Mode, class: usize, eci: bool) -> Segmentation {
        Segmentation {
            eci,
            segments: vec![Segment {
                mode,
                start: 0,
                end: content.len(),
            }],
            bits: eci_bits(eci) + 4 + mode.count_bits(class) + mode.data_bits(content.len()),
            class,
        }
    }

    /// Whether this is one byte segment and no ECI, the layout [`super::codewords`] has a
    /// fast writer for.
    pub fn is_single_byte(&self) -> bool {
        !self.eci
            && matches!(
                self.segments[..],
                [Segment {
                    mode: Mode::Byte,
                    ..
                }]
            )
    }
}

/// The ECI assignment number of UTF-8.
pub const ECI_UTF8: u32 = 26;

/// Whether `content` gets an ECI 26 designator: when it is UTF-8 text beyond ASCII. Without
/// one, readers guess the byte segment's character set, and zbar guesses wrong (Latin letters
/// come back as CJK); with it zxing-cpp, zbar and rxing all read the text (`ECI.md` beside this
/// file has the measurement). ASCII needs none (every guess agrees), and bytes that are not
/// UTF-8 are no text to name a character set for.
pub fn needs_eci(content: &[u8]) -> bool {
    !content.is_ascii() && std::str::from_utf8(content).is_ok()
}

/// Bits of the ECI designator: mode indicator `0111` and the 8-bit assignment number.
pub(crate) fn eci_bits(eci: bool) -> usize {
    if eci { 12 } else { 0 }
}

/// A lower bound on the bits of `content` in any class, from its character counts alone (every
/// character in its narrowest mode, one segment header): lets [`super::codewords`] skip the
/// search for classes whose largest symbol cannot hold the content anyway.
pub fn lower_bound_bits(content: &[u8]) -> usize {
    let mut counts = [0usize; 3];
    for &b in content {
        counts[narrowest(b)] += 1;
    }
    // In sixths of a bit: 20 a digit, 33 an alphanumeric character, 48 a byte.
    (20 * counts[0] + 33 * counts[1] + 48 * counts[2]).div_ceil(6) + 4 + 8
}

/// The fewest-bits segmentation of `content` (not empty) with the count fields of `class`.
/// On a tie with a single segment (byte, or the narrowest mode holding all of it) that single
/// segment wins, so a content no split helps stays one segment.
pub fn optimal(content: &[u8], class: usize) -> Segmentation {
    let eci = needs_eci(content);
    if byte_segment_wins(content) {
        return Segmentation::single(content, Mode::Byte, class, eci);
    }
    // Costs in sixths of a bit, so 3⅓ and 5½ bits per character are whole numbers; a segment's
    // fractional bits round up when it ends (exact: ⌈10n/3⌉ and ⌈11n/2⌉ are the modes' data
    // bits). Per position and mode: the cheapest cost of the content so far with its last
    // character in that mode, and the mode the character before it used on that path.
    const CHAR: [u32; 3] = [20, 33, 48];
    const INF: u32 = u32::MAX / 2;
    let header = MODES.map(|m| 6 * (4 + m.count_bits(class)) as u32);
    let n = content.len();
    let mut from = vec![[0u8; 3]; n];
    let mut cost = [INF; 3];
    let mut widest = 0;
    for (i, &b) in content.iter().enumerate() {
        let narrow = narrowest(b);
        widest = widest.max(narrow);
        let closed = cost.map(|c| c.div_ceil(6) * 6);
        let mut next = [INF; 3];
        for m in narrow..3 {
            if i == 0 {
                next[m] = header[m] + CHAR[m];
                continue;
            }
            // Staying in the mode first, so a switch must be strictly cheaper.
            let (mut best, mut prev) = (cost[m], m);
            for (k, &done) in closed.iter().enumerate() {
                let c = done + header[m];
                if k != m && c < best {
                    (best, prev) = (c, k);
                }
            }
            next[m] = best + CHAR[m];
            from[i][m] = prev as u8;
        }
        cost = next;
    }
    let (mut mode, mut best) = (2, cost[2].div_ceil(6));
    for m in [1, 0] {
        if cost[m].div_ceil(6) < best {
            (mode, best) = (m, cost[m].div_ceil(6));
        }
    }
    let bits = eci_bits(eci) + best as usize;
    // A single segment in the narrowest mode holding everything, or one byte segment, on a tie.
    for single in [MODES[widest], Mode::Byte] {
        let s = Segmentation::single(content, single, class, eci);
        if s.bits <= bits {
            return s;
        }
    }
    let mut segments = Vec::new();
    let mut end = n;
    for i in (0..n).rev() {
        let prev = from[i][mode] as usize;
        if i == 0 || prev != mode {
            segments.push(Segment {
                mode: MODES[mode],
                start: i,
                end,
            });
            end = i;
            mode = prev;
        }
    }
    segments.reverse();
    Segmentation {
        eci,
        segments,
        bits,
        class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits_of(seg: &Segmentation) -> usize {
        let class = seg.class;
        eci_bits(seg.eci)
            + seg
                .segments
                .iter()
                .map(|s| 4 + s.mode.count_bits(class) + s.mode.data_bits(s.end - s.start))
                .sum::<usize>()
    }

    /// The fewest bits over every split of `content` into segments and every mode per
    /// segment: the oracle for [`optimal`] on short contents.
    fn brute_force(content: &[u8], class: usize) -> usize {
        let n = content.len();
        let eci = eci_bits(needs_eci(content));
        // best[i]: fewest bits of content[..i].
        let mut best = vec![usize::MAX; n + 1];
        best[0] = 0;
        for end in 1..=n {
            for start in 0..end {
                let part = &content[start..end];
                for m in MODES {
                    let holds = part.iter().all(|&b| narrowest(b) <= m as usize);
                    if holds && best[start] != usize::MAX {
                        let c = best[start] + 4 + m.count_bits(class) + m.data_bits(part.len());
                        best[end] = best[end].min(c);
                    }
                }
            }
        }
        eci + best[n]
    }

    #[test]
    fn optimal_equals_the_brute_force_on_random_contents() {
        let alphabet = b"0123456789ABCDEFXYZ:/.-abcz~\xc3\xa5";
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..4000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = 1 + (s % 24) as usize;
            // Runs, so every mode gets segments worth switching for.
            let mut content = Vec::new();
            while content.len() < len {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let run = 1 + (s >> 40) as usize % 9;
                let pool = match (s >> 20) % 3 {
                    0 => &alphabet[..10],
                    1 => &alphabet[..23],
                    _ => &alphabet[..],
                };
                for j in 0..run {
                    content.push(pool[((s >> (j * 5)) as usize) % pool.len()]);
                }
            }
            content.truncate(len);
            for class in 0..3 {
                let seg = optimal(&content, class);
                assert_eq!(
                    seg.bits,
                    brute_force(&content, class),
                    "{content:?} class {class}"
                );
                assert_eq!(seg.bits, bits_of(&seg));
                // The segments tile the content, each in a mode that holds it.
                let mut at = 0;
                for sg in &seg.segments {
                    assert_eq!(sg.start, at);
                    assert!(sg.end > sg.start);
                    assert!(
                        content[sg.start..sg.end]
                            .iter()
                            .all(|&b| narrowest(b) <= sg.mode as usize)
                    );
                    at = sg.end;
                }
                assert_eq!(at, content.len());
            }
        }
    }

    #[test]
    fn the_byte_segment_shortcut_agrees_with_the_search() {
        // runs of digits and capitals just below and at the lengths that pay for a segment,
        // between lower-case letters (byte only), at the ends and inside
        for run in ["123", "1234", "AB1C2", "AB1C2D", "12A", "99:", "9999"] {
            for content in [
                format!("ab{run}cd"),
                format!("{run}abc"),
                format!("abc{run}"),
                format!("a{run}b{run}c"),
            ] {
                let content = content.as_bytes();
                for class in 0..3 {
                    let seg = optimal(content, class);
                    assert_eq!(seg.bits, brute_force(content, class), "{content:?}");
                    if byte_segment_wins(content) {
                        assert!(seg.is_single_byte(), "{content:?}");
                    }
                }
            }
        }
        assert!(byte_segment_wins(b"https://qr.example.com/r/DI5bjNA0"));
        assert!(!byte_segment_wins(b"HTTPS://QR.EXAMPLE.COM"));
    }

    #[test]
    fn a_short_link_in_capitals_is_one_alphanumeric_segment() {
        let s = optimal(b"HTTPS://QR.EXAMPLE.COM/R/ABC123", 0);
        assert_eq!(s.segments.len(), 1);
        assert_eq!(s.segments[0].mode, Mode::Alphanumeric);
        assert_eq!(s.bits, 4 + 9 + 11 * 15 + 6);
    }

    #[test]
    fn a_content_no_split_helps_is_one_byte_segment() {
        let s = optimal(b"https://qr.example.com/r/DI5bjNA0", 0);
        assert!(s.is_single_byte());
        assert_eq!(s.bits, 4 + 8 + 8 * 33);
    }
}
