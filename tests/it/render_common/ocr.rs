//! Reading a framed code's caption back, and rasterising its PDF, with independent programs
//! from Debian (installed by `.ci/run`): Tesseract (`tesseract-ocr` and its German, French,
//! Norwegian, Swedish and Polish models) for the text, poppler's `pdftoppm` (`poppler-utils`)
//! for the page. Nothing is compared with a stored picture.

use std::path::Path;
use std::process::Command;

/// Rasterises a one-page PDF with `pdftoppm` at 72 dpi (a page of `size` points becomes
/// `size` pixels) to (width, height, luma).
pub fn pdf_luma(pdf: &[u8]) -> (u32, u32, Vec<u8>) {
    super::png_luma(&pdftoppm(pdf, "-gray"))
}

/// [`pdf_luma`] in colour: (width, height, RGB pixels row by row).
pub fn pdf_rgb(pdf: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let png = pdftoppm(pdf, "-png");
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("image crate decodes pdftoppm's PNG")
        .to_rgb8();
    let (w, h) = img.dimensions();
    (w, h, img.pixels().map(|p| p.0).collect())
}

/// The PNG `pdftoppm` draws of a one-page PDF at 72 dpi; `colours`: `-gray`, or `-png` again
/// for RGB.
fn pdftoppm(pdf: &[u8], colours: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("page.pdf");
    std::fs::write(&input, pdf).expect("write the PDF");
    let out = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "72", colours, "-png", "-singlefile"])
        .arg(&input)
        .arg(&out)
        .status()
        .expect("pdftoppm runs (apt-get install poppler-utils)");
    assert!(status.success(), "pdftoppm failed on the PDF");
    std::fs::read(dir.path().join("page.png")).expect("pdftoppm wrote page.png")
}

/// The text Tesseract reads, with the model of language `lang` (`eng`, `deu`, `fra`, `nor`,
/// `swe`, `pol`: the letters a model knows are the ones it reads back), in columns `x0..x1`
/// and rows `y0..y1` of a luma image `width` wide, as one line.
///
/// The band is cut out, turned dark-on-light if it is light-on-dark (what Tesseract's models
/// were trained on) and enlarged by whole pixels until it is at least 120 px high (its
/// models read best with capitals of 20 px and more).
pub fn read_line(
    lang: &str,
    width: u32,
    luma: &[u8],
    (x0, x1): (u32, u32),
    (y0, y1): (u32, u32),
) -> String {
    let (stride, w, h) = (width as usize, (x1 - x0) as usize, (y1 - y0) as usize);
    let at = |x: usize, y: usize| luma[(y0 as usize + y) * stride + x0 as usize + x];
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w {
            sum += u64::from(at(x, y));
        }
    }
    let invert = sum / ((w * h) as u64) < 128;
    let k = 120usize.div_ceil(h).max(1);
    let img = image::GrayImage::from_fn((w * k) as u32, (h * k) as u32, |x, y| {
        let v = at(x as usize / k, y as usize / k);
        image::Luma([if invert { 255 - v } else { v }])
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("band.png");
    img.save(&path).expect("write the band");
    tesseract(&path, lang)
}

fn tesseract(path: &Path, lang: &str) -> String {
    let out = Command::new("tesseract")
        .arg(path)
        .args(["stdout", "--psm", "7", "-l", lang])
        .output()
        .expect("tesseract runs (apt-get install tesseract-ocr)");
    assert!(
        out.status.success(),
        "tesseract failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
