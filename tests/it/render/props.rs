//! Property: any content and options, plain or branded, either render and decode back to the
//! content, or fail with the typed error that names the problem — never a panic.

use crate::render_common;

use proptest::prelude::*;
use qr_origin::render::matrix::encode;
use qr_origin::render::{
    Ecc, Eyes, Format, LogoRef, RenderError, RenderOptions, Rgb, Shape, Style,
    largest_logo_permille, logo_side, max_content_len, render, render_with_logo, symbol_width,
};

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
        // Runs of digits and capitals among lower case: the segments of every mode.
        2 => "([0-9]{1,40}|[0-9A-Z$%*+./: -]{1,30}|[a-z?=&]{1,8}){1,12}".prop_map(String::into_bytes),
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
                    prop_assert_eq!(&decoded, &content);
                    // With the standard quiet zone: zbar needs one to find the finders.
                    if border >= 4 { render_common::assert_readers(w, w, &luma, &content, &format!(
                        "{} bytes at {ecc:?}: {total} modules (border {border}) at {size} px",
                        content.len())); }
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

fn rgb() -> impl Strategy<Value = Rgb> {
    (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(r, g, b)| Rgb(r, g, b))
}

/// A branded style: any shape, eyes and eye colour (often one that breaks the contrast rule),
/// a logo of any size from tiny to far too large, a transparent ground, an inverted code.
fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just(Shape::Square), Just(Shape::Rounded), Just(Shape::Dots)],
        prop_oneof![Just(Eyes::Square), Just(Eyes::Rounded), Just(Eyes::Circle)],
        proptest::option::of(rgb()),
        proptest::option::weighted(0.6, 1u16..=450),
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(shape, eyes, eye_color, logo, transparent, invert)| Style {
                shape,
                eyes,
                eye_color,
                logo: logo.map(|size_permille| LogoRef {
                    id: [3; 32],
                    size_permille,
                }),
                transparent,
                invert,
                // Framed codes have their own matrix (framed.rs): OCR per case is too slow here.
                frame: None,
            },
        )
        .prop_filter("a branded style", |s| !s.is_plain())
}

/// The refusal the colour rule owes `dark` on `light`, from luminances
/// computed here: under 3:1 too faint (an inverted code in its negative, the picture readers
/// decode it from), else the wrong way round for `invert`.
fn colour_refusal(dark: Rgb, light: Rgb, invert: bool) -> Option<&'static str> {
    let negative = |c: Rgb| Rgb(255 - c.0, 255 - c.1, 255 - c.2);
    let (md, ml) = if invert {
        (negative(dark).luminance(), negative(light).luminance())
    } else {
        (dark.luminance(), light.luminance())
    };
    let ratio = (md.max(ml) + 0.05) / (md.min(ml) + 0.05);
    let (ld, ll) = (dark.luminance(), light.luminance());
    if ratio < 3.0 {
        Some("LowContrast")
    } else if (ld > ll) != invert {
        Some("Inversion")
    } else {
        None
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn styled_renders_and_decodes_or_fails_typed(
        content in prop_oneof![
            // mostly symbols that get 4 px per module or more at these sizes
            8 => proptest::collection::vec(any::<u8>(), 1..150),
            2 => "([0-9]{1,40}|[0-9A-Z$%*+./: -]{1,30}|[a-z?=&]{1,8}){1,8}".prop_map(String::into_bytes),
            2 => proptest::collection::vec(any::<u8>(), 150..600),
            1 => proptest::collection::vec(any::<u8>(), 1300..3000),
        ],
        png in any::<bool>(),
        size in 100u32..=900,
        ecc in ecc(),
        border in 1u32..=6,
        (dark, light) in colours(),
        style in style(),
    ) {
        // An inverted code swaps the pair: light modules on a dark ground.
        let (dark, light) = if style.invert { (light, dark) } else { (dark, light) };
        let format = if png { Format::Png } else { Format::Svg };
        let opts = RenderOptions { format, size, ecc, border, dark, light, style };
        let owed = colour_refusal(dark, light, style.invert).map(|r| ("fg", r)).or_else(|| {
            style.eye_color.and_then(|e| colour_refusal(e, light, style.invert).map(|r| ("eyeColor", r)))
        });
        let side = logo_side(&content, &opts);
        let logo = side.clone().ok().flatten().map(|s| render_common::example_logo().fit(s).expect("a logo box is never empty"));
        let result = render_with_logo(&content, &opts, logo.as_ref());
        if let Some((name, kind)) = owed {
            let got = match &result {
                Err(RenderError::LowContrast { name: n, .. }) => Some((*n, "LowContrast")),
                Err(RenderError::Inversion { name: n, .. }) => Some((*n, "Inversion")),
                _ => None,
            };
            prop_assert_eq!(got, Some((name, kind)), "{:?}", result.map(|r| r.bytes.len()));
            return Ok(());
        }
        match result {
            Ok(r) => {
                prop_assert!(side.is_ok());
                // The surface a transparent code lies on is the light colour.
                let ground = [light.0, light.1, light.2];
                let (w, h, mut luma) = if png {
                    render_common::png_luma_over(&r.bytes, ground)
                } else {
                    render_common::rasterise_svg_over(&r.bytes, ground)
                };
                prop_assert_eq!((w, h), (size, size));
                if style.invert {
                    // readers that take inverted codes invert first; these are run without it
                    luma.iter_mut().for_each(|v| *v = 255 - *v);
                }
                // zxing-cpp and zbar, the two decoder families (rqrr cannot locate round eyes),
                // must both read the exact content at 4.5 px per module or more; zbar with the
                // standard quiet zone, as for plain codes above. Below that these decoders were
                // seen to miss anti-aliased codes of every shape: rounded at 2.1 px, round eyes
                // at 1.3–2.8 px per module, and zxing-cpp 3.1.1 6 of 300 random branded images
                // at 4.0–4.4 px per module (square, rounded and circle eyes, with and without a
                // logo), where it read all of 850 at 4.5–6 px per module (this property's
                // distributions, binary content). The matrix in styled.rs pins its own cases at
                // 4 px and more.
                let modules = symbol_width(&content, &opts).expect("rendered");
                if 2 * size >= 9 * modules {
                    let read = render_common::zxing::read_zxing(w, h, &luma);
                    prop_assert_eq!(read.as_deref(), Some(&content[..]), "zxing-cpp");
                    // zbar with a logo too: the alignment pattern a logo covers is drawn back
                    // over it (src/render/styled/window.rs says why).
                    if border >= 4 {
                        use render_common::zbar::{ZbarText, read_zbar};
                        let read = read_zbar(w, h, &luma, ZbarText::Binary);
                        prop_assert_eq!(read.as_deref(), Some(&content[..]), "zbar");
                    }
                }
            }
            Err(RenderError::ContentTooLong { len, max, .. }) => {
                prop_assert_eq!(len, content.len());
                prop_assert!(len > max);
            }
            Err(RenderError::TooSmall { modules, size: s }) => {
                prop_assert!(modules > s && s == size);
            }
            Err(RenderError::DotsTooSmall { modules, size: s, min_size }) => {
                prop_assert_eq!(style.shape, Shape::Dots);
                prop_assert_eq!(min_size, modules * 4);
                prop_assert!(s == size && size < min_size);
                prop_assert_eq!(Ok(modules), symbol_width(&content, &opts));
            }
            Err(RenderError::LogoTooLarge { requested, largest, .. }) => {
                let asked = style.logo.map(|l| l.size_permille);
                prop_assert_eq!(Some(requested), asked);
                prop_assert!(largest < requested);
                prop_assert_eq!(largest_logo_permille(&content, &opts), Ok(Some(largest)));
            }
            Err(RenderError::NoRoomForLogo { .. }) => {
                prop_assert!(style.logo.is_some());
                prop_assert_eq!(largest_logo_permille(&content, &opts), Ok(None));
            }
            Err(other) => prop_assert!(false, "unexpected refusal: {}", other),
        }
    }
}
