//! Webhook request signing, exactly as the published Webhooks API does it, so a merchant's
//! existing verification code accepts our deliveries unchanged.
//!
//! ```text
//! x-ms-date:            RFC 1123 date
//! x-ms-content-sha256:  base64(SHA-256(body))
//! Authorization:        HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<sig>
//! sig = base64(HMAC-SHA256(key = secret's UTF-8 bytes,
//!                          "POST\n" + pathAndQuery + "\n" + date + ";" + host + ";" + contentHash))
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The headers that carry a delivery's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `x-ms-date`, echoed from the input.
    pub date: String,
    /// `x-ms-content-sha256`.
    pub content_sha256: String,
    /// `Authorization`.
    pub authorization: String,
    /// The host (with port when the URL names one) that was signed; it must equal the `Host`
    /// header the receiver sees, so the sender uses this very value.
    pub host: String,
}

/// Why a webhook URL cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("webhook URL is not an absolute http(s) URL with a host")]
    NotAbsolute,
}

/// Signs a POST of `body` to `url` at `date` (already formatted as RFC 1123, e.g. by
/// [`httpdate::fmt_http_date`]).
pub fn sign(
    secret: &str,
    url: &http::Uri,
    body: &[u8],
    date: &str,
) -> Result<Signature, SignError> {
    let host = url.authority().ok_or(SignError::NotAbsolute)?.as_str();
    // SECURITY: userinfo never belongs in a Host header or a signature.
    let host = host.rsplit('@').next().unwrap_or(host).to_owned();
    let path_and_query = url.path_and_query().map_or("/", |pq| pq.as_str());
    let content_sha256 = STANDARD.encode(Sha256::digest(body));
    let string_to_sign = format!("POST\n{path_and_query}\n{date};{host};{content_sha256}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    Ok(Signature {
        date: date.to_owned(),
        authorization: format!(
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        ),
        content_sha256,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the Webhooks API (DESIGN.md, "Webhook delivery").
    #[test]
    fn published_test_vector() {
        let secret = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
        let url: http::Uri = "https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63"
            .parse()
            .expect("valid URL");
        let body = br#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
        let sig = sign(secret, &url, body, "Thu, 30 Mar 2023 08:38:32 GMT").expect("absolute URL");
        assert_eq!(
            sig.content_sha256,
            "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
        );
        assert_eq!(
            sig.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
        );
        assert_eq!(sig.host, "webhook.site");
    }

    #[test]
    fn port_and_query_are_signed() {
        let url: http::Uri = "http://127.0.0.1:8081/hook?x=1".parse().expect("valid URL");
        let a = sign("s", &url, b"{}", "Thu, 30 Mar 2023 08:38:32 GMT").expect("absolute URL");
        assert_eq!(a.host, "127.0.0.1:8081");
        let other: http::Uri = "http://127.0.0.1:8081/hook?x=2".parse().expect("valid URL");
        let b = sign("s", &other, b"{}", "Thu, 30 Mar 2023 08:38:32 GMT").expect("absolute URL");
        assert_ne!(
            a.authorization, b.authorization,
            "the query is part of what is signed"
        );
    }

    #[test]
    fn relative_url_is_refused() {
        let url: http::Uri = "/hook".parse().expect("valid path");
        assert_eq!(sign("s", &url, b"", "d"), Err(SignError::NotAbsolute));
    }
}
