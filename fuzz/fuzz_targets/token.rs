//! Fuzz target `token`: untrusted `?token=` strings through `Keyring::verify`.
//!
//! Invariant: never panics; `Ok` ⇒ the claims are within range (`ImageClaims::validate` passes,
//! the time window holds at the verification instant, and they re-sign to a token that verifies
//! to the same claims).
//!
//! The first input byte picks a mode, so the fuzzer reaches the code behind the MAC too:
//! - even: the rest is the token, verbatim (what an attacker controls);
//! - odd: the rest is `header JSON \0 payload JSON`, signed with the ring's key, so the header
//!   and claims parsers see arbitrary JSON that has passed the signature check.
//!
//! Run: `cargo +nightly fuzz run token`; build only: `cargo build --manifest-path fuzz/Cargo.toml`.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use qr_origin::token::{Keyring, SigningKey};

const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret!";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let ring =
        Keyring::new(vec![SigningKey::new("k1", SECRET).expect("valid key")]).expect("one key");
    let token = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let (header, payload) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (&br#"{"alg":"HS256"}"#[..], rest),
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any length");
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    if let Ok(claims) = ring.verify(&token, NOW) {
        assert_eq!(claims.validate(), Ok(()), "verified claims out of range");
        let limits = ring.limits();
        assert_eq!(claims.check_time(NOW, limits.leeway_secs), Ok(()));
        let again = ring.sign(&claims);
        if again.len() <= limits.max_token_len {
            assert_eq!(
                ring.verify(&again, NOW).as_ref(),
                Ok(&claims),
                "re-signed claims differ"
            );
        }
    }
});
