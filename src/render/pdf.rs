//! PDF writer: one page of `size` × `size` points, vector only, for print.
//!
//! Hand-written objects (catalog, page tree, one page, one content stream, and a logo's image):
//! a QR page needs no fonts, so a PDF library would add only weight. The content stream is
//! flipped to y-down (`1 0 0 -1 0 size cm`) so it uses the same coordinates as the PNG and SVG
//! writers and the frame [`Layout`]. The code is drawn in half modules under one more `cm`,
//! from the shapes the styled SVG draws too ([`shapes`]): a square corner's rectangle as `re`,
//! a round corner as a cubic Bézier quarter circle, dots as four of them, the eyes even-odd in
//! their own colour. The frame is one even-odd path and the caption glyph outlines (no font
//! object: it prints the same on every RIP). The stream is deflated (`FlateDecode`).
//!
//! Square modules are written for the deflater: runs stacked into rectangles and sorted
//! ([`stacked`]) so each `re` line differs from the one before in one number, and coded by
//! [`deflate_lines`], whose one match is the line before. A version-40 code at 2000 pt is
//! ~100 KB of text and 15 KB compressed (miniz at level 6: 22 KB); a version-10 one ~9 KB
//! and 1.7 KB. A page of curves (rounded or dot modules, or a caption that outweighs the
//! modules) goes to miniz, which finds their repeats.
//!
//! An SVG logo whose shapes are all plain fills comes as outlines ([`VectorLogo`]): paths in
//! the content stream, clipped to the logo's box, so it prints as sharp as the modules. Any
//! other logo is the one raster the page may hold: the uploaded logo as scaled for the
//! render, one RGB image XObject (Flate) with its alpha as a soft mask, placed over its module
//! square.

use std::io::Write as _;

use tiny_skia::{Path, PathSegment, Pixmap, Point};

use super::deflate::{BitWriter, Tokens, WINDOW, common_prefix};
use super::png::Adler;
use super::styled::frame::{self, Hundredths, Layout};
use super::styled::rules::LogoArea;
use super::styled::shapes::{self, Dir, Outline, ROUND_EYE_K, RoundRect};
use super::styled::{Plan, window};
use super::{Eyes, LogoArt, RenderError, RenderOptions, Rgb, Shape, VectorLogo};

/// Renders `content` as a one-page PDF with `opts` (format ignored), `logo` outlines or pixels
/// already scaled to [`super::logo_side`] (drawn only when the style names a logo).
pub(crate) fn render(
    content: &[u8],
    opts: &RenderOptions,
    logo: Option<LogoArt<'_>>,
) -> Result<Vec<u8>, RenderError> {
    opts.validate()?;
    let (plan, layout) = match &opts.style.frame {
        Some(f) => {
            let (plan, layout) = frame::plan(content, opts, f)?;
            (plan, Some(layout))
        }
        None => (Plan::new(content, opts)?, None),
    };
    let logo = logo.filter(|_| plan.logo.is_some());
    Ok(write(&plan, opts, layout.as_ref(), logo))
}

/// The PDF of `plan` (its geometry's `size` the code square's side), inside `layout`'s frame
/// when there is one.
fn write(
    plan: &Plan,
    opts: &RenderOptions,
    layout: Option<&Layout>,
    logo: Option<LogoArt<'_>>,
) -> Vec<u8> {
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
    let squares = code(w, plan, opts, (cx, cy), logo);
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
    // Square modules are `re` lines that differ in one number, which the line coder codes in
    // a few bits each (a version-40 page at 2000 pt: 15 414 bytes, against 22 385 from miniz
    // at level 6). Curves and dots repeat at distances no line-to-line copy finds: miniz's
    // search keeps them smaller (a version-10 dots page: 46 939 bytes against 78 565). So the
    // line coder takes a page whose text is at least half square modules: a caption's curves
    // outweigh a short link's modules (framed at 800 pt: 3 215 bytes from the line coder,
    // 2 957 from miniz), not a version-10 code's (framed: 4 514 bytes from the line coder).
    let stream = if 2 * squares >= s.len() {
        deflate_lines(&s)
    } else {
        miniz_oxide::deflate::compress_to_vec_zlib(&s, 6)
    };
    let pixels = match logo {
        Some(LogoArt::Raster(p)) => Some(image(p)),
        _ => None,
    };
    document(size, stream, pixels)
}

/// The modules and eyes in half modules, scaled into the code's square at (`cx`, `cy`), and
/// the logo centred in its square: its outlines, or its image (`/L`). Returns the bytes of
/// square modules' `re` lines written (0 for other shapes).
fn code(
    w: &mut Vec<u8>,
    plan: &Plan,
    opts: &RenderOptions,
    (cx, cy): (u32, u32),
    logo: Option<LogoArt<'_>>,
) -> usize {
    let g = &plan.geometry;
    // Square modules and eyes lie on whole modules: written in modules, their numbers are
    // half as large (a version-40 page at 2000 pt stays under 20 KB).
    let unit = if opts.style.shape == Shape::Square && opts.style.eyes == Eyes::Square {
        2
    } else {
        1
    };
    let scale = Hundredths4(g.size as f32 * unit as f32 / (2 * g.total) as f32);
    writeln!(w, "q {scale} 0 0 {scale} {cx} {cy} cm").ok();
    fill_colour(w, opts.dark);
    let modules = shapes::modules(plan, opts.style.shape);
    let before = w.len();
    let squares = if opts.style.shape == Shape::Square {
        trace_all(w, &stacked(modules), unit);
        w.len() - before
    } else {
        trace_all(w, &modules, unit);
        0
    };
    w.extend_from_slice(b"f\n");
    fill_colour(w, opts.style.eye_color.unwrap_or(opts.dark));
    trace_all(w, &shapes::eyes(plan, opts.style.eyes), unit);
    w.extend_from_slice(b"f*\n");
    if unit != 1 && plan.logo.is_some() {
        // back to half modules, the logo square's unit
        writeln!(w, ".5 0 0 .5 0 0 cm").ok();
    }
    let at = |area: LogoArea| (2 * (g.border + area.start)) as f32;
    // The logo in its own graphics state (its clip and placement end with it), so the
    // alignment pattern it covers can be drawn back over it in half modules.
    if plan.logo.is_some() {
        w.extend_from_slice(b"q\n");
    }
    if let (Some(LogoArt::Vector(v)), Some(area)) = (logo, plan.logo) {
        vector_logo(w, v, at(area), (2 * area.side) as f32);
    }
    if let (Some(LogoArt::Raster(p)), Some(area), Some(side_px)) =
        (logo, plan.logo, plan.logo_side())
    {
        let (lw, lh) = (p.width(), p.height());
        // The pixmap fits the square's pixels (the PNG's geometry), aspect kept: the same
        // share of the square here, centred, its unit square flipped back upright.
        let per_px = (2 * area.side) as f32 / side_px as f32;
        let (iw, ih) = (lw as f32 * per_px, lh as f32 * per_px);
        let at = at(area);
        let x = at + (side_px as f32 - lw as f32) / 2.0 * per_px;
        let y = at + (side_px as f32 - lh as f32) / 2.0 * per_px;
        let h = Hundredths;
        writeln!(
            w,
            "{} 0 0 {} {} {} cm /L Do",
            h(iw),
            h(-ih),
            h(x),
            h(y + ih)
        )
        .ok();
    }
    if plan.logo.is_some() {
        w.extend_from_slice(b"Q\n");
    }
    if let Some((plate, dark)) = window::rects(plan) {
        fill_colour(w, opts.light);
        trace_all(w, &[plate], 1);
        w.extend_from_slice(b"f\n");
        fill_colour(w, opts.dark);
        trace_all(w, &dark, 1);
        w.extend_from_slice(b"f*\n");
    }
    w.extend_from_slice(b"Q\n");
    squares
}

/// The outlines of `v` in its square at (`at`, `at`), `side` half modules: scaled to fit with
/// their aspect kept, centred, clipped to their box as the SVG's viewport clips them (the
/// caller's `q`…`Q` ends the clip), each filled in its colour.
fn vector_logo(w: &mut Vec<u8>, v: &VectorLogo, at: f32, side: f32) {
    let k = side / v.width.max(v.height);
    let (iw, ih) = (v.width * k, v.height * k);
    let (x, y) = (at + (side - iw) / 2.0, at + (side - ih) / 2.0);
    let h = Hundredths;
    writeln!(w, "{} {} {} {} re W n", h(x), h(y), h(iw), h(ih)).ok();
    let k = Hundredths4(k);
    writeln!(w, "{k} 0 0 {k} {} {} cm", h(x), h(y)).ok();
    for f in &v.fills {
        fill_colour(w, f.colour);
        path(w, &f.path);
        w.extend_from_slice(if f.even_odd { b"f*\n" } else { b"f\n" });
    }
}

/// Every rectangle of `rects`: `re` for a square one (its numbers divided by `unit`, 2 when
/// every one lies on whole modules), a path with cubic corners otherwise.
fn trace_all(w: &mut Vec<u8>, rects: &[RoundRect], unit: i32) {
    let mut sink = Pdf { w, at: (0.0, 0.0) };
    for r in rects {
        if r.is_square() {
            let u = unit;
            writeln!(sink.w, "{} {} {} {} re", r.x / u, r.y / u, r.w / u, r.h / u).ok();
        } else {
            r.trace(&mut sink);
        }
    }
}

/// Square modules' runs (top to bottom, left to right) as fewer rectangles in the order that
/// deflates best: each run merged with the identical runs straight below it (one `re` for the
/// stack), then sorted by height, width, column and row, so that a line of the content stream
/// differs from the line before it in one number and [`deflate_lines`] copies the rest. The
/// same modules are covered, in one path filled at once, so the page draws the same.
fn stacked(runs: Vec<RoundRect>) -> Vec<RoundRect> {
    let mut out: Vec<RoundRect> = Vec::with_capacity(runs.len());
    // `above`: indices in `out` of the previous row's runs, left to right; `row`: this row's.
    let (mut above, mut row): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let (mut y, mut k) = (i32::MIN, 0);
    for r in runs {
        if r.y != y {
            (above, row) = (row, above);
            row.clear();
            (y, k) = (r.y, 0);
        }
        while above.get(k).is_some_and(|&i| out[i].x < r.x) {
            k += 1;
        }
        match above.get(k) {
            Some(&i) if out[i].x == r.x && out[i].w == r.w && out[i].y + out[i].h == r.y => {
                out[i].h += r.h;
                row.push(i);
            }
            _ => {
                row.push(out.len());
                out.push(r);
            }
        }
    }
    out.sort_unstable_by_key(|r| (r.h, r.w, r.x, r.y));
    out
}

/// Control-point distance of a cubic Bézier quarter circle of radius 1.
const KAPPA: f32 = 0.552_284_8;

/// PDF path operators of [`RoundRect`] outlines, in half modules.
struct Pdf<'a> {
    w: &'a mut Vec<u8>,
    /// The current point.
    at: (f32, f32),
}

impl Outline for Pdf<'_> {
    fn start(&mut self, x: i32, y: i32) {
        self.at = (x as f32, y as f32);
        writeln!(self.w, "{x} {y} m").ok();
    }

    fn side(&mut self, dir: Dir, d: i32) {
        if d == 0 {
            return;
        }
        match dir {
            Dir::H => self.at.0 += d as f32,
            Dir::V => self.at.1 += d as f32,
        }
        let (x, y) = self.at;
        writeln!(self.w, "{} {} l", Hundredths(x), Hundredths(y)).ok();
    }

    fn quarter(&mut self, r: i32, (sx, sy): (i32, i32), flattened: bool) {
        if r == 0 {
            return;
        }
        let (r, sx, sy) = (r as f32, sx as f32, sy as f32);
        let (x0, y0) = self.at;
        let (x1, y1) = (x0 + sx * r, y0 + sy * r);
        // Clockwise (y down): a turn from a horizontal tangent when the step's signs agree,
        // from a vertical one otherwise.
        let k = r * if flattened {
            ROUND_EYE_K as f32 / 100.0
        } else {
            KAPPA
        };
        let (c1, c2) = if sx == sy {
            ((x0 + sx * k, y0), (x1, y1 - sy * k))
        } else {
            ((x0, y0 + sy * k), (x1 - sx * k, y1))
        };
        let h = Hundredths;
        writeln!(
            self.w,
            "{} {} {} {} {} {} c",
            h(c1.0),
            h(c1.1),
            h(c2.0),
            h(c2.1),
            h(x1),
            h(y1)
        )
        .ok();
        self.at = (x1, y1);
    }

    fn close(&mut self) {
        self.w.extend_from_slice(b"h\n");
    }
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

/// A logo's pixels as a PDF image: the RGB samples and, when any pixel is not opaque, the
/// alpha samples for its soft mask; both deflated.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    alpha: Option<Vec<u8>>,
}

fn image(pixmap: &Pixmap) -> Image {
    let n = pixmap.pixels().len();
    let (mut rgb, mut alpha) = (Vec::with_capacity(3 * n), Vec::with_capacity(n));
    for p in pixmap.pixels() {
        let c = p.demultiply();
        rgb.extend_from_slice(&[c.red(), c.green(), c.blue()]);
        alpha.push(c.alpha());
    }
    let opaque = alpha.iter().all(|&a| a == 255);
    Image {
        width: pixmap.width(),
        height: pixmap.height(),
        rgb: miniz_oxide::deflate::compress_to_vec_zlib(&rgb, 6),
        alpha: (!opaque).then(|| miniz_oxide::deflate::compress_to_vec_zlib(&alpha, 6)),
    }
}

/// The whole file around the deflated content stream `stream`: header, the objects (catalog,
/// page tree, page, contents, then the logo's image and its soft mask), the cross-reference
/// table and trailer.
fn document(size: u32, stream: Vec<u8>, logo: Option<Image>) -> Vec<u8> {
    let resources = if logo.is_some() {
        "<</XObject<</L 5 0 R>>>>"
    } else {
        "<<>>"
    };
    let page = format!(
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 {size} {size}]/Resources{resources}/Contents 4 0 R>>"
    );
    let mut objects: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
        (b"<</Type/Catalog/Pages 2 0 R>>".to_vec(), None),
        (b"<</Type/Pages/Kids[3 0 R]/Count 1>>".to_vec(), None),
        (page.into_bytes(), None),
        (
            format!("<</Length {}/Filter/FlateDecode>>", stream.len()).into_bytes(),
            Some(stream),
        ),
    ];
    if let Some(img) = logo {
        let dict = |colours: &str, len: usize, extra: &str| {
            format!(
                "<</Type/XObject/Subtype/Image/Width {}/Height {}/ColorSpace/{colours}\
                 /BitsPerComponent 8/Filter/FlateDecode{extra}/Length {len}>>",
                img.width, img.height
            )
            .into_bytes()
        };
        let smask = if img.alpha.is_some() {
            "/SMask 6 0 R"
        } else {
            ""
        };
        objects.push((dict("DeviceRGB", img.rgb.len(), smask), Some(img.rgb)));
        if let Some(alpha) = img.alpha {
            objects.push((dict("DeviceGray", alpha.len(), ""), Some(alpha)));
        }
    }
    let body: usize = objects
        .iter()
        .map(|(d, s)| d.len() + s.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(body + 512);
    // The binary comment marks the file as binary for transfer tools (PDF 32000-1, 7.5.2).
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, (dict, stream)) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).ok();
        out.extend_from_slice(dict);
        if let Some(stream) = stream {
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(stream);
            out.extend_from_slice(b"\nendstream");
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    writeln!(out, "xref\n0 {}\n0000000000 65535 f ", offsets.len() + 1).ok();
    for o in &offsets {
        writeln!(out, "{o:010} 00000 n ").ok();
    }
    writeln!(
        out,
        "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF",
        offsets.len() + 1
    )
    .ok();
    out
}

/// `text` as a zlib stream whose one match is the line before, aligned at the lines' ends:
/// at each byte, the longest copy from the same place counted from the end of the line
/// before, when it is 3 bytes or more; a literal otherwise. Consecutive `re` lines of
/// [`stacked`] share everything but a number, so each costs that number's digits and one copy
/// whose length and distance take a handful of values, coded in a few bits each.
fn deflate_lines(text: &[u8]) -> Vec<u8> {
    let mut tokens = Tokens::with_capacity(text.len() / 2);
    let (mut start, mut end, mut p) = (0, 0, 0);
    while p < text.len() {
        // the line that holds `p`: a copy may have run past the end of the one before
        while p >= end {
            start = end;
            end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i + 1);
        }
        let d = end - start;
        let len = if d <= p && d <= WINDOW {
            common_prefix(&text[p - d..], &text[p..])
        } else {
            0
        };
        if len >= 3 {
            tokens.copy(d, len);
            p += len;
        } else {
            tokens.literal(text[p]);
            p += 1;
        }
    }
    let mut adler = Adler::new();
    // `Adler::rows` sums in u32: at most 4 KiB at a time
    for chunk in text.chunks(4096) {
        adler.rows(chunk, 1);
    }
    let mut out = Vec::with_capacity(text.len() / 4 + 16);
    out.extend_from_slice(&[0x78, 0x01]); // zlib: deflate, 32 KiB window, no dictionary
    let mut bits = BitWriter::default();
    tokens.write_block(&mut bits, &mut out, true);
    bits.flush(&mut out);
    out.extend_from_slice(&adler.value().to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Caption, Format, Frame, LogoRef, Style};

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
        let pdf = render(SHORT, &opts(Style::default()), None).unwrap();
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

    /// The content stream of `pdf`, inflated by miniz (an independent inflater).
    fn content(pdf: &[u8]) -> Vec<u8> {
        let at = find(pdf, b"/FlateDecode>>\nstream\n").unwrap() + 22;
        let len = find(&pdf[at..], b"\nendstream").unwrap();
        miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[at..at + len]).unwrap()
    }

    #[test]
    fn lines_deflate_to_what_they_were() {
        for text in [
            &b""[..],
            b"x",
            b"no newline at the end",
            b"1 2 3 4 re\n15 2 3 4 re\n150 2 3 4 re\n7 2 3 4 re\n\n\n7 2 3 4 re\n",
            &b"0 0 1 1 re\n".repeat(5000),
        ] {
            let z = deflate_lines(text);
            assert_eq!(
                miniz_oxide::inflate::decompress_to_vec_zlib(&z).unwrap(),
                text
            );
        }
    }

    /// The stacked runs cover exactly the modules the runs did, and the content stream
    /// inflates to them.
    #[test]
    fn stacked_squares_cover_the_same_modules() {
        let long: Vec<u8> = (0..2300u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
        let opts = opts(Style::default());
        let plan = Plan::new(&long, &opts).unwrap();
        let runs = shapes::modules(&plan, Shape::Square);
        let stacks = stacked(runs.clone());
        assert!(stacks.len() < runs.len(), "{} {}", stacks.len(), runs.len());
        let cells = |rs: &[RoundRect]| {
            let mut c: Vec<(i32, i32)> = rs
                .iter()
                .flat_map(|r| {
                    (r.y..r.y + r.h)
                        .step_by(2)
                        .flat_map(move |y| (r.x..r.x + r.w).step_by(2).map(move |x| (x, y)))
                })
                .collect();
            c.sort_unstable();
            c
        };
        let before = cells(&runs);
        assert!(
            before.windows(2).all(|w| w[0] != w[1]),
            "runs do not overlap"
        );
        assert_eq!(cells(&stacks), before);
        let pdf = render(&long, &opts, None).unwrap();
        let text = String::from_utf8(content(&pdf)).unwrap();
        assert_eq!(
            text.matches(" re\n").count(),
            stacks.len() + 9,
            "the runs and the eyes"
        );
    }

    #[test]
    fn every_style_is_vector_and_a_logo_the_one_image() {
        for (shape, eyes) in [
            (Shape::Rounded, Eyes::Rounded),
            (Shape::Dots, Eyes::Circle),
            (Shape::Square, Eyes::Rounded),
        ] {
            let style = Style {
                shape,
                eyes,
                eye_color: Some(Rgb(0xc2, 0x18, 0x5b)),
                ..Style::default()
            };
            let pdf = render(SHORT, &opts(style), None).unwrap();
            assert!(find(&pdf, b"/Image").is_none(), "{shape:?} {eyes:?}");
        }
        let framed = Style {
            frame: Some(Frame {
                caption: Caption::new("Scan me").unwrap(),
                frame_color: None,
                caption_color: None,
            }),
            eye_color: Some(Rgb(0xc2, 0x18, 0x5b)),
            ..Style::default()
        };
        let pdf = render(SHORT, &opts(framed), None).unwrap();
        assert!(pdf.len() < 20 * 1024, "{} bytes", pdf.len());
        let logo = Style {
            logo: Some(LogoRef {
                id: [1; 32],
                size_permille: 200,
            }),
            ..Style::default()
        };
        let mut pixmap = Pixmap::new(40, 20).unwrap();
        pixmap.fill(tiny_skia::Color::from_rgba8(200, 0, 0, 128));
        let pdf = render(SHORT, &opts(logo), Some(LogoArt::Raster(&pixmap))).unwrap();
        assert!(
            find(
                &pdf,
                b"/Subtype/Image/Width 40/Height 20/ColorSpace/DeviceRGB"
            )
            .is_some()
        );
        assert!(find(&pdf, b"/SMask 6 0 R").is_some());
        assert!(find(&pdf, b"/Resources<</XObject<</L 5 0 R>>>>").is_some());
        // without the pixmap the square stays empty, as in the PNG and SVG
        let pdf = render(SHORT, &opts(logo), None).unwrap();
        assert!(find(&pdf, b"/Image").is_none());
    }

    /// An SVG logo's outlines are paths in the content stream, clipped to the logo's box in
    /// its square, in their own colours; the page has no image.
    #[test]
    fn a_vector_logo_is_paths_clipped_to_its_box() {
        let mut pb = tiny_skia::PathBuilder::new();
        pb.push_rect(tiny_skia::Rect::from_xywh(0.0, 0.0, 1000.0, 500.0).unwrap());
        let v = VectorLogo {
            width: 1000.0,
            height: 500.0,
            fills: vec![crate::render::VectorFill {
                path: pb.finish().unwrap(),
                colour: Rgb(0xff, 0x5b, 0x24),
                even_odd: true,
            }],
        };
        let style = Style {
            logo: Some(LogoRef {
                id: [1; 32],
                size_permille: 200,
            }),
            ..Style::default()
        };
        let pdf = render(SHORT, &opts(style), Some(LogoArt::Vector(&v))).unwrap();
        assert!(find(&pdf, b"/Image").is_none());
        assert!(find(&pdf, b"/Resources<<>>").is_some());
        let text = String::from_utf8(content(&pdf)).unwrap();
        let plan = Plan::new(SHORT, &opts(style)).unwrap();
        let area = plan.logo.unwrap();
        // in half modules: the square's side 2·side, the box half as high, centred
        let (at, side) = (2 * (plan.geometry.border + area.start), 2 * area.side);
        let clip = format!(
            "{} {} {} {} re W n\n",
            at,
            Hundredths(at as f32 + side as f32 / 4.0),
            side,
            Hundredths(side as f32 / 2.0)
        );
        assert!(text.contains(&clip), "{clip} in\n{text}");
        assert!(
            text.contains("1 0.3569 0.1412 rg\n0 0 m\n1000 0 l\n"),
            "{text}"
        );
        // the logo's own graphics state ends, then the code's
        assert!(text.ends_with("h\nf*\nQ\nQ\n"), "{text}");
    }
}
