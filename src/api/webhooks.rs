//! The Webhooks API: `POST /webhooks/v1/webhooks` `{url, events}` → `201 {id, secret}`,
//! `GET /webhooks/v1/webhooks` → `{webhooks:[{id, url, events}]}`,
//! `DELETE /webhooks/v1/webhooks/{id}` → `204`. Same auth and problem documents as the QR API.
//!
//! The secret is the HMAC key every delivery is signed with ([`crate::webhooks::sign`]); it is
//! shown once, here, and never listed again.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth;
use super::context::ApiState;
use super::error::{ApiError, InvalidParam};
use super::request;
use super::request::ApiBody;
use super::url::{self, UrlPolicy};
use crate::http::{self as resp, Resp};
use crate::secret;
use crate::store::{Conflict, NewWebhook, StoreError, Webhook};
use crate::webhooks::KNOWN_EVENTS;

/// Longest webhook URL accepted.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;

/// `POST` body, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateWebhookRequest {
    pub url: String,
    /// Known event types, without duplicates, in the order sent.
    pub events: Vec<String>,
}

/// `201` answer of `POST`.
#[derive(Debug, Serialize)]
pub struct CreatedWebhook {
    pub id: String,
    pub secret: String,
}

/// One entry of the `GET` answer.
#[derive(Debug, Serialize)]
pub struct WebhookEntry {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
}

/// The `GET` answer.
#[derive(Debug, Serialize)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookEntry>,
}

impl From<Webhook> for WebhookEntry {
    fn from(w: Webhook) -> Self {
        WebhookEntry {
            id: w.id,
            url: w.url,
            events: w.events,
        }
    }
}

impl CreateWebhookRequest {
    /// Checks `url` (https; plain http only to a loopback host and only when
    /// `allow_insecure`) and `events` (a non-empty array of known event names, no repeats).
    pub fn from_json(body: &Map<String, Value>, allow_insecure: bool) -> Result<Self, ApiError> {
        let mut invalid = Vec::new();
        let url = match body.get("url") {
            None | Some(Value::Null) => {
                invalid.push(InvalidParam::new("url", "is required"));
                None
            }
            Some(Value::String(u)) => match validate_url(u, allow_insecure) {
                Ok(()) => Some(u.clone()),
                Err(reason) => {
                    invalid.push(InvalidParam::new("url", reason));
                    None
                }
            },
            Some(_) => {
                invalid.push(InvalidParam::new("url", "must be a string"));
                None
            }
        };
        let events = match events(body.get("events")) {
            Ok(e) => Some(e),
            Err(reason) => {
                invalid.push(InvalidParam::new("events", reason));
                None
            }
        };
        match (url, events) {
            (Some(url), Some(events)) if invalid.is_empty() => {
                Ok(CreateWebhookRequest { url, events })
            }
            _ => Err(ApiError::Invalid(invalid)),
        }
    }
}

fn events(v: Option<&Value>) -> Result<Vec<String>, String> {
    let list = match v {
        None | Some(Value::Null) => return Err("is required".to_owned()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("must be an array of event names".to_owned()),
    };
    if list.is_empty() {
        return Err(format!(
            "must name at least one event (known: {})",
            KNOWN_EVENTS.join(", ")
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for e in list {
        let Value::String(name) = e else {
            return Err("must contain only strings".to_owned());
        };
        if !KNOWN_EVENTS.contains(&name.as_str()) {
            return Err(format!(
                "unknown event {name:?} (known: {})",
                KNOWN_EVENTS.join(", ")
            ));
        }
        if out.contains(name) {
            return Err(format!("lists {name:?} more than once"));
        }
        out.push(name.clone());
    }
    Ok(out)
}

/// https with a host; or, when `allow_insecure`, http to a loopback host (`localhost`,
/// `127.0.0.0/8`, `[::1]`) for local development and tests. The API's one URL policy
/// ([`url::check`]): no credentials in the URL, which would end up in logs and the signed Host.
pub fn validate_url(url: &str, allow_insecure: bool) -> Result<(), String> {
    url::check(
        url,
        UrlPolicy {
            max_chars: MAX_WEBHOOK_URL_CHARS,
            loopback_http: allow_insecure,
        },
    )
}

/// A fresh signing secret: 64 random bytes, base64 (the shape of published secrets).
fn new_secret() -> Result<String, ApiError> {
    let a = secret::random_bytes::<32>()?;
    let b = secret::random_bytes::<32>()?;
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&a);
    bytes[32..].copy_from_slice(&b);
    Ok(STANDARD.encode(bytes))
}

/// `POST /webhooks/v1/webhooks`.
pub async fn create<B>(state: &ApiState, headers: &HeaderMap, body: B) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let caller = auth::caller(state, headers).await?;
    let req = CreateWebhookRequest::from_json(
        &request::json_object(headers, body).await?,
        state.config.allow_insecure_webhooks,
    )?;
    let limit = state.config.max_webhooks_per_event;
    let mut new = NewWebhook {
        id: String::new(),
        msn: caller.msn,
        url: req.url,
        secret: new_secret()?,
        events: req.events,
        created_at_ms: state.clock.now_ms(),
    };
    for _ in 0..4 {
        new.id = uuid::Uuid::new_v4().to_string();
        match state.store.add_webhook(&new, limit).await {
            Ok(w) => {
                let answer = CreatedWebhook {
                    id: w.id,
                    secret: new.secret,
                };
                return Ok(resp::json(StatusCode::CREATED, &answer));
            }
            Err(StoreError::Conflict(Conflict::WebhookId)) => continue,
            Err(StoreError::Conflict(Conflict::WebhookLimit)) => {
                return Err(ApiError::Invalid(vec![InvalidParam::new(
                    "events",
                    format!("at most {limit} webhooks per event per merchant; delete one first"),
                )]));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Backend("no unused webhook id in 4 draws".into()).into())
}

/// `GET /webhooks/v1/webhooks`.
pub async fn list(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let hooks = state.store.webhooks(&caller.msn).await?;
    let answer = WebhookList {
        webhooks: hooks.into_iter().map(WebhookEntry::from).collect(),
    };
    Ok(resp::json(StatusCode::OK, &answer))
}

/// `DELETE /webhooks/v1/webhooks/{id}`: no delivery to it is attempted after this returns
/// (one already on the wire may still land).
pub async fn delete(state: &ApiState, headers: &HeaderMap, raw_id: &str) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let id = request::decode_path_segment(raw_id).unwrap_or_default();
    state
        .store
        .delete_webhook(&caller.msn, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook with id {id:?}")))?;
    Ok(resp::status_only(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::CHECKED_IN_V1 as DEFAULT_EVENT;
    use serde_json::json;

    fn parse(v: Value, insecure: bool) -> Result<CreateWebhookRequest, ApiError> {
        match v {
            Value::Object(m) => CreateWebhookRequest::from_json(&m, insecure),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn https_urls_and_known_events_are_accepted() {
        let r = parse(
            json!({"url": "https://hooks.example.com/qr?x=1", "events": ["user.checked-in.v1"]}),
            false,
        )
        .expect("valid");
        assert_eq!(r.events, ["user.checked-in.v1"]);
    }

    #[test]
    fn http_only_to_loopback_and_only_when_allowed() {
        let body = |url: &str| json!({"url": url, "events": [DEFAULT_EVENT]});
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost:8080/",
            "http://[::1]:1/x",
            "http://127.1.2.3/",
        ] {
            assert!(parse(body(url), true).is_ok(), "{url} with the flag");
            assert_eq!(
                parse(body(url), false).expect_err(url).invalid_names(),
                ["url"]
            );
        }
        for url in [
            "http://example.com/hook",
            "http://10.0.0.1/",
            "http://127.0.0.1.nip.io/",
        ] {
            assert_eq!(
                parse(body(url), true).expect_err(url).invalid_names(),
                ["url"],
                "{url}"
            );
        }
    }

    #[test]
    fn bad_urls_are_named() {
        for url in [
            json!(null),
            json!(5),
            json!("ftp://example.com"),
            json!("example.com"),
            json!("https://"),
            json!("https://user:pw@example.com/"),
            json!("https://exa mple.com/"),
            json!(format!(
                "https://example.com/{}",
                "a".repeat(MAX_WEBHOOK_URL_CHARS)
            )),
        ] {
            let err =
                parse(json!({"url": url, "events": [DEFAULT_EVENT]}), true).expect_err("invalid");
            assert_eq!(err.invalid_names(), ["url"], "{url}");
        }
    }

    #[test]
    fn events_must_be_known_distinct_strings() {
        for events in [
            json!(null),
            json!("user.checked-in.v1"),
            json!([]),
            json!([1]),
            json!(["user.checked-in.v2"]),
            json!([DEFAULT_EVENT, DEFAULT_EVENT]),
        ] {
            let err = parse(json!({"url": "https://x.example", "events": events}), false)
                .expect_err("invalid");
            assert_eq!(err.invalid_names(), ["events"], "{events}");
        }
        let err = parse(json!({}), false).expect_err("both missing");
        assert_eq!(err.invalid_names(), ["url", "events"]);
    }

    #[test]
    fn secrets_are_64_random_bytes_in_base64() {
        let (a, b) = (new_secret().expect("rng"), new_secret().expect("rng"));
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a).expect("base64").len(), 64);
    }
}
