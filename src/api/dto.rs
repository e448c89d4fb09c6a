//! Request and response bodies of the QR API, and the field rules of the published API.
//!
//! Requests are validated from a parsed JSON object field by field, so a 400 names every bad
//! field (`invalidParams`) instead of stopping at the first serde error.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{ApiError, InvalidParam};
use super::url::{self, UrlPolicy};

/// Longest merchant QR id (characters).
pub const MAX_ID_CHARS: usize = 128;
/// Shortest `ttl` (seconds) a merchant-redirect QR may have.
pub const MIN_TTL: i64 = 300;
/// Longest `ttl` (seconds): the published API's 32-bit maximum.
pub const MAX_TTL: i64 = 2_147_483_647;
/// Longest URL we store. The QR holds our short link, not this URL, so the cap only bounds
/// storage; payment deeplinks with embedded tokens run to a few hundred characters.
pub const MAX_URL_CHARS: usize = 4096;
/// `redirectUrl` and the one-time payment `url`: https only.
pub const TARGET_URL: UrlPolicy = UrlPolicy {
    max_chars: MAX_URL_CHARS,
    loopback_http: false,
};

/// `POST /qr/v1` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimePaymentRequest {
    pub url: String,
}

/// `POST /qr/v1/merchant-redirect` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRedirectRequest {
    pub id: String,
    pub redirect_url: String,
    /// Seconds to live; `None` = forever.
    pub ttl: Option<i64>,
}

/// `PUT /qr/v1/merchant-redirect/{id}` body (a repeated `id` in the body is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRedirectRequest {
    pub redirect_url: String,
}

/// `POST /qr/v1` answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OneTimePaymentResponse {
    pub url: String,
    pub expires_in: i64,
}

/// A merchant-redirect QR as every redirect call returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectResponse {
    pub id: String,
    pub url: String,
    pub redirect_url: String,
    /// Seconds until expiry; `-1` for a QR without `ttl`.
    pub expires_in: i64,
    /// The style stored with the QR (an extension); absent when it follows the default style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<Map<String, Value>>,
}

impl OneTimePaymentRequest {
    /// Whitespace around `url` is dropped first: the published example has leading spaces.
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut invalid = Vec::new();
        let url = required_string(body, "url", &mut invalid)
            .map(str::trim)
            .and_then(|u| checked_url("url", u, &mut invalid));
        match url {
            Some(url) if invalid.is_empty() => Ok(OneTimePaymentRequest { url }),
            _ => Err(ApiError::Invalid(invalid)),
        }
    }
}

impl CreateRedirectRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut invalid = Vec::new();
        let id = match required_string(body, "id", &mut invalid) {
            Some(id) => match validate_id(id) {
                Ok(()) => Some(id.to_owned()),
                Err(p) => {
                    invalid.push(p);
                    None
                }
            },
            None => None,
        };
        let redirect_url = https_url(body, "redirectUrl", &mut invalid);
        let ttl = ttl(body, &mut invalid);
        match (id, redirect_url, ttl) {
            (Some(id), Some(redirect_url), Some(ttl)) if invalid.is_empty() => {
                Ok(CreateRedirectRequest {
                    id,
                    redirect_url,
                    ttl,
                })
            }
            _ => Err(ApiError::Invalid(invalid)),
        }
    }
}

impl UpdateRedirectRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut invalid = Vec::new();
        match https_url(body, "redirectUrl", &mut invalid) {
            Some(redirect_url) if invalid.is_empty() => Ok(UpdateRedirectRequest { redirect_url }),
            _ => Err(ApiError::Invalid(invalid)),
        }
    }
}

/// The published id rule: `^[-_+%æøåÆØÅ\w\s]*$`, 1–128 characters, with `\w` and `\s` in the
/// Unicode sense of the provider's platform (.NET): `ü`, `é` and `日` are word characters.
pub fn validate_id(id: &str) -> Result<(), InvalidParam> {
    let chars = id.chars().count();
    if chars == 0 {
        return Err(InvalidParam::new("id", "must not be empty"));
    }
    if chars > MAX_ID_CHARS {
        return Err(InvalidParam::new(
            "id",
            format!("must be at most {MAX_ID_CHARS} characters (got {chars})"),
        ));
    }
    let allowed = |c: char| is_word_char(c) || c.is_whitespace() || "-+%".contains(c);
    if let Some(bad) = id.chars().find(|&c| !allowed(c)) {
        return Err(InvalidParam::new(
            "id",
            format!("may only contain letters, digits, whitespace and - _ + % (found {bad:?})"),
        ));
    }
    Ok(())
}

/// .NET's `\w`: letters, decimal digits, non-spacing marks and connector punctuation.
///
/// `char::is_alphanumeric` covers the letters and digits (with a few more numerals, which only
/// loosens the rule); the marks are the combining-diacritics blocks (how `é` looks when
/// decomposed); the connector punctuation is the ten characters of category Pc. `\s` is
/// `char::is_whitespace`, which is exactly .NET's `[\f\n\r\t\v\x85\p{Z}]`.
fn is_word_char(c: char) -> bool {
    const CONNECTORS: &str =
        "_\u{203F}\u{2040}\u{2054}\u{FE33}\u{FE34}\u{FE4D}\u{FE4E}\u{FE4F}\u{FF3F}";
    c.is_alphanumeric()
        || CONNECTORS.contains(c)
        || matches!(c,
            '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}')
}

fn required_string<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    invalid: &mut Vec<InvalidParam>,
) -> Option<&'a str> {
    match body.get(name) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            invalid.push(InvalidParam::new(name, "is required"));
            None
        }
        Some(_) => {
            invalid.push(InvalidParam::new(name, "must be a string"));
            None
        }
    }
}

fn https_url(
    body: &Map<String, Value>,
    name: &str,
    invalid: &mut Vec<InvalidParam>,
) -> Option<String> {
    let url = required_string(body, name, invalid)?;
    checked_url(name, url, invalid)
}

fn checked_url(name: &str, url: &str, invalid: &mut Vec<InvalidParam>) -> Option<String> {
    match url::check(url, TARGET_URL) {
        Ok(()) => Some(url.to_owned()),
        Err(reason) => {
            invalid.push(InvalidParam::new(name, reason));
            None
        }
    }
}

/// `Some(None)` when absent or null, `Some(Some(n))` when valid, `None` (and a reason) otherwise.
fn ttl(body: &Map<String, Value>, invalid: &mut Vec<InvalidParam>) -> Option<Option<i64>> {
    match body.get("ttl") {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => {
            match n.as_i64() {
                Some(t) if (MIN_TTL..=MAX_TTL).contains(&t) => Some(Some(t)),
                _ => {
                    invalid.push(InvalidParam::new(
                    "ttl",
                    format!("must be a whole number of seconds from {MIN_TTL} to {MAX_TTL}, or absent"),
                ));
                    None
                }
            }
        }
        Some(_) => {
            invalid.push(InvalidParam::new("ttl", "must be a number of seconds"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn invalid(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Invalid(p) => p.into_iter().map(|p| (p.name, p.reason)).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_create_request_parses() {
        let r = CreateRedirectRequest::from_json(&obj(json!({
            "id": "Kasse 1 æøå_+-%", "redirectUrl": "https://example.com/p?a=1&b=2", "ttl": 300
        })))
        .expect("valid");
        assert_eq!(r.id, "Kasse 1 æøå_+-%");
        assert_eq!(r.ttl, Some(300));
        let r = CreateRedirectRequest::from_json(&obj(json!({
            "id": "x", "redirectUrl": "https://my-shop.example", "ttl": null
        })))
        .expect("valid");
        assert_eq!(r.ttl, None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let err = CreateRedirectRequest::from_json(&obj(json!({
            "id": "", "redirectUrl": "http://example.com", "ttl": 299
        })))
        .expect_err("invalid");
        let names: Vec<_> = invalid(err).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["id", "redirectUrl", "ttl"]);
    }

    #[test]
    fn id_rules() {
        assert!(validate_id(&"a".repeat(128)).is_ok());
        assert!(
            validate_id(&"ø".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        for good in [
            "ü",
            "é",
            "e\u{301}",
            "日本",
            "Kasse 1\t2",
            "a\u{203F}b",
            "ÆØÅ+%-_",
        ] {
            assert!(validate_id(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            &"a".repeat(129),
            "a/b",
            "a.b",
            "a?b",
            "<script>",
            "😀",
            "a\u{0}",
        ] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_payment_url_is_trimmed_first() {
        let r = OneTimePaymentRequest::from_json(&obj(json!({
            "url": "   https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2 \n"
        })))
        .expect("valid once trimmed");
        assert_eq!(
            r.url,
            "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2"
        );
        let err = OneTimePaymentRequest::from_json(&obj(json!({"url": "   "}))).expect_err("blank");
        assert_eq!(invalid(err)[0].0, "url");
    }

    #[test]
    fn redirect_urls_follow_the_shared_policy() {
        let with = |url: &str| {
            CreateRedirectRequest::from_json(&obj(json!({"id": "a", "redirectUrl": url})))
        };
        assert!(with("https://example.com/(a);b,c~d").is_ok(), "looser");
        let err = with("https://bank.example:pw@evil.example/").expect_err("stricter");
        assert_eq!(invalid(err)[0].0, "redirectUrl");
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(with(&long).is_err());
    }

    #[test]
    fn ttl_rules() {
        for bad in [
            json!(299),
            json!(0),
            json!(-1),
            json!(300.5),
            json!("600"),
            json!(2_147_483_648_i64),
        ] {
            let err = CreateRedirectRequest::from_json(&obj(json!({
                "id": "a", "redirectUrl": "https://example.com", "ttl": bad
            })))
            .expect_err("invalid ttl");
            assert_eq!(invalid(err)[0].0, "ttl");
        }
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let err = CreateRedirectRequest::from_json(&obj(json!({"id": 5}))).expect_err("invalid");
        assert_eq!(
            invalid(err),
            [
                ("id".to_owned(), "must be a string".to_owned()),
                ("redirectUrl".to_owned(), "is required".to_owned())
            ]
        );
        let err = OneTimePaymentRequest::from_json(&obj(json!({}))).expect_err("invalid");
        assert_eq!(invalid(err)[0].0, "url");
        let err = UpdateRedirectRequest::from_json(&obj(json!({"redirectUrl": null})))
            .expect_err("invalid");
        assert_eq!(invalid(err)[0].0, "redirectUrl");
    }
}
