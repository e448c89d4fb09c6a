//! The QR API's errors and the one place they become HTTP responses.
//!
//! Bodies are RFC 7807 problem documents in the published shape
//! `{type, title, detail, instance, invalidParams:[{name, reason}]}`; `instance` is the request's
//! id when the access log is on ([`Instance`], the same id as its access-log line), else a fresh
//! UUID per failed request (logged with storage failures), so a merchant's support ticket can be
//! matched to the log.
//! They are sent as `Content-Type: application/json`, as published (not RFC 7807's
//! `application/problem+json`, which clients that check the published type refuse).

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::http::{self as resp, Resp};

use crate::logo::LogoError;
use crate::secret::RandomError;
use crate::store::StoreError;

/// One field that failed validation, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}

impl InvalidParam {
    pub fn new(name: &str, reason: impl Into<String>) -> InvalidParam {
        InvalidParam {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The `instance` of this request's problem documents, set by the server as a request extension
/// when the access log is on: the request id its access-log line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance(pub String);

/// Everything a QR API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong credentials or token. Deliberately says nothing about which.
    #[error("unauthorized")]
    Unauthorized,
    /// Valid token, but for another merchant than the `Merchant-Serial-Number` header names.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// One or more inputs (body fields or headers) are invalid.
    #[error("invalid input")]
    Invalid(Vec<InvalidParam>),
    /// No such QR for this merchant.
    #[error("not found: {0}")]
    NotFound(String),
    /// The merchant already has a live QR with this id.
    #[error("duplicate id {0}")]
    DuplicateId(String),
    /// The id is taken in a way the merchant cannot undo (a beacon another merchant holds);
    /// `name` is the parameter that carried it.
    #[error("{detail}")]
    Taken {
        name: &'static str,
        id: String,
        detail: String,
    },
    /// A published endpoint this service cannot offer (it has no wallet user accounts).
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    /// The body is not JSON (by `Content-Type`).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is larger than the cap.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The whole body did not arrive within `--body-read-timeout`.
    #[error("request body timed out")]
    BodyTimeout,
    /// An uploaded logo is refused (400, 413 or 415, as [`LogoError::status`] says).
    #[error(transparent)]
    Logo(#[from] LogoError),
    /// Storage failed; logged, shown as a bare 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The OS random source failed; logged, shown as a bare 500.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// The problem document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    instance: &'a str,
    invalid_params: Vec<InvalidParam>,
    /// The duplicate id, for 409 (clients of the published API read `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

/// A problem document for a failure below the API's handlers (the HTTP layer refused the
/// request head), in the same shape as every [`ApiError`] answer.
pub fn problem_body(status: StatusCode, detail: &str) -> Vec<u8> {
    let instance = uuid::Uuid::new_v4().to_string();
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail: detail.to_owned(),
        instance: &instance,
        invalid_params: Vec::new(),
        id: None,
    };
    serde_json::to_vec(&problem).expect("a problem document always serialises")
}

impl ApiError {
    /// The parameter names of an [`ApiError::Invalid`], in order; what the handlers' unit tests
    /// compare (they panic on any other error).
    #[cfg(test)]
    pub(crate) fn invalid_names(self) -> Vec<String> {
        match self {
            ApiError::Invalid(p) => p.into_iter().map(|p| p.name).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::DuplicateId(_) | ApiError::Taken { .. } => StatusCode::CONFLICT,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Logo(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Store(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) | ApiError::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Renders the problem response with a fresh `instance`. The single mapping from API errors
    /// to HTTP.
    pub fn into_response(self) -> Resp {
        self.into_response_for(None)
    }

    /// [`ApiError::into_response`] with the request's [`Instance`] when it has one.
    pub fn into_response_for(self, instance: Option<&Instance>) -> Resp {
        let status = self.status();
        let instance = match instance {
            Some(Instance(id)) => id.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let (detail, invalid_params, id) = match self {
            ApiError::Unauthorized => (
                "missing or invalid credentials or access token".to_owned(),
                Vec::new(),
                None,
            ),
            ApiError::Forbidden(why) => (why.to_owned(), Vec::new(), None),
            ApiError::Invalid(params) => {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                (format!("invalid input: {}", names.join(", ")), params, None)
            }
            ApiError::NotFound(what) => (what, Vec::new(), None),
            ApiError::DuplicateId(id) => (
                format!("a QR with id {id:?} already exists"),
                vec![InvalidParam::new(
                    "id",
                    "already in use by another QR of yours",
                )],
                Some(id),
            ),
            ApiError::Taken { name, id, detail } => (
                detail.clone(),
                vec![InvalidParam::new(name, detail)],
                Some(id),
            ),
            ApiError::NotImplemented(why) => (why.to_owned(), Vec::new(), None),
            ApiError::UnsupportedMediaType => (
                "the request body must be JSON (Content-Type: application/json)".to_owned(),
                Vec::new(),
                None,
            ),
            ApiError::TooLarge(cap) => (
                format!("the request body is larger than {cap} bytes"),
                Vec::new(),
                None,
            ),
            ApiError::BodyTimeout => (
                "the request body did not arrive in time; send it at once after the head"
                    .to_owned(),
                Vec::new(),
                None,
            ),
            ApiError::Logo(e) => {
                let detail = e.to_string();
                (
                    detail.clone(),
                    vec![InvalidParam::new("body", detail)],
                    None,
                )
            }
            ApiError::Store(ref e) if e.is_retryable() => {
                tracing::warn!(%instance, error = %e, "QR API storage unavailable");
                (
                    "the database is temporarily unavailable; try again shortly".to_owned(),
                    Vec::new(),
                    None,
                )
            }
            ApiError::Store(ref e) => {
                tracing::error!(%instance, error = %e, "QR API storage failure");
                ("internal error".to_owned(), Vec::new(), None)
            }
            ApiError::Random(ref e) => {
                tracing::error!(%instance, error = %e, "QR API random source failure");
                ("internal error".to_owned(), Vec::new(), None)
            }
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            instance: &instance,
            invalid_params,
            id,
        };
        let mut res = resp::json(status, &problem);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(crate::store::RETRY_AFTER_SECS),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(res: Resp) -> serde_json::Value {
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("full body")
            .to_bytes();
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn invalid_input_lists_every_field() {
        let err = ApiError::Invalid(vec![
            InvalidParam::new("id", "too long"),
            InvalidParam::new("ttl", "too small"),
        ]);
        let res = err.into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let v = body_json(res).await;
        assert_eq!(v["title"], "Bad Request");
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["invalidParams"][0]["name"], "id");
        assert_eq!(v["invalidParams"][1]["reason"], "too small");
        assert!(uuid::Uuid::parse_str(v["instance"].as_str().expect("string")).is_ok());
    }

    #[tokio::test]
    async fn storage_failures_do_not_leak_details() {
        let res = ApiError::Store(StoreError::Backend("disk I/O error at /secret/path".into()))
            .into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let v = body_json(res).await;
        assert_eq!(v["detail"], "internal error");
        assert!(!v.to_string().contains("/secret/path"));
    }

    #[tokio::test]
    async fn an_unreachable_database_is_503_with_retry_after() {
        let res =
            ApiError::Store(StoreError::Unavailable("connection refused".into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let v = body_json(res).await;
        assert!(
            v["detail"]
                .as_str()
                .expect("detail")
                .contains("temporarily")
        );
        assert!(!v.to_string().contains("refused"));
    }

    #[tokio::test]
    async fn duplicates_name_the_id() {
        let res = ApiError::DuplicateId("billboard_1".into()).into_response();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let v = body_json(res).await;
        assert_eq!(v["id"], "billboard_1");
        assert_eq!(v["invalidParams"][0]["name"], "id");
    }
}
