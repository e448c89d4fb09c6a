//! The binary's command line as an operator meets it: `--config` precedence (flags > env >
//! file > defaults), start-up errors as one line, `token`'s render options.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_qr-origin");
const KEY: &str = "k1=cli-test-secret-0123456789-abcdefghijkl";

/// The binary with a clean environment of our own variables (a developer's QR_ORIGIN_* must
/// not leak in) and the data dir in `dir`.
fn qr_origin(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("QR_ORIGIN_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

#[test]
fn config_file_sits_between_env_and_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("c.toml"),
        format!("public-url = \"https://file.example\"\nsigning-key = \"{KEY}\"\n"),
    )
    .unwrap();
    let token = ["token", "--url", "https://x.example", "--config", "c.toml"];
    let base = |o: &Output| stdout(o).split("/qr-generator").next().unwrap().to_owned();

    let from_file = qr_origin(dir.path(), &token, &[]);
    assert_eq!(base(&from_file), "https://file.example");

    let env = [("QR_ORIGIN_PUBLIC_URL", "https://env.example")];
    assert_eq!(
        base(&qr_origin(dir.path(), &token, &env)),
        "https://env.example"
    );

    let mut flagged = token.to_vec();
    flagged.extend(["--public-url", "https://flag.example"]);
    assert_eq!(
        base(&qr_origin(dir.path(), &flagged, &env)),
        "https://flag.example"
    );

    // Without the file: the default, derived from the listen address.
    let bare = qr_origin(
        dir.path(),
        &["token", "--url", "https://x.example", "--signing-key", KEY],
        &[],
    );
    assert_eq!(base(&bare), "http://127.0.0.1:8080");

    // QR_ORIGIN_CONFIG names the file as --config does.
    let via_env = qr_origin(
        dir.path(),
        &["token", "--url", "https://x.example"],
        &[("QR_ORIGIN_CONFIG", "c.toml")],
    );
    assert_eq!(base(&via_env), "https://file.example");
    assert!(!dir.path().join("data").exists(), "the file's key was used");
}

#[test]
fn start_up_errors_are_one_line_even_with_backtraces_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.toml"), "cache-byts = 1\n").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["serve", "--cache-bytes", "5"],
            "--cache-bytes 5: must be at least",
        ),
        (
            &["serve", "--config", "bad.toml"],
            "unknown key `cache-byts`",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--data-dir", "f/sub"],
            "f/sub",
        ),
    ];
    std::fs::write(dir.path().join("f"), "a file, not a directory").unwrap();
    for (args, message) in cases {
        let o = qr_origin(
            dir.path(),
            args,
            &[("RUST_BACKTRACE", "1"), ("RUST_LOG", "off")],
        );
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(message),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("Stack backtrace"), "{stderr}");
    }
}

#[test]
fn a_bare_number_is_refused_with_a_hint_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["serve", "--shutdown-delay", "5"][..],
        &["serve", "--webhook-give-up-after", "7"],
        &["token", "--url", "https://x.example", "--ttl", "600"],
    ] {
        let o = qr_origin(dir.path(), args, &[]);
        assert!(!o.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("has no unit: write e.g."),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn token_takes_the_render_options_under_their_claim_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = qr_origin(
        dir.path(),
        &[
            "token",
            "--url",
            "https://x.example",
            "--signing-key",
            KEY,
            "--token-only",
            "--ttl",
            "10m",
            "--ecc",
            "H",
            "--border",
            "2",
            "--fg",
            "#112233",
            "--bg",
            "ffeedd",
        ],
        &[],
    );
    let claims = token_claims(stdout(&o).trim());
    assert_eq!(claims["ecc"], "H");
    assert_eq!(claims["border"], 2);
    assert_eq!(claims["fg"], "#112233");
    assert_eq!(claims["bg"], "#ffeedd");
    let (exp, iat) = (
        claims["exp"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 600);
}

/// The claims of a signed token: its payload, base64url-decoded, as JSON.
fn token_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&json).expect("json")
}

#[test]
fn token_takes_the_style_options_under_their_claim_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = qr_origin(
        dir.path(),
        &[
            "token",
            "--url",
            "https://x.example/r/",
            "--signing-key",
            KEY,
            "--token-only",
            "--count",
            "2",
            "--shape",
            "rounded",
            "--eyes",
            "circle",
            "--eye-color",
            "aa0000",
        ],
        &[],
    );
    let out = stdout(&o);
    let tokens: Vec<&str> = out.lines().collect();
    assert_eq!(tokens.len(), 2);
    for (i, token) in tokens.iter().enumerate() {
        let claims = token_claims(token);
        assert_eq!(claims["url"], format!("https://x.example/r/{i}"));
        assert_eq!(claims["shape"], "rounded");
        assert_eq!(claims["eyes"], "circle");
        assert_eq!(claims["eyeColor"], "#aa0000");
    }
}
