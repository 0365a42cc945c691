//! Roaring dot-set kernels: the dot-store join `(S & S') | (S - C') | (S' - C)` at 1M and 10M
//! dots, dense runs and sparse random (a random tenth of each replica's counter range, as
//! dot clouds look after heavy loss), next to a naive `HashSet` join of the same dots; and
//! batch membership against a causal context; and the run list of a dot cloud with 25,600
//! gaps (issue 13: a replica that received every other one of 51,200 batches), which every
//! digest and every encoding of a context walks; and a run's dot index (its rows ordered by
//! dot, what sync summaries and `delta_since` search) built by the radix sort against the
//! comparison sort of `(replica, counter, row)` triples it replaced, at 1M and 10M rows.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pluriverse_benches::SplitMix;
use pluriverse_kernels::dots::{DotContext, DotSet, ReplicaDots};

const REPLICAS: u32 = 4;

/// Two stores and their contexts with `total` dots across both stores: each side saw most of
/// the other's dots (its context covers them), removed some, and wrote new ones.
struct Case {
    s: DotSet,
    c: DotContext,
    s2: DotSet,
    c2: DotContext,
    dots: Vec<(u32, u64)>,
    dots2: Vec<(u32, u64)>,
}

fn case(total: u64, dense: bool, seed: u64) -> Case {
    let mut g = SplitMix(seed);
    let per_replica = total / 2 / u64::from(REPLICAS);
    let (mut s, mut s2, mut c, mut c2) = (
        DotSet::new(),
        DotSet::new(),
        DotContext::new(),
        DotContext::new(),
    );
    let (mut dots, mut dots2) = (vec![], vec![]);
    for r in 0..REPLICAS {
        for i in 1..=per_replica {
            let k = if dense {
                i
            } else {
                1 + g.below(per_replica * 10)
            };
            let seen1 = g.below(10) != 0;
            let seen2 = g.below(10) != 0;
            if seen1 {
                c.insert(r, k);
                if g.below(20) != 0 {
                    s.insert(r, k);
                    dots.push((r, k));
                }
            }
            if seen2 {
                c2.insert(r, k);
                if g.below(20) != 0 {
                    s2.insert(r, k);
                    dots2.push((r, k));
                }
            }
        }
    }
    Case {
        s,
        c,
        s2,
        c2,
        dots,
        dots2,
    }
}

fn naive_join(
    x: &HashSet<(u32, u64)>,
    cx: &HashSet<(u32, u64)>,
    y: &HashSet<(u32, u64)>,
    cy: &HashSet<(u32, u64)>,
) -> usize {
    let mut out: HashSet<(u32, u64)> = HashSet::with_capacity(x.len() + y.len());
    out.extend(x.iter().filter(|d| y.contains(d) || !cy.contains(d)));
    out.extend(y.iter().filter(|d| x.contains(d) || !cx.contains(d)));
    out.len()
}

fn bench_join(cr: &mut Criterion) {
    for (total, label) in [(1_000_000u64, "1M"), (10_000_000, "10M")] {
        for dense in [true, false] {
            let k = case(total, dense, 7);
            let name = format!(
                "dots_join/{label}/{}",
                if dense { "dense" } else { "sparse" }
            );
            let mut g = cr.benchmark_group(&name);
            g.sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(3));
            g.throughput(Throughput::Elements(k.s.len() + k.s2.len()));
            g.bench_function("roaring", |b| {
                b.iter(|| DotSet::join(black_box(&k.s), &k.c, &k.s2, &k.c2))
            });
            if total <= 1_000_000 {
                let hx: HashSet<_> = k.dots.iter().copied().collect();
                let hy: HashSet<_> = k.dots2.iter().copied().collect();
                let to_set = |c: &DotContext| -> HashSet<(u32, u64)> {
                    c.replicas()
                        .iter()
                        .enumerate()
                        .flat_map(|(r, d)| {
                            (1..=d.prefix())
                                .chain(d.cloud().iter())
                                .map(move |k| (r as u32, k))
                        })
                        .collect()
                };
                let (hcx, hcy) = (to_set(&k.c), to_set(&k.c2));
                g.bench_function("naive_hashset", |b| {
                    b.iter(|| naive_join(black_box(&hx), &hcx, &hy, &hcy))
                });
            }
            g.finish();
        }
    }
}

fn bench_contains(cr: &mut Criterion) {
    let k = case(1_000_000, false, 9);
    let (reps, ctrs): (Vec<u32>, Vec<u64>) = k.dots.iter().chain(&k.dots2).copied().unzip();
    let mut out = vec![false; reps.len()];
    let mut g = cr.benchmark_group("dots_contains_batch/1M/sparse");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(reps.len() as u64));
    g.bench_function("roaring", |b| {
        b.iter(|| {
            k.c.contains_batch(black_box(&reps), &ctrs, &mut out)
                .unwrap()
        })
    });
    g.finish();
}

/// `ReplicaDots::cloud_runs` over a cloud of 25,600 runs of 64 dots (1.6M dots) with a gap
/// of 64 after each, built outside the timed region. Linear in the runs: quadratic before.
fn bench_cloud_runs(cr: &mut Criterion) {
    const BATCH: u64 = 64;
    const GAPS: u64 = 25_600;
    let mut d = ReplicaDots::new();
    for i in (0..2 * GAPS).step_by(2) {
        d.insert_range(BATCH * i + 1, BATCH * i + BATCH)
            .expect("valid range");
    }
    assert_eq!(d.cloud_runs().len() as u64, GAPS - 1);
    let mut g = cr.benchmark_group("cloud_runs/25600_gaps");
    g.throughput(Throughput::Elements(GAPS));
    g.bench_function("roaring_runs", |b| {
        b.iter(|| black_box(black_box(&d).cloud_runs()))
    });
    g.finish();
}

/// The columns of a run of `n` rows as a batch write leaves them: sorted by key hash, so
/// the counters of its one writer (a few others beside) come in random order.
fn run_columns(n: u64, seed: u64) -> (Vec<u32>, Vec<u64>) {
    let mut g = SplitMix(seed);
    let mut counter: Vec<u64> = (1..=n).collect();
    g.shuffle(&mut counter);
    let replica = (0..n).map(|_| u32::from(g.below(16) == 0)).collect();
    (replica, counter)
}

fn bench_dot_index(c: &mut Criterion) {
    let mut group = c.benchmark_group("dot_index");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for n in [1_000_000u64, 10_000_000] {
        let (replica, counter) = run_columns(n, 0xD07 + n);
        let want = {
            let mut t: Vec<(u32, u64, u32)> = (0..n as usize)
                .map(|i| (replica[i], counter[i], i as u32))
                .collect();
            t.sort_unstable();
            t.into_iter().map(|t| t.2).collect::<Vec<u32>>()
        };
        assert_eq!(pluriverse::sort_dots(&replica, &counter), want);
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("triples_sort_unstable/{n}"), |b| {
            b.iter(|| {
                let mut t: Vec<(u32, u64, u32)> = (0..n as usize)
                    .map(|i| (replica[i], counter[i], i as u32))
                    .collect();
                t.sort_unstable();
                black_box(t.into_iter().map(|t| t.2).collect::<Vec<u32>>())
            })
        });
        group.bench_function(format!("radix/{n}"), |b| {
            b.iter(|| black_box(pluriverse::sort_dots(&replica, &counter)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_join,
    bench_contains,
    bench_cloud_runs,
    bench_dot_index
);
criterion_main!(benches);
