//! Fuzz target `render`: arbitrary content, options and branded-code style.
//!
//! Invariant: neither `render` nor `render_with_logo` panics; `Ok` ⇒ a PNG decodes with the
//! `png` crate to exactly size × size pixels (1 bit per pixel for a plain code, an alpha
//! channel or a transparent palette entry for a transparent one), and an SVG is one
//! well-formed `<svg>` document (a plain one a single `<path>`), a PDF one whole file; `Err` ⇒
//! one of the typed
//! errors. A styled input with a logo is drawn with the logo scaled as the origin scales it
//! (to `logo_side`), with no pixmap at all, or with a pixmap of a wrong side, so a caller that
//! gets the contract wrong still meets a typed error or an image.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qr_origin::logo::{self, DecodedLogo};
use qr_origin::render::{
    Caption, Ecc, Eyes, Format, Frame, LogoRef, RenderOptions, Rgb, Shape, Style, logo_side,
    render, render_with_logo,
};
use qr_origin::store::LogoFormat;

#[derive(Debug, Arbitrary)]
struct Input {
    format: u8,
    size: u16,
    ecc: u8,
    border: u8,
    dark: (u8, u8, u8),
    light: (u8, u8, u8),
    styled: Option<StyleInput>,
    content: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
struct StyleInput {
    shape: u8,
    eyes: u8,
    eye_color: Option<(u8, u8, u8)>,
    /// `logoSize` in thousandths; out-of-range values must be refused, not drawn.
    logo_size: Option<u16>,
    /// 0: the pixmap scaled to `logo_side`; 1: no pixmap; otherwise a pixmap of this side.
    logo_pixmap: u16,
    transparent: bool,
    invert: bool,
    /// A caption (any text: rule-breaking ones must be refused, not drawn) and its colours.
    caption: Option<(String, Option<RgbInput>, Option<RgbInput>)>,
}

/// A colour as arbitrary bytes: red, green, blue.
type RgbInput = (u8, u8, u8);

/// A logo with a transparent margin and a half-transparent disc, so compositing meets every
/// alpha; decoded once, scaled per input as the origin does.
fn test_logo() -> &'static DecodedLogo {
    static LOGO: OnceLock<DecodedLogo> = OnceLock::new();
    LOGO.get_or_init(|| {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">
            <rect x="4" y="4" width="32" height="22" fill="#1a73e8"/>
            <circle cx="20" cy="15" r="9" fill="#ffcc00" fill-opacity="0.5"/></svg>"##;
        logo::decode(LogoFormat::Svg, svg).expect("the fixed test logo decodes")
    })
}

fn rgb((r, g, b): (u8, u8, u8)) -> Rgb {
    Rgb(r, g, b)
}

fuzz_target!(|input: Input| {
    let style = match &input.styled {
        None => Style::default(),
        Some(s) => Style {
            shape: [Shape::Square, Shape::Rounded, Shape::Dots][usize::from(s.shape % 3)],
            eyes: [Eyes::Square, Eyes::Rounded, Eyes::Circle][usize::from(s.eyes % 3)],
            eye_color: s.eye_color.map(rgb),
            logo: s.logo_size.map(|size_permille| LogoRef {
                id: [7; 32],
                size_permille,
            }),
            transparent: s.transparent,
            invert: s.invert,
            frame: match &s.caption {
                None => None,
                Some((text, frame, caption)) => match Caption::new(text) {
                    Ok(caption_text) => Some(Frame {
                        caption: caption_text,
                        frame_color: frame.map(rgb),
                        caption_color: caption.map(rgb),
                    }),
                    Err(_) => return,
                },
            },
        },
    };
    let opts = RenderOptions {
        format: match input.format % 4 {
            0 => Format::Png,
            1 => Format::Svg,
            2 => Format::Pdf,
            _ => Format::Text,
        },
        size: u32::from(input.size),
        ecc: [Ecc::L, Ecc::M, Ecc::Q, Ecc::H][usize::from(input.ecc % 4)],
        border: u32::from(input.border),
        dark: rgb(input.dark),
        light: rgb(input.light),
        style,
    };
    let result = match (&input.styled, style.logo) {
        (Some(s), Some(_)) => {
            let side = match (s.logo_pixmap, logo_side(&input.content, &opts)) {
                (_, Err(_)) => None,
                (0, Ok(side)) => side,
                (1, Ok(_)) => None,
                // Up to a little beyond the largest logo square there can be (0.3 of 2000 px).
                (n, Ok(_)) => Some(u32::from(n) % 700),
            };
            let pixmap = side.and_then(|side| test_logo().fit(side));
            render_with_logo(&input.content, &opts, pixmap.as_ref())
        }
        _ => render(&input.content, &opts),
    };
    let Ok(r) = result else {
        return;
    };
    match opts.format {
        Format::Png => {
            let decoder = png::Decoder::new(std::io::Cursor::new(&r.bytes));
            let mut reader = decoder.read_info().expect("our PNG header decodes");
            let transparent_palette = reader.info().trns.is_some();
            let mut buf = vec![0; reader.output_buffer_size().expect("fits memory")];
            let frame = reader.next_frame(&mut buf).expect("our PNG data decodes");
            assert_eq!((frame.width, frame.height), (opts.size, opts.size));
            if style.is_plain() {
                assert_eq!(frame.bit_depth, png::BitDepth::One);
            }
            if style.transparent {
                let alpha = matches!(
                    frame.color_type,
                    png::ColorType::Rgba | png::ColorType::GrayscaleAlpha
                );
                assert!(alpha || transparent_palette, "{:?}", frame.color_type);
            }
        }
        Format::Svg => {
            let text = std::str::from_utf8(&r.bytes).expect("SVG is UTF-8");
            assert!(text.starts_with("<svg ") && text.ends_with("</svg>\n"));
            // a framed code nests the code's own document in the frame's
            let documents = if style.frame.is_some() { 2 } else { 1 };
            assert_eq!(text.matches("<svg").count(), documents);
            if style.is_plain() {
                assert_eq!(text.matches("<path").count(), 1);
            }
        }
        Format::Pdf => {
            assert!(r.bytes.starts_with(b"%PDF-1.4\n") && r.bytes.ends_with(b"%%EOF\n"));
        }
        Format::Text => assert_eq!(r.bytes, input.content),
    }
});
