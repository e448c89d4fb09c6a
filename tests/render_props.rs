//! Property: any content and options either render and decode back to the content, or fail
//! with the typed error that names the problem — never a panic.

mod render_common;

use proptest::prelude::*;
use qr_origin::render::matrix::encode;
use qr_origin::render::{Ecc, Format, RenderError, RenderOptions, Rgb, max_content_len, render};

fn ecc() -> impl Strategy<Value = Ecc> {
    prop_oneof![Just(Ecc::L), Just(Ecc::M), Just(Ecc::Q), Just(Ecc::H)]
}

/// Colour pairs with enough contrast to scan; the palette path is exercised whenever they are
/// not black on white.
fn colours() -> impl Strategy<Value = (Rgb, Rgb)> {
    prop_oneof![
        Just((Rgb::BLACK, Rgb::WHITE)),
        (
            0u8..60,
            0u8..60,
            0u8..60,
            200u8..=255,
            200u8..=255,
            200u8..=255
        )
            .prop_map(|(a, b, c, d, e, f)| (Rgb(a, b, c), Rgb(d, e, f))),
    ]
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Mostly short and medium (fast to decode), sometimes beyond any capacity, or empty.
        6 => proptest::collection::vec(any::<u8>(), 1..200),
        2 => any::<String>().prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 1200..3000),
        1 => Just(Vec::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn renders_and_decodes_or_fails_typed(
        content in content(),
        png in any::<bool>(),
        size in prop_oneof![8 => 100u32..=700, 1 => 0u32..3000],
        ecc in ecc(),
        border in prop_oneof![8 => 1u32..=16, 1 => 0u32..=20],
        (dark, light) in colours(),
    ) {
        let format = if png { Format::Png } else { Format::Svg };
        let opts = RenderOptions { format, size, ecc, border, dark, light, style: Default::default() };
        match render(&content, &opts) {
            Ok(r) => {
                let total = (encode(&content, ecc).expect("rendered").size() as u32 + 2 * border) as usize;
                let (w, luma) = if png {
                    let d = render_common::decode_png(&r.bytes);
                    prop_assert_eq!((d.width, d.height), (size, size));
                    prop_assert_eq!(d.bit_depth, png::BitDepth::One);
                    (d.width, d.luma)
                } else {
                    let (w, h, luma) = render_common::rasterise_svg(&r.bytes);
                    prop_assert_eq!((w, h), (size, size));
                    (w, luma)
                };
                // Decoding is asserted when every module gets at least 2 px. Below that (a
                // version-25+ symbol squeezed into < 2 px per module) rqrr's finder search has
                // been seen to miss symbols the raster represents exactly; those sizes are
                // pinned pixel by pixel against the matrix in render_roundtrip.rs
                // (`module_edges_are_whole_pixels`), and every version decodes there at ≥ 3.5 px.
                if size as usize >= 2 * total {
                    let found = render_common::read_qr_any(w as usize, &luma, total);
                    prop_assert_eq!(found.len(), 1);
                    let decoded = found.into_iter().next().expect("one");
                    prop_assert_eq!(decoded, content);
                }
            }
            Err(RenderError::InvalidOption { name, .. }) => {
                prop_assert!(
                    (name == "size" && !(100..=2000).contains(&size))
                        || (name == "border" && border > 16)
                );
            }
            Err(RenderError::EmptyContent) => prop_assert!(content.is_empty()),
            Err(RenderError::ContentTooLong { len, max, ecc: e }) => {
                prop_assert_eq!((len, max, e), (content.len(), max_content_len(ecc), ecc));
                prop_assert!(len > max);
            }
            Err(RenderError::TooSmall { modules, size: s }) => {
                let m = encode(&content, ecc).expect("too small means it encoded");
                prop_assert_eq!(modules, m.size() as u32 + 2 * border);
                prop_assert!(modules > s && s == size);
            }
            // The colour pairs drawn here all keep the contrast rule, and the style is plain:
            // any other refusal is a bug.
            Err(other) => prop_assert!(false, "unexpected refusal: {}", other),
        }
    }
}
