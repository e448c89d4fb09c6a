// jsonwebtoken's HMAC algorithms (HS256, HS384, HS512) for the tests, signing and verifying
// with the `hmac` and `sha2` crates. jsonwebtoken's own backends bring RSA, ECDSA and Ed25519
// (RustCrypto) or a C library (aws-lc), none of which a test uses, so it is built with no
// backend and `install()` makes this provider its process default; jsonwebtoken still does the
// header, the claims, the base64url framing and the validation. Also compiled into the
// library's unit tests (src/token/keyring.rs, by `include!`), hence no inner doc comment here.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// One HMAC key with the algorithm it serves.
struct HmacKey {
    alg: Algorithm,
    key: Vec<u8>,
}

fn tag<M: Mac + KeyInit>(
    key: &[u8],
    message: &[u8],
) -> std::result::Result<Vec<u8>, signature::Error> {
    let mut mac = <M as KeyInit>::new_from_slice(key).map_err(|_| signature::Error::new())?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

impl HmacKey {
    fn new(alg: &Algorithm, key: &[u8]) -> Result<HmacKey> {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Ok(HmacKey {
                alg: *alg,
                key: key.to_vec(),
            }),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    fn tag(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        match self.alg {
            Algorithm::HS256 => tag::<Hmac<sha2::Sha256>>(&self.key, message),
            Algorithm::HS384 => tag::<Hmac<sha2::Sha384>>(&self.key, message),
            _ => tag::<Hmac<sha2::Sha512>>(&self.key, message),
        }
    }
}

impl signature::Signer<Vec<u8>> for HmacKey {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        self.tag(message)
    }
}

impl signature::Verifier<Vec<u8>> for HmacKey {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        if self.tag(message)? == *signature {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtSigner for HmacKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

impl JwtVerifier for HmacKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(HmacKey::new(alg, key.as_bytes())?))
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(HmacKey::new(alg, key.try_get_as_bytes()?)?))
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this provider jsonwebtoken's for the process (once; later calls do nothing).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = PROVIDER.install_default();
    });
}
