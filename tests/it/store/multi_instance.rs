//! Three `qr-origin serve` processes on one PostgreSQL database, as behind a load balancer:
//! QRs and access tokens work on every instance, a write on one reaches the others' link
//! caches through LISTEN/NOTIFY within a bound, racing creates of one id give one winner, and
//! webhooks keep their per-webhook order and reach the receiver through a `kill -9` of one
//! instance. Each test runs in its own fresh database (dropped afterwards).

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::api::{Api, add_merchant_on, encode_id, path_of};
use common::receiver::{Receiver, expected_authorization};
use common::{ServeProcess, get, temp_dir};
use http::Method;
use qr_origin::store::testing::TestDatabase;
use serde_json::json;

/// Far above the typical propagation (a notification round trip, a few ms on loopback), so
/// a slow shared CI machine does not make this flaky; the measured figure is printed.
const PROPAGATION_BOUND: Duration = Duration::from_secs(2);

/// One instance on `db` with fast webhook timings.
fn instance(db: &TestDatabase, dir: &std::path::Path) -> ServeProcess {
    ServeProcess::start(
        dir,
        &[
            "--database-url",
            &db.url,
            "--database-pool",
            "4",
            "--ops-listen",
            "off",
            "--allow-insecure-webhooks",
            "--webhook-timeout",
            "1s",
            "--webhook-lease",
            "2s",
            "--webhook-retry-initial",
            "50ms",
            "--webhook-retry-max",
            "200ms",
            "--webhook-poll-interval",
            "100ms",
        ],
    )
}

/// The `Location` of `GET base+path`, or the status when it is not a redirect.
async fn resolve(base: &str, path: &str) -> Result<String, u16> {
    let r = get(&format!("{base}{path}")).await;
    if r.status == 302 {
        Ok(r.header("location").to_owned())
    } else {
        Err(r.status.as_u16())
    }
}

/// Polls `check` until it holds; returns how long that took (panics past the bound).
async fn time_until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            let took = start.elapsed();
            eprintln!("{what}: {took:?}");
            return took;
        }
        assert!(
            start.elapsed() < PROPAGATION_BOUND,
            "{what}: not within {PROPAGATION_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_qrs_tokens_and_ids() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dirs: Vec<_> = (0..3).map(|i| temp_dir(&format!("multi-{i}"))).collect();
    let servers: Vec<ServeProcess> = dirs.iter().map(|d| instance(&db, d)).collect();
    let (a, b, c) = (servers[0].base(), servers[1].base(), servers[2].base());
    let creds = add_merchant_on(&db.url, "810001", "Multi AS");

    // An access token issued by A works on B and C: tokens live in the shared store.
    let on_a = Api::login(&a, &creds).await;
    let on_b = Api {
        base: b.clone(),
        ..on_a.clone()
    };
    let on_c = Api {
        base: c.clone(),
        ..on_a.clone()
    };
    let created = on_b
        .redirect_to("text/targetUrl", "poster", "https://shop.example/one")
        .await;
    assert!(
        created.status.as_u16() == 200 || created.status.as_u16() == 201,
        "created on B with A's token: {} {}",
        created.status,
        String::from_utf8_lossy(&created.body)
    );
    let created_status = created.status.as_u16();
    let path = path_of(created.json()["url"].as_str().expect("url"));

    // Created on B, resolved everywhere (C and A warm their caches here).
    for base in [&a, &b, &c] {
        assert_eq!(
            resolve(base, &path).await,
            Ok("https://shop.example/one".into())
        );
    }

    // An update on A is seen by B (whose cache holds the old target) within the bound.
    let put = on_a
        .call(
            Method::PUT,
            &format!("/qr/v1/merchant-redirect/{}", encode_id("poster")),
            None,
            Some(json!({"redirectUrl": "https://shop.example/two"})),
            &[],
        )
        .await;
    assert!(put.status.as_u16() < 300, "update: {}", put.status);
    let updated = time_until("update on A seen by B", || async {
        resolve(&b, &path).await == Ok("https://shop.example/two".into())
    })
    .await;
    time_until("update on A seen by C", || async {
        resolve(&c, &path).await == Ok("https://shop.example/two".into())
    })
    .await;

    // A delete on A makes B answer 404 as fast.
    let del = on_a
        .bare(
            Method::DELETE,
            &format!("/qr/v1/merchant-redirect/{}", encode_id("poster")),
        )
        .await;
    assert!(del.status.as_u16() < 300, "delete: {}", del.status);
    let deleted = time_until("delete on A seen by B", || async {
        resolve(&b, &path).await == Err(404)
    })
    .await;
    time_until("delete on A seen by C", || async {
        resolve(&c, &path).await == Err(404)
    })
    .await;
    eprintln!("propagation: update {updated:?}, delete {deleted:?}");

    // Two instances racing to create one id: exactly one wins, the other gets 409.
    for round in 0..5 {
        let id = format!("race-{round}");
        let body = json!({"id": id, "redirectUrl": "https://shop.example/race"});
        let (x, y) = tokio::join!(
            on_b.create_redirect("text/targetUrl", body.clone()),
            on_c.create_redirect("text/targetUrl", body.clone())
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        let mut expected = [created_status, 409];
        expected.sort_unstable();
        assert_eq!(statuses, expected, "round {round}: one winner, one 409");
    }
    drop(servers);
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A merchant with a webhook to `receiver` at `/hook-{msn}` and a callback QR; returns the
/// webhook secret and the QR's short-link path.
async fn merchant_with_webhook(
    db: &TestDatabase,
    base: &str,
    receiver: &Receiver,
    msn: &str,
) -> (String, String) {
    let creds = add_merchant_on(&db.url, msn, "Webhook AS");
    let api = Api::login(base, &creds).await;
    let hook = api
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": receiver.url(&format!("/hook-{msn}")), "events": ["user.checked-in.v1"]})),
            &[],
        )
        .await;
    assert_eq!(hook.status, 201, "{}", String::from_utf8_lossy(&hook.body));
    let secret = hook.json()["secret"].as_str().expect("secret").to_owned();
    let msn_header = [("merchant-serial-number", msn)];
    let put = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk",
            None,
            Some(json!({"locationDescription": "Kiosk"})),
            &msn_header,
        )
        .await;
    assert!(put.status.as_u16() < 300, "callback QR: {}", put.status);
    let qr = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk",
            None,
            None,
            &msn_header,
        )
        .await;
    (
        secret,
        path_of(qr.json()["qrContent"].as_str().expect("qrContent")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_keep_order_and_arrive_through_a_kill_9() {
    const SCANS: usize = 60;
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let dirs: Vec<_> = (0..3).map(|i| temp_dir(&format!("hooks-{i}"))).collect();
    let mut servers: Vec<Option<ServeProcess>> =
        dirs.iter().map(|d| Some(instance(&db, d))).collect();
    let base = |s: &Vec<Option<ServeProcess>>, i: usize| s[i].as_ref().map(ServeProcess::base);
    let first = base(&servers, 0).expect("A");
    let msns = ["820001", "820002"];
    let mut hooks = BTreeMap::new();
    for msn in msns {
        hooks.insert(
            format!("/hook-{msn}"),
            merchant_with_webhook(&db, &first, &receiver, msn).await,
        );
    }

    let mut killed = 0;
    for i in 0..SCANS {
        if i == SCANS / 3 {
            // C dies mid-run, possibly in the middle of a delivery; its lanes are taken over
            // when their lease lapses.
            servers[2].take().expect("C").kill_9();
            killed += 1;
        }
        if i == 2 * SCANS / 3 {
            servers[2] = Some(instance(&db, &dirs[2]));
        }
        let target = base(&servers, i % 3)
            .or_else(|| base(&servers, 0))
            .expect("a live instance");
        let (_, path) = &hooks[&format!("/hook-{}", msns[i % 2])];
        let page = get(&format!("{target}{path}")).await;
        assert_eq!(page.status, 200, "scan {i} acknowledged");
        // Distinct millisecond timestamps, so `initiatedAt` orders the events strictly.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    // A hang guard, not a timing assertion: the counts below say what was missing.
    let deadline = Instant::now() + Duration::from_secs(60);
    let all = loop {
        let all = receiver.delivered();
        let unique: HashSet<&str> = all.iter().map(|r| r.header("webhook-id")).collect();
        if unique.len() >= SCANS || Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut per_hook: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &all {
        let (secret, _) = &hooks[&r.path_and_query];
        assert_eq!(r.header("authorization"), expected_authorization(secret, r));
        let body = r.json();
        per_hook.entry(r.path_and_query.clone()).or_default().push((
            r.header("webhook-id").to_owned(),
            body["initiatedAt"]
                .as_str()
                .expect("initiatedAt")
                .to_owned(),
        ));
    }
    let mut duplicates = 0;
    for (hook, events) in &per_hook {
        // First arrivals in scan order: no event overtook an earlier one of its webhook.
        let mut seen = HashSet::new();
        let mut firsts = Vec::new();
        for (id, at) in events {
            if seen.insert(id.clone()) {
                firsts.push(at.clone());
            } else {
                duplicates += 1;
            }
        }
        let mut sorted = firsts.clone();
        sorted.sort();
        assert_eq!(firsts, sorted, "{hook}: per-webhook order");
        assert_eq!(firsts.len(), SCANS / 2, "{hook}: every event arrived");
    }
    eprintln!(
        "webhooks: {} deliveries of {SCANS} events, {duplicates} duplicates",
        all.len()
    );
    // Only a delivery in flight at the kill can be repeated: at most one per webhook lane the
    // killed instance held.
    assert!(
        duplicates <= killed * msns.len(),
        "{duplicates} duplicates for {killed} kill(s)"
    );
    drop(servers);
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}
