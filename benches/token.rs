//! Token verification benches: the origin verifies a token on every request, hit or miss, so
//! this is a floor under the whole request path.
//!
//! Run: `cargo bench --bench token`. Against a baseline:
//! `cargo bench --bench token -- --save-baseline before`, change, then
//! `cargo bench --bench token -- --baseline before`.
//!
//! Inputs: the seed API's token shape (valid), the same token with a forged signature (the
//! cheapest refusal that still costs a MAC), a maximum-length valid token (2953-byte content,
//! the adversarial happy path), and a kid-less token verified against a two-key rotation ring
//! whose second key is the right one (two MACs).
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qr_origin::render::Format;
use qr_origin::token::{ImageClaims, Keyring, MAX_URL_BYTES, SigningKey};

const NOW: i64 = 1648598709 + 60;
const SECRET: &str = "bench-secret-bench-secret-bench-secret";

fn seed_claims() -> ImageClaims {
    let mut c = ImageClaims::new("https://qr.example.com/r/DI5bjNA0", Format::Png, 800);
    c.iss = Some("qr-origin".into());
    c.nbf = Some(1648598709);
    c.exp = Some(1648602309);
    c.iat = Some(1648598709);
    c
}

fn verify(c: &mut Criterion) {
    let ring =
        Keyring::new(vec![SigningKey::new("k1", SECRET).expect("valid key")]).expect("one key");
    let valid = ring.sign(&seed_claims());
    let (input, sig) = valid.rsplit_once('.').expect("three parts");
    let flip = if sig.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{input}.{flip}{}", &sig[1..]);
    let longest = ring.sign(&ImageClaims::new(
        "a".repeat(MAX_URL_BYTES),
        Format::Png,
        2000,
    ));
    assert!(ring.verify(&valid, NOW).is_ok());
    assert!(ring.verify(&forged, NOW).is_err());
    assert!(ring.verify(&longest, NOW).is_ok());

    let old = SigningKey::new("old", "old-secret-old-secret-old-secret-old").expect("valid key");
    let kidless_by_old = {
        // A third-party token without kid, under the ring's second key.
        let token = Keyring::new(vec![old.clone()])
            .expect("one key")
            .sign(&seed_claims());
        token_without_kid(&token, &old)
    };
    let rotating = Keyring::new(vec![
        SigningKey::new("new", SECRET).expect("valid key"),
        old,
    ])
    .expect("two keys");
    assert!(rotating.verify(&kidless_by_old, NOW).is_ok());

    let mut g = c.benchmark_group("token");
    for (id, ring, token) in [
        ("verify/valid", &ring, &valid),
        ("verify/forged_signature", &ring, &forged),
        ("verify/valid_max_len", &ring, &longest),
        ("verify/kidless_second_key", &rotating, &kidless_by_old),
    ] {
        g.throughput(Throughput::Bytes(token.len() as u64));
        g.bench_function(id, |b| {
            b.iter(|| ring.verify(black_box(token), black_box(NOW)))
        });
    }
    let claims = seed_claims();
    g.throughput(Throughput::Bytes(valid.len() as u64));
    g.bench_function("sign/seed", |b| b.iter(|| ring.sign(black_box(&claims))));
    g.finish();
}

/// Re-signs `token`'s payload under `key` with a header of only `{"alg":"HS256"}`.
fn token_without_kid(token: &str, key: &SigningKey) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, KeyInit, Mac};
    let payload = token.split('.').nth(1).expect("three parts");
    let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.secret_str().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

criterion_group!(token, verify);
criterion_main!(token);
