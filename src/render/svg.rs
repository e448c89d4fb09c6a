//! SVG writer: one `<path>` of horizontal dark runs in module units over a light background.
//!
//! The `viewBox` is in modules (quiet zone included) and `width`/`height` are the requested
//! size, so the viewer scales it; `shape-rendering="crispEdges"` keeps module edges unblurred.
//! SECURITY: the document is built only from numbers and `#rrggbb` colours — no content text,
//! no scripts, no external references — so it is safe to serve inline.

use super::RenderOptions;
use super::matrix::Line;
use super::matrix::QrMatrix;
use super::raster::{Geometry, dark_runs};

/// Writes the SVG of `m` as laid out by `g`, colours from `opts`.
///
/// The path is one subpath per horizontal dark run, `h n v1 h-n` (the fill closes it). A row's
/// first run starts with an absolute `M x y`; each next run moves from where the previous one
/// ended (its start, one row down) with `m dx-1`. A row's text is written into a stack buffer
/// by fixed-size stores of pre-formatted text ([`RUN`], [`MOVE`], [`SMALL`]) and appended in
/// one copy: the whole document costs a few instructions per byte instead of a `Vec::push`
/// (capacity check and length update) per byte.
pub(crate) fn write(m: &QrMatrix, g: &Geometry, opts: &RenderOptions) -> Vec<u8> {
    let size = m.size();
    // Exact run count (a run starts at a dark module with a light one before it), so the one
    // allocation holds the whole document.
    let runs: usize = (0..size).map(|y| run_starts(m.row(y))).sum();
    let mut out = Vec::with_capacity(HEAD + runs * MAX_RUN + size * MAX_ROW_START);
    open_svg(&mut out, g);
    out.extend_from_slice(
        b"\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"",
    );
    colour(&mut out, opts.light);
    out.extend_from_slice(b"\"/><path fill=\"");
    colour(&mut out, opts.dark);
    out.extend_from_slice(b"\" d=\"");
    let b = g.border as usize;
    let mut buf = [0u8; ROW_BUF];
    for y in 0..size {
        let mut i = 0;
        let mut last: Option<usize> = None;
        for (x0, x1) in dark_runs(m.row(y)) {
            match last {
                None => {
                    buf[0] = b'M';
                    i = put_small(&mut buf, 1, x0 + b);
                    buf[i] = b' ';
                    i = put_small(&mut buf, i + 1, y + b);
                }
                Some(prev) => {
                    let text = &MOVE[(x0 - prev) & 255];
                    buf[i..i + 8].copy_from_slice(text);
                    i += text[7] as usize;
                }
            }
            let text = &RUN[(x1 - x0) & 255];
            buf[i..i + 16].copy_from_slice(text);
            i += text[15] as usize;
            last = Some(x0);
        }
        out.extend_from_slice(&buf[..i]);
    }
    out.extend_from_slice(b"\"/></svg>\n");
    out
}

/// Appends the decimal digits of `n` (< 1000) to `buf` at `at`; returns the end.
const fn digits<const N: usize>(buf: &mut [u8; N], at: usize, n: usize) -> usize {
    let mut at = at;
    if n >= 100 {
        buf[at] = b'0' + (n / 100) as u8;
        at += 1;
    }
    if n >= 10 {
        buf[at] = b'0' + (n / 10 % 10) as u8;
        at += 1;
    }
    buf[at] = b'0' + (n % 10) as u8;
    at + 1
}

/// The text of a run of every length n < 256, `hnv1h-n`, its byte count in the last byte: one
/// 16-byte store writes a run (module counts fit: version 40 is 177 modules).
static RUN: [[u8; 16]; 256] = {
    let mut t = [[0u8; 16]; 256];
    let mut n = 0;
    while n < 256 {
        let e = &mut t[n];
        e[0] = b'h';
        let mut at = digits(e, 1, n);
        let mut k = 0;
        while k < 4 {
            e[at] = b"v1h-"[k];
            at += 1;
            k += 1;
        }
        e[15] = digits(e, at, n) as u8;
        n += 1;
    }
    t
};

/// The move to the next run of a row, `mdx-1`, for every dx < 256; its byte count last.
static MOVE: [[u8; 8]; 256] = {
    let mut t = [[0u8; 8]; 256];
    let mut n = 0;
    while n < 256 {
        let e = &mut t[n];
        e[0] = b'm';
        let at = digits(e, 1, n);
        e[at] = b'-';
        e[at + 1] = b'1';
        e[7] = (at + 2) as u8;
        n += 1;
    }
    t
};

/// Bytes of the document around the path, with room for the numbers and colours.
const HEAD: usize = 256;
/// Longest text of a run: `m` or `M`, three 3-digit numbers, `-1h` and `v1h-`.
const MAX_RUN: usize = 1 + 3 + 3 + 3 + 4 + 3;
/// A row's absolute start `M x y` is at most this longer than a relative one.
const MAX_ROW_START: usize = 4;
/// Most text one row can need: 89 runs of version 40 (every other module dark), with room for
/// the 16-byte stores past the end.
const ROW_BUF: usize = 89 * MAX_RUN + MAX_ROW_START + 16;

/// Runs of dark modules in `line`.
fn run_starts(line: &Line) -> usize {
    let mut carry = 0;
    let mut n = 0;
    for &w in line {
        n += (w & !((w << 1) | carry)).count_ones() as usize;
        carry = w >> 63;
    }
    n
}

/// The decimal text of every module coordinate and count (< 256: version 40 with the widest
/// quiet zone is 209 modules), 3 bytes of digits then the digit count.
static SMALL: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        let digits = [
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ];
        let len = if n >= 100 {
            3
        } else if n >= 10 {
            2
        } else {
            1
        };
        let mut k = 0;
        while k < len {
            t[n][k] = digits[3 - len + k];
            k += 1;
        }
        t[n][3] = len as u8;
        n += 1;
    }
    t
};

/// Writes `n` (< 256) at `buf[i..]` with one 4-byte store (the byte past the digits is
/// overwritten next), returning the position after its digits.
#[inline(always)]
fn put_small(buf: &mut [u8; ROW_BUF], i: usize, n: usize) -> usize {
    let text = SMALL[n & 255];
    debug_assert!(n < 256);
    buf[i..i + 4].copy_from_slice(&text);
    i + text[3] as usize
}

/// Appends the `<svg` start tag up to its viewBox in modules (quiet zone included), the
/// attribute's closing quote left to the caller: `g.size` px wide and high.
pub(crate) fn open_svg(out: &mut Vec<u8>, g: &Geometry) {
    out.extend_from_slice(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"");
    num(out, g.size);
    out.extend_from_slice(b"\" height=\"");
    num(out, g.size);
    out.extend_from_slice(b"\" viewBox=\"0 0 ");
    num(out, g.total);
    out.push(b' ');
    num(out, g.total);
}

/// Appends `n` (< 10 000: module counts and pixel sizes) in decimal, one push per digit —
/// a slice copy per number compiled to a `memcpy` call and took 13 % of the SVG time (perf).
#[inline]
pub(crate) fn num(out: &mut Vec<u8>, n: u32) {
    debug_assert!(n < 10_000);
    let digit = |d: u32| b'0' + (d % 10) as u8;
    if n >= 1000 {
        out.push(digit(n / 1000));
    }
    if n >= 100 {
        out.push(digit(n / 100));
    }
    if n >= 10 {
        out.push(digit(n / 10));
    }
    out.push(digit(n));
}

/// Appends `#rrggbb`.
pub(crate) fn colour(out: &mut Vec<u8>, c: super::Rgb) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'#');
    for v in [c.0, c.1, c.2] {
        out.push(HEX[(v >> 4) as usize]);
        out.push(HEX[(v & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Ecc, Rgb};

    #[test]
    fn document_shape() {
        let m = crate::render::matrix::encode(b"hi", Ecc::M).unwrap();
        let opts = RenderOptions {
            dark: Rgb(0x12, 0xab, 0xef),
            ..RenderOptions::default()
        };
        let g = Geometry::new(&m, 4, 800).unwrap();
        let svg = String::from_utf8(write(&m, &g, &opts)).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"800\" viewBox=\"0 0 29 29\""));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert!(svg.contains("fill=\"#12abef\" d=\"M4 4h7v1h-7m"));
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(!svg.contains("<script") && !svg.contains("href"));
    }

    /// The modules the path fills, read back by following its commands: every subpath is
    /// `h n v1 h-n` from its start, one module high.
    fn filled(svg: &str, border: usize, size: usize) -> Vec<Vec<bool>> {
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut grid = vec![vec![false; size]; size];
        let (mut x, mut y) = (0i64, 0i64);
        let bytes = d.as_bytes();
        let mut i = 0;
        let number = |i: &mut usize| -> i64 {
            let start = *i;
            *i += 1; // a sign or the first digit
            while *i < bytes.len() && bytes[*i].is_ascii_digit() {
                *i += 1;
            }
            d[start..*i].parse().unwrap()
        };
        while i < bytes.len() {
            let cmd = bytes[i];
            i += 1;
            match cmd {
                b'M' | b'm' => {
                    let dx = number(&mut i);
                    if bytes[i] == b' ' {
                        i += 1;
                    }
                    let dy = number(&mut i);
                    if cmd == b'M' {
                        (x, y) = (dx, dy);
                    } else {
                        (x, y) = (x + dx, y + dy);
                    }
                }
                b'h' => {
                    let n = number(&mut i);
                    if n > 0 {
                        for c in x..x + n {
                            let (c, r) = (c as usize - border, y as usize - border);
                            assert!(!grid[r][c], "({c}, {r}) filled twice");
                            grid[r][c] = true;
                        }
                    }
                    x += n;
                }
                b'v' => {
                    assert_eq!(number(&mut i), 1);
                    y += 1;
                }
                other => panic!("unexpected path command {}", other as char),
            }
        }
        grid
    }

    #[test]
    fn path_fills_exactly_the_dark_modules() {
        for (content, ecc) in [
            (&b"hi"[..], Ecc::M),
            (b"https://qr.example.com/r/DI5bjNA0", Ecc::M),
            (&[b'~'; 2953][..], Ecc::L),
        ] {
            let m = crate::render::matrix::encode(content, ecc).unwrap();
            for border in [0, 4, 16] {
                let g = Geometry::new(&m, border, 2000).unwrap();
                let svg = String::from_utf8(write(&m, &g, &RenderOptions::default())).unwrap();
                let grid = filled(&svg, border as usize, m.size());
                for (y, row) in grid.iter().enumerate() {
                    for (x, &f) in row.iter().enumerate() {
                        assert_eq!(f, m.is_dark(x, y), "({x}, {y}) border {border}");
                    }
                }
            }
        }
    }

    #[test]
    fn run_and_move_texts() {
        for n in 0..256 {
            let run = &RUN[n];
            assert_eq!(&run[..run[15] as usize], format!("h{n}v1h-{n}").as_bytes());
            let mv = &MOVE[n];
            assert_eq!(&mv[..mv[7] as usize], format!("m{n}-1").as_bytes());
        }
    }

    #[test]
    fn small_numbers_are_their_decimal_text() {
        let mut buf = [0u8; ROW_BUF];
        for n in 0..256 {
            let end = put_small(&mut buf, 3, n);
            assert_eq!(&buf[3..end], n.to_string().as_bytes());
        }
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 209, 2000] {
            num(&mut out, n);
            out.push(b',');
        }
        assert_eq!(out, b"0,7,10,209,2000,");
    }
}
