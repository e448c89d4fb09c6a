//! The delivery worker driven one step at a time on a manual clock, against a real store file and
//! real HTTP receivers on loopback: the backoff schedule, the 7-day give-up, per-webhook order,
//! deleted webhooks, and a slow receiver that must not hold up the others.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::receiver::Receiver;
use qr_origin::clock::{Clock, ManualClock};
use qr_origin::links::Links;
use qr_origin::store::sqlite::SqliteStore;
use qr_origin::store::testing::conformance::{callback, merchant};
use qr_origin::store::{NewWebhook, OutboxState, Store};
use qr_origin::webhooks::backoff::RetryPolicy;
use qr_origin::webhooks::deliver::{Deliverer, DeliveryConfig, DeliveryStats, Outcome};

const T0_MS: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 24 * 3600 * 1000;
const HANG_GUARD: Duration = Duration::from_secs(30);

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    links: Links,
    worker: Arc<Deliverer>,
    _dir: tempfile::TempDir,
}

/// A store with merchant 555001, its callback QR `ScanCode01`, and a worker over it.
async fn world(config: DeliveryConfig) -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("store"));
    let clock = Arc::new(ManualClock::new(T0_MS));
    store
        .add_merchant(&merchant("555001"))
        .await
        .expect("merchant");
    store
        .put_callback_qr(&callback("555001", "kiosk", "ScanCode01"), T0_MS)
        .await
        .expect("callback QR");
    let links = Links::new(Arc::clone(&store), clock.clone());
    let worker = Arc::new(Deliverer::new(
        Arc::clone(&store),
        clock.clone(),
        config,
        links.outbox_signal(),
        Arc::new(DeliveryStats::default()),
    ));
    World {
        store,
        clock,
        links,
        worker,
        _dir: dir,
    }
}

impl World {
    async fn hook(&self, id: &str, url: &str) {
        let w = NewWebhook {
            id: id.to_owned(),
            msn: "555001".to_owned(),
            url: url.to_owned(),
            secret: format!("secret-{id}"),
            events: vec!["user.checked-in.v1".to_owned()],
            created_at_ms: self.clock.now_ms(),
        };
        self.store.add_webhook(&w, 25).await.expect("webhook");
    }

    async fn scan(&self) {
        let res = self.links.scan("ScanCode01").await;
        assert_eq!(res.status(), 200);
    }

    async fn bodies(&self, hook: &str) -> Vec<String> {
        let events = self.store.outbox_events(hook).await.expect("outbox");
        events.into_iter().map(|e| e.body).collect()
    }
}

/// A listener that accepts connections and holds them open without reading or answering; the
/// task owns them until aborted.
async fn silent_receiver() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    (addr, held)
}

#[tokio::test]
async fn retries_follow_the_backoff_schedule_and_give_up_after_seven_days() {
    let policy = RetryPolicy::default();
    let w = world(DeliveryConfig::default()).await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    w.hook("hook-a", &receiver.url("/hook")).await;
    w.scan().await;

    let mut attempts = 0u32;
    let last_outcome = loop {
        let done = w.worker.step().await.expect("step");
        assert_eq!(done.len(), 1, "exactly the one due event: {done:?}");
        attempts += 1;
        let now = w.clock.now_ms();
        match &done[0].outcome {
            Outcome::Retry { at_ms, attempts: n } => {
                assert_eq!(*n, attempts);
                let wait = Duration::from_millis((*at_ms - now) as u64);
                assert!(
                    wait >= policy.delay(attempts, 0.0) && wait <= policy.delay(attempts, 1.0),
                    "attempt {attempts}: waits {wait:?}, outside the equal-jitter window"
                );
                assert_eq!(done[0].error.as_deref(), Some("HTTP 500"));
                // Not due a millisecond early.
                w.clock.set_ms(at_ms - 1);
                assert!(w.worker.step().await.expect("step").is_empty());
                w.clock.set_ms(*at_ms);
            }
            other => break other.clone(),
        }
    };
    assert_eq!(last_outcome, Outcome::Failed);
    let elapsed = w.clock.now_ms() - T0_MS;
    assert!(
        elapsed <= 7 * DAY_MS && elapsed > 7 * DAY_MS - 3_600_000,
        "given up within the last hour of the 7 days, after {elapsed} ms"
    );
    assert_eq!(
        receiver.received().len(),
        attempts as usize,
        "one POST per attempt"
    );
    let events = w.store.outbox_events("hook-a").await.expect("outbox");
    assert_eq!(events[0].state, OutboxState::Failed);
    assert_eq!(events[0].attempts, attempts);
    let stats = w.worker.stats();
    assert_eq!(stats.failed.load(Relaxed), 1);
    assert_eq!(stats.retried.load(Relaxed), u64::from(attempts - 1));
    assert_eq!(stats.queue_depth.load(Relaxed), 0);
    w.clock.advance_ms(30 * DAY_MS);
    assert!(
        w.worker.step().await.expect("step").is_empty(),
        "nothing more, ever"
    );
}

#[tokio::test]
async fn the_retry_window_is_configurable() {
    let config = DeliveryConfig {
        policy: RetryPolicy {
            give_up_after: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..DeliveryConfig::default()
    };
    let w = world(config).await;
    let mut receiver = Receiver::start_stopped().await;
    w.hook("hook-a", &receiver.url("/hook")).await;
    w.scan().await;
    let mut attempts = 0;
    let outcome = loop {
        let done = w.worker.step().await.expect("step");
        attempts += 1;
        assert!(
            done[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("network error"))
        );
        match &done[0].outcome {
            Outcome::Retry { at_ms, .. } => w.clock.set_ms(*at_ms),
            other => break other.clone(),
        }
    };
    assert_eq!(outcome, Outcome::Failed);
    assert!(w.clock.now_ms() - T0_MS <= 60_000);
    assert!(
        (2..=10).contains(&attempts),
        "{attempts} attempts in a minute"
    );
    receiver.restart().await;
    w.clock.advance_ms(DAY_MS);
    assert!(w.worker.step().await.expect("step").is_empty());
    assert!(
        receiver.received().is_empty(),
        "a failed event is not sent again"
    );
}

#[tokio::test]
async fn a_later_event_waits_until_the_earlier_one_is_delivered() {
    let w = world(DeliveryConfig::default()).await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    w.hook("hook-a", &receiver.url("/hook?tenant=1")).await;
    for _ in 0..3 {
        w.scan().await;
    }
    let expected = w.bodies("hook-a").await;

    let first = w.worker.step().await.expect("step");
    assert_eq!(first.len(), 1, "only the head of the line is attempted");
    let Outcome::Retry { at_ms, .. } = first[0].outcome else {
        panic!("{first:?}");
    };
    assert_eq!(receiver.received()[0].body, expected[0].as_bytes());

    receiver.answer(200);
    w.clock.set_ms(at_ms);
    for _ in 0..3 {
        let done = w.worker.step().await.expect("step");
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].outcome, Outcome::Delivered);
    }
    let delivered: Vec<_> = receiver
        .delivered()
        .into_iter()
        .map(|r| String::from_utf8(r.body.to_vec()).expect("utf-8"))
        .collect();
    assert_eq!(delivered, expected, "in scan order");
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| r.path_and_query == "/hook?tenant=1" && r.method == "POST")
    );
    assert!(w.worker.step().await.expect("step").is_empty());
}

#[tokio::test]
async fn a_deleted_webhook_gets_nothing_more_and_others_carry_on() {
    let w = world(DeliveryConfig::default()).await;
    let failing = Receiver::start().await;
    failing.answer(500);
    let healthy = Receiver::start().await;
    w.hook("hook-a", &failing.url("/a")).await;
    w.hook("hook-b", &healthy.url("/b")).await;
    w.scan().await;
    w.scan().await;

    let done = w.worker.step().await.expect("step");
    assert_eq!(done.len(), 2, "one head per webhook");
    w.store
        .delete_webhook("555001", "hook-a", w.clock.now_ms())
        .await
        .expect("delete")
        .expect("found");
    failing.answer(200);
    w.clock.advance_ms(DAY_MS);
    while !w.worker.step().await.expect("step").is_empty() {}
    assert_eq!(
        failing.received().len(),
        1,
        "only the attempt before the delete"
    );
    assert_eq!(healthy.delivered().len(), 2);
    let a = w.store.outbox_events("hook-a").await.expect("outbox");
    assert!(a.iter().all(|e| e.state == OutboxState::Dropped), "{a:?}");
    w.scan().await;
    assert_eq!(w.bodies("hook-a").await.len(), 2, "no new events for it");
}

#[tokio::test]
async fn deliveries_are_signed_for_the_host_they_are_sent_to() {
    let w = world(DeliveryConfig::default()).await;
    let receiver = Receiver::start().await;
    w.hook("hook-a", &receiver.url("/hook")).await;
    w.scan().await;
    w.worker.step().await.expect("step");
    let got = receiver.wait_for(1, HANG_GUARD).await;
    let r = &got[0];
    assert_eq!(r.header("host"), receiver.addr.to_string());
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.header("x-ms-date"),
        "Tue, 14 Nov 2023 22:13:20 GMT",
        "the clock's time"
    );
    assert_eq!(r.header("webhook-event"), "user.checked-in.v1");
    assert_eq!(r.path_and_query, "/hook");
    let expected = common::receiver::expected_authorization("secret-hook-a", r);
    assert_eq!(r.header("authorization"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_hold_up_the_others() {
    let config = DeliveryConfig {
        timeout: Duration::from_secs(120),
        lease: Duration::from_secs(600),
        ..DeliveryConfig::default()
    };
    let w = world(config).await;
    let (hanging_addr, held) = silent_receiver().await;
    let healthy = Receiver::start().await;
    w.hook("hook-slow", &format!("http://{hanging_addr}/hook"))
        .await;
    w.hook("hook-fast", &healthy.url("/hook")).await;

    let stop = Arc::new(tokio::sync::Notify::new());
    let run = {
        let worker = Arc::clone(&w.worker);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move { worker.run(stop.notified()).await })
    };
    for _ in 0..3 {
        w.scan().await;
    }
    // The slow webhook's first attempt is still hanging (its timeout is two minutes), yet all
    // three events reach the healthy receiver.
    let got = healthy.wait_for(3, HANG_GUARD).await;
    assert_eq!(got.len(), 3);
    let slow = w.store.outbox_events("hook-slow").await.expect("outbox");
    assert!(
        slow.iter()
            .all(|e| e.state == OutboxState::Pending && e.attempts == 0),
        "the hanging attempt has not finished: {slow:?}"
    );
    run.abort();
    held.abort();
    stop.notify_one();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_gets_no_answer_times_out_and_is_retried() {
    let config = DeliveryConfig {
        timeout: Duration::from_millis(200),
        ..DeliveryConfig::default()
    };
    let w = world(config).await;
    let (silent_addr, held) = silent_receiver().await;
    w.hook("hook-silent", &format!("http://{silent_addr}/hook"))
        .await;
    w.scan().await;
    let done = tokio::time::timeout(HANG_GUARD, w.worker.step())
        .await
        .expect("the attempt ends at its timeout, not never")
        .expect("step");
    assert_eq!(done.len(), 1);
    assert!(
        matches!(done[0].outcome, Outcome::Retry { attempts: 1, .. }),
        "{done:?}"
    );
    let error = done[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("timed out"), "{error}");
    let events = w.store.outbox_events("hook-silent").await.expect("outbox");
    assert_eq!(events[0].state, OutboxState::Pending, "kept for the retry");
    assert_eq!(events[0].attempts, 1);
    held.abort();
}

#[tokio::test]
async fn https_urls_are_spoken_to_over_tls_only() {
    let w = world(DeliveryConfig::default()).await;
    // A plain-HTTP server behind an https:// URL: the client must insist on a TLS handshake
    // (which fails), never fall back to sending the event in clear text.
    let receiver = Receiver::start().await;
    w.hook("hook-tls", &format!("https://{}/hook", receiver.addr))
        .await;
    w.scan().await;
    let done = w.worker.step().await.expect("step");
    assert!(matches!(done[0].outcome, Outcome::Retry { .. }), "{done:?}");
    let error = done[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("network error"), "{error}");
    assert!(
        receiver.received().is_empty(),
        "no HTTP request reached the plain-text server"
    );
}
