//! The flush's durability with real `qr-origin serve` processes: SIGTERM flushes everything,
//! `kill -9` loses exactly the scans since the last flush (one window at most), and two
//! instances on one PostgreSQL add up, sharing the day's visitor key.

use crate::common;

use std::time::{Duration, Instant};

use common::ServeProcess;
use common::api::{Api, add_merchant, add_merchant_on, path_of};
use http::Method;
use qr_origin::store::testing::TestDatabase;
use serde_json::{Value, json};

use super::{ANDROID, IPHONE};

/// Far above a flush window of 100 ms on a loaded 2-core machine; the measured time is printed.
const VISIBLE_BOUND: Duration = Duration::from_secs(10);

async fn scan_n(base: &str, path: &str, ua: &str, n: usize) {
    for _ in 0..n {
        let r = common::get_with(&format!("{base}{path}"), &[("user-agent", ua)]).await;
        assert_eq!(r.status, 302);
    }
}

async fn total(api: &Api) -> Value {
    let r = api
        .bare(Method::GET, "/qr/v1/merchant-redirect/door/scans")
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["total"].clone()
}

/// Polls until the total shows `scans`; returns how long that took.
async fn until_scans(api: &Api, scans: u64) -> Duration {
    let start = Instant::now();
    loop {
        if total(api).await["scans"] == scans {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < VISIBLE_BOUND,
            "{scans} scans not visible after {VISIBLE_BOUND:?}: {}",
            total(api).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sigterm(mut p: ServeProcess) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "SIGTERM delivered");
    assert!(p.child.wait().expect("reaped").success(), "clean exit");
}

async fn create_door(api: &Api) -> String {
    let r = api
        .redirect_to("text/targetUrl", "door", "https://example.com/door")
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    path_of(r.json()["url"].as_str().expect("url"))
}

#[tokio::test]
async fn sigterm_flushes_everything_and_kill_9_loses_one_window() {
    let dir = common::temp_dir("scans-durability");
    let creds = add_merchant(&dir, "123456", "Acme AS");
    // A window longer than the test: only the shutdown flush can write.
    let long = [
        "--ops-listen",
        "off",
        "--shutdown-delay",
        "0s",
        "--scan-flush",
        "1h",
    ];

    let p = ServeProcess::start(&dir, &long);
    let api = Api::login(&p.base(), &creds).await;
    let short = create_door(&api).await;
    scan_n(&p.base(), &short, IPHONE, 5).await;
    assert_eq!(total(&api).await["scans"], 0, "not flushed yet");
    sigterm(p);

    let p = ServeProcess::start(&dir, &long);
    let api = Api::login(&p.base(), &creds).await;
    assert_eq!(total(&api).await["scans"], 5, "SIGTERM flushed every scan");
    // kill -9 within the window: exactly the window's scans are lost, nothing before it.
    scan_n(&p.base(), &short, ANDROID, 4).await;
    p.kill_9();

    let p = ServeProcess::start(&dir, &["--ops-listen", "off", "--scan-flush", "100ms"]);
    let api = Api::login(&p.base(), &creds).await;
    assert_eq!(
        total(&api).await["scans"],
        5,
        "kill -9 lost the 4 unflushed scans only"
    );
    // With a 100 ms window, scans reach the store within about a window.
    scan_n(&p.base(), &short, ANDROID, 3).await;
    let took = until_scans(&api, 8).await;
    eprintln!("scans visible through the API {took:?} after the last one (--scan-flush 100ms)");
    let t = total(&api).await;
    assert_eq!(t["platforms"], json!({"ios": 5, "android": 3, "other": 0}));
    assert_eq!(t["uniqueVisitors"], 2, "one address, two User-Agents");
    p.kill_9();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn two_instances_on_postgres_add_up() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let creds = add_merchant_on(&db.url, "123456", "Acme AS");
    let args = [
        "--database-url",
        db.url.as_str(),
        "--database-pool",
        "4",
        "--ops-listen",
        "off",
        "--scan-flush",
        "100ms",
    ];
    let (dir_a, dir_b) = (common::temp_dir("scans-a"), common::temp_dir("scans-b"));
    let a = ServeProcess::start(&dir_a, &args);
    let b = ServeProcess::start(&dir_b, &args);
    let api_a = Api::login(&a.base(), &creds).await;
    let api_b = Api::login(&b.base(), &creds).await;
    let short = create_door(&api_a).await;

    // Both instances count the same visitor (same address and User-Agent): one visitor,
    // because they share the day's key through the store; a second User-Agent on B is another.
    let (base_a, base_b) = (a.base(), b.base());
    tokio::join!(
        scan_n(&base_a, &short, IPHONE, 30),
        scan_n(&base_b, &short, IPHONE, 40),
    );
    scan_n(&b.base(), &short, ANDROID, 5).await;
    let took = until_scans(&api_b, 75).await;
    eprintln!("75 scans over two instances visible after {took:?}");
    let t = total(&api_a).await;
    assert_eq!(t["platforms"], json!({"ios": 70, "android": 5, "other": 0}));
    assert_eq!(t["uniqueVisitors"], 2);
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir_a);
    let _ = std::fs::remove_dir_all(&dir_b);
}
