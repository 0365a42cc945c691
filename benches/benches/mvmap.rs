//! MVMap against the `crdts` crate (`Map<u64, MVReg<u64, u32>, u32>`) on the same work:
//! joining two replicas' states (half the keys shared, a tenth of the shared keys written
//! concurrently), plus pluriverse's own batch set, delta extraction, digest and
//! one-record deltas into a big state. Memory per record is measured with a counting
//! allocator around each structure's construction.
//!
//! `PLURIVERSE_BENCH_RECORDS=1m,10m` picks the state sizes (default both; the `crdts` peer
//! runs at 1M only: at 637 bytes per entry, 10M does not fit beside its clone here).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crdts::{CmRDT, CvRDT, MVReg};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use pluriverse::{AWSet, CausalStore, Item, JoinPath, MVMap};
use pluriverse_benches::{
    label, live_bytes, peak_bytes, pv_states, reset_peak, sizes, work, CountingAlloc, SplitMix,
    Work,
};
use pluriverse_kernels::pages;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

type Peer = crdts::Map<u64, MVReg<u64, u32>, u32>;

fn peer_states(w: &Work) -> (Peer, Peer, usize) {
    let write = |m: &mut Peer, actor: u32, keys: &[u64], vals: &[u64]| {
        for (&k, &v) in keys.iter().zip(vals) {
            let ctx = m.read_ctx().derive_add_ctx(actor);
            let op = m.update(k, ctx, |reg, c| reg.write(v, c));
            m.apply(op);
        }
    };
    let before = live_bytes();
    let mut a = Peer::new();
    write(&mut a, 1, &w.a_first, &w.values);
    let b_base = a.clone();
    write(&mut a, 1, &w.a_concurrent, &w.values);
    let bytes_a = live_bytes() - before - peer_bytes_of_clone(&b_base);
    let mut b = b_base;
    write(&mut b, 2, &w.b_keys, &w.values);
    (a, b, bytes_a)
}

fn peer_bytes_of_clone(m: &Peer) -> usize {
    let before = live_bytes();
    let c = m.clone();
    let bytes = live_bytes() - before;
    drop(c);
    bytes
}

/// The memory-limit baselines of a join, in its group: a `memcpy` of as many bytes as the
/// two input states hold, into a buffer reused across iterations (`memcpy_reused`) and
/// into a fresh allocation (`memcpy_fresh`, which pays the page faults a fresh output pays).
fn memcpy_baselines(g: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    let mut x = SplitMix(3);
    let src: Vec<u8> = (0..bytes).map(|_| x.next_u64() as u8).collect();
    let mut dst = vec![0u8; bytes];
    g.bench_function("memcpy_reused", |bn| {
        bn.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(dst.as_ptr());
        })
    });
    g.bench_function("memcpy_fresh", |bn| {
        bn.iter_with_large_drop(|| {
            let mut v = Vec::with_capacity(bytes);
            v.extend_from_slice(black_box(&src));
            v
        })
    });
}

/// The full join of `b` into a copy of `a`, on the rayon pool, with the output's huge-page
/// advice on (`pluriverse`) and off (`pluriverse_4k_pages`), and in a one-thread pool.
fn pluriverse_joins<K: Item, V: Item>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    a: &CausalStore<K, V>,
    b: &CausalStore<K, V>,
) {
    g.bench_function("pluriverse", |bn| {
        bn.iter_batched(
            || a.detached(),
            |mut x| {
                x.join_with(b, JoinPath::Full);
                x
            },
            BatchSize::LargeInput,
        )
    });
    pages::set_enabled(false);
    g.bench_function("pluriverse_4k_pages", |bn| {
        bn.iter_batched(
            || a.detached(),
            |mut x| {
                x.join_with(b, JoinPath::Full);
                x
            },
            BatchSize::LargeInput,
        )
    });
    pages::set_enabled(true);
    // the same join on one core (a pool of one thread): the per-core figure
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    g.bench_function("pluriverse_1_thread", |bn| {
        bn.iter_batched(
            || a.detached(),
            |mut x| {
                one.install(|| x.join_with(b, JoinPath::Full));
                x
            },
            BatchSize::LargeInput,
        )
    });
}

/// Peak memory of one full join (outside timing), printed against its output: the bytes
/// allocated at the peak beyond what was live before (output, plan, and the old runs until
/// they are freed), and the state's bytes after.
fn report_peak<K: Item, V: Item>(what: &str, a: &CausalStore<K, V>, b: &CausalStore<K, V>) {
    let mut x = a.detached();
    let state_before = x.heap_bytes();
    let live = live_bytes();
    reset_peak();
    x.join_with(b, JoinPath::Full);
    let extra = peak_bytes() - live;
    let out = x.heap_bytes();
    eprintln!(
        "{what}: join input {} B ({} B in the state joined into), output {out} B; peak \
         allocated beyond the inputs {extra} B = {:.2}x the output; peak of the state \
         (old runs + new) {:.2}x the output",
        state_before + b.heap_bytes(),
        state_before,
        extra as f64 / out as f64,
        (extra + state_before) as f64 / out as f64
    );
}

fn bench_join(c: &mut Criterion) {
    for n in sizes("1m,10m") {
        let w = work(n);
        let (a, b, pv_bytes) = pv_states(&w);
        let records = a.entry_count() + b.entry_count();
        let label = label(n);
        eprintln!(
            "pluriverse: {} + {} entries, {:.1} bytes per entry (state a)",
            a.entry_count(),
            b.entry_count(),
            pv_bytes as f64 / a.entry_count() as f64
        );
        let mut g = c.benchmark_group(format!("mvmap_join/{label}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(records as u64));
        let input_bytes = a.store().heap_bytes() + b.store().heap_bytes();
        eprintln!("input bytes (both states' columns): {input_bytes}");
        report_peak(&format!("mvmap {label}"), a.store(), b.store());
        memcpy_baselines(&mut g, input_bytes);
        pluriverse_joins(&mut g, a.store(), b.store());
        if n <= 1_000_000 {
            let (pa, pb, peer_bytes) = peer_states(&w);
            eprintln!(
                "crdts: {:.1} bytes per entry (state a)",
                peer_bytes as f64 / w.a_first.len().saturating_add(w.a_concurrent.len()) as f64
            );
            g.bench_function("crdts_map_mvreg", |bn| {
                bn.iter_batched(
                    || (pa.clone(), pb.clone()),
                    |(mut x, y)| {
                        x.merge(y);
                        x
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        g.finish();

        // the merged state must agree between the two (sanity, outside timing)
        let mut j = a.clone();
        j.join(b.store());
        assert_eq!(j.len(), n * 3 / 2);
    }
}

fn bench_ops(c: &mut Criterion) {
    for n in sizes("1m,10m") {
        let label = label(n);
        let keys: Vec<u64> = (0..n as u64).collect();
        let mut g = SplitMix(9);
        let values: Vec<u64> = (0..n).map(|_| g.next_u64()).collect();
        let mut group = c.benchmark_group(format!("mvmap_ops/{label}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));

        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("set_many_into_empty", |bn| {
            bn.iter(|| {
                let mut m: MVMap<u64, u64> = MVMap::new("a");
                m.set_many(black_box(&keys), &values).unwrap();
                m
            })
        });

        let mut big: MVMap<u64, u64> = MVMap::new("a");
        big.set_many(&keys, &values).unwrap();
        group.bench_function("digest", |bn| bn.iter(|| black_box(&big).digest()));
        group.bench_function("to_bytes", |bn| {
            bn.iter(|| black_box(&big).to_bytes().unwrap())
        });
        let bytes = big.to_bytes().unwrap();
        // decoding validates everything: framing, schema, order, dots, context
        group.bench_function("from_bytes", |bn| {
            bn.iter(|| MVMap::<u64, u64>::from_bytes(black_box(&bytes), "b").unwrap())
        });

        // a peer that has everything but the last 1%
        let mut peer: MVMap<u64, u64> = MVMap::new("p");
        peer.join(big.store());
        let hot: Vec<u64> = keys.iter().copied().step_by(100).collect();
        let hot_vals = vec![7u64; hot.len()];
        big.set_many(&hot, &hot_vals).unwrap();
        group.bench_function("delta_since_1pct_new", |bn| {
            bn.iter(|| big.delta_since(black_box(peer.context())))
        });

        // one-record deltas from another replica, applied one by one
        let mut writer: MVMap<u64, u64> = MVMap::new("w");
        let deltas: Vec<_> = (0..100_000u64)
            .map(|i| writer.set(g.below(n as u64), i).unwrap())
            .collect();
        group.throughput(Throughput::Elements(1));
        group.bench_function("join_one_record_delta", |bn| {
            bn.iter_custom(|iters| {
                // every delta is new to a fresh copy of the state (copies are not timed)
                let (mut elapsed, mut done) = (Duration::ZERO, 0usize);
                while done < iters as usize {
                    let chunk = deltas.len().min(iters as usize - done);
                    let mut target = big.detached();
                    let t = Instant::now();
                    for d in &deltas[..chunk] {
                        target.join(d);
                    }
                    elapsed += t.elapsed();
                    done += chunk;
                }
                elapsed
            })
        });
        group.finish();
    }
}

/// The same join with string keys (`"key-000123"`, 10 bytes), against `crdts` with `String`
/// keys, at 1M records.
fn bench_join_strings(c: &mut Criterion) {
    if !sizes("1m,10m").contains(&1_000_000) {
        return;
    }
    let w = work(1_000_000);
    let s = |k: &u64| format!("key-{k:06}");
    let (a_first, a_conc, b_keys): (Vec<String>, Vec<String>, Vec<String>) = (
        w.a_first.iter().map(s).collect(),
        w.a_concurrent.iter().map(s).collect(),
        w.b_keys.iter().map(s).collect(),
    );
    let before = live_bytes();
    let mut a: MVMap<String, u64> = MVMap::new("a");
    a.set_many(&a_first, &w.values[..a_first.len()]).unwrap();
    a.set_many(&a_conc, &w.values[..a_conc.len()]).unwrap();
    a.compact_runs();
    let pv_bytes = live_bytes() - before;
    let first = MVMap::<String, u64>::new("a")
        .set_many(&a_first, &w.values[..a_first.len()])
        .unwrap();
    let mut b: MVMap<String, u64> = MVMap::new("b");
    b.join(&first);
    drop(first);
    b.set_many(&b_keys, &w.values[..b_keys.len()]).unwrap();
    b.compact_runs();
    eprintln!(
        "pluriverse, string keys: {:.1} bytes per entry",
        pv_bytes as f64 / a.entry_count() as f64
    );

    type PeerS = crdts::Map<String, MVReg<u64, u32>, u32>;
    let write = |m: &mut PeerS, actor: u32, keys: &[String], vals: &[u64]| {
        for (k, &v) in keys.iter().zip(vals) {
            let ctx = m.read_ctx().derive_add_ctx(actor);
            let op = m.update(k.clone(), ctx, |reg, c| reg.write(v, c));
            m.apply(op);
        }
    };
    let mut pa = PeerS::new();
    write(&mut pa, 1, &a_first, &w.values);
    let mut pb = pa.clone();
    write(&mut pa, 1, &a_conc, &w.values);
    write(&mut pb, 2, &b_keys, &w.values);

    let mut g = c.benchmark_group("mvmap_join_strings/1M");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(
        (a.entry_count() + b.entry_count()) as u64,
    ));
    let input_bytes = a.store().heap_bytes() + b.store().heap_bytes();
    eprintln!("input bytes (both states' columns): {input_bytes}");
    report_peak("mvmap strings 1M", a.store(), b.store());
    memcpy_baselines(&mut g, input_bytes);
    pluriverse_joins(&mut g, a.store(), b.store());
    g.bench_function("crdts_map_mvreg", |bn| {
        bn.iter_batched(
            || (pa.clone(), pb.clone()),
            |(mut x, y)| {
                x.merge(y);
                x
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// AWSet against the `crdts` crate's `Orswot<u64, u32>`: the same two replicas' element
/// sets (half shared, a tenth of the shared elements added concurrently), at 1M.
fn bench_awset(c: &mut Criterion) {
    if !sizes("1m,10m").contains(&1_000_000) {
        return;
    }
    let w = work(1_000_000);
    let before = live_bytes();
    let mut a: AWSet<u64> = AWSet::new("a");
    a.add_many(&w.a_first).unwrap();
    a.add_many(&w.a_concurrent).unwrap();
    let pv_bytes = live_bytes() - before;
    let first = AWSet::<u64>::new("a").add_many(&w.a_first).unwrap();
    let mut b: AWSet<u64> = AWSet::new("b");
    b.join(&first);
    drop(first);
    b.add_many(&w.b_keys).unwrap();

    type Peer = crdts::Orswot<u64, u32>;
    let add = |m: &mut Peer, actor: u32, keys: &[u64]| {
        for &k in keys {
            let ctx = m.read_ctx().derive_add_ctx(actor);
            let op = m.add(k, ctx);
            m.apply(op);
        }
    };
    let before = live_bytes();
    let mut pa = Peer::new();
    add(&mut pa, 1, &w.a_first);
    add(&mut pa, 1, &w.a_concurrent);
    let peer_bytes = live_bytes() - before;
    let mut pb = Peer::new();
    add(&mut pb, 1, &w.a_first);
    add(&mut pb, 2, &w.b_keys);
    eprintln!(
        "AWSet: {:.1} bytes per element; Orswot: {:.1}",
        pv_bytes as f64 / 1e6,
        peer_bytes as f64 / 1e6
    );

    let mut g = c.benchmark_group("awset_join/1M");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let input_bytes = a.store().heap_bytes() + b.store().heap_bytes();
    eprintln!("input bytes (both states' columns): {input_bytes}");
    report_peak("awset 1M", a.store(), b.store());
    memcpy_baselines(&mut g, input_bytes);
    pluriverse_joins(&mut g, a.store(), b.store());
    g.bench_function("crdts_orswot", |bn| {
        bn.iter_batched(
            || (pa.clone(), pb.clone()),
            |(mut x, y)| {
                x.merge(y);
                x
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// State bytes (issue 16): the Python bench's update, one replica's `MVMap<String, i64>` of
/// `n` keys `k{i}` (`i` from `n / 2`) and their numbers as values, written and read in
/// format 3 (ZSTD-compressed buffers) and, as the baseline in the same run, format 2
/// (uncompressed). The sizes go to stderr.
fn bench_wire(c: &mut Criterion) {
    for n in sizes("1m,10m") {
        let keys: Vec<String> = (n / 2..n / 2 + n).map(|i| format!("k{i}")).collect();
        let values: Vec<i64> = (n / 2..n / 2 + n).map(|i| i as i64).collect();
        let mut b: MVMap<String, i64> = MVMap::new("b");
        b.set_many(&keys, &values).unwrap();
        drop((keys, values));
        let v3 = b.to_bytes().unwrap();
        let v2 = pluriverse::wire::encode_store_as(b.store(), 2, None).unwrap();
        eprintln!(
            "mvmap_wire/{}: format 3 {} bytes, format 2 {} bytes ({:.3}x)",
            label(n),
            v3.len(),
            v2.len(),
            v3.len() as f64 / v2.len() as f64
        );
        let mut g = c.benchmark_group(format!("mvmap_wire/{}", label(n)));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if n > 1 << 21 { 20 } else { 5 }))
            .throughput(Throughput::Elements(n as u64));
        g.bench_function("to_bytes", |bn| {
            bn.iter(|| black_box(&b).to_bytes().unwrap())
        });
        g.bench_function("from_bytes", |bn| {
            bn.iter(|| MVMap::<String, i64>::from_bytes(black_box(&v3), "b").unwrap())
        });
        g.bench_function("to_bytes_format2", |bn| {
            bn.iter(|| pluriverse::wire::encode_store_as(black_box(&b).store(), 2, None).unwrap())
        });
        g.bench_function("from_bytes_format2", |bn| {
            bn.iter(|| MVMap::<String, i64>::from_bytes(black_box(&v2), "b").unwrap())
        });
        g.finish();
    }
}

criterion_group!(
    benches,
    bench_join,
    bench_join_strings,
    bench_awset,
    bench_ops,
    bench_wire
);
criterion_main!(benches);
