//! The framed SVG: the frame and caption as paths around the code's own SVG document.
//! SECURITY: the caption enters only as outline coordinates, never as text.

use tiny_skia::{Path, Pixmap};

use super::{Hundredths, plan};
use crate::render::svg::{colour, num};
use crate::render::{Frame, RenderError, RenderOptions};

/// The framed SVG: background, the card, the code's own SVG nested at its square (the plain
/// writer's or the styled one's), the caption as one path.
pub(crate) fn svg(
    content: &[u8],
    opts: &RenderOptions,
    frame: &Frame,
    logo: Option<&Pixmap>,
) -> Result<Vec<u8>, RenderError> {
    let (plan, layout) = plan(content, opts, frame)?;
    let inner_opts = RenderOptions {
        size: layout.code_side,
        ..*opts
    };
    let inner = if opts.style.is_plain_code() {
        crate::render::svg::write(&plan.matrix, &plan.geometry, &inner_opts)
    } else {
        crate::render::styled::svg::write(&plan, &inner_opts, logo)
    };
    let mut out = Vec::with_capacity(inner.len() + 4096);
    let size = opts.size;
    out.extend_from_slice(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"");
    num(&mut out, size);
    out.extend_from_slice(b"\" height=\"");
    num(&mut out, size);
    out.extend_from_slice(b"\" viewBox=\"0 0 ");
    num(&mut out, size);
    out.push(b' ');
    num(&mut out, size);
    out.extend_from_slice(b"\">");
    if !opts.style.transparent {
        out.extend_from_slice(b"<rect width=\"100%\" height=\"100%\" fill=\"");
        colour(&mut out, opts.light);
        out.extend_from_slice(b"\"/>");
    }
    out.extend_from_slice(b"<path fill-rule=\"evenodd\" fill=\"");
    colour(&mut out, frame.frame_colour(opts.dark));
    out.extend_from_slice(b"\" d=\"");
    svg_path(&mut out, &layout.card());
    out.extend_from_slice(b"\"/>");
    // The code's document as a nested viewport at its square.
    let body = inner
        .strip_prefix(b"<svg ")
        .expect("both SVG writers start with the <svg> tag");
    out.extend_from_slice(b"<svg x=\"");
    num(&mut out, layout.code_x);
    out.extend_from_slice(b"\" y=\"");
    num(&mut out, layout.code_y);
    out.extend_from_slice(b"\" ");
    out.extend_from_slice(body.strip_suffix(b"\n").unwrap_or(body));
    if let Some(text) = layout.caption() {
        out.extend_from_slice(b"<path fill=\"");
        colour(&mut out, frame.caption_colour(opts.light));
        out.extend_from_slice(b"\" d=\"");
        svg_path(&mut out, &text);
        out.extend_from_slice(b"\"/>");
    }
    out.extend_from_slice(b"</svg>\n");
    Ok(out)
}

/// `path` as SVG path data, absolute coordinates to 1/100 px.
fn svg_path(out: &mut Vec<u8>, path: &Path) {
    use std::io::Write as _;
    use tiny_skia::PathSegment;
    let put = |out: &mut Vec<u8>, cmd: &str, pts: &[tiny_skia::Point]| {
        out.extend_from_slice(cmd.as_bytes());
        for (i, p) in pts.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            write!(out, "{} {}", Hundredths(p.x), Hundredths(p.y))
                .expect("writing to a Vec cannot fail");
        }
    };
    for seg in path.segments() {
        match seg {
            PathSegment::MoveTo(p) => put(out, "M", &[p]),
            PathSegment::LineTo(p) => put(out, "L", &[p]),
            PathSegment::QuadTo(a, p) => put(out, "Q", &[a, p]),
            PathSegment::CubicTo(a, b, p) => put(out, "C", &[a, b, p]),
            PathSegment::Close => out.push(b'Z'),
        }
    }
}
