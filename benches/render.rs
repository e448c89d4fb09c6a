//! Render benches. Run: `cargo bench --bench render`.
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(_c: &mut Criterion) {}

criterion_group!(render, benches);
criterion_main!(render);
