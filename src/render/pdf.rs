//! PDF writer: one page of `size` × `size` points, vector only, for print.
//!
//! Hand-written objects (catalog, page tree, one page, one content stream): a QR page needs no
//! fonts, images or resources, so a PDF library would add only weight. The content stream is
//! flipped to y-down (`1 0 0 -1 0 size cm`) so it uses the same coordinates as the PNG and SVG
//! writers and the frame [`Layout`]; the modules are drawn in module units under one more `cm`
//! (one `x y w 1 re` per dark run, the eyes' modules in their own colour), the frame as one
//! even-odd path and the caption as glyph outlines (no font object: it prints the same on
//! every RIP). The stream is deflated (`FlateDecode`): a version-10 code's runs are ~9 KB of
//! text and ~2.5 KB compressed.
//!
//! Module shapes other than square, drawn eyes and logos are refused for PDF: the styled
//! raster's shapes have no vector form shared with this writer.

use std::io::Write as _;

use tiny_skia::{Path, PathSegment, Point};

use super::matrix::{self, QrMatrix};
use super::raster::{Geometry, dark_runs};
use super::styled::frame::{self, Hundredths, Layout};
use super::{Eyes, RenderError, RenderOptions, Rgb, Shape, Style};

/// Renders `content` as a one-page PDF with `opts` (format ignored).
pub(crate) fn render(content: &[u8], opts: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    opts.validate()?;
    check_style(&opts.style)?;
    let (m, g, layout) = match &opts.style.frame {
        Some(f) => {
            let (m, g, layout) = frame::plain(content, opts, f)?;
            (m, g, Some(layout))
        }
        None => {
            let m = matrix::encode(content, opts.ecc)?;
            let g = Geometry::new(&m, opts.border, opts.size)?;
            (m, g, None)
        }
    };
    Ok(write(&m, &g, opts, layout.as_ref()))
}

/// Refuses the styles the PDF writer has no vector form for.
pub(crate) fn check_style(style: &Style) -> Result<(), RenderError> {
    if style.shape != Shape::Square || style.eyes != Eyes::Square || style.logo.is_some() {
        return Err(RenderError::InvalidOption {
            name: "format",
            allowed: "application/pdf draws square modules and square eyes without a logo; \
                      use image/svg+xml or image/png for rounded or dot shapes, drawn eyes or a \
                      logo",
        });
    }
    Ok(())
}

/// The PDF of `m` laid out by `g` (its `size` the code square's side), inside `layout`'s frame
/// when there is one.
fn write(m: &QrMatrix, g: &Geometry, opts: &RenderOptions, layout: Option<&Layout>) -> Vec<u8> {
    let size = opts.size;
    let mut s = Vec::with_capacity(4096);
    let w = &mut s;
    // `write!` into a Vec cannot fail; the results are dropped with `.ok()` below.
    writeln!(w, "1 0 0 -1 0 {size} cm").ok();
    if !opts.style.transparent {
        fill_colour(w, opts.light);
        writeln!(w, "0 0 {size} {size} re f").ok();
    }
    let (cx, cy) = match layout {
        Some(l) => {
            let frame = opts
                .style
                .frame
                .as_ref()
                .expect("a layout comes with a frame");
            fill_colour(w, frame.frame_colour(opts.dark));
            path(w, &l.card());
            w.extend_from_slice(b"f*\n");
            (l.code_x, l.code_y)
        }
        None => (0, 0),
    };
    modules(w, m, g, opts, cx, cy);
    if let Some(l) = layout
        && let Some(text) = l.caption()
    {
        let frame = opts
            .style
            .frame
            .as_ref()
            .expect("a layout comes with a frame");
        fill_colour(w, frame.caption_colour(opts.light));
        path(w, &text);
        w.extend_from_slice(b"f\n");
    }
    document(size, &s)
}

/// The dark modules as one rectangle per run in module units, scaled into the code's square at
/// (`cx`, `cy`); the eyes' modules separately in the eye colour when it differs.
fn modules(w: &mut Vec<u8>, m: &QrMatrix, g: &Geometry, opts: &RenderOptions, cx: u32, cy: u32) {
    let scale = Hundredths4(g.size as f32 / g.total as f32);
    writeln!(w, "q {scale} 0 0 {scale} {cx} {cy} cm").ok();
    let n = m.size();
    let b = g.border as usize;
    let eye = opts.style.eye_color.filter(|&c| c != opts.dark);
    fill_colour(w, opts.dark);
    for y in 0..n {
        for (x0, x1) in dark_runs(m.row(y)) {
            // With an eye colour, the eyes' columns are left out of the rows they cross: the
            // eyes lie at the row's ends, so what stays is one span.
            let (lo, hi) = match (eye, y < 7, y >= n - 7) {
                (Some(_), true, _) => (x0.max(7), x1.min(n - 7)),
                (Some(_), _, true) => (x0.max(7), x1),
                _ => (x0, x1),
            };
            if hi > lo {
                writeln!(w, "{} {} {} 1 re", lo + b, y + b, hi - lo).ok();
            }
        }
    }
    w.extend_from_slice(b"f\n");
    if let Some(c) = eye {
        fill_colour(w, c);
        for (fx, fy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
            let (x, y) = (fx + b, fy + b);
            // ring (even-odd: 7×7 less 5×5) and ball
            writeln!(
                w,
                "{x} {y} 7 7 re {} {} 5 5 re f* {} {} 3 3 re f",
                x + 1,
                y + 1,
                x + 2,
                y + 2
            )
            .ok();
        }
    }
    w.extend_from_slice(b"Q\n");
}

/// A scale factor to four decimals.
struct Hundredths4(f32);

impl std::fmt::Display for Hundredths4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = format!("{:.4}", self.0);
        f.write_str(s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// `rg` with the colour's channels as fractions of 255.
fn fill_colour(w: &mut Vec<u8>, c: Rgb) {
    let ch = |v: u8| Hundredths4(f32::from(v) / 255.0);
    writeln!(w, "{} {} {} rg", ch(c.0), ch(c.1), ch(c.2)).ok();
}

/// `path` as PDF path operators; quadratic segments (TrueType outlines) become cubics.
fn path(w: &mut Vec<u8>, path: &Path) {
    let mut at = Point::zero();
    let mut start = Point::zero();
    let p = |pt: Point| format!("{} {}", Hundredths(pt.x), Hundredths(pt.y));
    for seg in path.segments() {
        match seg {
            PathSegment::MoveTo(a) => {
                writeln!(w, "{} m", p(a)).ok();
                (at, start) = (a, a);
            }
            PathSegment::LineTo(a) => {
                writeln!(w, "{} l", p(a)).ok();
                at = a;
            }
            PathSegment::QuadTo(q, a) => {
                let c1 = Point::from_xy(
                    at.x + 2.0 / 3.0 * (q.x - at.x),
                    at.y + 2.0 / 3.0 * (q.y - at.y),
                );
                let c2 =
                    Point::from_xy(a.x + 2.0 / 3.0 * (q.x - a.x), a.y + 2.0 / 3.0 * (q.y - a.y));
                writeln!(w, "{} {} {} c", p(c1), p(c2), p(a)).ok();
                at = a;
            }
            PathSegment::CubicTo(c1, c2, a) => {
                writeln!(w, "{} {} {} c", p(c1), p(c2), p(a)).ok();
                at = a;
            }
            PathSegment::Close => {
                w.extend_from_slice(b"h\n");
                at = start;
            }
        }
    }
}

/// The whole file around the content stream `content`: header, four objects, the
/// cross-reference table and trailer.
fn document(size: u32, content: &[u8]) -> Vec<u8> {
    let stream = miniz_oxide::deflate::compress_to_vec_zlib(content, 6);
    let mut out = Vec::with_capacity(stream.len() + 512);
    // The binary comment marks the file as binary for transfer tools (PDF 32000-1, 7.5.2).
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let mut offsets = [0usize; 4];
    let page = format!(
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 {size} {size}]/Resources<<>>/Contents 4 0 R>>"
    );
    let objects: [&[u8]; 3] = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        page.as_bytes(),
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets[i] = out.len();
        writeln!(out, "{} 0 obj", i + 1).ok();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    offsets[3] = out.len();
    write!(
        out,
        "4 0 obj\n<</Length {}/Filter/FlateDecode>>\nstream\n",
        stream.len()
    )
    .ok();
    out.extend_from_slice(&stream);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for o in offsets {
        writeln!(out, "{o:010} 00000 n ").ok();
    }
    writeln!(
        out,
        "trailer\n<</Size 5/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF"
    )
    .ok();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Caption, Format, Frame};

    const SHORT: &[u8] = b"https://qr.example.com/r/DI5bjNA0";

    fn opts(style: Style) -> RenderOptions {
        RenderOptions {
            format: Format::Pdf,
            style,
            ..RenderOptions::default()
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn a_plain_code_is_one_small_page_with_a_valid_xref() {
        let pdf = render(SHORT, &opts(Style::default())).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        assert!(pdf.len() < 20 * 1024, "{} bytes", pdf.len());
        assert!(find(&pdf, b"/MediaBox[0 0 800 800]").is_some());
        // startxref names the table, and every offset in it its object
        let xref = find(&pdf, b"\nxref\n").unwrap() + 1;
        let tail = std::str::from_utf8(&pdf[xref..]).unwrap();
        let start: usize = tail[tail.find("startxref\n").unwrap() + 10..]
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(start, xref);
        for (i, line) in tail.lines().skip(3).take(4).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "{i}"
            );
        }
    }

    #[test]
    fn styles_without_a_vector_form_are_refused_by_name() {
        let err = render(
            SHORT,
            &opts(Style {
                shape: Shape::Dots,
                ..Style::default()
            }),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            RenderError::InvalidOption { name: "format", .. }
        ));
        let framed = Style {
            frame: Some(Frame {
                caption: Caption::new("Scan me").unwrap(),
                frame_color: None,
                caption_color: None,
            }),
            eye_color: Some(Rgb(0xc2, 0x18, 0x5b)),
            ..Style::default()
        };
        let pdf = render(SHORT, &opts(framed)).unwrap();
        assert!(pdf.len() < 20 * 1024, "{} bytes", pdf.len());
    }
}
