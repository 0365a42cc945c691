//! Batch writes and decoding against baselines doing comparable work in the same group:
//! `set_many` of `n` records (u64 keys and 10-byte string keys) into an empty map and into
//! a map of `n` other keys, against a `sort_unstable` of the same `n` u64 key hashes and a
//! copy of the map's output columns (hash, key, replica, counter, value: 36 bytes a record)
//! into reused buffers; `from_bytes` against `to_bytes` of the same state and a copy of its
//! bytes.
//!
//! `PLURIVERSE_BENCH_RECORDS=1m,10m` picks the sizes (default 1m).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pluriverse::{Item, MVMap};
use pluriverse_benches::{label, sizes, SplitMix};

/// `n` random keys and values, and `n` other keys.
fn data(n: usize) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut g = SplitMix(17);
    let keys = (0..n).map(|_| g.next_u64()).collect();
    let other = (0..n).map(|_| g.next_u64()).collect();
    let values = (0..n).map(|_| g.next_u64()).collect();
    (keys, other, values)
}

fn group<'a>(
    c: &'a mut Criterion,
    name: String,
    n: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(n as u64));
    g
}

/// The baselines every write group carries: a sort of the batch's key hashes and a copy
/// of the output columns.
fn baselines(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    hashes: &[u64],
) {
    let mut buf = hashes.to_vec();
    g.bench_function("baseline_sort_hashes", |b| {
        b.iter(|| {
            buf.copy_from_slice(hashes);
            buf.sort_unstable();
            black_box(&buf);
        })
    });
    let cols = vec![7u8; hashes.len() * 36];
    let mut out = vec![0u8; cols.len()];
    g.bench_function("baseline_copy_columns", |b| {
        b.iter(|| {
            out.copy_from_slice(&cols);
            black_box(&out);
        })
    });
}

fn bench_write_u64(c: &mut Criterion) {
    for n in sizes("1m") {
        let (keys, other, values) = data(n);
        let hashes: Vec<u64> = keys.iter().map(Item::hash64).collect();
        let mut g = group(c, format!("write_u64/{}", label(n)), n);
        baselines(&mut g, &hashes);
        g.bench_function("set_many_into_empty", |b| {
            b.iter(|| {
                let mut m: MVMap<u64, u64> = MVMap::new("a");
                let d = m.set_many(black_box(&keys), &values).unwrap();
                (m, d)
            })
        });
        let mut big: MVMap<u64, u64> = MVMap::new("a");
        big.set_many(&other, &values).unwrap();
        g.bench_function("set_many_into_large", |b| {
            b.iter_batched_ref(
                || big.detached(),
                |m| m.set_many(black_box(&keys), &values).unwrap(),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

fn bench_write_strings(c: &mut Criterion) {
    for n in sizes("1m") {
        let (keys, _, values) = data(n);
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{:010}", k % 10_000_000_000))
            .collect();
        let hashes: Vec<u64> = keys.iter().map(Item::hash64).collect();
        let mut g = group(c, format!("write_str10/{}", label(n)), n);
        baselines(&mut g, &hashes);
        g.bench_function("set_many_into_empty", |b| {
            b.iter(|| {
                let mut m: MVMap<String, u64> = MVMap::new("a");
                let d = m.set_many(black_box(&keys), &values).unwrap();
                (m, d)
            })
        });
        g.finish();
    }
}

fn bench_decode(c: &mut Criterion) {
    for n in sizes("1m") {
        let (keys, _, values) = data(n);
        let mut m: MVMap<u64, u64> = MVMap::new("a");
        m.set_many(&keys, &values).unwrap();
        let bytes = m.to_bytes().unwrap();
        let mut g = group(c, format!("decode_u64/{}", label(n)), n);
        let mut copy = vec![0u8; bytes.len()];
        g.bench_function("baseline_copy_bytes", |b| {
            b.iter(|| {
                copy.copy_from_slice(&bytes);
                black_box(&copy);
            })
        });
        g.bench_function("to_bytes", |b| b.iter(|| black_box(&m).to_bytes().unwrap()));
        g.bench_function("from_bytes", |b| {
            b.iter(|| MVMap::<u64, u64>::from_bytes(black_box(&bytes), "b").unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench_write_u64, bench_write_strings, bench_decode);
criterion_main!(benches);
