//! HTTP semantics of `GET|HEAD /qr-generator/v1?token=…` over a real socket: images that decode,
//! caching headers, ETags, conditional requests, expiry, errors, and render coalescing.

use crate::common;

use std::sync::Arc;

use common::*;
use http::Method;
use qr_origin::render::Format;
use qr_origin::token::ImageClaims;
use serde_json::json;

/// Claims in exactly the seed API's shape (size as a string), as any JWT library would mint them.
fn seed_claims(url: &str, format: &str, size: &str, iat: i64, ttl: i64) -> serde_json::Value {
    json!({
        "format": format,
        "size": size,
        "url": url,
        "iss": "qr-origin",
        "nbf": iat,
        "exp": iat + ttl,
        "iat": iat,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonwebtoken_minted_png_renders_and_decodes_to_the_exact_url() {
    let srv = start().await;
    let url = "https://qr.example.com/r/DI5bjNA0";
    for kid in [Some(KID), None] {
        let token = jwt(
            &seed_claims(url, "image/png", "800", srv.now(), 3600),
            kid,
            SECRET,
        );
        let r = get(&srv.url(&image_path(&token))).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), "image/png");
        assert_eq!(r.header("content-length"), r.body.len().to_string());
        let img = image::load_from_memory(&r.body).unwrap();
        assert_eq!((img.width(), img.height()), (800, 800));
        assert_eq!(decode_png(&r.body), url);
    }
}

/// PyJWT users often write `"exp": time.time() + 600`: RFC 7519 NumericDates may be fractional.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fractional_time_claims_verify_and_bound_the_cache_lifetime() {
    let srv = start().await;
    let url = "https://qr.example.com/r/float-exp";
    let now = srv.now() as f64 + 0.25;
    let mut claims = seed_claims(url, "image/png", "300", srv.now(), 0);
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 600.5);
    let r = get(&srv.url(&image_path(&jwt(&claims, Some(KID), SECRET)))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(decode_png(&r.body), url);
    assert_eq!(r.header("cache-control"), "public, max-age=600");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonwebtoken_minted_svg_renders_decodes_and_is_locked_down() {
    let srv = start().await;
    let url = "https://qr.example.com/c/kiosk-17?x=ÆØÅ";
    let mut claims = seed_claims(url, "image/svg+xml", "400", srv.now(), 600);
    claims["size"] = json!(400); // numbers are accepted as well as strings
    let token = jwt(&claims, Some(KID), SECRET);
    let r = get(&srv.url(&image_path(&token))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "image/svg+xml");
    let csp = r.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(decode_svg(&r.body), url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_responses_carry_the_caching_and_security_headers() {
    let srv = start().await;
    let token = jwt(
        &seed_claims(
            "https://qr.example.com/p/abc",
            "image/png",
            "300",
            srv.now(),
            600,
        ),
        Some(KID),
        SECRET,
    );
    let r = get(&srv.url(&image_path(&token))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "public, max-age=600");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("access-control-allow-origin"), "*");
    assert_eq!(r.header("x-cache"), "MISS");
    assert_eq!(r.header("content-security-policy"), "", "CSP is for SVG");
    let etag = r.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );

    // 200 s later the same URL may be cached for 200 s less; the bytes come from the cache.
    srv.clock.advance_ms(200_000);
    let r2 = get(&srv.url(&image_path(&token))).await;
    assert_eq!(r2.header("cache-control"), "public, max-age=400");
    assert_eq!(r2.header("x-cache"), "HIT");
    assert_eq!(r2.header("etag"), etag);
    assert_eq!(r2.body, r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_without_exp_are_cacheable_for_a_year_and_immutable() {
    let srv = start().await;
    let claims = ImageClaims::new("https://qr.example.com/r/forever", Format::Png, 200);
    let r = get(&srv.url(&image_path(&srv.state.keyring.sign(&claims)))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_is_equal_for_tokens_of_one_qr_minted_at_different_times() {
    let srv = start().await;
    let url = "https://qr.example.com/r/same-qr";
    let t1 = jwt(
        &seed_claims(url, "image/png", "500", srv.now(), 600),
        Some(KID),
        SECRET,
    );
    srv.clock.advance_ms(90_000);
    let t2 = jwt(
        &seed_claims(url, "image/png", "500", srv.now(), 3600),
        None,
        SECRET,
    );
    assert_ne!(t1, t2);
    let r1 = get(&srv.url(&image_path(&t1))).await;
    let r2 = get(&srv.url(&image_path(&t2))).await;
    assert_eq!((r1.status.as_u16(), r2.status.as_u16()), (200, 200));
    assert_eq!(r1.header("etag"), r2.header("etag"));
    assert_eq!(
        r2.header("x-cache"),
        "HIT",
        "exp/iat are not part of the cache key"
    );
    assert_eq!(r1.body, r2.body);
    // A different size is a different image.
    let t3 = jwt(
        &seed_claims(url, "image/png", "501", srv.now(), 600),
        Some(KID),
        SECRET,
    );
    let r3 = get(&srv.url(&image_path(&t3))).await;
    assert_ne!(r3.header("etag"), r1.header("etag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_and_bytes_are_equal_across_two_servers_sharing_a_key() {
    let a = start().await;
    let b = start().await;
    let claims = seed_claims(
        "https://qr.example.com/r/replicas",
        "image/png",
        "640",
        a.now(),
        600,
    );
    let token = jwt(&claims, Some(KID), SECRET);
    let ra = get(&a.url(&image_path(&token))).await;
    let rb = get(&b.url(&image_path(&token))).await;
    assert_eq!((ra.status.as_u16(), rb.status.as_u16()), (200, 200));
    assert_eq!(ra.header("etag"), rb.header("etag"));
    assert_eq!(ra.body, rb.body);
    // A validator from one replica is honoured by the other.
    let rb2 = get_with(
        &b.url(&image_path(&token)),
        &[("if-none-match", ra.header("etag"))],
    )
    .await;
    assert_eq!(rb2.status, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_answers_304_for_lists_weak_tags_and_star() {
    let srv = start().await;
    let token = jwt(
        &seed_claims(
            "https://qr.example.com/r/cond",
            "image/png",
            "200",
            srv.now(),
            600,
        ),
        Some(KID),
        SECRET,
    );
    let url = srv.url(&image_path(&token));
    let first = get(&url).await;
    let etag = first.header("etag").to_owned();
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}");
    for inm in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let r = get_with(&url, &[("if-none-match", inm)]).await;
        assert_eq!(r.status, 304, "If-None-Match: {inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), etag);
        assert_eq!(r.header("cache-control"), "public, max-age=600");
    }
    let r = get_with(&url, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, first.body);
    // HEAD honours it too.
    let r = request(Method::HEAD, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_has_the_same_headers_and_no_body() {
    let srv = start().await;
    let claims = ImageClaims::new("https://qr.example.com/r/head", Format::Svg, 250);
    let url = srv.url(&image_path(&srv.state.keyring.sign(&claims)));
    let head = request(Method::HEAD, &url, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let get = get(&url).await;
    assert_eq!(get.status, 200);
    assert_eq!(head.header("content-length"), get.body.len().to_string());
    for h in [
        "content-type",
        "etag",
        "cache-control",
        "x-content-type-options",
        "access-control-allow-origin",
        "content-security-policy",
    ] {
        assert_eq!(head.header(h), get.header(h), "{h}");
    }
    assert_eq!(head.header("x-cache"), "MISS");
    assert_eq!(get.header("x-cache"), "HIT", "HEAD filled the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_answer_404_without_a_long_cache_lifetime() {
    let srv = start().await;
    let token = jwt(
        &seed_claims(
            "https://qr.example.com/p/once",
            "image/png",
            "200",
            srv.now(),
            60,
        ),
        Some(KID),
        SECRET,
    );
    let url = srv.url(&image_path(&token));
    assert_eq!(get(&url).await.status, 200);
    assert_eq!(get(&url).await.status, 200);
    // The second request finds the image cached, so the origin now remembers this token as
    // verified (see `origin::tests`); a one-character change to its
    // signature or payload is a different token and is verified (and refused) afresh.
    let (head, sig) = token.rsplit_once('.').expect("three parts");
    let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{flipped}{}", &sig[1..]);
    assert_eq!(get(&srv.url(&image_path(&forged))).await.status, 403);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1].push('A');
    assert_eq!(
        get(&srv.url(&image_path(&parts.join(".")))).await.status,
        403
    );
    // The remembered verification still gets the time check: past exp plus the leeway.
    srv.clock
        .advance_ms((60 + srv.state.config.token_leeway_secs + 1) * 1000);
    let r = get(&url).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.body.len() < 200);
    // Even a cached copy's validator gets no 304 once the URL has expired.
    let r = get_with(&url, &[("if-none-match", "*")]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_405_with_allow() {
    let srv = start().await;
    let claims = ImageClaims::new("https://qr.example.com/r/m", Format::Png, 200);
    let url = srv.url(&image_path(&srv.state.keyring.sign(&claims)));
    for m in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ] {
        let r = request(m.clone(), &url, &[]).await;
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("allow"), "GET, HEAD", "{m}");
        assert_eq!(r.header("cache-control"), "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_for_bad_requests_and_bad_signatures() {
    let srv = start().await;
    let now = srv.now();
    let good = seed_claims("https://qr.example.com/r/x", "image/png", "200", now, 600);
    let cases: Vec<(String, u16, &str)> = vec![
        ("/qr-generator/v1".into(), 400, "no token"),
        ("/qr-generator/v1?token=".into(), 400, "empty token"),
        (image_path("not-a-jwt"), 400, "garbage"),
        (
            image_path(&jwt(
                &good,
                Some(KID),
                "another-secret-of-sufficient-length!!",
            )),
            403,
            "wrong secret",
        ),
        (
            image_path(&jwt(&good, Some("who"), SECRET)),
            403,
            "unknown kid",
        ),
        (
            image_path(&jwt(
                &json!({"format":"image/png","size":"5000","url":"https://x/y"}),
                Some(KID),
                SECRET,
            )),
            400,
            "size out of range",
        ),
        (
            image_path(&jwt(
                &json!({"format":"image/gif","url":"https://x/y"}),
                Some(KID),
                SECRET,
            )),
            400,
            "unknown format",
        ),
        (
            image_path(&jwt(
                &json!({"format":"image/png","size":"800"}),
                Some(KID),
                SECRET,
            )),
            400,
            "missing url",
        ),
    ];
    for (path, status, what) in cases {
        let r = get(&srv.url(&path)).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("cache-control"), "no-store", "{what}");
        assert!(r.header("etag").is_empty(), "{what}");
        assert!(r.body.len() < 300, "{what}: error bodies stay short");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_that_cannot_fit_the_size_is_a_400_not_a_500() {
    let srv = start().await;
    // ~1500 bytes need a version-30-ish symbol: far more modules than 100 px.
    let long = format!("https://qr.example.com/{}", "a".repeat(1500));
    let claims = ImageClaims::new(long, Format::Png, 100);
    let r = get(&srv.url(&image_path(&srv.state.keyring.sign(&claims)))).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), "no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_for_one_new_key_render_once() {
    let srv = Arc::new(start().await);
    let claims = ImageClaims::new("https://qr.example.com/r/viral", Format::Png, 2000);
    let url = srv.url(&image_path(&srv.state.keyring.sign(&claims)));
    assert_eq!(srv.state.metrics.renders(Format::Png), 0);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { get(&url).await }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        bodies.push(r.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        srv.state.metrics.renders(Format::Png),
        1,
        "64 concurrent requests for one new image render it once"
    );
    assert_eq!(decode_png(&bodies[0]), "https://qr.example.com/r/viral");
}
