//! Short links and the embedded store: what a scan costs (cached and uncached) and what an
//! acknowledged write costs (a SQLite commit with `synchronous=FULL`, i.e. an fsync).
//!
//! Run: `cargo bench --bench links`; against a baseline:
//! `cargo bench --bench links -- --save-baseline before`, change, then
//! `cargo bench --bench links -- --baseline before`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use qr_origin::clock::{Clock, SystemClock};
use qr_origin::links::{self, Links};
use qr_origin::store::sqlite::SqliteStore;
use qr_origin::store::{LinkKind, NewLink, NewMerchant, Store};

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("store"));
    let now = SystemClock.now_ms();
    rt.block_on(store.add_merchant(&NewMerchant {
        msn: "123456".into(),
        name: "Bench AS".into(),
        client_id: "bench".into(),
        client_secret_sha256: "x".into(),
        subscription_key_sha256: "y".into(),
        created_at_ms: now,
    }))
    .expect("merchant");
    let new_link = |qr_id: Option<String>| NewLink {
        code: links::new_code().expect("rng"),
        kind: LinkKind::Redirect,
        msn: "123456".into(),
        qr_id,
        target: Some("https://example.com/a/fairly/typical/landing/page?campaign=tv".into()),
        created_at_ms: now,
        expires_at_ms: None,
    };
    let link = rt
        .block_on(store.create_link(&new_link(Some("hot".into())), now))
        .expect("link");
    let links = Links::new(Arc::clone(&store), Arc::new(SystemClock));

    let mut g = c.benchmark_group("links");
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
    g.bench_function("store/create_link (fsync)", |b| {
        b.iter(|| {
            rt.block_on(store.create_link(&new_link(None), now))
                .expect("create")
        })
    });
    g.finish();
}

criterion_group!(name = links_benches; config = Criterion::default().sample_size(30); targets = benches);
criterion_main!(links_benches);
