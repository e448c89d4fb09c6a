//! `openapi.yaml` describes exactly the routes the server has: every row of the router's table
//! is documented, nothing undocumented is served, and the live server refuses (405) every method
//! the document does not list for a path.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::api::send;
use http::Method;
use qr_origin::router::{self, PATHS};
use serde_norway::Value;

const METHODS: [&str; 7] = ["get", "head", "post", "put", "delete", "patch", "options"];

/// `path → {methods}` as `openapi.yaml` documents them.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml is in the repository root");
    let doc: Value = serde_norway::from_str(&text).expect("openapi.yaml is valid YAML");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document"
    );
    let paths = doc["paths"].as_mapping().expect("a paths map");
    paths
        .iter()
        .map(|(path, item)| {
            let path = path.as_str().expect("path keys are strings").to_owned();
            let item = item.as_mapping().expect("a path item");
            let methods = item
                .keys()
                .filter_map(|k| k.as_str())
                .filter(|k| METHODS.contains(k))
                .map(str::to_owned)
                .collect();
            (path, methods)
        })
        .collect()
}

/// `path → {methods}` as the router's table has them.
fn served() -> BTreeMap<String, BTreeSet<String>> {
    PATHS
        .iter()
        .map(|spec| {
            let methods = spec
                .methods
                .iter()
                .map(|(m, _)| m.as_str().to_ascii_lowercase())
                .collect();
            (spec.template.to_owned(), methods)
        })
        .collect()
}

fn example(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "AbCdEfGh12" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_served_route_is_documented_and_nothing_else() {
    let (doc, table) = (documented(), served());
    for (path, methods) in &table {
        let Some(doc_methods) = doc.get(path) else {
            panic!("{path} is served but not in openapi.yaml");
        };
        assert_eq!(doc_methods, methods, "methods of {path}");
    }
    for path in doc.keys() {
        assert!(
            table.contains_key(path),
            "{path} is documented but not served"
        );
    }
}

#[test]
fn the_table_is_what_the_router_matches() {
    for (path, methods) in served() {
        for m in methods {
            let method: Method = m.to_ascii_uppercase().parse().expect("method");
            assert!(
                router::recognize(&method, &example(&path)).is_ok(),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn undocumented_methods_are_refused_by_the_live_server() {
    let srv = common::start().await;
    for (path, methods) in documented() {
        for m in METHODS.iter().filter(|m| !methods.contains(**m)) {
            let method: Method = m.to_ascii_uppercase().parse().expect("method");
            let r = send(method.clone(), &srv.url(&example(&path)), &[], None).await;
            assert_eq!(
                r.status, 405,
                "{method} {path} is not documented, so not served"
            );
            assert!(
                !r.header("allow").is_empty(),
                "{method} {path}: Allow header"
            );
        }
    }
    let r = send(Method::GET, &srv.url("/not/a/route"), &[], None).await;
    assert_eq!(r.status, 404);
}
