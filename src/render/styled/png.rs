//! The styled PNG: the canvas as 4-bit palette pixels (the quantised edge shades; tRNS for a
//! transparent ground), or as 8-bit RGB/RGBA when a full-colour logo is composited in.
//!
//! The palette image goes through a row matcher ([`super::lz`]) and the plain writer's deflate: a stamped raster repeats the same bytes at the same column
//! of the rows above (a module's rows) and one module row up (the same stamp), which is what
//! that matcher tries first. Identical consecutive pixel rows are one row with a repeat count.

use tiny_skia::Pixmap;

use super::Plan;
use super::canvas::Canvas;
use super::lz::Matcher;
use super::palette::Palette;
use crate::render::deflate::{BitWriter, Tokens};
use crate::render::png::{Adler, chunk};

/// Writes the PNG of `canvas`, compositing `logo` into the plan's logo square.
pub(crate) fn write(
    plan: &Plan,
    canvas: &Canvas,
    palette: &Palette,
    logo: Option<&Pixmap>,
) -> Vec<u8> {
    let size = canvas.size;
    let logo = logo.zip(plan.logo_box());
    let (colour, channels, stride) = match logo {
        None => (3u8, 0, 1 + size.div_ceil(2)),
        Some(_) if palette.alpha => (6, 4, 1 + 4 * size),
        Some(_) => (2, 3, 1 + 3 * size),
    };
    let mut out = Vec::with_capacity(4096 + size * stride / 16);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&(size as u32).to_be_bytes());
    ihdr[4..8].copy_from_slice(&(size as u32).to_be_bytes());
    ihdr[8] = if channels == 0 { 4 } else { 8 };
    ihdr[9] = colour;
    chunk(&mut out, b"IHDR", &ihdr);
    if channels == 0 {
        let plte: Vec<u8> = palette
            .entries
            .iter()
            .flat_map(|e| [e[0], e[1], e[2]])
            .collect();
        chunk(&mut out, b"PLTE", &plte);
        if palette.alpha {
            let trns: Vec<u8> = palette.entries.iter().map(|e| e[3]).collect();
            chunk(&mut out, b"tRNS", &trns);
        }
    }

    let idat_start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IDAT");
    out.extend_from_slice(&[0x78, 0x01]); // zlib: deflate, 32 KiB window, no dictionary

    let mut matcher = Matcher::new(stride, size);
    let mut tokens = Tokens::with_capacity(size * 64);
    let mut adler = Adler::new();
    // The row being repeated and how often; a new row is compared with it before it is
    // tokenized, so a run of equal rows costs one row's matching.
    let mut pending = vec![0u8; stride];
    let mut row = vec![0u8; stride];
    let mut count = 0;
    for y in 0..size {
        let levels = &canvas.px[y * size..(y + 1) * size];
        match logo {
            None => pack_nibbles(levels, &mut row),
            Some((pixmap, (x0, y0, side))) => {
                truecolour(levels, palette, channels, &mut row);
                if (y0..y0 + side).contains(&y) {
                    composite(&mut row, channels, pixmap, x0, y - y0, side, palette.alpha);
                }
            }
        }
        if count > 0 && row == pending {
            count += 1;
            continue;
        }
        if count > 0 {
            flush(&mut matcher, &mut tokens, &mut adler, &pending, count);
        }
        std::mem::swap(&mut row, &mut pending);
        count = 1;
    }
    flush(&mut matcher, &mut tokens, &mut adler, &pending, count);
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

fn flush(matcher: &mut Matcher, tokens: &mut Tokens, adler: &mut Adler, row: &[u8], count: usize) {
    matcher.next_row().copy_from_slice(row);
    if row.len() <= ADLER_ROW_MAX {
        adler.rows(row, count);
    } else {
        // Truecolour rows of large images: the closed-form row update's u32 sums hold rows up
        // to 4 KiB, so longer ones go through in pieces, once per repeat.
        for _ in 0..count {
            for piece in row.chunks(ADLER_ROW_MAX) {
                adler.rows(piece, 1);
            }
        }
    }
    matcher.tokenize(tokens, count);
}

/// Longest row [`Adler::rows`] sums without overflow.
const ADLER_ROW_MAX: usize = 1 << 12;

/// Filter byte 0, then two levels per byte, high nibble first.
fn pack_nibbles(levels: &[u8], row: &mut [u8]) {
    row[0] = 0;
    let (pairs, rest) = levels.as_chunks::<2>();
    for (out, &[a, b]) in row[1..].iter_mut().zip(pairs) {
        *out = a << 4 | b;
    }
    if let [a] = rest {
        row[1 + pairs.len()] = a << 4;
    }
}

/// Filter byte 0, then each level's colour (RGB, or RGBA with `channels` 4).
fn truecolour(levels: &[u8], palette: &Palette, channels: usize, row: &mut [u8]) {
    row[0] = 0;
    for (out, &l) in row[1..].chunks_exact_mut(channels).zip(levels) {
        out.copy_from_slice(&palette.entries[l as usize][..channels]);
    }
}

/// Draws row `ly` of the logo (premultiplied RGBA, at most `side` px, centred in the
/// `side`-px square at column `x0`) over the pixels of `row`: source-over, written back
/// unpremultiplied as PNG wants.
fn composite(
    row: &mut [u8],
    channels: usize,
    logo: &Pixmap,
    x0: usize,
    ly: usize,
    side: usize,
    alpha: bool,
) {
    let (w, h) = (logo.width() as usize, logo.height() as usize);
    let (ox, oy) = ((side.saturating_sub(w)) / 2, (side.saturating_sub(h)) / 2);
    if ly < oy || ly >= oy + h {
        return;
    }
    let src = &logo.pixels()[(ly - oy) * w..][..w.min(side)];
    let dst = &mut row[1 + (x0 + ox) * channels..];
    for (d, s) in dst.chunks_exact_mut(channels).zip(src) {
        let sa = u32::from(s.alpha());
        let inv = 255 - sa;
        let da = if alpha { u32::from(d[3]) } else { 255 };
        // Premultiplied sum, then back to straight colour by the result's alpha.
        let out_a = sa + (da * inv + 127) / 255;
        if out_a == 0 {
            continue;
        }
        let mix = |sc: u8, dc: u8| {
            let premul = u32::from(sc) * 255 + u32::from(dc) * da * inv / 255;
            ((premul + out_a / 2) / out_a).min(255) as u8
        };
        let (r, g, b) = (
            mix(s.red(), d[0]),
            mix(s.green(), d[1]),
            mix(s.blue(), d[2]),
        );
        d[0] = r;
        d[1] = g;
        d[2] = b;
        if alpha {
            d[3] = out_a as u8;
        }
    }
}
