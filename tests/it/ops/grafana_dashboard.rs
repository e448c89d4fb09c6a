//! `deploy/grafana-dashboard.json` queries only what the server exports: every metric name in
//! the dashboard's PromQL (panel expressions and template-variable queries) is a sample name
//! in a real server's `/metrics`, after the requests that make each labelled family appear (an
//! image miss and hit, a refused token), and a fresh server already exports every labelled
//! series the dashboard groups by, at 0. A renamed metric fails here, not on an operator's
//! empty graph.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/grafana-dashboard.json"
));

/// Every `qr_origin_*` identifier in a PromQL expression.
fn metric_names(expr: &str) -> impl Iterator<Item = &str> {
    expr.match_indices("qr_origin_").map(move |(i, _)| {
        let end = expr[i..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |n| i + n);
        &expr[i..end]
    })
}

/// Every string under a key named `expr`, or under `query` (template variables), anywhere.
fn queries<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr" | "query" | "definition", Value::String(s)) => out.push(s),
                    _ => queries(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

/// The server's `/metrics` text.
async fn scrape(srv: &TestServer) -> String {
    let metrics = get(&srv.url("/metrics")).await;
    assert_eq!(metrics.status, 200);
    String::from_utf8(metrics.body.to_vec()).expect("UTF-8")
}

/// The sample lines of a scrape (no comments, no blank lines).
fn samples(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

#[test]
fn the_dashboard_covers_what_operators_watch() {
    let dash: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    queries(&dash, &mut exprs);
    let names: BTreeSet<&str> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    for wanted in [
        "qr_origin_http_requests_total",
        "qr_origin_http_request_duration_seconds_bucket",
        "qr_origin_cache_hits_total",
        "qr_origin_cache_misses_total",
        "qr_origin_cache_bytes",
        "qr_origin_render_duration_seconds_bucket",
        "qr_origin_token_rejections_total",
        "qr_origin_webhook_queue_depth",
    ] {
        assert!(
            names.contains(wanted),
            "the dashboard does not query {wanted}"
        );
    }
    // Grafana needs unique panel ids, and every panel a data source.
    let panels = dash["panels"].as_array().expect("panels");
    let ids: BTreeSet<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported() {
    let srv = start().await;
    let claims =
        serde_json::json!({"format": "image/png", "size": 200, "url": "https://example.com/g"});
    let image = srv.url(&image_path(&jwt(&claims, Some(KID), SECRET)));
    assert_eq!(get(&image).await.header("x-cache"), "MISS");
    assert_eq!(get(&image).await.header("x-cache"), "HIT");
    let forged = srv.url(&image_path(&jwt(
        &claims,
        Some(KID),
        "another-secret-of-32-bytes-or-more!",
    )));
    assert_eq!(get(&forged).await.status, 403);

    let text = scrape(&srv).await;
    let exported: BTreeSet<&str> = samples(&text)
        .into_iter()
        .map(|l| l.split(['{', ' ']).next().expect("a sample name"))
        .collect();

    let dash: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    queries(&dash, &mut exprs);
    let queried: BTreeSet<&str> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(queried.len() >= 15, "{queried:?}");
    let missing: Vec<&&str> = queried.iter().filter(|n| !exported.contains(**n)).collect();
    assert!(
        missing.is_empty(),
        "queried by the dashboard, not exported: {missing:?}\nexported: {exported:?}"
    );
    srv.stop().await;
}

/// The labels a `sum by (…)` in `expr` groups by (`le` aside: histogram buckets carry it).
fn grouped_by(expr: &str) -> Vec<&str> {
    expr.match_indices("by (")
        .filter_map(|(i, _)| {
            let rest = &expr[i + 4..];
            rest.find(')').map(|end| &rest[..end])
        })
        .flat_map(|list| list.split(',').map(str::trim))
        .filter(|l| *l != "le")
        .collect()
}

#[tokio::test]
async fn a_fresh_server_exports_every_queried_series_at_zero() {
    let srv = start().await;
    // The first request this server answers: nothing has been rendered, refused or delivered.
    let text = scrape(&srv).await;
    let samples = samples(&text);

    let dash: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    queries(&dash, &mut exprs);
    let mut checked = 0;
    for expr in &exprs {
        for name in metric_names(expr) {
            let series: Vec<&&str> = samples
                .iter()
                .filter(|l| l.split(['{', ' ']).next() == Some(name))
                .collect();
            assert!(
                !series.is_empty(),
                "{name} ({expr}) is not exported at start-up"
            );
            for label in grouped_by(expr) {
                if label == "instance" {
                    continue; // added by Prometheus when it scrapes
                }
                let carried = series.iter().any(|l| l.contains(&format!("{label}=\"")));
                assert!(
                    carried,
                    "no {name} series with `{label}` at start-up ({expr})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "the dashboard groups by labels: {checked}");
    for reason in qr_origin::token::TokenError::REJECTION_REASONS {
        let zero = format!("qr_origin_token_rejections_total{{reason=\"{reason}\"}} 0");
        assert!(samples.contains(&zero.as_str()), "{zero}\n{text}");
    }
    for route in qr_origin::router::labels() {
        let count = format!("qr_origin_http_requests_total{{route=\"{route}\",");
        assert!(
            samples.iter().any(|l| l.starts_with(&count)),
            "{route} has no request count"
        );
        let latency =
            format!("qr_origin_http_request_duration_seconds_count{{route=\"{route}\"}} 0");
        assert!(samples.contains(&latency.as_str()), "{latency}");
    }
    srv.stop().await;
}
