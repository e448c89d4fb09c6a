//! The styled SVG: one `<path>` for all data modules in relative coordinates (no element per
//! module), one even-odd `<path>` for the three eyes, the logo as an embedded PNG `<image>`,
//! and no background when transparent.
//!
//! The shapes are [`super::shapes`]'s (the PDF draws the same ones), written in half modules
//! as relative path data: a rectangle with quarter-circle arcs at its round corners. Dots are
//! zero-length subpaths at the circles' centres, stroked with round caps one module wide:
//! `m1 0h0` per dot instead of two arcs.
//! SECURITY: built only from numbers, `#rrggbb` colours and the base64 of a PNG we encoded
//! ourselves — no text from the request, no scripts, no external references.

use base64::Engine as _;
use tiny_skia::Pixmap;

use super::Plan;
use super::shapes::{self, Dir, Outline, ROUND_EYE_K, RoundRect};
use super::window;
use crate::render::svg::{colour, num, open_svg};
use crate::render::{RenderOptions, Shape};

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
    let modules = shapes::modules(plan, opts.style.shape);
    if opts.style.shape == Shape::Dots {
        out.extend_from_slice(b"<path stroke=\"");
        colour(&mut out, opts.dark);
        out.extend_from_slice(b"\" stroke-linecap=\"round\" d=\"");
        dots(&mut out, &modules);
    } else {
        out.extend_from_slice(b"<path fill=\"");
        colour(&mut out, opts.dark);
        out.extend_from_slice(b"\" d=\"");
        trace_all(&mut out, &modules);
    }
    out.extend_from_slice(b"\"/><path fill=\"");
    colour(&mut out, opts.style.eye_color.unwrap_or(opts.dark));
    out.extend_from_slice(b"\" fill-rule=\"evenodd\" d=\"");
    trace_all(&mut out, &shapes::eyes(plan, opts.style.eyes));
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
    if let Some((plate, dark)) = window::rects(plan) {
        out.extend_from_slice(b"<path fill=\"");
        colour(&mut out, opts.light);
        out.extend_from_slice(b"\" d=\"");
        trace_all(&mut out, &[plate]);
        out.extend_from_slice(b"\"/><path fill=\"");
        colour(&mut out, opts.dark);
        out.extend_from_slice(b"\" fill-rule=\"evenodd\" d=\"");
        trace_all(&mut out, &dark);
        out.extend_from_slice(b"\"/>");
    }
    out.extend_from_slice(b"</svg>\n");
    out
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

/// Half-module values in a row, a space between two only where the second would otherwise
/// run into the first (no minus sign, and no second decimal point, separates them).
fn halves(out: &mut Vec<u8>, vals: &[i32]) {
    let mut fraction = false;
    for (i, &v) in vals.iter().enumerate() {
        let leading_point = v.unsigned_abs() == 1;
        if i > 0 && v >= 0 && !(leading_point && fraction) {
            out.push(b' ');
        }
        half(out, v);
        fraction = v % 2 != 0;
    }
}

/// Every rectangle of `rects` as one subpath each, relative moves from one to the next.
fn trace_all(out: &mut Vec<u8>, rects: &[RoundRect]) {
    let mut sink = Svg { out, at: (0, 0) };
    for r in rects {
        r.trace(&mut sink);
    }
}

/// SVG path data of [`RoundRect`] outlines.
struct Svg<'a> {
    out: &'a mut Vec<u8>,
    /// The start of the last subpath: where a relative move after `z` starts from.
    at: (i32, i32),
}

impl Outline for Svg<'_> {
    fn start(&mut self, x: i32, y: i32) {
        self.out.push(b'm');
        halves(self.out, &[x - self.at.0, y - self.at.1]);
        self.at = (x, y);
    }

    fn side(&mut self, dir: Dir, d: i32) {
        if d != 0 {
            self.out.push(match dir {
                Dir::H => b'h',
                Dir::V => b'v',
            });
            half(self.out, d);
        }
    }

    fn quarter(&mut self, r: i32, (sx, sy): (i32, i32), flattened: bool) {
        if r == 0 {
        } else if flattened {
            flattened_quarter(self.out, 50 * r, (sx, sy));
        } else if r == 1 {
            // Every rounded module corner: the text written whole, as `arc` would write it
            // (formatting its seven numbers was 60 % of a rounded code's SVG).
            self.out
                .extend_from_slice(HALF_MODULE_ARCS[usize::from(sx < 0) * 2 + usize::from(sy < 0)]);
        } else {
            arc(self.out, r, (sx, sy));
        }
    }

    fn close(&mut self) {
        self.out.push(b'z');
    }
}

/// A clockwise quarter circle of radius `r` half modules ending (`sx`·r, `sy`·r) away, as an
/// SVG arc.
fn arc(out: &mut Vec<u8>, r: i32, (sx, sy): (i32, i32)) {
    out.push(b'a');
    halves(out, &[r, r, 0, 0, 2, sx * r, sy * r]);
}

/// [`arc`] of radius ½ module, by (`sx` < 0, `sy` < 0).
const HALF_MODULE_ARCS: [&[u8]; 4] = [
    b"a.5.5 0 0 1 .5.5",
    b"a.5.5 0 0 1 .5-.5",
    b"a.5.5 0 0 1-.5.5",
    b"a.5.5 0 0 1-.5-.5",
];

/// A clockwise quarter of radius `r` hundredths of a module ending (`sx`·r, `sy`·r) away, as
/// the relative cubic the PNG draws for circle eyes ([`ROUND_EYE_K`]): exact on the
/// hundredths grid, since the radii are whole or half modules.
fn flattened_quarter(out: &mut Vec<u8>, r: i32, (sx, sy): (i32, i32)) {
    let k = r * ROUND_EYE_K / 100;
    debug_assert_eq!(
        k * 100,
        r * ROUND_EYE_K,
        "control points on the hundredths grid"
    );
    // Clockwise (y down): a turn from a horizontal tangent when the step's signs agree, from a
    // vertical one otherwise; control points along the tangents at the start and the end.
    let (c1, c2) = if sx == sy {
        ((sx * k, 0), (sx * r, sy * (r - k)))
    } else {
        ((0, sy * k), (sx * (r - k), sy * r))
    };
    out.push(b'c');
    for (i, v) in [c1.0, c1.1, c2.0, c2.1, sx * r, sy * r]
        .into_iter()
        .enumerate()
    {
        if i > 0 && v >= 0 {
            out.push(b' ');
        }
        hundredths(out, v);
    }
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

/// One zero-length subpath at every dot's centre (stroked with round caps).
fn dots(out: &mut Vec<u8>, dots: &[RoundRect]) {
    let mut at = (0i32, 0i32);
    for d in dots {
        let c = (d.x + d.w / 2, d.y + d.h / 2);
        out.push(b'm');
        halves(out, &[c.0 - at.0, c.1 - at.1]);
        out.extend_from_slice(b"h0");
        at = c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_module_arcs_are_what_arc_writes() {
        for (sx, sy) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
            let mut out = Vec::new();
            arc(&mut out, 1, (sx, sy));
            let fast = HALF_MODULE_ARCS[usize::from(sx < 0) * 2 + usize::from(sy < 0)];
            assert_eq!(out, fast, "({sx}, {sy})");
        }
    }

    #[test]
    fn a_circle_eye_quarter_is_a_cubic_on_the_hundredths_grid() {
        let mut out = Vec::new();
        for s in [(1, 1), (-1, 1), (-1, -1), (1, -1)] {
            flattened_quarter(&mut out, 350, s);
        }
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "c3.15 0 3.5 .35 3.5 3.5c0 3.15-.35 3.5-3.5 3.5\
             c-3.15 0-3.5-.35-3.5-3.5c0-3.15 .35-3.5 3.5-3.5"
        );
        let mut out = Vec::new();
        for h in [0, 5, 50, 105, -1234] {
            hundredths(&mut out, h);
            out.push(b' ');
        }
        assert_eq!(std::str::from_utf8(&out).unwrap(), "0 .05 .5 1.05 -12.34 ");
    }
}
