//! Scan analytics of one QR (an extension of the published API):
//! `GET /qr/v1/merchant-redirect/{id}/scans` and
//! `GET /qr/v1/merchant-callback/{merchantQrId}/scans`.
//!
//! Query: `from`, `to` (RFC 3339; default the last 7 whole days, today included), `interval`
//! (`hour` | `day`, default `day`). The range is widened to whole buckets and echoed as such.
//! `Accept: image/svg+xml` (or `image/*`) answers the chart ([`crate::analytics::chart`]);
//! anything else the JSON series. Only the caller's live QRs are found: another merchant's, or
//! a deleted one, is a `404`. Counts reach the store every `--scan-flush`, so a scan shows up
//! here within that window.

use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde::Serialize;

use super::auth;
use super::context::ApiState;
use super::{ApiError, InvalidParam, callback, redirect, request};
use crate::analytics::chart;
use crate::analytics::series::{Interval, MAX_BUCKETS, Series, format_rfc3339, parse_rfc3339};
use crate::http::{self as resp, Resp};
use crate::store::LinkKind;
use crate::store::scans::{DAY_MS, ScanCounts};

/// Days shown without `from`.
const DEFAULT_DAYS: i64 = 7;

/// `GET /qr/v1/merchant-redirect/{id}/scans`.
pub async fn of_redirect(
    state: &ApiState,
    headers: &HeaderMap,
    uri: &Uri,
    raw_id: &str,
) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    let id = redirect::path_id(raw_id)?;
    let query = Query::parse(uri, state.clock.now_ms())?;
    let link = state
        .store
        .merchant_link(&caller.msn, LinkKind::Redirect, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| redirect::not_found(&id))?;
    answer(state, headers, &id, &link.code, &query).await
}

/// `GET /qr/v1/merchant-callback/{merchantQrId}/scans`.
pub async fn of_callback(
    state: &ApiState,
    headers: &HeaderMap,
    uri: &Uri,
    raw_id: &str,
) -> Result<Resp, ApiError> {
    let caller = callback::callback_caller(state, headers).await?;
    let id = callback::qr_id(raw_id)?;
    let query = Query::parse(uri, state.clock.now_ms())?;
    let qr = state
        .store
        .callback_qr(&caller.msn, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| callback::not_found(&id))?;
    answer(state, headers, &id, &qr.link.code, &query).await
}

async fn answer(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
    code: &str,
    q: &Query,
) -> Result<Resp, ApiError> {
    let rows = state.store.scan_counts(code, q.from_ms, q.to_ms).await?;
    let series = Series::gather(&rows, q.from_ms, q.to_ms, q.interval);
    if wants_svg(headers) {
        return Ok(resp::body(
            StatusCode::OK,
            HeaderValue::from_static("image/svg+xml"),
            chart::svg(id, &series),
        ));
    }
    Ok(resp::json(StatusCode::OK, &ScansResponse::new(id, &series)))
}

/// Whether `Accept` asks for the chart: `image/svg+xml` or `image/*` named, without `q=0`.
fn wants_svg(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            !refused
                && (media.eq_ignore_ascii_case("image/svg+xml")
                    || media.eq_ignore_ascii_case("image/*"))
        })
}

/// The validated query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Query {
    from_ms: i64,
    to_ms: i64,
    interval: Interval,
}

impl Query {
    /// Reads `from`, `to` and `interval`; every problem is named in one `400`.
    fn parse(uri: &Uri, now_ms: i64) -> Result<Query, ApiError> {
        let (mut from, mut to, mut interval) = (None, None, None);
        for (name, value) in request::query_pairs(uri) {
            let slot = match name {
                "from" => &mut from,
                "to" => &mut to,
                "interval" => &mut interval,
                _ => continue,
            };
            *slot = Some(value);
        }
        let mut invalid = Vec::new();
        let interval = match interval.as_deref() {
            None => Interval::Day,
            Some(s) => Interval::parse(s).unwrap_or_else(|| {
                invalid.push(InvalidParam::new("interval", "must be hour or day"));
                Interval::Day
            }),
        };
        let mut time = |name: &str, value: Option<String>| {
            value.and_then(|s| {
                let t = parse_rfc3339(&s);
                if t.is_none() {
                    invalid.push(InvalidParam::new(
                        name,
                        "must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z",
                    ));
                }
                t
            })
        };
        let (from, to) = (time("from", from), time("to", to));
        if !invalid.is_empty() {
            return Err(ApiError::Invalid(invalid));
        }
        let to_ms = interval.ceil(to.unwrap_or_else(|| Interval::Day.ceil(now_ms + 1)));
        let from_ms = interval.floor(from.unwrap_or(to_ms - DEFAULT_DAYS * DAY_MS));
        if from_ms >= to_ms {
            return Err(ApiError::Invalid(vec![InvalidParam::new(
                "from",
                "must be before to",
            )]));
        }
        if (to_ms - from_ms) / interval.ms() > MAX_BUCKETS {
            return Err(ApiError::Invalid(vec![InvalidParam::new(
                "interval",
                format!(
                    "the range holds more than {MAX_BUCKETS} buckets of an {}; narrow from/to or use a longer interval",
                    interval.as_str()
                ),
            )]));
        }
        Ok(Query {
            from_ms,
            to_ms,
            interval,
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScansResponse<'a> {
    id: &'a str,
    from: String,
    to: String,
    interval: &'static str,
    total: Counts,
    buckets: Vec<Bucket>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Counts {
    scans: u64,
    unique_visitors: u64,
    bots: u64,
    platforms: Platforms,
}

#[derive(Debug, Serialize)]
struct Platforms {
    ios: u64,
    android: u64,
    other: u64,
}

#[derive(Debug, Serialize)]
struct Bucket {
    start: String,
    #[serde(flatten)]
    counts: Counts,
}

impl From<&ScanCounts> for Counts {
    fn from(c: &ScanCounts) -> Counts {
        Counts {
            scans: c.scans(),
            unique_visitors: c.visitors,
            bots: c.bots,
            platforms: Platforms {
                ios: c.ios,
                android: c.android,
                other: c.other,
            },
        }
    }
}

impl<'a> ScansResponse<'a> {
    fn new(id: &'a str, s: &Series) -> ScansResponse<'a> {
        ScansResponse {
            id,
            from: format_rfc3339(s.from_ms),
            to: format_rfc3339(s.to_ms),
            interval: s.interval.as_str(),
            total: Counts::from(&s.total),
            buckets: s
                .buckets
                .iter()
                .map(|(start, c)| Bucket {
                    start: format_rfc3339(*start),
                    counts: Counts::from(c),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Result<Query, Vec<String>> {
        let uri: Uri = format!("/x?{q}").parse().expect("uri");
        // 2026-12-06T23:50:00Z
        let now = parse_rfc3339("2026-12-06T23:50:00Z").expect("now");
        Query::parse(&uri, now).map_err(ApiError::invalid_names)
    }

    #[test]
    fn defaults_and_alignment() {
        let q = query("").expect("defaults");
        assert_eq!(format_rfc3339(q.from_ms), "2026-11-30T00:00:00Z");
        assert_eq!(format_rfc3339(q.to_ms), "2026-12-07T00:00:00Z");
        assert_eq!(q.interval, Interval::Day);
        let q = query("from=2026-12-01T10:30:00%2B01:00&to=2026-12-01T12:00:01Z&interval=hour")
            .expect("offsets");
        assert_eq!(format_rfc3339(q.from_ms), "2026-12-01T09:00:00Z");
        assert_eq!(format_rfc3339(q.to_ms), "2026-12-01T13:00:00Z");
    }

    #[test]
    fn bad_queries_name_the_field() {
        assert_eq!(query("from=yesterday"), Err(vec!["from".to_owned()]));
        assert_eq!(
            query("to=2026-13-01T00:00:00Z&interval=week"),
            Err(vec!["interval".to_owned(), "to".to_owned()])
        );
        assert_eq!(
            query("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"),
            Err(vec!["from".to_owned()])
        );
        assert_eq!(
            query("from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z"),
            Err(vec!["from".to_owned()])
        );
        // 10 000 hours pass, 10 001 do not.
        assert!(query("from=2026-01-01T00:00:00Z&to=2027-02-21T16:00:00Z&interval=hour").is_ok());
        assert_eq!(
            query("from=2026-01-01T00:00:00Z&to=2027-02-21T17:00:00Z&interval=hour"),
            Err(vec!["interval".to_owned()])
        );
    }

    #[test]
    fn accept_picks_the_chart() {
        let h = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(http::header::ACCEPT, HeaderValue::from_static(v));
            h
        };
        assert!(wants_svg(&h("image/svg+xml")));
        assert!(wants_svg(&h("text/html, image/*;q=0.5")));
        assert!(!wants_svg(&h("application/json")));
        assert!(!wants_svg(&h("image/svg+xml;q=0")));
        assert!(!wants_svg(&HeaderMap::new()));
    }
}
