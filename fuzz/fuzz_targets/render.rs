//! Fuzz target `render`: arbitrary content and options.
//!
//! Invariant: `render` never panics; `Ok` ⇒ a PNG decodes with the `png` crate to exactly
//! size × size pixels at 1 bit per pixel, and an SVG is one well-formed `<svg>` document;
//! `Err` ⇒ one of the typed errors.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qr_origin::render::{Ecc, Format, RenderOptions, Rgb, render};

#[derive(Debug, Arbitrary)]
struct Input {
    format: u8,
    size: u16,
    ecc: u8,
    border: u8,
    dark: (u8, u8, u8),
    light: (u8, u8, u8),
    content: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let opts = RenderOptions {
        format: match input.format % 3 {
            0 => Format::Png,
            1 => Format::Svg,
            _ => Format::Text,
        },
        size: u32::from(input.size),
        ecc: [Ecc::L, Ecc::M, Ecc::Q, Ecc::H][usize::from(input.ecc % 4)],
        border: u32::from(input.border),
        dark: Rgb(input.dark.0, input.dark.1, input.dark.2),
        light: Rgb(input.light.0, input.light.1, input.light.2),
        style: Default::default(),
    };
    let Ok(r) = render(&input.content, &opts) else {
        return;
    };
    match opts.format {
        Format::Png => {
            let decoder = png::Decoder::new(std::io::Cursor::new(&r.bytes));
            let mut reader = decoder.read_info().expect("our PNG header decodes");
            let mut buf = vec![0; reader.output_buffer_size().expect("fits memory")];
            let frame = reader.next_frame(&mut buf).expect("our PNG data decodes");
            assert_eq!((frame.width, frame.height), (opts.size, opts.size));
            assert_eq!(frame.bit_depth, png::BitDepth::One);
        }
        Format::Svg => {
            let text = std::str::from_utf8(&r.bytes).expect("SVG is UTF-8");
            assert!(text.starts_with("<svg ") && text.ends_with("</svg>\n"));
            assert_eq!(text.matches("<path").count(), 1);
        }
        Format::Text => assert_eq!(r.bytes, input.content),
    }
});
