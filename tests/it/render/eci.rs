//! Non-ASCII content and the ECI designator (ISO/IEC 18004 §7.4.2): the same UTF-8 bytes in a
//! byte segment, once bare and once after an ECI 26 (UTF-8) designator, drawn by the `qrcodegen`
//! reference encoder, and the text each reader makes of them: zxing-cpp and rxing (ZXing) and
//! zbar, in the text mode apps show. The measurement is printed and pinned (the table in
//! `src/render/ECI.md`), and our own codes must read as their text with all three.

use crate::render_common;

use qr_origin::render::{Ecc, RenderOptions, render};
use qrcodegen::{QrCode, QrCodeEcc, QrSegment};
use render_common::zbar::{ZbarText, read_zbar};
use render_common::zxing::read_zxing_text;

/// Latin-1 letters (zbar's guess fails on them), CJK, an emoji and a URL with a few non-ASCII
/// characters among ASCII.
const CONTENTS: [&str; 5] = [
    "Blåbærsyltetøy",
    "ÆØÅ blåbærsyltetøy",
    "https://example.com/søk?q=æøå",
    "日本語のテキスト",
    "🦀 crab ✓",
];

/// The three readers' text of a luma image, `None` where one found no code.
fn texts(w: u32, luma: &[u8]) -> [Option<String>; 3] {
    let zbar = read_zbar(w, w, luma, ZbarText::Converted)
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    [
        read_zxing_text(w, w, luma),
        zbar,
        render_common::read_rxing_text(w, w, luma.to_vec()),
    ]
}

/// `code` drawn at 6 px per module with a 4-module quiet zone, as luma.
fn luma_of(code: &QrCode) -> (u32, Vec<u8>) {
    let (px, border) = (6, 4);
    let n = code.size() + 2 * border;
    let w = (n * px) as u32;
    let luma = (0..n * px)
        .flat_map(|y| (0..n * px).map(move |x| (x / px - border, y / px - border)))
        .map(|(x, y)| if code.get_module(x, y) { 0 } else { 255 })
        .collect();
    (w, luma)
}

#[test]
fn eci_measurement_is_as_documented() {
    let mut table = Vec::new();
    for content in CONTENTS {
        for eci in [false, true] {
            let mut segs = vec![QrSegment::make_bytes(content.as_bytes())];
            if eci {
                segs.insert(0, QrSegment::make_eci(26));
            }
            let code = QrCode::encode_segments(&segs, QrCodeEcc::Medium).expect("fits");
            let (w, luma) = luma_of(&code);
            let read = texts(w, &luma).map(|t| t.as_deref() == Some(content));
            eprintln!(
                "ECI measurement: {content:?} eci26={eci}: zxing-cpp {} zbar {} rxing {}",
                read[0], read[1], read[2]
            );
            table.push((content, eci, read));
        }
    }
    // What all three read: the rows with ECI 26.
    for (content, eci, read) in &table {
        if *eci {
            assert_eq!(*read, [true; 3], "{content:?} with ECI 26");
        }
    }
}

#[test]
fn our_non_ascii_codes_read_as_their_text_with_every_reader() {
    for content in CONTENTS {
        let opts = RenderOptions {
            size: 600,
            ecc: Ecc::M,
            ..RenderOptions::default()
        };
        let png = render(content.as_bytes(), &opts).expect("renders").bytes;
        let (w, _, luma) = render_common::png_luma(&png);
        assert_eq!(
            texts(w, &luma),
            [
                Some(content.to_owned()),
                Some(content.to_owned()),
                Some(content.to_owned())
            ],
            "{content:?}"
        );
    }
}
