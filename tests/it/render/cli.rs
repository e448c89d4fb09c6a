//! `qr-origin render` as a user runs it: the real binary writing a real file, decoded back.

use crate::render_common;

use std::process::Command;

fn qr_origin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qr-origin"))
        .arg("render")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("qr-origin-render-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn writes_a_png_that_decodes() {
    let out = temp_path("a.png");
    let url = "https://qr.example.com/r/DI5bjNA0?x=æøå";
    let o = qr_origin(&[
        "--url",
        url,
        "--format",
        "png",
        "--size",
        "333",
        "--ecc",
        "Q",
        "--border",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let d = render_common::decode_png(&bytes);
    assert_eq!((d.width, d.height), (333, 333));
    assert_eq!(render_common::png_content(&bytes), url.as_bytes());
}

#[test]
fn writes_an_svg_that_decodes() {
    let out = temp_path("a.svg");
    let url = "https://qr.example.com/r/DI5bjNA0";
    let o = qr_origin(&[
        "--url",
        url,
        "--format",
        "svg",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(render_common::svg_content(&bytes), url.as_bytes());
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    let out = temp_path("bad.png");
    let out = out.to_str().unwrap();
    let long = "x".repeat(2332);
    let cases: [(&[&str], &str); 6] = [
        (
            &["--url", "a", "--size", "99", "--out", out],
            "size: allowed 100..=2000",
        ),
        (&["--url", "a", "--format", "gif", "--out", out], "format"),
        (&["--url", "a", "--ecc", "X", "--out", out], "ecc"),
        (
            &["--url", "a", "--border", "17", "--out", out],
            "border: allowed 0..=16",
        ),
        (&["--url", &long, "--out", out], "at most 2331 bytes"),
        (&["--url", "", "--out", out], "content is empty"),
    ];
    for (args, message) in cases {
        let o = qr_origin(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let o = qr_origin(&["--url", "a", "--out", "/nonexistent-dir/x.png"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write /nonexistent-dir/x.png"));
}

#[test]
fn out_dash_writes_only_the_image_to_stdout_in_the_shared_colour_vocabulary() {
    let url = "https://qr.example.com/r/to-stdout";
    let o = qr_origin(&[
        "--url", url, "--size", "240", "--fg", "#1a2b3c", "--bg", "fafafa", "--out", "-",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!std::path::Path::new("-").exists(), "no file named '-'");
    let d = render_common::decode_png(&o.stdout);
    assert_eq!((d.width, d.height), (240, 240));
    assert_eq!(render_common::png_content(&o.stdout), url.as_bytes());
    let o = qr_origin(&["--url", url, "--dark", "000000", "--out", "-"]);
    assert!(!o.status.success(), "--dark is gone: fg/bg everywhere");
}

#[test]
fn writes_a_captioned_pdf_and_png_that_decode_and_read_back() {
    let url = "https://qr.example.com/r/DI5bjNA0";
    for (format, name) in [("pdf", "framed.pdf"), ("png", "framed.png")] {
        let out = temp_path(name);
        let o = qr_origin(&[
            "--url",
            url,
            "--format",
            format,
            "--size",
            "500",
            "--caption",
            "Skann meg",
            "--frame-color",
            "1a237e",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&out).unwrap();
        let (w, h, luma) = match format {
            "pdf" => render_common::ocr::pdf_luma(&bytes),
            _ => render_common::png_luma(&bytes),
        };
        assert_eq!((w, h), (500, 500));
        assert_eq!(
            render_common::read_rxing(w, h, luma.clone()).as_deref(),
            Some(url.as_bytes())
        );
        let (xs, ys) = super::framed::band(500);
        let text = render_common::ocr::read_line("nor", w, &luma, xs, ys);
        assert_eq!(text, "Skann meg", "{format}");
    }
    // An SVG logo goes into the PDF as paths (no image), a PNG's pixels as the one image.
    let svg_logo = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/logo-example.svg");
    let out = temp_path("logo.pdf");
    let o = qr_origin(&[
        "--url",
        url,
        "--format",
        "pdf",
        "--logo",
        svg_logo,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pdf = std::fs::read(&out).unwrap();
    assert!(!String::from_utf8_lossy(&pdf).contains("/Image"));
    let (w, h, luma) = render_common::ocr::pdf_luma(&pdf);
    assert_eq!(
        render_common::read_rxing(w, h, luma).as_deref(),
        Some(url.as_bytes())
    );
    // A caption the font cannot draw is an error naming the flag.
    let o = qr_origin(&[
        "--url",
        url,
        "--caption",
        "扫一扫",
        "--out",
        temp_path("never.png").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--caption") && err.contains("U+626B"), "{err}");
}
