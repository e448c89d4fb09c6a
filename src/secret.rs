//! Random secrets and their stored form.
//!
//! Client secrets, subscription keys and access tokens are high-entropy random strings, so a
//! plain SHA-256 (not a slow password hash) is enough to make a leaked database useless: there is
//! no dictionary to try. Hashes are compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The operating system's CSPRNG failed; nothing sensible can be issued without it.
#[derive(Debug, thiserror::Error)]
#[error("operating system random source failed: {0}")]
pub struct RandomError(String);

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// 256 random bits as unpadded base64url (43 characters): client secrets and access tokens.
pub fn random_token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// 128 random bits as 32 lower-case hex digits: the shape of published subscription keys.
pub fn random_hex_key() -> Result<String, RandomError> {
    Ok(hex(&random_bytes::<16>()?))
}

/// Lower-case hex SHA-256 of `secret`: what the store keeps instead of the secret.
pub fn sha256_hex(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_sha256`, compared in constant time.
// SECURITY: constant-time so response timing does not reveal how much of a hash matched.
pub fn matches(secret: &str, stored_sha256: &str) -> bool {
    let presented = sha256_hex(secret);
    presented.as_bytes().ct_eq(stored_sha256.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_matches_a_known_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn matches_accepts_only_the_right_secret() {
        let stored = sha256_hex("s3cret");
        assert!(matches("s3cret", &stored));
        assert!(!matches("s3cret ", &stored));
        assert!(!matches("", &stored));
    }

    #[test]
    fn random_secrets_have_their_shape_and_differ() {
        let (a, b) = (random_token().expect("rng"), random_token().expect("rng"));
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        let key = random_hex_key().expect("rng");
        assert_eq!(key.len(), 32);
        assert!(
            key.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
