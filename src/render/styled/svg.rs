//! The styled SVG: one `<path>` for all data modules in relative coordinates (no element per
//! module), one even-odd `<path>` for the three eyes, the logo as an embedded PNG `<image>`,
//! and no background when transparent.
//!
//! Square and rounded modules are drawn per horizontal run: inside a run every module has a
//! dark neighbour left and right, so only a run's two ends can have round corners — a run is
//! a rectangle with up to four quarter-circle corners. Dots are zero-length subpaths stroked
//! with round caps one module wide: `m1 0h0` per dot instead of two arcs.
//! SECURITY: built only from numbers, `#rrggbb` colours and the base64 of a PNG we encoded
//! ourselves — no text from the request, no scripts, no external references.

use base64::Engine as _;
use tiny_skia::Pixmap;

use super::Plan;
use super::canvas::ROUND_EYE_K;
use crate::render::matrix::{Line, WORDS};
use crate::render::raster::dark_runs;
use crate::render::svg::{colour, num, open_svg};
use crate::render::{Eyes, RenderOptions, Shape};

/// Writes the SVG of `plan`, with `logo` (already scaled to the logo square) embedded.
pub(crate) fn write(plan: &Plan, opts: &RenderOptions, logo: Option<&Pixmap>) -> Vec<u8> {
    let g = &plan.geometry;
    let mut out = Vec::with_capacity(1024 + g.modules as usize * g.modules as usize * 4);
    open_svg(&mut out, g);
    out.extend_from_slice(b"\">");
    if !opts.style.transparent {
        out.extend_from_slice(b"<rect width=\"100%\" height=\"100%\" fill=\"");
        colour(&mut out, opts.light);
        out.extend_from_slice(b"\"/>");
    }
    let lines = drawn_lines(plan);
    if opts.style.shape == Shape::Dots {
        out.extend_from_slice(b"<path stroke=\"");
        colour(&mut out, opts.dark);
        out.extend_from_slice(b"\" stroke-linecap=\"round\" d=\"");
        dots(&mut out, &lines, g.border);
    } else {
        out.extend_from_slice(b"<path fill=\"");
        colour(&mut out, opts.dark);
        out.extend_from_slice(b"\" d=\"");
        runs(
            &mut out,
            &lines,
            g.border,
            opts.style.shape == Shape::Rounded,
        );
    }
    out.extend_from_slice(b"\"/><path fill=\"");
    colour(&mut out, opts.style.eye_color.unwrap_or(opts.dark));
    out.extend_from_slice(b"\" fill-rule=\"evenodd\" d=\"");
    eyes(&mut out, plan, opts.style.eyes);
    out.extend_from_slice(b"\"/>");
    if let (Some(pixmap), Some(area)) = (logo, plan.logo)
        && let Ok(png) = pixmap.encode_png()
    {
        out.extend_from_slice(b"<image x=\"");
        num(&mut out, g.border + area.start);
        out.extend_from_slice(b"\" y=\"");
        num(&mut out, g.border + area.start);
        out.extend_from_slice(b"\" width=\"");
        num(&mut out, area.side);
        out.extend_from_slice(b"\" height=\"");
        num(&mut out, area.side);
        out.extend_from_slice(b"\" href=\"data:image/png;base64,");
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        out.extend_from_slice(b64.as_bytes());
        out.extend_from_slice(b"\"/>");
    }
    out.extend_from_slice(b"</svg>\n");
    out
}

/// The symbol's rows with only the modules drawn as data modules: eyes and the logo's
/// square (with its margin) cleared.
fn drawn_lines(plan: &Plan) -> Vec<Line> {
    let m = &plan.matrix;
    let n = m.size();
    (0..n)
        .map(|y| {
            let mut line = *m.row(y);
            let mut clear = |x0: usize, x1: usize| {
                for x in x0..x1 {
                    line[x / 64] &= !(1u64 << (x % 64));
                }
            };
            if y < 7 {
                clear(0, 7);
                clear(n - 7, n);
            } else if y >= n - 7 {
                clear(0, 7);
            }
            if let Some(a) = plan.logo {
                let (lo, hi) = (a.start as usize - 1, (a.start + a.side) as usize);
                if (lo..=hi).contains(&y) {
                    clear(lo, hi + 1);
                }
            }
            line
        })
        .collect()
}

#[inline]
fn dark(lines: &[Line], x: usize, y: usize) -> bool {
    lines
        .get(y)
        .is_some_and(|l| x < WORDS * 64 && (l[x / 64] >> (x % 64)) & 1 != 0)
}

/// A value in half modules as the shortest SVG number: `3`, `.5`, `-2.5`.
fn half(out: &mut Vec<u8>, h: i32) {
    if h < 0 {
        out.push(b'-');
    }
    let a = h.unsigned_abs();
    if a >= 2 || a == 0 {
        num(out, a / 2);
    }
    if a % 2 == 1 {
        out.extend_from_slice(b".5");
    }
}

/// A relative move by (`dx`, `dy`) half modules: `m` and the two numbers, the separator left
/// out where a minus sign already separates them.
fn move_by(out: &mut Vec<u8>, dx: i32, dy: i32) {
    out.push(b'm');
    half(out, dx);
    if dy >= 0 {
        out.push(b' ');
    }
    half(out, dy);
}

/// Rectangles per run, corners rounded (`round`) where the end module has no dark neighbour
/// above or below. Coordinates in half modules so the corner radius (½) is an integer.
fn runs(out: &mut Vec<u8>, lines: &[Line], border: u32, round: bool) {
    let b = 2 * border as i32;
    // The start of the last subpath: where a relative move after `z` starts from.
    let mut at = (0i32, 0i32);
    for (y, line) in lines.iter().enumerate() {
        for (x0, x1) in dark_runs(line) {
            let r = |x: usize, dy: isize| -> i32 {
                let yy = y as isize + dy;
                i32::from(round && (yy < 0 || !dark(lines, x, yy as usize)))
            };
            let (tl, tr) = (r(x0, -1), r(x1 - 1, -1));
            let (bl, br) = (r(x0, 1), r(x1 - 1, 1));
            let len = 2 * (x1 - x0) as i32;
            let start = (b + 2 * x0 as i32 + tl, b + 2 * y as i32);
            move_by(out, start.0 - at.0, start.1 - at.1);
            at = start;
            side(out, b'h', len - tl - tr);
            if tr == 1 {
                out.extend_from_slice(b"a.5.5 0 0 1 .5.5");
            }
            side(out, b'v', 2 - tr - br);
            if br == 1 {
                out.extend_from_slice(b"a.5.5 0 0 1-.5.5");
            }
            side(out, b'h', -(len - br - bl));
            if bl == 1 {
                out.extend_from_slice(b"a.5.5 0 0 1-.5-.5");
            }
            side(out, b'v', -(2 - bl - tl));
            if tl == 1 {
                out.extend_from_slice(b"a.5.5 0 0 1 .5-.5");
            }
            out.push(b'z');
        }
    }
}

/// `h`/`v` by `d` half modules, nothing when 0.
fn side(out: &mut Vec<u8>, cmd: u8, d: i32) {
    if d != 0 {
        out.push(cmd);
        half(out, d);
    }
}

/// One zero-length subpath at every dark module's centre (stroked with round caps).
fn dots(out: &mut Vec<u8>, lines: &[Line], border: u32) {
    let b = 2 * border as i32;
    let mut at = (0i32, 0i32);
    for (y, line) in lines.iter().enumerate() {
        for (x0, x1) in dark_runs(line) {
            for x in x0..x1 {
                let c = (b + 2 * x as i32 + 1, b + 2 * y as i32 + 1);
                move_by(out, c.0 - at.0, c.1 - at.1);
                out.extend_from_slice(b"h0");
                at = c;
            }
        }
    }
}

/// The three eyes: outer ring and ball per eye, as rectangles, rounded rectangles or round
/// rings, in absolute module coordinates (three subpath groups; relative moves would save little).
fn eyes(out: &mut Vec<u8>, plan: &Plan, eyes: Eyes) {
    let n = plan.matrix.size() as u32;
    let b = plan.geometry.border;
    for (fx, fy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
        // Each shape in half modules: (offset from the eye's corner, side, corner radius).
        for (off, side, radius) in match eyes {
            Eyes::Square => [(0, 14, 0), (2, 10, 0), (4, 6, 0)],
            Eyes::Rounded => [(0, 14, 2), (2, 10, 1), (4, 6, 1)],
            Eyes::Circle => [(0, 14, 7), (2, 10, 5), (4, 6, 3)],
        } {
            let (x, y) = (2 * (b + fx) as i32 + off, 2 * (b + fy) as i32 + off);
            out.push(b'M');
            half(out, x + radius);
            out.push(b' ');
            half(out, y);
            if eyes == Eyes::Circle {
                round_ring(out, 50 * radius);
                continue;
            }
            let (s, r) = (side, radius);
            side_or_arc(out, s - 2 * r, r, (1, 1));
            out.push(b'v');
            half(out, s - 2 * r);
            side_or_arc(out, 0, r, (-1, 1));
            out.push(b'h');
            half(out, -(s - 2 * r));
            side_or_arc(out, 0, r, (-1, -1));
            out.push(b'v');
            half(out, -(s - 2 * r));
            side_or_arc(out, 0, r, (1, -1));
            out.push(b'z');
        }
    }
}

/// A circle eye's ring of radius `r` hundredths of a module, from its top clockwise: the four
/// quarter curves the PNG draws ([`ROUND_EYE_K`]), as relative cubics.
fn round_ring(out: &mut Vec<u8>, r: i32) {
    let k = r * ROUND_EYE_K / 100;
    debug_assert_eq!(
        k * 100,
        r * ROUND_EYE_K,
        "control points on the hundredths grid"
    );
    for (sx, sy) in [(1, 1), (-1, 1), (-1, -1), (1, -1)] {
        // Control points along the tangent at the start and at the end, then the end.
        let start_tangent = if sy == sx { (sx * k, 0) } else { (0, sy * k) };
        let end_tangent = if sy == sx {
            (sx * r, sy * (r - k))
        } else {
            (sx * (r - k), sy * r)
        };
        out.push(b'c');
        let values = [
            start_tangent.0,
            start_tangent.1,
            end_tangent.0,
            end_tangent.1,
            sx * r,
            sy * r,
        ];
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 && v >= 0 {
                out.push(b' ');
            }
            hundredths(out, v);
        }
    }
    out.push(b'z');
}

/// `h` hundredths of a module as a decimal, trailing zeros left out.
fn hundredths(out: &mut Vec<u8>, h: i32) {
    if h < 0 {
        out.push(b'-');
    }
    let a = h.unsigned_abs();
    if a >= 100 || a == 0 {
        num(out, a / 100);
    }
    match a % 100 {
        0 => {}
        f if f % 10 == 0 => out.extend_from_slice(&[b'.', b'0' + (f / 10) as u8]),
        f => out.extend_from_slice(&[b'.', b'0' + (f / 10) as u8, b'0' + (f % 10) as u8]),
    }
}

/// A top edge of `len` half modules (if any) then a quarter circle of radius `r` turning by
/// (`sx`·r, `sy`·r), clockwise.
fn side_or_arc(out: &mut Vec<u8>, len: i32, r: i32, (sx, sy): (i32, i32)) {
    if len != 0 {
        out.push(b'h');
        half(out, len);
    }
    if r == 0 {
        return;
    }
    out.push(b'a');
    half(out, r);
    out.push(b' ');
    half(out, r);
    out.extend_from_slice(b" 0 0 1 ");
    half(out, sx * r);
    if sy >= 0 {
        out.push(b' ');
    }
    half(out, sy * r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_ring_is_four_cubics_on_the_hundredths_grid() {
        let mut out = Vec::new();
        round_ring(&mut out, 350);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "c2.45 0 3.5 1.05 3.5 3.5c0 2.45-1.05 3.5-3.5 3.5\
             c-2.45 0-3.5-1.05-3.5-3.5c0-2.45 1.05-3.5 3.5-3.5z"
        );
        let mut out = Vec::new();
        for h in [0, 5, 50, 105, -1234] {
            hundredths(&mut out, h);
            out.push(b' ');
        }
        assert_eq!(std::str::from_utf8(&out).unwrap(), "0 .05 .5 1.05 -12.34 ");
    }
}
