//! Conformance: our encoder produces the same symbol — version, ECC level, mask and every
//! module — as the `qrcodegen` reference encoder given the same segments at the same ECC level
//! (ECC boost on, automatic mask): one byte segment where no split helps, and the segments of
//! `render::segment` where one does. Equal masks mean our penalty scoring follows the
//! standard's rules exactly.

use qr_origin::render::Ecc;
use qr_origin::render::matrix::{byte_capacity, encode};
use qr_origin::render::segment::{self, Mode};
use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

fn reference(content: &[u8], ecc: Ecc) -> QrCode {
    reference_segments(&[QrSegment::make_bytes(content)], ecc)
}

fn reference_segments(segs: &[QrSegment], ecc: Ecc) -> QrCode {
    let ecl = match ecc {
        Ecc::L => QrCodeEcc::Low,
        Ecc::M => QrCodeEcc::Medium,
        Ecc::Q => QrCodeEcc::Quartile,
        Ecc::H => QrCodeEcc::High,
    };
    QrCode::encode_segments_advanced(segs, ecl, Version::new(1), Version::new(40), None, true)
        .expect("content fits version 40")
}

/// Asserts our symbol equals the reference's given our segments: one byte segment (exactly
/// `qrcodegen`'s byte-mode symbol) wherever no split helps.
fn assert_same(content: &[u8], ecc: Ecc) {
    let ours = encode(content, ecc).expect("content fits");
    let segs = our_segments(content, segment::class_of(ours.version()));
    if let [only] = &segs[..]
        && only.mode() == qrcodegen::QrSegmentMode::Byte
    {
        assert_same_as(content, ecc, &reference(content, ecc));
        return;
    }
    assert_same_as(content, ecc, &reference_segments(&segs, ecc));
}

fn assert_same_as(content: &[u8], ecc: Ecc, theirs: &QrCode) {
    let ours = encode(content, ecc).expect("content fits");
    let what = format!("len {} ecc {ecc:?}", content.len());
    assert_eq!(ours.version(), theirs.version().value(), "version, {what}");
    let level = match theirs.error_correction_level() {
        QrCodeEcc::Low => Ecc::L,
        QrCodeEcc::Medium => Ecc::M,
        QrCodeEcc::Quartile => Ecc::Q,
        QrCodeEcc::High => Ecc::H,
    };
    assert_eq!(ours.ecc(), level, "boosted level, {what}");
    assert_eq!(ours.size() as i32, theirs.size(), "size, {what}");
    assert_eq!(ours.mask(), theirs.mask().value(), "mask, {what}");
    let n = ours.size();
    for y in 0..n {
        for x in 0..n {
            assert_eq!(
                ours.is_dark(x, y),
                theirs.get_module(x as i32, y as i32),
                "module ({x}, {y}), {what}"
            );
        }
    }
}

/// Deterministic bytes of every value, different per seed.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

const LEVELS: [Ecc; 4] = [Ecc::L, Ecc::M, Q, Ecc::H];
const Q: Ecc = Ecc::Q;

#[test]
fn every_version_and_level_matches_the_reference() {
    for ecc in LEVELS {
        for v in 1..=40u8 {
            // The fullest and the emptiest content of this version.
            let max = byte_capacity(v, ecc);
            let min = if v == 1 {
                1
            } else {
                byte_capacity(v - 1, ecc) + 1
            };
            for (i, len) in [min, max].into_iter().enumerate() {
                let content = bytes(len, u64::from(v) * 8 + i as u64);
                assert_same(&content, ecc);
                assert_eq!(encode(&content, ecc).unwrap().version(), v);
            }
        }
    }
}

#[test]
fn mask_choice_matches_the_reference_on_many_contents() {
    // Many contents per small version, where mask scores are close and ties happen, so every
    // penalty rule has to agree with the reference for the same mask to win.
    for seed in 0..300u64 {
        let ecc = LEVELS[(seed % 4) as usize];
        let len = 1 + (seed as usize * 7) % 300;
        assert_same(&bytes(len, seed + 1000), ecc);
    }
    // Text-like contents: URLs (runs of similar bytes).
    for i in 0..200 {
        let url = format!("https://qr.example.com/r/{}", "ab1-_~".repeat(i % 40 + 1));
        assert_same(url.as_bytes(), LEVELS[i % 4]);
    }
}

#[test]
fn the_bench_contents_match_the_reference() {
    let long = "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJraWQiOiJqd3RrZXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lLXNob3AtMTIzLW9yZGVyMTIzYWJjIn0.c2lnbmF0dXJl";
    for content in ["https://qr.example.com/r/DI5bjNA0", long] {
        for ecc in LEVELS {
            assert_same(content.as_bytes(), ecc);
        }
    }
    assert_eq!(encode(long.as_bytes(), Ecc::M).unwrap().version(), 9);
}

/// `content` in the segments `render::segment` picks for version class `class`, as the
/// reference's segments (after an ECI 26 designator where it names UTF-8).
fn our_segments(content: &[u8], class: usize) -> Vec<QrSegment> {
    let seg = segment::optimal(content, class);
    let eci = seg.eci.then(|| QrSegment::make_eci(segment::ECI_UTF8));
    let ascii = |part: &[u8]| {
        std::str::from_utf8(part)
            .expect("digits and capitals are ASCII")
            .to_owned()
    };
    eci.into_iter()
        .chain(seg.segments.iter().map(|s| {
            let part = &content[s.start..s.end];
            match s.mode {
                Mode::Numeric => QrSegment::make_numeric(&ascii(part)),
                Mode::Alphanumeric => QrSegment::make_alphanumeric(&ascii(part)),
                Mode::Byte => QrSegment::make_bytes(part),
            }
        }))
        .collect()
}

#[test]
fn mixed_segments_match_the_reference() {
    // Digits, capitals and lower case mixed in runs, short and long (every version class).
    let mut contents: Vec<String> = vec![
        "HTTPS://QR.EXAMPLE.COM/R/ABC123".into(),
        format!(
            "https://pay.example/deeplink?order={}",
            "123456789".repeat(3) + "012"
        ),
        "1234567".repeat(10),
        "9876543210".repeat(40),
        format!(
            "https://example.com/?id={}&ref={}",
            "31415926".repeat(6) + "53",
            "ABCDEFGHIJKLMNOP"
        ),
        "X".repeat(1500),
        "0123456789".repeat(250),
    ];
    for i in 0..60usize {
        let run = |c: &str, n: usize| c.repeat(n);
        contents.push(format!(
            "{}{}{}{}",
            run("ab", i % 7),
            run("0123456789", 1 + i % 13),
            run("QR-CODE/", i % 5),
            run("x", 1 + i % 3)
        ));
    }
    let mut split = 0;
    for (i, c) in contents.iter().enumerate() {
        let ecc = LEVELS[i % 4];
        let Ok(ours) = encode(c.as_bytes(), ecc) else {
            continue;
        };
        let class = segment::class_of(ours.version());
        split += usize::from(segment::optimal(c.as_bytes(), class).segments.len() > 1);
        assert_same(c.as_bytes(), ecc);
    }
    assert!(
        split >= 40,
        "only {split} contents took more than one segment"
    );
}
