//! Image tokens: the HS256-signed compact JWTs carried in `GET /qr-generator/v1?token=…`.
//!
//! A token says what to render (content, format, size, style) and for how long; the key ring
//! proves we (or a holder of a shared secret) issued it. No HTTP in here: the origin calls
//! [`Keyring::verify`] and maps [`TokenError`] to a status code in one place.
//!
//! # Layout
//! - [`keyring`]: signing keys, the key ring, and the compact-JWS sign/verify path.
//! - [`claims`]: the payload ([`ImageClaims`]): parsing, range checks, time checks, encoding.
//!
//! # Verification order (JWT BCP, RFC 8725)
//! 1. Length cap, before any decoding ([`VerifyLimits::max_token_len`]).
//! 2. Exactly three non-empty dot-separated parts; no `=` padding anywhere.
//! 3. Header (decoded into a stack buffer): a JSON object, `alg` exactly `HS256`, `typ` if present
//!    `JWT`, no `crit`; a `kid` if present must name a key in the ring.
//! 4. HMAC-SHA256 over the original encoded `header.payload` bytes, compared in constant time.
//! 5. Only then is the payload decoded and parsed; `exp`/`nbf` checked with a small leeway.

pub mod claims;
pub mod keyring;

pub use claims::{ImageClaims, MAX_URL_BYTES, Validity};
pub use keyring::{Keyring, SigningKey};

/// Limits applied to untrusted tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Longest token accepted, in bytes, checked before any decoding. The default (10240) fits the
    /// longest QR content ([`MAX_URL_BYTES`]) once base64url-encoded with a header and signature,
    /// and keeps a hostile 100 KB query string from costing more than a length comparison.
    pub max_token_len: usize,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds: the minting service and the origin
    /// replicas do not share a clock, and a freshly minted token must not bounce off a replica
    /// whose clock runs a few seconds behind.
    pub leeway_secs: i64,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        VerifyLimits {
            max_token_len: 10240,
            leeway_secs: 30,
        }
    }
}

/// Why a token was refused (or a key rejected). Cheap variants, no allocation: the hostile path
/// must cost less than the happy one.
///
/// Suggested HTTP mapping (done by the origin, never here):
/// - `400`: [`TooLong`](Self::TooLong), [`Malformed`](Self::Malformed),
///   [`InvalidClaim`](Self::InvalidClaim), [`UnsupportedAlgorithm`](Self::UnsupportedAlgorithm);
/// - `403`: [`UnknownKey`](Self::UnknownKey), [`BadSignature`](Self::BadSignature),
///   [`NotYetValid`](Self::NotYetValid);
/// - `404`: [`Expired`](Self::Expired) (the API guide's answer for an expired image URL).
///
/// `NotYetValid` is `403`, not `400`: the token is authentic and well formed, so nothing about the
/// request is wrong and the client has nothing to fix; it is simply not authorised *yet* (it is
/// only reached after the signature verified). Like every error it must not be cached long, since
/// the same URL becomes valid once `nbf` passes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is {len} bytes, longer than the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("invalid claim `{name}`: {reason}")]
    InvalidClaim {
        name: &'static str,
        reason: &'static str,
    },
    #[error("unsupported algorithm: only HS256 is accepted")]
    UnsupportedAlgorithm,
    #[error("token is signed with an unknown key")]
    UnknownKey,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    /// A signing key or key ring given at start-up is unusable (never a request-time error).
    #[error("invalid signing key: {0}")]
    InvalidKey(&'static str),
}

impl TokenError {
    /// Every [`TokenError::reason`] a request can be refused for (all but `invalid_key`, a
    /// start-up error): the metric exports each at 0 from start-up, so a dashboard grouping by
    /// reason shows zeros, not "no data", until the first refusal.
    pub const REJECTION_REASONS: [&'static str; 8] = [
        "too_long",
        "malformed",
        "bad_claim",
        "alg",
        "unknown_kid",
        "bad_signature",
        "expired",
        "not_yet_valid",
    ];

    /// A short, stable label for the `reason` label of the token-rejection metric. Never changes
    /// once published: dashboards and alerts key on it.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLong { .. } => "too_long",
            TokenError::Malformed(_) => "malformed",
            TokenError::InvalidClaim { .. } => "bad_claim",
            TokenError::UnsupportedAlgorithm => "alg",
            TokenError::UnknownKey => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::InvalidKey(_) => "invalid_key",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_and_stable() {
        let all = [
            TokenError::TooLong { len: 1, max: 0 },
            TokenError::Malformed("x"),
            TokenError::InvalidClaim {
                name: "size",
                reason: "x",
            },
            TokenError::UnsupportedAlgorithm,
            TokenError::UnknownKey,
            TokenError::BadSignature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::InvalidKey("x"),
        ];
        let labels: Vec<&str> = all.iter().map(TokenError::reason).collect();
        // The published labels are the list the metric exports, and `invalid_key` (start-up
        // only) after them.
        assert_eq!(labels[..8], TokenError::REJECTION_REASONS);
        assert_eq!(labels[8], "invalid_key");
        let distinct: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
        assert_eq!(distinct.len(), labels.len());
    }

    #[test]
    fn default_limits_match_the_documented_values() {
        let l = VerifyLimits::default();
        assert_eq!((l.max_token_len, l.leeway_secs), (10240, 30));
    }
}
