//! Decoding helpers shared by the render tests: every rendered image goes back through
//! independent decoders (`png`/`image` for the file format, `resvg` for SVG; for the QR `rqrr`,
//! and [`assert_readers`]: zxing-cpp and zbar, the two decoder families phones and point-of-sale
//! scanners descend from, must both read it; `rxing` as a third).

use std::io::Cursor;

pub mod ocr;
pub mod pipe;
pub mod zbar;
pub mod zxing;

/// What the `png` crate reports about a PNG, plus its pixels as luma (0 dark … 255 light).
pub struct DecodedPng {
    pub width: u32,
    pub height: u32,
    pub bit_depth: png::BitDepth,
    pub color_type: png::ColorType,
    pub palette: Option<Vec<u8>>,
    pub luma: Vec<u8>,
}

/// Decodes with the `png` crate, expanding 1-bit and palette data to 8-bit luma.
pub fn decode_png(bytes: &[u8]) -> DecodedPng {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header decodes");
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    let (bit_depth, color_type) = (info.bit_depth, info.color_type);
    let palette = info.palette.as_ref().map(|p| p.to_vec());
    let mut buf = vec![0; reader.output_buffer_size().expect("image fits memory")];
    let frame = reader.next_frame(&mut buf).expect("PNG data decodes");
    let stride = frame.line_size;
    let mut luma = Vec::with_capacity((width * height) as usize);
    for y in 0..height as usize {
        let line = &buf[y * stride..(y + 1) * stride];
        for x in 0..width as usize {
            let bit = (line[x / 8] >> (7 - x % 8)) & 1;
            let v = match &palette {
                // Index → palette RGB → luma.
                Some(p) => {
                    let i = bit as usize * 3;
                    ((p[i] as u32 * 299 + p[i + 1] as u32 * 587 + p[i + 2] as u32 * 114) / 1000)
                        as u8
                }
                None => bit * 255,
            };
            luma.push(v);
        }
    }
    DecodedPng {
        width,
        height,
        bit_depth,
        color_type,
        palette,
        luma,
    }
}

/// Decodes a QR code from a luma image with `rqrr`; the raw content bytes of every code found.
///
/// rqrr's finder detection misses symbols below ~3 px per module (measured: the short link's
/// 37 modules fail at 100 px but pass at 101; the long link's 61 fail at 150). When nothing is
/// found the image is retried enlarged by an integer factor with nearest-neighbour sampling,
/// which keeps every pixel edge where it was — the same symbol, as a camera closer up sees it.
pub fn read_qr(width: usize, height: usize, luma: &[u8]) -> Vec<Vec<u8>> {
    for k in 1..=3 {
        let found = read_qr_scaled(width, height, luma, k);
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

fn read_qr_scaled(width: usize, height: usize, luma: &[u8], k: usize) -> Vec<Vec<u8>> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width * k, height * k, |x, y| {
        luma[(y / k) * width + x / k]
    });
    img.detect_grids()
        .into_iter()
        .filter_map(|grid| {
            let mut out = Vec::new();
            grid.decode_to(&mut out).ok().map(|_| out)
        })
        .collect()
}

/// Decodes a PNG's QR code; asserts there is exactly one, that zxing-cpp and zbar read the
/// same, and returns its content.
pub fn png_content(bytes: &[u8]) -> Vec<u8> {
    let d = decode_png(bytes);
    let found = read_qr(d.width as usize, d.height as usize, &d.luma);
    assert_eq!(found.len(), 1, "exactly one QR code in the PNG");
    let content = found.into_iter().next().expect("one code");
    assert_readers(d.width, d.height, &d.luma, &content, "PNG");
    content
}

/// Asserts that zxing-cpp and zbar both read `content` from the luma image: an image one of
/// the two families cannot read fails a share of the scanners in use.
///
/// Below ~3 px per module a reader's finder search misses symbols the raster holds exactly
/// (zbar at 2.7 px: the short link at 100 px); like [`read_qr`], each reader then gets the image
/// enlarged by an integer factor with nearest-neighbour sampling, the same symbol as a camera
/// closer up sees it.
pub fn assert_readers(width: u32, height: u32, luma: &[u8], content: &[u8], what: &str) {
    let zxing = scaled(width, height, luma, zxing::read_zxing);
    assert_eq!(zxing.as_deref(), Some(content), "zxing-cpp, {what}");
    let zbar = scaled(width, height, luma, |w, h, l| {
        zbar::read_zbar(w, h, l, zbar::ZbarText::Binary)
    });
    assert_eq!(zbar.as_deref(), Some(content), "zbar, {what}");
}

/// `read` of the image, or of it enlarged 2× or 3× when nothing is found.
fn scaled(
    width: u32,
    height: u32,
    luma: &[u8],
    read: impl Fn(u32, u32, &[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    (1..=3).find_map(|k| {
        if k == 1 {
            return read(width, height, luma);
        }
        let (w, h) = (width as usize * k, height as usize * k);
        let big: Vec<u8> = (0..w * h)
            .map(|i| luma[(i / w / k) * width as usize + (i % w) / k])
            .collect();
        read(w as u32, h as u32, &big)
    })
}

/// Decodes a PNG with the `image` crate too (a second, independent PNG reader): dimensions.
pub fn image_dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .expect("image crate decodes the PNG");
    (img.width(), img.height())
}

/// Rasterises an SVG with `resvg` at its own width/height; returns (width, height, luma),
/// transparent pixels over white.
pub fn rasterise_svg(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    rasterise_svg_over(bytes, WHITE)
}

/// [`rasterise_svg`] with transparent pixels over `ground` (RGB): the surface a code with a
/// transparent background is printed on.
pub fn rasterise_svg_over(bytes: &[u8], ground: [u8; 3]) -> (u32, u32, Vec<u8>) {
    let tree = resvg::usvg::Tree::from_data(bytes, &resvg::usvg::Options::default())
        .expect("usvg parses the SVG");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("size");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let luma = pixmap
        .pixels()
        .iter()
        .map(|p| {
            let c = p.demultiply();
            luma_over([c.red(), c.green(), c.blue(), c.alpha()], ground)
        })
        .collect();
    (size.width(), size.height(), luma)
}

const WHITE: [u8; 3] = [255, 255, 255];

/// Luma (Rec. 601 weights) of straight RGBA `p` composited over `ground`.
fn luma_over(p: [u8; 4], ground: [u8; 3]) -> u8 {
    let a = u32::from(p[3]);
    let mix = |v: u8, g: u8| (u32::from(v) * a + u32::from(g) * (255 - a)) / 255;
    let (r, g, b) = (
        mix(p[0], ground[0]),
        mix(p[1], ground[1]),
        mix(p[2], ground[2]),
    );
    ((r * 299 + g * 587 + b * 114) / 1000) as u8
}

/// The example logo, `docs/logo-example.svg` (an orange badge, 240×200), decoded and screened
/// like an upload; `crate::logo` rasterises it to each logo square.
pub fn example_logo() -> qr_origin::logo::DecodedLogo {
    qr_origin::logo::decode(
        qr_origin::store::LogoFormat::Svg,
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/logo-example.svg"
        )),
    )
    .expect("the example logo is a valid upload")
}

/// Decodes an SVG's QR code after rasterising; asserts exactly one and returns its content.
pub fn svg_content(bytes: &[u8]) -> Vec<u8> {
    let (w, h, luma) = rasterise_svg(bytes);
    let found = read_qr(w as usize, h as usize, &luma);
    assert_eq!(found.len(), 1, "exactly one QR code in the SVG");
    let content = found.into_iter().next().expect("one code");
    assert_readers(w, h, &luma, &content, "SVG");
    content
}

/// Deterministic URL-safe text of `len` bytes, different per seed.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&";
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ALPHABET[(s % ALPHABET.len() as u64) as usize]
        })
        .collect()
}

/// Decodes a QR image whose modules may be too few pixels for rqrr's finder detection (below
/// ~3 px, or with no quiet zone): tries the image itself first, then samples each module at
/// the centre of its pixel span (`total` modules across, quiet zone included) and decodes that
/// module grid redrawn at 4 px per module with a 4-module margin. Sampling at span centres
/// also checks that every module landed on its own whole pixels.
pub fn read_qr_any(width: usize, luma: &[u8], total: usize) -> Vec<Vec<u8>> {
    let found = read_qr(width, width, luma);
    if !found.is_empty() {
        return found;
    }
    let start = |m: usize| (m * width).div_ceil(total);
    let centre = |m: usize| (start(m) + start(m + 1) - 1) / 2;
    let (px, margin) = (4, 4);
    let side = (total + 2 * margin) * px;
    let grid: Vec<u8> = (0..side * side)
        .map(|i| {
            let (x, y) = ((i % side) / px, (i / side) / px);
            if x < margin || y < margin || x >= margin + total || y >= margin + total {
                255
            } else {
                luma[centre(y - margin) * width + centre(x - margin)]
            }
        })
        .collect();
    read_qr(side, side, &grid)
}

/// Decodes any PNG (palette, grey, RGB, with or without alpha) with the `image` crate to luma,
/// transparent pixels composited over white (the paper a transparent code is printed on).
pub fn png_luma(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    png_luma_over(bytes, WHITE)
}

/// [`png_luma`] with transparent pixels over `ground` (RGB).
pub fn png_luma_over(bytes: &[u8], ground: [u8; 3]) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .expect("image crate decodes the PNG")
        .to_rgba8();
    let (w, h) = img.dimensions();
    let luma = img.pixels().map(|p| luma_over(p.0, ground)).collect();
    (w, h, luma)
}

/// Decodes a QR code from a luma image with `rxing` (a port of ZXing, independent of `rqrr`):
/// the content, or `None` when it finds none.
///
/// The content is the symbol's bytes, not its text: rxing guesses a character set for byte mode
/// and hands back a `String`, whose UTF-8 never equals binary content (bytes ≥ 0x80 come back
/// re-encoded), so a comparison with the text would count every binary code it reads as a miss.
/// Which reader answered decides where the bytes are: rxing tries its zxing-cpp port first, whose
/// "raw bytes" are the decoded content, and falls back to its ZXing (Java) port, whose raw bytes
/// are the codewords and whose content is the byte segments (the encoder writes one).
pub fn read_rxing(width: u32, height: u32, luma: Vec<u8>) -> Option<Vec<u8>> {
    let mut hints = rxing::DecodeHints::default().with(rxing::DecodeHintValue::TryHarder(true));
    rxing::helpers::detect_in_luma_with_hints(
        luma,
        width,
        height,
        Some(rxing::BarcodeFormat::QR_CODE),
        &mut hints,
    )
    .ok()
    .map(|r| {
        match r
            .getRXingResultMetadata()
            .get(&rxing::RXingResultMetadataType::BYTE_SEGMENTS)
        {
            Some(rxing::RXingResultMetadataValue::ByteSegments(segments)) => segments.concat(),
            _ => r.getRawBytes().to_vec(),
        }
    })
}

/// The text `rxing` makes of the code in a luma image (its character-set decoding), or `None`.
pub fn read_rxing_text(width: u32, height: u32, luma: Vec<u8>) -> Option<String> {
    let mut hints = rxing::DecodeHints::default().with(rxing::DecodeHintValue::TryHarder(true));
    rxing::helpers::detect_in_luma_with_hints(
        luma,
        width,
        height,
        Some(rxing::BarcodeFormat::QR_CODE),
        &mut hints,
    )
    .ok()
    .map(|r| r.getText().to_owned())
}
