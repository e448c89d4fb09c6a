//! HS256 signing keys, the fixed in-memory key ring, and the compact-JWS sign/verify path.
//!
//! Keys come only from configuration, never from the token (`jku`, `jwk`, `x5u` are ignored): a
//! `kid` can only *pick* one of the ring's keys. Rotation: start every replica with
//! `[new, old]` (the new key signs, both verify), wait for the old tokens to expire, drop `old`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::Sha256;

use super::{ImageClaims, TokenError, VerifyLimits};

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted, in bytes. RFC 7518 §3.2: an HS256 key must be at least as long as
/// the hash output (32 bytes); shorter secrets are brute-forceable from one captured token.
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest `kid` accepted, in bytes.
pub const MAX_KID_BYTES: usize = 64;

/// Longest encoded header accepted. Ours is ~60 characters; the cap lets the header decode into a
/// stack buffer, so a hostile token costs no allocation before its MAC is checked.
const MAX_HEADER_B64: usize = 512;

/// Encoded length of a 32-byte HMAC-SHA256 tag without padding.
const SIG_B64_LEN: usize = 43;

/// One HS256 key: a `kid` that names it and a secret whose UTF-8 bytes are the HMAC key (as JWT
/// libraries use a string secret, so PyJWT or `jsonwebtoken` with the same string interoperate).
#[derive(Clone)]
pub struct SigningKey {
    /// Key id, put in the `kid` header of tokens it signs. 1–64 ASCII letters, digits or `-_.`.
    pub kid: String,
    secret: String,
    /// The HMAC state after absorbing the key, computed once: each sign/verify clones it instead
    /// of re-hashing the key pads (two SHA-256 blocks saved per token).
    keyed: HmacSha256,
}

impl SigningKey {
    /// A key named `kid` with `secret` (UTF-8, at least [`MIN_SECRET_BYTES`] bytes).
    pub fn new(kid: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, TokenError> {
        let kid = kid.into();
        check_kid(&kid)?;
        let secret = std::str::from_utf8(secret.as_ref())
            .map_err(|_| TokenError::InvalidKey("the secret must be UTF-8 text"))?;
        if secret.is_empty() {
            return Err(TokenError::InvalidKey("the secret is empty"));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::InvalidKey(
                "the secret must be at least 32 bytes (RFC 7518 §3.2)",
            ));
        }
        let keyed =
            HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        Ok(SigningKey {
            kid,
            secret: secret.to_owned(),
            keyed,
        })
    }

    /// A fresh key: 32 bytes from the OS RNG, base64url-encoded (43 characters); that string is
    /// the secret, so it can be written to a file or an env var and read back as is.
    ///
    /// # Panics
    /// If `kid` is not a valid key id (callers pass a constant such as `"dev"`), or the OS random
    /// number generator is unavailable (nothing secure can be done without it).
    pub fn generate(kid: impl Into<String>) -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random number generator must be available");
        SigningKey::new(kid, URL_SAFE_NO_PAD.encode(bytes))
            .expect("generate() is called with a valid constant kid; the secret is 43 bytes")
    }

    /// The secret as configured (for writing a generated key to the data dir, or printing a
    /// PyJWT example). Treat as sensitive.
    pub fn secret_str(&self) -> &str {
        &self.secret
    }

    /// HMAC-SHA256 of `input` under this key.
    fn mac(&self, input: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(input);
        mac
    }

    /// Constant-time check of `tag` against the MAC of `input`.
    fn verifies(&self, input: &[u8], tag: &[u8; 32]) -> bool {
        // SECURITY: verify_slice compares in constant time (subtle).
        self.mac(input).verify_slice(tag).is_ok()
    }
}

/// Never prints the secret.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// `KID=SECRET`, the form of `--signing-key`. The first `=` separates; the secret may contain
/// more (standard base64 padding, for instance).
impl FromStr for SigningKey {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kid, secret) = s
            .split_once('=')
            .ok_or(TokenError::InvalidKey("expected KID=SECRET"))?;
        if kid.is_empty() {
            return Err(TokenError::InvalidKey("the kid before '=' is empty"));
        }
        if secret.is_empty() {
            return Err(TokenError::InvalidKey("the secret after '=' is empty"));
        }
        SigningKey::new(kid, secret)
    }
}

fn check_kid(kid: &str) -> Result<(), TokenError> {
    if kid.is_empty() {
        return Err(TokenError::InvalidKey("the kid is empty"));
    }
    if kid.len() > MAX_KID_BYTES {
        return Err(TokenError::InvalidKey("the kid is longer than 64 bytes"));
    }
    if !kid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(TokenError::InvalidKey(
            "the kid may only hold ASCII letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(())
}

/// The fixed set of keys this process trusts: the first signs, every one verifies.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SigningKey>,
    limits: VerifyLimits,
    /// `base64url(header) + "."` for the signing key, encoded once.
    sign_prefix: String,
}

impl Keyring {
    /// A ring of `keys`, `keys[0]` signing. Refuses an empty ring and duplicate kids (a `kid`
    /// must pick exactly one key).
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, TokenError> {
        let signer = keys
            .first()
            .ok_or(TokenError::InvalidKey("the key ring is empty"))?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|earlier| earlier.kid == k.kid) {
                return Err(TokenError::InvalidKey("two keys share one kid"));
            }
        }
        let header = SignHeader {
            alg: "HS256",
            typ: "JWT",
            kid: &signer.kid,
        };
        let header = serde_json::to_vec(&header).expect("three strings always serialise");
        let mut sign_prefix = URL_SAFE_NO_PAD.encode(header);
        sign_prefix.push('.');
        Ok(Keyring {
            keys,
            limits: VerifyLimits::default(),
            sign_prefix,
        })
    }

    /// Replaces the default [`VerifyLimits`].
    pub fn with_limits(mut self, limits: VerifyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> VerifyLimits {
        self.limits
    }

    /// The `kid` of the key that signs.
    pub fn signer_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// The signing key (for writing a generated key out, or printing an example).
    pub fn signer(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// A compact JWT of `claims`, header `{"alg":"HS256","typ":"JWT","kid":"<signer kid>"}`,
    /// payload in the seed API's shape. Does not range-check: call
    /// [`ImageClaims::validate`] first if the claims come from a user.
    pub fn sign(&self, claims: &ImageClaims) -> String {
        let payload = claims.to_json();
        let mut token = String::with_capacity(self.sign_prefix.len() + payload.len() * 4 / 3 + 48);
        token.push_str(&self.sign_prefix);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let tag = self.keys[0].mac(token.as_bytes()).finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        token
    }

    /// Verifies `token` at `now_unix` (seconds since the epoch, from the injectable clock) and
    /// returns its claims, all within range. See the module docs of [`super`] for the order of
    /// checks; the first failure is returned.
    ///
    /// Key choice: a `kid` must name a ring key, and only that key is tried. A token without
    /// `kid` (as third-party libraries mint by default) is tried against every key in ring order,
    /// each comparison constant-time, so such tokens keep verifying across a rotation. Stopping at
    /// the first match reveals at most which ring position verified, nothing about a secret.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<ImageClaims, TokenError> {
        // SECURITY: the length cap comes before any decoding or scanning beyond `len()`.
        if token.len() > self.limits.max_token_len {
            return Err(TokenError::TooLong {
                len: token.len(),
                max: self.limits.max_token_len,
            });
        }
        let parts = split(token)?;
        let candidates = candidate_keys(parts.header, &self.keys)?;
        let tag = decode_signature(parts.signature)?;
        // SECURITY: the MAC covers the original encoded bytes, not a re-encoding.
        if !candidates
            .iter()
            .any(|k| k.verifies(parts.signing_input.as_bytes(), &tag))
        {
            return Err(TokenError::BadSignature);
        }
        // Only now, with the token proven authentic, is the payload decoded and parsed.
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
        let claims = ImageClaims::from_json(&payload)?;
        claims.check_time(now_unix, self.limits.leeway_secs)?;
        Ok(claims)
    }
}

/// The header [`Keyring::sign`] writes, in this field order.
#[derive(serde::Serialize)]
struct SignHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The three parts of a compact JWS, borrowed from the token.
struct Parts<'a> {
    /// `header.payload`, exactly as received: the MAC input.
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    // SECURITY: `=` is not in the base64url alphabet; padded segments are refused outright so
    // there is exactly one encoding of every token (no malleability).
    if token.contains('=') {
        return Err(TokenError::Malformed(
            "base64url padding ('=') is not allowed",
        ));
    }
    let mut it = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(TokenError::Malformed(
            "a token has exactly three dot-separated parts",
        ));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(TokenError::Malformed("empty header or payload"));
    }
    Ok(Parts {
        signing_input: &token[..header.len() + 1 + payload.len()],
        header,
        payload,
        signature,
    })
}

/// The header parameters we look at. Others (`jku`, `jwk`, `x5u`, …) are ignored: keys come only
/// from the ring.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// Decodes and checks the header, and returns the keys the MAC may be checked against: the one
/// its `kid` names, or the whole ring without a `kid`. The JSON is decoded into a stack buffer
/// and borrowed from it, so a hostile header costs no allocation.
fn candidate_keys<'k>(b64: &str, keys: &'k [SigningKey]) -> Result<&'k [SigningKey], TokenError> {
    if b64.len() > MAX_HEADER_B64 {
        return Err(TokenError::Malformed("header is too long"));
    }
    let mut buf = [0u8; MAX_HEADER_B64 * 3 / 4 + 3];
    let n = URL_SAFE_NO_PAD
        .decode_slice(b64, &mut buf)
        .map_err(|_| TokenError::Malformed("header is not base64url"))?;
    let json = &buf[..n];
    // A derived struct also deserialises from a JSON array; a JOSE header is an object.
    if json.first() != Some(&b'{') {
        return Err(TokenError::Malformed("header is not a JSON object"));
    }
    // Duplicate parameters (two `alg`s) are refused by the derive.
    let h: Header<'_> = serde_json::from_slice(json)
        .map_err(|_| TokenError::Malformed("header is not a valid JSON object"))?;
    // SECURITY: exactly HS256; `none`, other HMACs and public-key algs are all refused, so a key
    // can never be used with an algorithm it was not meant for.
    if h.alg.as_deref() != Some("HS256") {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    // RFC 7515 §4.1.9: `typ` is compared case-insensitively; `application/` may be omitted.
    if let Some(typ) = h.typ.as_deref()
        && !typ.eq_ignore_ascii_case("JWT")
        && !typ.eq_ignore_ascii_case("application/jwt")
    {
        return Err(TokenError::Malformed("typ must be JWT"));
    }
    // SECURITY: RFC 7515 §4.1.11: extensions listed in `crit` must be understood; we understand
    // none (`b64: false`, for one, would change what the MAC covers).
    if h.crit.is_some() {
        return Err(TokenError::Malformed(
            "crit header parameters are not supported",
        ));
    }
    match h.kid.as_deref() {
        // SECURITY: a kid only selects among configured keys; unknown → refused, never fetched.
        Some(kid) => match keys.iter().position(|k| k.kid == kid) {
            Some(i) => Ok(&keys[i..=i]),
            None => Err(TokenError::UnknownKey),
        },
        None => Ok(keys),
    }
}

/// The signature part as a 32-byte tag. Absent or not exactly one HS256 tag → malformed; a
/// well-formed tag that does not match is a [`TokenError::BadSignature`] later.
fn decode_signature(b64: &str) -> Result<[u8; 32], TokenError> {
    if b64.is_empty() {
        return Err(TokenError::Malformed("the signature is empty"));
    }
    let mut tag = [0u8; 32];
    if b64.len() != SIG_B64_LEN {
        return Err(TokenError::Malformed(
            "the signature is not one base64url HS256 tag",
        ));
    }
    match URL_SAFE_NO_PAD.decode_slice(b64, &mut tag) {
        Ok(32) => Ok(tag),
        _ => Err(TokenError::Malformed(
            "the signature is not one base64url HS256 tag",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Ecc, Format, RenderOptions, Rgb};
    use crate::token::MAX_URL_BYTES;
    use crate::token::claims::{assert_seed_claims, seed_claims};
    use jsonwebtoken::{Algorithm, EncodingKey, Header as JwtHeader};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const SECRET: &str = "a-shared-secret-of-at-least-32-bytes";
    const OLD_SECRET: &str = "the-previous-secret-also-32-bytes-long";
    /// Between the seed payload's `nbf` and `exp`.
    const NOW: i64 = 1648598709 + 60;

    fn ring() -> Keyring {
        Keyring::new(vec![SigningKey::new("k1", SECRET).unwrap()]).unwrap()
    }

    fn seed(size: Value) -> Value {
        json!({"format":"image/png","size":size,"url":"https://qr.example.com/r/DI5bjNA0",
               "iss":"qr-origin","nbf":1648598709,"exp":1648602309,"iat":1648598709})
    }

    /// jsonwebtoken's HMAC signatures over `hmac`/`sha2` (it is built without a crypto backend):
    /// the integration tests' provider, one source for both.
    mod jwt_hmac {
        include!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/common/jwt_hmac.rs"
        ));
    }

    /// A token minted by the independent `jsonwebtoken` crate.
    fn jwt(alg: Algorithm, kid: Option<&str>, claims: &Value, secret: &str) -> String {
        jwt_hmac::install();
        let mut h = JwtHeader::new(alg);
        h.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    /// A token with an arbitrary header, HMAC-SHA256-signed over exactly the given parts.
    fn forge(header: &str, payload: &str, secret: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let tag = SigningKey::new("x", secret).unwrap().mac(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(tag.finalize().into_bytes())
        )
    }

    fn seed_forged(header: &str) -> String {
        forge(header, &seed(json!("800")).to_string(), SECRET)
    }

    #[track_caller]
    fn refused(token: &str, want: TokenError) {
        assert_eq!(ring().verify(token, NOW), Err(want), "{token:.80}");
    }

    #[track_caller]
    fn malformed(token: &str) {
        match ring().verify(token, NOW) {
            Err(TokenError::Malformed(_)) => {}
            other => panic!("{token:.80}: expected Malformed, got {other:?}"),
        }
    }

    #[track_caller]
    fn bad_claim(token: &str, name: &str) {
        match ring().verify(token, NOW) {
            Err(TokenError::InvalidClaim { name: n, .. }) => assert_eq!(n, name),
            other => panic!("expected InvalidClaim({name}), got {other:?}"),
        }
    }

    #[test]
    fn jsonwebtoken_seed_tokens_verify_with_size_as_string_or_number() {
        for (size, kid) in [
            (json!("800"), None),
            (json!(800), None),
            (json!("800"), Some("k1")),
        ] {
            let token = jwt(Algorithm::HS256, kid, &seed(size.clone()), SECRET);
            let c = ring().verify(&token, NOW).unwrap();
            assert_seed_claims(&c, &format!("size {size}, kid {kid:?}"));
        }
    }

    #[test]
    fn jsonwebtoken_svg_token_with_extensions_and_no_exp_verifies() {
        let claims = json!({"format":"image/svg+xml","size":300,"url":"WIFI:S:cafe;;",
                            "ecc":"H","border":1,"fg":"#102030","bg":"#fafafa"});
        let c = ring()
            .verify(&jwt(Algorithm::HS256, None, &claims, SECRET), i64::MAX / 2)
            .unwrap();
        assert_eq!(
            c.render_options(),
            RenderOptions {
                format: Format::Svg,
                size: 300,
                ecc: Ecc::H,
                border: 1,
                dark: Rgb(0x10, 0x20, 0x30),
                light: Rgb(0xfa, 0xfa, 0xfa),
                style: Default::default(),
            }
        );
        assert_eq!((c.url.as_str(), c.exp), ("WIFI:S:cafe;;", None));
    }

    #[test]
    fn our_tokens_have_the_seed_shape_and_verify_in_jsonwebtoken() {
        let claims = seed_claims();
        let token = ring().sign(&claims);

        let parts: Vec<&str> = token.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg":"HS256","typ":"JWT","kid":"k1"}));
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            r#"{"format":"image/png","size":"800","url":"https://qr.example.com/r/DI5bjNA0","iss":"qr-origin","nbf":1648598709,"exp":1648602309,"iat":1648598709}"#
        );

        jwt_hmac::install();
        let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &v,
        )
        .unwrap();
        assert_eq!(decoded.claims, seed(json!("800")));
        assert_eq!(ring().verify(&token, NOW), Ok(claims));
    }

    #[test]
    fn other_algorithms_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(seed(json!("800")).to_string())
        );
        refused(&none, TokenError::UnsupportedAlgorithm);
        refused(
            &seed_forged(r#"{"alg":"none","typ":"JWT"}"#),
            TokenError::UnsupportedAlgorithm,
        );
        let hs384 = jwt(Algorithm::HS384, None, &seed(json!("800")), SECRET);
        refused(&hs384, TokenError::UnsupportedAlgorithm);
        // Algorithm confusion: an RS256 header with an HMAC under the shared secret.
        for header in [
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"hs256","typ":"JWT"}"#,
            r#"{"alg":"HS256 ","typ":"JWT"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":null}"#,
        ] {
            refused(&seed_forged(header), TokenError::UnsupportedAlgorithm);
        }
        // Wrong type or a duplicate `alg` cannot be read unambiguously.
        malformed(&seed_forged(r#"{"alg":256}"#));
        malformed(&seed_forged(r#"{"alg":"HS256","alg":"none"}"#));
    }

    #[test]
    fn header_rules() {
        assert!(
            ring()
                .verify(&seed_forged(r#"{"alg":"HS256"}"#), NOW)
                .is_ok()
        );
        assert!(
            ring()
                .verify(&seed_forged(r#"{"alg":"HS256","typ":"jwt"}"#), NOW)
                .is_ok()
        );
        assert!(
            ring()
                .verify(
                    &seed_forged(r#"{"alg":"HS256","jku":"https://evil.test/k"}"#),
                    NOW
                )
                .is_ok()
        );
        malformed(&seed_forged(r#"{"alg":"HS256","typ":"JOSE"}"#));
        malformed(&seed_forged(
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        ));
        malformed(&seed_forged(r#"["HS256","JWT"]"#));
        malformed(&seed_forged(r#""HS256""#));
        malformed(&seed_forged("not json at all"));
        malformed(&seed_forged(r#" {"alg":"HS256"}"#));
        malformed(&seed_forged(r#"{"alg":"HS256","kid":7}"#));
        let long = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(400));
        malformed(&seed_forged(&long));
        let nested = format!(
            r#"{{"alg":"HS256","x":{}{}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        );
        malformed(&seed_forged(&nested));
    }

    #[test]
    fn tampering_is_a_bad_signature() {
        let token = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        let parts: Vec<&str> = token.split('.').collect();
        let mut bigger = seed(json!("800"));
        bigger["size"] = json!("2000");
        let tampered_payload = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(bigger.to_string()),
            parts[2]
        );
        refused(&tampered_payload, TokenError::BadSignature);

        let flip = if parts[2].starts_with('A') { 'B' } else { 'A' };
        let tampered_sig = format!("{}.{}.{flip}{}", parts[0], parts[1], &parts[2][1..]);
        refused(&tampered_sig, TokenError::BadSignature);

        let wrong_key = jwt(Algorithm::HS256, None, &seed(json!("800")), OLD_SECRET);
        refused(&wrong_key, TokenError::BadSignature);
        let wrong_key_kid = jwt(
            Algorithm::HS256,
            Some("k1"),
            &seed(json!("800")),
            OLD_SECRET,
        );
        refused(&wrong_key_kid, TokenError::BadSignature);
    }

    #[test]
    fn signature_encoding_is_strict() {
        let token = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        let (input, sig) = token.rsplit_once('.').unwrap();
        // Non-canonical trailing bits (43 chars carry 258 bits for a 256-bit tag): same bytes,
        // different string; refused so a token has exactly one spelling.
        let last = sig.as_bytes()[42];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.iter().position(|&c| c == last).unwrap();
        let twin = alphabet[idx | 1] as char;
        malformed(&format!("{input}.{}{twin}", &sig[..42]));
        malformed(&format!("{input}.{}", &sig[..42]));
        malformed(&format!("{input}.{sig}A"));
        malformed(&format!("{input}.{}", sig.replace(['-', '_'], "+")));
        malformed(&format!("{input}."));
    }

    #[test]
    fn padding_is_refused() {
        // 22-byte header → 30 chars + "==" padded; properly signed over the padded bytes.
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","x":1}"#);
        let padded_header = format!("{h}==");
        let p = URL_SAFE_NO_PAD.encode(seed(json!("800")).to_string());
        let input = format!("{padded_header}.{p}");
        let tag = ring().keys[0].mac(input.as_bytes()).finalize().into_bytes();
        malformed(&format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag)));

        let good = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        malformed(&format!("{good}="));
        let (h, rest) = good.split_once('.').unwrap();
        malformed(&format!("{h}=.{rest}"));
    }

    #[test]
    fn unknown_kid_is_refused_even_with_the_right_secret() {
        let token = jwt(Algorithm::HS256, Some("nope"), &seed(json!("800")), SECRET);
        refused(&token, TokenError::UnknownKey);
        refused(
            &seed_forged(r#"{"alg":"HS256","kid":"K1"}"#),
            TokenError::UnknownKey,
        );
        refused(
            &seed_forged(r#"{"alg":"HS256","kid":""}"#),
            TokenError::UnknownKey,
        );
        // An escaped kid that decodes to a ring kid names that key.
        assert!(
            ring()
                .verify(&seed_forged(r#"{"alg":"HS256","kid":"\u006b1"}"#), NOW)
                .is_ok()
        );
    }

    #[test]
    fn claim_errors_after_a_valid_signature() {
        let mut c = seed(json!("800"));
        c["exp"] = json!("1648602309");
        bad_claim(&jwt(Algorithm::HS256, None, &c, SECRET), "exp");
        let mut c = seed(json!("800"));
        c["nbf"] = json!("1648598709.5");
        bad_claim(&jwt(Algorithm::HS256, None, &c, SECRET), "nbf");
        let mut c = seed(json!("800"));
        c["iat"] = json!(1e30);
        bad_claim(&jwt(Algorithm::HS256, None, &c, SECRET), "iat");
        let mut c = seed(json!("800"));
        c.as_object_mut().unwrap().remove("url");
        bad_claim(&jwt(Algorithm::HS256, None, &c, SECRET), "url");
        for size in [
            json!(99),
            json!(2001),
            json!("5000"),
            json!(-800),
            json!(""),
        ] {
            bad_claim(&jwt(Algorithm::HS256, None, &seed(size), SECRET), "size");
        }
        for format in [json!("image/gif"), json!("png"), json!("text/targetUrl")] {
            let mut c = seed(json!("800"));
            c["format"] = format;
            bad_claim(&jwt(Algorithm::HS256, None, &c, SECRET), "format");
        }
        malformed(&forge(r#"{"alg":"HS256"}"#, "[1,2,3]", SECRET));
        malformed(&forge(r#"{"alg":"HS256"}"#, "", SECRET));
        // Nested garbage: refused as a non-object, refused by claim name, or (in a claim we do
        // not read) skipped without recursion.
        let nested = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        malformed(&forge(r#"{"alg":"HS256"}"#, &nested, SECRET));
        let deep = |claim: &str| {
            format!(
                r#"{{"format":"image/png","url":"x",{claim}:{}1{}}}"#,
                "{\"a\":".repeat(400),
                "}".repeat(400)
            )
        };
        bad_claim(
            &forge(r#"{"alg":"HS256"}"#, &deep(r#""size""#), SECRET),
            "size",
        );
        assert!(
            ring()
                .verify(&forge(r#"{"alg":"HS256"}"#, &deep(r#""jti""#), SECRET), NOW)
                .is_ok()
        );
    }

    #[test]
    fn time_window_uses_the_given_clock_and_leeway() {
        let token = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        let (nbf, exp) = (1648598709, 1648602309);
        assert!(ring().verify(&token, nbf - 30).is_ok());
        assert_eq!(
            ring().verify(&token, nbf - 31),
            Err(TokenError::NotYetValid)
        );
        assert!(ring().verify(&token, exp + 29).is_ok());
        assert_eq!(ring().verify(&token, exp + 30), Err(TokenError::Expired));
        let strict = ring().with_limits(VerifyLimits {
            leeway_secs: 0,
            ..VerifyLimits::default()
        });
        assert_eq!(strict.verify(&token, exp), Err(TokenError::Expired));
        assert_eq!(strict.verify(&token, nbf - 1), Err(TokenError::NotYetValid));
    }

    #[test]
    fn length_is_capped_before_anything_else() {
        let huge = "a".repeat(100 * 1024);
        refused(
            &huge,
            TokenError::TooLong {
                len: 100 * 1024,
                max: 10240,
            },
        );
        // A 100 KB token that is otherwise perfectly valid is still refused on length alone.
        let mut c = seed(json!("800"));
        c["pad"] = json!("x".repeat(100 * 1024));
        let valid_but_huge = jwt(Algorithm::HS256, None, &c, SECRET);
        assert!(matches!(
            ring().verify(&valid_but_huge, NOW),
            Err(TokenError::TooLong { max: 10240, .. })
        ));
        let token = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        let tight = ring().with_limits(VerifyLimits {
            max_token_len: token.len() - 1,
            ..VerifyLimits::default()
        });
        assert_eq!(
            tight.verify(&token, NOW),
            Err(TokenError::TooLong {
                len: token.len(),
                max: token.len() - 1
            })
        );
        // The longest content fits the default cap.
        let longest = ImageClaims::new("a".repeat(MAX_URL_BYTES), Format::Png, 2000);
        let t = ring().sign(&longest);
        assert!(t.len() <= 10240, "{}", t.len());
        assert_eq!(ring().verify(&t, NOW), Ok(longest));
    }

    #[test]
    fn structure_errors_are_malformed() {
        let good = jwt(Algorithm::HS256, None, &seed(json!("800")), SECRET);
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        for bad in [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            format!("{h}.{p}"),
            format!("{h}..{s}"),
            format!(".{p}.{s}"),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}.{p}.{s}.."),
            format!("{h}.{p}.{s} "),
            format!(" {h}.{p}.{s}"),
            format!("{h}.{p}.{s}\n"),
            "eyJ.eyJ.eyJ".into(),
            "\u{0}\u{1}.ü.☃".into(),
            "%%%.%%%.%%%".into(),
        ] {
            malformed(&bad);
        }
    }

    #[test]
    fn rotation_old_tokens_verify_new_key_signs() {
        let old = SigningKey::new("old", OLD_SECRET).unwrap();
        let new = SigningKey::new("new", SECRET).unwrap();
        let claims = ImageClaims::new("https://x.test/r/1", Format::Svg, 400);
        let old_ring = Keyring::new(vec![old.clone()]).unwrap();
        let by_old = old_ring.sign(&claims);
        let kidless_by_old = jwt(
            Algorithm::HS256,
            None,
            &json!({"format":"image/svg+xml","size":400,"url":"https://x.test/r/1"}),
            OLD_SECRET,
        );

        let rotating = Keyring::new(vec![new.clone(), old]).unwrap();
        assert_eq!(rotating.signer_kid(), "new");
        assert_eq!(rotating.verify(&by_old, NOW), Ok(claims.clone()));
        assert_eq!(rotating.verify(&kidless_by_old, NOW), Ok(claims.clone()));
        let by_new = rotating.sign(&claims);
        let header = URL_SAFE_NO_PAD
            .decode(by_new.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT","kid":"new"}"#);
        assert_eq!(old_ring.verify(&by_new, NOW), Err(TokenError::UnknownKey));

        let retired = Keyring::new(vec![new]).unwrap();
        assert_eq!(retired.verify(&by_new, NOW), Ok(claims));
        assert_eq!(retired.verify(&by_old, NOW), Err(TokenError::UnknownKey));
        assert_eq!(
            retired.verify(&kidless_by_old, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn ring_construction_rules() {
        assert_eq!(
            Keyring::new(vec![]).unwrap_err(),
            TokenError::InvalidKey("the key ring is empty")
        );
        let a = SigningKey::new("a", SECRET).unwrap();
        let a2 = SigningKey::new("a", OLD_SECRET).unwrap();
        assert!(matches!(
            Keyring::new(vec![a.clone(), a2]),
            Err(TokenError::InvalidKey(_))
        ));
        assert_eq!(Keyring::new(vec![a]).unwrap().signer_kid(), "a");
    }

    #[test]
    fn key_parsing_and_validation() {
        let k: SigningKey = format!("k-1.x_y={SECRET}").parse().unwrap();
        assert_eq!((k.kid.as_str(), k.secret_str()), ("k-1.x_y", SECRET));
        let padded: SigningKey = "k=A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDI=="
            .parse()
            .unwrap();
        assert_eq!(
            padded.secret_str(),
            "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDI=="
        );
        for bad in [
            String::new(),
            "novalue".into(),
            format!("={SECRET}"),
            "k=".into(),
            "k=short".into(),
            format!("bad kid={SECRET}"),
            format!("k\"={SECRET}"),
            format!("{}={SECRET}", "k".repeat(65)),
        ] {
            assert!(
                matches!(bad.parse::<SigningKey>(), Err(TokenError::InvalidKey(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            SigningKey::new("k", [0xffu8; 40]),
            Err(TokenError::InvalidKey(_))
        ));
        let dbg = format!("{:?}", SigningKey::new("k", SECRET).unwrap());
        assert!(!dbg.contains(SECRET) && dbg.contains("redacted"), "{dbg}");
        let dbg_ring = format!("{:?}", ring());
        assert!(!dbg_ring.contains(SECRET), "{dbg_ring}");
    }

    #[test]
    fn generated_keys_are_random_43_char_secrets() {
        let a = SigningKey::generate("dev");
        let b = SigningKey::generate("dev");
        assert_eq!(a.secret_str().len(), 43);
        assert_ne!(a.secret_str(), b.secret_str());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.secret_str()).unwrap().len(), 32);
        let again: SigningKey = format!("dev={}", a.secret_str()).parse().unwrap();
        let t = Keyring::new(vec![a])
            .unwrap()
            .sign(&ImageClaims::new("x", Format::Png, 800));
        assert!(Keyring::new(vec![again]).unwrap().verify(&t, NOW).is_ok());
    }

    /// Any style the claims can carry (transparency forces a white light colour, as on the
    /// wire).
    fn arb_style() -> impl Strategy<Value = crate::render::Style> {
        use crate::render::{Caption, Eyes, Frame, LogoRef, Shape, Style};
        let rgb = || proptest::option::of(any::<(u8, u8, u8)>());
        (
            prop_oneof![Just(Shape::Square), Just(Shape::Rounded), Just(Shape::Dots)],
            prop_oneof![Just(Eyes::Square), Just(Eyes::Rounded), Just(Eyes::Circle)],
            proptest::option::of(any::<(u8, u8, u8)>()),
            proptest::option::of((any::<[u8; 32]>(), 1u16..=1000)),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of((
                prop_oneof![
                    Just("Scan me"),
                    Just("Skann og betal – nå"),
                    Just("Straße Œ")
                ],
                rgb(),
                rgb(),
            )),
        )
            .prop_map(
                |(shape, eyes, eye, logo, transparent, invert, frame)| Style {
                    shape,
                    eyes,
                    eye_color: eye.map(|(r, g, b)| Rgb(r, g, b)),
                    logo: logo.map(|(id, size_permille)| LogoRef { id, size_permille }),
                    transparent,
                    invert,
                    frame: frame.map(|(text, f, c)| Frame {
                        caption: Caption::new(text).expect("a valid caption"),
                        frame_color: f.map(|(r, g, b)| Rgb(r, g, b)),
                        caption_color: c.map(|(r, g, b)| Rgb(r, g, b)),
                    }),
                },
            )
    }

    fn arb_claims() -> impl Strategy<Value = ImageClaims> {
        (
            "\\PC{1,120}",
            prop_oneof![Just(Format::Png), Just(Format::Svg), Just(Format::Pdf)],
            100u32..=2000,
            prop_oneof![Just(Ecc::L), Just(Ecc::M), Just(Ecc::Q), Just(Ecc::H)],
            0u32..=16,
            any::<(u8, u8, u8, u8, u8, u8)>(),
            proptest::option::of("[a-z-]{0,12}"),
            proptest::option::of(-1_000_000i64..=0),
            proptest::option::of(100i64..=i64::MAX / 2),
            proptest::option::of(any::<i64>()),
            arb_style(),
        )
            .prop_map(
                |(
                    url,
                    format,
                    size,
                    ecc,
                    border,
                    (r, g, b, r2, g2, b2),
                    iss,
                    nbf,
                    exp,
                    iat,
                    style,
                )| {
                    ImageClaims {
                        url,
                        format,
                        size,
                        ecc,
                        border,
                        dark: Rgb(r, g, b),
                        light: if style.transparent {
                            Rgb::WHITE
                        } else {
                            Rgb(r2, g2, b2)
                        },
                        style,
                        iss,
                        nbf: nbf.map(|d| NOW + d),
                        exp: exp.map(|d| NOW + d),
                        iat,
                    }
                },
            )
    }

    /// JSON-ish payloads built from our claim names and edge-case values, so the claim parser
    /// behind the MAC sees type confusion, duplicates and out-of-range values.
    fn arb_payload() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("url"),
            Just("format"),
            Just("size"),
            Just("ecc"),
            Just("border"),
            Just("fg"),
            Just("bg"),
            Just("shape"),
            Just("eyes"),
            Just("eyeColor"),
            Just("logo"),
            Just("logoSize"),
            Just("invert"),
            Just("iss"),
            Just("nbf"),
            Just("exp"),
            Just("iat"),
            Just("jti"),
        ];
        let value = prop_oneof![
            Just("\"https://x.test/r/1\"".to_owned()),
            Just("\"image/png\"".to_owned()),
            Just("\"image/svg+xml\"".to_owned()),
            Just("\"#00ff00\"".to_owned()),
            Just("\"H\"".to_owned()),
            Just("\"transparent\"".to_owned()),
            Just("\"dots\"".to_owned()),
            Just("\"circle\"".to_owned()),
            Just("true".to_owned()),
            Just("0.25".to_owned()),
            Just(format!("\"{}\"", "ab".repeat(32))),
            Just("null".to_owned()),
            Just("[]".to_owned()),
            Just("{}".to_owned()),
            Just("\"\"".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0i64..3000).prop_map(|n| n.to_string()),
            (0i64..3000).prop_map(|n| format!("\"{n}\"")),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            "\\PC{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ];
        // Distinct names, with a valid `url` and `format` filled in unless drawn, so a good share
        // of payloads verify and the range checks on the rest are exercised.
        (
            proptest::collection::btree_map(name, value, 0..8),
            any::<bool>(),
        )
            .prop_map(|(mut kv, fill)| {
                if fill {
                    kv.entry("url")
                        .or_insert_with(|| "\"https://x.test/r/1\"".to_owned());
                    kv.entry("format")
                        .or_insert_with(|| "\"image/png\"".to_owned());
                }
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", body.join(","))
            })
    }

    proptest! {
        #[test]
        fn sign_verify_round_trip(claims in arb_claims()) {
            let ring = ring();
            let token = ring.sign(&claims);
            prop_assert_eq!(ring.verify(&token, NOW), Ok(claims));
        }

        #[test]
        fn verified_claims_are_always_within_range(payload in arb_payload(), now in prop_oneof![any::<i64>(), 0i64..3000]) {
            let token = forge(r#"{"alg":"HS256"}"#, &payload, SECRET);
            if let Ok(c) = ring().verify(&token, now) {
                prop_assert_eq!(c.validate(), Ok(()));
                prop_assert_eq!(c.check_time(now, 30), Ok(()));
                prop_assert_eq!(ring().verify(&ring().sign(&c), now), Ok(c));
            }
        }

        #[test]
        fn any_single_byte_change_is_refused(claims in arb_claims(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let ring = ring();
            let token = ring.sign(&claims);
            let mut bytes = token.clone().into_bytes();
            let i = pos.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let changed = String::from_utf8_lossy(&bytes);
            prop_assert!(ring.verify(&changed, NOW).is_err());
        }
    }
}
