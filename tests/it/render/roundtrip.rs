//! Round trips: render → decode the file format with independent readers → decode the QR with
//! `rqrr` → the exact content. Covers every version and ECC level, the published sizes, UTF-8,
//! URL punctuation, palette colours and SVG.

use crate::render_common;

use qr_origin::render::matrix::{byte_capacity, encode};
use qr_origin::render::{Ecc, Format, RenderError, RenderOptions, Rgb, max_content_len, render};
use render_common::*;

const SHORT: &str = "https://qr.example.com/r/DI5bjNA0";
const LONG: &str = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";
const LEVELS: [Ecc; 4] = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];

fn png(content: &[u8], size: u32, ecc: Ecc) -> Vec<u8> {
    let opts = RenderOptions {
        size,
        ecc,
        ..RenderOptions::default()
    };
    let r = render(content, &opts).expect("renders");
    assert_eq!(r.content_type, "image/png");
    r.bytes
}

/// Asserts the PNG is `size`×`size`, 1-bit greyscale, and holds `content`.
fn assert_png_round_trip(bytes: &[u8], size: u32, content: &[u8]) {
    let d = decode_png(bytes);
    assert_eq!((d.width, d.height), (size, size));
    assert_eq!(d.bit_depth, png::BitDepth::One);
    assert_eq!(d.color_type, png::ColorType::Grayscale);
    assert_eq!(png_content(bytes), content);
}

/// The plain matrix: every version at every level, read by rqrr, zxing-cpp and zbar (each
/// asserted) and by rxing (counted and printed: a third reader, measured 160 of 160).
#[test]
fn every_version_and_level_decodes() {
    let (mut images, mut rxing) = (0, 0);
    for ecc in LEVELS {
        for v in 1..=40u8 {
            // The fullest content of version v, at ~3.5 px per module so widths alternate.
            let content = text(byte_capacity(v, ecc), u64::from(v));
            let m = encode(&content, ecc).unwrap();
            assert_eq!(m.version(), v);
            let total = m.size() as u32 + 8;
            let size = (total * 7 / 2).clamp(100, 2000);
            let bytes = png(&content, size, ecc);
            assert_png_round_trip(&bytes, size, &content);
            let (w, h, luma) = png_luma(&bytes);
            images += 1;
            rxing += usize::from(read_rxing(w, h, luma).as_deref() == Some(&content[..]));
        }
    }
    eprintln!(
        "plain matrix read rates: zxing-cpp {images}/{images}, zbar {images}/{images}, rxing {rxing}/{images}"
    );
}

#[test]
fn published_sizes_decode() {
    for size in [100, 101, 333, 800, 2000] {
        for content in [SHORT, LONG] {
            let bytes = png(content.as_bytes(), size, Ecc::M);
            let d = decode_png(&bytes);
            assert_eq!((d.width, d.height), (size, size));
            assert_eq!(d.bit_depth, png::BitDepth::One);
            assert_eq!(image_dimensions(&bytes), (size, size));
            assert_eq!(png_content(&bytes), content.as_bytes(), "size {size}");
        }
    }
}

#[test]
fn module_edges_are_whole_pixels() {
    // Every pixel is pure dark or light, and each module's pixel span is uniform.
    for size in [101, 333, 800] {
        let bytes = png(LONG.as_bytes(), size, Ecc::M);
        let d = decode_png(&bytes);
        assert!(d.luma.iter().all(|&v| v == 0 || v == 255));
        let m = encode(LONG.as_bytes(), Ecc::M).unwrap();
        let total = m.size() + 8;
        for py in 0..size as usize {
            for px in 0..size as usize {
                let (mx, my) = (px * total / size as usize, py * total / size as usize);
                let inside = (4..4 + m.size()).contains(&mx) && (4..4 + m.size()).contains(&my);
                let dark = inside && m.is_dark(mx - 4, my - 4);
                assert_eq!(d.luma[py * size as usize + px] == 0, dark, "({px}, {py})");
            }
        }
    }
}

#[test]
fn utf8_text_decodes_to_its_bytes() {
    for content in [
        "æøå",
        "ÆØÅ blåbærsyltetøy",
        "🦀🎉 emoji ✓",
        "日本語のテキスト",
        "mixed æ 🦀 a",
    ] {
        for ecc in LEVELS {
            let bytes = png(content.as_bytes(), 400, ecc);
            assert_png_round_trip(&bytes, 400, content.as_bytes());
            assert_eq!(String::from_utf8(png_content(&bytes)).unwrap(), content);
        }
    }
}

#[test]
fn url_punctuation_decodes() {
    // Every character RFC 3986 gives a role in URLs: gen-delims, sub-delims, unreserved marks
    // and the percent sign.
    let urls = [
        "https://user:pa%20ss@shop.example.com:8443/a-b_c.d~e/f?g=h&i=j;k,l+m*n!o$p'q(r)s#t[u]v",
        "https://qr.example.com/r/AZaz09-._~:/?#[]@!$&'()*+,;=%25",
        "vipps://pay?amount=100&msg=%C3%A6%C3%B8%C3%A5#frag",
    ];
    for url in urls {
        let bytes = png(url.as_bytes(), 500, Ecc::M);
        assert_png_round_trip(&bytes, 500, url.as_bytes());
    }
}

#[test]
fn colours_use_a_two_entry_palette() {
    let opts = RenderOptions {
        dark: Rgb(0x1a, 0x23, 0x7e),
        light: Rgb(0xff, 0xf8, 0xe1),
        ..RenderOptions::default()
    };
    let bytes = render(SHORT.as_bytes(), &opts).unwrap().bytes;
    let d = decode_png(&bytes);
    assert_eq!(d.color_type, png::ColorType::Indexed);
    assert_eq!(d.bit_depth, png::BitDepth::One);
    assert_eq!(
        d.palette.as_deref(),
        Some(&[0x1a, 0x23, 0x7e, 0xff, 0xf8, 0xe1][..])
    );
    assert_eq!(png_content(&bytes), SHORT.as_bytes());
    assert_eq!(image_dimensions(&bytes), (800, 800));
}

#[test]
fn border_option_changes_the_quiet_zone() {
    for border in [0, 1, 4, 16] {
        let opts = RenderOptions {
            border,
            size: 400,
            ..RenderOptions::default()
        };
        let bytes = render(SHORT.as_bytes(), &opts).unwrap().bytes;
        let d = decode_png(&bytes);
        // First dark pixel on the diagonal is where the finder starts: border modules in.
        let total = 29 + 2 * border as usize;
        let first = (0..400).find(|&i| d.luma[i * 400 + i] == 0).unwrap();
        assert_eq!(
            first,
            (border as usize * 400).div_ceil(total),
            "border {border}"
        );
        if border >= 1 {
            assert_eq!(png_content(&bytes), SHORT.as_bytes(), "border {border}");
        }
    }
}

#[test]
fn svg_rasterises_and_decodes() {
    for (content, size) in [(SHORT, 100), (SHORT, 333), (LONG, 800), (LONG, 2000)] {
        let opts = RenderOptions {
            format: Format::Svg,
            size,
            ..RenderOptions::default()
        };
        let r = render(content.as_bytes(), &opts).unwrap();
        assert_eq!(r.content_type, "image/svg+xml");
        let text = std::str::from_utf8(&r.bytes).unwrap();
        assert!(text.contains(&format!("width=\"{size}\" height=\"{size}\"")));
        assert_eq!(text.matches("<path").count(), 1);
        let (w, h, _) = rasterise_svg(&r.bytes);
        assert_eq!((w, h), (size, size));
        assert_eq!(svg_content(&r.bytes), content.as_bytes(), "size {size}");
    }
    // Colours applied.
    let opts = RenderOptions {
        format: Format::Svg,
        dark: Rgb(0x12, 0x34, 0x56),
        light: Rgb(0xfe, 0xdc, 0xba),
        ..RenderOptions::default()
    };
    let r = render(LONG.as_bytes(), &opts).unwrap();
    let text = std::str::from_utf8(&r.bytes).unwrap();
    assert!(text.contains("fill=\"#123456\"") && text.contains("fill=\"#fedcba\""));
    assert_eq!(svg_content(&r.bytes), LONG.as_bytes());
}

#[test]
fn text_format_returns_the_content() {
    let opts = RenderOptions {
        format: Format::Text,
        ..RenderOptions::default()
    };
    let r = render(SHORT.as_bytes(), &opts).unwrap();
    assert_eq!(r.bytes, SHORT.as_bytes());
    assert_eq!(r.content_type, "text/plain; charset=utf-8");
}

#[test]
fn bad_input_is_a_typed_error() {
    let opts = RenderOptions::default();
    assert_eq!(render(b"", &opts).unwrap_err(), RenderError::EmptyContent);
    for ecc in LEVELS {
        let max = max_content_len(ecc);
        let o = RenderOptions {
            ecc,
            size: 2000,
            ..opts
        };
        assert!(render(&vec![b'x'; max], &o).is_ok());
        let err = render(&vec![b'x'; max + 1], &o).unwrap_err();
        assert_eq!(
            err,
            RenderError::ContentTooLong {
                len: max + 1,
                max,
                ecc
            }
        );
        assert!(err.to_string().contains(&max.to_string()));
        // `text` is the content of a QR that must exist: the same limit applies.
        let text = RenderOptions {
            format: Format::Text,
            ..o
        };
        assert_eq!(
            render(&vec![b'x'; max], &text).expect("fits").bytes.len(),
            max
        );
        assert_eq!(render(&vec![b'x'; max + 1], &text).unwrap_err(), err);
    }
    for size in [0, 99, 2001] {
        let err = render(SHORT.as_bytes(), &RenderOptions { size, ..opts }).unwrap_err();
        assert!(matches!(
            err,
            RenderError::InvalidOption { name: "size", .. }
        ));
        assert!(err.to_string().contains("100..=2000"));
    }
    let err = render(SHORT.as_bytes(), &RenderOptions { border: 17, ..opts }).unwrap_err();
    assert!(matches!(
        err,
        RenderError::InvalidOption { name: "border", .. }
    ));
    // Version 40 with a 4-module quiet zone needs 185 px.
    let err = render(&vec![b'x'; 2331], &RenderOptions { size: 184, ..opts }).unwrap_err();
    assert_eq!(
        err,
        RenderError::TooSmall {
            modules: 185,
            size: 184
        }
    );
}
