//! Framed codes with a caption, and PDF pages: every image of the matrix (captions in English,
//! Norwegian, Swedish, Danish, German, French and Polish × PNG, SVG, PDF × sizes × styles) is
//! decoded back to its content by the test decoders and its caption read back by Tesseract.
//! The PNG is read as it is, the SVG rasterised by resvg, the PDF by poppler's `pdftoppm`:
//! three independent paths, no stored pictures.

use qr_origin::render::{
    self, Caption, Ecc, Eyes, Format, Frame, LogoArt, LogoRef, RenderError, RenderOptions, Rgb,
    Shape, Style,
};

use crate::render_common::ocr::{edit_distance, pdf_luma, pdf_rgb, read_line};
use crate::render_common::zbar::{ZbarText, read_zbar};
use crate::render_common::zxing::read_zxing;
use crate::render_common::{assert_readers, png_luma, rasterise_svg, read_qr, read_rxing};

const URL: &str = "https://qr.example.com/r/DI5bjNA0";

/// Captions with the letters the issue asks for: Nordic, German, French (and Latin
/// Extended-A beyond them).
/// Each with the Tesseract model of its language.
const CAPTIONS: [(&str, &str); 10] = [
    ("Scan me", "eng"),
    ("Scan to pay", "eng"),
    ("SCAN TO ORDER", "eng"),
    ("Skann meg", "nor"),
    ("Skanna mig", "swe"),
    ("Betal med MobilePay", "nor"),
    ("Scanne mich für Straße", "deu"),
    ("Scannez-moi, c'est très rapide", "fra"),
    ("Åpne kameraet og skann", "nor"),
    ("Zeskanuj kod, żeby zapłacić", "pol"),
];

fn framed(caption: &str, format: Format, size: u32, style: Style) -> RenderOptions {
    RenderOptions {
        format,
        size,
        style: Style {
            frame: Some(Frame {
                caption: Caption::new(caption).expect("a valid caption"),
                frame_color: None,
                caption_color: None,
            }),
            ..style
        },
        ..RenderOptions::default()
    }
}

/// The image of `bytes` as luma, through the format's own independent reader.
fn luma_of(format: Format, bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    match format {
        Format::Png => png_luma(bytes),
        Format::Svg => rasterise_svg(bytes),
        Format::Pdf => pdf_luma(bytes),
        Format::Text => unreachable!("not an image"),
    }
}

/// The band's columns and rows: the bottom eighth of the image (the band is `size / 8` high),
/// inset by a twelfth at each side (inside the card, clear of its rounded corners).
pub fn band(size: u32) -> ((u32, u32), (u32, u32)) {
    ((size / 12, size - size / 12), (size - size / 8, size))
}

/// What one image gave: decoders that found the content, and what OCR read.
struct Read {
    decoders: Vec<&'static str>,
    ocr: String,
}

fn read(opts: &RenderOptions, bytes: &[u8], lang: &str) -> Read {
    let (w, h, luma) = luma_of(opts.format, bytes);
    assert_eq!((w, h), (opts.size, opts.size), "the image is size × size");
    let mut decoders = Vec::new();
    if read_qr(w as usize, h as usize, &luma).contains(&URL.as_bytes().to_vec()) {
        decoders.push("rqrr");
    }
    if read_rxing(w, h, luma.clone()).as_deref() == Some(URL.as_bytes()) {
        decoders.push("rxing");
    }
    if read_zxing(w, h, &luma).as_deref() == Some(URL.as_bytes()) {
        decoders.push("zxing-cpp");
    }
    if read_zbar(w, h, &luma, ZbarText::Binary).as_deref() == Some(URL.as_bytes()) {
        decoders.push("zbar");
    }
    let (xs, ys) = band(opts.size);
    Read {
        decoders,
        ocr: read_line(lang, w, &luma, xs, ys),
    }
}

#[test]
fn every_captioned_image_decodes_and_its_caption_reads_back() {
    let mut exact = 0;
    let mut total = 0;
    let mut lines = Vec::new();
    let mut decoded = std::collections::BTreeMap::new();
    for (i, &(caption, lang)) in CAPTIONS.iter().enumerate() {
        for (j, format) in [Format::Png, Format::Svg, Format::Pdf]
            .into_iter()
            .enumerate()
        {
            let size = [400, 600, 800][(i + j) % 3];
            let styles = [
                Style::default(),
                Style {
                    shape: Shape::Rounded,
                    eyes: Eyes::Rounded,
                    ..Style::default()
                },
            ];
            for style in styles {
                let opts = framed(caption, format, size, style);
                let out = render::render(URL.as_bytes(), &opts).expect("renders");
                assert_eq!(out.content_type, format.content_type());
                let r = read(&opts, &out.bytes, lang);
                // rqrr fits a finder's perspective to the corners of its ring: it must read
                // square eyes, and may read rounded ones.
                for must in ["rxing", "zxing-cpp", "zbar"]
                    .into_iter()
                    .chain((style.eyes == Eyes::Square).then_some("rqrr"))
                {
                    assert!(
                        r.decoders.contains(&must),
                        "{caption:?} {format:?} {size} {style:?}: {must} missed ({:?})",
                        r.decoders
                    );
                }
                for d in &r.decoders {
                    *decoded.entry(*d).or_insert(0) += 1;
                }
                let errors = edit_distance(&r.ocr, caption);
                lines.push(format!(
                    "{format:?} {size} {:?}: {caption:?} -> {:?} ({errors} errors)",
                    style.shape, r.ocr
                ));
                total += 1;
                exact += usize::from(errors == 0);
            }
        }
    }
    eprintln!(
        "{}\nOCR exact: {exact} of {total}; decoded by {decoded:?} of {total}",
        lines.join("\n")
    );
    // Each language's model reads its letters back exactly (measured: 60 of 60).
    assert_eq!(exact, total, "OCR read {exact} of {total} captions exactly");
}

#[test]
fn frame_and_caption_colours_are_drawn_as_given() {
    let mut opts = framed("Scan to pay", Format::Png, 600, Style::default());
    opts.dark = Rgb(0x1a, 0x23, 0x7e);
    opts.style.frame = Some(Frame {
        caption: Caption::new("Scan to pay").unwrap(),
        frame_color: Some(Rgb(0xc2, 0x18, 0x5b)),
        caption_color: Some(Rgb(0xff, 0xf5, 0x9d)),
    });
    for format in [Format::Png, Format::Svg, Format::Pdf] {
        let opts = RenderOptions { format, ..opts };
        let out = render::render(URL.as_bytes(), &opts).expect("renders");
        let r = read(&opts, &out.bytes, "eng");
        assert!(r.decoders.len() == 4, "{format:?}: {:?}", r.decoders);
        assert_eq!(r.ocr, "Scan to pay", "{format:?}");
    }
    // The frame's colour is in the SVG and the PDF as given (no raster in either).
    let svg = render::render(
        URL.as_bytes(),
        &RenderOptions {
            format: Format::Svg,
            ..opts
        },
    )
    .unwrap();
    let svg = String::from_utf8(svg.bytes).unwrap();
    assert!(svg.contains("fill=\"#c2185b\"") && svg.contains("fill=\"#fff59d\""));
    assert!(
        !svg.contains("<text") && !svg.contains("<image"),
        "outlines only"
    );
}

#[test]
fn a_pdf_is_one_vector_page_of_size_points_under_20_kb() {
    for size in [100, 800, 2000] {
        let opts = RenderOptions {
            format: Format::Pdf,
            size,
            ..RenderOptions::default()
        };
        let pdf = render::render(URL.as_bytes(), &opts).unwrap().bytes;
        assert!(pdf.len() < 20 * 1024, "{size}: {} bytes", pdf.len());
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(&format!("/MediaBox[0 0 {size} {size}]")));
        assert!(
            !text.contains("/Image") && !text.contains("/Font"),
            "vector only"
        );
        let (w, h, luma) = pdf_luma(&pdf);
        assert_eq!((w, h), (size, size));
        assert_eq!(
            read_rxing(w, h, luma).as_deref(),
            Some(URL.as_bytes()),
            "{size}"
        );
    }
}

/// The largest plain symbol (version 40) at the largest size is under 20 000 bytes too (its
/// runs stacked and sorted for the PDF's line coder), and still decodes once rasterised.
#[test]
fn a_version_40_pdf_at_2000_pt_is_under_20_000_bytes_and_decodes() {
    let random = crate::render_common::text(2331, 7);
    let xs = vec![b'x'; 2900];
    for (content, ecc) in [(&random, Ecc::M), (&xs, Ecc::L)] {
        let opts = RenderOptions {
            format: Format::Pdf,
            size: 2000,
            ecc,
            ..RenderOptions::default()
        };
        let width = render::symbol_width(content, &opts).unwrap();
        assert_eq!(width, 177 + 8, "version 40");
        let pdf = render::render(content, &opts).unwrap().bytes;
        eprintln!(
            "version-40 PDF at 2000 pt, ECC {ecc:?}: {} bytes",
            pdf.len()
        );
        assert!(pdf.len() < 20_000, "{ecc:?}: {} bytes", pdf.len());
        let (w, h, luma) = pdf_luma(&pdf);
        assert_eq!((w, h), (2000, 2000));
        assert_readers(w, h, &luma, content, "version-40 PDF");
        assert_eq!(read_rxing(w, h, luma).as_deref(), Some(&content[..]));
    }
}

/// An SVG logo in a PDF is vector paths, the page holds no image: rasterised by pdftoppm it
/// still decodes with zxing-cpp and zbar, and the logo's pixels are its own colours.
#[test]
fn an_svg_logo_in_a_pdf_is_paths_in_its_colours() {
    let logo = crate::render_common::example_logo();
    let outlines = logo.outlines().expect("the example logo is plain fills");
    for (shape, eyes) in [
        (Shape::Square, Eyes::Square),
        (Shape::Rounded, Eyes::Rounded),
    ] {
        let opts = RenderOptions {
            format: Format::Pdf,
            size: 800,
            style: Style {
                shape,
                eyes,
                logo: Some(LogoRef {
                    id: [1; 32],
                    size_permille: 200,
                }),
                ..Style::default()
            },
            ..RenderOptions::default()
        };
        let pdf = render::render_pdf(URL.as_bytes(), &opts, Some(LogoArt::Vector(outlines)))
            .unwrap()
            .bytes;
        assert!(
            !String::from_utf8_lossy(&pdf).contains("/Image"),
            "{shape:?}"
        );
        eprintln!(
            "PDF 800 {shape:?}/{eyes:?} SVG logo as paths: {} bytes",
            pdf.len()
        );
        let (w, h, luma) = pdf_luma(&pdf);
        let url = Some(URL.as_bytes());
        assert_eq!(
            read_zxing(w, h, &luma).as_deref(),
            url,
            "zxing-cpp, {shape:?}"
        );
        assert_eq!(
            read_zbar(w, h, &luma, ZbarText::Binary).as_deref(),
            url,
            "zbar, {shape:?}"
        );
        // The 240×200 badge fills its square's width, centred on the page as the square is.
        let (_, _, rgb) = pdf_rgb(&pdf);
        let side = render::logo_side(URL.as_bytes(), &opts).unwrap().unwrap() as f32;
        let k = side / 240.0;
        let (x0, y0) = (400.0 - 120.0 * k, 400.0 - 100.0 * k);
        let at = |x: f32, y: f32| rgb[(y0 + y * k) as usize * w as usize + (x0 + x * k) as usize];
        for (x, y, want, what) in [
            (30.0, 100.0, [0xff, 0x5b, 0x24], "orange badge"),
            (120.0, 82.0, [0x1a, 0x3c, 0x8c], "blue bar"),
            (120.0, 118.0, [0xff; 3], "white circle"),
            (100.0, 159.0, [0xff; 3], "white line"),
        ] {
            let got = at(x, y);
            assert!(
                got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 6),
                "{what}, {shape:?}: {got:?}, not {want:?}"
            );
        }
    }
}

#[test]
fn caption_rules_are_precise_400s() {
    let render = |opts: &RenderOptions| render::render(URL.as_bytes(), opts).map(|_| ());
    // too wide at this size: names the size that fits
    let long = "Scan this code with your phone camera now";
    assert_eq!(long.chars().count(), 41);
    let forty = &long[..40];
    let err = render(&framed(forty, Format::Png, 150, Style::default())).unwrap_err();
    let RenderError::CaptionTooWide { min_size, .. } = err else {
        panic!("{err}")
    };
    assert!(err.to_string().starts_with("caption does not fit"), "{err}");
    render(&framed(forty, Format::Png, min_size, Style::default())).unwrap();
    assert!(render(&framed(forty, Format::Png, min_size - 1, Style::default())).is_err());
    // a long content at a small size: the code would shrink below 2 px per module
    let content = crate::render_common::text(300, 1);
    let opts = framed("Scan me", Format::Png, 150, Style::default());
    let err = render::render(&content, &opts).unwrap_err();
    assert!(
        matches!(err, RenderError::CaptionCrowdsCode { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("caption leaves too little room"),
        "{err}"
    );
    // the frame never touches the code: at least 2 modules of quiet zone
    let mut opts = framed("Scan me", Format::Png, 400, Style::default());
    opts.border = 1;
    assert!(matches!(
        render(&opts).unwrap_err(),
        RenderError::InvalidOption { name: "border", .. }
    ));
    opts.border = 2;
    let out = render::render(URL.as_bytes(), &opts).unwrap();
    assert_eq!(read(&opts, &out.bytes, "eng").decoders.len(), 4);
    // caption on frame below 4.5:1
    let mut opts = framed("Scan me", Format::Svg, 400, Style::default());
    opts.dark = Rgb(0x80, 0x80, 0x80);
    let err = render(&opts).unwrap_err();
    assert!(
        err.to_string()
            .contains("captionColor #ffffff on frameColor #808080"),
        "{err}"
    );
}

#[test]
fn a_logo_sits_in_the_framed_code() {
    let logo = crate::render_common::example_logo();
    let mut opts = framed("Scan me", Format::Png, 600, Style::default());
    opts.style.shape = Shape::Rounded;
    opts.style.logo = Some(render::LogoRef {
        id: [1; 32],
        size_permille: 200,
    });
    for format in [Format::Png, Format::Svg, Format::Pdf] {
        let opts = RenderOptions { format, ..opts };
        let side = render::logo_side(URL.as_bytes(), &opts).unwrap().unwrap();
        let pixmap = logo.fit(side).expect("the logo fits its square");
        let out = render::render_with_logo(URL.as_bytes(), &opts, Some(&pixmap)).unwrap();
        let r = read(&opts, &out.bytes, "eng");
        assert!(
            r.decoders.contains(&"zxing-cpp"),
            "{format:?}: {:?}",
            r.decoders
        );
        assert_eq!(r.ocr, "Scan me", "{format:?}");
    }
}

/// Every module shape × eye style, plain and framed, with an eye colour and with a logo, as a
/// PDF rasterised by poppler: zxing-cpp and zbar both read each page, and Tesseract the
/// caption; the page holds an image only for the logo.
#[test]
fn every_pdf_style_decodes_with_zxing_cpp_and_zbar() {
    let logo = crate::render_common::example_logo();
    let mut lines = Vec::new();
    let mut misses = Vec::new();
    let mut cases = Vec::new();
    for (i, shape) in [Shape::Square, Shape::Rounded, Shape::Dots]
        .into_iter()
        .enumerate()
    {
        for (j, eyes) in [Eyes::Square, Eyes::Rounded, Eyes::Circle]
            .into_iter()
            .enumerate()
        {
            let style = Style {
                shape,
                eyes,
                eye_color: ((i + j) % 2 == 1).then_some(Rgb(0xc2, 0x18, 0x5b)),
                ..Style::default()
            };
            let size = [400, 600, 800][(i + j) % 3];
            cases.push((None, size, style));
            cases.push((Some("Skann meg"), size, style));
        }
    }
    let with_logo = Style {
        shape: Shape::Rounded,
        eyes: Eyes::Rounded,
        logo: Some(render::LogoRef {
            id: [1; 32],
            size_permille: 200,
        }),
        ..Style::default()
    };
    cases.push((None, 800, with_logo));
    cases.push((Some("Scan to pay"), 600, with_logo));
    for (caption, size, style) in cases {
        let opts = match caption {
            Some(c) => framed(c, Format::Pdf, size, style),
            None => RenderOptions {
                format: Format::Pdf,
                size,
                style,
                ..RenderOptions::default()
            },
        };
        let side = render::logo_side(URL.as_bytes(), &opts).unwrap();
        let pixmap = side.map(|s| logo.fit(s).expect("the logo fits its square"));
        let pdf = render::render_with_logo(URL.as_bytes(), &opts, pixmap.as_ref())
            .unwrap()
            .bytes;
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.contains("/Subtype/Image"),
            style.logo.is_some(),
            "an image only for the logo"
        );
        let (w, h, luma) = pdf_luma(&pdf);
        assert_eq!((w, h), (size, size));
        let zxing = read_zxing(w, h, &luma).as_deref() == Some(URL.as_bytes());
        let zbar = read_zbar(w, h, &luma, ZbarText::Binary).as_deref() == Some(URL.as_bytes());
        let ocr = caption.map(|c| {
            let (xs, ys) = band(size);
            let got = read_line(
                if c == "Skann meg" { "nor" } else { "eng" },
                w,
                &luma,
                xs,
                ys,
            );
            (edit_distance(&got, c), got)
        });
        let line = format!(
            "PDF {size} {:?}/{:?} eye colour {} logo {} caption {caption:?}: {} bytes, \
             zxing-cpp {zxing}, zbar {zbar}, OCR {ocr:?}",
            style.shape,
            style.eyes,
            style.eye_color.is_some(),
            style.logo.is_some(),
            pdf.len()
        );
        if !zxing || !zbar || ocr.as_ref().is_some_and(|(e, _)| *e > 0) {
            misses.push(line.clone());
        }
        lines.push(line);
    }
    eprintln!("{}", lines.join("\n"));
    assert!(misses.is_empty(), "missed:\n{}", misses.join("\n"));
}
