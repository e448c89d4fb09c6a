//! The framed PNG: an RGB(A) pixmap of the whole image, drawn with tiny-skia.

use tiny_skia::{FillRule, Paint, Pixmap, PixmapPaint, PremultipliedColorU8, Transform};

use super::{Layout, plan};
use crate::render::styled::palette::Palette;
use crate::render::styled::{Plan, canvas};
use crate::render::{Frame, RenderError, RenderOptions, Rgb};

/// The framed PNG: the card and caption anti-aliased with tiny-skia, the code's own levels
/// (from the styled canvas, so every shape and eye style works) copied into its square, the
/// logo composited over it.
pub(crate) fn png(
    content: &[u8],
    opts: &RenderOptions,
    frame: &Frame,
    logo: Option<&Pixmap>,
) -> Result<Vec<u8>, RenderError> {
    let (plan, layout) = plan(content, opts, frame)?;
    let size = opts.size;
    let mut pixmap = Pixmap::new(size, size).expect("size is 100..=2000");
    if !opts.style.transparent {
        pixmap.fill(colour_of(opts.light));
    }
    // anti-aliased by default
    let mut paint = Paint::default();
    paint.set_color(colour_of(frame.frame_colour(opts.dark)));
    pixmap.fill_path(
        &layout.card(),
        &paint,
        FillRule::EvenOdd,
        Transform::identity(),
        None,
    );
    code_pixels(&mut pixmap, &plan, opts, &layout);
    if let (Some(logo), Some((lx, ly, _))) = (logo, plan.logo_box()) {
        pixmap.draw_pixmap(
            (layout.code_x as usize + lx) as i32,
            (layout.code_y as usize + ly) as i32,
            logo.as_ref(),
            &PixmapPaint::default(),
            Transform::identity(),
            None,
        );
    }
    if let Some(text) = layout.caption() {
        paint.set_color(colour_of(frame.caption_colour(opts.light)));
        pixmap.fill_path(
            &text,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
    Ok(encode_png(&pixmap, opts.style.transparent))
}

fn colour_of(c: Rgb) -> tiny_skia::Color {
    tiny_skia::Color::from_rgba8(c.0, c.1, c.2, 255)
}

/// Copies the styled canvas of `plan` (drawn at the code square's size) into `pixmap`.
fn code_pixels(pixmap: &mut Pixmap, plan: &Plan, opts: &RenderOptions, layout: &Layout) {
    let palette = Palette::new(opts);
    let canvas = canvas::Canvas::paint(plan, &opts.style, &palette);
    let colours: Vec<PremultipliedColorU8> = palette
        .entries
        .iter()
        .map(|&[r, g, b, a]| tiny_skia::ColorU8::from_rgba(r, g, b, a).premultiply())
        .collect();
    let size = opts.size as usize;
    let (x0, y0) = (layout.code_x as usize, layout.code_y as usize);
    let pixels = pixmap.pixels_mut();
    let mut rows = canvas.rows();
    for y in 0..canvas.size {
        rows.step();
        let dst = &mut pixels[(y0 + y) * size + x0..][..canvas.size];
        for (d, &l) in dst.iter_mut().zip(rows.levels()) {
            *d = colours[l as usize];
        }
    }
}

/// The pixmap as an 8-bit RGB PNG (RGBA when transparent).
fn encode_png(pixmap: &Pixmap, alpha: bool) -> Vec<u8> {
    let size = pixmap.width();
    let channels = if alpha { 4 } else { 3 };
    let mut data = Vec::with_capacity(pixmap.pixels().len() * channels);
    for p in pixmap.pixels() {
        let c = p.demultiply();
        data.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()][..channels]);
    }
    let mut out = Vec::with_capacity(data.len() / 16);
    let mut enc = png::Encoder::new(&mut out, size, size);
    enc.set_color(if alpha {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let mut w = enc
        .write_header()
        .expect("writing a PNG header into a Vec cannot fail");
    w.write_image_data(&data)
        .expect("the data is exactly size × size × channels bytes");
    drop(w);
    out
}
