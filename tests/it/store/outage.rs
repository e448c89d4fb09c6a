//! The database goes away under a running instance and comes back: the QR API answers `503`
//! with `Retry-After` and a clear body, `/readyz` turns `503`, the image origin keeps serving
//! images (they never need the database), and everything recovers without a restart.
//!
//! The outage is real: a throwaway PostgreSQL cluster of this test's own
//! (`qr_origin::store::testing::cluster`) is stopped and started again. The server other tests
//! use is never touched.

use crate::common;

use std::time::{Duration, Instant};

use common::api::{Api, add_merchant_on, path_of};
use common::{KID, SECRET, ServeProcess, get, image_path, jwt, temp_dir};
use qr_origin::store::testing::TestDatabase;
use qr_origin::store::testing::cluster::Cluster;
use serde_json::json;

/// Polls until `GET url` answers `status` (a hang guard of 30 s, not a timing assertion).
async fn until_status(url: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if get(url).await.status == status {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never answered {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_503_images_keep_serving_and_it_recovers() {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    let db = TestDatabase::create_on(&cluster.url()).await;
    let dir = temp_dir("outage");
    let server = ServeProcess::start(&dir, &["--database-url", &db.url, "--ops-listen", "off"]);
    let base = server.base();
    let creds = add_merchant_on(&db.url, "830001", "Outage AS");
    let api = Api::login(&base, &creds).await;
    let made = api
        .redirect_to("text/targetUrl", "sign", "https://shop.example/a")
        .await;
    assert!(
        made.status.as_u16() < 300,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    let link = path_of(made.json()["url"].as_str().expect("url"));
    let image = |content: &str| {
        let token = jwt(
            &json!({"format": "image/png", "size": "300", "url": content}),
            Some(KID),
            SECRET,
        );
        format!("{base}{}", image_path(&token))
    };
    assert_eq!(get(&format!("{base}/readyz")).await.status, 200);

    cluster.stop();
    until_status(&format!("{base}/readyz"), 503).await;
    let down = api
        .redirect_to("text/targetUrl", "during", "https://shop.example/b")
        .await;
    assert_eq!(down.status, 503, "{}", String::from_utf8_lossy(&down.body));
    assert!(!down.header("retry-after").is_empty(), "Retry-After set");
    let detail = down.json()["detail"].as_str().expect("detail").to_owned();
    assert!(detail.contains("database"), "a clear body: {detail}");
    // Images never need the database: a new one renders, an earlier one is a cache hit.
    let png = get(&image("https://shop.example/during-the-outage")).await;
    assert_eq!(png.status, 200);
    assert_eq!(
        common::decode_png(&png.body),
        "https://shop.example/during-the-outage"
    );
    // A short link this instance already knows keeps redirecting from its cache.
    let cached = get(&format!("{base}{link}")).await;
    assert_eq!(cached.status, 302);

    cluster.start();
    until_status(&format!("{base}/readyz"), 200).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let again = loop {
        let r = api
            .redirect_to("text/targetUrl", "after", "https://shop.example/c")
            .await;
        if r.status != 503 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        again.status.as_u16() < 300,
        "recovered without a restart: {} {}",
        again.status,
        String::from_utf8_lossy(&again.body)
    );
    drop(server);
    drop(db);
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
}
