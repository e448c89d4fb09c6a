//! Fuzz target `logo`: arbitrary bytes uploaded as a PNG or an SVG logo.
//!
//! Invariant: `logo::decode` never panics, never hangs, whatever the bytes; `Ok` ⇒ the logo is
//! 1..=2048 px each way, and fitting it into a square draws a pixmap no larger than that square
//! whose long side is the square's; `Err` ⇒ one of the typed errors, with a 400/413/415 status.
//! The first byte picks the declared type (even: PNG, odd: SVG), and a third of the inputs get
//! the PNG signature or an `<svg>` root prepended, so the fuzzer reaches past the first check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qr_origin::logo;
use qr_origin::store::LogoFormat;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let format = if head % 2 == 0 {
        LogoFormat::Png
    } else {
        LogoFormat::Svg
    };
    let mut bytes = Vec::with_capacity(rest.len() + 64);
    if head % 3 == 0 {
        match format {
            LogoFormat::Png => bytes.extend_from_slice(b"\x89PNG\r\n\x1a\n"),
            LogoFormat::Svg => bytes.extend_from_slice(
                br#"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">"#,
            ),
        }
    }
    bytes.extend_from_slice(rest);
    match logo::decode(format, &bytes) {
        Ok(decoded) => {
            assert!((1..=logo::MAX_PX).contains(&decoded.width));
            assert!((1..=logo::MAX_PX).contains(&decoded.height));
            let side = 1 + u32::from(head) % 96;
            let fit = decoded.fit(side).expect("a non-zero square");
            assert!(fit.width() <= side && fit.height() <= side);
            assert_eq!(fit.width().max(fit.height()), side);
        }
        Err(e) => assert!(matches!(e.status(), 400 | 413 | 415), "{e}"),
    }
});
