//! Hostile tokens against the running origin: each is refused with the right status, a short
//! body, `no-store`, and counted in the rejection metric under the right reason.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature`, signed HS256 with `secret` over exactly the encoded parts.
fn raw_token(header: &str, payload: &str, secret: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    sign_input(&signing_input, secret)
}

fn sign_input(signing_input: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

const HS256: &str = r#"{"alg":"HS256","typ":"JWT","kid":"test-key"}"#;

fn payload(now: i64) -> String {
    json!({"format":"image/png","size":"300","url":"https://qr.example.com/r/hostile",
           "iss":"qr-origin","nbf":now,"exp":now + 600,"iat":now})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tokens_are_refused_with_the_right_status() {
    let srv = start().await;
    let now = srv.now();
    let good = raw_token(HS256, &payload(now), SECRET);
    // Sanity: the hand-built token is accepted, so each refusal below is about its one defect.
    assert_eq!(get(&srv.url(&image_path(&good))).await.status, 200);

    let parts: Vec<&str> = good.split('.').collect();
    let tampered_payload = {
        let p = payload(now).replace("hostile", "hostilE");
        format!("{}.{}.{}", parts[0], b64(p.as_bytes()), parts[2])
    };
    let tampered_sig = {
        let mut sig = parts[2].to_owned();
        let last = sig.pop().unwrap();
        sig.push(if last == 'A' { 'B' } else { 'A' });
        format!("{}.{}.{sig}", parts[0], parts[1])
    };
    let padded = {
        let h = URL_SAFE.encode(HS256.as_bytes()); // with '=' padding
        let p = URL_SAFE.encode(payload(now).as_bytes());
        sign_input(&format!("{h}.{p}"), SECRET)
    };
    let string_exp = raw_token(
        HS256,
        &json!({"format":"image/png","url":"https://x/y","exp":(now + 600).to_string()})
            .to_string(),
        SECRET,
    );
    let future_nbf = raw_token(
        HS256,
        &json!({"format":"image/png","url":"https://x/y","nbf":now + 3600}).to_string(),
        SECRET,
    );
    let expired = raw_token(
        HS256,
        &json!({"format":"image/png","url":"https://x/y","exp":now - 3600}).to_string(),
        SECRET,
    );
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(100 * 1024), parts[2]);

    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "alg none",
            format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]),
            400,
            "",
        ),
        (
            "HS384 header",
            raw_token(
                r#"{"alg":"HS384","typ":"JWT","kid":"test-key"}"#,
                &payload(now),
                SECRET,
            ),
            400,
            "alg",
        ),
        (
            "RS256 header",
            raw_token(r#"{"alg":"RS256","typ":"JWT"}"#, &payload(now), SECRET),
            400,
            "alg",
        ),
        ("tampered payload", tampered_payload, 403, "bad_signature"),
        ("tampered signature", tampered_sig, 403, "bad_signature"),
        (
            "unknown kid",
            raw_token(r#"{"alg":"HS256","kid":"nobody"}"#, &payload(now), SECRET),
            403,
            "unknown_kid",
        ),
        ("padded base64", padded, 400, "malformed"),
        ("string exp", string_exp, 400, ""),
        ("future nbf", future_nbf, 403, "not_yet_valid"),
        ("expired", expired, 404, "expired"),
        (
            "missing url",
            raw_token(HS256, r#"{"format":"image/png","size":800}"#, SECRET),
            400,
            "",
        ),
        (
            "size out of range",
            raw_token(
                HS256,
                r#"{"format":"image/png","size":"99","url":"https://x"}"#,
                SECRET,
            ),
            400,
            "",
        ),
        (
            "unknown format",
            raw_token(
                HS256,
                r#"{"format":"image/webp","url":"https://x"}"#,
                SECRET,
            ),
            400,
            "",
        ),
    ];
    for (what, token, status, reason) in cases {
        let r = get(&srv.url(&image_path(&token))).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("cache-control"), "no-store", "{what}");
        assert!(r.body.len() < 300, "{what}: short error body");
        if !reason.is_empty() {
            let n = srv
                .state
                .metrics
                .counter("qr_origin_token_rejections_total", reason);
            assert!(n >= 1, "{what}: counted under {reason}");
        }
    }
    // A token past the configured cap (10 KB by default) is refused before any decoding.
    let long = format!("{}.{}.{}", parts[0], "A".repeat(11 * 1024), parts[2]);
    let r = get(&srv.url(&image_path(&long))).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(
        srv.state
            .metrics
            .counter("qr_origin_token_rejections_total", "too_long"),
        1
    );
    // A 100 KB token makes a request line longer than any URI may be (64 KB); hyper refuses it
    // with 414 before routing, and nothing is decoded. It goes over a raw socket because no
    // client URI type can even hold it.
    let (status, text) = raw_get(srv.addr, &image_path(&huge)).await;
    assert_eq!(status, 414, "{text}");

    // A refused signature never says why.
    let a = get(&srv.url(&image_path(&raw_token(
        HS256,
        &payload(now),
        "x".repeat(40).as_str(),
    ))))
    .await;
    let b = get(&srv.url(&image_path(&raw_token(
        r#"{"alg":"HS256","kid":"nobody"}"#,
        &payload(now),
        SECRET,
    ))))
    .await;
    assert_eq!(a.body, b.body);
}
