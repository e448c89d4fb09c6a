//! The symbol versions optimal segments and the ECC boost give, pinned for the contents that
//! motivated them (each against the byte-mode version a plain encoder picks), and each symbol
//! read back by zxing-cpp and zbar from an 800 px PNG.

use crate::render_common;

use qr_origin::render::matrix::{byte_capacity, encode};
use qr_origin::render::{Ecc, Format, RenderOptions, render};

/// The smallest byte-mode version holding `len` bytes at `ecc`.
fn byte_mode_version(len: usize, ecc: Ecc) -> Option<u8> {
    (1..=40).find(|&v| byte_capacity(v, ecc) >= len)
}

fn digits(n: usize) -> String {
    (0..n)
        .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
        .collect()
}

/// (content, asked level, byte-mode version, version now, level used).
fn cases() -> Vec<(String, Ecc, Option<u8>, u8, Ecc)> {
    let order = format!("https://pay.example/deeplink?order={}", digits(30));
    let mixed = format!(
        "https://example.com/?id={}&ref=ABCDEFGHIJKLMNOP",
        digits(50)
    );
    vec![
        (
            "HTTPS://QR.EXAMPLE.COM/R/ABC123".into(),
            Ecc::M,
            Some(3),
            2,
            Ecc::M,
        ),
        (order.clone(), Ecc::M, Some(5), 4, Ecc::M),
        (order, Ecc::Q, Some(6), 5, Ecc::Q),
        (digits(70), Ecc::M, Some(5), 3, Ecc::Q),
        (digits(400), Ecc::H, Some(21), 13, Ecc::H),
        (mixed, Ecc::M, Some(6), 5, Ecc::M),
        ("X".repeat(1500), Ecc::L, Some(28), 23, Ecc::L),
        (digits(2500), Ecc::M, None, 26, Ecc::M),
        // A short link at M that version 3 holds at Q too: raised for free.
        (
            "https://qr.example.com/r/abc123".into(),
            Ecc::M,
            Some(3),
            3,
            Ecc::Q,
        ),
        // The short links the API hands out (12-character codes), at the default M, for each
        // `--short-link-case`, and a base62 link printed before.
        (
            "https://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB".into(),
            Ecc::M,
            Some(3),
            3,
            Ecc::Q,
        ),
        (
            "HTTPS://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB".into(),
            Ecc::M,
            Some(3),
            2,
            Ecc::M,
        ),
        (
            "https://qr.example.com/r/7K2D9QX4M1ZB".into(),
            Ecc::M,
            Some(3),
            3,
            Ecc::M,
        ),
        (
            "https://qr.example.com/r/DI5bjNA0xY".into(),
            Ecc::M,
            Some(3),
            3,
            Ecc::M,
        ),
    ]
}

#[test]
fn versions_are_the_smallest_and_read_back() {
    let mut wrong = Vec::new();
    for (content, ecc, before, now, used) in cases() {
        let m = encode(content.as_bytes(), ecc).expect("fits");
        eprintln!(
            "{:<60} {ecc:?}: byte mode {} -> v{} at {:?}",
            if content.len() > 60 {
                &content[..60]
            } else {
                &content
            },
            before.map_or("refused".to_owned(), |v| format!("v{v}")),
            m.version(),
            m.ecc()
        );
        if (byte_mode_version(content.len(), ecc), m.version(), m.ecc()) != (before, now, used) {
            wrong.push(content.clone());
        }
        let opts = RenderOptions {
            format: Format::Png,
            size: 800,
            ecc,
            ..RenderOptions::default()
        };
        let png = render(content.as_bytes(), &opts).expect("renders").bytes;
        let (w, h, luma) = render_common::png_luma(&png);
        render_common::assert_readers(w, h, &luma, content.as_bytes(), &content);
    }
    assert!(wrong.is_empty(), "not as pinned: {wrong:#?}");
}
