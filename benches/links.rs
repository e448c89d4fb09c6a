//! Short links and the store, on both stores: what a scan costs (cached and uncached), what an
//! acknowledged write costs, and what recording a kiosk scan (the scan row plus one outbox event
//! per webhook, one transaction) costs.
//!
//! - `sqlite`: the embedded store, a SQLite commit with `synchronous=FULL` (an fsync);
//! - `postgres`: a fresh database on the server the tests use (`QR_ORIGIN_TEST_DATABASE_URL`,
//!   default `postgres://postgres@127.0.0.1:5432/postgres`, else a private cluster started from
//!   the installed server binaries), dropped afterwards; over loopback, so each
//!   uncached call is a network round trip plus PostgreSQL's commit.
//!
//! `resolve/cached` is the path every scan of a printed QR takes: the in-process link cache,
//! the same code in front of either store (the bench shows it never reaches the database).
//!
//! Run: `cargo bench --bench links`; against a baseline:
//! `cargo bench --bench links -- --save-baseline before`, change, then
//! `cargo bench --bench links -- --baseline before`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use qr_origin::clock::{Clock, SystemClock};
use qr_origin::links::{self, Links};
use qr_origin::store::sqlite::SqliteStore;
use qr_origin::store::testing::TestDatabase;
use qr_origin::store::testing::conformance::{callback, merchant, scan, webhook};
use qr_origin::store::{LinkKind, NewLink, Store};

const MSN: &str = "123456";
const KIOSK_CODE: &str = "BenchKiosk";

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("store"));
    let db = rt
        .block_on(TestDatabase::create())
        .expect("the postgres rows need PostgreSQL: a server or its binaries (README, Tests)");
    let postgres: Arc<dyn Store> = rt.block_on(db.store());
    for (name, store) in [("sqlite", sqlite), ("postgres", postgres)] {
        bench_store(c, &rt, name, store);
    }
    drop(db);
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>) {
    let now = SystemClock.now_ms();
    rt.block_on(async {
        store.add_merchant(&merchant(MSN)).await.expect("merchant");
        store
            .put_callback_qr(&callback(MSN, "till", KIOSK_CODE), now)
            .await
            .expect("kiosk QR");
        store
            .add_webhook(&webhook(MSN, "bench-hook"), 25)
            .await
            .expect("webhook");
    });
    let new_link = |qr_id: Option<String>| NewLink {
        code: links::new_code().expect("rng"),
        kind: LinkKind::Redirect,
        msn: MSN.into(),
        qr_id,
        target: Some("https://example.com/a/fairly/typical/landing/page?campaign=tv".into()),
        created_at_ms: now,
        expires_at_ms: None,
        style: None,
    };
    let link = rt
        .block_on(store.create_link(&new_link(Some("hot".into())), now))
        .expect("link");
    let links = Links::new(Arc::clone(&store), Arc::new(SystemClock));

    let mut g = c.benchmark_group(format!("links/{name}"));
    g.bench_function("resolve/cached", |b| {
        rt.block_on(links.resolve(LinkKind::Redirect, &link.code))
            .expect("warm");
        b.iter(|| rt.block_on(links.resolve(LinkKind::Redirect, black_box(&link.code))))
    });
    g.bench_function("resolve/malformed", |b| {
        b.iter(|| rt.block_on(links.resolve(LinkKind::Redirect, black_box("not-a-code!"))))
    });
    g.bench_function("store/link_by_code", |b| {
        b.iter(|| rt.block_on(store.link_by_code(black_box(&link.code))))
    });
    g.bench_function("store/create_link", |b| {
        b.iter(|| {
            rt.block_on(store.create_link(&new_link(None), now))
                .expect("create")
        })
    });
    let tokens = AtomicU64::new(0);
    g.bench_function("store/record_scan", |b| {
        b.iter(|| {
            let token = format!("bench-token-{}", tokens.fetch_add(1, Ordering::Relaxed));
            rt.block_on(store.record_scan(&scan(KIOSK_CODE, &token, now)))
                .expect("scan")
                .expect("live kiosk QR")
        })
    });
    g.finish();
}

criterion_group!(name = links_benches; config = Criterion::default().sample_size(30); targets = benches);
criterion_main!(links_benches);
