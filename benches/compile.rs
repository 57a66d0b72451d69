//! Benchmarks of the flow compiler on a generated 10,000-node flow set:
//! parsing alone, compiling alone (graph building and every check), and both.
//!
//! Run: `cargo bench --bench compile`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "../tests/it/support/large.rs"]
mod large;

fn texts() -> Vec<(String, String, String)> {
    large::flow_set(20, 100)
        .into_iter()
        .map(|(name, text)| (format!("{name}.toml"), name, text))
        .collect()
}

fn bench(c: &mut Criterion) {
    let files = texts();
    let set = switchboard::flow::parse_texts(files.clone());
    let compiled = switchboard::compile::compile(&set);
    assert_eq!(compiled.summary.nodes, 10_000);
    assert_eq!(
        compiled.summary.counts.errors, 0,
        "the generated set must compile"
    );

    let mut g = c.benchmark_group("10k_nodes");
    g.sample_size(20);
    g.bench_function("parse", |b| {
        b.iter(|| switchboard::flow::parse_texts(black_box(files.clone())))
    });
    g.bench_function("compile", |b| {
        b.iter(|| switchboard::compile::compile(black_box(&set)))
    });
    g.bench_function("parse_and_compile", |b| {
        b.iter(|| {
            switchboard::compile::compile(&switchboard::flow::parse_texts(black_box(files.clone())))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
