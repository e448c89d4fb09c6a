//! Logos over the real server and store: upload (PNG and SVG) → `201`, the same bytes → `200`,
//! listing, deletion, each merchant seeing only its own, and every refused upload with its
//! status and message.

use crate::common;

use common::api::{Api, add_merchant, png_logo};
use http::Method;
use sha2::{Digest, Sha256};

const SVG_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 12 6"><circle cx="3" cy="3" r="3" fill="#c00"/><rect x="6" width="6" height="6" fill="#00c"/></svg>"##;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn logos_are_uploaded_once_listed_and_deleted_per_merchant() {
    let srv = common::start().await;
    let a = Api::merchant(&srv, "410001", "A").await;
    let b = Api::merchant(&srv, "410002", "B").await;

    let png = png_logo(64, 48);
    let first = a.upload_logo("image/png", &png).await;
    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let body = first.json();
    assert_eq!(body["id"], sha256_hex(&png));
    assert_eq!(body["contentType"], "image/png");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(body["bytes"].as_u64(), Some(png.len() as u64));
    let again = a.upload_logo("image/png", &png).await;
    assert_eq!(again.status, 200, "the same bytes again");
    assert_eq!(again.json(), body);

    let svg = a
        .upload_logo("image/svg+xml; charset=utf-8", SVG_LOGO.as_bytes())
        .await;
    assert_eq!(svg.status, 201, "{}", String::from_utf8_lossy(&svg.body));
    assert_eq!(
        (svg.json()["width"].as_u64(), svg.json()["height"].as_u64()),
        (Some(120), Some(60))
    );
    let svg_id = svg.json()["id"].as_str().expect("id").to_owned();

    let listed = a.bare(Method::GET, "/qr/v1/logos").await;
    assert_eq!(listed.status, 200);
    let ids: Vec<_> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, [body["id"].clone(), svg_id.clone().into()]);
    let theirs = b.bare(Method::GET, "/qr/v1/logos").await;
    assert_eq!(
        theirs.json(),
        serde_json::json!([]),
        "B sees none of A's logos"
    );

    let path = format!("/qr/v1/logos/{svg_id}");
    let r = b.bare(Method::DELETE, &path).await;
    assert_eq!(r.status, 404, "B cannot delete A's logo");
    let r = a
        .bare(
            Method::DELETE,
            &path
                .to_uppercase()
                .replace("/QR/V1/LOGOS/", "/qr/v1/logos/"),
        )
        .await;
    assert_eq!(r.status, 204, "ids compare in any case");
    let r = a.bare(Method::DELETE, &path).await;
    assert_eq!(r.status, 404);
    let r = a.bare(Method::DELETE, "/qr/v1/logos/xyz").await;
    assert_eq!(
        (r.status.as_u16(), r.invalid_params()),
        (400, vec!["id".to_owned()])
    );
    let listed = a.bare(Method::GET, "/qr/v1/logos").await;
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));

    // Without credentials: nothing.
    let r = common::api::send(Method::GET, &srv.url("/qr/v1/logos"), &[], None).await;
    assert_eq!(r.status, 401);
    srv.stop().await;
}

#[tokio::test]
async fn refused_uploads_get_their_status_and_reason() {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "420001", "A").await;
    let png = png_logo(16, 16);
    let mut corrupt = png.clone();
    let n = corrupt.len();
    corrupt[n - 30] ^= 0x55;
    let svg = |inner: &str| {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{inner}</svg>"#)
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "image/jpeg",
            png.clone(),
            415,
            "unsupported logo type \"image/jpeg\"",
        ),
        ("", png.clone(), 415, "unsupported logo type"),
        (
            "image/png",
            vec![7; 262_145],
            413,
            "logo is larger than 262144 bytes",
        ),
        (
            "image/png",
            Vec::new(),
            400,
            "not an image: the upload is empty",
        ),
        (
            "image/png",
            b"GIF89a".to_vec(),
            400,
            "not an image: declared image/png",
        ),
        ("image/png", corrupt, 400, "corrupt PNG"),
        (
            "image/png",
            png_logo(2049, 2),
            400,
            "logo is 2049x2 px: at most 2048x2048",
        ),
        ("image/svg+xml", b"<svg".to_vec(), 400, "invalid SVG"),
        (
            "image/svg+xml",
            svg("<script>alert(1)</script>").into_bytes(),
            400,
            "SVG refused: <script> is not allowed",
        ),
        (
            "image/svg+xml",
            svg(r#"<rect onload="x()"/>"#).into_bytes(),
            400,
            "SVG refused: event handler",
        ),
        (
            "image/svg+xml",
            svg("<foreignObject/>").into_bytes(),
            400,
            "SVG refused: <foreignObject>",
        ),
        (
            "image/svg+xml",
            svg(r#"<image href="https://evil.example/a.png"/>"#).into_bytes(),
            400,
            "only local #fragment references",
        ),
        (
            "image/svg+xml",
            svg("<style>@import 'https://evil.example/a.css';</style>").into_bytes(),
            400,
            "SVG refused: @import",
        ),
        (
            "image/svg+xml",
            svg(r#"<rect fill="url(https://evil.example/p#x)"/>"#).into_bytes(),
            400,
            "url() in attribute \"fill\" points outside",
        ),
        (
            "image/svg+xml",
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"/>"#.to_vec(),
            400,
            "",
        ),
    ];
    for (content_type, bytes, status, reason) in cases {
        let r = api.upload_logo(content_type, &bytes).await;
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            r.status.as_u16(),
            status,
            "{content_type} {reason}: {detail}"
        );
        assert!(
            detail.starts_with(reason) || detail.contains(reason),
            "{reason:?} vs {detail:?}"
        );
        assert_eq!(r.header("content-type"), "application/json");
    }
    let listed = api.bare(Method::GET, "/qr/v1/logos").await;
    assert_eq!(
        listed.json(),
        serde_json::json!([]),
        "nothing refused was stored"
    );
    srv.stop().await;
}

/// Runs `qr-origin logo ARGS --data-dir DIR`.
fn logo_cli(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::api::BIN)
        .arg("logo")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("QR_ORIGIN_DATA_DIR")
        .output()
        .expect("run qr-origin logo")
}

#[tokio::test]
async fn operators_add_logos_with_the_cli_while_the_server_runs() {
    let srv = common::start().await;
    let dir = srv.state.config.data_dir.clone();
    let api = Api::login(&srv.base, &add_merchant(&dir, "430001", "A")).await;
    let files = common::temp_dir("logo-cli");
    let png = png_logo(40, 40);
    let png_file = files.join("brand.png");
    std::fs::write(&png_file, &png).expect("write");
    let svg_file = files.join("brand.svg");
    std::fs::write(&svg_file, SVG_LOGO).expect("write");

    let out = logo_cli(
        &dir,
        &["add", png_file.to_str().unwrap(), "--msn", "430001"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed["id"], sha256_hex(&png));
    assert_eq!(printed["created"], true);
    let out = logo_cli(
        &dir,
        &["add", png_file.to_str().unwrap(), "--msn", "430001"],
    );
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(again["created"], false, "the same bytes again");
    let out = logo_cli(
        &dir,
        &["add", svg_file.to_str().unwrap(), "--msn", "430001"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The server sees what the operator stored.
    let listed = api.bare(Method::GET, "/qr/v1/logos").await;
    let types: Vec<_> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|l| l["contentType"].clone())
        .collect();
    assert_eq!(types, ["image/png", "image/svg+xml"]);
    let out = logo_cli(&dir, &["list", "--msn", "430001"]);
    let cli_list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(cli_list.as_array().map(Vec::len), Some(2));

    // Refusals: the decoder's reason, an unknown merchant, a missing file.
    let hostile = files.join("x.svg");
    std::fs::write(
        &hostile,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>"#,
    )
    .expect("write");
    for (args, want) in [
        (
            vec!["add", hostile.to_str().unwrap(), "--msn", "430001"],
            "<script> is not allowed",
        ),
        (
            vec!["add", png_file.to_str().unwrap(), "--msn", "439999"],
            "no merchant with serial number 439999",
        ),
        (
            vec!["add", "/nonexistent/logo.png", "--msn", "430001"],
            "reading /nonexistent/logo.png",
        ),
    ] {
        let out = logo_cli(&dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(want), "{want:?} in {stderr}");
    }
    srv.stop().await;
}
