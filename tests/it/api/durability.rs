//! Durability: the real binary, `kill -9` (SIGKILL) right after the last acknowledged write, and
//! a restart on the same data dir. Every QR the API acknowledged is there and its short link
//! works; the deleted one stays dead; tokens issued before the crash still work.

use crate::common;

use std::path::Path;

use common::api::{Api, add_merchant, list_merchants, path_of, send};
use http::Method;
use serde_json::json;

/// Base URL baked into QR contents, fixed so it survives the restart onto another port.
const PUBLIC_URL: &str = "http://qr.test";

/// The server under test: the real binary, QR contents under [`PUBLIC_URL`].
fn start(data_dir: &Path) -> common::ServeProcess {
    common::ServeProcess::start(data_dir, &["--public-url", PUBLIC_URL])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_qrs_survive_kill_9() {
    let data_dir = common::temp_dir("durability");
    let creds = add_merchant(&data_dir, "777001", "Durable AS");
    let server = start(&data_dir);
    // `merchant add` and `merchant list` also work while the server holds the store open.
    let late = add_merchant(&data_dir, "777002", "Late AS");
    let listed = list_merchants(&data_dir);
    let msns: Vec<&str> = listed
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|m| m["msn"].as_str().expect("msn"))
        .collect();
    assert_eq!(msns, ["777001", "777002"]);
    assert_eq!(listed[1]["client_ids"][0], late.client_id.as_str());
    let api = Api::login(&server.base(), &creds).await;
    let late_api = Api::login(&server.base(), &late).await;

    let mut redirects = Vec::new();
    for i in 0..20 {
        let id = format!("qr {i}");
        let target = format!("https://example.com/{i}");
        let r = api.redirect_to("text/targetUrl", &id, &target).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        redirects.push((
            id,
            target,
            r.json()["url"].as_str().expect("url").to_owned(),
        ));
    }
    let r = late_api
        .redirect_to("text/targetUrl", "late", "https://late.example/")
        .await;
    assert_eq!(r.status, 200);
    let late_link = r.json()["url"].as_str().expect("url").to_owned();

    let pay = api
        .call(
            Method::POST,
            "/qr/v1",
            Some("text/targetUrl"),
            Some(json!({"url": "https://pay.example/x"})),
            &[],
        )
        .await;
    assert_eq!(pay.status, 200);
    let pay_link = pay.json()["url"].as_str().expect("url").to_owned();

    // The last writes before the crash: an update and a delete.
    let put = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-redirect/qr%200",
            None,
            Some(json!({"redirectUrl": "https://example.com/moved"})),
            &[],
        )
        .await;
    assert_eq!(put.status, 200);
    redirects[0].1 = "https://example.com/moved".to_owned();
    let del = api
        .bare(Method::DELETE, "/qr/v1/merchant-redirect/qr%2019")
        .await;
    assert_eq!(del.status, 200);
    let (_, _, deleted_link) = redirects.pop().expect("20 QRs");

    server.kill_9();
    let server = start(&data_dir);
    let base = server.base();
    let api = Api {
        base: base.clone(),
        ..api
    };

    for (id, target, link) in &redirects {
        // The host goes upper case in short links (`--short-link-case host`); DNS ignores case.
        assert!(
            link.to_ascii_lowercase()
                .starts_with(&PUBLIC_URL.to_ascii_lowercase()),
            "{link}"
        );
        let scan = common::get(&format!("{base}{}", path_of(link))).await;
        assert_eq!(scan.status, 302, "{id} survives");
        assert_eq!(
            scan.header("location"),
            target,
            "{id} keeps its latest target"
        );
        let path = format!("/qr/v1/merchant-redirect/{}", id.replace(' ', "%20"));
        let one = api
            .call(Method::GET, &path, Some("text/targetUrl"), None, &[])
            .await;
        assert_eq!(
            one.status, 200,
            "{id} is listed after the restart (token still valid)"
        );
        assert_eq!(one.json()["url"], link.as_str(), "same short link");
    }
    let scan = common::get(&format!("{base}{}", path_of(&late_link))).await;
    assert_eq!(
        scan.header("location"),
        "https://late.example/",
        "written while the CLI ran"
    );
    let scan = common::get(&format!("{base}{}", path_of(&pay_link))).await;
    assert_eq!(
        scan.header("location"),
        "https://pay.example/x",
        "the payment QR survives"
    );
    let scan = common::get(&format!("{base}{}", path_of(&deleted_link))).await;
    assert_eq!(scan.status, 404, "the deleted QR stays deleted");

    let all = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            Some("text/targetUrl"),
            None,
            &[],
        )
        .await;
    assert_eq!(all.json().as_array().map(Vec::len), Some(19));
    let again = send(Method::GET, &format!("{base}/healthz"), &[], None).await;
    assert_eq!(again.status, 200);

    server.kill_9();
    let _ = std::fs::remove_dir_all(&data_dir);
}
