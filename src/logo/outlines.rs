//! An SVG logo as filled outlines, for the PDF writer to draw as vector paths.
//!
//! Only what a PDF fill draws as resvg does is taken: paths filled with one solid, opaque
//! colour, in groups that need no compositing. Anything else (a stroke, a gradient or
//! pattern, an opacity below 1, a clip path, mask, filter or blend mode, an image, text)
//! makes the whole logo `None`, and the PDF draws the rasterised logo instead, exactly as the
//! PNG does: in PDF those would need stroke state, shadings, soft masks and transparency
//! groups, each one more place where a print RIP may draw otherwise than resvg.

use std::sync::Arc;

use resvg::usvg::{self, Node, Paint};
use tiny_skia::Transform;

use crate::render::{Rgb, VectorFill, VectorLogo};

/// The long side of the box the outlines are scaled to. The PDF writes coordinates to
/// hundredths, so a point lands within 1/100 000 of the logo's size whatever the SVG's units.
const UNITS: f32 = 1000.0;

/// The outlines of `tree` in its own box (`width` × `height`, scaled so the long side is
/// [`UNITS`]), or `None` when something in it is not a plain fill.
pub(crate) fn outlines(tree: &usvg::Tree) -> Option<Arc<VectorLogo>> {
    let size = tree.size();
    let k = UNITS / size.width().max(size.height());
    let mut fills = Vec::new();
    collect(tree.root(), Transform::from_scale(k, k), &mut fills)?;
    Some(Arc::new(VectorLogo {
        width: size.width() * k,
        height: size.height() * k,
        fills,
    }))
}

/// Appends the fills of `group` and its descendants in drawing order; `None` at the first
/// node that is not a plain fill.
fn collect(group: &usvg::Group, scale: Transform, out: &mut Vec<VectorFill>) -> Option<()> {
    if group.should_isolate() {
        return None;
    }
    for node in group.children() {
        match node {
            Node::Group(g) => collect(g, scale, out)?,
            Node::Path(p) => {
                if !p.is_visible() {
                    continue;
                }
                if p.stroke().is_some() {
                    return None;
                }
                let Some(fill) = p.fill() else { continue };
                let Paint::Color(c) = fill.paint() else {
                    return None;
                };
                if fill.opacity() != usvg::Opacity::ONE {
                    return None;
                }
                // `None`: the transform collapses the path to nothing, which draws nothing
                let Some(path) = p
                    .data()
                    .clone()
                    .transform(p.abs_transform().post_concat(scale))
                else {
                    continue;
                };
                out.push(VectorFill {
                    path,
                    colour: Rgb(c.red, c.green, c.blue),
                    even_odd: fill.rule() == usvg::FillRule::EvenOdd,
                });
            }
            Node::Image(_) | Node::Text(_) => return None,
        }
    }
    Some(())
}
